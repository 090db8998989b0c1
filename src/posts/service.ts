// The one save path for posts. Every create/update/delete/status change of a post — from the
// admin (change form, inline status edit, bulk actions), the authoring pages, the API or the seed —
// goes through here, so each save renders the Markdown, applies the publish-time and excerpt rules,
// checks the slug per publish date, creates the tags typed by name, bumps `version` (optimistic
// locking, src/db/versioned.ts), keeps a PostRevision and writes the AuditLog, in one transaction:
// a refused or interrupted save leaves nothing behind (no orphan tags).
import { prisma, Prisma, type Post } from "../db/index.ts";
import { PostStatus } from "../generated/prisma/client.ts";
import { excerptFrom, renderMarkdown, slugify } from "../blog/markdown.ts";
import { changedFields, recordAction, recordActions } from "../audit/index.ts";
import { invalidateEverywhere } from "../db/invalidation.ts";
import { pruneAutosave } from "../autosave/service.ts";
import { conflictMessage, StaleVersionError, updateAtVersion } from "../db/versioned.ts";

/**
 * Every cached reader view (counts, similar posts, feeds, sitemap index) is dropped after a post
 * write: in this process at once, in the other processes on the same database through NOTIFY.
 */
export function afterPostWrite(): void {
  void invalidateEverywhere();
}

type Tx = Prisma.TransactionClient;
export const POST_MODEL = "blog.post";

export interface PostInput {
  title: string;
  slug?: string;
  body: string;
  /** See excerptFor(): empty or automatic text follows the body; anything else is kept. Undefined: the stored one. */
  excerpt?: string;
  metaDescription?: string;
  status: PostStatus;
  /** See publishTime(): a Date the writer chose, null for none chosen, undefined for "as stored". */
  publish?: Date | null;
  authorId: number;
  categoryId: number | null;
  /** Tags by id. With tagNames undefined too, an update keeps the post's tags. */
  tagIds?: number[];
  /** Tags by name, as typed (the author's editor): missing ones are created in the save's transaction. */
  tagNames?: string[];
}

export interface PostActor {
  id: number;
}

/** Raised when the slug is already used by another post on the same publish date. */
export class SlugTakenError extends Error {
  constructor(readonly slug: string, readonly day: string) {
    super(`The slug "${slug}" is already used by another post published on ${day}. Choose another slug or publish date.`);
  }
}

export type PostWithTags = Post & { tagIds: number[] };

/** Raised when the post changed since the editor loaded it (its version moved on). `current` is the stored post. */
export class ConflictError extends Error {
  constructor(readonly current: PostWithTags) {
    super(conflictMessage("post"));
  }
}

export class PostNotFoundError extends Error {
  constructor() {
    super("Post not found");
  }
}

// ---------------------------------------------------------------- the writers' rules (one place)

/** The publish-time rule, as the forms state it next to the field. */
export const PUBLISH_RULE =
  "Left empty, a draft takes the moment it is published as its publish time. A time entered here stays as entered, past or future (a published post with a future time is scheduled). Emptying the time of a published post re-dates it to now.";
/** The excerpt rule, as the forms state it next to the field. */
export const EXCERPT_RULE = "Left empty (or as the automatic text), it follows the body on every save: its first 40 words. Text you write here stays until you clear it.";

type StoredPublish = Pick<Post, "publish" | "publishPinned" | "status">;

/** Has the post a publish time of its own (chosen by the writer, or given by publishing)? If not, forms show the field empty. */
export function publishTimeSet(p: StoredPublish): boolean {
  return p.publishPinned || p.status === "PUBLISHED";
}

/**
 * The publish time a save gives a post (`publishPinned`: the time is fixed, no longer "set when published").
 * - `chosen` a Date: the writer chose it; it stays as chosen (past or future), pinned.
 * - `chosen` undefined (a path without a publish field: status-only edits, bulk actions, the author's
 *   editor): a pinned or already published post keeps its time.
 * - otherwise (none chosen, or null: the writer emptied the field): a post being published takes `now`;
 *   a draft keeps its placeholder time (its creation) and stays unpinned.
 */
