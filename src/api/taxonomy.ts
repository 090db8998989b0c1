// Categories and tags: public reads with their published post counts; writes by the declared rule
// (category.create/change/delete and tag.change/delete: editors; tag.create: authors too, as when they
// name a new tag on their post), saved through the feature's one save path (src/taxonomy/service.ts),
// which the admin calls too. A change needs If-Match with the ETag read (428 without it, 412 when
// stale, with the current one); a DELETE honours it when sent. The lists are cached (api.categories,
// api.tags in src/cache/index.ts: dropped on every post or taxonomy write); tags come in pages.
//
// Which tags a caller may learn about is the tag field's rule (visibleTags, src/admin/widgets.ts):
// anonymous callers and readers see tags on a live (published) post, authors those and the tags on
// their own posts, editors every tag. A tag they may not see is a 404, as on the site.
import { z } from "zod";
import { readQuery } from "../db/prepared.ts";
import { readDb, readWork } from "../db/replica.ts";
import { can, canAll, type Actor } from "../accounts/permissions.ts";
import type { SessionUser } from "../accounts/users.ts";
import { text } from "../accounts/validation.ts";
import { categoriesWithCounts } from "../blog/queries.ts";
import { visibleTags } from "../admin/widgets.ts";
import { caches } from "../cache/index.ts";
import { LIVE_SQL } from "../posts/visibility.ts";
import type { Saved, Saver } from "../db/saves.ts";
import { createCategory, createTag, deleteCategories, deleteTags, updateCategory, updateTag } from "../taxonomy/service.ts";
import { slugString } from "../web/inputs.ts";
import { absoluteUrl } from "../web/urls.ts";
import { endpoint, type Endpoint } from "./endpoint.ts";
import { pageEnvelope, pageLink, pageQuery } from "./paging.ts";
import { pageOf } from "./schemas.ts";
import { preconditionFailed, requireVersion, versionMatches } from "./preconditions.ts";
import { problems } from "./problem.ts";
import { saving } from "./saves.ts";

// ------------------------------------------------------------------------------ schemas

export const Category = z
  .object({
    slug: z.string(),
    name: z.string(),
    description: z.string(),
    posts: z.number().int().meta({ description: "Published posts in the category." }),
    url: z.string().meta({ description: "The reader's page of the category (absolute URL)." }),
    version: z.number().int().optional().meta({ description: "Bumped on every save; the ETag of the category's own resource. Not in lists." }),
  })
  .meta({ id: "Category" });

export const Tag = z
  .object({
    slug: z.string(),
    name: z.string(),
    posts: z.number().int().meta({ description: "Published posts with the tag." }),
    url: z.string().nullable().meta({ description: "The reader's page of the tag (absolute URL); null while no published post has the tag." }),
    version: z.number().int().meta({ description: "Bumped on every save; the ETag. Send it back in If-Match to change the tag." }),
  })
  .meta({ id: "Tag" });

const CategoryList = z
  .object({ count: z.number().int(), results: z.array(Category) })
  .meta({ id: "CategoryList", description: "Every category, in name order (one page: there are few)." });
const TAGS_PER_PAGE = 100;

const NAME_MAX = 100;
const slugParams = z.object({ slug: slugString(NAME_MAX).meta({ description: "The slug." }) });
const name = () => text(NAME_MAX, { required: "Enter a name." });
const slugField = () => slugString(NAME_MAX).meta({ description: "Lowercase letters, digits and hyphens; unique. Left out on create: made from the name." });
const description = () => text(2000, { allowNewlines: true });

const CategoryCreate = z.strictObject({ name: name(), slug: slugField().optional(), description: description().optional() }).meta({ id: "CategoryCreate" });
const CategoryChange = z
  .strictObject({ name: name().optional(), slug: slugField().optional(), description: description().optional() })
  .meta({ id: "CategoryChange" });
const TagCreate = z.strictObject({ name: name(), slug: slugField().optional() }).meta({ id: "TagCreate" });
const TagChange = z.strictObject({ name: name().optional(), slug: slugField().optional() }).meta({ id: "TagChange" });

// ------------------------------------------------------------------------------ reads

const categoryUrl = (slug: string) => absoluteUrl("blog:category_detail", { slug });

// Published ("live": src/posts/visibility.ts) posts per category and per tag, for the given ids.
const CATEGORY_COUNTS = `SELECT p."categoryId" AS id, count(*)::int AS n FROM "Post" p WHERE p."categoryId" = ANY($1::int[]) AND ${LIVE_SQL} GROUP BY 1`;
const TAG_COUNTS = `SELECT pt."tagId" AS id, count(*)::int AS n
  FROM "PostTag" pt JOIN "Post" p ON p.id = pt."postId" WHERE pt."tagId" = ANY($1::int[]) AND ${LIVE_SQL} GROUP BY 1`;

async function liveCounts(sql: string, ids: number[]): Promise<Map<number, number>> {
  if (ids.length === 0) return new Map();
  const { rows } = await readQuery<{ id: number; n: number }>(sql, [ids]);
  return new Map(rows.map((r) => [r.id, r.n]));
}

