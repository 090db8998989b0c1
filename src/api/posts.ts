// Posts: the API's DRF-style ModelViewSet over src/posts/service.ts (saves) and the reader's and
// writer's queries (src/blog/queries.ts, src/posts/queries.ts), with filter, search and ordering
// "backends" as query parameters, page-number and cursor pagination, sparse fieldsets, ETags
// (the post's version), revisions and restore. Who may see or change what is the one rule
// (can/canAll, src/accounts/permissions.ts), asked exactly as the pages ask it.
//
// Decisions where the issue was silent (README "API"):
//  - status: `published` (default, everyone) shows what readers see; `draft`, `scheduled` and `all`
//    are for writers only (anonymous: 401, a reader: 403): authors get their own drafts/scheduled posts
//    (`all`: every live post plus their own), editors everyone's.
//  - search: ranked by the site's search (searchPosts: published posts only, rank order, at most 1,000
//    matches). It pages by number only and combines with no filter, ordering or cursor (400 naming the
//    parameter): the ranking is the reader's, over the reader's set, and filtering its pages afterwards
//    would make counts and pages lie.
//  - cursor: `cursor=` (empty) starts a walk, `next`/`previous` continue it; newest first only (the
//    (status, publish DESC, id DESC) keyset); with every filter but search; not with `page`.
//  - PATCH: only the fields sent change (the slug does not follow a new title); `tags` replaces the
//    post's tags; If-Match with the version is required (428), "*" is not a version.
//  - DELETE and restore: If-Match honoured when sent.
import { z } from "zod";
import { can, canAll, maySetPostField, rolesWith, type Action } from "../accounts/permissions.ts";
import { userIdByUsername } from "../accounts/users.ts";
import { visibleTags } from "../admin/widgets.ts";
import { config } from "../config.ts";
import { readDb } from "../db/replica.ts";
import { countPublished, getAuthorByUsername, getCategoryBySlug, listPublished, type ListFilter } from "../blog/queries.ts";
import { MAX_QUERY_LENGTH, normalizeQuery, searchPosts, SearchTimeoutError } from "../blog/search.ts";
import { cursorPage, getPostRecord, listPosts, postsByIds, type Keyset, type PostListQuery, type PostRecord, type StatusFilter } from "../posts/queries.ts";
import {
  ConflictError,
  createPost,
  deletePosts,
  getPostWithTags,
  listRevisions,
  PostNotFoundError,
  PostPermissionError,
  restoreRevision,
  updatePost,
  type PostInput,
} from "../posts/service.ts";
import { isLive } from "../posts/visibility.ts";
import { DAY_PATH_PARTS, INT4_MAX, isId, isoDay, isRealDay, searchText } from "../web/inputs.ts";
import { RETRY_AFTER_SECONDS } from "../web/errors.ts";
import { absoluteUrl } from "../web/urls.ts";
import { endpoint, type Endpoint, type Reply } from "./endpoint.ts";
import { pageEnvelope } from "./paging.ts";
import { preconditionFailed, requireVersion, versionMatches } from "./preconditions.ts";
import { ApiProblem, problems } from "./problem.ts";
import {
  ALL_FIELDS,
  API_FIELD,
  cardOnly,
  decodeCursor,
  encodeCursor,
  fieldsParam,
  instantParam,
  LIST_FIELDS,
  mayChange,
  needsText,
  pageParam,
  pageSizeParam,
  postWriteShape,
  slugParam,
  toResource,
  usernameParam,
  type Caller,
  type PostField,
  type PostWrite,
} from "./posts-resource.ts";
import { cursorPageOf, pageOf, Post, POST_FIELD_NAMES, type PostResource } from "./schemas.ts";

const TAGS = ["posts"];
const ETAG_DOC = '"<version>-<hash of the JSON sent>": 304 on If-None-Match only for the same bytes; If-Match compares its leading version.';

export const PostPage = pageOf(Post, "PostPage");
export const PostCursorPage = cursorPageOf(Post, "PostCursorPage");
export const Revision = z
  .object({
    id: z.number().int(),
    title: z.string(),
    excerpt: z.string(),
    body: z.string().meta({ description: "Markdown source as saved." }),
    status: z.enum(["draft", "published"]),
    createdAt: z.iso.datetime({ offset: true }),
    user: z.string().nullable().meta({ description: "Who saved it (username); null for the site itself or a deleted account." }),
  })
  .meta({ id: "PostRevision" });

