import { Router } from "express";
import { route } from "../web/urls.ts";

export const blogRouter = Router();
blogRouter.get(route("blog:post_list", "/blog/"), (_req, res) => res.render("blog/post_list.njk", { posts: [] }));
