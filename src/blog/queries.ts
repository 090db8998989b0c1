// The reader's side of the blog: every query the public pages, feeds and sitemaps read posts with.
//
// Hot paths use plain SQL through the shared pg pool (Prisma costs 0.5-1.5 ms per query here) and
// fetch a page's posts with their author, category and tags in ONE statement:
//   - a "deferred join": the page's ids come first from the (status, publish DESC, id DESC) index
//     (an index-only scan, even with a deep OFFSET), then only those ids are joined to the details;
//   - each post's tag ids come from a correlated ARRAY() on the PostTag primary key, and their names
//     from an in-process map (see "tag names").
// "Published" everywhere means status = 'PUBLISHED' AND publish <= now(): a future publish time is
// a scheduled post that simply becomes visible when its time comes, with no job involved.
// Every statement here is a fixed text with parameters: prepared once per connection (src/db/prepared.ts).
import { rolesWith } from "../accounts/permissions.ts";
import { caches, PAGE_TAGS } from "../cache/index.ts";
import { getOrSet } from "../cache/fragments.ts";
import { readQuery } from "../db/prepared.ts";
import { dayString, isoDay } from "../web/inputs.ts";
import { url } from "../web/urls.ts";
import { LIVE_SQL } from "../posts/visibility.ts";
import { readingMinutes } from "./markdown.ts";
import { toMediaItem, type MediaItem } from "../media/index.ts";

export interface PersonRef {
  username: string;
  firstName: string;
  lastName: string;
  /** "First Last" (Django's get_full_name()), falling back to the username when both are empty. */
  fullName: string;
}
export interface PostCard {
  id: number;
  title: string;
  slug: string;
  excerpt: string;
  publish: Date;
  /** The URL's date ("YYYY-MM-DD", Post.publishDate: the day of publish in the site's zone, or the one a post kept in a zone change): postUrl(). */
  publishDate?: string | null;
  author: PersonRef;
  category: { name: string; slug: string } | null;
  tags: { name: string; slug: string }[];
  /** The featured image (Post.featuredImageId), or null. */
  image: MediaItem | null;
  /** Media.version of the featured image (0 without one): an alt text edit bumps it (the card memo compares it). */
  imageVersion: number;
  /** "4 min read": readingMinutes(Post.wordCount) (src/blog/markdown.ts). */
  readingMinutes: number;
}
export interface PostDetail extends PostCard {
  bodyHtml: string;
  metaDescription: string;
  updatedAt: Date;
  /** The post's tags by id: what its page shows is invalidated by (src/cache/pages.ts). */
  tagIds: number[];
}
/** The author as the post page shows them (the author box): bio and avatar. */
export interface AuthorProfile extends PersonRef {
  bio: string;
  avatar: MediaItem | null;
}
export interface PostPage extends PostDetail {
  /** Post.metaTitle: the page's <title> and og:title when set ("" = the title). */
  metaTitle: string;
  author: AuthorProfile;
}

export interface ListFilter {
  categoryId?: number;
  tagId?: number;
  authorId?: number;
}

const PUBLISHED = LIVE_SQL; // src/posts/visibility.ts

/**
 * A LIMIT/OFFSET written into the SQL text instead of a $n parameter. With a parameter, PostgreSQL
 * cannot cost a prepared statement's generic plan (it assumes 10% of the table and picks a hash join
 * over a sequential scan of "Post": 40-80 ms), so it re-plans every execution (about 1 ms, several
 * under load: more than running the query). With literals the generic plan is the index plan and is
 * reused. Only code-computed integers reach here (page numbers are parsed to bounded integers first);
 * the check below makes anything else a programming error, never SQL. Page offsets below an anchor
 * are < ANCHOR_STEP, so the number of distinct statement texts stays small.
 */
function intLiteral(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`not a LIMIT/OFFSET: ${n}`);
  return String(n);
}

// ---- images ---------------------------------------------------------------------------------------
// A card shows its post's featured image, a post page also the author's avatar. Their Media rows carry
// the renditions (JSON, ~2 KB for 15 files): selected with every card, PostgreSQL's JSON output and
// Node's parse of it cost more than the rest of the row (bench: list page +0.2 ms db, +0.3 ms app CPU).
// So the rows carry only the image's id and version (a LEFT JOIN on the Media primary key), and the
// items come from blog.media-items (src/cache/index.ts), filled by one query for the ids it lacks or
// holds at another version: never stale (an alt text edit bumps the version), one query per page at most.
export type MediaItems = ReadonlyMap<number, MediaItem>;

