// Writer-side reads of posts (the API's lists and details): every status, with what a caller may see
// decided by the permission rule (src/accounts/permissions.ts) before it reaches here. The reader's
// hot list (published posts, newest first, by category/tag/author) stays in src/blog/queries.ts
// (listPublished: cached counts and deep-page anchors), and the API uses it as is; this module serves
// what the reader's pages never ask: drafts and scheduled posts, date ranges, other orderings, keyset
// (cursor) pages, and the columns only writers need (version, Markdown body).
//
// Cards are built exactly as the reader's (CARD_COLUMNS, CARD_JOINS, toCard, tag names from the cache),
// and a page's ids come first from an index ("deferred join"), then only those ids are joined.
import { readQuery } from "../db/prepared.ts";
import { readDb } from "../db/replica.ts";
import { CARD_COLUMNS, CARD_JOINS, tagNamesFor, toCard, type CardRow, type PostCard } from "../blog/queries.ts";
import { LIVE_SQL } from "./visibility.ts";

export type StatusFilter = "published" | "draft" | "scheduled" | "all";
export type Ordering = "-publish" | "publish" | "title" | "-title";

export interface PostListQuery {
  status: StatusFilter;
  /**
   * Whose unpublished posts the caller may see: null for every author's (editors), else the caller's id
   * (authors: their own). Ignored for "published".
   */
  ownerOnly: number | null;
  categoryId?: number;
  tagId?: number;
  authorId?: number;
  /** publish >= after */
  after?: Date;
  /** publish < before */
  before?: Date;
  ordering: Ordering;
  /** Read the Markdown body and the HTML too (a sparse fieldset asked for them). */
  withText: boolean;
}

/** The writer's columns a record adds to the reader's card. */
interface WriterColumns {
  status: "DRAFT" | "PUBLISHED";
  authorId: number;
  metaDescription: string;
  createdAt: Date;
  updatedAt: Date;
  version: number;
  body?: string;
  bodyHtml?: string;
}

/** A post as the API shows it: the reader's card plus the writer's columns. */
export interface PostRecord extends PostCard, WriterColumns {}

interface RecordRow extends CardRow, WriterColumns {
  /** The keyset position of the row: publish in UTC with microseconds (a JS Date keeps only milliseconds). */
  publishKey: string;
}

const recordColumns = (withText: boolean) =>
  `${CARD_COLUMNS}, p.status, p."authorId", p."metaDescription", p."createdAt", p."updatedAt", p.version,
   to_char(p.publish AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS "publishKey"${withText ? `, p.body, p."bodyHtml"` : ""}`;

async function records(rows: RecordRow[]): Promise<(PostRecord & { publishKey: string })[]> {
  const tags = await tagNamesFor(rows);
  return rows.map((r) => {
    const rec: PostRecord & { publishKey: string } = {
      ...toCard(r, tags),
      status: r.status,
      authorId: r.authorId,
      metaDescription: r.metaDescription,
      createdAt: r.createdAt,
      updatedAt: r.updatedAt,
      version: r.version,
      publishKey: r.publishKey,
    };
    if (r.body !== undefined) rec.body = r.body;
    if (r.bodyHtml !== undefined) rec.bodyHtml = r.bodyHtml;
    return rec;
  });
}

/** WHERE (over alias p) and FROM for a list query; parameters appended to `params`. */
function whereOf(q: PostListQuery, params: unknown[], seekingPublished = false): { where: string; from: string } {
  const conds: string[] = [];
  const own = () => `p."authorId" = $${params.push(q.ownerOnly)}`;
  switch (q.status) {
    case "published":
      // Seeking forward from a keyset position no later than now (see cursorPage), "publish <= now()" is
      // implied, and left out so the index scan starts at the position instead of at now().
      conds.push(seekingPublished ? `p.status = 'PUBLISHED'` : LIVE_SQL);
      break;
    case "scheduled":
      conds.push(`p.status = 'PUBLISHED' AND p.publish > now()`);
      if (q.ownerOnly !== null) conds.push(own());
      break;
    case "draft":
      conds.push(`p.status = 'DRAFT'`);
      if (q.ownerOnly !== null) conds.push(own());
      break;
    case "all":
      if (q.ownerOnly !== null) conds.push(`(${LIVE_SQL} OR ${own()})`);
      break;
  }
  let from = `"Post" p`;
  if (q.categoryId !== undefined) conds.push(`p."categoryId" = $${params.push(q.categoryId)}`);
  if (q.authorId !== undefined) conds.push(`p."authorId" = $${params.push(q.authorId)}`);
  if (q.tagId !== undefined) {
    from = `"PostTag" ft JOIN "Post" p ON p.id = ft."postId"`;
    conds.push(`ft."tagId" = $${params.push(q.tagId)}`);
  }
  if (q.after) conds.push(`p.publish >= $${params.push(q.after)}::timestamptz`);
  if (q.before) conds.push(`p.publish < $${params.push(q.before)}::timestamptz`);
  return { where: conds.length ? conds.join(" AND ") : "TRUE", from };
}

const ORDER: Record<Ordering, { inner: string; outer: string }> = {
  "-publish": { inner: "p.publish DESC, p.id DESC", outer: "ids.publish DESC, ids.id DESC" },
  publish: { inner: "p.publish ASC, p.id ASC", outer: "ids.publish ASC, ids.id ASC" },
  title: { inner: "p.title ASC, p.id ASC", outer: "ids.title ASC, ids.id ASC" },
  "-title": { inner: "p.title DESC, p.id DESC", outer: "ids.title DESC, ids.id DESC" },
};

