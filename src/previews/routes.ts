// /preview/: previews of drafts and scheduled posts, and their share links (src/previews/index.ts).
import { Router } from "express";
import { route } from "../web/urls.ts";
import { requireLogin } from "../accounts/middleware.ts";
import * as c from "./controller.ts";

export const previewsRouter = Router();
previewsRouter.get(route("previews:post", "/preview/:id/"), requireLogin, c.postPreview);
// anyone with the link: no login
previewsRouter.get(route("previews:shared", "/preview/:id/s/:token/"), c.sharedPreview);
const share = route("previews:share_new", "/preview/:id/share/");
previewsRouter.get(share, requireLogin, c.sharePage); // the panel's fallback without JavaScript
previewsRouter.post(share, requireLogin, c.shareNew);
previewsRouter.post(route("previews:share_revoke", "/preview/:id/share/revoke/"), requireLogin, c.shareRevoke);
