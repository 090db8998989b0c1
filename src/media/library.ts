// The media library's reads and writes (the admin's pages in src/admin/media.ts call these): the
// newest-first list with search by file name and alt text, each item's usage (posts whose body shows it,
// posts that feature it, users whose avatar it is), the alt text save (versioned: a stale form changes
// nothing; audit entry; the cached pages that show the image made stale), and deletion: refused while
// anything uses the image (the foreign keys are RESTRICT: a use made meanwhile is refused the same way,
// never a 500), otherwise the row (with its audit entry) and then its files in storage.
import { can, type Actor } from "../accounts/permissions.ts";
import { prisma, Prisma } from "../db/index.ts";
import { recordAction } from "../audit/index.ts";
import { invalidate, PAGE_TAGS } from "../cache/index.ts";
import { StaleVersionError, updateAtVersion } from "../db/versioned.ts";
import { postPageTags } from "../posts/service.ts";
import { rerenderPostsShowing } from "../blog/rerender.ts";
import { logger } from "../web/logger.ts";
import type { Media, PostStatus } from "../generated/prisma/client.ts";
import type { Rendition } from "./types.ts";
import { altProblems } from "./alt-check.ts";
import { toMediaItem } from "./service.ts";
import { mediaStorage } from "./storage.ts";

type Tx = Prisma.TransactionClient;

/** The audit log's model name of an image. */
export const MEDIA_MODEL = "media.media";
/** Tiles per library page. */
export const LIBRARY_PER_PAGE = 24;
/** Longest alt text (the column's size). */
export const ALT_MAX = 500;
/** Longest search. */
export const SEARCH_MAX = 200;

export type LibraryItem = Omit<Media, "renditions"> & { renditions: Rendition[]; posts: number; avatars: number };

/** The renditions column as typed (src/media/service.ts reads it). */
export const renditionsOf = (m: Media): Rendition[] => toMediaItem(m).renditions;

/** The library's search: file name or alt text containing `q`, any case (every item when empty). */
export const searchWhere = (q: string): Prisma.MediaWhereInput =>
  q ? { OR: [{ filename: { contains: q, mode: "insensitive" } }, { alt: { contains: q, mode: "insensitive" } }] } : {};

/** How many items match `q` (file name or alt text, any case). */
export function countMedia(q: string): Promise<number> {
  return prisma.media.count({ where: searchWhere(q) });
}

/** One page of items, newest first, with how many posts (body or featured) and avatars use each. */
export async function listMedia(q: string, take: number, skip: number): Promise<LibraryItem[]> {
  const rows = await prisma.media.findMany({ where: searchWhere(q), orderBy: [{ createdAt: "desc" }, { id: "desc" }], take, skip });
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);
  const [posts, avatars] = await Promise.all([
    prisma.$queryRaw<{ id: number; n: bigint }[]>`
      SELECT u."mediaId" AS id, count(DISTINCT u."postId") AS n FROM (
        SELECT "mediaId", "postId" FROM "PostMedia" WHERE "mediaId" = ANY(${ids}::int[])
        UNION ALL SELECT "featuredImageId", "id" FROM "Post" WHERE "featuredImageId" = ANY(${ids}::int[])
      ) u GROUP BY u."mediaId"`,
    prisma.user.groupBy({ by: ["avatarId"], where: { avatarId: { in: ids } }, _count: { _all: true } }),
  ]);
  const postCount = new Map(posts.map((p) => [Number(p.id), Number(p.n)]));
  const avatarCount = new Map(avatars.map((a) => [a.avatarId, a._count._all]));
  return rows.map((r) => ({ ...r, renditions: renditionsOf(r), posts: postCount.get(r.id) ?? 0, avatars: avatarCount.get(r.id) ?? 0 }));
}

/** One item with its uploader, for the library's page; null when there is none. */
export async function getLibraryItem(id: number) {
  const m = await prisma.media.findUnique({ where: { id }, include: { uploadedBy: { select: { id: true, username: true } } } });
  return m ? { ...m, renditions: renditionsOf(m) } : null;
}

export interface UsagePost {
  id: number;
  title: string;
  status: PostStatus;
  publish: Date;
  authorId: number;
  /** Shown in its body (PostMedia) and/or as its featured image. */
  inBody: boolean;
  featured: boolean;
}
export interface Usage {
  posts: UsagePost[];
  avatars: { id: number; username: string }[];
}

