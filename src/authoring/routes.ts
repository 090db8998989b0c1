// /write/: the authors' small editor (the full editor is the admin).
import { Router } from "express";
import { route } from "../web/urls.ts";
import { requirePermission } from "../accounts/middleware.ts";
import * as c from "./controller.ts";

export const authoringRouter = Router();

const write = route("authoring:write", "/write/");
authoringRouter.get(write, requirePermission("post.create"), c.writeForm);
authoringRouter.post(write, requirePermission("post.create"), c.write);

const edit = route("authoring:edit", "/write/:id/edit/");
authoringRouter.get(edit, requirePermission("post.create"), c.editForm);
authoringRouter.post(edit, requirePermission("post.create"), c.edit);

authoringRouter.get(route("authoring:draft_saved", "/write/saved/:id/"), requirePermission("post.create"), c.draftSaved);