const idParam = z.string().refine(isId).transform(Number).meta({ description: "The post's id." });
const idPath = z.object({ id: idParam });

/** The caller's visibility of a post: a live post for everyone, others for those who may view it. */
const visible = (user: Caller, p: { status: string; publish: Date; authorId: number }) => isLive(p, new Date()) || can(user, "post.view", p);

/** The stored post as `user` may see it (404 otherwise, drafts are not given away). */
async function visibleRecord(user: Caller, where: { id: number } | { day: string; slug: string }): Promise<PostRecord> {
  const rec = await getPostRecord(where);
  if (!rec || !visible(user, rec)) throw problems.notFound("No such post.");
  return rec;
}

const fullResource = (user: Caller, rec: PostRecord, fields: ReadonlySet<PostField> = ALL_FIELDS): PostResource =>
  toResource(rec, fields, mayChange(user, rec));

/** A post's answer: the resource with the strong ETag "<version>-<hash of these bytes>" (preconditions.ts). */
function detailReply(user: Caller, rec: PostRecord, fields?: ReadonlySet<PostField>): Reply {
  const body = fullResource(user, rec, fields);
  return { body, version: rec.version };
}

/** The 412 for `rec`: the post as stored, as the caller may see it, with the ETag GET /posts/{id} gives it. */
function stale(user: Caller, rec: PostRecord): ApiProblem {
  return preconditionFailed(rec, fullResource(user, rec));
}

/** The 412 for a save refused as stale (the post as stored now). */
async function staleNow(user: Caller, id: number): Promise<ApiProblem> {
  const rec = await getPostRecord({ id });
  if (!rec) return problems.notFound("No such post.");
  return stale(user, rec);
}

/** The service's permission refusal with the API's field names. */
function refused(e: PostPermissionError): ApiProblem {
  const field = e.field ? (API_FIELD[e.field] ?? e.field) : null;
  return problems.forbidden(e.message, field ? { [field]: e.message } : {});
}

// ---------------------------------------------------------------- list

const ORDERINGS = ["-publish", "publish", "title", "-title"] as const;

/** How deep page numbers go ((page - 1) * page_size); deeper is the cursor's (keyset) job, for every ordering. */
const MAX_OFFSET = 10_000;
/** The largest page that may carry body or html (each up to POST_BODY_MAX). */
const TEXT_PAGE_SIZE = 20;

const listQuery = z.strictObject({
  status: z
    .enum(["published", "draft", "scheduled", "all"])
    .optional()
    .meta({ description: "published (default): what readers see. draft, scheduled, all: writers only (authors: their own; editors: everyone's)." }),
  category: slugParam("A category's slug.").optional(),
  tag: slugParam("A tag's slug.").optional(),
  author: usernameParam.optional(),
  published_after: instantParam("Posts published at or after this date (00:00 UTC) or date-time.").optional(),
  published_before: instantParam("Posts published before this date (00:00 UTC) or date-time.").optional(),
  search: z
    .string()
    .max(20_000)
    .optional()
    .meta({
      description: `Full-text search with the site's ranking (published posts, rank order, at most ${MAX_QUERY_LENGTH} characters). Pages by number; not combined with filters, ordering or cursor.`,
    }),
  ordering: z.enum(ORDERINGS).optional().meta({ description: "-publish (default), publish, title, -title. Search results come in rank order." }),
  fields: fieldsParam.optional().meta({
    description: `Sparse fieldset: a comma list of Post fields (${POST_FIELD_NAMES.join(", ")}); \`id\` is always included. body or html only with page_size up to ${TEXT_PAGE_SIZE}.`,
  }),
  page: pageParam.optional().meta({
    description: `Page number (from 1). A page past the end is a 404. Page numbers reach the first ${MAX_OFFSET.toLocaleString("en")} rows ((page - 1) * page_size at most ${MAX_OFFSET}; 400 beyond): go deeper with cursor.`,
  }),
  page_size: pageSizeParam.optional(),
  cursor: z
    .string()
    .max(300)
    .optional()
    .meta({ description: "Cursor pagination (newest first): empty to start, then the `next`/`previous` links. Not with page or search." }),
});
type ListQuery = z.output<typeof listQuery>;