/**
 * One page (offset) of the posts matching `q`, plus one more row (is there a next page?), and the
 * total. Used for what listPublished does not serve; deep pages are the cursor's job (cursorPage).
 */
export async function listPosts(
  q: PostListQuery,
  page: number,
  perPage: number,
  /** The total when the caller knows a cheaper way to it (the reader's cached counts). */
  knownTotal?: () => Promise<number>,
): Promise<{ posts: PostRecord[]; total: number; hasNext: boolean }> {
  const params: unknown[] = [];
  const { where, from } = whereOf(q, params);
  const order = ORDER[q.ordering];
  const limit = params.push(perPage + 1);
  const offset = params.push((page - 1) * perPage);
  const sql = `WITH ids AS (
      SELECT p.id, p.publish, p.title FROM ${from} WHERE ${where} ORDER BY ${order.inner} LIMIT $${limit} OFFSET $${offset})
    SELECT ${recordColumns(q.withText)}
      FROM ids JOIN "Post" p ON p.id = ids.id ${CARD_JOINS}
     ORDER BY ${order.outer}`;
  const countNow = async () => {
    const countParams: unknown[] = [];
    const c = whereOf(q, countParams);
    return (await readDb().pool.query<{ n: number }>(`SELECT count(*) AS n FROM ${c.from} WHERE ${c.where}`, countParams)).rows[0]?.n ?? 0;
  };
  const [rows, counted] = await Promise.all([readDb().pool.query<RecordRow>(sql, params), (knownTotal ?? countNow)()]);
  const all = await records(rows.rows);
  const hasNext = all.length > perPage;
  const posts = hasNext ? all.slice(0, perPage) : all;
  // a cached total may lag a write by its TTL: never below what this page proves
  const offsetEnd = (page - 1) * perPage + posts.length;
  const total = hasNext ? Math.max(counted, offsetEnd + 1) : posts.length || page === 1 ? offsetEnd : counted;
  return { posts, total, hasNext };
}

/** A keyset position in (publish DESC, id DESC) order: publish as "YYYY-MM-DDTHH:MM:SS.ffffffZ", and the id. */
export interface Keyset {
  publish: string;
  id: number;
}

/**
 * A page of posts in (publish DESC, id DESC) order by keyset on the (status, publish DESC, id DESC)
 * index: every page costs the same however deep. `after`: the rows after this position (the next
 * page); `before`: the rows before it (the previous page, read backwards then reversed); neither: the
 * first page. Answers up to perPage + 1 rows in display order, the extra one telling that more exist
 * in the direction read (`more`).
 */
export async function cursorPage(
  q: PostListQuery,
  perPage: number,
  from: { after?: Keyset; before?: Keyset },
): Promise<{ posts: (PostRecord & { publishKey: string })[]; more: boolean }> {
  const params: unknown[] = [];
  let seek = "";
  let inner = ORDER["-publish"].inner;
  let outer = ORDER["-publish"].outer;
  const w = whereOf(q, params, from.after !== undefined && q.status === "published");
  if (from.after) {
    seek = ` AND (p.publish, p.id) < ($${params.push(from.after.publish)}::timestamptz, $${params.push(from.after.id)}::int)`;
  } else if (from.before) {
    seek = ` AND (p.publish, p.id) > ($${params.push(from.before.publish)}::timestamptz, $${params.push(from.before.id)}::int)`;
    inner = ORDER.publish.inner;
    outer = ORDER.publish.outer;
  }
  const limit = params.push(perPage + 1);
  const sql = `WITH ids AS (
      SELECT p.id, p.publish FROM ${w.from} WHERE ${w.where}${seek} ORDER BY ${inner} LIMIT $${limit})
    SELECT ${recordColumns(q.withText)}
      FROM ids JOIN "Post" p ON p.id = ids.id ${CARD_JOINS}
     ORDER BY ${outer}`;
  const { rows } = await readDb().pool.query<RecordRow>(sql, params);
  const all = await records(rows);
  const more = all.length > perPage;
  const page = more ? all.slice(0, perPage) : all;
  if (from.before) page.reverse();
  return { posts: page, more };
}

// The fixed statements below (details, posts by id) are prepared once per connection (src/db/prepared.ts);
// the list statements vary with the filters and keyset, and are planned for their values each time.

/** Posts by id (any status: the caller decides what may be shown), as a map. */
export async function postsByIds(ids: readonly number[], withText: boolean): Promise<Map<number, PostRecord>> {
  if (!ids.length) return new Map();
  const { rows } = await readQuery<RecordRow>(`SELECT ${recordColumns(withText)} FROM "Post" p ${CARD_JOINS} WHERE p.id = ANY ($1::int[])`, [[...ids]]);
  return new Map((await records(rows)).map((r) => [r.id, r]));
}

/** One post with its text, by id or by the reader's address (publishDate: the publish day in the site's zone, + slug), any status; or null. */
export async function getPostRecord(where: { id: number } | { day: string; slug: string }): Promise<PostRecord | null> {
  const { rows } =
    "id" in where
      ? await readQuery<RecordRow>(`SELECT ${recordColumns(true)} FROM "Post" p ${CARD_JOINS} WHERE p.id = $1`, [where.id])
      : await readQuery<RecordRow>(`SELECT ${recordColumns(true)} FROM "Post" p ${CARD_JOINS} WHERE p."publishDate" = $1::date AND p.slug = $2`, [
          where.day,
          where.slug,
        ]);
  if (!rows[0]) return null;
  const [rec] = await records(rows);
  const { publishKey: _key, ...post } = rec!;
  return post;
}
