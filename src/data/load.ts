// npm run loaddata: reads a dump (src/data/dump.ts) into the database, empty or not, in one
// transaction: all of it or nothing.
//
// Reading: the whole file is checked before the database is touched: JSON, format, that its schema is
// not newer than this code's (migrations), every field of every object (types, lengths, slugs, no NUL
// characters), no natural key twice. Problems are listed by object and field; exit 1.
//
// Loading: each user, category, tag and post is matched to the database by natural key (username,
// case-insensitively; slug; publish date + slug):
//   - missing: created (slugs and publish times as in the dump; bodyHtml rendered from the Markdown);
//   - present with the same content: left alone ("unchanged"), so loading a dump twice adds nothing;
//   - present with different content: a conflict, reported by name ("post 2026/11/21/my-post exists
//     with different values (title, body)"). By default any conflict loads nothing; --on-conflict=skip
//     keeps the database's row (and skips that post's revisions), --on-conflict=replace overwrites it
//     with the dump's (its version moves past both, so a form opened before the load is refused).
// A user whose e-mail address belongs to another account, and a reference to a user, category, tag or
// post that is neither in the dump nor in the database, are errors whatever the option.
// A favorite is matched by its pair (username, post key): missing -> added; there with the same time ->
// unchanged; another time -> a conflict like the others (skip keeps the database's, replace takes the
// dump's time). A favorite of a skipped post is still added (the post is there, under the same key).
// Revisions and audit entries have no natural key: one identical to a row already there (same post,
// time, content) is not added again. Users loaded without a password hash cannot sign in until they
// reset their password.
// Media (format 2) are matched by hash like the keyed models above (their files are not in the dump:
// README "Dumping and loading data"); users are written first without their avatar, then the media
// (whose uploader is a user), then the avatars. The posts loaded (added or replaced) are rendered again
// after the load's transaction (src/blog/rerender.ts): their HTML, word count and the images their
// bodies show (PostMedia) come from the media now in the database.
import { isUtf8 } from "node:buffer";
import { z } from "zod";
import { prisma, Prisma } from "../db/index.ts";
import { AuditAction, PostStatus, Role } from "../generated/prisma/client.ts";
import { countWords, renderMarkdown } from "../blog/markdown.ts";
import { rerenderOne } from "../blog/rerender.ts";
import { isMediaKey } from "../media/keys.ts";
import { mediaStorage } from "../media/storage.ts";
import { emailField, usernameField } from "../accounts/validation.ts";
import { invalidateAll } from "../cache/index.ts";
import { INT4_MAX, NUL_MESSAGE, noNul, SLUG_PATTERN, toId } from "../web/inputs.ts";
import { checkKnownMigrations, DataError, isGzip } from "./common.ts";
import {
  AUDIT_SELECT,
  favoriteFields,
  FORMAT,
  FORMAT_VERSION,
  FORMAT_VERSIONS_READ,
  KEYED_AUDIT_MODELS,
  MEDIA_ROW_SELECT,
  MODEL,
  REVISION_SELECT,
  USER_SELECT,
  auditData,
  auditFields,
  categoryFields,
  keyMaps,
  mediaData,
  mediaFields,
  postFields,
  postKey,
  postLabel,
  postsData,
  revisionData,
  revisionFields,
  tagFields,
  userData,
  userFields,
  type AuditData,
  type CategoryData,
  type FavoriteData,
  type KeyMaps,
  type MediaData,
  type PostData,
  type PostKey,
  type RevisionData,
  type TagData,
  type UserData,
} from "./dump.ts";

export type OnConflict = "error" | "skip" | "replace";

// ------------------------------------------------------------------ reading and checking the file

const text = () => z.string().refine(noNul, NUL_MESSAGE);
const varchar = (max: number) => text().pipe(z.string().max(max));
const slug = (max: number) => varchar(max).pipe(z.string().regex(SLUG_PATTERN, "must be a slug: lowercase letters and digits, single hyphens between"));
const date = z.iso.datetime({ offset: true, message: "must be a date and time like 2026-11-21T10:00:00.000Z" }).transform((s) => new Date(s));
const version = z.number().int().min(1).max(INT4_MAX);
/** A value a form validator accepts unchanged (the dump holds what the site stored). */
const accepted = (field: z.ZodType<string>, what: string) =>
  z.string().superRefine((s, ctx) => {
    const r = field.safeParse(s);
    if (!r.success) ctx.addIssue({ code: "custom", message: r.error.issues[0]?.message ?? `not a valid ${what}` });
    else if (r.data !== s) ctx.addIssue({ code: "custom", message: `not a valid ${what} as stored (expected "${r.data}")` });
  });
const username = accepted(usernameField, "username");
const hash = z.string().regex(/^[0-9a-f]{64}$/, "must be an image's hash (64 hexadecimal digits)");
const mediaKey = z.string().refine(isMediaKey, "must be a media storage key like ab/ab12…-640.webp");
const pixels = z.number().int().min(1).max(1_000_000);
const postKeySchema = z.tuple([z.iso.date(), slug(250)]);