/** The items of `refs` (id and the version the row saw; null ids skipped): from the cache, plus one query for the rest. */
export async function mediaItemsFor(refs: Iterable<{ id: number | null; version: number | null }>): Promise<MediaItems> {
  const cache = caches.mediaItems;
  const items = new Map<number, MediaItem>();
  let missing: number[] | undefined;
  for (const { id, version } of refs) {
    if (id === null || items.has(id)) continue;
    const hit = cache.get(id);
    if (hit && hit.version === version) items.set(id, hit.item);
    else (missing ??= []).push(id);
  }
  if (missing) {
    const epoch = cache.epoch;
    const { rows } = await readQuery<Parameters<typeof toMediaItem>[0] & { version: number }>(
      `SELECT id, hash, "storageKey", filename, mime, width, height, bytes, alt, renditions, version FROM "Media" WHERE id = ANY ($1::int[])`,
      [[...new Set(missing)]],
    );
    for (const { version, ...row } of rows) {
      const item = toMediaItem(row);
      items.set(item.id, item);
      cache.setIf(epoch, item.id, { version, item });
    }
  }
  return items;
}

/** The columns and joins of a post card (alias p = "Post"); shared with search, favorites and the writer's lists. */
export const CARD_COLUMNS = `p.id, p.title, p.slug, p.excerpt, p.publish, to_char(p."publishDate", 'YYYY-MM-DD') AS "publishDate", p."wordCount",
  u.username, u."firstName", u."lastName",
  c.name AS "categoryName", c.slug AS "categorySlug",
  ARRAY(SELECT pt."tagId" FROM "PostTag" pt WHERE pt."postId" = p.id) AS "tagIds",
  fi.id AS "imageId", fi.version AS "imageVersion"`;
const DETAIL_COLUMNS = `${CARD_COLUMNS}, p."bodyHtml", p."metaDescription", p."updatedAt"`;
/** The post page's: the detail, its meta title, and the author box (bio, avatar: alias av). */
const PAGE_COLUMNS = `${DETAIL_COLUMNS}, p."metaTitle", u.bio AS "authorBio", av.id AS "avatarId", av.version AS "avatarVersion"`;
export const CARD_JOINS = `JOIN "User" u ON u.id = p."authorId" LEFT JOIN "Category" c ON c.id = p."categoryId"
  LEFT JOIN "Media" fi ON fi.id = p."featuredImageId"`;

export interface CardRow {
  id: number;
  title: string;
  slug: string;
  excerpt: string;
  publish: Date;
  publishDate: string | null;
  username: string;
  firstName: string;
  lastName: string;
  categoryName: string | null;
  categorySlug: string | null;
  /** Names come from tagNamesFor() (see "tag names" below). */
  tagIds: number[];
  wordCount: number;
  /** The featured image's id and version (null without one): the item from mediaItemsFor(). */
  imageId: number | null;
  imageVersion: number | null;
}
interface DetailRow extends CardRow {
  bodyHtml: string;
  metaDescription: string;
  updatedAt: Date;
}
interface PageRow extends DetailRow {
  metaTitle: string;
  authorBio: string;
  avatarId: number | null;
  avatarVersion: number | null;
}

function person(u: { username: string; firstName: string; lastName: string }): PersonRef {
  const full = `${u.firstName} ${u.lastName}`.trim();
  return { username: u.username, firstName: u.firstName, lastName: u.lastName, fullName: full || u.username };
}