/** What uses item `id`: posts (body, featured), users (avatar). */
export async function usageOf(id: number, db: Tx | typeof prisma = prisma): Promise<Usage> {
  const select = { id: true, title: true, status: true, publish: true, authorId: true } as const;
  const inBody = await db.post.findMany({ where: { media: { some: { mediaId: id } } }, select, orderBy: { id: "asc" } });
  const featured = await db.post.findMany({ where: { featuredImageId: id }, select, orderBy: { id: "asc" } });
  const avatars = await db.user.findMany({ where: { avatarId: id }, select: { id: true, username: true }, orderBy: { id: "asc" } });
  const posts = new Map<number, UsagePost>();
  for (const p of inBody) posts.set(p.id, { ...p, inBody: true, featured: false });
  for (const p of featured) posts.set(p.id, { ...(posts.get(p.id) ?? { ...p, inBody: false }), featured: true });
  return { posts: [...posts.values()].sort((a, b) => a.id - b.id), avatars };
}

export const inUse = (u: Usage) => u.posts.length + u.avatars.length > 0;

/**
 * Posts named for `viewer`: the titles of those they may view (post.view), a count for the rest
 * ("“A”, “B” and 1 post by another writer"): another writer's draft titles are not shown to an author.
 */
export function postNames(posts: readonly { title: string; authorId: number }[], viewer: Actor, max = 3): string {
  const seen = posts.filter((p) => can(viewer, "post.view", p));
  const hidden = posts.length - seen.length;
  const parts = seen.slice(0, max).map((p) => `“${p.title}”`);
  const more = seen.length - parts.length + hidden;
  if (more) parts.push(hidden === more ? `${more} post${more === 1 ? "" : "s"} by another writer` : `${more} more`);
  return parts.length === 1 ? parts[0]! : `${parts.slice(0, -1).join(", ")} and ${parts[parts.length - 1]}`;
}

/** Why an item cannot be deleted, in words, for `viewer`: "It is used by 2 posts (…) and as 1 user's avatar." */
export function inUseMessage(u: Usage, viewer: Actor): string {
  const parts: string[] = [];
  if (u.posts.length) parts.push(`${u.posts.length} post${u.posts.length === 1 ? "" : "s"} (${postNames(u.posts, viewer)})`);
  if (u.avatars.length) parts.push(`${u.avatars.map((a) => a.username).join(", ")} as ${u.avatars.length === 1 ? "an avatar" : "avatars"}`);
  return `This image is in use by ${parts.join(" and ")}: remove it from ${u.posts.length + u.avatars.length === 1 ? "there" : "each of them"} first, then delete it.`;
}

/** The item does not exist (any more). */
export class MediaNotFoundError extends Error {
  readonly status = 404;
  readonly expose = true;
  constructor() {
    super("This image was deleted meanwhile.");
  }
}

/** Deletion refused: something uses the image. Nothing was deleted. */
export class MediaInUseError extends Error {
  readonly status = 409;
  readonly expose = true;
  constructor(
    readonly usage: Usage,
    viewer: Actor,
  ) {
    super(inUseMessage(usage, viewer));
  }
}

/** Clearing the alt text refused: published (or scheduled) posts show the image with no alt text of their own. Nothing changed. */
export class AltRequiredError extends Error {
  readonly status = 409;
  readonly expose = true;
  constructor(
    readonly posts: { id: number; title: string; authorId: number }[],
    viewer: Actor,
  ) {
    super(
      `This image's alt text cannot be removed: published posts show it without alt text of their own (${postNames(posts, viewer)}). ` +
        "Give those uses alt text in the Markdown, or unpublish them, first; or change the text instead of removing it.",
    );
  }
}

/** The alt text was changed by someone else since the form was shown (`current`: the stored alt and version). */
export class AltConflictError extends Error {
  constructor(readonly current: { alt: string; version: number }) {
    super(
      "Someone else changed this image's alt text while you were editing it. Nothing was overwritten: the text saved now is shown; change it and save again.",
    );
  }
}

/** Alt text as saved: white space runs (line breaks too) made single spaces, trimmed. */
export const normalizeAlt = (s: string) => s.replace(/\s+/g, " ").trim();

/** The cached pages that show image `id`: the pages of the posts using it, and (avatars) every page with an author's name. */
async function pagesShowing(tx: Tx, usage: Usage): Promise<string[]> {
  const tags = new Set<string>();
  if (usage.posts.length) {
    const posts = await tx.post.findMany({
      where: { id: { in: usage.posts.map((p) => p.id) } },
      select: { id: true, authorId: true, categoryId: true, tags: { select: { tagId: true } } },
    });
    for (const p of posts) for (const t of postPageTags({ ...p, tagIds: p.tags.map((x) => x.tagId) })) tags.add(t);
  }
  // An avatar shows on its author's archive and beside each of their posts: as for a user's save, every page.
  if (usage.avatars.length) tags.add(PAGE_TAGS.all);
  return [...tags];
}