const SCHEMAS = {
  [MODEL.user]: z.strictObject({
    username,
    email: accepted(emailField, "e-mail address"),
    passwordHash: text().optional(),
    firstName: varchar(150),
    lastName: varchar(150),
    role: z.enum(Role),
    isActive: z.boolean(),
    bio: text(),
    dateJoined: date,
    lastLogin: date.nullable(),
    // left out (a file made before it was dumped): verified at dateJoined, as the migration did
    emailVerifiedAt: date.nullable().optional(),
    // format 1 has no media: no avatar
    avatar: hash.nullable().optional(),
    version,
  }),
  [MODEL.category]: z.strictObject({ slug: slug(100), name: varchar(100), description: text(), version }),
  [MODEL.tag]: z.strictObject({ slug: slug(100), name: varchar(100), version }),
  [MODEL.post]: z.strictObject({
    publish: date,
    slug: slug(250),
    title: varchar(250),
    author: username,
    category: slug(100).nullable(),
    tags: z.array(slug(100)).refine((t) => new Set(t).size === t.length, "names a tag twice"),
    status: z.enum(PostStatus),
    publishPinned: z.boolean(),
    body: text(),
    excerpt: text(),
    metaTitle: varchar(300).optional(), // format 1: none
    metaDescription: varchar(300),
    featuredImage: hash.nullable().optional(), // format 1: none
    createdAt: date,
    updatedAt: date,
    version,
  }),
  [MODEL.media]: z.strictObject({
    hash,
    storageKey: mediaKey,
    filename: varchar(255),
    mime: varchar(50),
    width: pixels,
    height: pixels,
    bytes: z.number().int().min(0).max(INT4_MAX),
    alt: varchar(500),
    renditions: z.array(
      z.strictObject({ width: pixels, height: pixels, format: z.enum(["avif", "webp", "jpeg", "png", "gif"]), key: mediaKey, bytes: z.number().int().min(0) }),
    ),
    uploadedBy: username.nullable(),
    createdAt: date,
    updatedAt: date,
    version,
  }),
  [MODEL.revision]: z.strictObject({
    post: postKeySchema,
    user: username.nullable(),
    title: varchar(250),
    body: text(),
    excerpt: text(),
    status: z.enum(PostStatus),
    createdAt: date,
  }),
  [MODEL.favorite]: z.strictObject({ user: username, post: postKeySchema, createdAt: date }),
  [MODEL.audit]: z
    .strictObject({
      user: username.nullable(),
      action: z.enum(AuditAction),
      model: varchar(50).pipe(z.string().min(1)),
      object: z
        .union([postKeySchema, varchar(250)])
        .nullable()
        .optional(),
      objectId: varchar(50).optional(),
      objectRepr: varchar(250),
      changes: z.json().refine((v) => !JSON.stringify(v).includes("\\u0000"), NUL_MESSAGE),
      createdAt: date,
    })
    .superRefine((a, ctx) => {
      if (KEYED_AUDIT_MODELS.has(a.model)) {
        if (a.objectId !== undefined || a.object === undefined)
          ctx.addIssue({ code: "custom", path: ["object"], message: `an entry about ${a.model} names its object by key ("object"), not "objectId"` });
        else if (a.object !== null && Array.isArray(a.object) !== (a.model === MODEL.post))
          ctx.addIssue({ code: "custom", path: ["object"], message: a.model === MODEL.post ? "must be [publish date, slug]" : "must be a name" });
      } else if (a.objectId === undefined || a.object !== undefined) {
        ctx.addIssue({ code: "custom", path: ["objectId"], message: `an entry about ${a.model} names its object by "objectId"` });
      }
    }),
} as const;

const TOP = z.object({
  format: z.string(),
  version: z.number().int(),
  migrations: z.array(z.string().max(255)),
  objects: z.array(z.unknown()),
});

/** An object of the dump with its place in the file (for messages). */
interface Entry<T> {
  at: number;
  data: T;
}

export interface Dump {
  migrations: string[];
  users: Entry<UserData & { hasPassword: boolean }>[];
  categories: Entry<CategoryData>[];
  tags: Entry<TagData>[];
  posts: Entry<PostData>[];
  revisions: Entry<RevisionData>[];
  favorites: Entry<FavoriteData>[];
  media: Entry<MediaData>[];
  audit: Entry<AuditData>[];
}

const MAX_LISTED = 12;

/** One DataError listing `problems` (the first MAX_LISTED). */
function problemsError(intro: string, problems: string[]): DataError {
  const shown = problems.slice(0, MAX_LISTED).map((p) => `  - ${p}`);
  if (problems.length > MAX_LISTED) shown.push(`  ... and ${problems.length - MAX_LISTED} more`);
  return new DataError(`${intro}:\n${shown.join("\n")}`);
}

/** How an object is named in messages: "objects[12] (blog.post 2026/11/21/my-post)". */
function describe(at: number, model: string, fields: Record<string, unknown>): string {
  let name = "";
  if (model === MODEL.user && typeof fields.username === "string") name = ` ${fields.username}`;
  else if ((model === MODEL.category || model === MODEL.tag) && typeof fields.slug === "string") name = ` ${fields.slug}`;
  else if (model === MODEL.post && typeof fields.slug === "string" && typeof fields.publish === "string")
    name = ` ${fields.publish.slice(0, 10).replaceAll("-", "/")}/${fields.slug}`;
  else if (model === MODEL.media && typeof fields.filename === "string") name = ` ${fields.filename}`;
  return `objects[${at}] (${model}${name})`;
}

/** Parses and checks a dump file's bytes; throws DataError naming every problem found. `name`: the file, for messages. */
/**
 * A file as dumpdata lays it out (the header line ending in `"objects":[`, one object per line, then
 * `]}`), parsed line by line: no string of the whole file and no second tree of it, which for a
 * 100,000-post dump halves the memory. null for any other layout (pretty-printed, hand-edited,
 * truncated), which is then parsed whole, with JSON.parse's own messages.
 */
