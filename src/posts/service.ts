// The one save path for posts. Every create/update/delete/status change of a post — from the
// admin (the editor: its change form; inline status edit, bulk actions), the API or the seed —
// goes through here, so each save renders the Markdown, applies the publish-time and excerpt rules,
// checks the slug per publish date, creates the tags typed by name, bumps `version` (optimistic
// locking, src/db/versioned.ts), keeps a PostRevision and writes the AuditLog, in one transaction:
// a refused or interrupted save leaves nothing behind (no orphan tags).
// It also applies the declared rule of who may change what (src/accounts/permissions.ts) to the
// saving user, read from their stored account: no caller (form, inline edit, bulk action, API) can
// set a post's status, publish time, author or tags, or create a tag, that the rule does not allow.
import { prisma, Prisma, type Post } from "../db/index.ts";
import { PostStatus } from "../generated/prisma/client.ts";
import { can, maySetPostField, type Actor, type PostField } from "../accounts/permissions.ts";
import { excerptFrom, renderBody, slugify } from "../blog/markdown.ts";
import { changedFields, recordAction, recordActions } from "../audit/index.ts";
import { invalidate, PAGE_TAGS } from "../cache/index.ts";
import { pruneAutosave } from "../autosave/service.ts";
import { conflictMessage, StaleVersionError, updateAtVersion } from "../db/versioned.ts";
import { dayString } from "../web/inputs.ts";
import { postSaved } from "./hooks.ts";
import { AltTextMissingError, assertAltForPublish } from "../media/alt-check.ts";

/**
 * Every cache declared with the "posts" tag (counts, similar posts, feeds, sitemap index, the admin's
 * choice lists: a save may create tags) is dropped after a post write: in this process at once, in
 * the other processes on the same database through NOTIFY (src/cache/index.ts); and the cached pages
 * that show the posts written (`touched`: postPageTags of each post before and after the save). The
 * save resolves once this process's caches are cleared and the NOTIFY is sent, so the writer's next
 * request sees the change.
 */
export function afterPostWrite(touched: Iterable<string> = []): Promise<void> {
  return invalidate("posts", ...touched);
}

/** The page tags (PAGE_TAGS) of a post as stored: its page, the lists, its category, tags and author archives. */
export function postPageTags(p: { id: number; categoryId: number | null; authorId: number; tagIds: readonly number[] }): string[] {
  const tags = [PAGE_TAGS.lists, PAGE_TAGS.post(p.id), PAGE_TAGS.author(p.authorId), ...p.tagIds.map(PAGE_TAGS.tag)];
  if (p.categoryId !== null) tags.push(PAGE_TAGS.category(p.categoryId));
  return tags;
}

/**
 * A published post leaves its page (unpublished, or its URL's slug or date changed; deletion likewise):
 * the cached pages that showed it are purged (deleted), not made stale, so that no stale copy of them
 * (stale-if-error, during a later database outage) shows a post taken down, say for legal reasons. The
 * lists and archives that listed it lose their stale copies too; they are rendered again on their next
 * request.
 */
function takenDown(before: Pick<Post, "status" | "slug" | "publish">, after: Pick<Post, "status" | "slug" | "publish">): boolean {
  if (before.status !== PostStatus.PUBLISHED) return false;
  return after.status !== PostStatus.PUBLISHED || after.slug !== before.slug || after.publish?.getTime() !== before.publish?.getTime();
}

type Tx = Prisma.TransactionClient;
export const POST_MODEL = "blog.post";

export interface PostInput {
  title: string;
  slug?: string;
  body: string;
  /** See excerptFor(): empty or automatic text follows the body; anything else is kept. Undefined: the stored one. */
  excerpt?: string;
  /** The page's <title> when set. Undefined: the stored one. */
  metaTitle?: string;
  metaDescription?: string;
  /** The featured image (a Media id), null for none. Undefined: the stored one. */
  featuredImageId?: number | null;
  status: PostStatus;
  /** See publishTime(): a Date the writer chose, null for none chosen, undefined for "as stored". */
  publish?: Date | null;
  authorId: number;
  categoryId: number | null;
  /** Tags by id. With tagNames undefined too, an update keeps the post's tags. */
  tagIds?: number[];
  /** Tags by name, as typed (the forms; added to tagIds): existing tags matched by name (or a real slug, see tagSlug), missing ones created in the save's transaction (tag.create). */
  tagNames?: string[];
}