/** The published (or scheduled) posts that would show item `id` without any alt text (run after the alt text is cleared in `tx`). */
async function publishedWithoutAlt(tx: Tx, id: number) {
  const posts = await tx.post.findMany({
    where: { status: "PUBLISHED", OR: [{ featuredImageId: id }, { media: { some: { mediaId: id } } }] },
    select: { id: true, title: true, authorId: true, body: true, featuredImageId: true, media: { select: { mediaId: true } } },
    orderBy: { id: "asc" },
  });
  const out: { id: number; title: string; authorId: number }[] = [];
  for (const p of posts) {
    const problems = await altProblems(
      p.media.map((m) => m.mediaId),
      p.featuredImageId,
      p.body,
      tx,
    );
    if (problems.some((x) => x.mediaId === id)) out.push({ id: p.id, title: p.title, authorId: p.authorId });
  }
  return out;
}

/**
 * Saves `alt` over item `id` if it is still at `expectedVersion`. Throws AltConflictError / MediaNotFoundError,
 * and AltRequiredError when clearing it would leave a published post's image without alt text (the publish rule).
 * After the commit, the bodies that show the library's alt text are rendered again (src/blog/rerender.ts:
 * in this call for a few posts, in a job for many), then the cached pages showing the image are made stale.
 */
export async function setAlt(id: number, expectedVersion: number, alt: string, actor: Pick<Actor, "id"> & Partial<Actor>): Promise<void> {
  const viewer: Actor = { role: "READER", isActive: false, ...actor }; // a bare id (commands, tests) sees no titles
  const touched: string[] = [];
  let changed = false;
  await prisma
    .$transaction(async (tx) => {
      const before = await tx.media.findUnique({ where: { id }, select: { alt: true, filename: true } });
      if (!before) throw new MediaNotFoundError();
      try {
        await updateAtVersion(tx, "media", id, expectedVersion, { alt });
      } catch (e) {
        if (!(e instanceof StaleVersionError)) throw e;
        if (!e.current) throw new MediaNotFoundError();
        throw new AltConflictError({ alt: String(e.current.alt), version: Number(e.current.version) });
      }
      changed = before.alt !== alt;
      if (changed && !alt.trim()) {
        const refused = await publishedWithoutAlt(tx, id);
        if (refused.length) throw new AltRequiredError(refused, viewer); // rolls the save back
      }
      await recordAction(
        { userId: actor.id, action: "CHANGE", model: MEDIA_MODEL, objectId: id, objectRepr: before.filename, changes: { changed: changed ? ["alt"] : [] } },
        tx,
      );
      if (changed) touched.push(...(await pagesShowing(tx, await usageOf(id, tx))));
    })
    .finally(async () => {
      try {
        // Bodies whose Markdown gives no alt text carry the library's in their stored HTML: render them again.
        if (changed) await rerenderPostsShowing(id);
      } finally {
        if (touched.length) await invalidate("posts", ...touched);
      }
    });
}

/** A write refused by a foreign key (a row still referenced, or a reference to a row gone): the one test for it. */
export const fkViolation = (e: unknown) => e instanceof Prisma.PrismaClientKnownRequestError && (e.code === "P2003" || e.code === "P2014");

/** Deletes item `id` (refused with MediaInUseError while used), its audit entry, then its files. */
export async function deleteMedia(id: number, actor: Actor): Promise<void> {
  let keys: string[] = [];
  try {
    await prisma.$transaction(async (tx) => {
      const m = await tx.media.findUnique({ where: { id } });
      if (!m) throw new MediaNotFoundError();
      const usage = await usageOf(id, tx);
      if (inUse(usage)) throw new MediaInUseError(usage, actor);
      await tx.media.delete({ where: { id } }); // a use added since (another transaction) fails on the foreign key: caught below
      await recordAction({ userId: actor.id, action: "DELETE", model: MEDIA_MODEL, objectId: id, objectRepr: m.filename }, tx);
      keys = [...new Set([m.storageKey, ...renditionsOf(m).map((r) => r.key)])];
    });
  } catch (e) {
    if (fkViolation(e)) throw new MediaInUseError(await usageOf(id), actor);
    throw e;
  }
  // After the commit: a failed file delete leaves an orphan file (logged), never a row without its files.
  for (const key of keys) {
    try {
      await mediaStorage().delete(key);
    } catch (err) {
      logger.warn({ err, key, mediaId: id }, "media: could not delete a file of a deleted image");
    }
  }
}
