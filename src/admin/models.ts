// The registrations: Post, Category, Tag and User, each a declarative config plus small hooks.
// Adding a model means adding one more site.register({...}) here.
import { prisma, Prisma } from "../db/index.ts";
import { canAll, maySetPostField, rolesWith } from "../accounts/permissions.ts";
import { PostStatus, Role } from "../generated/prisma/client.ts";
import {
  ConflictError,
  EXCERPT_RULE,
  PUBLISH_RULE,
  PostNotFoundError,
  PostPermissionError,
  SlugTakenError,
  createPost,
  deletePosts,
  getPostWithTags,
  publishTimeSet,
  setPostsStatus,
  updatePost,
  type PostInput,
} from "../posts/service.ts";
import { conflictMessage, StaleVersionError, updateAtVersion, type VersionedModel } from "../db/versioned.ts";
import { changedFields, recordAction, recordActions } from "../audit/index.ts";
import { ConflictErrors, FormErrors, site, type AdminObject, type BulkAction, type ModelHooks } from "./site.ts";
import { slugify } from "../blog/markdown.ts";
import { caches, invalidate } from "../cache/index.ts";
import { forbidden } from "../web/errors.ts";
import { formatCount, POST_BODY_MAX } from "../web/limits.ts";

const STATUS_CHOICES = [
  { value: "DRAFT", label: "Draft" },
  { value: "PUBLISHED", label: "Published" },
];
const ROLE_CHOICES = [
  { value: "READER", label: "Reader" },
  { value: "AUTHOR", label: "Author" },
  { value: "EDITOR", label: "Editor" },
  { value: "ADMIN", label: "Admin" },
];

// Choice lists (categories, tags, authors) for filters and selects: cached for a few seconds per
// process (admin.choices in src/cache/index.ts) and dropped on every write, so the change list does
// not pay two queries per view.
const cachedChoices = (key: "category" | "tag" | "author", load: () => Promise<{ value: string; label: string }[]>) => () => caches.adminChoices.fetch(key, load);
// categories/tags/authors show on posts: drop the reader caches too, in every process
const afterWrite = () => void invalidate("taxonomy", "posts");

const categoryChoices = cachedChoices("category", async () =>
  (await prisma.category.findMany({ select: { id: true, name: true }, orderBy: { name: "asc" }, take: 500 })).map((c) => ({ value: String(c.id), label: c.name })));
const authorChoices = cachedChoices("author", async () =>
  (
    await prisma.user.findMany({
      where: { role: { in: rolesWith("post.create") } },
      select: { id: true, username: true },
      orderBy: { username: "asc" },
      take: 200,
    })
  ).map((u) => ({ value: String(u.id), label: u.username })));