/** A card from its row; `tags` from tagNamesFor(rows). Tags in name order (then slug). */
export function toCard(r: CardRow, tags: TagNames): PostCard {
  const named: TagRef[] = [];
  for (const id of r.tagIds) {
    const t = tags.get(id);
    if (t) named.push(t); // a tag deleted since the row was read is left out
  }
  if (named.length > 1) named.sort(byTagName);
  return {
    id: r.id,
    title: r.title,
    slug: r.slug,
    excerpt: r.excerpt,
    publish: r.publish,
    publishDate: r.publishDate,
    author: person(r),
    category: r.categorySlug === null ? null : { name: r.categoryName ?? "", slug: r.categorySlug },
    tags: named,
    image: r.imageId === null ? null : (tags.images?.get(r.imageId) ?? null),
    imageVersion: r.imageVersion ?? 0,
    readingMinutes: readingMinutes(r.wordCount),
  };
}

function toDetail(r: DetailRow, tags: TagNames): PostDetail {
  return { ...toCard(r, tags), bodyHtml: r.bodyHtml, metaDescription: r.metaDescription, updatedAt: r.updatedAt, tagIds: r.tagIds };
}

/** Rows to cards (or details), with their tag names. */
async function cards(rows: CardRow[]): Promise<PostCard[]> {
  const tags = await tagNamesFor(rows);
  return rows.map((r) => toCard(r, tags));
}
async function details(rows: DetailRow[]): Promise<PostDetail[]> {
  const tags = await tagNamesFor(rows);
  return rows.map((r) => toDetail(r, tags));
}

// ---- tag names ----------------------------------------------------------------------------------
// A card names its tags, but joining "Tag" and building JSON for every post of a page was half of
// the list query's PostgreSQL time (pgbench -M prepared, page 1 at 10k posts: 0.30 -> 0.15 ms with
// tag ids only). Tags are few and seldom renamed, so the rows carry tag ids and the names come from
// the cache blog.tag-names (src/cache/index.ts), filled on demand by one query for the ids it lacks.
// Admin tag edits clear it in every process ("taxonomy"), and so does age: after its TTL (a minute)
// at the latest, an edit made outside Folio (psql) shows too.
export interface TagRef {
  name: string;
  slug: string;
}
/** Tag names by id, and the featured images of the rows by id (mediaItemsFor): what toCard() needs besides the row. */
export type TagNames = ReadonlyMap<number, TagRef> & { readonly images?: MediaItems };

// Code-unit order, as PostgreSQL's C collation sorts (the embedded cluster's): the same on any server.
const byTagName = (a: TagRef, b: TagRef) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.slug < b.slug ? -1 : a.slug > b.slug ? 1 : 0);

/**
 * The names of every tag id of `rows` (this page's: a lookup that cannot expire between here and
 * toCard()): from the cache, plus one query for the ids it lacks; and, for rows with a featured
 * image (imageId) and `moreImages` (the post page's avatar), the images (mediaItemsFor: cache, plus
 * one query for all of them), at the same time.
 */
export async function tagNamesFor(
  rows: readonly { tagIds: readonly number[]; imageId?: number | null; imageVersion?: number | null }[],
  moreImages: readonly { id: number | null; version: number | null }[] = [],
): Promise<TagNames> {
  const cache = caches.tagNames;
  const names: Map<number, TagRef> & { images?: MediaItems } = new Map<number, TagRef>();
  let missing: number[] | undefined;
  let pictured = moreImages.some((m) => m.id !== null);
  for (const r of rows) {
    if (r.imageId) pictured = true;
    for (const id of r.tagIds) {
      if (names.has(id)) continue;
      const hit = cache.get(id);
      if (hit) names.set(id, hit);
      else (missing ??= []).push(id);
    }
  }
  const epoch = cache.epoch;
  const [found, images] = await Promise.all([
    missing
      ? readQuery<{ id: number; name: string; slug: string }>(`SELECT id, name, slug FROM "Tag" WHERE id = ANY ($1::int[])`, [[...new Set(missing)]])
      : null,
    pictured ? mediaItemsFor([...rows.map((r) => ({ id: r.imageId ?? null, version: r.imageVersion ?? null })), ...moreImages]) : undefined,
  ]);
  for (const t of found?.rows ?? []) {
    const ref = { name: t.name, slug: t.slug };
    names.set(t.id, ref);
    cache.setIf(epoch, t.id, ref); // not when a rename cleared the cache while this query ran
  }
  if (images) names.images = images;
  return names;
}

