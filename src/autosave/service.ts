// Autosaves: what a writer has typed in a post form (the editor: the admin's post form),
// saved every few seconds by the editor script into one slot per user and post ("post:<id>", or
// "new" for a post not saved yet). An autosave is not a revision and changes nothing readers see;
// it is offered back when the form is opened again and is newer than the post (WordPress's "There
// is an autosave of this post that is more recent than the version below"), and it is pruned when
// that user saves the post (pruneAutosave, called by the posts service inside the save's transaction).
import { prisma, type Prisma } from "../db/index.ts";
import { can, type Actor } from "../accounts/permissions.ts";
import { forbidden, notFound } from "../web/errors.ts";
import { FORM_BODY_LIMIT_BYTES, POST_BODY_MAX } from "../web/limits.ts";
import { noNul, NUL_MESSAGE } from "../web/inputs.ts";

/** The fields of a post form as typed: one string per field, or a list (a multiple select). */
export type AutosaveFields = Record<string, string | string[]>;

export interface AutosaveOffer {
  fields: AutosaveFields;
  updatedAt: Date;
  /** The post's version the autosaved form was opened at: restoring it saves against that version (a conflict if the post moved on). */
  baseVersion: number | null;
}

/** Field names the editor sends (form field names: letters, digits, underscores). */
const FIELD_NAME_RE = /^[A-Za-z][A-Za-z0-9_]{0,49}$/;
/** Form bookkeeping that is never autosaved (token, version, buttons). */
const NOT_SAVED = new Set(["_csrf", "_version", "version", "_save", "_continue", "_addanother"]);
/** At most this many fields, list items per field. */
const MAX_FIELDS = 40;
const MAX_LIST = 200;
/** One field's text: a post's body at most (the longest field); all fields together: the form limit's characters. */
const FIELD_MAX = POST_BODY_MAX;
const TOTAL_MAX = Math.floor(FORM_BODY_LIMIT_BYTES / 9);

const slotFor = (postId: number | null): string => (postId === null ? "new" : `post:${postId}`);

/** Field problems in `fields` (empty: fine). PostgreSQL's jsonb refuses NUL, so it is refused here (noNul). */
export function checkFields(fields: unknown): { ok: true; fields: AutosaveFields } | { ok: false; message: string } {
  if (!fields || typeof fields !== "object" || Array.isArray(fields)) return { ok: false, message: "fields: an object of the form's fields." };
  const out: AutosaveFields = {};
  let total = 0;
  const entries = Object.entries(fields as Record<string, unknown>).filter(([k]) => !NOT_SAVED.has(k));
  if (entries.length > MAX_FIELDS) return { ok: false, message: `At most ${MAX_FIELDS} fields.` };
  for (const [k, v] of entries) {
    if (!FIELD_NAME_RE.test(k)) return { ok: false, message: "Invalid field name." };
    const list = Array.isArray(v) ? v : [v];
    if (list.length > MAX_LIST) return { ok: false, message: `${k}: at most ${MAX_LIST} values.` };
    for (const s of list) {
      if (typeof s !== "string") return { ok: false, message: `${k}: text values only.` };
      if (s.length > FIELD_MAX) return { ok: false, message: `${k}: at most ${FIELD_MAX.toLocaleString("en-US")} characters.` };
      if (!noNul(s)) return { ok: false, message: `${k}: ${NUL_MESSAGE}` };
      total += s.length;
    }
    out[k] = Array.isArray(v) ? (v as string[]) : (v as string);
  }
  if (total > TOTAL_MAX) return { ok: false, message: `At most ${TOTAL_MAX.toLocaleString("en-US")} characters in all.` };
  return { ok: true, fields: out };
}

/**
 * The post `postId` if `actor` may change it (404 when they may not even see it, 403 otherwise), or
 * null for a new post if they may create posts: the same rules as the forms (can()).
 */
async function authorizeSlot(actor: Actor, postId: number | null) {
  if (postId === null) {
    if (!can(actor, "post.create")) throw forbidden("You cannot write posts.");
    return null;
  }
  const post = await prisma.post.findUnique({ where: { id: postId }, select: { id: true, authorId: true, version: true, updatedAt: true } });
  if (!post || !can(actor, "post.view", post)) throw notFound();
  if (!can(actor, "post.change", post)) throw forbidden("You cannot change this post.");
  return post;
}

/** Stores `fields` in `actor`'s slot for the post (an upsert: one row per user and slot). */
export async function saveAutosave(actor: Actor, postId: number | null, fields: AutosaveFields, baseVersion: number | null): Promise<Date> {
  const post = await authorizeSlot(actor, postId);
  const slot = slotFor(postId);
  const data = { fields: fields as Prisma.InputJsonValue, baseVersion: post ? baseVersion : null, postId: post?.id ?? null };
  const row = await prisma.autosave.upsert({
    where: { userId_slot: { userId: actor.id, slot } },
    create: { userId: actor.id, slot, ...data },
    update: data,
    select: { updatedAt: true },
  });
  return row.updatedAt;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? "") === JSON.stringify(b ?? "");

/**
 * The autosave to offer when `userId` opens the form of post `post` (null: a new post): theirs, newer
 * than the post's last save, and different from what the form shows (`shown`: the form's values, the
 * fields compared are those both have). An autosave that says nothing new is not offered (nor
 * deleted: it may be the only copy of text typed after a refused save).
 */
export async function autosaveOffer(
  userId: number,
  post: { id: number; updatedAt: Date } | null,
  shown: Record<string, unknown>,
): Promise<AutosaveOffer | null> {
  const slot = slotFor(post?.id ?? null);
  const row = await prisma.autosave.findUnique({ where: { userId_slot: { userId, slot } }, select: { fields: true, updatedAt: true, baseVersion: true } });
  if (!row) return null;
  const fields = (row.fields ?? {}) as AutosaveFields;
  if (post && row.updatedAt <= post.updatedAt) return null;
  const differs = Object.keys(fields).some((k) => k in shown && !same(fields[k], shown[k]));
  const hasText = Object.values(fields).some((v) => (Array.isArray(v) ? v.length > 0 : v.trim() !== ""));
  if (!differs || !hasText) return null;
  return { fields, updatedAt: row.updatedAt, baseVersion: post ? row.baseVersion : null };
}

/**
 * Drops the saving user's autosave of a post once the post is saved: their "post:<id>" slot, and on
 * creating, their "new" slot. Runs in the save's transaction (a refused save keeps the autosave).
 * Other users' autosaves of the post stay theirs (offered only if newer than the post, as WordPress does).
 */
export async function pruneAutosave(tx: Prisma.TransactionClient, userId: number | null | undefined, postId: number, created = false): Promise<void> {
  if (!userId) return;
  await tx.autosave.deleteMany({ where: { userId, slot: { in: created ? ["new", slotFor(postId)] : [slotFor(postId)] } } });
}
