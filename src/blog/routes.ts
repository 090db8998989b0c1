// The reader's URLs (Django's blog/urls.py). Search, feeds and sitemaps have their own routers.
import { Router } from "express";
import { route } from "../web/urls.ts";
import * as c from "./controller.ts";

export const blogRouter = Router();
blogRouter.get(route("blog:home", "/"), c.postList);
blogRouter.get(route("blog:post_list", "/blog/"), c.postList);
blogRouter.get(route("blog:category_list", "/blog/categories/"), c.categoryList);
blogRouter.get(route("blog:category_detail", "/blog/category/:slug/"), c.categoryDetail);
blogRouter.get(route("blog:tag_detail", "/blog/tag/:slug/"), c.tagDetail);
blogRouter.get(route("blog:author_detail", "/blog/author/:username/"), c.authorDetail);
blogRouter.get(route("blog:post_detail", "/blog/:year/:month/:day/:slug/"), c.postDetail);