function parseLaidOut(bytes: Buffer): { top: Record<string, unknown>; objects: unknown[] } | null {
  try {
    let start = 0;
    let end = bytes.indexOf(10);
    if (end === -1) return null;
    const head = bytes.toString("utf8", 0, end);
    if (!head.endsWith('"objects":[')) return null;
    const top = JSON.parse(`${head}]}`) as Record<string, unknown>;
    const objects: unknown[] = [];
    for (;;) {
      start = end + 1;
      end = bytes.indexOf(10, start);
      const line = bytes.toString("utf8", start, end === -1 ? bytes.length : end);
      if (line === "]}") return end === -1 || end === bytes.length - 1 ? { top, objects } : null;
      if (end === -1) return null;
      objects.push(JSON.parse(line.endsWith(",") ? line.slice(0, -1) : line));
    }
  } catch {
    return null;
  }
}

const isItem = (o: unknown): o is { model: string; fields: Record<string, unknown> } =>
  typeof o === "object" &&
  o !== null &&
  typeof (o as { model?: unknown }).model === "string" &&
  typeof (o as { fields?: unknown }).fields === "object" &&
  (o as { fields?: unknown }).fields !== null &&
  !Array.isArray((o as { fields?: unknown }).fields);

/** Parses and checks a dump file's bytes; throws DataError naming every problem found. `name`: the file, for messages. */
export function parseDump(bytes: Buffer, name: string): Dump {
  if (bytes.length === 0) throw new DataError(`${name} is empty: not a Folio dump`);
  if (isGzip(bytes)) throw new DataError(`${name} is gzip-compressed, not a dump: a backup made by npm run backup? Restore it with npm run restore.`);
  if (!isUtf8(bytes)) throw new DataError(`${name} is not a text file (not UTF-8): not a Folio dump`);
  let raw: unknown;
  let objects: unknown[];
  const laidOut = parseLaidOut(bytes);
  if (laidOut) {
    raw = laidOut.top;
    objects = laidOut.objects;
  } else {
    try {
      raw = JSON.parse(bytes.toString("utf8"));
    } catch (e) {
      const truncated = /end of JSON input|Unterminated/i.test((e as Error).message);
      throw new DataError(`${name} is not valid JSON${truncated ? " (it ends too early: a truncated file?)" : ""}: ${(e as Error).message}`);
    }
    objects = (raw as { objects?: unknown })?.objects as unknown[];
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw) || (raw as { format?: unknown }).format !== FORMAT)
    throw new DataError(`${name} is not a Folio dump (it has no "format": "${FORMAT}"; npm run dumpdata writes one)`);
  const top = TOP.safeParse(raw);
  if (!top.success)
    throw problemsError(
      `${name} is not a valid Folio dump`,
      top.error.issues.map((i) => `${i.path.join(".") || "(top)"}: ${i.message}`),
    );
  if (!FORMAT_VERSIONS_READ.includes(top.data.version))
    throw new DataError(
      `${name} is in dump format ${top.data.version}; this version of Folio reads format ${FORMAT_VERSION}${top.data.version > FORMAT_VERSION ? ": update Folio (git pull, npm ci) and try again" : ""}`,
    );
  checkKnownMigrations(top.data.migrations, "dump");

  const dump: Dump = { migrations: top.data.migrations, users: [], categories: [], tags: [], posts: [], revisions: [], favorites: [], media: [], audit: [] };
  const problems: string[] = [];
  objects.forEach((o, at) => {
    objects[at] = null; // the checked copy below is what is kept
    if (!isItem(o)) {
      problems.push(`objects[${at}]: must be {"model": ..., "fields": {...}}`);
      return;
    }
    const schema = (SCHEMAS as Record<string, z.ZodType>)[o.model];
    if (!schema) {
      problems.push(`objects[${at}]: unknown model "${o.model}" (known: ${Object.keys(SCHEMAS).join(", ")})`);
      return;
    }
    const r = schema.safeParse(o.fields);
    if (!r.success) {
      for (const i of r.error.issues) problems.push(`${describe(at, o.model, o.fields)}: ${i.path.join(".") || "fields"}: ${i.message}`);
      return;
    }
    const data = r.data as never;
    switch (o.model) {
      case MODEL.user: {
        const u = data as Omit<UserData, "emailVerifiedAt" | "avatar"> & { emailVerifiedAt?: Date | null; avatar?: string | null };
        const emailVerifiedAt = u.emailVerifiedAt === undefined ? u.dateJoined : u.emailVerifiedAt;
        dump.users.push({ at, data: { ...u, emailVerifiedAt, avatar: u.avatar ?? null, hasPassword: u.passwordHash !== undefined } });
        break;
      }
      case MODEL.media:
        dump.media.push({ at, data });
        break;
      case MODEL.category:
        dump.categories.push({ at, data });
        break;
      case MODEL.tag:
        dump.tags.push({ at, data });
        break;
      case MODEL.post: {
        const p = data as Omit<PostData, "metaTitle" | "featuredImage"> & { metaTitle?: string; featuredImage?: string | null };
        dump.posts.push({ at, data: { ...p, metaTitle: p.metaTitle ?? "", featuredImage: p.featuredImage ?? null } });
        break;
      }
      case MODEL.revision:
        dump.revisions.push({ at, data });
        break;
      case MODEL.favorite:
        dump.favorites.push({ at, data });
        break;
      case MODEL.audit:
        dump.audit.push({ at, data });
        break;
    }
  });
  const once = <T>(list: Entry<T>[], key: (d: T) => string, what: (d: T) => string) => {
    const seen = new Map<string, number>();
    for (const e of list) {
      const k = key(e.data);
      const first = seen.get(k);
      if (first !== undefined) problems.push(`objects[${e.at}]: ${what(e.data)} is also objects[${first}]`);
      else seen.set(k, e.at);
    }
  };
  once(
    dump.users,
    (u) => u.username.toLowerCase(),
    (u) => `user ${u.username}`,
  );
  once(
    dump.users,
    (u) => u.email,
    (u) => `the e-mail address ${u.email}`,
  );
  once(
    dump.media,
    (m) => m.hash,
    (m) => `the image ${m.hash}`,
  );
  once(
    dump.categories,
    (c) => c.slug,
    (c) => `category ${c.slug}`,
  );
  once(
    dump.tags,
    (t) => t.slug,
    (t) => `tag ${t.slug}`,
  );
  once(
    dump.posts,
    (p) => postLabel(postKey(p.publish, p.slug)),
    (p) => `post ${postLabel(postKey(p.publish, p.slug))}`,
  );
  once(
    dump.favorites,
    (f) => `${f.user.toLowerCase()} ${postLabel(f.post)}`,
    (f) => `the favorite of ${f.user} for post ${postLabel(f.post)}`,
  );
  if (problems.length) throw problemsError(`${name} has ${problems.length === 1 ? "a problem" : `${problems.length} problems`}; nothing was loaded`, problems);
  return dump;
}