const refuse = (param: string, message: string) => problems.badRequest(message, { [`query.${param}`]: message });

/** The parameters that cannot go with `search`, if any was sent. */
const NOT_WITH_SEARCH = ["status", "category", "tag", "author", "published_after", "published_before", "ordering", "cursor"] as const;

/** An author for the `author` filter: editors may name any writer; others only a public author (no username probing). */
async function authorIdFor(user: Caller, username: string): Promise<number | null> {
  if (canAll(user, "post.view")) return userIdByUsername(username);
  return (await getAuthorByUsername(username))?.id ?? null;
}

/** A tag for the `tag` filter, when `user` may learn of it: GET /tags/{slug}'s rule (visibleTags); another is unknown. */
async function tagIdFor(user: Caller, slug: string): Promise<number | null> {
  const actor = user ?? { id: 0, role: "READER" as const, isActive: false };
  return (await readDb().prisma.tag.findFirst({ where: { AND: [{ slug }, visibleTags(actor)] }, select: { id: true } }))?.id ?? null;
}

async function filterIds(user: Caller, q: ListQuery): Promise<ListFilter> {
  // categories are public (GET /categories/{slug} answers any); tags and authors only as their own
  // operations reveal them, so a filter never tells more than those
  const [category, tagId, authorId] = await Promise.all([
    q.category ? getCategoryBySlug(q.category) : null,
    q.tag ? tagIdFor(user, q.tag) : null,
    q.author ? authorIdFor(user, q.author) : null,
  ]);
  const errors: Record<string, string> = {};
  if (q.category && !category) errors["query.category"] = "No such category.";
  if (q.tag && !tagId) errors["query.tag"] = "No such tag.";
  if (q.author && !authorId) errors["query.author"] = "No such author.";
  if (Object.keys(errors).length) throw problems.badRequest("The query names something that does not exist.", errors);
  return { categoryId: category?.id, tagId: tagId ?? undefined, authorId: authorId ?? undefined };
}

/** Absolute link to the list with `change` applied to the request's own query. */
function listLink(raw: Record<string, unknown>, change: Record<string, string | number | undefined>): string {
  const query: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(raw)) if (typeof v === "string") query[k] = v;
  for (const [k, v] of Object.entries(change)) query[k] = v === undefined ? undefined : String(v);
  return absoluteUrl("api:listPosts", {}, query);
}

function numberPage(raw: Record<string, unknown>, results: PostResource[], count: number, page: number, size: number) {
  return { body: pageEnvelope({ count, page, size, results, noun: "posts", link: (n) => listLink(raw, { page: n }) }) };
}

async function searchList(
  user: Caller,
  q: ListQuery,
  raw: Record<string, unknown>,
  fields: ReadonlySet<PostField>,
  page: number,
  size: number,
): Promise<Reply> {
  for (const p of NOT_WITH_SEARCH) {
    if (q[p] !== undefined && !(p === "status" && q.status === "published")) throw refuse(p, `${p} cannot be combined with search.`);
  }
  const text = searchText(q.search ?? "");
  if ([...text].length > MAX_QUERY_LENGTH) throw refuse("search", `Search terms can be at most ${MAX_QUERY_LENGTH} characters long.`);
  const { query, hasPositiveTerm } = normalizeQuery(text);
  if (!hasPositiveTerm) throw refuse("search", "Add at least one word to look for (a leading minus leaves a word out).");
  let result;
  try {
    result = await searchPosts(query, page, size);
  } catch (e) {
    if (e instanceof SearchTimeoutError)
      throw new ApiProblem(503, "That search took too long. Try fewer or more specific words.", {}, { "Retry-After": String(RETRY_AFTER_SECONDS) });
    throw e;
  }
  const extra = cardOnly(fields)
    ? null
    : await postsByIds(
        result.hits.map((h) => h.id),
        needsText(fields),
      );
  const results = result.hits.map((h) => {
    const rec = extra?.get(h.id);
    return rec ? toResource(rec, fields, mayChange(user, rec)) : toResource(h, fields, false);
  });
  return numberPage(raw, results, result.total, page, size);
}