export function publishTime(before: StoredPublish | null, chosen: Date | null | undefined, status: PostStatus, now = new Date()): { publish: Date; publishPinned: boolean } {
  if (chosen instanceof Date) return { publish: chosen, publishPinned: true };
  if (chosen === undefined && before && publishTimeSet(before)) return { publish: before.publish, publishPinned: true };
  if (status === "PUBLISHED") return { publish: now, publishPinned: true };
  return { publish: before?.publish ?? now, publishPinned: false };
}

const words = (s: string) => s.trim().replace(/\s+/g, " ");

/**
 * The excerpt a save stores. There is no column saying who wrote an excerpt, so: a submitted excerpt
 * that is empty, or equal (up to white space) to the automatic excerpt of the previously stored body,
 * is automatic and follows the new body; anything else was written by hand and is kept.
 */
export function excerptFor(submitted: string | undefined, body: string, before: Pick<Post, "body" | "excerpt"> | null): string {
  const auto = excerptFrom(body, 40);
  const written = (submitted ?? before?.excerpt ?? "").trim();
  const given = words(written);
  if (!given || given === words(auto)) return auto;
  if (before && given === words(excerptFrom(before.body, 40))) return auto;
  return written; // as the writer wrote it (line breaks kept): compared up to white space, stored as is
}

// ---------------------------------------------------------------- the save path

const TRACKED = ["title", "slug", "body", "excerpt", "metaDescription", "status", "publish", "authorId", "categoryId", "tagIds"];

const utcDay = (d: Date) => d.toISOString().slice(0, 10);

/** The post already using `slug` on the UTC day of `publish` (ignoring post `exceptId`), or null. */
export function slugClash(tx: Tx, slug: string, publish: Date, exceptId?: number) {
  return tx.post.findFirst({
    where: { slug, publishDate: new Date(`${utcDay(publish)}T00:00:00Z`), ...(exceptId ? { NOT: { id: exceptId } } : {}) },
    select: { id: true, authorId: true, status: true, publish: true },
  });
}

async function assertSlugFree(tx: Tx, slug: string, publish: Date, exceptId?: number): Promise<void> {
  if (await slugClash(tx, slug, publish, exceptId)) throw new SlugTakenError(slug, utcDay(publish));
}

/** Is `slug` free on the UTC day of `publish` (ignoring post `exceptId`)? Used by the admin's live check. */
export async function isSlugFree(slug: string, publish: Date, exceptId?: number): Promise<boolean> {
  try {
    await assertSlugFree(prisma, slug, publish, exceptId);
    return true;
  } catch (e) {
    if (e instanceof SlugTakenError) return false;
    throw e;
  }
}

/** The stored columns of a save of `input` over `before` (null: a new post). */
function derived(input: PostInput, before: PostWithTags | null) {
  const body = input.body ?? "";
  return {
    title: input.title,
    slug: input.slug?.trim() ? input.slug.trim() : slugify(input.title),
    body,
    bodyHtml: renderMarkdown(body),
    excerpt: excerptFor(input.excerpt, body, before),
    metaDescription: input.metaDescription ?? before?.metaDescription ?? "",
    status: input.status,
    ...publishTime(before, input.publish, input.status),
    authorId: input.authorId,
    categoryId: input.categoryId,
  };
}

function uniqueViolation(e: unknown): boolean {
  return e instanceof Prisma.PrismaClientKnownRequestError && e.code === "P2002";
}

async function withTags(tx: Tx, id: number): Promise<PostWithTags | null> {
  const p = await tx.post.findUnique({ where: { id }, include: { tags: { select: { tagId: true } } } });
  if (!p) return null;
  const { tags, ...post } = p;
  return { ...post, tagIds: tags.map((t) => t.tagId).sort((a, b) => a - b) };
}

export async function getPostWithTags(id: number): Promise<PostWithTags | null> {
  return withTags(prisma, id);
}