// ------------------------------------------------------------------ loading

export interface ModelReport {
  added: number;
  unchanged: number;
  replaced: number;
  skipped: number;
}

export type LoadReport = Record<"users" | "categories" | "tags" | "media" | "posts" | "revisions" | "favorites" | "auditEntries", ModelReport> & {
  usersWithoutPassword: number;
  /** The file names of the dump's images whose original is not in the media storage (the dump holds rows, not files). */
  mediaFilesMissing: string[];
};

const BATCH = 500;
const newReport = (): ModelReport => ({ added: 0, unchanged: 0, replaced: 0, skipped: 0 });

function* chunks<T>(items: T[], n: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += n) yield items.slice(i, i + n);
}

/** Field names whose JSON differs between two field objects. */
function differing(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  return Object.keys(b).filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
}

const pkLabel = (k: PostKey) => `post ${postLabel(k)}`;
const keyString = (k: PostKey) => `${k[0]}/${k[1]}`;

/** What to do with one keyed object: the existing row's id when there is one. */
type Plan = { kind: "add" } | { kind: "unchanged" | "skip" | "replace"; id: number; version: number };

/** Decides add / unchanged / conflict for each entry; conflicts go to `conflicts` unless skipped or replaced. */
function plan(
  existing: { id: number; version: number; fields: Record<string, unknown> } | undefined,
  fields: Record<string, unknown>,
  label: string,
  onConflict: OnConflict,
  conflicts: string[],
): Plan {
  if (!existing) return { kind: "add" };
  const diff = differing(existing.fields, fields);
  if (diff.length === 0) return { kind: "unchanged", id: existing.id, version: existing.version };
  if (onConflict === "error") conflicts.push(`${label} exists with different values (${diff.join(", ")})`);
  return { kind: onConflict === "replace" ? "replace" : "skip", id: existing.id, version: existing.version };
}