/** WHERE clause (over alias p) and parameters for a list filter, numbered from $1. */
function filterSql(f: ListFilter, seeking = false): { where: string; from: string; params: unknown[] } {
  const params: unknown[] = [];
  // When seeking from an anchor, "publish <= now()" is implied by (publish, id) <= anchor (the anchor
  // was a published post, and now() only grows) and must go: with both upper bounds on publish,
  // the B-tree starts at now() and walks down to the anchor, linear in the page number again
  // (57 index pages read for page 900 of 100k posts instead of 5).
  const conds = [seeking ? `p.status = 'PUBLISHED'` : PUBLISHED];
  let from = `"Post" p`;
  if (f.categoryId !== undefined) {
    params.push(f.categoryId);
    conds.push(`p."categoryId" = $${params.length}`);
  }
  if (f.authorId !== undefined) {
    params.push(f.authorId);
    conds.push(`p."authorId" = $${params.length}`);
  }
  if (f.tagId !== undefined) {
    params.push(f.tagId);
    from = `"PostTag" ft JOIN "Post" p ON p.id = ft."postId"`;
    conds.push(`ft."tagId" = $${params.length}`);
  }
  return { where: conds.join(" AND "), from, params };
}

// ---- counts -------------------------------------------------------------------------------------
// "Page X of Y" needs the number of published posts matching the filter. A count(*) per request
// grows with the table (4-5 ms through Prisma at 10k rows, worse at 1M), so counts are cached
// (blog.counts in src/cache/index.ts: 5 s), keyed by filter, with the load in flight shared so a
// burst of requests runs one count. The staleness this allows is bounded and corrected where it matters
// (listPublished): pages are read with one extra row, so "is there a next page" is always exact; a
// count found too low is recounted at once; a last page gives the exact total by its position; a
// page past the end is a 404 because it has no rows, whatever the count says. Writers clear it
// through the cache module (afterPostWrite in src/posts/service.ts: invalidate("posts")).

const filterKey = (f: ListFilter) => `${f.categoryId ?? ""}|${f.tagId ?? ""}|${f.authorId ?? ""}`;

async function countNow(f: ListFilter): Promise<number> {
  const { where, from, params } = filterSql(f);
  const { rows } = await readQuery<{ n: number }>(`SELECT count(*) AS n FROM ${from} WHERE ${where}`, params);
  return rows[0]?.n ?? 0;
}

export function countPublished(f: ListFilter = {}): Promise<number> {
  return caches.counts.fetch(filterKey(f), () => countNow(f));
}

export function refreshCount(f: ListFilter = {}): Promise<number> {
  return caches.counts.reload(filterKey(f), () => countNow(f));
}

function learnCount(f: ListFilter, total: number): void {
  caches.counts.set(filterKey(f), total);
}

// ---- lists --------------------------------------------------------------------------------------

/**
 * One page of published posts (publish DESC, id DESC) and the total. The page is read with one row
 * more than it shows, so whether a next page exists is always exact; the cached total is then
 * corrected when it disagrees: too low (a row beyond this page that the count did not include)
 * triggers a recount, and a last page tells the exact total by its position.
 */
export async function listPublished(opts: { page: number; perPage: number } & ListFilter): Promise<{ posts: PostCard[]; total: number }> {
  const [cached, rows] = await Promise.all([countPublished(opts), fetchPage(opts, 1)]);
  const offset = (opts.page - 1) * opts.perPage;
  const hasNext = rows.length > opts.perPage;
  const posts = hasNext ? rows.slice(0, opts.perPage) : rows;
  if (hasNext) {
    const total = cached > offset + opts.perPage ? cached : await refreshCount(opts);
    return { posts, total: Math.max(total, offset + opts.perPage + 1) };
  }
  if (posts.length === 0 && opts.page > 1) return { posts, total: cached }; // past the end
  const exact = offset + posts.length;
  if (exact !== cached) learnCount(opts, exact);
  return { posts, total: exact };
}