/**
 * Who saves: a user, whom the rule is applied to (their role and active flag as stored, never as the
 * caller claims them); null for the site itself (seed, data commands), which the rule does not bind.
 */
export interface PostActor {
  id: number;
}

/**
 * A save the rule does not allow; nothing was written. `field` is the post field refused (a 400 with the
 * message next to that field), null for the post itself (403: they may not create, change or delete it).
 * Unmapped, the error handler answers it as a 403 with its message (status/expose).
 */
export class PostPermissionError extends Error {
  readonly status = 403;
  readonly expose = true;
  constructor(
    readonly field: PostField | null,
    message: string,
  ) {
    super(message);
  }
}

/** Raised when the slug is already used by another post on the same publish date. */
export class SlugTakenError extends Error {
  constructor(
    readonly slug: string,
    readonly day: string,
  ) {
    super(`The slug "${slug}" is already used by another post published on ${day}. Choose another slug or publish date.`);
  }
}

/** What a save refers to that can be deleted while the writer edits: the post field naming it. */
export type ReferenceField = "featuredImageId" | "body" | "categoryId" | "authorId";

const GONE_MESSAGE: Record<ReferenceField, string> = {
  featuredImageId: "The image you chose was deleted meanwhile; choose another.",
  body: "An image the text shows was deleted meanwhile; remove it from the text or choose another.",
  categoryId: "The category you chose was deleted meanwhile; choose another.",
  authorId: "The author you chose was deleted meanwhile; choose another.",
};

/**
 * A row the save refers to (an image, the category, the author) was deleted between the form's check and
 * the save: a foreign key refused the write; nothing was written. `field` is the post field naming it
 * (body: an image the text shows). Unmapped, the error handler answers a 409 with its message.
 */
export class ReferenceGoneError extends Error {
  readonly status = 409;
  readonly expose = true;
  constructor(readonly field: ReferenceField) {
    super(GONE_MESSAGE[field]);
  }
}

/** The ReferenceGoneError a foreign-key violation (P2003) of a post save stands for, else null. */
function referenceGone(e: unknown): ReferenceGoneError | null {
  if (!(e instanceof Prisma.PrismaClientKnownRequestError) || e.code !== "P2003") return null;
  const said = `${JSON.stringify(e.meta ?? {})} ${e.message}`; // the constraint's name, e.g. Post_featuredImageId_fkey
  const field = (["featuredImageId", "categoryId", "authorId"] as const).find((f) => said.includes(f)) ?? (said.includes("mediaId") ? "body" : null);
  return field ? new ReferenceGoneError(field) : null;
}

/** A post with its tags: ids ascending, and their names in the same order. */
export type PostWithTags = Post & { tagIds: number[]; tagNames: string[] };

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
export const EXCERPT_RULE =
  "Left empty (or as the automatic text), it follows the body on every save: its first 40 words. Text you write here stays until you clear it.";

type StoredPublish = Pick<Post, "publish" | "publishPinned" | "status">;

/** Has the post a publish time of its own (chosen by the writer, or given by publishing)? If not, forms show the field empty. */
export function publishTimeSet(p: StoredPublish): boolean {
  return p.publishPinned || p.status === "PUBLISHED";
}

/**
 * The publish time a save gives a post (`publishPinned`: the time is fixed, no longer "set when published").
 * - `chosen` a Date: the writer chose it; it stays as chosen (past or future), pinned (the stored time
 *   to the minute, as the forms show it, is the stored time unchanged).
 * - `chosen` undefined (a path without a publish field: status-only edits, bulk actions, the author's
 *   editor): a pinned or already published post keeps its time.
 * - otherwise (none chosen, or null: the writer emptied the field): a post being published takes `now`;
 *   a draft keeps its placeholder time (its creation) and stays unpinned.
 */
