// The registrations: Post, Category, Tag and User, each a declarative config plus small hooks.
// Adding a model means adding one more site.register({...}) here.
import type { Request, Response } from "express";
import { diffLines, diffWords } from "diff";
import { z } from "zod";
import { prisma } from "../db/index.ts";
import { can, canAll, maySetPostField, rolesWith } from "../accounts/permissions.ts";
import { createUser, deleteUsers, updateUser, USER } from "../accounts/service.ts";
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
  listRevisions,
  restoreRevision,
  ReferenceGoneError,
  slugClash,
  type PostInput,
} from "../posts/service.ts";
import { conflictMessage, type VersionedModel } from "../db/versioned.ts";
import { AltTextMissingError, altProblems, altWarning } from "../media/alt-check.ts";
import { FieldErrors, NotFoundError, StaleVersionError } from "../db/saves.ts";
import { CATEGORY, createCategory, createTag, deleteCategories, deleteTags, TAG, updateCategory, updateTag } from "../taxonomy/service.ts";
import { changeMessage } from "../audit/index.ts";
import { authorize, currentUser, type AdminUser } from "./auth.ts";
import {
  auditModelOf,
  ConflictErrors,
  fieldLabelOf,
  FormErrors,
  site,
  type AdminObject,
  type BulkAction,
  type FormButton,
  type ImageChoice,
  type ModelHooks,
} from "./site.ts";
import { MEDIA_SELECT, toMediaItem, type MediaItem } from "../media/index.ts";
import { searchWhere } from "../media/library.ts";
import { thumbnailOf } from "./media.ts";
import { previewContext } from "../previews/index.ts";
import { config } from "../config.ts";
import { parseDatetimeLocal, type TagsValue } from "./forms.ts";
import { userPassword } from "./password.ts";
import { userInvite } from "./user-invite.ts";
import { awaitsPassword } from "../accounts/invite.ts";
import { editorContext } from "../autosave/editor.ts";
import { dayString, idString, isSlug, searchText } from "../web/inputs.ts";
import { url } from "../web/urls.ts";
import { slugify } from "../blog/markdown.ts";
import { postUrl } from "../blog/queries.ts";
import { caches } from "../cache/index.ts";
import { badRequest, forbidden, notFound } from "../web/errors.ts";
import { formatCount, POST_BODY_MAX } from "../web/limits.ts";
import { isLive } from "../posts/visibility.ts";

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
const cachedChoices = (key: "category" | "tag" | "author", load: () => Promise<{ value: string; label: string }[]>) => () =>
  caches.adminChoices.fetch(key, load);

const categoryChoices = cachedChoices("category", async () =>
  (await prisma.category.findMany({ select: { id: true, name: true }, orderBy: { name: "asc" }, take: 500 })).map((c) => ({
    value: String(c.id),
    label: c.name,
  })),
);
const authorChoices = cachedChoices("author", async () =>
  (
    await prisma.user.findMany({
      where: { role: { in: rolesWith("post.create") } },
      select: { id: true, username: true },
      orderBy: { username: "asc" },
      take: 200,
    })
  ).map((u) => ({ value: String(u.id), label: u.username })),
);

// ---------------------------------------------------------------- Post

function postInput(data: Record<string, unknown>, fallbackAuthor: number): PostInput {
  return {
    title: data.title as string,
    slug: (data.slug as string) || slugify(data.title as string),
    body: (data.body as string) ?? "",
    excerpt: (data.excerpt as string) ?? "",
    metaTitle: (data.metaTitle as string) ?? "",
    metaDescription: (data.metaDescription as string) ?? "",
    // a Media id (checked by checkPostRefs) or null: none
    featuredImageId: typeof data.featuredImageId === "number" ? data.featuredImageId : null,
    status: data.status as PostStatus,
    // A Date: the time the writer chose; null: none (the field left empty, as it is shown for a draft
    // whose time was never set). The rule itself is the posts service's publishTime().
    publish: data.publish instanceof Date ? data.publish : null,
    // who may give a post to another author is the posts service's check (maySetPostField): a field the form hides is not in `data`
    authorId: typeof data.authorId === "number" ? data.authorId : fallbackAuthor,
    categoryId: data.categoryId === null || data.categoryId === undefined || data.categoryId === "" ? null : Number(data.categoryId),
    // existing tags by id (inline edits, bulk actions and restores pass the stored ids unchanged); names
    // only for tags typed to add: matched by name, new ones created in the save's transaction (tag.create)
    tagIds: (data.tags as TagsValue | undefined)?.ids ?? [],
    tagNames: (data.tags as TagsValue | undefined)?.names ?? [],
  };
}