// ---- deep pages -----------------------------------------------------------------------------------
// OFFSET n still walks n index entries (page 900 of 10k posts: 2.3 ms vs 0.03 ms for page 1, and
// linear in the page number). So the id scan seeks instead: every ANCHOR_STEP rows of a filter's
// ordering, the (publish, id) key found there is cached (blog.anchors: as counts), and a
// deep page starts from the nearest anchor at or before its offset with a row comparison
// (p.publish, p.id) <= (anchor) on the (status, publish DESC, id DESC) index plus an OFFSET below
// ANCHOR_STEP. Finding an anchor costs one OFFSET scan per TTL. A stale anchor (a post published or
// deleted within the TTL) can shift a deep page by as many rows as changed, like a concurrent
// write between two page loads would.
const ANCHOR_STEP = 50;

function anchorAt(f: ListFilter, offset: number): Promise<{ publish: string; id: number } | null> {
  return caches.anchors.fetch(`${filterKey(f)}@${offset}`, () => {
    const { where, from, params } = filterSql(f);
    const o = params.push(offset);
    return readQuery<{ publish: string; id: number }>(
      `SELECT p.publish::text AS publish, p.id FROM ${from} WHERE ${where} ORDER BY p.publish DESC, p.id DESC LIMIT 1 OFFSET $${o}`,
      params,
    ).then((r) => r.rows[0] ?? null);
  });
}

/** The page's rows plus up to `extra` rows after it. */
async function fetchPage(opts: { page: number; perPage: number } & ListFilter, extra: number): Promise<PostCard[]> {
  let offset = (opts.page - 1) * opts.perPage;
  let seek = "";
  const anchorOffset = Math.floor(offset / ANCHOR_STEP) * ANCHOR_STEP;
  const { where, from, params } = filterSql(opts, anchorOffset > 0);
  if (anchorOffset > 0) {
    const anchor = await anchorAt(opts, anchorOffset);
    if (!anchor) return []; // past the end
    const a = params.push(anchor.publish);
    const b = params.push(anchor.id);
    seek = ` AND (p.publish, p.id) <= ($${a}::timestamptz, $${b}::int)`;
    offset -= anchorOffset;
  }
  // LIMIT/OFFSET as literals (see intLiteral): the statement's plan is then reused.
  const sql = `WITH ids AS (
      SELECT p.id, p.publish FROM ${from} WHERE ${where}${seek}
      ORDER BY p.publish DESC, p.id DESC LIMIT ${intLiteral(opts.perPage + extra)} OFFSET ${intLiteral(offset)})
    SELECT ${CARD_COLUMNS}
      FROM ids JOIN "Post" p ON p.id = ids.id ${CARD_JOINS}
     ORDER BY ids.publish DESC, ids.id DESC`;
  const { rows } = await readQuery<CardRow>(sql, params);
  return cards(rows);
}

/** The newest published posts with their HTML, for feeds. */
export async function latestPublished(limit: number, opts: { categoryId?: number } = {}): Promise<PostDetail[]> {
  const { where, from, params } = filterSql(opts);
  const sql = `WITH ids AS (
      SELECT p.id, p.publish FROM ${from} WHERE ${where} ORDER BY p.publish DESC, p.id DESC LIMIT ${intLiteral(limit)})
    SELECT ${DETAIL_COLUMNS}
      FROM ids JOIN "Post" p ON p.id = ids.id ${CARD_JOINS}
     ORDER BY ids.publish DESC, ids.id DESC`;
  const { rows } = await readQuery<DetailRow>(sql, params);
  return details(rows);
}

// ---- detail -------------------------------------------------------------------------------------

/** The published post at /blog/Y/M/D/slug/ (UTC date of publish), or null. Uses the (publishDate, slug) unique index. */
export async function getPublishedPost(date: { year: number; month: number; day: number }, slug: string): Promise<PostPage | null> {
  const iso = isoDay(date.year, date.month, date.day);
  if (!iso) return null;
  const sql = `SELECT ${PAGE_COLUMNS} FROM "Post" p ${CARD_JOINS} LEFT JOIN "Media" av ON av.id = u."avatarId"
    WHERE p."publishDate" = $1::date AND p.slug = $2 AND ${PUBLISHED}`;
  const { rows } = await readQuery<PageRow>(sql, [iso, slug]);
  return postPage(rows);
}

/** Post `id` as its page shows it, whatever its status (the preview of a draft or scheduled post: src/previews), or null. */
export async function getPostPageById(id: number): Promise<PostPage | null> {
  const sql = `SELECT ${PAGE_COLUMNS} FROM "Post" p ${CARD_JOINS} LEFT JOIN "Media" av ON av.id = u."avatarId" WHERE p.id = $1`;
  const { rows } = await readQuery<PageRow>(sql, [id]);
  return postPage(rows);
}

