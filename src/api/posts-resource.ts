// The Post resource as the API shows and takes it: the resource built from a post (sparse
// fieldsets, `body` only for those who may change the post), the list's query parameters, the opaque
// cursor, and the writable fields turned into a save of src/posts/service.ts.
import { z } from "zod";
import { can, type Actor } from "../accounts/permissions.ts";
import type { SessionUser } from "../accounts/users.ts";
import { postUrl, type PostCard } from "../blog/queries.ts";
import type { PostRecord } from "../posts/queries.ts";
import { isLive } from "../posts/visibility.ts";
import { tagNamesProblem, TAG_NAME_MAX, MAX_TAGS, TAG_COMMA_MESSAGE } from "../posts/service.ts";
import { INT4_MAX, noNul, NUL_MESSAGE, parseIsoDay, slugString } from "../web/inputs.ts";
import { POST_BODY_MAX } from "../web/limits.ts";
import { absolute } from "../web/urls.ts";
import { POST_FIELD_NAMES, type PostResource } from "./schemas.ts";

export type PostField = keyof PostResource;

/** What a list shows without `fields`: the reader's card (no text, no writer's columns). */
export const LIST_FIELDS: readonly PostField[] = ["id", "title", "slug", "status", "scheduled", "publish", "url", "excerpt", "author", "category", "tags"];
const CARD_FIELDS = new Set<PostField>(LIST_FIELDS);
/** Can a reader's card (PostCard of a published post) give every field of this set? */
export const cardOnly = (fields: ReadonlySet<PostField>): boolean => [...fields].every((f) => CARD_FIELDS.has(f));
export const needsText = (fields: ReadonlySet<PostField>): boolean => fields.has("body") || fields.has("html");

/** May `user` see `post`'s Markdown and change it? The one rule (can), as the pages ask it. */
export const mayChange = (user: Actor | null, post: { authorId: number }): boolean => can(user, "post.change", post);

/**
 * The resource for `p` with the fields of `fields` (id always). `p` is a reader's card (a live post) or
 * a full record; `body` is given only when `withBody` (the caller may change the post) and read.
 */
export function toResource(p: PostCard & Partial<PostRecord>, fields: ReadonlySet<PostField>, withBody: boolean, now = new Date()): PostResource {
  const status = p.status ?? "PUBLISHED";
  const out: PostResource = { id: p.id };
  for (const f of fields) {
    switch (f) {
      case "id":
        break;
      case "title":
      case "slug":
      case "excerpt":
        out[f] = p[f];
        break;
      case "status":
        out.status = status === "DRAFT" ? "draft" : "published";
        break;
      case "scheduled":
        out.scheduled = status === "PUBLISHED" && p.publish > now;
        break;
      case "publish":
        out.publish = p.publish.toISOString();
        break;
      case "url":
        out.url = isLive({ status, publish: p.publish }, now) ? absolute(postUrl(p)) : null;
        break;
      case "body":
        if (withBody && p.body !== undefined) out.body = p.body;
        break;
      case "html":
        if (p.bodyHtml !== undefined) out.html = p.bodyHtml;
        break;
      case "metaDescription":
        if (p.metaDescription !== undefined) out.metaDescription = p.metaDescription;
        break;
      case "author":
        out.author = { username: p.author.username, name: p.author.fullName };
        break;
      case "category":
        out.category = p.category ? { slug: p.category.slug, name: p.category.name } : null;
        break;
      case "tags":
        out.tags = p.tags.map((t) => ({ slug: t.slug, name: t.name }));
        break;
      case "createdAt":
      case "updatedAt":
        if (p[f]) out[f] = p[f].toISOString();
        break;
      case "version":
        if (p.version !== undefined) out.version = p.version;
        break;
    }
  }
  return out;
}

export const ALL_FIELDS: ReadonlySet<PostField> = new Set(POST_FIELD_NAMES);

// ---------------------------------------------------------------- query parameters

/** `fields`: a comma list of Post fields; an unknown one is a 400 naming it. `id` is always included. */
export const fieldsParam = z
  .string()
  .max(500)
  .transform((s, ctx) => {
    const names = s
      .split(",")
      .map((f) => f.trim())
      .filter(Boolean);
    const unknown = names.filter((n) => !(POST_FIELD_NAMES as string[]).includes(n));
    if (unknown.length || !names.length) {
      ctx.addIssue({
        code: "custom",
        message: `${unknown.length ? `Unknown field${unknown.length > 1 ? "s" : ""}: ${unknown.slice(0, 5).join(", ").slice(0, 200)}. ` : "Name at least one field. "}Choose from: ${POST_FIELD_NAMES.join(", ")}.`,
      });
      return z.NEVER;
    }
    return new Set<PostField>(["id", ...(names as PostField[])]);
  })
  .meta({ description: `Sparse fieldset: a comma list of Post fields (${POST_FIELD_NAMES.join(", ")}). \`id\` is always included.` });