async function checkPostRefs(input: PostInput): Promise<void> {
  const errors: Record<string, string> = {};
  const author = await prisma.user.findUnique({ where: { id: input.authorId }, select: { role: true, isActive: true } });
  if (!author || !author.isActive || !rolesWith("post.create").includes(author.role)) errors.authorId = "Choose an active author, editor or admin.";
  if (input.categoryId !== null && !(await prisma.category.findUnique({ where: { id: input.categoryId }, select: { id: true } })))
    errors.categoryId = "Select a valid category.";
  if (input.featuredImageId != null && !(await prisma.media.findUnique({ where: { id: input.featuredImageId }, select: { id: true } })))
    errors.featuredImageId = "That image is not in the library (any more): choose another.";
  if (Object.keys(errors).length) throw new FormErrors(errors);
}

function mapPostErrors(e: unknown): never {
  if (e instanceof SlugTakenError) throw new FormErrors({ slug: e.message });
  if (e instanceof AltTextMissingError) throw new FormErrors(e.fields); // body / featuredImageId (src/media/alt-check.ts)
  if (e instanceof ReferenceGoneError) throw new FormErrors({ [e.field]: e.message }); // an image (or the category, the author) deleted meanwhile
  // the declared rule refused a field (status, publish, authorId, tags: the form's names too); the post itself stays a 403
  if (e instanceof PostPermissionError && e.field) throw new FormErrors({ [e.field]: e.message });
  if (e instanceof ConflictError) {
    const c = e.current;
    throw new ConflictErrors(
      {
        title: c.title,
        slug: c.slug,
        body: c.body,
        excerpt: c.excerpt,
        metaTitle: c.metaTitle,
        metaDescription: c.metaDescription,
        featuredImageId: c.featuredImageId,
        status: c.status,
        publish: publishTimeSet(c) ? c.publish : null,
        authorId: c.authorId,
        categoryId: c.categoryId,
        tags: { ids: c.tagIds, names: [] },
      },
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
      values: {
        title: p.title,
        slug: p.slug,
        authorId: p.authorId,
        categoryId: p.categoryId,
        tags: { ids: p.tagIds, names: [] } satisfies TagsValue,
        body: p.body,
        excerpt: p.excerpt,
        metaTitle: p.metaTitle,
        metaDescription: p.metaDescription,
        featuredImageId: p.featuredImageId,
        status: p.status,
        publish: publishTimeSet(p) ? p.publish : null,
      },
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
    const [revs, tags] = await Promise.all([
      prisma.postRevision.count({ where: { postId: { in: ids } } }),
      prisma.postTag.count({ where: { postId: { in: ids } } }),
    ]);
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
    const r = await setPostsStatus(
      ids.map((id) => ({ id, status })),
      user,
    );
    return { count: r.changed, refused: r.refused.map((x) => `“${x.title}”: ${x.reason}`) };
  },
});

/** The slug widget's check (the Post admin's own endpoint): is this slug free on that publish day? */
const slugCheckQuery = z.object({
  slug: z.string().max(250),
  publish: z.string().max(40).optional(),
  id: idString().optional(),
});

/** A writers' endpoint (post.create: the editor's widgets): the signed-in writer and the parsed query (a bad one: 400). */
function writerQuery<T extends z.ZodType>(req: Request, schema: T, message: string, fields: Record<string, string>): { u: AdminUser; query: z.infer<T> } {
  const u = currentUser(req);
  if (!u) throw forbidden();
  authorize(u, "post.create");
  const r = schema.safeParse(req.query);
  if (!r.success) throw badRequest(message, fields);
  return { u, query: r.data };
}