function uniqueTarget(e: unknown): string[] | null {
  if (!(e instanceof Prisma.PrismaClientKnownRequestError) || e.code !== "P2002") return null;
  const t = (e.meta?.target ?? (e.meta as { driverAdapterError?: { cause?: { constraint?: { fields?: string[] } } } })?.driverAdapterError?.cause?.constraint?.fields) as
    | string[]
    | string
    | undefined;
  return Array.isArray(t) ? t.map((x) => x.replace(/"/g, "")) : typeof t === "string" ? [t] : [];
}

// ---------------------------------------------------------------- Post

function postInput(data: Record<string, unknown>, fallbackAuthor: number): PostInput {
  return {
    title: data.title as string,
    slug: (data.slug as string) || slugify(data.title as string),
    body: (data.body as string) ?? "",
    excerpt: (data.excerpt as string) ?? "",
    metaDescription: (data.metaDescription as string) ?? "",
    status: data.status as PostStatus,
    // A Date: the time the writer chose; null: none (the field left empty, as it is shown for a draft
    // whose time was never set). The rule itself is the posts service's publishTime().
    publish: data.publish instanceof Date ? data.publish : null,
    // who may give a post to another author is the posts service's check (maySetPostField): a field the form hides is not in `data`
    authorId: typeof data.authorId === "number" ? data.authorId : fallbackAuthor,
    categoryId: data.categoryId === null || data.categoryId === undefined || data.categoryId === "" ? null : Number(data.categoryId),
    // by name: existing tags matched, new ones created in the save's transaction if the user may (tag.create)
    tagNames: (data.tags as string[] | undefined) ?? [],
  };
}

async function checkPostRefs(input: PostInput): Promise<void> {
  const errors: Record<string, string> = {};
  const author = await prisma.user.findUnique({ where: { id: input.authorId }, select: { role: true, isActive: true } });
  if (!author || !author.isActive || !rolesWith("post.create").includes(author.role)) errors.authorId = "Choose an active author, editor or admin.";
  if (input.categoryId !== null && !(await prisma.category.findUnique({ where: { id: input.categoryId }, select: { id: true } }))) errors.categoryId = "Select a valid category.";
  if (Object.keys(errors).length) throw new FormErrors(errors);
}

function mapPostErrors(e: unknown): never {
  if (e instanceof SlugTakenError) throw new FormErrors({ slug: e.message });
  // the declared rule refused a field (status, publish, authorId, tags: the form's names too); the post itself stays a 403
  if (e instanceof PostPermissionError && e.field) throw new FormErrors({ [e.field]: e.message });
  if (e instanceof ConflictError) {
    const c = e.current;
    throw new ConflictErrors(
      { title: c.title, slug: c.slug, body: c.body, excerpt: c.excerpt, metaDescription: c.metaDescription, status: c.status, publish: publishTimeSet(c) ? c.publish : null, authorId: c.authorId, categoryId: c.categoryId, tags: c.tagNames },
      c.version,
      e.message,
    );
  }
  throw e;
}

const postHooks: ModelHooks = {
  async load(id) {
    const p = await getPostWithTags(id);
    if (!p) return null;
    return {
      id: p.id,
      repr: p.title,
      authorId: p.authorId,
      version: p.version,
      // publish: empty (null) while the writer never set it, so that saving the form unchanged does not "choose" it
      values: { title: p.title, slug: p.slug, authorId: p.authorId, categoryId: p.categoryId, tags: p.tagNames, body: p.body, excerpt: p.excerpt, metaDescription: p.metaDescription, status: p.status, publish: publishTimeSet(p) ? p.publish : null },
      readOnly: { createdAt: p.createdAt, updatedAt: p.updatedAt, version: p.version, publishDate: p.publishDate, status: p.status, slug: p.slug },
    };
  },
  async create(data, user) {
    const input = postInput(data, user.id);
    await checkPostRefs(input);
    try {
      const p = await createPost(input, user);
      return { id: p.id, repr: p.title };
    } catch (e) {
      return mapPostErrors(e);
    }
  },
  async update(obj, data, user, version) {
    const input = postInput(data, obj.authorId!);
    await checkPostRefs(input);
    try {
      const p = await updatePost(obj.id, version ?? obj.version ?? 0, input, user);
      return { id: p.id, repr: p.title };
    } catch (e) {
      if (e instanceof PostNotFoundError) throw new FormErrors({ __all__: "This post was deleted meanwhile." });
      return mapPostErrors(e);
    }
  },
  remove: (ids, user) => deletePosts(ids, user),
  async cascades(ids) {
    const [revs, tags] = await Promise.all([prisma.postRevision.count({ where: { postId: { in: ids } } }), prisma.postTag.count({ where: { postId: { in: ids } } })]);
    return [`${revs} revision${revs === 1 ? "" : "s"}`, `${tags} tag link${tags === 1 ? "" : "s"}`];
  },
};

const statusAction = (name: string, label: string, status: PostStatus, done: string): BulkAction => ({
  name,
  label,
  permission: "post.publish",
  done,
  describe:
    status === "PUBLISHED"
      ? "These posts will be published. A draft whose publish time was never set takes the current time; a time the writer chose stays (a future one stays scheduled)."
      : "These posts will be moved back to draft and leave the site.",
  async run(ids, user) {
    const r = await setPostsStatus(ids.map((id) => ({ id, status })), user);
    return { count: r.changed, refused: r.refused.map((x) => `“${x.title}”: ${x.reason}`) };
  },
});

site.register({
  app: "blog",
  model: "post",
  verboseName: "post",
  verboseNamePlural: "posts",
  perm: "post",
  sql: {
    from: `"Post" p`,
    joins: `JOIN "User" u ON u.id = p."authorId" LEFT JOIN "Category" c ON c.id = p."categoryId"`,
    pk: "p.id",
    repr: "p.title",
    owner: `p."authorId"`,
    version: "p.version",
  },
  list: {
    columns: [
      { name: "title", label: "Title", sql: "p.title", sort: "p.title", link: true },
      { name: "author", label: "Author", sql: "u.username", sort: "u.username", joined: true },
      { name: "category", label: "Category", sql: "c.name", sort: "c.name", joined: true },
      { name: "status", label: "Status", sql: "p.status", sort: "p.status", format: "status" },
      // A draft whose time was never set shows none ("—"): it takes the moment it is published.
      { name: "publish", label: "Publish", sql: `CASE WHEN p."publishPinned" OR p.status = 'PUBLISHED' THEN p.publish END`, sort: "p.publish", format: "datetime" },
      { name: "updated", label: "Updated", sql: `p."updatedAt"`, sort: `p."updatedAt"`, format: "datetime" },
    ],
    filters: [
      { param: "status__exact", label: "Status", kind: "choice", sql: "p.status", choices: STATUS_CHOICES, type: "string" },
      { param: "category__id__exact", label: "Category", kind: "choice", sql: `p."categoryId"`, choices: categoryChoices, type: "int" },
      { param: "author__id__exact", label: "Author", kind: "choice", sql: `p."authorId"`, choices: authorChoices, type: "int", visible: (u) => canAll(u, "post.view") },
      { param: "publish", label: "Publish date", kind: "date", sql: "p.publish" },
      { param: "created", label: "Created", kind: "date", sql: `p."createdAt"` },
    ],
    search: {
      fields: ["p.title"],
      fullText: { vector: `p."searchVector"`, config: "english" },
      help: "Full-text search in title, excerpt and body, ranked; when no post matches the words, titles containing the text.",
    },
    ordering: "-publish",
    dateHierarchy: { param: "publish", sql: "p.publish", label: "Publish date" },
    editable: ["status"],
    perPage: 50,
  },
  scope: (user, start) => (canAll(user, "post.view") ? null : { sql: `p."authorId" = $${start}`, params: [user.id] }),
  form: {
    fields: [
      { name: "title", label: "Title", widget: "text", required: true, maxLength: 250 },
      { name: "slug", label: "Slug", widget: "slug", maxLength: 250, prepopulateFrom: "title", help: "The last part of the post's URL; unique per publish date. Left empty, it is made from the title." },
      { name: "authorId", label: "Author", widget: "fk", required: true, fk: { model: "accounts_user", picker: "autocomplete" }, visible: (u) => maySetPostField(u, "authorId", null) },
      { name: "categoryId", label: "Category", widget: "select", choices: categoryChoices },
      { name: "tags", label: "Tags", widget: "tags", help: "Type to find a tag: arrow keys and Enter pick it, a name not yet used creates a new tag. Without the suggestions, type names separated by commas." },
      { name: "body", label: "Body", widget: "markdown", maxLength: POST_BODY_MAX, help: `Markdown, at most ${formatCount(POST_BODY_MAX)} characters. The preview is rendered by the server exactly as the site will show it.` },
      { name: "excerpt", label: "Excerpt", widget: "textarea", maxLength: 1000, help: EXCERPT_RULE },
      { name: "metaDescription", label: "Meta description", widget: "text", maxLength: 300, help: "For search engines and link previews." },
      { name: "status", label: "Status", widget: "select", required: true, choices: STATUS_CHOICES },
      { name: "publish", label: "Publish (UTC)", widget: "datetime", help: PUBLISH_RULE, emptyText: "Not set: the post takes the moment it is published." },
    ],
    readOnly: [
      { name: "createdAt", label: "Created", format: "datetime" },
      { name: "updatedAt", label: "Updated", format: "datetime" },
      { name: "version", label: "Version" },
    ],
  },
  actions: [
    statusAction("publish", "Publish selected posts", "PUBLISHED", "published"),
    statusAction("unpublish", "Unpublish selected posts (back to draft)", "DRAFT", "unpublished"),
    { name: "delete", label: "Delete selected posts", permission: "post.delete", done: "deleted", describe: "These posts, their revisions and tag links will be deleted. This cannot be undone.", danger: true, run: (ids, user) => deletePosts(ids, user) },
  ],
  hooks: postHooks,
  revisions: true,
});

// ---------------------------------------------------------------- Generic Prisma-backed hooks

type Delegate = {
  findUnique(a: unknown): Promise<Record<string, unknown> | null>;
  findMany(a: unknown): Promise<Record<string, unknown>[]>;
  create(a: unknown): Promise<Record<string, unknown>>;
  deleteMany(a: unknown): Promise<{ count: number }>;
};

/**
 * Hooks for a plain model: load/create/update/delete through its Prisma delegate, with audit entries.
 * Every such model has a `version` column: a change is saved only over the version its form was made
 * from (the one version check, src/db/versioned.ts, as for posts), else the form's conflict page.
 */
function prismaHooks(opts: {
  delegate: Exclude<VersionedModel, "post">;
  /** "category": for the conflict message. */
  noun: string;
  audit: string;
  fields: string[];
  readOnly?: string[];
  repr: (o: Record<string, unknown>) => string;
  cascades?: (ids: number[]) => Promise<string[]>;
  prepare?: (data: Record<string, unknown>) => Record<string, unknown>;
}): ModelHooks {
  const d = () => (prisma as unknown as Record<string, Delegate>)[opts.delegate]!;
  const toErrors = (e: unknown): never => {
    const target = uniqueTarget(e);
    if (target) {
      const field = opts.fields.find((f) => target.includes(f)) ?? "__all__";
      throw new FormErrors({ [field]: "This value is already used; choose another." });
    }
    throw e;
  };
  const pick = (data: Record<string, unknown>) => {
    const p = opts.prepare ? opts.prepare(data) : data;
    return Object.fromEntries(opts.fields.filter((f) => f in p).map((f) => [f, p[f]]));
  };
  return {
    async load(id) {
      const o = await d().findUnique({ where: { id } });
      if (!o) return null;
      return {
        id,
        repr: opts.repr(o),
        version: Number(o.version),
        values: Object.fromEntries(opts.fields.map((f) => [f, o[f]])),
        readOnly: Object.fromEntries((opts.readOnly ?? []).map((f) => [f, o[f]])),
      } satisfies AdminObject;
    },
    async create(data, user) {
      try {
        return await prisma.$transaction(async (tx) => {
          const o = await (tx as unknown as Record<string, Delegate>)[opts.delegate]!.create({ data: pick(data) });
          await recordAction({ userId: user.id, action: "ADD", model: opts.audit, objectId: Number(o.id), objectRepr: opts.repr(o), changes: { added: true } }, tx);
          return { id: Number(o.id), repr: opts.repr(o) };
        }).finally(afterWrite);
      } catch (e) {
        return toErrors(e);
      }
    },
    async update(obj, data, user, version) {
      if (version === undefined) throw new FormErrors({ __all__: "The form is missing its version; reload the page." });
      try {
        return await prisma.$transaction(async (tx) => {
          const values = pick(data);
          const o = await updateAtVersion(tx, opts.delegate, obj.id, version, values);
          const changed = changedFields(obj.values, values, opts.fields);
          await recordAction({ userId: user.id, action: "CHANGE", model: opts.audit, objectId: obj.id, objectRepr: opts.repr(o), changes: { changed } }, tx);
          return { id: obj.id, repr: opts.repr(o) };
        }).finally(afterWrite);
      } catch (e) {
        if (e instanceof StaleVersionError) {
          if (!e.current) throw new FormErrors({ __all__: `This ${opts.noun} was deleted meanwhile.` });
          const now = e.current;
          throw new ConflictErrors(Object.fromEntries(opts.fields.map((f) => [f, now[f]])), Number(now.version), conflictMessage(opts.noun));
        }
        return toErrors(e);
      }
    },
    async remove(ids, user) {
      return prisma.$transaction(async (tx) => {
        const del = (tx as unknown as Record<string, Delegate>)[opts.delegate]!;
        const objs = await del.findMany({ where: { id: { in: ids } } });
        await del.deleteMany({ where: { id: { in: objs.map((o) => o.id) } } });
        await recordActions(objs.map((o) => ({ userId: user.id, action: "DELETE" as const, model: opts.audit, objectId: Number(o.id), objectRepr: opts.repr(o) })), tx);
        return objs.length;
      }).finally(afterWrite);
    },
    cascades: opts.cascades,
  };
}

const deleteAction = (plural: string, describe: string, permission: BulkAction["permission"], hooks: ModelHooks): BulkAction => ({
  name: "delete",
  label: `Delete selected ${plural}`,
  permission,
  done: "deleted",
  describe,
  danger: true,
  run: (ids, user) => hooks.remove(ids, user),
});

// ---------------------------------------------------------------- Category and Tag

const categoryHooks = prismaHooks({
  delegate: "category",
  noun: "category",
  audit: "blog.category",
  fields: ["name", "slug", "description"],
  repr: (o) => String(o.name),
  prepare: (d) => ({ ...d, slug: d.slug || slugify(String(d.name)) }),
  cascades: async (ids) => {
    const n = await prisma.post.count({ where: { categoryId: { in: ids } } });
    return [`${n} post${n === 1 ? "" : "s"} will lose their category (the posts stay)`];
  },
});
site.register({
  app: "blog",
  model: "category",
  verboseName: "category",
  verboseNamePlural: "categories",
  perm: "category",
  sql: { from: `"Category" c`, pk: "c.id", repr: "c.name", version: "c.version" },
  list: {
    columns: [
      { name: "name", label: "Name", sql: "c.name", sort: "c.name", link: true },
      { name: "slug", label: "Slug", sql: "c.slug", sort: "c.slug" },
      { name: "posts", label: "Posts", sql: `(SELECT count(*) FROM "Post" x WHERE x."categoryId" = c.id)`, format: "number" },
    ],
    filters: [],
    search: { fields: ["c.name", "c.slug"], help: "Search names and slugs." },
    ordering: "name",
    perPage: 100,
  },
  form: {
    fields: [
      { name: "name", label: "Name", widget: "text", required: true, maxLength: 100 },
      { name: "slug", label: "Slug", widget: "slug", maxLength: 100, prepopulateFrom: "name", help: "Left empty, it is made from the name." },
      { name: "description", label: "Description", widget: "textarea", maxLength: 2000 },
    ],
  },
  actions: [deleteAction("categories", "These categories will be deleted; their posts stay, without a category.", "category.delete", categoryHooks)],
  hooks: categoryHooks,
});

const tagHooks = prismaHooks({
  delegate: "tag",
  noun: "tag",
  audit: "blog.tag",
  fields: ["name", "slug"],
  repr: (o) => String(o.name),
  prepare: (d) => ({ ...d, slug: d.slug || slugify(String(d.name)) }),
  cascades: async (ids) => {
    const n = await prisma.postTag.count({ where: { tagId: { in: ids } } });
    return [`${n} tag link${n === 1 ? "" : "s"} on posts (the posts stay)`];
  },
});
site.register({
  app: "blog",
  model: "tag",
  verboseName: "tag",
  verboseNamePlural: "tags",
  perm: "tag",
  sql: { from: `"Tag" t`, pk: "t.id", repr: "t.name", version: "t.version" },
  list: {
    columns: [
      { name: "name", label: "Name", sql: "t.name", sort: "t.name", link: true },
      { name: "slug", label: "Slug", sql: "t.slug", sort: "t.slug" },
      { name: "posts", label: "Posts", sql: `(SELECT count(*) FROM "PostTag" x WHERE x."tagId" = t.id)`, format: "number" },
    ],
    filters: [],
    search: { fields: ["t.name", "t.slug"], help: "Search names and slugs." },
    ordering: "name",
    perPage: 100,
  },
  form: {
    fields: [
      { name: "name", label: "Name", widget: "text", required: true, maxLength: 100 },
      { name: "slug", label: "Slug", widget: "slug", maxLength: 100, prepopulateFrom: "name", help: "Left empty, it is made from the name." },
    ],
  },
  actions: [deleteAction("tags", "These tags will be deleted and removed from their posts.", "tag.delete", tagHooks)],
  hooks: tagHooks,
});

// ---------------------------------------------------------------- User

const userHooks = prismaHooks({
  delegate: "user",
  noun: "user",
  audit: "accounts.user",
  fields: ["username", "email", "firstName", "lastName", "role", "isActive", "bio"],
  readOnly: ["dateJoined", "lastLogin"],
  repr: (o) => String(o.username),
  prepare: (d) => ({ ...d, email: typeof d.email === "string" ? d.email.toLowerCase() : d.email }),
  cascades: async (ids) => {
    const n = await prisma.post.count({ where: { authorId: { in: ids } } });
    return [`${n} post${n === 1 ? "" : "s"} written by them (deleted with their revisions)`];
  },
});
// An admin cannot lock themselves out from here (demote or deactivate their own account).
const userUpdate = userHooks.update;
userHooks.update = async (obj, data, user, version) => {
  if (obj.id === user.id && (data.role !== "ADMIN" || data.isActive === false))
    throw new FormErrors({ role: "You cannot remove your own admin role or deactivate yourself; ask another admin." });
  return userUpdate(obj, data, user, version);
};
const userRemove = userHooks.remove;
userHooks.remove = async (ids, user) => {
  if (ids.includes(user.id)) throw forbidden("You cannot delete your own account here.");
  return userRemove(ids, user);
};

site.register({
  app: "accounts",
  model: "user",
  verboseName: "user",
  verboseNamePlural: "users",
  perm: "user",
  sql: { from: `"User" u`, pk: "u.id", repr: "u.username", version: "u.version" },
  list: {
    columns: [
      { name: "username", label: "Username", sql: "u.username", sort: "u.username", link: true },
      { name: "email", label: "E-mail", sql: "u.email", sort: "u.email" },
      { name: "name", label: "Name", sql: `trim(u."firstName" || ' ' || u."lastName")`, sort: `u."lastName"` },
      { name: "role", label: "Role", sql: "u.role", sort: "u.role" },
      { name: "isActive", label: "Active", sql: `u."isActive"`, sort: `u."isActive"`, format: "bool" },
      { name: "dateJoined", label: "Joined", sql: `u."dateJoined"`, sort: `u."dateJoined"`, format: "date" },
    ],
    filters: [
      { param: "role__exact", label: "Role", kind: "choice", sql: "u.role::text", choices: ROLE_CHOICES, type: "string" },
      { param: "is_active__exact", label: "Active", kind: "choice", sql: `u."isActive"`, choices: [{ value: "1", label: "Yes" }, { value: "0", label: "No" }], type: "bool" },
      { param: "joined", label: "Date joined", kind: "date", sql: `u."dateJoined"` },
    ],
    search: { fields: ["u.username", "u.email", `u."firstName"`, `u."lastName"`], help: "Search usernames, e-mail addresses and names." },
    ordering: "username",
    editable: ["role"],
    perPage: 100,
  },
  form: {
    fields: [
      { name: "username", label: "Username", widget: "text", required: true, maxLength: 150 },
      { name: "email", label: "E-mail", widget: "email", required: true, maxLength: 254 },
      { name: "firstName", label: "First name", widget: "text", maxLength: 150 },
      { name: "lastName", label: "Last name", widget: "text", maxLength: 150 },
      { name: "role", label: "Role", widget: "select", required: true, choices: ROLE_CHOICES, help: "Authors write posts; editors manage all posts, categories and tags; admins also manage users." },
      { name: "isActive", label: "Active", widget: "checkbox", help: "Unticked, the account cannot log in (safer than deleting it)." },
      { name: "bio", label: "Bio", widget: "textarea", maxLength: 2000 },
    ],
    readOnly: [
      { name: "dateJoined", label: "Joined", format: "datetime" },
      { name: "lastLogin", label: "Last login", format: "datetime" },
    ],
  },
  actions: [deleteAction("users", "These accounts will be deleted, with the posts they wrote. Consider deactivating instead.", "user.delete", userHooks)],
  hooks: userHooks,
});

export { site, Role, STATUS_CHOICES };
