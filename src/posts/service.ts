// The one save path for posts. Every create/update/delete/status change of a post — from the
// admin, the authoring pages, the API or the seed — goes through here, so each save renders the
// Markdown, checks the slug per publish date, bumps `version` (optimistic locking), keeps a
// PostRevision and writes the AuditLog, in one transaction.
import { prisma, Prisma, type Post } from "../db/index.ts";
import { PostStatus } from "../generated/prisma/client.ts";
import { excerptFrom, renderMarkdown, slugify } from "../blog/markdown.ts";
import { changedFields, recordAction, recordActions } from "../admin/audit.ts";
import { invalidateEverywhere } from "../db/invalidation.ts";

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
  excerpt?: string;
  metaDescription?: string;
  status: PostStatus;
  publish: Date;
  authorId: number;
  categoryId: number | null;
  tagIds?: number[];
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
    super("Someone else saved this post while you were editing it. Nothing was overwritten: compare the versions below, then save again.");
  }
}

export class PostNotFoundError extends Error {
  constructor() {
    super("Post not found");
  }
}

const TRACKED = ["title", "slug", "body", "excerpt", "metaDescription", "status", "publish", "authorId", "categoryId", "tagIds"];

const utcDay = (d: Date) => d.toISOString().slice(0, 10);

async function assertSlugFree(tx: Tx, slug: string, publish: Date, exceptId?: number): Promise<void> {
  const day = utcDay(publish);
  const clash = await tx.post.findFirst({
    where: { slug, publishDate: new Date(`${day}T00:00:00Z`), ...(exceptId ? { NOT: { id: exceptId } } : {}) },
    select: { id: true },
  });
  if (clash) throw new SlugTakenError(slug, day);
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

function derived(input: PostInput) {
  const body = input.body ?? "";
  return {
    title: input.title,
    slug: input.slug?.trim() ? input.slug.trim() : slugify(input.title),
    body,
    bodyHtml: renderMarkdown(body),
    excerpt: input.excerpt?.trim() ? input.excerpt.trim() : excerptFrom(body, 40),
    metaDescription: input.metaDescription ?? "",
    status: input.status,
    publish: input.publish,
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

async function revision(tx: Tx, post: Pick<Post, "id" | "title" | "body" | "excerpt" | "status">, userId: number | null) {
  await tx.postRevision.create({ data: { postId: post.id, title: post.title, body: post.body, excerpt: post.excerpt, status: post.status, userId } });
}

export async function createPost(input: PostInput, actor: PostActor | null): Promise<Post> {
  const data = derived(input);
  try {
    return await prisma.$transaction(async (tx) => {
      await assertSlugFree(tx, data.slug, data.publish);
      const post = await tx.post.create({ data });
      const tagIds = [...new Set(input.tagIds ?? [])];
      if (tagIds.length) await tx.postTag.createMany({ data: tagIds.map((tagId) => ({ postId: post.id, tagId })) });
      await revision(tx, post, actor?.id ?? null);
      await recordAction({ userId: actor?.id ?? null, action: "ADD", model: POST_MODEL, objectId: post.id, objectRepr: post.title, changes: { added: true } }, tx);
      return post;
    }).finally(afterPostWrite);
  } catch (e) {
    if (uniqueViolation(e)) throw new SlugTakenError(data.slug, utcDay(data.publish));
    throw e;
  }
}

/**
 * Saves `input` over post `id` if it is still at `expectedVersion` (UPDATE ... WHERE id AND version).
 * Throws ConflictError with the stored post when someone saved in between, PostNotFoundError when gone.
 */
export async function updatePost(id: number, expectedVersion: number, input: PostInput, actor: PostActor | null, note?: string): Promise<Post> {
  const data = derived(input);
  try {
    return await prisma.$transaction(async (tx) => {
      const before = await withTags(tx, id);
      if (!before) throw new PostNotFoundError();
      if (before.version !== expectedVersion) throw new ConflictError(before);
      await assertSlugFree(tx, data.slug, data.publish, id);
      const res = await tx.post.updateMany({ where: { id, version: expectedVersion }, data: { ...data, version: { increment: 1 } } });
      if (res.count !== 1) {
        const now = await withTags(tx, id);
        if (!now) throw new PostNotFoundError();
        throw new ConflictError(now);
      }
      const tagIds = [...new Set(input.tagIds ?? before.tagIds)].sort((a, b) => a - b);
      if (JSON.stringify(tagIds) !== JSON.stringify(before.tagIds)) {
        await tx.postTag.deleteMany({ where: { postId: id } });
        if (tagIds.length) await tx.postTag.createMany({ data: tagIds.map((tagId) => ({ postId: id, tagId })) });
      }
      const post = (await tx.post.findUnique({ where: { id } }))!;
      const changed = changedFields(before, { ...data, tagIds }, TRACKED);
      await revision(tx, post, actor?.id ?? null);
      await recordAction(
        { userId: actor?.id ?? null, action: "CHANGE", model: POST_MODEL, objectId: id, objectRepr: post.title, changes: { changed, ...(note ? { note } : {}) } },
        tx,
      );
      return post;
    }).finally(afterPostWrite);
  } catch (e) {
    if (uniqueViolation(e)) throw new SlugTakenError(data.slug, utcDay(data.publish));
    throw e;
  }
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

/** Bulk status change (publish/unpublish, inline list editing): each changed post gets a new version, revision and audit entry. */
export async function setPostsStatus(changes: { id: number; status: PostStatus }[], actor: PostActor | null): Promise<number> {
  if (changes.length === 0) return 0;
  return prisma.$transaction(async (tx) => {
    let n = 0;
    for (const { id, status } of changes) {
      const rows = await tx.$queryRaw<Pick<Post, "id" | "title" | "body" | "excerpt" | "status">[]>`
        UPDATE "Post" SET status = ${status}::"PostStatus", version = version + 1, "updatedAt" = now()
        WHERE id = ${id} AND status <> ${status}::"PostStatus"
        RETURNING id, title, body, excerpt, status`;
      const post = rows[0];
      if (!post) continue;
      n++;
      await revision(tx, post, actor?.id ?? null);
      await recordAction({ userId: actor?.id ?? null, action: "CHANGE", model: POST_MODEL, objectId: id, objectRepr: post.title, changes: { changed: ["status"], status } }, tx);
    }
    return n;
  }).finally(afterPostWrite);
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
      publish: post.publish,
      authorId: post.authorId,
      categoryId: post.categoryId,
      tagIds: post.tagIds,
    },
    actor,
    `Restored revision ${rev.id} of ${rev.createdAt.toISOString()}`,
  );
}

export { PostStatus };