async function slugCheck(req: Request, res: Response) {
  const { u, query } = writerQuery(req, slugCheckQuery, "Invalid slug check.", { slug: "Invalid input." });
  const { slug, publish, id } = query;
  if (!isSlug(slug)) return res.json({ ok: false, message: "Use lowercase letters, digits and hyphens." });
  const when = (publish && parseDatetimeLocal(publish)) || new Date();
  const clash = await slugClash(prisma, slug, when, id);
  const day = dayString(when);
  // Another author's draft or scheduled post is not the asker's to know about: for someone who
  // cannot see every post, such a clash answers exactly like a free slug (issue 9, privacy).
  const seesAll = canAll(u, "post.view");
  const visible = clash && (isLive(clash) || can(u, "post.view", clash));
  if (visible) return res.json({ ok: false, message: `Already used by another post published on ${day}.` });
  res.json({ ok: true, message: seesAll ? `Available on ${day}.` : `No post you can see uses it on ${day}.` });
}

// ---------------------------------------------------------------- the editor's featured-image picker

/** Images a page of the picker lists. */
const MEDIA_PAGE = 24;
const THUMB_WIDTH = 240;

/** A library image as the picker shows it: the media library's thumbnail (a WebP at least THUMB_WIDTH wide, else the original), the image's size. */
function imageChoice(m: MediaItem): ImageChoice {
  const t = thumbnailOf(m, THUMB_WIDTH);
  return { id: m.id, thumbnail: t.src, alt: m.alt, filename: m.filename, width: m.width, height: m.height };
}

async function describeImage(id: number): Promise<ImageChoice | null> {
  const m = await prisma.media.findUnique({ where: { id }, select: MEDIA_SELECT });
  return m && imageChoice(toMediaItem(m));
}

const mediaChoicesQuery = z.object({
  q: z.string().max(200).optional(),
  page: z
    .string()
    .regex(/^[1-9]\d{0,3}$/)
    .optional(),
  id: idString().optional(),
});

/**
 * The featured-image picker's library (GET ?q=&page=): newest first, searched in file names and alt
 * texts (the media library's search); { results: ImageChoice[], page, hasMore }. GET ?id=: that one image
 * (results: [] when it is gone), for a featured image an autosave restored into the form. For every writer (post.create): the library is the
 * site's, shared by its writers (its files are public once a post shows them).
 */
async function mediaChoices(req: Request, res: Response) {
  const { query } = writerQuery(req, mediaChoicesQuery, "Invalid image search.", {
    q: "Give the text once, at most 200 characters; page: a number from 1; id: an image's id.",
  });
  if (query.id !== undefined) {
    const one = await describeImage(query.id);
    return res.json({ results: one ? [one] : [], page: 1, hasMore: false });
  }
  const q = searchText(query.q ?? "");
  const page = Number(query.page ?? 1);
  const rows = await prisma.media.findMany({
    where: searchWhere(q),
    select: MEDIA_SELECT,
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    skip: (page - 1) * MEDIA_PAGE,
    take: MEDIA_PAGE + 1,
  });
  res.json({ results: rows.slice(0, MEDIA_PAGE).map((r) => imageChoice(toMediaItem(r))), page, hasMore: rows.length > MEDIA_PAGE });
}

// ---------------------------------------------------------------- the editor's buttons (Publish, Schedule, Unpublish)

const storedStatus = (obj: AdminObject | null) => (obj ? String(obj.values.status) : "DRAFT");
const isFuture = (d: unknown) => d instanceof Date && d.getTime() > Date.now();
const POST_BUTTONS: FormButton[] = [
  {
    name: "_publish",
    label: "Publish",
    values: { status: "PUBLISHED" },
    shown: (obj) => storedStatus(obj) === "DRAFT",
    check: (d) => (isFuture(d.publish) ? { publish: "This time is in the future: press Schedule, or empty the time to publish now." } : null),
  },
  {
    name: "_schedule",
    label: "Schedule",
    values: { status: "PUBLISHED" },
    shown: (obj) => storedStatus(obj) === "DRAFT",
    check: (d) => (isFuture(d.publish) ? null : { publish: "To schedule the post, choose a publish time in the future." }),
  },
  { name: "_unpublish", label: "Unpublish", values: { status: "DRAFT" }, shown: (obj) => storedStatus(obj) === "PUBLISHED" },
];

