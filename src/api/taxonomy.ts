// Categories and tags: public reads with their published post counts; writes by the declared rule
// (category.create/change/delete and tag.change/delete: editors; tag.create: authors too, as when they
// name a new tag on their post), saved through the admin's one save path (src/api/model-saves.ts).
// A change needs If-Match with the version read (428 without it, 412 when stale, with the current one).
//
// Which tags a caller may learn about is the tag field's rule (visibleTags, src/admin/widgets.ts):
// anonymous callers and readers see tags on a live (published) post, authors those and the tags on
// their own posts, editors every tag. A tag they may not see is a 404, as on the site.
import { z } from "zod";
import { prisma } from "../db/index.ts";
import { can, type Actor } from "../accounts/permissions.ts";
import type { SessionUser } from "../accounts/users.ts";
import { text } from "../accounts/validation.ts";
import { categoriesWithCounts } from "../blog/queries.ts";
import { visibleTags } from "../admin/widgets.ts";
import { slugString } from "../web/inputs.ts";
import { absoluteUrl, url } from "../web/urls.ts";
import { endpoint, type Endpoint } from "./endpoint.ts";
import { requireVersion, saveProblem, savesOf } from "./model-saves.ts";
import { problems } from "./problem.ts";

const LIVE = () => ({ status: "PUBLISHED" as const, publish: { lte: new Date() } });

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

const listOf = <T extends z.ZodType>(item: T, id: string) =>
  z.object({ count: z.number().int(), results: z.array(item) }).meta({ id, description: "Every item, in name order (one page: there are few)." });

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

async function category(where: { slug: string } | { id: number }) {
  const c = await prisma.category.findUnique({
    where,
    select: { id: true, name: true, slug: true, description: true, version: true, _count: { select: { posts: { where: LIVE() } } } },
  });
  if (!c) return null;
  return {
    id: c.id,
    resource: { slug: c.slug, name: c.name, description: c.description, posts: c._count.posts, url: categoryUrl(c.slug), version: c.version },
  };
}

/** The tags `user` may learn about (anonymous: as a reader with no posts); "all": no restriction (the tag's own creator). */
const tagsVisibleTo = (user: SessionUser | null | "all") =>
  user === "all" ? {} : visibleTags(user ?? ({ id: 0, role: "READER", isActive: false } satisfies Actor));

const TAG_SELECT = (now: ReturnType<typeof LIVE>) =>
  ({ id: true, name: true, slug: true, version: true, _count: { select: { posts: { where: { post: now } } } } }) as const;

const tagResource = (t: { name: string; slug: string; version: number; _count: { posts: number } }) => ({
  slug: t.slug,
  name: t.name,
  posts: t._count.posts,
  url: t._count.posts > 0 ? absoluteUrl("blog:tag_detail", { slug: t.slug }) : null,
  version: t.version,
});

async function tag(where: { slug: string } | { id: number }, user: SessionUser | null | "all") {
  const key = "slug" in where ? { slug: where.slug } : { id: where.id };
  const t = await prisma.tag.findFirst({ where: { AND: [key, tagsVisibleTo(user)] }, select: TAG_SELECT(LIVE()) });
  return t ? { id: t.id, resource: tagResource(t) } : null;
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
  saves: ReturnType<typeof savesOf>;
  /** The object as `user` may see it ("all": as stored), or null. */
  read(where: { slug: string } | { id: number }, user: SessionUser | null | "all"): Promise<Found>;
  /** A create body as the admin form's values (a slug left out is made from the name). */
  values(body: Record<string, unknown>): Record<string, unknown>;
}

const title = (s: string) => s[0]!.toUpperCase() + s.slice(1);