/** Loads `dump` in one transaction. Throws DataError (nothing written) on conflicts or unresolved references. */
export async function loadDump(dump: Dump, opts: { onConflict: OnConflict }): Promise<LoadReport> {
  const report: LoadReport = {
    users: newReport(),
    categories: newReport(),
    tags: newReport(),
    media: newReport(),
    posts: newReport(),
    revisions: newReport(),
    favorites: newReport(),
    auditEntries: newReport(),
    usersWithoutPassword: 0,
    mediaFilesMissing: [],
  };
  const loadedPosts: number[] = []; // added or replaced: rendered again once committed
  await prisma.$transaction(
    async (tx) => {
      const conflicts: string[] = [];
      const errors: string[] = [];
      const keys = await keyMaps(tx);

      // ---- users
      const userIdByLower = new Map([...keys.users].map(([id, name]) => [name.toLowerCase(), id]));
      const existingUsers = new Map<number, Prisma.UserGetPayload<{ select: typeof USER_SELECT }>>();
      const wantedUserIds = dump.users.map((e) => userIdByLower.get(e.data.username.toLowerCase())).filter((id): id is number => id !== undefined);
      for (const ids of chunks(wantedUserIds, BATCH))
        for (const u of await tx.user.findMany({ where: { id: { in: ids } }, select: USER_SELECT })) existingUsers.set(u.id, u);
      const emailOwners = new Map<string, { id: number; username: string }>();
      for (const emails of chunks(
        dump.users.map((e) => e.data.email),
        BATCH,
      ))
        for (const u of await tx.user.findMany({ where: { email: { in: emails } }, select: { id: true, username: true, email: true } }))
          emailOwners.set(u.email, u);
      const userPlans = dump.users.map((e) => {
        const u = e.data;
        const id = userIdByLower.get(u.username.toLowerCase());
        const ex = id === undefined ? undefined : existingUsers.get(id)!;
        const p = plan(
          ex && { id: ex.id, version: ex.version, fields: userFields(userData(ex, keys), u.hasPassword) },
          userFields(u, u.hasPassword),
          `user ${u.username}`,
          opts.onConflict,
          conflicts,
        );
        const owner = emailOwners.get(u.email);
        if ((p.kind === "add" || p.kind === "replace") && owner && owner.id !== ex?.id)
          errors.push(`user ${u.username}: the e-mail address ${u.email} belongs to user ${owner.username}`);
        return p;
      });

      // ---- categories and tags
      const categoryIdBySlug = new Map([...keys.categories].map(([id, s]) => [s, id]));
      const tagIdBySlug = new Map([...keys.tags].map(([id, s]) => [s, id]));
      const existingCategories = new Map(
        (await tx.category.findMany({ where: { slug: { in: dump.categories.map((e) => e.data.slug) } } })).map((c) => [c.slug, c]),
      );
      const existingTags = new Map((await tx.tag.findMany({ where: { slug: { in: dump.tags.map((e) => e.data.slug) } } })).map((t) => [t.slug, t]));
      const categoryPlans = dump.categories.map((e) => {
        const ex = existingCategories.get(e.data.slug);
        return plan(
          ex && { id: ex.id, version: ex.version, fields: categoryFields(ex) },
          categoryFields(e.data),
          `category ${e.data.slug}`,
          opts.onConflict,
          conflicts,
        );
      });
      const tagPlans = dump.tags.map((e) => {
        const ex = existingTags.get(e.data.slug);
        return plan(ex && { id: ex.id, version: ex.version, fields: tagFields(ex) }, tagFields(e.data), `tag ${e.data.slug}`, opts.onConflict, conflicts);
      });

      // ---- media, by hash
      const mediaIdByHash = new Map([...keys.media].map(([id, h]) => [h, id]));
      const existingMedia = new Map<string, MediaData & { id: number }>();
      for (const hashes of chunks(
        dump.media.map((e) => e.data.hash).filter((h) => mediaIdByHash.has(h)),
        BATCH,
      ))
        for (const m of await tx.media.findMany({ where: { hash: { in: hashes } }, select: MEDIA_ROW_SELECT }))
          existingMedia.set(m.hash, { ...mediaData(m, keys), id: m.id });
      const mediaPlans = dump.media.map((e) => {
        const ex = existingMedia.get(e.data.hash);
        return plan(
          ex && { id: ex.id, version: ex.version, fields: mediaFields(ex) },
          mediaFields(e.data),
          `image ${e.data.filename} (${e.data.hash.slice(0, 12)}…)`,
          opts.onConflict,
          conflicts,
        );
      });

      // ---- posts
      const postIdByKey = new Map<string, number>();
      const referencedSlugs = dump.posts
        .map((e) => e.data.slug)
        .concat(
          dump.revisions.map((e) => e.data.post[1]),
          dump.favorites.map((e) => e.data.post[1]),
        );
      for (const slugs of chunks([...new Set(referencedSlugs)], BATCH))
        for (const p of await tx.post.findMany({ where: { slug: { in: slugs } }, select: { id: true, slug: true, publish: true } }))
          postIdByKey.set(keyString(postKey(p.publish, p.slug)), p.id);
      const dumpKeys = dump.posts.map((e) => postKey(e.data.publish, e.data.slug));
      const existingPostIds = dumpKeys.map((k) => postIdByKey.get(keyString(k))).filter((id): id is number => id !== undefined);
      const existingPosts = new Map<number, PostData & { version: number }>();
      for (const ids of chunks(existingPostIds, BATCH)) for (const [id, p] of await postsData(tx, ids, keys)) existingPosts.set(id, p);
      const postPlans = dump.posts.map((e, i) => {
        const id = postIdByKey.get(keyString(dumpKeys[i]!));
        const ex = id === undefined ? undefined : existingPosts.get(id)!;
        return plan(ex && { id: id!, version: ex.version, fields: postFields(ex) }, postFields(e.data), pkLabel(dumpKeys[i]!), opts.onConflict, conflicts);
      });

      // ---- references (to the dump or the database)
      const dumpUsers = new Set(dump.users.map((e) => e.data.username.toLowerCase()));
      const dumpCategories = new Set(dump.categories.map((e) => e.data.slug));
      const dumpTags = new Set(dump.tags.map((e) => e.data.slug));
      const dumpPosts = new Set(dumpKeys.map(keyString));
      const hasUser = (name: string) => dumpUsers.has(name.toLowerCase()) || userIdByLower.has(name.toLowerCase());
      const dumpMedia = new Set(dump.media.map((e) => e.data.hash));
      const hasMedia = (h: string) => dumpMedia.has(h) || mediaIdByHash.has(h);
      const nowhere = "is neither in the dump nor in the database";
      for (const e of dump.media)
        if (e.data.uploadedBy !== null && !hasUser(e.data.uploadedBy))
          errors.push(`${describe(e.at, MODEL.media, e.data as never)}: user ${e.data.uploadedBy} ${nowhere}`);
      for (const e of dump.users)
        if (e.data.avatar !== null && !hasMedia(e.data.avatar)) errors.push(`user ${e.data.username}: avatar image ${e.data.avatar} ${nowhere}`);
      dump.posts.forEach((e, i) => {
        const p = e.data;
        const label = pkLabel(dumpKeys[i]!);
        if (!hasUser(p.author)) errors.push(`${label}: author ${p.author} ${nowhere}`);
        if (p.category !== null && !dumpCategories.has(p.category) && !categoryIdBySlug.has(p.category))
          errors.push(`${label}: category ${p.category} ${nowhere}`);
        for (const t of p.tags) if (!dumpTags.has(t) && !tagIdBySlug.has(t)) errors.push(`${label}: tag ${t} ${nowhere}`);
        if (p.featuredImage !== null && !hasMedia(p.featuredImage)) errors.push(`${label}: featured image ${p.featuredImage} ${nowhere}`);
      });
      for (const e of dump.revisions) {
        const k = keyString(e.data.post);
        if (!dumpPosts.has(k) && !postIdByKey.has(k)) errors.push(`objects[${e.at}] (blog.postrevision): ${pkLabel(e.data.post)} ${nowhere}`);
        if (e.data.user !== null && !hasUser(e.data.user)) errors.push(`objects[${e.at}] (blog.postrevision): user ${e.data.user} ${nowhere}`);
      }
      for (const e of dump.favorites) {
        const k = keyString(e.data.post);
        if (!dumpPosts.has(k) && !postIdByKey.has(k)) errors.push(`objects[${e.at}] (${MODEL.favorite}): ${pkLabel(e.data.post)} ${nowhere}`);
        if (!hasUser(e.data.user)) errors.push(`objects[${e.at}] (${MODEL.favorite}): user ${e.data.user} ${nowhere}`);
      }
      for (const e of dump.audit)
        if (e.data.user !== null && !hasUser(e.data.user)) errors.push(`objects[${e.at}] (admin.auditlog): user ${e.data.user} ${nowhere}`);

      // ---- favorites: one already there (its user and post are, then) is unchanged or a conflict on its time
      const existingFavorites = new Map<string, Date>();
      const favoriteIds = dump.favorites.map((e) => {
        const u = userIdByLower.get(e.data.user.toLowerCase());
        const p = postIdByKey.get(keyString(e.data.post));
        return u === undefined || p === undefined ? null : { userId: u, postId: p };
      });
      const knownPairs = favoriteIds.filter((k): k is { userId: number; postId: number } => k !== null);
      for (const batch of chunks(knownPairs, BATCH))
        for (const f of await tx.favorite.findMany({ where: { OR: batch }, select: { userId: true, postId: true, createdAt: true } }))
          existingFavorites.set(`${f.userId} ${f.postId}`, f.createdAt);
      const favoritePlans = dump.favorites.map((e, i): "add" | "unchanged" | "skip" | { userId: number; postId: number } => {
        const ids = favoriteIds[i];
        const there = ids ? existingFavorites.get(`${ids.userId} ${ids.postId}`) : undefined;
        if (!ids || there === undefined) return "add";
        if (JSON.stringify(favoriteFields({ ...e.data, createdAt: there })) === JSON.stringify(favoriteFields(e.data))) return "unchanged";
        if (opts.onConflict === "error") conflicts.push(`the favorite of ${e.data.user} for ${pkLabel(e.data.post)} exists with different values (createdAt)`);
        return opts.onConflict === "replace" ? ids : "skip";
      });

      if (errors.length)
        throw problemsError(`the dump cannot be loaded (${errors.length === 1 ? "a problem" : `${errors.length} problems`}); nothing was loaded`, errors);
      if (conflicts.length)
        throw problemsError(
          `${conflicts.length === 1 ? "a conflict" : `${conflicts.length} conflicts`} with the database; nothing was loaded ` +
            `(--on-conflict=skip keeps the database's rows, --on-conflict=replace takes the dump's)`,
          conflicts,
        );

      // ---- writes: users, categories, tags
      const bump = (p: Plan, v: number) => (p.kind === "replace" ? Math.max(p.version + 1, v) : v);
      const userRow = (u: UserData & { hasPassword: boolean }) => ({
        username: u.username,
        email: u.email,
        firstName: u.firstName,
        lastName: u.lastName,
        role: u.role,
        isActive: u.isActive,
        bio: u.bio,
        dateJoined: u.dateJoined,
        lastLogin: u.lastLogin,
        emailVerifiedAt: u.emailVerifiedAt,
        version: u.version,
        ...(u.hasPassword ? { passwordHash: u.passwordHash! } : {}),
      });
      await writeKeyed(tx.user, dump.users, userPlans, (u) => userRow(u), bump, report.users);
      report.usersWithoutPassword = dump.users.filter((e, i) => !e.data.hasPassword && userPlans[i]!.kind === "add").length;
      await writeKeyed(tx.category, dump.categories, categoryPlans, (c) => ({ ...c }), bump, report.categories);
      await writeKeyed(tx.tag, dump.tags, tagPlans, (t) => ({ ...t }), bump, report.tags);
      const usersNow = new Map([...(await keyMaps(tx)).users].map(([id, n]) => [n.toLowerCase(), id]));
      const mediaRow = ({ uploadedBy, renditions, ...m }: MediaData) => ({
        ...m,
        renditions: renditions as Prisma.InputJsonValue,
        uploadedById: uploadedBy === null ? null : usersNow.get(uploadedBy.toLowerCase())!,
      });
      await writeKeyed(tx.media, dump.media, mediaPlans, mediaRow, bump, report.media);
      const names = await keyMaps(tx);
      const mediaId = new Map([...names.media].map(([id, h]) => [h, id]));
      // the avatars of the users written (media exist now)
      for (const [i, e] of dump.users.entries()) {
        const p = userPlans[i]!;
        if (p.kind !== "replace" && (p.kind !== "add" || e.data.avatar === null)) continue;
        const avatarId = e.data.avatar === null ? null : mediaId.get(e.data.avatar)!;
        await tx.user.update({ where: { id: usersNow.get(e.data.username.toLowerCase())! }, data: { avatarId } });
      }
      const userId = new Map([...names.users].map(([id, n]) => [n.toLowerCase(), id]));
      const categoryId = new Map([...names.categories].map(([id, s]) => [s, id]));
      const tagId = new Map([...names.tags].map(([id, s]) => [s, id]));

      // ---- posts (new ones in the dump's order, so their ids follow it) and their tags
      const postRow = (p: PostData) => ({
        title: p.title,
        slug: p.slug,
        authorId: userId.get(p.author.toLowerCase())!,
        categoryId: p.category === null ? null : categoryId.get(p.category)!,
        body: p.body,
        bodyHtml: renderMarkdown(p.body), // and rendered again with its images after the load (see the header)
        wordCount: countWords(p.body),
        excerpt: p.excerpt,
        metaTitle: p.metaTitle,
        metaDescription: p.metaDescription,
        featuredImageId: p.featuredImage === null ? null : mediaId.get(p.featuredImage)!,
        status: p.status,
        publish: p.publish,
        publishPinned: p.publishPinned,
        createdAt: p.createdAt,
        updatedAt: p.updatedAt,
        version: p.version,
      });
      const toAdd = dump.posts.filter((_, i) => postPlans[i]!.kind === "add");
      for (const batch of chunks(toAdd, BATCH)) {
        const rows = await tx.post.createManyAndReturn({ data: batch.map((e) => postRow(e.data)), select: { id: true, slug: true, publish: true } });
        for (const r of rows) postIdByKey.set(keyString(postKey(r.publish, r.slug)), r.id);
        const links = batch.flatMap((e) =>
          e.data.tags.map((t) => ({ postId: postIdByKey.get(keyString(postKey(e.data.publish, e.data.slug)))!, tagId: tagId.get(t)! })),
        );
        if (links.length) await tx.postTag.createMany({ data: links });
      }
      report.posts.added = toAdd.length;
      for (const e of toAdd) loadedPosts.push(postIdByKey.get(keyString(postKey(e.data.publish, e.data.slug)))!);
      for (const [i, e] of dump.posts.entries()) {
        const p = postPlans[i]!;
        if (p.kind === "replace") loadedPosts.push(p.id);
        if (p.kind === "unchanged") report.posts.unchanged++;
        else if (p.kind === "skip") report.posts.skipped++;
        else if (p.kind === "replace") {
          await tx.post.update({ where: { id: p.id }, data: { ...postRow(e.data), version: bump(p, e.data.version) } });
          await tx.postTag.deleteMany({ where: { postId: p.id } });
          if (e.data.tags.length) await tx.postTag.createMany({ data: e.data.tags.map((t) => ({ postId: p.id, tagId: tagId.get(t)! })) });
          report.posts.replaced++;
        }
      }

      // ---- revisions: none for skipped posts; for posts already there, only those not there yet
      const skippedPosts = new Set(dump.posts.filter((_, i) => postPlans[i]!.kind === "skip").map((e) => keyString(postKey(e.data.publish, e.data.slug))));
      const revisions = dump.revisions.filter((e) => {
        if (!skippedPosts.has(keyString(e.data.post))) return true;
        report.revisions.skipped++;
        return false;
      });
      const knownPostIds = [...new Set(revisions.map((e) => postIdByKey.get(keyString(e.data.post))!))];
      const postKeyById = new Map([...postIdByKey].map(([k, id]) => [id, k.split("/") as PostKey]));
      const present = new Multiset();
      for (const ids of chunks(knownPostIds, BATCH))
        for (const r of await tx.postRevision.findMany({ where: { postId: { in: ids } }, select: REVISION_SELECT }))
          present.add(JSON.stringify(revisionFields(revisionData(r, postKeyById.get(r.postId)!, names))));
      const newRevisions = revisions.filter((e) => {
        if (!present.take(JSON.stringify(revisionFields(e.data)))) return true;
        report.revisions.unchanged++;
        return false;
      });
      for (const batch of chunks(newRevisions, BATCH)) {
        await tx.postRevision.createMany({
          data: batch.map(({ data: r }) => ({
            postId: postIdByKey.get(keyString(r.post))!,
            userId: r.user === null ? null : userId.get(r.user.toLowerCase())!,
            title: r.title,
            body: r.body,
            excerpt: r.excerpt,
            status: r.status,
            createdAt: r.createdAt,
          })),
        });
      }
      report.revisions.added = newRevisions.length;

      // ---- favorites: those planned as new, with the ids of their users and posts (known by now)
      const newFavorites = dump.favorites
        .filter((_, i) => favoritePlans[i] === "add")
        .map((e) => ({ userId: userId.get(e.data.user.toLowerCase())!, postId: postIdByKey.get(keyString(e.data.post))!, createdAt: e.data.createdAt }));
      for (const batch of chunks(newFavorites, BATCH)) await tx.favorite.createMany({ data: batch });
      report.favorites.added = newFavorites.length;
      for (const [i, e] of dump.favorites.entries()) {
        const p = favoritePlans[i]!;
        if (p === "unchanged") report.favorites.unchanged++;
        else if (p === "skip") report.favorites.skipped++;
        else if (p !== "add") {
          await tx.favorite.update({ where: { userId_postId: p }, data: { createdAt: e.data.createdAt } });
          report.favorites.replaced++;
        }
      }

      // ---- audit log: entries not there yet (same time and content), objects named by key resolved to ids
      const auditKeys: KeyMaps = { ...names, posts: postKeyById };
      const presentAudit = new Multiset();
      // Candidates by time: a range per batch of the dump's times (the database keeps microseconds, a
      // dump milliseconds), then only rows whose millisecond is one of the dump's.
      const times = [...new Set(dump.audit.map((e) => e.data.createdAt.getTime()))].sort((x, y) => x - y);
      for (const batch of chunks(times, BATCH)) {
        const wanted = new Set(batch);
        const range = { gte: new Date(batch[0]!), lt: new Date(batch.at(-1)! + 1) };
        const rows = (await tx.auditLog.findMany({ where: { createdAt: range }, select: AUDIT_SELECT })).filter((r) => wanted.has(r.createdAt.getTime()));
        const named = rows.flatMap((r) => (r.model === MODEL.post ? [toId(r.objectId)] : [])).filter((id): id is number => id !== null && !postKeyById.has(id));
        for (const p of named.length ? await tx.post.findMany({ where: { id: { in: named } }, select: { id: true, slug: true, publish: true } }) : [])
          postKeyById.set(p.id, postKey(p.publish, p.slug));
        for (const r of rows) presentAudit.add(JSON.stringify(auditFields(auditData(r, auditKeys))));
      }
      const objectIdOf = (a: AuditData, at: number): string => {
        if (a.objectId !== undefined) return a.objectId;
        if (a.object === null || a.object === undefined) return "";
        const id =
          a.model === MODEL.post
            ? postIdByKey.get(keyString(a.object as PostKey))
            : a.model === MODEL.user
              ? userId.get((a.object as string).toLowerCase())
              : a.model === MODEL.media
                ? mediaId.get(a.object as string)
                : (a.model === MODEL.category ? categoryId : tagId).get(a.object as string);
        if (id === undefined) errors.push(`objects[${at}] (admin.auditlog): ${a.model} ${Array.isArray(a.object) ? postLabel(a.object) : a.object} ${nowhere}`);
        return String(id ?? "");
      };
      const newAudit = dump.audit.filter((e) => {
        if (!presentAudit.take(JSON.stringify(auditFields(e.data)))) return true;
        report.auditEntries.unchanged++;
        return false;
      });
      const auditRows = newAudit.map(({ data: a, at }) => ({
        userId: a.user === null ? null : userId.get(a.user.toLowerCase())!,
        action: a.action,
        model: a.model,
        objectId: objectIdOf(a, at),
        objectRepr: a.objectRepr,
        changes: a.changes as Prisma.InputJsonValue,
        createdAt: a.createdAt,
      }));
      if (errors.length)
        throw problemsError(`the dump cannot be loaded (${errors.length === 1 ? "a problem" : `${errors.length} problems`}); nothing was loaded`, errors);
      for (const batch of chunks(auditRows, BATCH)) await tx.auditLog.createMany({ data: batch });
      report.auditEntries.added = auditRows.length;
    },
    { maxWait: 30_000, timeout: 24 * 3_600_000 },
  );
  // The loaded posts' HTML, word count and body images (PostMedia), as a save derives them, now that
  // their images are in the database (a writer's save in between wins: see rerenderOne).
  for (const ids of chunks(loadedPosts, BATCH)) {
    const rows = await prisma.post.findMany({
      where: { id: { in: ids } },
      select: { id: true, body: true, bodyHtml: true, wordCount: true, version: true, media: { select: { mediaId: true } } },
    });
    for (const { media, ...row } of rows) await rerenderOne({ ...row, mediaIds: media.map((m) => m.mediaId) });
  }
  for (const e of dump.media) if (!(await mediaStorage().exists(e.data.storageKey))) report.mediaFilesMissing.push(e.data.filename);
  await invalidateAll(); // every cache and cached page, in every process (and Redis)
  return report;
}