/** The page's post from its row (none: null). */
async function postPage(rows: PageRow[]): Promise<PostPage | null> {
  const r = rows[0];
  if (!r) return null;
  // The featured image and the avatar in one lookup (one query at most for both).
  const tags = await tagNamesFor(rows, [{ id: r.avatarId, version: r.avatarVersion }]);
  const post = toDetail(r, tags);
  const avatar = r.avatarId === null ? null : (tags.images?.get(r.avatarId) ?? null);
  return { ...post, metaTitle: r.metaTitle, author: { ...post.author, bio: r.authorBio, avatar } };
}

// Similar posts: most shared tags first, then newest. Scoring every post that shares a tag costs
// O(posts per tag): 3 ms at 10k posts / 60 tags, but ~400 ms at 100k posts / 15 tags (35k
// candidates). So the candidates are a window of the newest published posts, read from the
// (status, publish DESC, id DESC) index and each scored with one PostTag index probe: the newest
// SIMILAR_WINDOW posts, widened once to SIMILAR_WIDE_WINDOW when that finds fewer than `limit`.
// Cost is bounded (independent of table size); results are exact whenever the table holds no more
// published posts than the window, and otherwise "most similar among the newest N" (an old post
// sharing more tags than every post in the window is not suggested). Results are also cached per
// post (blog.similar in src/cache/index.ts: a minute, bounded in bytes, least recently used dropped).
const SIMILAR_WINDOW = 300;
const SIMILAR_WIDE_WINDOW = 3_000;

/**
 * Published posts sharing tags with `postId`: most shared tags first, then newest (Django by
 * Example's similar_posts). Cached per post (see above).
 */
export function similarPosts(postId: number, limit = 4): Promise<PostCard[]> {
  return caches.similar.fetch(`${postId}:${limit}`, () => similarPostsNow(postId, limit));
}

/** The similar-posts query itself, uncached (see the window note above). */
async function similarPostsNow(postId: number, limit = 4): Promise<PostCard[]> {
  const sql = (window: number) => `WITH recent AS (
      SELECT p.id, p.publish FROM "Post" p
       WHERE ${PUBLISHED} AND p.id <> $1
       ORDER BY p.publish DESC, p.id DESC LIMIT ${intLiteral(window)}),
    sim AS (
      SELECT r.id, r.publish, s.shared
        FROM recent r
        CROSS JOIN LATERAL (
          SELECT count(*) AS shared FROM "PostTag" pt
           WHERE pt."postId" = r.id AND pt."tagId" = ANY (ARRAY(SELECT m."tagId" FROM "PostTag" m WHERE m."postId" = $1))) s
       WHERE s.shared > 0
       ORDER BY s.shared DESC, r.publish DESC, r.id DESC
       LIMIT ${intLiteral(limit)})
    SELECT ${CARD_COLUMNS}
      FROM sim JOIN "Post" p ON p.id = sim.id ${CARD_JOINS}
     ORDER BY sim.shared DESC, sim.publish DESC, sim.id DESC`;
  let { rows } = await readQuery<CardRow>(sql(SIMILAR_WINDOW), [postId]);
  if (rows.length < limit && (await countPublished()) > SIMILAR_WINDOW) {
    ({ rows } = await readQuery<CardRow>(sql(SIMILAR_WIDE_WINDOW), [postId]));
  }
  return cards(rows);
}

// ---- archives -----------------------------------------------------------------------------------

/**
 * Every category with its number of published posts (the category list page, GET /api/v1/categories):
 * a GROUP BY over the posts, kept in the shared cache for a minute (getOrSet, src/cache/fragments.ts),
 * cleared by any post write (PAGE_TAGS.lists) and by category saves (every page and fragment).
 */
export function categoriesWithCounts(): Promise<{ name: string; slug: string; description: string; count: number }[]> {
  return getOrSet("category-counts", { ttlMs: 60_000, tags: [PAGE_TAGS.lists] }, categoriesWithCountsNow);
}