async function cursorList(user: Caller, pq: PostListQuery, token: string, raw: Record<string, unknown>, fields: ReadonlySet<PostField>, size: number) {
  let from: { after?: Keyset; before?: Keyset } = {};
  if (token !== "") {
    const c = decodeCursor(token);
    if (!c) throw refuse("cursor", "Invalid cursor: use the next and previous links as given.");
    let at: Keyset = { publish: c.publish, id: c.id };
    // Seeking forward over published posts leaves "publish <= now()" to the position (src/posts/queries.ts):
    // a position later than now (a forged cursor) is brought back to now, so no scheduled post shows.
    const now = Date.now();
    if (c.dir === "n" && pq.status === "published" && Date.parse(c.publish) >= now)
      at = { publish: new Date(now - 1).toISOString().replace("Z", "000Z"), id: INT4_MAX };
    from = c.dir === "n" ? { after: at } : { before: at };
  }
  const { posts, more } = await cursorPage(pq, size, from);
  const link = (k: Keyset, dir: "n" | "p") => listLink(raw, { cursor: encodeCursor({ ...k, dir }) });
  const first = posts[0];
  const last = posts.at(-1);
  const given = from.after ?? from.before;
  let next: string | null;
  let previous: string | null = null;
  if (from.before) {
    previous = more && first ? link({ publish: first.publishKey, id: first.id }, "p") : null;
    next = last ? link({ publish: last.publishKey, id: last.id }, "n") : link(given!, "n");
  } else {
    next = more && last ? link({ publish: last.publishKey, id: last.id }, "n") : null;
    if (given) previous = first ? link({ publish: first.publishKey, id: first.id }, "p") : link(given, "p");
  }
  return { body: { next, previous, results: posts.map((p) => toResource(p, fields, fields.has("body") && mayChange(user, p))) } };
}

const listPostsOp = endpoint({
  operationId: "listPosts",
  method: "get",
  path: "/posts",
  summary: "List posts",
  description:
    "Published posts for everyone; drafts and scheduled posts for writers (status). Filters: category, tag, author, published_after/published_before. " +
    "search: ranked full text. ordering: -publish (default), publish, title, -title. Page-number pagination (page, page_size) with count and links, " +
    "or cursor pagination (cursor) for deep paging. Lists leave out body, html and the writer's columns unless named in fields.",
  tags: TAGS,
  auth: "public",
  query: listQuery,
  responses: {
    200: { description: "A page of posts (page-number envelope, or the cursor envelope when `cursor` is sent).", schema: z.union([PostPage, PostCursorPage]) },
  },
  errors: [403, 404],
  async handle({ user, query: q, req }) {
    const raw = req.query as Record<string, unknown>;
    const fields = q.fields ?? new Set(LIST_FIELDS);
    const size = q.page_size ?? config.POSTS_PER_PAGE;
    const page = q.page ?? 1;
    if ((page - 1) * size > MAX_OFFSET)
      throw refuse("page", `Page numbers reach the first ${MAX_OFFSET} posts ((page - 1) * page_size at most ${MAX_OFFSET}). Use cursor to go deeper.`);
    if (needsText(fields) && size > TEXT_PAGE_SIZE) {
      const message = `A list with body or html in fields takes page_size ${TEXT_PAGE_SIZE} at most.`;
      throw problems.badRequest(message, { "query.fields": message, "query.page_size": message });
    }
    if (q.search !== undefined && q.search.trim() !== "") return searchList(user, q, raw, fields, page, size);

    const status: StatusFilter = q.status ?? "published";
    if (status !== "published") {
      if (!user) throw problems.unauthenticated("Sign in to list drafts or scheduled posts.");
      if (!can(user, "post.view"))
        throw problems.forbidden("Only writers may list drafts and scheduled posts.", { "query.status": "Only writers may use this status." });
    }
    const ordering = q.ordering ?? "-publish";
    if (q.cursor !== undefined) {
      if (q.page !== undefined) throw refuse("page", "Use either page or cursor, not both.");
      if (ordering !== "-publish") throw refuse("ordering", "Cursor pages come newest first (-publish) only.");
    }
    const filter = await filterIds(user, q);
    const pq: PostListQuery = {
      status,
      ownerOnly: canAll(user, "post.view") ? null : (user?.id ?? null),
      ...filter,
      after: q.published_after,
      before: q.published_before,
      ordering,
      withText: needsText(fields),
    };
    if (q.cursor !== undefined) return cursorList(user, pq, q.cursor, raw, fields, size);

    const readerList = status === "published" && ordering === "-publish" && !pq.after && !pq.before;
    if (readerList && cardOnly(fields) && size === config.POSTS_PER_PAGE) {
      // The reader's list as the HTML pages read it: cached counts, deep-page anchors, prepared statements.
      const { posts, total } = await listPublished({ page, perPage: size, ...filter });
      return numberPage(
        raw,
        posts.map((p) => toResource(p, fields, false)),
        total,
        page,
        size,
      );
    }
    const knownTotal = status === "published" && !pq.after && !pq.before ? () => countPublished(filter) : undefined;
    const { posts, total } = await listPosts(pq, page, size, knownTotal);
    return numberPage(
      raw,
      posts.map((p) => toResource(p, fields, fields.has("body") && mayChange(user, p))),
      total,
      page,
      size,
    );
  },
});