/** Long unchanged stretches of a line diff shrink to 2 lines of context each side and a "N unchanged lines" marker. */
function collapseUnchanged(parts: { value: string; added?: boolean; removed?: boolean }[], context = 2) {
  const out: { value: string; added?: boolean; removed?: boolean; skipped?: number }[] = [];
  parts.forEach((p, i) => {
    if (p.added || p.removed) return out.push(p);
    const lines = p.value.split("\n");
    if (lines[lines.length - 1] === "") lines.pop();
    const head = i === 0 ? 0 : context;
    const tail = i === parts.length - 1 ? 0 : context;
    if (lines.length <= head + tail + 1) return out.push(p);
    if (head) out.push({ value: lines.slice(0, head).join("\n") + "\n" });
    out.push({ value: "", skipped: lines.length - head - tail });
    if (tail) out.push({ value: lines.slice(-tail).join("\n") + "\n" });
  });
  return out;
}

/** The history page's revisions of a post: each diffed against the current text. */
async function postRevisions(id: number, current: Record<string, unknown>) {
  const revs = await listRevisions(id);
  return revs.map((r, i) => ({
    id: r.id,
    createdAt: r.createdAt,
    username: r.user?.username ?? "—",
    status: r.status,
    title: r.title,
    isCurrent: i === 0 && r.body === current.body && r.title === current.title && r.status === current.status,
    titleParts: diffWords(r.title, String(current.title ?? "")),
    bodyParts: collapseUnchanged(diffLines(r.body, String(current.body ?? ""))),
  }));
}

async function restorePostRevision(id: number, rev: number, user: AdminUser): Promise<void> {
  try {
    await restoreRevision(id, rev, user);
  } catch (e) {
    if (e instanceof PostNotFoundError) throw notFound("No such revision.");
    if (e instanceof SlugTakenError || e instanceof ConflictError) throw badRequest(e.message);
    if (e instanceof PostPermissionError) throw forbidden(e.message);
    throw e;
  }
}

/**
 * The saved post's images without alt text, as the editor's warnings (a draft saves with them; publishing
 * is refused until they have alt text: src/media/alt-check.ts): { body, featured } messages, "" for none.
 */
async function storedAltWarnings(obj: AdminObject): Promise<{ body: string; featured: string }> {
  const used = await prisma.postMedia.findMany({ where: { postId: obj.id }, select: { mediaId: true } });
  const featured = typeof obj.values.featuredImageId === "number" ? obj.values.featuredImageId : null;
  const problems = await altProblems(
    used.map((u) => u.mediaId),
    featured,
    String(obj.values.body ?? ""),
  );
  return { body: altWarning(problems.filter((p) => p.where === "body")), featured: altWarning(problems.filter((p) => p.where === "featured")) };
}

/** Readers can see it now ("View on site"). */
const isLiveValues = (v: Record<string, unknown>) => v.status === "PUBLISHED" && v.publish instanceof Date && v.publish <= new Date();

const postOf = (obj: AdminObject) => ({ id: obj.id, updatedAt: obj.readOnly.updatedAt as Date, version: obj.version ?? 1 });