/** Tag ids for these names: existing tags matched by slug, missing ones created (in the caller's transaction). */
async function tagIdsForNames(tx: Tx, names: string[]): Promise<number[]> {
  const wanted = new Map<string, string>();
  for (const raw of names) {
    const name = raw.trim().replace(/\s+/g, " ").slice(0, 100);
    if (!name) continue;
    const slug = slugify(name).slice(0, 100);
    if (!wanted.has(slug)) wanted.set(slug, name);
  }
  if (!wanted.size) return [];
  // Sorted: two saves creating the same new tags insert them in the same order, so neither waits on
  // a row the other holds while holding one it wants (a deadlock, 40P01).
  const slugs = [...wanted.keys()].sort();
  // Race-safe: concurrent writers creating the same tag both end up with the one row (ON CONFLICT DO NOTHING
  // waits for the other transaction; if it rolls back, this one inserts).
  await tx.tag.createMany({ data: slugs.map((slug) => ({ slug, name: wanted.get(slug)! })), skipDuplicates: true });
  const rows = await tx.tag.findMany({ where: { slug: { in: slugs } }, select: { id: true } });
  return rows.map((r) => r.id);
}

/** The post's tag ids after the save: ids and names given, or (neither given) `keep`. */
async function resolveTags(tx: Tx, input: PostInput, keep: number[]): Promise<number[]> {
  if (input.tagIds === undefined && input.tagNames === undefined) return keep;
  const byName = input.tagNames ? await tagIdsForNames(tx, input.tagNames) : [];
  return [...new Set([...(input.tagIds ?? []), ...byName])].sort((a, b) => a - b);
}

async function revision(tx: Tx, post: Pick<Post, "id" | "title" | "body" | "excerpt" | "status">, userId: number | null) {
  await tx.postRevision.create({ data: { postId: post.id, title: post.title, body: post.body, excerpt: post.excerpt, status: post.status, userId } });
}

export async function createPost(input: PostInput, actor: PostActor | null): Promise<Post> {
  const data = derived(input, null);
  try {
    return await prisma.$transaction(async (tx) => {
      await assertSlugFree(tx, data.slug, data.publish);
      const tagIds = await resolveTags(tx, input, []);
      const post = await tx.post.create({ data });
      if (tagIds.length) await tx.postTag.createMany({ data: tagIds.map((tagId) => ({ postId: post.id, tagId })) });
      await revision(tx, post, actor?.id ?? null);
      await pruneAutosave(tx, actor?.id, post.id, true); // the writer's autosave is saved now (src/autosave)
      await recordAction({ userId: actor?.id ?? null, action: "ADD", model: POST_MODEL, objectId: post.id, objectRepr: post.title, changes: { added: true } }, tx);
      return post;
    }).finally(afterPostWrite);
  } catch (e) {
    if (uniqueViolation(e)) throw new SlugTakenError(data.slug, utcDay(data.publish));
    throw e;
  }
}

/** One update inside `tx`: `before` is the stored post, `expectedVersion` the version the save was made from. */
async function saveOver(tx: Tx, before: PostWithTags, expectedVersion: number, input: PostInput, actor: PostActor | null, note?: string): Promise<Post> {
  if (before.version !== expectedVersion) throw new ConflictError(before);
  const data = derived(input, before);
  await assertSlugFree(tx, data.slug, data.publish, before.id);
  const tagIds = await resolveTags(tx, input, before.tagIds);
  try {
    await updateAtVersion(tx, "post", before.id, expectedVersion, data);
  } catch (e) {
    if (uniqueViolation(e)) throw new SlugTakenError(data.slug, utcDay(data.publish)); // a post took the slug just now
    if (!(e instanceof StaleVersionError)) throw e;
    const now = await withTags(tx, before.id);
    if (!now) throw new PostNotFoundError();
    throw new ConflictError(now);
  }
  if (JSON.stringify(tagIds) !== JSON.stringify(before.tagIds)) {
    await tx.postTag.deleteMany({ where: { postId: before.id } });
    if (tagIds.length) await tx.postTag.createMany({ data: tagIds.map((tagId) => ({ postId: before.id, tagId })) });
  }
  const post = (await tx.post.findUnique({ where: { id: before.id } }))!;
  const changed = changedFields(before, { ...data, tagIds }, TRACKED);
  await revision(tx, post, actor?.id ?? null);
  await recordAction(
    { userId: actor?.id ?? null, action: "CHANGE", model: POST_MODEL, objectId: before.id, objectRepr: post.title, changes: { changed, ...(note ? { note } : {}) } },
    tx,
  );
  return post;
}

