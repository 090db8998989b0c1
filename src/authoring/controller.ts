// The writer's own pages (/write/): "My posts", and the old small editor's addresses, which now lead
// to the one editor (the admin's post form).
import type { Request, Response } from "express";
import { can } from "../accounts/permissions.ts";
import { readingMinutes } from "../blog/markdown.ts";
import { postUrl } from "../blog/queries.ts";
import { config } from "../config.ts";
import { notFound } from "../web/errors.ts";
import { pathId } from "../web/inputs.ts";
import { makePage, parsePage, type PageRoute } from "../web/pagination.ts";
import { takeFlash } from "../web/session.ts";
import { url } from "../web/urls.ts";
import { GROUPS, groupCounts, groupPage, isGroup, type Group } from "./queries.ts";

/** GET /write/: a new post, in the one editor (a writer not signed in signs in first, and comes back here). */
export function newPost(_req: Request, res: Response): void {
  res.redirect(302, url("admin:blog_post_add"));
}

/** GET /write/<id>/edit/: moved for good to the post's change form (which checks the post's own permission). */
export function editPost(req: Request, res: Response): void {
  res.redirect(301, url("admin:blog_post_change", { id: pathId(req.params.id) }));
}

/**
 * POST to the old editor (a tab opened before the upgrade): nothing is saved there any more. 410 Gone,
 * with the text that was sent, to copy into the editor: nothing typed is lost.
 */
export function gone(req: Request, res: Response): void {
  const body = (req.body ?? {}) as Record<string, unknown>;
  const kept = (name: string) => (typeof body[name] === "string" ? (body[name] as string) : "");
  res.setHeader("Cache-Control", "private, no-store");
  res.locals.meta = { ...(res.locals.meta ?? {}), title: "This editor has moved", noindex: true };
  res.status(410).render("authoring/moved.njk", {
    kept: { title: kept("title"), tags: kept("tags"), body: kept("body") },
    editorUrl: url("admin:blog_post_add"),
    myPostsUrl: url("authoring:my_posts"),
  });
}

/** POST /write/<id>/edit/: as gone(), for an id that could name a post (any other is a 404, as on every route). */
export function goneEdit(req: Request, res: Response): void {
  pathId(req.params.id);
  gone(req, res);
}

const LABELS: Record<Group, string> = { drafts: "Drafts", scheduled: "Scheduled", published: "Published" };

/** GET /write/posts/[<group>/]: the signed-in writer's own posts, one group per tab, paginated. */
export async function myPosts(req: Request, res: Response): Promise<void> {
  const raw = req.params.group;
  if (raw !== undefined && (!isGroup(raw) || raw === "drafts")) throw notFound("No such list."); // drafts live at the bare address
  const group: Group = raw ?? "drafts";
  const user = req.user!;
  const now = new Date();
  const perPage = config.POSTS_PER_PAGE;
  const counts = await groupCounts(user.id, now);
  const requested = parsePage(req.query.page);
  const r: PageRoute = { name: "authoring:my_posts", params: group === "drafts" ? {} : { group } };
  const page = makePage(requested === "last" ? Math.max(1, Math.ceil(counts[group] / perPage)) : requested, counts[group], perPage, r);
  const rows = await groupPage(user.id, group, now, page.number, perPage);
  const posts = rows.map((p) => ({
    ...p,
    category: p.category?.name ?? null,
    minutes: readingMinutes(p.wordCount),
    editUrl: can(user, "post.change", p) ? url("admin:blog_post_change", { id: p.id }) : null,
    previewUrl: group === "published" ? null : url("previews:post", { id: p.id }),
    liveUrl: group === "published" ? postUrl(p) : null,
  }));
  res.setHeader("Cache-Control", "private, no-store");
  res.locals.meta = {
    ...(res.locals.meta ?? {}),
    title: page.number > 1 ? `My posts: ${LABELS[group]} (page ${page.number} of ${page.numPages})` : "My posts",
    noindex: true,
  };
  res.render("authoring/my_posts.njk", {
    group,
    groups: GROUPS.map((g) => ({ key: g, label: LABELS[g], count: counts[g], url: url("authoring:my_posts", g === "drafts" ? {} : { group: g }) })),
    posts,
    page,
    total: counts.drafts + counts.scheduled + counts.published,
    newUrl: url("admin:blog_post_add"),
    adminUrl: can(user, "category.change") ? url("admin:index") : null,
    messages: takeFlash(req),
  });
}