async function category(where: { slug: string } | { id: number }) {
  const c = await readDb().prisma.category.findUnique({ where, select: { id: true, name: true, slug: true, description: true, version: true } });
  if (!c) return null;
  const posts = (await liveCounts(CATEGORY_COUNTS, [c.id])).get(c.id) ?? 0;
  return { id: c.id, resource: { slug: c.slug, name: c.name, description: c.description, posts, url: categoryUrl(c.slug), version: c.version } };
}

/** The tags `user` may learn about (anonymous: as a reader with no posts); "all": no restriction (the tag's own creator). */
const tagsVisibleTo = (user: SessionUser | null | "all") =>
  user === "all" ? {} : visibleTags(user ?? ({ id: 0, role: "READER", isActive: false } satisfies Actor));

/** Callers who see the same tags share cached pages: anonymous callers, those who see every tag, and each other signed-in user. */
const visibilityClass = (user: SessionUser | null) => (user === null ? "public" : canAll(user, "post.view") ? "all" : `user:${user.id}`);

const TAG_SELECT = { id: true, name: true, slug: true, version: true } as const;

const tagResource = (t: { name: string; slug: string; version: number; posts: number }) => ({
  slug: t.slug,
  name: t.name,
  posts: t.posts,
  url: t.posts > 0 ? absoluteUrl("blog:tag_detail", { slug: t.slug }) : null,
  version: t.version,
});

async function tag(where: { slug: string } | { id: number }, user: SessionUser | null | "all") {
  const key = "slug" in where ? { slug: where.slug } : { id: where.id };
  const t = await readDb().prisma.tag.findFirst({ where: { AND: [key, tagsVisibleTo(user)] }, select: TAG_SELECT });
  if (!t) return null;
  return { id: t.id, resource: tagResource({ ...t, posts: (await liveCounts(TAG_COUNTS, [t.id])).get(t.id) ?? 0 }) };
}

/** `action` per the rule, or 403 (asked once the object is known to exist: categories and visible tags are public, so a 403 reveals nothing). */
function allow(user: SessionUser, action: Parameters<typeof can>[1]): void {
  if (!can(user, action)) throw problems.forbidden();
}

// ------------------------------------------------------------------------------ detail and writes
// The same five operations for both models, from one description of each.

type Resource = { slug: string; name: string; version: number };
type Found = { id: number; resource: Resource } | null;

interface Model {
  /** "category": operation ids (getCategory), messages, the rule's actions (category.change). */
  noun: "category" | "tag";
  /** "categories": the path and the OpenAPI tag. */
  plural: "categories" | "tags";
  schema: z.ZodType;
  create: z.ZodType;
  change: z.ZodType;
  createText: string;
  deleteText: string;
  /** The feature's saves (src/taxonomy/service.ts). */
  saves: {
    create(body: { name: string }, actor: Saver): Promise<Saved>;
    update(id: number, version: number, body: object, actor: Saver): Promise<Saved>;
    remove(ids: number[], actor: Saver, version?: number): Promise<number>;
  };
  /** The object as `user` may see it ("all": as stored), or null. */
  read(where: { slug: string } | { id: number }, user: SessionUser | null | "all"): Promise<Found>;
}

const title = (s: string) => s[0]!.toUpperCase() + s.slice(1);

/** The ETag of a category or tag: its version and the bytes (its post count changes without a new version). */