/** "YYYY-MM-DD" (00:00 UTC that day) or an RFC 3339 date-time with an offset. */
function parseInstant(s: string): Date | null {
  const day = parseIsoDay(s);
  if (day) return day;
  if (!z.iso.datetime({ offset: true }).safeParse(s).success) return null;
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? null : d;
}

export const instantParam = (description: string) =>
  z
    .string()
    .max(40)
    .transform((s, ctx) => {
      const d = parseInstant(s);
      if (!d) {
        ctx.addIssue({ code: "custom", message: "Give a date (2026-11-21) or a date-time with an offset (2026-11-21T09:30:00Z)." });
        return z.NEVER;
      }
      return d;
    })
    .meta({ description });

/** A page number: 1 to 999,999,999 (a page past the end is a 404; a list may bound how deep a number goes). */
export const pageParam = z
  .string()
  .regex(/^[1-9]\d{0,8}$/, "A page number: a whole number from 1.")
  .transform(Number)
  .meta({ description: "Page number (from 1). A page past the end is a 404." });

export const MAX_PAGE_SIZE = 100;
export const pageSizeParam = z
  .string()
  .regex(/^[1-9]\d{0,2}$/, `A page size from 1 to ${MAX_PAGE_SIZE}.`)
  .transform(Number)
  .refine((n) => n <= MAX_PAGE_SIZE, `A page size from 1 to ${MAX_PAGE_SIZE}.`)
  .meta({ description: `Posts per page (1-${MAX_PAGE_SIZE}; default POSTS_PER_PAGE).` });

export const slugParam = (description: string) => slugString(250, "Give a slug (lowercase letters, digits and hyphens).").meta({ description });

export const usernameParam = z
  .string()
  .min(1)
  .max(150)
  // eslint-disable-next-line no-control-regex
  .regex(/^[^\u0000-\u001f\u007f]+$/, "Give a username.")
  .meta({ description: "The author's username." });

// ---------------------------------------------------------------- cursors

/** A cursor: the keyset position of a row in (publish DESC, id DESC) order and the direction to read from it. */
export interface Cursor {
  publish: string;
  id: number;
  /** "n": the rows after it (next page); "p": the rows before it (previous page). */
  dir: "n" | "p";
}

const cursorShape = z.strictObject({
  d: z.enum(["n", "p"]),
  t: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/)
    .refine((t) => !Number.isNaN(Date.parse(t))),
  i: z.number().int().min(1).max(INT4_MAX),
});

export const encodeCursor = (c: Cursor): string => Buffer.from(JSON.stringify({ d: c.dir, t: c.publish, i: c.id })).toString("base64url");

/** The cursor in `token`, or null when it is not one this API wrote (tampered, truncated, foreign). */
export function decodeCursor(token: string): Cursor | null {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(token)) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    return null;
  }
  const r = cursorShape.safeParse(raw);
  return r.success ? { dir: r.data.d, publish: r.data.t, id: r.data.i } : null;
}

// ---------------------------------------------------------------- writable fields

const text = (max: number, message = `At most ${max} characters.`) => z.string().max(max, message).refine(noNul, NUL_MESSAGE);

/** The writable fields; a PATCH sends any of them, a POST at least `title`. */
export const postWriteShape = {
  title: text(250)
    .refine((s) => s.trim().length > 0, "Enter a title.")
    .meta({ description: "At most 250 characters." }),
  slug: slugString(250).meta({ description: "Unique per publish day; left out on create: made from the title." }),
  body: text(POST_BODY_MAX).meta({ description: "Markdown source." }),
  excerpt: text(1000).meta({ description: "Empty (or the automatic text): follows the body (its first 40 words)." }),
  metaDescription: text(300),
  status: z.enum(["draft", "published"]).meta({ description: "Publishing with a future publish time schedules the post." }),
  publish: z.iso
    .datetime({ offset: true })
    .nullable()
    .meta({ description: "Publish time (date-time with offset); null: none chosen (a draft takes the moment it is published)." }),
  category: slugString(250).nullable().meta({ description: "A category's slug, or null." }),
  tags: z
    .array(
      z
        .string()
        .max(TAG_NAME_MAX, `Each tag has at most ${TAG_NAME_MAX} characters.`)
        .refine(noNul, NUL_MESSAGE)
        .refine((s) => !s.includes(","), TAG_COMMA_MESSAGE),
    )
    .max(MAX_TAGS, `At most ${MAX_TAGS} tags.`)
    .refine((names) => tagNamesProblem(names) === null, { message: "Invalid tag names." })
    .meta({ description: "Tag names: existing tags are matched by name, new ones created when the rule allows (tag.create)." }),
  author: usernameParam.meta({ description: "The author's username (editors only; authors write their own posts)." }),
};

export type PostWrite = { [K in keyof typeof postWriteShape]?: z.output<(typeof postWriteShape)[K]> };

/** The API's names of the service's fields (PostPermissionError.field). */
export const API_FIELD: Record<string, string> = { authorId: "author", status: "status", publish: "publish", tags: "tags" };

export type Caller = SessionUser | null;
