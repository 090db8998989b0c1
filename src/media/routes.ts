// Images' routes. mediaRouter (GET/HEAD /media/<dir>/<file>: media:file) is mounted in src/app.ts beside
// the static files, before the page cache and the session: serving an image needs no cookie, no
// session and no query. mediaUploadRouter (POST /admin/media/upload/: media:upload) is mounted by the
// admin's router after its requireAdmin gate (src/admin/routes.ts), so it has the session, the CSRF
// check (the admin scripts send the token in X-CSRF-Token; the multipart body is not read before it)
// and the admin's login and access rule; it then asks can(user, "post.create").
import { Router } from "express";
import { route } from "../web/urls.ts";
import { declaredSize, mayUpload, multipart, multipartErrors, serveMedia, upload } from "./controller.ts";

export const mediaRouter = Router();
// A key is `<hash[0:2]>/<hash>-<width>.<ext>` (src/media/keys.ts): two path segments. HEAD is served by the GET route.
mediaRouter.get(route("media:file", "/media/:dir/:file"), serveMedia);

export const mediaUploadRouter = Router();
mediaUploadRouter.post(route("media:upload", "/admin/media/upload/"), mayUpload, declaredSize, multipart, multipartErrors, upload);