site.register({
  app: "blog",
  model: "post",
  verboseName: "post",
  verboseNamePlural: "posts",
  perm: "post",
  table: "Post",
  repr: "title",
  owner: "authorId",
  version: "version",
  list: {
    columns: [
      { field: "title", label: "Title", sort: true, link: true },
      { name: "author", field: "author__username", label: "Author", sort: true },
      { name: "category", field: "category__name", label: "Category", sort: true },
      { field: "status", label: "Status", sort: true, format: "status" },
      // Computed: a draft whose time was never set shows none ("—"): it takes the moment it is published.
      {
        name: "publish",
        label: "Publish",
        sql: `CASE WHEN p."publishPinned" OR p.status = 'PUBLISHED' THEN p.publish END`,
        sort: "publish",
        format: "datetime",
      },
      { name: "updated", field: "updatedAt", label: "Updated", sort: true, format: "datetime" },
    ],
    filters: [
      { field: "status", label: "Status", kind: "choice", choices: STATUS_CHOICES, type: "string" },
      { field: "category__id", label: "Category", kind: "choice", choices: categoryChoices, type: "int" },
      { field: "author__id", label: "Author", kind: "choice", choices: authorChoices, type: "int", visible: (u) => canAll(u, "post.view") },
      { field: "publish", label: "Publish date", kind: "date" },
      { field: "createdAt", param: "created", label: "Created", kind: "date" },
    ],
    search: {
      fields: ["title"],
      fullText: { vector: "searchVector", config: "english" },
      help: "Full-text search in title, excerpt and body, ranked; when no post matches the words, titles containing the text.",
    },
    ordering: "-publish",
    dateHierarchy: "publish",
    editable: ["status"],
    perPage: 50,
  },
  queryset: (user) => (canAll(user, "post.view") ? null : { authorId: user.id }),
  // Inline status edits and restores: setting the status is the post's own rule (POST_FIELDS).
  canEditField: (user, field, obj) => field !== "status" || maySetPostField(user, "status", obj),
  // A new post's publish time starts empty ("set when published"): a time is only fixed when the writer enters one.
  initialData: (user) => ({ status: "DRAFT", authorId: user.id, publish: null }),
  // Autosave, the offer of a newer autosave (not on a form shown again with errors), the sign-in dialog.
  // The editor (views/studio/editor.njk): autosave, the preview links, where body images are uploaded, the site's time zone.
  formContext: async (user, obj, values, fresh) => ({
    editor: await editorContext(user.id, obj ? postOf(obj) : null, values, fresh),
    preview: await previewContext(user, obj ? { id: obj.id } : null),
    studio: {
      timeZone: config.TIME_ZONE,
      live: !!obj && isLiveValues(obj.values),
      scheduled: !!obj && obj.values.status === "PUBLISHED" && isFuture(obj.values.publish),
      altWarnings: obj ? await storedAltWarnings(obj) : null,
    },
  }),
  revisions: { list: postRevisions, restore: restorePostRevision, fields: ["title", "body", "excerpt", "status"] },
  // Django's "View on site": a post readers can see now.
  objectLinks: (obj) =>
    isLiveValues(obj.values)
      ? [
          {
            label: "View on site",
            url: postUrl({ publish: obj.values.publish as Date, slug: String(obj.values.slug), publishDate: obj.readOnly.publishDate as Date | null }),
          },
        ]
      : [],
  urls: [
    { name: "admin:blog_post_slug_check", path: "/admin/blog/post/slug-check/", methods: ["get"], handler: slugCheck },
    { name: "admin:blog_post_media_choices", path: "/admin/blog/post/media-choices/", methods: ["get"], handler: mediaChoices },
  ],
  form: {
    // one editor for every writer (the author's /write/ pages lead here)
    template: "studio/editor.njk",
    buttons: POST_BUTTONS,
    sidebar: {
      heading: "Publishing",
      fields: ["status", "publish", "authorId", "categoryId", "tags", "featuredImageId", "slug", "excerpt", "metaTitle", "metaDescription"],
    },
    fields: [
      { name: "title", label: "Title", widget: "text", required: true, maxLength: 250, placeholder: "Post title" },
      {
        name: "slug",
        label: "Slug",
        widget: "slug",
        maxLength: 250,
        prepopulateFrom: "title",
        slugCheck: "admin:blog_post_slug_check",
        help: "The last part of the post's URL; unique per publish date. Left empty, it is made from the title.",
      },
      {
        name: "authorId",
        label: "Author",
        widget: "fk",
        required: true,
        fk: { model: "accounts_user", picker: "autocomplete" },
        visible: (u) => maySetPostField(u, "authorId", null),
      },
      { name: "categoryId", label: "Category", widget: "select", choices: categoryChoices },
      {
        name: "tags",
        label: "Tags",
        widget: "tags",
        help: "Type to find a tag: arrow keys and Enter pick it, a name not yet used creates a new tag. Without the suggestions, untick a tag to take it off and type new tag names separated by commas (a tag name holds no comma).",
      },
      {
        name: "body",
        label: "Body",
        widget: "markdown",
        maxLength: POST_BODY_MAX,
        upload: "media:upload",
        placeholder: "Write in Markdown. Drop or paste images here.",
        help: `Markdown, at most ${formatCount(POST_BODY_MAX)} characters. The preview is rendered by the server exactly as the site will show it.`,
      },
      { name: "excerpt", label: "Excerpt", widget: "textarea", maxLength: 1000, help: EXCERPT_RULE },
      {
        name: "featuredImageId",
        label: "Featured image",
        widget: "image",
        image: { choices: "admin:blog_post_media_choices", describe: describeImage },
        upload: "media:upload",
        help: "Shown on the post's card and page, and in link previews (og:image).",
      },
      {
        name: "metaTitle",
        label: "Meta title",
        widget: "text",
        maxLength: 300,
        help: "The title search engines and link previews show. Left empty, the post's title.",
      },
      {
        name: "metaDescription",
        label: "Meta description",
        widget: "text",
        maxLength: 300,
        help: "For search engines and link previews. Left empty, the excerpt.",
      },
      { name: "status", label: "Status", widget: "select", required: true, choices: STATUS_CHOICES },
      {
        name: "publish",
        label: `Publish (${config.TIME_ZONE})`,
        widget: "datetime",
        help: `${PUBLISH_RULE} The time is the site's (${config.TIME_ZONE}).`,
        emptyText: "Not set: the post takes the moment it is published.",
      },
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
    {
      name: "delete",
      label: "Delete selected posts",
      permission: "post.delete",
      done: "deleted",
      describe: "These posts, their revisions and tag links will be deleted. This cannot be undone.",
      danger: true,
      run: (ids, user) => deletePosts(ids, user),
    },
  ],
  hooks: postHooks,
});

// ---------------------------------------------------------------- Hooks over a feature's saves

type Delegate = { findUnique(a: unknown): Promise<Record<string, unknown> | null> };

/**
 * Hooks for a plain model: the feature's save functions (src/taxonomy/service.ts,
 * src/accounts/service.ts: the one save path, which the API calls too), their typed errors shown as
 * the form's: field errors on the fields, a stale version as the conflict page, a deleted object as
 * the form's error. Only load() (the form's values) is the admin's own.
 */
function savesHooks({
  spec,
  ...opts
}: {
  /** The model, its saved columns and its label (src/db/saves.ts). */
  spec: { model: VersionedModel; fields: string[]; repr: (o: Record<string, unknown>) => string };
  readOnly?: string[];
  cascades?: (ids: number[]) => Promise<string[]>;
  create: (data: Record<string, unknown>, user: AdminUser) => Promise<{ id: number; repr: string }>;
  update: (id: number, version: number, data: Record<string, unknown>, user: AdminUser) => Promise<{ id: number; repr: string }>;
  remove: (ids: number[], user: AdminUser) => Promise<number>;
}): ModelHooks {
  const asForm = (e: unknown): never => {
    if (e instanceof FieldErrors) throw new FormErrors(e.fields);
    if (e instanceof NotFoundError) throw new FormErrors({ __all__: `This ${spec.model} was deleted meanwhile.` });
    if (e instanceof StaleVersionError && e.current) {
      const now = e.current;
      throw new ConflictErrors(Object.fromEntries(spec.fields.map((f) => [f, now[f]])), Number(now.version), conflictMessage(spec.model));
    }
    throw e;
  };
  const saved = ({ id, repr }: { id: number; repr: string }) => ({ id, repr });
  return {
    async load(id) {
      const o = await (prisma as unknown as Record<string, Delegate>)[spec.model]!.findUnique({ where: { id } });
      if (!o) return null;
      return {
        id,
        repr: spec.repr(o),
        version: Number(o.version),
        values: Object.fromEntries(spec.fields.map((f) => [f, o[f]])),
        readOnly: Object.fromEntries((opts.readOnly ?? []).map((f) => [f, o[f]])),
      } satisfies AdminObject;
    },
    create: (data, user) => opts.create(data, user).then(saved, asForm),
    update(obj, data, user, version) {
      if (version === undefined) throw new FormErrors({ __all__: "The form is missing its version; reload the page." });
      return opts.update(obj.id, version, data, user).then(saved, asForm);
    },
    remove: (ids, user) => opts.remove(ids, user),
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
  run: (ids, user) => hooks.remove!(ids, user),
});

// ---------------------------------------------------------------- Category and Tag

const categoryHooks = savesHooks({
  spec: CATEGORY,
  create: (d, user) => createCategory({ name: String(d.name), slug: String(d.slug ?? ""), description: String(d.description ?? "") }, user),
  update: (id, version, d, user) => updateCategory(id, version, d, user),
  remove: deleteCategories,
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
  table: "Category",
  repr: "name",
  version: "version",
  list: {
    columns: [
      { field: "name", label: "Name", sort: true, link: true },
      { field: "slug", label: "Slug", sort: true },
      // Computed: the number of posts in the category.
      { name: "posts", label: "Posts", sql: `(SELECT count(*) FROM "Post" x WHERE x."categoryId" = c.id)`, format: "number" },
    ],
    filters: [],
    search: { fields: ["name", "slug"], help: "Search names and slugs." },
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

const tagHooks = savesHooks({
  spec: TAG,
  create: (d, user) => createTag({ name: String(d.name), slug: String(d.slug ?? "") }, user),
  update: (id, version, d, user) => updateTag(id, version, d, user),
  remove: deleteTags,
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
  table: "Tag",
  repr: "name",
  version: "version",
  list: {
    columns: [
      { field: "name", label: "Name", sort: true, link: true },
      { field: "slug", label: "Slug", sort: true },
      // Computed: the number of posts with the tag.
      { name: "posts", label: "Posts", sql: `(SELECT count(*) FROM "PostTag" x WHERE x."tagId" = t.id)`, format: "number" },
    ],
    filters: [],
    search: { fields: ["name", "slug"], help: "Search names and slugs." },
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

const userSaves = savesHooks({
  spec: USER,
  readOnly: ["dateJoined", "lastLogin", "emailVerifiedAt"],
  cascades: async (ids) => {
    const n = await prisma.post.count({ where: { authorId: { in: ids } } });
    return [`${n} post${n === 1 ? "" : "s"} written by them (deleted with their revisions)`];
  },
  // the account rules (no self-lockout, signed out everywhere on deactivation) are the service's
  create: createUser,
  update: (id, version, d, user) => updateUser(id, version, d, user),
  remove: deleteUsers,
});
// A new account (no password) is invited to choose one (src/accounts/invite.ts: in the save's transaction);
// the form knows whether it still waits for a password ("Send the invitation again").
const userHooks: ModelHooks = {
  ...userSaves,
  async load(id) {
    const o = await userSaves.load(id);
    return o && { ...o, readOnly: { ...o.readOnly, awaitsPassword: await awaitsPassword(id) } };
  },
  async create(data, user) {
    const saved = await userSaves.create!(data, user);
    return { ...saved, note: `An invitation to choose a password is on its way to ${String(data.email).toLowerCase()}.` };
  },
};

site.register({
  app: "accounts",
  model: "user",
  verboseName: "user",
  verboseNamePlural: "users",
  perm: "user",
  table: "User",
  repr: "username",
  version: "version",
  list: {
    columns: [
      { field: "username", label: "Username", sort: true, link: true },
      { field: "email", label: "E-mail", sort: true },
      // Computed: first and last name together.
      { name: "name", label: "Name", sql: `trim(u."firstName" || ' ' || u."lastName")`, sort: "lastName" },
      { field: "role", label: "Role", sort: true },
      { field: "isActive", label: "Active", sort: true, format: "bool" },
      { field: "dateJoined", label: "Joined", sort: true, format: "date" },
    ],
    filters: [
      { field: "role", label: "Role", kind: "choice", choices: ROLE_CHOICES, type: "string" },
      {
        field: "isActive",
        param: "is_active__exact",
        label: "Active",
        kind: "choice",
        choices: [
          { value: "1", label: "Yes" },
          { value: "0", label: "No" },
        ],
        type: "bool",
      },
      { field: "dateJoined", param: "joined", label: "Date joined", kind: "date" },
    ],
    search: { fields: ["username", "email", "firstName", "lastName"], help: "Search usernames, e-mail addresses and names." },
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
      {
        name: "role",
        label: "Role",
        widget: "select",
        required: true,
        choices: ROLE_CHOICES,
        help: "Authors write posts; editors manage all posts, categories and tags; admins also manage users.",
      },
      { name: "isActive", label: "Active", widget: "checkbox", help: "Unticked, the account cannot log in (safer than deleting it)." },
      { name: "bio", label: "Bio", widget: "textarea", maxLength: 2000 },
    ],
    readOnly: [
      { name: "dateJoined", label: "Joined", format: "datetime" },
      { name: "lastLogin", label: "Last login", format: "datetime" },
      { name: "emailVerifiedAt", label: "E-mail verified", format: "datetime" },
    ],
  },
  actions: [deleteAction("users", "These accounts will be deleted, with the posts they wrote. Consider deactivating instead.", "user.delete", userHooks)],
  hooks: userHooks,
  initialData: () => ({ role: "READER", isActive: true }),
  // An admin may not delete their own account from here.
  hasDeletePermission: (user, obj) => !obj || obj.id !== user.id,
  objectLinks: (obj) => [
    { label: "Set password", url: url("admin:accounts_user_password", { id: obj.id }) },
    ...(obj.readOnly.awaitsPassword === true ? [{ label: "Send the invitation again", url: url("admin:accounts_user_invite", { id: obj.id }) }] : []),
  ],
  urls: [
    { name: "admin:accounts_user_password", path: "/admin/accounts/user/:id/password/", methods: ["get", "post"], handler: userPassword },
    { name: "admin:accounts_user_invite", path: "/admin/accounts/user/:id/invite/", methods: ["get", "post"], handler: userInvite },
  ],
  // The post form's author picker: users who can write, matched by username or name.
  autocomplete: async (term) => {
    const rows = await prisma.user.findMany({
      where: {
        role: { in: rolesWith("post.create") },
        isActive: true,
        ...(term
          ? {
              OR: [
                { username: { contains: term, mode: "insensitive" } },
                { firstName: { contains: term, mode: "insensitive" } },
                { lastName: { contains: term, mode: "insensitive" } },
              ],
            }
          : {}),
      },
      select: { id: true, username: true, firstName: true, lastName: true },
      orderBy: { username: "asc" },
      take: 20,
    });
    return rows.map((x) => ({ id: x.id, text: x.username, name: `${x.firstName} ${x.lastName}`.trim() }));
  },
});

// ---------------------------------------------------------------- Audit log (read-only)

// A read-only model needs no view code: no create/update/remove hooks (and RULES.auditlog grants only
// view), so the generic views offer no add, change, delete or actions, and the list links nowhere.
const AUDIT_ACTIONS = [
  { value: "ADD", label: "Addition" },
  { value: "CHANGE", label: "Change" },
  { value: "DELETE", label: "Deletion" },
];
const seesAllEntries = (user: AdminUser) => canAll(user, "auditlog.view");

site.register({
  app: "audit",
  model: "auditlog",
  verboseName: "audit log entry",
  verboseNamePlural: "audit log entries",
  perm: "auditlog",
  table: "AuditLog",
  repr: "objectRepr",
  owner: "userId",
  list: {
    columns: [
      { field: "createdAt", label: "Time", sort: true, format: "datetime" },
      { name: "user", field: "user__username", label: "User", sort: true },
      { field: "action", label: "Action", sort: true, display: (v) => AUDIT_ACTIONS.find((a) => a.value === v)?.label ?? String(v) },
      { field: "model", label: "Model", sort: true },
      { field: "objectRepr", label: "Object" },
      {
        field: "changes",
        label: "Change message",
        display: (v, row) => changeMessage(row.action, v, fieldLabelOf(site.get(String(row.model).replace(".", "_")))),
      },
    ],
    filters: [
      { field: "user__id", label: "User", kind: "choice", choices: authorChoices, type: "int", visible: seesAllEntries },
      { field: "action", label: "Action", kind: "choice", choices: AUDIT_ACTIONS, type: "string" },
      {
        field: "model",
        label: "Model",
        kind: "choice",
        type: "string",
        choices: async () =>
          site
            .all()
            .filter((m) => m.hooks.update)
            .map((m) => ({ value: auditModelOf(m), label: m.verboseName })),
      },
    ],
    search: { fields: ["objectRepr", "changes"], help: "Search the objects' names and the changes." },
    ordering: "-createdAt",
    dateHierarchy: "createdAt",
    perPage: 100,
  },
  // Authors see their own actions, editors and admins everyone's (RULES.auditlog).
  queryset: (user) => (seesAllEntries(user) ? null : { userId: user.id }),
  form: { fields: [] },
  actions: [],
  hooks: {
    async load(id) {
      const e = await prisma.auditLog.findUnique({ where: { id } });
      return e ? { id: e.id, repr: e.objectRepr, authorId: e.userId ?? undefined, values: {}, readOnly: {} } : null;
    },
  },
});

export { site, Role, STATUS_CHOICES };