// ---------------------------------------------------------------- detail

const detailQuery = z.strictObject({ fields: fieldsParam.optional() });

const getPostOp = endpoint({
  operationId: "getPost",
  method: "get",
  path: "/posts/{id}",
  summary: "One post",
  description:
    'A published post for everyone; a draft or scheduled post only for those who may view it (404 otherwise). `body` (Markdown) only for callers who may change the post. Strong ETag "<version>-<hash>" of the bytes sent (304 on If-None-Match only for the same bytes); send it back in If-Match to change the post.',
  tags: TAGS,
  auth: "public",
  params: idPath,
  query: detailQuery,
  responses: { 200: { description: "The post.", schema: Post, headers: { ETag: ETAG_DOC } } },
  errors: [404],
  async handle({ user, params, query }) {
    return detailReply(user, await visibleRecord(user, { id: params.id }), query.fields);
  },
});

const getPostByDateOp = endpoint({
  operationId: "getPostByDate",
  method: "get",
  path: "/posts/{year}/{month}/{day}/{slug}",
  summary: "The post at a reader's address",
  description:
    "The post at /blog/{year}/{month}/{day}/{slug}/ (the publish day in the site's TIME_ZONE), with the same visibility and ETag as GET /posts/{id}.",
  tags: TAGS,
  auth: "public",
  params: z.object({ ...DAY_PATH_PARTS, slug: slugParam("The post's slug.") }).refine(isRealDay),
  query: detailQuery,
  responses: { 200: { description: "The post.", schema: Post, headers: { ETag: ETAG_DOC } } },
  errors: [404],
  async handle({ user, params, query }) {
    const day = isoDay(params.year, params.month, params.day)!;
    return detailReply(user, await visibleRecord(user, { day, slug: params.slug }), query.fields);
  },
});

// ---------------------------------------------------------------- writes

const writeErrors = [403, 404, 412, 428];

/** Category and author of a write, as ids (400 on the field when unknown). */
async function refsOf(user: Caller, b: PostWrite, post: { authorId: number } | null): Promise<{ categoryId?: number | null; authorId?: number }> {
  const out: { categoryId?: number | null; authorId?: number } = {};
  const errors: Record<string, string> = {};
  if (b.category === null) out.categoryId = null;
  else if (b.category !== undefined) {
    const c = await getCategoryBySlug(b.category);
    if (c) out.categoryId = c.id;
    else errors.category = "No such category.";
  }
  if (b.author !== undefined) {
    if (b.author === user?.username) out.authorId = user.id;
    else if (!maySetPostField(user, "authorId", post)) {
      // whether the name exists is not told to someone who may not give posts away
      throw problems.forbidden("You may not give this post to another author.", { author: "You may not give this post to another author." });
    } else {
      const id = await userIdByUsername(b.author, rolesWith("post.create"));
      if (id !== null) out.authorId = id;
      else errors.author = "No such author (a user who may write posts).";
    }
  }
  if (Object.keys(errors).length) throw problems.badRequest("The request names something that does not exist.", errors);
  return out;
}