export function publishTime(
  before: StoredPublish | null,
  chosen: Date | null | undefined,
  status: PostStatus,
  now = new Date(),
): { publish: Date; publishPinned: boolean } {
  // the forms show the time to the minute: the stored time sent back unchanged keeps its seconds (and its URL date, urlDay)
  if (chosen instanceof Date && before && publishTimeSet(before) && chosen.getTime() === Math.floor(before.publish.getTime() / 60_000) * 60_000)
    return { publish: before.publish, publishPinned: true };
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
function excerptFor(submitted: string | undefined, body: string, before: Pick<Post, "body" | "excerpt"> | null): string {
  const auto = excerptFrom(body, 40);
  const written = (submitted ?? before?.excerpt ?? "").trim();
  const given = words(written);
  if (!given || given === words(auto)) return auto;
  if (before && given === words(excerptFrom(before.body, 40))) return auto;
  return written; // as the writer wrote it (line breaks kept): compared up to white space, stored as is
}

// ---------------------------------------------------------------- the save path

const TRACKED = [
  "title",
  "slug",
  "body",
  "excerpt",
  "metaTitle",
  "metaDescription",
  "featuredImageId",
  "status",
  "publish",
  "authorId",
  "categoryId",
  "tagIds",
];

/** The stored URL date of a post (its "publishDate"), as the save path needs it. */
type StoredDate = Pick<Post, "publish" | "publishDate">;

/**
 * The URL date ("YYYY-MM-DD") a post with `publish` has after a save over `stored` (null: a new post):
 * the stored "publishDate" while publish is unchanged (the trigger post_publish_date leaves it: a post
 * that kept its old date in a change of TIME_ZONE keeps it), else the day of `publish` in the site's zone.
 */
export function urlDay(publish: Date, stored?: StoredDate | null): string {
  if (stored?.publishDate && stored.publish.getTime() === publish.getTime()) return stored.publishDate.toISOString().slice(0, 10);
  return dayString(publish);
}

/** The post already using `slug` on the URL date a post with `publish` gets (urlDay; ignoring post `exceptId`), or null. */
export function slugClash(tx: Tx, slug: string, publish: Date, exceptId?: number, stored?: StoredDate | null) {
  return tx.post.findFirst({
    where: { slug, publishDate: new Date(`${urlDay(publish, stored)}T00:00:00Z`), ...(exceptId ? { NOT: { id: exceptId } } : {}) },
    select: { id: true, authorId: true, status: true, publish: true },
  });
}

async function assertSlugFree(tx: Tx, slug: string, publish: Date, exceptId?: number, stored?: StoredDate | null): Promise<void> {
  if (await slugClash(tx, slug, publish, exceptId, stored)) throw new SlugTakenError(slug, urlDay(publish, stored));
}

/**
 * The stored columns of a save of `input` over `before` (null: a new post), and the images its body
 * shows (`mediaIds`: the PostMedia rows, see setPostMedia). `db`: the save's transaction when called in
 * it (the images are read on its connection: a save holds one connection of the pool, never two).
 */
async function derived(input: PostInput, before: PostWithTags | null, db?: Tx) {
  const body = input.body ?? "";
  const rendered = await renderBody(body, db);
  const data = {
    title: input.title,
    slug: input.slug?.trim() ? input.slug.trim() : slugify(input.title),
    body,
    bodyHtml: rendered.html,
    wordCount: rendered.wordCount,
    excerpt: excerptFor(input.excerpt, body, before),
    metaTitle: input.metaTitle ?? before?.metaTitle ?? "",
    metaDescription: input.metaDescription ?? before?.metaDescription ?? "",
    featuredImageId: input.featuredImageId === undefined ? (before?.featuredImageId ?? null) : input.featuredImageId,
    status: input.status,
    ...publishTime(before, input.publish, input.status),
    authorId: input.authorId,
    categoryId: input.categoryId,
  };
  return { data, mediaIds: rendered.mediaIds };
}

/** The images post `postId`'s body shows (the media library's usage; an image in use cannot be deleted). */
async function setPostMedia(tx: Tx, postId: number, mediaIds: number[], fresh = false): Promise<void> {
  if (!fresh) await tx.postMedia.deleteMany({ where: { postId } });
  if (mediaIds.length) await tx.postMedia.createMany({ data: [...new Set(mediaIds)].map((mediaId) => ({ postId, mediaId })), skipDuplicates: true });
}

function uniqueViolation(e: unknown): boolean {
  return e instanceof Prisma.PrismaClientKnownRequestError && e.code === "P2002";
}

async function withTags(tx: Tx, id: number): Promise<PostWithTags | null> {
  const p = await tx.post.findUnique({ where: { id }, include: { tags: { select: { tagId: true, tag: { select: { name: true } } } } } });
  if (!p) return null;
  const { tags, ...post } = p;
  const sorted = tags.sort((a, b) => a.tagId - b.tagId);
  return { ...post, tagIds: sorted.map((t) => t.tagId), tagNames: sorted.map((t) => t.tag.name) };
}

export async function getPostWithTags(id: number): Promise<PostWithTags | null> {
  return withTags(prisma, id);
}

/** Tags a form may name on a post, and the length of a name. */
export const MAX_TAGS = 20;
export const TAG_NAME_MAX = 100;

/** Why a tag name may not hold a comma: the editor's tag field without JavaScript separates names with commas. */
export const TAG_COMMA_MESSAGE = "A tag name may not contain a comma (commas separate tag names).";

/** What is wrong with these tag names as a form's field (too many, too long, a comma inside one), or null. */
export function tagNamesProblem(names: string[]): string | null {
  if (names.length > MAX_TAGS) return `At most ${MAX_TAGS} tags.`;
  if (names.some((n) => n.length > TAG_NAME_MAX)) return `Each tag has at most ${TAG_NAME_MAX} characters.`;
  if (names.some((n) => n.includes(","))) return TAG_COMMA_MESSAGE;
  return null;
}

/**
 * A field of tag names as typed (the editor's tag field without JavaScript: names to add): comma-separated,
 * trimmed, empty ones dropped. The post's own tags travel by id, so a name with a comma in it (made
 * before names lost their commas) is never typed back here.
 */
export function splitTagNames(typed: string): string[] {
  return typed
    .split(",")
    .map((t) => t.trim())
    .filter(Boolean);
}

/**
 * The slug that stands for a tag name, or null when slugify() would lose what tells it apart: it may
 * drop only accents, case and white space, so the name, accents aside, holds only Latin letters,
 * digits, spaces and hyphens ("C++" would be "c", "中文 Go" would be "go"), and it must not slugify to
 * nothing (every non-Latin name gets the same fallback). Only such a slug may match an existing tag
 * by slug ("cafe" finds "Café"); the tag suggestions search by it too.
 */
export function tagSlug(name: string): string | null {
  if (!/^[A-Za-z0-9\s-]+$/.test(name.normalize("NFD").replace(/\p{M}/gu, ""))) return null;
  const slug = slugCut(slugify(name), TAG_NAME_MAX);
  // slugify() answers its fallback for a name with nothing to keep: "x " + name then keeps only "x"
  return slug && slugify(`x ${name}`) !== "x" ? slug : null;
}

/** A slug cut to `max` characters, with no hyphen left at its end (the slug pattern). */
const slugCut = (slug: string, max: number) => slug.slice(0, max).replace(/-+$/, "");

/** The base of a new tag's slug: its real slug, else what slugify() keeps ("C++": "c"), else "tag" (a name with nothing to keep). */
function newTagSlugBase(name: string): string {
  const real = tagSlug(name);
  if (real) return real;
  return slugify(`x ${name}`) === "x" ? "tag" : slugCut(slugify(name), TAG_NAME_MAX - 4);
}

/** A tag name as compared: runs of white space squeezed (the Tag admin trims only the ends), case aside. */
const tagKey = (name: string) => name.trim().replace(/\s+/g, " ").toLowerCase();

/** Tags whose names may be `name` once squeezed (tagKey narrows them): its first and last words at the ends. */
function nameLike(name: string) {
  const words = name.split(" ");
  if (words.length === 1) return { name: { equals: name, mode: "insensitive" as const } };
  return {
    AND: [{ name: { startsWith: words[0]!, mode: "insensitive" as const } }, { name: { endsWith: words.at(-1)!, mode: "insensitive" as const } }],
  };
}

/**
 * Tag ids for these names. Names are trimmed and deduplicated case aside; each is matched to an
 * existing tag by its exact name (white space squeezed, tagKey; case aside: an exact-case match first; several tags of that name:
 * those already on the post, `current`, else the oldest), then by slug only where the name has a real
 * slug (tagSlug). The others are new tags, created in the caller's transaction if `saver` may create
 * tags (tag.create), otherwise a field error naming them. A new tag never merges into another one: its
 * slug is its name's slug if free, else the first free one of slug-2, slug-3, ... ("C++" beside "C":
 * c-2; a name slugify() keeps nothing of: tag, tag-2, ...). Never a silent loss: each name given
 * is one of the post's tags after the save.
 */
async function tagIdsForNames(tx: Tx, names: string[], saver: Saver, current: number[] = []): Promise<number[]> {
  const wanted = new Map<string, string>();
  for (const raw of names) {
    const name = raw.trim().replace(/\s+/g, " ").slice(0, TAG_NAME_MAX);
    if (name && !wanted.has(tagKey(name))) wanted.set(tagKey(name), name);
  }
  if (!wanted.size) return [];
  const slugs = [...wanted.values()].map(tagSlug).filter((s): s is string => !!s);
  const existing = await tx.tag.findMany({
    where: {
      OR: [...(slugs.length ? [{ slug: { in: slugs } }] : []), ...[...wanted.values()].map(nameLike)],
    },
    select: { id: true, slug: true, name: true },
    orderBy: { id: "asc" },
  });
  const ids: number[] = [];
  const missing: string[] = [];
  for (const name of wanted.values()) {
    const named = existing.filter((t) => tagKey(t.name) === tagKey(name));
    const onPost = named.filter((t) => current.includes(t.id));
    const slug = tagSlug(name);
    const found = onPost.length
      ? onPost
      : named.length
        ? [named.find((t) => t.name.replace(/\s+/g, " ") === name) ?? named[0]!]
        : existing.filter((t) => slug !== null && t.slug === slug).slice(0, 1);
    if (found.length) ids.push(...found.map((t) => t.id));
    else missing.push(name);
  }
  if (!missing.length) return ids;
  if (saver !== SYSTEM && !can(saver, "tag.create"))
    throw new PostPermissionError("tags", `You may not create new tags (${missing.map((n) => `“${n}”`).join(", ")}); choose existing ones.`);
  // Sorted: two saves creating the same new tags insert them in the same order, so neither waits on
  // a row the other holds while holding one it wants (a deadlock, 40P01).
  for (const name of missing.sort()) ids.push(await createTag(tx, name));
  return ids;
}

/**
 * Creates tag `name` under the first free slug of its base, base-2, base-3, ... and answers its id.
 * Race-safe: a slug in use by a tag of the same name (tagKey), one a concurrent save committed since
 * the names were looked up, is that tag; ON CONFLICT DO NOTHING waits for a concurrent insert of the
 * slug, then the same holds; if another name took the slug, the next is tried.
 */
async function createTag(tx: Tx, name: string): Promise<number> {
  const base = newTagSlugBase(name);
  const taken = new Map(
    (await tx.tag.findMany({ where: { slug: { startsWith: base } }, select: { id: true, slug: true, name: true } })).map((t) => [t.slug, t]),
  );
  for (let n = 1; ; n++) {
    const slug = n === 1 ? base : `${slugCut(base, TAG_NAME_MAX - String(n).length - 1)}-${n}`;
    const user = taken.get(slug);
    if (user && tagKey(user.name) === tagKey(name)) return user.id;
    if (user) continue;
    await tx.tag.createMany({ data: [{ slug, name }], skipDuplicates: true });
    const row = await tx.tag.findUnique({ where: { slug }, select: { id: true, name: true } });
    if (row && tagKey(row.name) === tagKey(name)) return row.id;
  }
}

/** The post's tag ids after the save: ids and names given, or (neither given) `keep`. */
async function resolveTags(tx: Tx, input: PostInput, keep: number[], saver: Saver): Promise<number[]> {
  if (input.tagIds === undefined && input.tagNames === undefined) return keep;
  const byName = input.tagNames ? await tagIdsForNames(tx, input.tagNames, saver, keep) : [];
  // a tag deleted since the form was shown is off every post already: it is not put back
  const byId = input.tagIds?.length ? (await tx.tag.findMany({ where: { id: { in: input.tagIds } }, select: { id: true } })).map((t) => t.id) : [];
  return [...new Set([...byId, ...byName])].sort((a, b) => a - b);
}

// ---------------------------------------------------------------- who may save what (the declared rule)

/** The site itself (seed, data commands): the rule does not bind it. */
const SYSTEM = Symbol("system");
/** The saving user as stored (null: no such account, which may do nothing), or SYSTEM. */
type Saver = Actor | null | typeof SYSTEM;

async function saverOf(tx: Tx, actor: PostActor | null): Promise<Saver> {
  if (!actor) return SYSTEM;
  return tx.user.findUnique({ where: { id: actor.id }, select: { id: true, role: true, isActive: true } });
}

type Stored = Pick<PostWithTags, "status" | "publish" | "publishPinned" | "authorId" | "tagIds">;
type Next = Pick<Awaited<ReturnType<typeof derived>>["data"], "status" | "authorId"> & { publish?: Date | null; tagIds: number[] };

const sameIds = (a: number[], b: number[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * Does the save set this field (`before` null: a new post, whose defaults are a draft of the saver's,
 * with no publish time chosen and no tags)? One entry per POST_FIELDS entry: a new field must say here
 * what setting it means, or the type check fails.
 */
const SETS: Record<PostField, (next: Next, before: Stored | null, saverId: number) => boolean> = {
  status: (n, b) => n.status !== (b?.status ?? "DRAFT"),
  // the time as the forms show it (publishTimeSet) against the one sent: undefined "as stored", null "none chosen"
  publish: (n, b) => {
    if (n.publish === undefined) return false;
    if (!b) return n.publish !== null;
    if (n.publish === null) return publishTimeSet(b);
    return !publishTimeSet(b) || n.publish.getTime() !== b.publish.getTime();
  },
  authorId: (n, b, saverId) => n.authorId !== (b?.authorId ?? saverId),
  tags: (n, b) => !sameIds(n.tagIds, b?.tagIds ?? []),
};

/** Throws PostPermissionError unless `saver` may make this save: the post itself, then each field it sets. */
function assertMaySave(saver: Saver, before: (Stored & { id: number }) | null, next: Next): void {
  if (saver === SYSTEM) return;
  if (before ? !can(saver, "post.change", before) : !can(saver, "post.create"))
    throw new PostPermissionError(null, before ? "You cannot change this post." : "You cannot write posts.");
  for (const field of Object.keys(SETS) as PostField[]) {
    if (SETS[field](next, before, saver!.id) && !maySetPostField(saver, field, before)) throw new PostPermissionError(field, FIELD_REFUSED[field]);
  }
}

const FIELD_REFUSED: Record<PostField, string> = {
  status: "You may not change the status of this post.",
  publish: "You may not set the publish time of this post.",
  authorId: "You may not give this post to another author.",
  tags: "You may not change the tags of this post.",
};

async function revision(tx: Tx, post: Pick<Post, "id" | "title" | "body" | "excerpt" | "status">, userId: number | null) {
  await tx.postRevision.create({ data: { postId: post.id, title: post.title, body: post.body, excerpt: post.excerpt, status: post.status, userId } });
}

export async function createPost(input: PostInput, actor: PostActor | null): Promise<Post> {
  const { data, mediaIds } = await derived(input, null);
  const touched = new Set<string>();
  try {
    return await prisma
      .$transaction(async (tx) => {
        const saver = await saverOf(tx, actor);
        const tagIds = await resolveTags(tx, input, [], saver);
        assertMaySave(saver, null, { ...data, publish: input.publish, tagIds });
        if (saver !== SYSTEM) await assertAltForPublish(data.status, mediaIds, data.featuredImageId, data.body, tx); // alt text to publish (src/media/alt-check.ts): writers only, not the data commands
        await assertSlugFree(tx, data.slug, data.publish);
        const post = await tx.post.create({ data });
        if (tagIds.length) await tx.postTag.createMany({ data: tagIds.map((tagId) => ({ postId: post.id, tagId })) });
        await setPostMedia(tx, post.id, mediaIds, true);
        for (const t of postPageTags({ ...post, tagIds })) touched.add(t);
        await revision(tx, post, actor?.id ?? null);
        await pruneAutosave(tx, actor?.id, post.id, true); // the writer's autosave is saved now (src/autosave)
        await postSaved(tx, { before: null, after: post, actorId: actor?.id ?? null });
        await recordAction(
          { userId: actor?.id ?? null, action: "ADD", model: POST_MODEL, objectId: post.id, objectRepr: post.title, changes: { added: true } },
          tx,
        );
        return post;
      })
      .finally(() => afterPostWrite(touched));
  } catch (e) {
    if (uniqueViolation(e)) throw new SlugTakenError(data.slug, dayString(data.publish));
    throw referenceGone(e) ?? e;
  }
}

/** One update inside `tx`: `before` is the stored post, `expectedVersion` the version the save was made from. */
async function saveOver(
  tx: Tx,
  before: PostWithTags,
  expectedVersion: number,
  input: PostInput,
  actor: PostActor | null,
  touched: Set<string>,
  note?: string,
): Promise<Post> {
  const saver = await saverOf(tx, actor);
  if (saver !== SYSTEM && !can(saver, "post.change", before)) throw new PostPermissionError(null, "You cannot change this post.");
  if (before.version !== expectedVersion) throw new ConflictError(before);
  const { data, mediaIds } = await derived(input, before, tx);
  const tagIds = await resolveTags(tx, input, before.tagIds, saver);
  assertMaySave(saver, before, { ...data, publish: input.publish, tagIds });
  if (saver !== SYSTEM) await assertAltForPublish(data.status, mediaIds, data.featuredImageId, data.body, tx); // alt text to publish (src/media/alt-check.ts): writers only, not the data commands
  await assertSlugFree(tx, data.slug, data.publish, before.id, before);
  try {
    await updateAtVersion(tx, "post", before.id, expectedVersion, data);
  } catch (e) {
    if (uniqueViolation(e)) throw new SlugTakenError(data.slug, urlDay(data.publish, before)); // a post took the slug just now
    if (!(e instanceof StaleVersionError)) throw e;
    const now = await withTags(tx, before.id);
    if (!now) throw new PostNotFoundError();
    throw new ConflictError(now);
  }
  if (JSON.stringify(tagIds) !== JSON.stringify(before.tagIds)) {
    await tx.postTag.deleteMany({ where: { postId: before.id } });
    if (tagIds.length) await tx.postTag.createMany({ data: tagIds.map((tagId) => ({ postId: before.id, tagId })) });
  }
  await setPostMedia(tx, before.id, mediaIds);
  const post = (await tx.post.findUnique({ where: { id: before.id } }))!;
  for (const t of [...postPageTags(before), ...postPageTags({ ...post, tagIds })]) touched.add(t); // a moved post leaves its old pages too
  if (takenDown(before, post)) for (const t of postPageTags(before)) touched.add(PAGE_TAGS.purge(t));
  const changed = changedFields(before, { ...data, tagIds }, TRACKED);
  await revision(tx, post, actor?.id ?? null);
  await postSaved(tx, { before, after: post, actorId: actor?.id ?? null });
  await recordAction(
    {
      userId: actor?.id ?? null,
      action: "CHANGE",
      model: POST_MODEL,
      objectId: before.id,
      objectRepr: post.title,
      changes: { changed, ...(note ? { note } : {}) },
    },
    tx,
  );
  return post;
}

/**
 * Saves `input` over post `id` if it is still at `expectedVersion` (UPDATE ... WHERE id AND version).
 * Throws ConflictError with the stored post when someone saved in between, PostNotFoundError when gone.
 */
export async function updatePost(id: number, expectedVersion: number, input: PostInput, actor: PostActor | null, note?: string): Promise<Post> {
  const touched = new Set<string>();
  return prisma
    .$transaction(async (tx) => {
      const before = await withTags(tx, id);
      if (!before) throw new PostNotFoundError();
      const post = await saveOver(tx, before, expectedVersion, input, actor, touched, note);
      await pruneAutosave(tx, actor?.id, id); // the writer's autosave is saved now (src/autosave)
      return post;
    })
    .catch((e: unknown) => {
      throw referenceGone(e) ?? e;
    })
    .finally(() => afterPostWrite(touched));
}

/**
 * Deletes posts (with their revisions). `expectedVersion` (one id only): delete it only at that version,
 * checked in the DELETE itself; at another version it is a ConflictError with the post as stored.
 */
export async function deletePosts(ids: number[], actor: PostActor | null, expectedVersion?: number): Promise<number> {
  if (ids.length === 0) return 0;
  if (expectedVersion !== undefined && ids.length !== 1) throw new Error("deletePosts: an expected version is for one post");
  const touched = new Set<string>();
  return prisma
    .$transaction(async (tx) => {
      const saver = await saverOf(tx, actor);
      const posts = await tx.post.findMany({
        where: { id: { in: ids } },
        select: { id: true, title: true, status: true, authorId: true, categoryId: true, tags: { select: { tagId: true } } },
      });
      for (const p of posts) {
        const tags = postPageTags({ ...p, tagIds: p.tags.map((x) => x.tagId) });
        for (const t of tags) touched.add(t);
        if (p.status === PostStatus.PUBLISHED) for (const t of tags) touched.add(PAGE_TAGS.purge(t)); // taken down: see takenDown()
      }
      const refused = saver === SYSTEM ? undefined : posts.find((p) => !can(saver, "post.delete", p));
      if (refused) throw new PostPermissionError(null, `You may not delete “${refused.title}”.`);
      const versioned = expectedVersion === undefined ? {} : { version: expectedVersion };
      const { count } = await tx.post.deleteMany({ where: { id: { in: posts.map((p) => p.id) }, ...versioned } });
      if (count < posts.length) {
        const current = await withTags(tx, posts[0]!.id);
        if (!current) throw new PostNotFoundError();
        throw new ConflictError(current);
      }
      await recordActions(
        posts.map((p) => ({ userId: actor?.id ?? null, action: "DELETE", model: POST_MODEL, objectId: p.id, objectRepr: p.title })),
        tx,
      );
      return posts.length;
    })
    .finally(() => afterPostWrite(touched));
}

/** The stored post as a save input (nothing changed yet): what status-only paths start from. */
function inputOf(p: PostWithTags): PostInput {
  return {
    title: p.title,
    slug: p.slug,
    body: p.body,
    excerpt: p.excerpt,
    metaTitle: p.metaTitle,
    metaDescription: p.metaDescription,
    featuredImageId: p.featuredImageId,
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
  const touched = new Set<string>();
  // The rule first, for every post: a refusal (PostPermissionError) changes none of them.
  const saver = await saverOf(prisma, actor);
  for (const { id, status } of changes) {
    const before = await withTags(prisma, id);
    if (before && before.status !== status) assertMaySave(saver, before, { ...inputOf(before), status, tagIds: before.tagIds });
  }
  try {
    for (const { id, status } of changes) {
      try {
        const saved = await prisma.$transaction(async (tx) => {
          const before = await withTags(tx, id);
          if (!before || before.status === status) return null;
          return saveOver(tx, before, before.version, { ...inputOf(before), status }, actor, touched);
        });
        if (saved) out.changed++;
      } catch (e) {
        const title = (await prisma.post.findUnique({ where: { id }, select: { title: true } }))?.title ?? `#${id}`;
        if (e instanceof SlugTakenError || e instanceof ConflictError || e instanceof AltTextMissingError) out.refused.push({ id, title, reason: e.message });
        else if (!(e instanceof PostNotFoundError)) throw e;
      }
    }
    return out;
  } finally {
    await afterPostWrite(touched);
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
/**
 * Puts a revision's text and status back on the post: a normal save. `expectedVersion`: the version the
 * caller restores over (a ConflictError when the post has moved on); left out: the version read here.
 */
export async function restoreRevision(postId: number, revisionId: number, actor: PostActor | null, expectedVersion?: number): Promise<Post> {
  const rev = await prisma.postRevision.findFirst({ where: { id: revisionId, postId } });
  const post = await withTags(prisma, postId);
  if (!rev || !post) throw new PostNotFoundError();
  return updatePost(
    postId,
    expectedVersion ?? post.version,
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