async function categoriesWithCountsNow(): Promise<{ name: string; slug: string; description: string; count: number }[]> {
  const { rows } = await readQuery<{ name: string; slug: string; description: string; count: number }>(
    `SELECT c.name, c.slug, c.description, count(p.id) AS count
       FROM "Category" c LEFT JOIN "Post" p ON p."categoryId" = c.id AND ${PUBLISHED}
      GROUP BY c.id ORDER BY c.name, c.id`,
  );
  return rows;
}

export async function getCategoryBySlug(slug: string): Promise<{ id: number; name: string; slug: string; description: string } | null> {
  const { rows } = await readQuery<{ id: number; name: string; slug: string; description: string }>(
    `SELECT id, name, slug, description FROM "Category" WHERE slug = $1`,
    [slug],
  );
  return rows[0] ?? null;
}

export async function getTagBySlug(slug: string): Promise<{ id: number; name: string; slug: string } | null> {
  const { rows } = await readQuery<{ id: number; name: string; slug: string }>(`SELECT id, name, slug FROM "Tag" WHERE slug = $1`, [slug]);
  return rows[0] ?? null;
}

/**
 * Whether a published post carries the tag: a tag used only by drafts or scheduled posts is not
 * public (no page, no sitemap entry). Not on the tag page's hot path: that page knows it from its
 * first page of posts; this serves the rarer answer for a page number past the end. One probe of
 * the PostTag (tagId, postId) index and the Post primary key, stopping at the first published post
 * (EXPLAIN at 100k posts: 0.15 ms for a public tag; a tag on N drafts only reads N rows).
 */
export async function tagHasPublishedPost(tagId: number): Promise<boolean> {
  const { rows } = await readQuery(`SELECT 1 FROM "PostTag" pt JOIN "Post" p ON p.id = pt."postId" WHERE pt."tagId" = $1 AND ${PUBLISHED} LIMIT 1`, [tagId]);
  return rows.length > 0;
}

/**
 * A user whose archive is public: anyone whose role may write posts (permissions.ts) or with a published post.
 * Readers' accounts are not exposed (no username enumeration through /blog/author/<name>/).
 */
const WRITER_ROLES = rolesWith("post.create");

export async function getAuthorByUsername(username: string): Promise<(AuthorProfile & { id: number }) | null> {
  const { rows } = await readQuery<{
    id: number;
    username: string;
    firstName: string;
    lastName: string;
    bio: string;
    avatarId: number | null;
    avatarVersion: number | null;
  }>(
    `SELECT u.id, u.username, u."firstName", u."lastName", u.bio, av.id AS "avatarId", av.version AS "avatarVersion" FROM "User" u
       LEFT JOIN "Media" av ON av.id = u."avatarId"
      WHERE u.username = $1
        AND (u.role = ANY($2::"Role"[]) OR EXISTS (SELECT 1 FROM "Post" p WHERE p."authorId" = u.id AND ${PUBLISHED}))`,
    [username, WRITER_ROLES],
  );
  const r = rows[0];
  if (!r) return null;
  const avatar = r.avatarId === null ? null : ((await mediaItemsFor([{ id: r.avatarId, version: r.avatarVersion }])).get(r.avatarId) ?? null);
  return { id: r.id, bio: r.bio, avatar, ...person(r) };
}

// ---- URLs ---------------------------------------------------------------------------------------

/**
 * The post's canonical path: /blog/YYYY/MM/DD/slug/ with the day of `publish` in the site's zone
 * (dayString), which is what the trigger stores in "publishDate" (src/posts/timezone.ts keeps them in
 * step when TIME_ZONE changes). `publishDate`, when the caller has it, wins: a post that kept its old
 * date in a zone change (a slug clash) is at that date.
 */
export function postUrl(p: { publish: Date; slug: string; publishDate?: Date | string | null }): string {
  const d = p.publishDate;
  // a date column: "YYYY-MM-DD", or a Date at 00:00 UTC that day (Prisma's reading of it)
  const iso = typeof d === "string" ? d : d ? d.toISOString().slice(0, 10) : dayString(p.publish);
  const [year, month, day] = iso.split("-") as [string, string, string];
  return url("blog:post_detail", { year, month, day, slug: p.slug });
}