const statusOf = (s: "draft" | "published") => (s === "draft" ? "DRAFT" : "PUBLISHED");
const publishOf = (p: string | null | undefined) => (p === undefined ? undefined : p === null ? null : new Date(p));

/** Runs a save; the service's refusals and conflicts as the API's problems. */
async function saving<T>(user: Caller, id: number | null, save: () => Promise<T>): Promise<T> {
  try {
    return await save();
  } catch (e) {
    if (e instanceof PostPermissionError) throw refused(e);
    if (e instanceof ConflictError && id !== null) throw await staleNow(user, id);
    if (e instanceof PostNotFoundError) throw problems.notFound("No such post.");
    throw e;
  }
}

const createBody = z.strictObject({
  ...Object.fromEntries(Object.entries(postWriteShape).map(([k, s]) => [k, s.optional()])),
  title: postWriteShape.title,
}) as unknown as z.ZodType<PostWrite & { title: string }>;

const createPostOp = endpoint({
  operationId: "createPost",
  method: "post",
  path: "/posts",
  summary: "Write a post",
  description: "A new post (a draft unless status says otherwise), by the caller unless an editor names another author. 201 with Location and ETag.",
  tags: TAGS,
  auth: "user",
  body: createBody,
  responses: { 201: { description: "The new post.", schema: Post, headers: { Location: "The post's API URL.", ETag: ETAG_DOC } } },
  errors: [403],
  async handle({ user, body: b }) {
    const refs = await refsOf(user, b, null);
    const input: PostInput = {
      title: b.title,
      slug: b.slug,
      body: b.body ?? "",
      excerpt: b.excerpt,
      metaDescription: b.metaDescription,
      status: statusOf(b.status ?? "draft"),
      publish: publishOf(b.publish),
      authorId: refs.authorId ?? user!.id,
      categoryId: refs.categoryId ?? null,
      tagNames: b.tags,
    };
    const post = await saving(user, null, () => createPost(input, { id: user!.id }));
    const reply = detailReply(user, (await getPostRecord({ id: post.id }))!);
    return { ...reply, status: 201, headers: { Location: absoluteUrl("api:getPost", { id: post.id }) } };
  },
});

const patchBody = z.strictObject(Object.fromEntries(Object.entries(postWriteShape).map(([k, s]) => [k, s.optional()]))) as unknown as z.ZodType<PostWrite>;

const updatePostOp = endpoint({
  operationId: "updatePost",
  method: "patch",
  path: "/posts/{id}",
  summary: "Change a post",
  description:
    'Only the fields sent change (the slug does not follow a new title; `tags` replaces the post\'s tags). If-Match with the ETag you read (its leading version counts) is required: missing 428, stale 412 with `current`, the post as stored. "*" is not a version. A caller who may not change the post gets 403 (404 for a post they may not see) whatever If-Match says.',
  tags: TAGS,
  auth: "user",
  params: idPath,
  body: patchBody,
  responses: { 200: { description: "The post as saved.", schema: Post, headers: { ETag: ETAG_DOC } } },
  errors: writeErrors,
  async handle({ user, params, body: b, req }) {
    const rec = await permittedRecord(user, params.id, "post.change");
    if (Object.keys(b).length === 0) throw problems.badRequest("Send at least one field to change.");
    const version = requireVersion(req, rec, (r) => fullResource(user, r));
    const before = await getPostWithTags(rec.id);
    if (!before) throw problems.notFound("No such post.");
    const refs = await refsOf(user, b, before);
    const input: PostInput = {
      title: b.title ?? before.title,
      slug: b.slug ?? before.slug,
      body: b.body ?? before.body,
      excerpt: b.excerpt,
      metaDescription: b.metaDescription ?? before.metaDescription,
      status: b.status ? statusOf(b.status) : before.status,
      publish: publishOf(b.publish),
      authorId: refs.authorId ?? before.authorId,
      categoryId: refs.categoryId === undefined ? before.categoryId : refs.categoryId,
      tagNames: b.tags,
    };
    await saving(user, before.id, () => updatePost(before.id, version, input, { id: user!.id }));
    return detailReply(user, (await getPostRecord({ id: before.id }))!);
  },
});