/** Creates (in the dump's order), replaces or counts the entries of one keyed model as planned. */
async function writeKeyed<T, R extends object>(
  delegate: {
    createMany(args: { data: R[] }): Promise<unknown>;
    update(args: { where: { id: number }; data: R & { version: number } }): Promise<unknown>;
  },
  entries: Entry<T>[],
  plans: Plan[],
  row: (d: T) => R & { version: number },
  bump: (p: Plan, v: number) => number,
  report: ModelReport,
): Promise<void> {
  const adds = entries.filter((_, i) => plans[i]!.kind === "add").map((e) => row(e.data));
  for (const batch of chunks(adds, BATCH)) await delegate.createMany({ data: batch });
  report.added = adds.length;
  for (const [i, e] of entries.entries()) {
    const p = plans[i]!;
    if (p.kind === "unchanged") report.unchanged++;
    else if (p.kind === "skip") report.skipped++;
    else if (p.kind === "replace") {
      const r = row(e.data);
      await delegate.update({ where: { id: p.id }, data: { ...r, version: bump(p, r.version) } });
      report.replaced++;
    }
  }
}

/** Strings with multiplicity: identical revisions or audit entries may legitimately repeat. */
class Multiset {
  private counts = new Map<string, number>();
  add(s: string): void {
    this.counts.set(s, (this.counts.get(s) ?? 0) + 1);
  }
  /** Removes one `s`; false when there is none. */
  take(s: string): boolean {
    const n = this.counts.get(s) ?? 0;
    if (n === 0) return false;
    this.counts.set(s, n - 1);
    return true;
  }
}