function detailAndWrites(m: Model): Endpoint[] {
  const Noun = title(m.noun);
  const path = `/${m.plural}/{slug}`;
  const found = async (slug: string, user: SessionUser | null): Promise<NonNullable<Found>> => {
    const o = await m.read({ slug }, user);
    if (!o) throw problems.notFound(`No such ${m.noun}.`);
    return o;
  };
  const current = (id: number, user: SessionUser | null) => async () => (await m.read({ id }, user))?.resource ?? null;
  const common = { tags: [m.plural], params: slugParams };
  return [
    endpoint({
      ...common,
      operationId: `get${Noun}`,
      method: "get",
      path,
      summary: `One ${m.noun}`,
      auth: "public",
      responses: {
        200: { description: `The ${m.noun}.`, schema: m.schema, headers: { ETag: `The ${m.noun}'s version and representation ("<version>-<hash>").` } },
      },
      errors: [404],
      async handle({ params, user }) {
        const o = await found(params.slug, user);
        return { body: o.resource, version: o.resource.version };
      },
    }),
    endpoint({
      operationId: `create${Noun}`,
      method: "post",
      path: `/${m.plural}`,
      summary: `Create a ${m.noun}`,
      description: m.createText,
      tags: [m.plural],
      auth: "user",
      body: m.create,
      responses: {
        201: { description: `The new ${m.noun}.`, schema: m.schema, headers: { Location: `The ${m.noun}'s URL (absolute).`, ETag: "Its version." } },
      },
      errors: [403],
      async handle({ user, body }) {
        allow(user!, `${m.noun}.create`);
        const saved = await saving(m.saves.create(body as { name: string }, user!), m.noun, async () => null);
        // the creator sees it whatever their role (a new tag is on no post yet): it is theirs to know
        const o = (await m.read({ id: saved.id }, "all"))!;
        return { status: 201, body: o.resource, version: o.resource.version, headers: { Location: absoluteUrl(`api:get${Noun}`, { slug: o.resource.slug }) } };
      },
    }),
    endpoint({
      ...common,
      operationId: `update${Noun}`,
      method: "patch",
      path,
      summary: `Change a ${m.noun}`,
      description: `Editors and admins. Send If-Match with the ETag read (its leading version counts): 428 without it, 412 (with the current ${m.noun}) when it changed since.`,
      auth: "user",
      body: m.change,
      responses: { 200: { description: `The ${m.noun} as saved.`, schema: m.schema, headers: { ETag: "Its new version." } } },
      errors: [403, 404, 412, 428],
      async handle({ user, params, body, req }) {
        const o = await found(params.slug, user);
        allow(user!, `${m.noun}.change`);
        const version = requireVersion(req, o.resource);
        await saving(m.saves.update(o.id, version, body as object, user!), m.noun, current(o.id, user));
        const now = (await current(o.id, user)())!;
        return { body: now, version: now.version };
      },
    }),
    endpoint({
      ...common,
      operationId: `delete${Noun}`,
      method: "delete",
      path,
      summary: `Delete a ${m.noun}`,
      description: `${m.deleteText} If-Match is honoured when sent (its leading version counts; 412 with \`current\` when stale).`,
      auth: "user",
      responses: { 204: { description: "Deleted." } },
      errors: [403, 404, 412],
      async handle({ user, params, req }) {
        const o = await found(params.slug, user);
        allow(user!, `${m.noun}.delete`);
        const h = req.headers["if-match"];
        if (h !== undefined && !versionMatches(h, o.resource.version, true)) throw preconditionFailed(o.resource);
        const version = h === undefined || h.trim() === "*" ? undefined : o.resource.version;
        await saving(m.saves.remove([o.id], user!, version), m.noun, current(o.id, user));
        return { status: 204 };
      },
    }),
  ];
}

const listCategories = endpoint({
  operationId: "listCategories",
  method: "get",
  path: "/categories",
  summary: "Categories",
  description: "Every category with its number of published posts, in name order.",
  tags: ["categories"],
  auth: "public",
  responses: { 200: { description: "The categories.", schema: CategoryList } },
  async handle() {
    const rows = await caches.apiCategories.fetch("all", categoriesWithCounts);
    const results = rows.map((c) => ({ slug: c.slug, name: c.name, description: c.description, posts: c.count, url: categoryUrl(c.slug) }));
    return { body: { count: results.length, results } };
  },
});

const listTags = endpoint({
  operationId: "listTags",
  method: "get",
  path: "/tags",
  summary: "Tags",
  description:
    "The tags you may see, in name order, a page at a time, with their published post counts: anonymous callers and readers see tags on a published post; authors also those on their own posts; editors every tag. A page past the last is a 404.",
  tags: ["tags"],
  auth: "public",
  query: pageQuery("Tags", TAGS_PER_PAGE),
  responses: { 200: { description: "A page of tags.", schema: pageOf(Tag, "TagPage") } },
  errors: [404],
  async handle({ user, query }) {
    const page = query.page ?? 1;
    const size = query.page_size ?? TAGS_PER_PAGE;
    const { count, rows } = await caches.apiTags.fetch(`${visibilityClass(user)}|${page}|${size}`, async () => {
      const where = tagsVisibleTo(user);
      const [count, tags] = await readWork(({ prisma: db }) =>
        db.$transaction([
          db.tag.count({ where }),
          db.tag.findMany({ where, select: TAG_SELECT, orderBy: [{ name: "asc" }, { id: "asc" }], skip: (page - 1) * size, take: size }),
        ]),
      );
      const posts = await liveCounts(
        TAG_COUNTS,
        tags.map((t) => t.id),
      );
      return { count, rows: tags.map((t) => ({ name: t.name, slug: t.slug, version: t.version, posts: posts.get(t.id) ?? 0 })) };
    });
    return { body: pageEnvelope({ count, page, size, results: rows.map(tagResource), noun: "tags", link: pageLink("api:listTags", query) }) };
  },
});

export const endpoints: Endpoint[] = [
  listCategories,
  ...detailAndWrites({
    noun: "category",
    plural: "categories",
    schema: Category,
    create: CategoryCreate,
    change: CategoryChange,
    createText: "Editors and admins. A slug already used is a 400 on `slug`.",
    deleteText: "Editors and admins. Its posts stay, without a category.",
    saves: { create: createCategory, update: updateCategory, remove: deleteCategories },
    read: (where) => category(where),
  }),
  listTags,
  ...detailAndWrites({
    noun: "tag",
    plural: "tags",
    schema: Tag,
    create: TagCreate,
    change: TagChange,
    createText:
      "Authors, editors and admins (tag.create: an author may create tags for their posts). A name holds no comma; a slug already used is a 400 on `slug`.",
    deleteText: "Editors and admins. The tag is taken off its posts (the posts stay).",
    saves: { create: createTag, update: updateTag, remove: deleteTags },
    read: tag,
  }),
];