/**
 * Saves `input` over post `id` if it is still at `expectedVersion` (UPDATE ... WHERE id AND version).
 * Throws ConflictError with the stored post when someone saved in between, PostNotFoundError when gone.
 */
export async function updatePost(id: number, expectedVersion: number, input: PostInput, actor: PostActor | null, note?: string): Promise<Post> {
  return prisma.$transaction(async (tx) => {
    const before = await withTags(tx, id);
    if (!before) throw new PostNotFoundError();
    const post = await saveOver(tx, before, expectedVersion, input, actor, note);
    await pruneAutosave(tx, actor?.id, id); // the writer's autosave is saved now (src/autosave)
    return post;
  }).finally(afterPostWrite);
}

export async function deletePosts(ids: number[], actor: PostActor | null): Promise<number> {
  if (ids.length === 0) return 0;
  return prisma.$transaction(async (tx) => {
    const posts = await tx.post.findMany({ where: { id: { in: ids } }, select: { id: true, title: true } });
    await tx.post.deleteMany({ where: { id: { in: posts.map((p) => p.id) } } });
    await recordActions(posts.map((p) => ({ userId: actor?.id ?? null, action: "DELETE", model: POST_MODEL, objectId: p.id, objectRepr: p.title })), tx);
    return posts.length;
  }).finally(afterPostWrite);
}

/** The stored post as a save input (nothing changed yet): what status-only paths start from. */
function inputOf(p: PostWithTags): PostInput {
  return {
    title: p.title,
    slug: p.slug,
    body: p.body,
    excerpt: p.excerpt,
    metaDescription: p.metaDescription,
    status: p.status,
    publish: undefined,
    authorId: p.authorId,
    categoryId: p.categoryId,
    tagIds: p.tagIds,
  };
}

export interface StatusChangeResult {
  changed: number;
  /** Posts left as they were, with the reason (a slug taken on the day publishing gives them). */
  refused: { id: number; title: string; reason: string }[];
}

/**
 * Bulk status change (publish/unpublish actions): each post is a normal save through the same path
 * (publish-time rule, slug check, new version, revision, audit entry), one transaction per post, so a
 * post that cannot be published (its slug is taken on today's date) is reported and the others go on.
 */
export async function setPostsStatus(changes: { id: number; status: PostStatus }[], actor: PostActor | null): Promise<StatusChangeResult> {
  const out: StatusChangeResult = { changed: 0, refused: [] };
  try {
    for (const { id, status } of changes) {
      try {
        const saved = await prisma.$transaction(async (tx) => {
          const before = await withTags(tx, id);
          if (!before || before.status === status) return null;
          return saveOver(tx, before, before.version, { ...inputOf(before), status }, actor);
        });
        if (saved) out.changed++;
      } catch (e) {
        const title = (await prisma.post.findUnique({ where: { id }, select: { title: true } }))?.title ?? `#${id}`;
        if (e instanceof SlugTakenError || e instanceof ConflictError) out.refused.push({ id, title, reason: e.message });
        else if (!(e instanceof PostNotFoundError)) throw e;
      }
    }
    return out;
  } finally {
    afterPostWrite();
  }
}

export async function listRevisions(postId: number) {
  return prisma.postRevision.findMany({
    where: { postId },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take: 200,
    include: { user: { select: { username: true } } },
  });
}

/** Restores a revision's title/body/excerpt/status onto the post: itself a normal save, so a new revision. */
export async function restoreRevision(postId: number, revisionId: number, actor: PostActor | null): Promise<Post> {
  const rev = await prisma.postRevision.findFirst({ where: { id: revisionId, postId } });
  const post = await withTags(prisma, postId);
  if (!rev || !post) throw new PostNotFoundError();
  return updatePost(
    postId,
    post.version,
    {
      title: rev.title,
      slug: post.slug,
      body: rev.body,
      excerpt: rev.excerpt,
      metaDescription: post.metaDescription,
      status: rev.status,
      publish: undefined, // as stored: restoring text does not choose a publish time
      authorId: post.authorId,
      categoryId: post.categoryId,
      tagIds: post.tagIds,
    },
    actor,
    `Restored revision ${rev.id} of ${rev.createdAt.toISOString()}`,
  );
}

export { PostStatus };