function detailAndWrites(m: Model): Endpoint[] {
  const Noun = title(m.noun);
  const path = `/${m.plural}/{slug}`;
  const found = async (slug: string, user: SessionUser | null): Promise<NonNullable<Found>> => {
    const o = await m.read({ slug }, user);
    if (!o) throw problems.notFound(`No such ${m.noun}.`);
    return o;
  };
  const common = { tags: [m.plural], params: slugParams };
  return [
    endpoint({
      ...common,
      operationId: `get${Noun}`,
      method: "get",
      path,
      summary: `One ${m.noun}`,
      auth: "public",
      responses: { 200: { description: `The ${m.noun}.`, schema: m.schema, headers: { ETag: `The ${m.noun}'s version.` } } },
      errors: [404],
      async handle({ params, user }) {
        const o = await found(params.slug, user);
        return { body: o.resource, etag: String(o.resource.version) };
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
      responses: { 201: { description: `The new ${m.noun}.`, schema: m.schema, headers: { Location: `The ${m.noun}'s URL.`, ETag: "Its version." } } },
      errors: [403],
      async handle({ user, body }) {
        allow(user!, `${m.noun}.create`);
        const saved = await m.saves.create(m.values(body as Record<string, unknown>), user!).catch((e: unknown) => saveProblem(e, async () => null));
        // the creator sees it whatever their role (a new tag is on no post yet): it is theirs to know
        const o = (await m.read({ id: saved.id }, "all"))!;
        return { status: 201, body: o.resource, etag: String(o.resource.version), headers: { Location: url(`api:get${Noun}`, { slug: o.resource.slug }) } };
      },
    }),
    endpoint({
      ...common,
      operationId: `update${Noun}`,
      method: "patch",
      path,
      summary: `Change a ${m.noun}`,
      description: `Editors and admins. Send If-Match: "<version>" (the ETag read): 428 without it, 412 (with the current ${m.noun}) when it changed since.`,
      auth: "user",
      body: m.change,
      responses: { 200: { description: `The ${m.noun} as saved.`, schema: m.schema, headers: { ETag: "Its new version." } } },
      errors: [403, 404, 412, 428],
      async handle({ user, params, body, req }) {
        const o = await found(params.slug, user);
        allow(user!, `${m.noun}.change`);
        const version = requireVersion(req, o.resource);
        const obj = await m.saves.load(o.id);
        if (!obj) throw problems.notFound(`No such ${m.noun}.`);
        const current = async () => (await m.read({ id: o.id }, user))?.resource ?? null;
        await m.saves.update(obj, { ...obj.values, ...(body as object) }, user!, version).catch((e: unknown) => saveProblem(e, current));
        const now = (await current())!;
        return { body: now, etag: String(now.version) };
      },
    }),
    endpoint({
      ...common,
      operationId: `delete${Noun}`,
      method: "delete",
      path,
      summary: `Delete a ${m.noun}`,
      description: m.deleteText,
      auth: "user",
      responses: { 204: { description: "Deleted." } },
      errors: [403, 404],
      async handle({ user, params }) {
        const o = await found(params.slug, user);
        allow(user!, `${m.noun}.delete`);
        await m.saves.remove([o.id], user!);
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
  responses: { 200: { description: "The categories.", schema: listOf(Category, "CategoryList") } },
  async handle() {
    const rows = await categoriesWithCounts();
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
    "The tags you may see, in name order, with their published post counts: anonymous callers and readers see tags on a published post; authors also those on their own posts; editors every tag.",
  tags: ["tags"],
  auth: "public",
  responses: { 200: { description: "The tags.", schema: listOf(Tag, "TagList") } },
  async handle({ user }) {
    const rows = await prisma.tag.findMany({ where: tagsVisibleTo(user), select: TAG_SELECT(LIVE()), orderBy: [{ name: "asc" }, { id: "asc" }] });
    return { body: { count: rows.length, results: rows.map(tagResource) } };
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
    saves: savesOf("blog_category"),
    read: (where) => category(where),
    values: (b) => ({ name: b.name, slug: b.slug ?? "", description: b.description ?? "" }),
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
    saves: savesOf("blog_tag"),
    read: tag,
    values: (b) => ({ name: b.name, slug: b.slug ?? "" }),
  }),
];
