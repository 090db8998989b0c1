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

// ------------------------------------------------------------------------------ categories

const categories = savesOf("blog_category");

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

const getCategory = endpoint({
  operationId: "getCategory",
  method: "get",
  path: "/categories/{slug}",
  summary: "One category",
  tags: ["categories"],
  auth: "public",
  params: slugParams,
  responses: { 200: { description: "The category.", schema: Category, headers: { ETag: "The category's version." } } },
  errors: [404],
  async handle({ params }) {
    const c = await category({ slug: params.slug });
    if (!c) throw problems.notFound("No such category.");
    return { body: c.resource, etag: String(c.resource.version) };
  },
});

const createCategory = endpoint({
  operationId: "createCategory",
  method: "post",
  path: "/categories",
  summary: "Create a category",
  description: "Editors and admins. A slug already used is a 400 on `slug`.",
  tags: ["categories"],
  auth: "user",
  body: CategoryCreate,
  responses: { 201: { description: "The new category.", schema: Category, headers: { Location: "The category's URL.", ETag: "Its version." } } },
  errors: [403],
  async handle({ user, body }) {
    allow(user!, "category.create");
    const saved = await categories
      .create({ name: body.name, slug: body.slug ?? "", description: body.description ?? "" }, user!)
      .catch((e: unknown) => saveProblem(e, async () => null));
    const c = (await category({ id: saved.id }))!;
    return { status: 201, body: c.resource, etag: String(c.resource.version), headers: { Location: url("api:getCategory", { slug: c.resource.slug }) } };
  },
});

const updateCategory = endpoint({
  operationId: "updateCategory",
  method: "patch",
  path: "/categories/{slug}",
  summary: "Change a category",
  description: 'Editors and admins. Send If-Match: "<version>" (the ETag read): 428 without it, 412 (with the current category) when it changed since.',
  tags: ["categories"],
  auth: "user",
  params: slugParams,
  body: CategoryChange,
  responses: { 200: { description: "The category as saved.", schema: Category, headers: { ETag: "Its new version." } } },
  errors: [403, 404, 412, 428],
  async handle({ user, params, body, req }) {
    const c = await category({ slug: params.slug });
    if (!c) throw problems.notFound("No such category.");
    allow(user!, "category.change");
    const version = requireVersion(req, c.resource);
    const obj = await categories.load(c.id);
    if (!obj) throw problems.notFound("No such category.");
    const current = async () => (await category({ id: c.id }))?.resource ?? null;
    await categories.update(obj, { ...obj.values, ...body }, user!, version).catch((e: unknown) => saveProblem(e, current));
    const now = (await current())!;
    return { body: now, etag: String(now.version) };
  },
});

const deleteCategory = endpoint({
  operationId: "deleteCategory",
  method: "delete",
  path: "/categories/{slug}",
  summary: "Delete a category",
  description: "Editors and admins. Its posts stay, without a category.",
  tags: ["categories"],
  auth: "user",
  params: slugParams,
  responses: { 204: { description: "Deleted." } },
  errors: [403, 404],
  async handle({ user, params }) {
    const c = await category({ slug: params.slug });
    if (!c) throw problems.notFound("No such category.");
    allow(user!, "category.delete");
    await categories.remove([c.id], user!);
    return { status: 204 };
  },
});

// ------------------------------------------------------------------------------ tags

const tags = savesOf("blog_tag");

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

const getTag = endpoint({
  operationId: "getTag",
  method: "get",
  path: "/tags/{slug}",
  summary: "One tag",
  tags: ["tags"],
  auth: "public",
  params: slugParams,
  responses: { 200: { description: "The tag.", schema: Tag, headers: { ETag: "The tag's version." } } },
  errors: [404],
  async handle({ params, user }) {
    const t = await tag({ slug: params.slug }, user);
    if (!t) throw problems.notFound("No such tag.");
    return { body: t.resource, etag: String(t.resource.version) };
  },
});

const createTag = endpoint({
  operationId: "createTag",
  method: "post",
  path: "/tags",
  summary: "Create a tag",
  description:
    "Authors, editors and admins (tag.create: an author may create tags for their posts). A name holds no comma; a slug already used is a 400 on `slug`.",
  tags: ["tags"],
  auth: "user",
  body: TagCreate,
  responses: { 201: { description: "The new tag.", schema: Tag, headers: { Location: "The tag's URL.", ETag: "Its version." } } },
  errors: [403],
  async handle({ user, body }) {
    allow(user!, "tag.create");
    const saved = await tags.create({ name: body.name, slug: body.slug ?? "" }, user!).catch((e: unknown) => saveProblem(e, async () => null));
    // the creator sees it whatever their role: it is theirs to know, though no post carries it yet
    const t = (await tag({ id: saved.id }, "all"))!;
    return { status: 201, body: t.resource, etag: String(t.resource.version), headers: { Location: url("api:getTag", { slug: t.resource.slug }) } };
  },
});

const updateTag = endpoint({
  operationId: "updateTag",
  method: "patch",
  path: "/tags/{slug}",
  summary: "Change a tag",
  description: 'Editors and admins. Send If-Match: "<version>" (the ETag read): 428 without it, 412 (with the current tag) when it changed since.',
  tags: ["tags"],
  auth: "user",
  params: slugParams,
  body: TagChange,
  responses: { 200: { description: "The tag as saved.", schema: Tag, headers: { ETag: "Its new version." } } },
  errors: [403, 404, 412, 428],
  async handle({ user, params, body, req }) {
    const t = await tag({ slug: params.slug }, user);
    if (!t) throw problems.notFound("No such tag.");
    allow(user!, "tag.change");
    const version = requireVersion(req, t.resource);
    const obj = await tags.load(t.id);
    if (!obj) throw problems.notFound("No such tag.");
    const current = async () => (await tag({ id: t.id }, user))?.resource ?? null;
    await tags.update(obj, { ...obj.values, ...body }, user!, version).catch((e: unknown) => saveProblem(e, current));
    const now = (await current())!;
    return { body: now, etag: String(now.version) };
  },
});

const deleteTag = endpoint({
  operationId: "deleteTag",
  method: "delete",
  path: "/tags/{slug}",
  summary: "Delete a tag",
  description: "Editors and admins. The tag is taken off its posts (the posts stay).",
  tags: ["tags"],
  auth: "user",
  params: slugParams,
  responses: { 204: { description: "Deleted." } },
  errors: [403, 404],
  async handle({ user, params }) {
    const t = await tag({ slug: params.slug }, user);
    if (!t) throw problems.notFound("No such tag.");
    allow(user!, "tag.delete");
    await tags.remove([t.id], user!);
    return { status: 204 };
  },
});

export const endpoints: Endpoint[] = [
  listCategories,
  getCategory,
  createCategory,
  updateCategory,
  deleteCategory,
  listTags,
  getTag,
  createTag,
  updateTag,
  deleteTag,
];