/**
 * The stored post for a write: visible to `user` (404 otherwise) and theirs to `action` (403), checked
 * before any If-Match, so a caller who may not change a post never learns of its versions.
 */
async function permittedRecord(user: Caller, id: number, action: Action): Promise<PostRecord> {
  const rec = await visibleRecord(user, { id });
  if (!can(user, action, rec)) throw problems.forbidden(action === "post.delete" ? "You cannot delete this post." : "You cannot change this post.");
  return rec;
}

/**
 * The If-Match of a DELETE or restore, honoured when sent: the version the save must find (undefined
 * when none was sent, or "*": any version); another version is a 412 with the post as stored.
 */
function optionalVersion(user: Caller, header: string | undefined, rec: PostRecord): number | undefined {
  if (header === undefined) return undefined;
  if (!versionMatches(header, rec.version, true)) throw stale(user, rec);
  return header.trim() === "*" ? undefined : rec.version;
}

const deletePostOp = endpoint({
  operationId: "deletePost",
  method: "delete",
  path: "/posts/{id}",
  summary: "Delete a post",
  description:
    "Deletes the post with its revisions. If-Match is honoured when sent (its leading version counts; 412 with `current` when stale, also when the post changes meanwhile). Permission first: 403/404 whatever If-Match says.",
  tags: TAGS,
  auth: "user",
  params: idPath,
  responses: { 204: { description: "Deleted." } },
  errors: [403, 404, 412],
  async handle({ user, params, req }) {
    const rec = await permittedRecord(user, params.id, "post.delete");
    const version = optionalVersion(user, req.headers["if-match"], rec);
    await saving(user, rec.id, () => deletePosts([rec.id], { id: user!.id }, version));
    return { status: 204 };
  },
});

// ---------------------------------------------------------------- revisions

const listRevisionsOp = endpoint({
  operationId: "listPostRevisions",
  method: "get",
  path: "/posts/{id}/revisions",
  summary: "A post's revisions",
  description: "Every save of the post, newest first (at most 200), for those who may change it.",
  tags: TAGS,
  auth: "user",
  params: idPath,
  responses: { 200: { description: "The revisions.", schema: z.object({ results: z.array(Revision) }).meta({ id: "PostRevisionList" }) } },
  errors: [403, 404],
  async handle({ user, params }) {
    const post = await permittedRecord(user, params.id, "post.change");
    const revisions = await listRevisions(post.id);
    return {
      body: {
        results: revisions.map((r) => ({
          id: r.id,
          title: r.title,
          excerpt: r.excerpt,
          body: r.body,
          status: r.status === "DRAFT" ? "draft" : "published",
          createdAt: r.createdAt.toISOString(),
          user: r.user?.username ?? null,
        })),
      },
    };
  },
});

const restoreRevisionOp = endpoint({
  operationId: "restorePostRevision",
  method: "post",
  path: "/posts/{id}/revisions/{revisionId}/restore",
  summary: "Restore a revision",
  description:
    "Puts the revision's title, body, excerpt and status back on the post: a normal save (a new version and revision). If-Match honoured when sent (its leading version counts; 412 when stale). Permission first: 403/404 whatever If-Match says.",
  tags: TAGS,
  auth: "user",
  params: z.object({ id: idParam, revisionId: z.string().refine(isId).transform(Number).meta({ description: "The revision's id." }) }),
  responses: { 200: { description: "The post as restored.", schema: Post, headers: { ETag: ETAG_DOC } } },
  errors: [403, 404, 412],
  async handle({ user, params, req }) {
    const post = await permittedRecord(user, params.id, "post.change");
    const version = optionalVersion(user, req.headers["if-match"], post);
    try {
      await saving(user, post.id, () => restoreRevision(post.id, params.revisionId, { id: user!.id }, version));
    } catch (e) {
      if (e instanceof ApiProblem && e.status === 404) throw problems.notFound("No such revision of this post.");
      throw e;
    }
    return detailReply(user, (await getPostRecord({ id: post.id }))!);
  },
});

export const endpoints: Endpoint[] = [listPostsOp, createPostOp, getPostOp, updatePostOp, deletePostOp, getPostByDateOp, listRevisionsOp, restoreRevisionOp];
