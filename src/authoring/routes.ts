// /write/: the writer's own pages. "My posts" lists a writer's drafts, scheduled and published posts.
// The one editor is the admin's post form (the studio): the old small editor's addresses redirect
// there, and a form still posted to them (a tab left open across the upgrade) gets a 410 page that
// gives the typed text back.
import { Router } from "express";
import { route } from "../web/urls.ts";
import { requirePermission } from "../accounts/middleware.ts";
import * as c from "./controller.ts";

export const authoringRouter = Router();

const write = route("authoring:write", "/write/");
authoringRouter.get(write, requirePermission("post.create"), c.newPost);
authoringRouter.post(write, c.gone);

const edit = route("authoring:edit", "/write/:id/edit/");
authoringRouter.get(edit, requirePermission("post.create"), c.editPost);
authoringRouter.post(edit, c.goneEdit);

authoringRouter.get(route("authoring:my_posts", "/write/posts{/:group}/"), requirePermission("post.create"), c.myPosts);
