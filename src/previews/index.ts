// Previews of drafts and scheduled posts: the post page exactly as readers will see it, marked as a
// preview, noindex, never cached; for signed-in writers who may view the post (can(u, "post.view")),
// and for reviewers without an account through a signed, expiring share link that a new link voids.
//
// The share link: /preview/<id>/s/<token>/, where token = HMAC-SHA256(purposeKey("preview link"),
// "<post id>\0<expiry>\0<nonce>") in base64url. The post's previewKey column holds "<nonce>.<expiry>"
// (a random 24-byte nonce, the expiry in unix seconds, base 36), or '' when there is no link. So:
//   - the token itself is never stored; with only the database, nobody can make it (it needs SESSION_SECRET);
//   - the writer sees the current link again in the editor (recomputed from previewKey) until it expires;
//   - a new link stores a new nonce (the old token no longer matches), revoking stores '' (none works);
//   - rotating SESSION_SECRET voids every link.
// previewKey is not content: writing it makes no revision, moves no version (an open editor does not
// conflict) and changes no page, so it does not go through the posts service's save path; it is
// written here, alone, with an audit entry saying who made or revoked a link.
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { config } from "../config.ts";
import { prisma } from "../db/index.ts";
import { can, type Actor } from "../accounts/permissions.ts";
import { recordAction } from "../audit/index.ts";
import { postUrl } from "../blog/queries.ts";
import { isLive } from "../posts/visibility.ts";
import { POST_MODEL } from "../posts/service.ts";
import { purposeKey } from "../web/keys.ts";
import { absoluteUrl, url } from "../web/urls.ts";

/** What the editor shows about previews of a post (null post: not saved yet, nothing to preview). */
export interface PreviewContext {
  /** The preview for the signed-in writer ("Preview" button). */
  previewUrl: string;
  /** The post's page for readers when it is live ("View on site"), else null. */
  liveUrl: string | null;
  /** The current share link (absolute), or null when none was made or it expired. */
  shareUrl: string | null;
  shareExpiresAt: Date | null;
  /** POST here (CSRF) to make a new share link, voiding the old one. */
  shareNewUrl: string;
  /** POST here (CSRF) to void the share link. */
  shareRevokeUrl: string;
  /** May this user make or revoke share links of this post (post.change, and not live)? */
  canShare: boolean;
  /** How long a new link works (PREVIEW_LINK_DAYS). */
  linkDays: number;
}

/** The post's columns a preview needs to decide (who, what state, which link). */
export interface PreviewTarget {
  id: number;
  title: string;
  authorId: number;
  status: string;
  publish: Date;
  slug: string;
  /** The URL date (postUrl: a post that kept its old date in a change of TIME_ZONE is there). */
  publishDate: Date | null;
  previewKey: string;
}

const TARGET = { id: true, title: true, authorId: true, status: true, publish: true, slug: true, publishDate: true, previewKey: true } as const;

export function previewTarget(id: number): Promise<PreviewTarget | null> {
  return prisma.post.findUnique({ where: { id }, select: TARGET });
}

// ---------------------------------------------------------------- share tokens

const KEY_RE = /^([A-Za-z0-9_-]{32})\.([0-9a-z]{1,10})$/;
/** A token as it appears in a URL: 32 bytes of HMAC in base64url, nothing else. */
export const TOKEN_RE = /^[A-Za-z0-9_-]{43}$/;

/** previewKey's parts, or null when there is no link (or the column holds something else). */
function parseKey(previewKey: string): { nonce: string; expires: string; expiresAt: Date } | null {
  const m = KEY_RE.exec(previewKey);
  if (!m) return null;
  const seconds = parseInt(m[2]!, 36);
  if (!Number.isSafeInteger(seconds)) return null;
  return { nonce: m[1]!, expires: m[2]!, expiresAt: new Date(seconds * 1000) };
}

const sign = (postId: number, expires: string, nonce: string): string =>
  createHmac("sha256", purposeKey("preview link")).update(`${postId}\u0000${expires}\u0000${nonce}`).digest("base64url");

/** A new previewKey: a fresh nonce, valid PREVIEW_LINK_DAYS from `now`. */
export function newPreviewKey(now = Date.now()): string {
  const expires = Math.floor(now / 1000 + config.PREVIEW_LINK_DAYS * 86_400).toString(36);
  return `${randomBytes(24).toString("base64url")}.${expires}`;
}

/** The post's current share link (absolute) and its expiry, or null (none made, revoked, or expired). */
export function shareLink(post: Pick<PreviewTarget, "id" | "previewKey">, now = Date.now()): { url: string; expiresAt: Date } | null {
  const key = parseKey(post.previewKey);
  if (!key || key.expiresAt.getTime() <= now) return null;
  return { url: absoluteUrl("previews:shared", { id: post.id, token: sign(post.id, key.expires, key.nonce) }), expiresAt: key.expiresAt };
}

/** Does `token` open post `post`'s preview now? Well-formed, signed for its current key (timing-safe), unexpired. */
export function tokenOpens(post: Pick<PreviewTarget, "id" | "previewKey">, token: string, now = Date.now()): boolean {
  if (!TOKEN_RE.test(token)) return false;
  const key = parseKey(post.previewKey);
  if (!key) return false;
  const expected = Buffer.from(sign(post.id, key.expires, key.nonce));
  const given = Buffer.from(token);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return false;
  return key.expiresAt.getTime() > now;
}

/**
 * Stores `previewKey` on post `id` ('' voids every link) with an audit entry, in one transaction. Plain
 * SQL: Prisma's update would move updatedAt, and a share link is not an edit of the post.
 */
async function storeKey(id: number, title: string, previewKey: string, actor: Actor, note: string): Promise<void> {
  await prisma.$transaction(async (tx) => {
    await tx.$executeRaw`UPDATE "Post" SET "previewKey" = ${previewKey} WHERE id = ${id}`;
    await recordAction({ userId: actor.id, action: "CHANGE", model: POST_MODEL, objectId: id, objectRepr: title, changes: { changed: [], note } }, tx);
  });
}

/** Makes a new share link for `post` (voiding the previous one) and returns it. */
export async function makeShareLink(post: PreviewTarget, actor: Actor): Promise<{ url: string; expiresAt: Date }> {
  const previewKey = newPreviewKey();
  await storeKey(post.id, post.title, previewKey, actor, "New preview link (earlier links void)");
  return shareLink({ id: post.id, previewKey })!;
}

/** Voids every share link of `post`. */
export async function revokeShareLinks(post: PreviewTarget, actor: Actor): Promise<void> {
  await storeKey(post.id, post.title, "", actor, "Preview links revoked");
}

// ---------------------------------------------------------------- the editor's panel

/** The editor's preview links for `post` (views/previews/_panel.njk renders them); null when there is nothing to preview or show. */
export async function previewContext(user: Actor, post: { id: number } | null): Promise<PreviewContext | null> {
  if (!post) return null;
  const target = await previewTarget(post.id);
  if (!target || !can(user, "post.view", target)) return null;
  const live = isLive(target);
  const canShare = !live && can(user, "post.change", target);
  const link = canShare ? shareLink(target) : null;
  return {
    previewUrl: url("previews:post", { id: target.id }),
    liveUrl: live ? postUrl(target) : null,
    shareUrl: link?.url ?? null,
    shareExpiresAt: link?.expiresAt ?? null,
    shareNewUrl: url("previews:share_new", { id: target.id }),
    shareRevokeUrl: url("previews:share_revoke", { id: target.id }),
    canShare,
    linkDays: config.PREVIEW_LINK_DAYS,
  };
}
