// The preview pages: the post page as readers will see it (src/blog/controller.ts renderPostDetail,
// with views/previews/post.njk: the reader's template plus a banner), for a signed-in writer who may
// view the post, or for anyone holding a valid share link; and the forms that make or revoke a link.
// Every answer here is private: noindex (header and meta), no-store, and no Referer (the share token is
// in the URL). The paths are not reader paths, so the page cache never stores them (src/cache/pages.ts).
import type { Request, Response } from "express";
import { can } from "../accounts/permissions.ts";
import { renderPostDetail } from "../blog/controller.ts";
import { getPostPageById, postUrl } from "../blog/queries.ts";
import { isLive } from "../posts/visibility.ts";
import { forbidden, notFound, wantsJson } from "../web/errors.ts";
import { pathId, safeRedirect, toId } from "../web/inputs.ts";
import { flash, takeFlash } from "../web/session.ts";
import { url } from "../web/urls.ts";
import { formatDate } from "../web/templates.ts";
import { makeShareLink, previewContext, previewTarget, revokeShareLinks, tokenOpens, type PreviewTarget } from "./index.ts";

/** The one answer to a share link that does not open a preview: the same whether the post exists or not. */
export const LINK_NOT_WORKING = "This preview link does not work. It may have expired, or the writer made a new link or revoked it. Ask them for a new link.";

function privateHeaders(res: Response): void {
  res.set({ "Cache-Control": "private, no-store", "X-Robots-Tag": "noindex", "Referrer-Policy": "no-referrer" });
}

async function render(res: Response, target: PreviewTarget, shared: boolean): Promise<void> {
  const post = await getPostPageById(target.id);
  if (!post) throw notFound(shared ? LINK_NOT_WORKING : "No such post.");
  const scheduled = target.status === "PUBLISHED"; // and not live: see the callers
  const preview = { shared, scheduled, publish: target.publish, editUrl: shared ? null : url("admin:blog_post_change", { id: target.id }) };
  await renderPostDetail(res, post, "previews/post.njk", { preview });
}

/** GET /preview/<id>/: the writer's preview (signed in: requireLogin before it). */
export async function postPreview(req: Request, res: Response): Promise<void> {
  privateHeaders(res);
  const target = await previewTarget(pathId(req.params.id));
  if (!target || !can(req.user, "post.view", target)) throw notFound("No such post.");
  if (isLive(target)) return res.redirect(302, postUrl(target)); // live: its page is the preview (a 302: it may be unpublished again)
  await render(res, target, false);
}

/** GET /preview/<id>/s/<token>/: the preview for a reviewer holding a share link (no account needed). */
export async function sharedPreview(req: Request, res: Response): Promise<void> {
  privateHeaders(res);
  const id = toId(req.params.id);
  const target = id === null ? null : await previewTarget(id);
  if (!target || !tokenOpens(target, String(req.params.token))) throw notFound(LINK_NOT_WORKING);
  if (isLive(target)) return res.redirect(302, postUrl(target)); // a 302, as postPreview: the post may be unpublished again
  await render(res, target, true);
}

/** The post a share form acts on: 404 when the user may not see it, 403 when they may not change it. */
async function shareTarget(req: Request): Promise<PreviewTarget> {
  const target = await previewTarget(pathId(req.params.id));
  if (!target || !can(req.user, "post.view", target)) throw notFound("No such post.");
  if (!can(req.user, "post.change", target)) throw forbidden("You cannot share previews of this post.");
  return target;
}

/** Back to the page the form was on (its `next`), else the post's editor. */
const back = (req: Request, id: number) => safeRedirect((req.body as Record<string, unknown> | undefined)?.next, url("admin:blog_post_change", { id }));

/** GET /preview/<id>/share/: the share page (the panel's fallback without JavaScript): the link, New link, Revoke. */
export async function sharePage(req: Request, res: Response): Promise<void> {
  privateHeaders(res);
  const target = await shareTarget(req);
  res.locals.meta = { ...(res.locals.meta ?? {}), title: `Share a preview of “${target.title}”`, noindex: true };
  res.render("previews/share.njk", {
    post: target,
    preview: await previewContext(req.user!, target),
    editUrl: url("admin:blog_post_change", { id: target.id }),
    messages: takeFlash(req),
  });
}

/** POST /preview/<id>/share/: a new share link (earlier ones stop working). JSON for the panel's script. */
export async function shareNew(req: Request, res: Response): Promise<void> {
  const target = await shareTarget(req);
  const link = await makeShareLink(target, req.user!);
  const expires = formatDate(link.expiresAt, "F j, Y, H:i T");
  if (wantsJson(req)) return void res.set("Cache-Control", "no-store").json({ shareUrl: link.url, shareExpiresAt: link.expiresAt.toISOString(), expires });
  flash(
    req,
    "success",
    `New preview link for “${target.title}”: ${link.url} — anyone with it can read the post until ${expires}. Earlier links no longer work.`,
  );
  res.redirect(303, back(req, target.id));
}

/** POST /preview/<id>/share/revoke/: no share link works any more. */
export async function shareRevoke(req: Request, res: Response): Promise<void> {
  const target = await shareTarget(req);
  await revokeShareLinks(target, req.user!);
  if (wantsJson(req)) return void res.set("Cache-Control", "no-store").json({ shareUrl: null });
  flash(req, "success", `Preview links of “${target.title}” revoked: no link works any more.`);
  res.redirect(303, back(req, target.id));
}
