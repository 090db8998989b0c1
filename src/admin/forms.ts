// Form handling for the generic change form: object values -> widget strings, and a submitted body
// -> typed values, validated with zod schemas built from the registry's field definitions.
import { z } from "zod";
import type { AdminUser } from "./auth.ts";
import { FORM_BODY_LIMIT_BYTES, tooLongMessage } from "../web/limits.ts";
import { isId, isSlug, noNul, NUL_MESSAGE, SLUG_MESSAGE, wallClock, zonedInstant } from "../web/inputs.ts";
import { resolveChoices, tagIdsKey, type FormField, type ModelAdmin } from "./site.ts";
import { MAX_TAGS, splitTagNames, tagNamesProblem } from "../posts/service.ts";

const DATETIME_LOCAL = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/;

export function visibleFields(m: ModelAdmin, user: AdminUser): FormField[] {
  return m.form.fields.filter((f) => !f.visible || f.visible(user));
}

/** The form's fields this user may not set (not shown to them: e.g. a post's author, src/accounts/permissions.ts). */
export function hiddenFields(m: ModelAdmin, user: AdminUser): FormField[] {
  return m.form.fields.filter((f) => f.visible && !f.visible(user));
}

/**
 * The tag field's value: the ids of existing tags (the chips / checkboxes, submitted as `tagIds`) and
 * names typed for tags to add (`tags`, comma-separated). Existing tags travel by id, never by name, so
 * saving a form unchanged keeps exactly the tags it showed, whatever their names.
 */
export interface TagsValue {
  ids: number[];
  names: string[];
}
const asList = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** "2026-11-21T21:00" (a datetime-local input's value, the wall clock in the site's TIME_ZONE) <-> Date. */
export function toDatetimeLocal(d: unknown): string {
  if (!(d instanceof Date) || Number.isNaN(d.getTime())) return typeof d === "string" ? d : "";
  return wallClock(d).toISOString().slice(0, 16);
}
/** A datetime-local value read in the site's zone (a skipped time moves forward by the gap, a repeated one is the first: zonedInstant), or null. */
export function parseDatetimeLocal(s: string): Date | null {
  const m = DATETIME_LOCAL.exec(s);
  if (!m) return null;
  const [y, mo, d, h, mi, se] = m.slice(1).map((x) => Number(x ?? 0)) as number[];
  if (y! < 1900 || y! > 9999) return null;
  return zonedInstant(y!, mo!, d!, h!, mi!, se!);
}

/** Object values as the strings the widgets show. */
export function toFormValues(fields: FormField[], values: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    const v = values[f.name];
    if (f.widget === "datetime") out[f.name] = toDatetimeLocal(v);
    else if (f.widget === "tags") {
      const t = v as TagsValue | undefined;
      out[f.name] = { ids: (t?.ids ?? []).map(String), names: (t?.names ?? []).join(", ") };
    } else if (f.widget === "checkbox") out[f.name] = !!v;
    else out[f.name] = v === null || v === undefined ? "" : String(v);
  }
  return out;
}

/**
 * Form values (toFormValues / keptFormValues) keyed as a browser submits them: a tag field as its two
 * keys, the names typed and the ticked ids (one: a string, none: "", as public/js/editor.js serializes
 * a form), so what the form shows compares with an autosave of it.
 */
export function submittedValues(fields: FormField[], values: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...values };
  for (const f of fields.filter((x) => x.widget === "tags")) {
    const v = values[f.name] as { ids?: string[]; names?: string } | undefined;
    const ids = v?.ids ?? [];
    out[f.name] = v?.names ?? "";
    out[tagIdsKey(f)] = ids.length === 1 ? ids[0] : ids.length ? ids : "";
  }
  return out;
}

/** The submitted strings, kept for redisplay after an error (never typed, never trusted). */
export function keptFormValues(fields: FormField[], body: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    const v = body[f.name];
    if (f.widget === "checkbox") out[f.name] = v !== undefined;
    else if (f.widget === "tags")
      out[f.name] = { ids: asList(body[tagIdsKey(f)]).filter(isId).map(String), names: typeof v === "string" ? v.slice(0, FORM_BODY_LIMIT_BYTES) : "" };
    // Whole, as typed (the body parser bounds the size): a text over its limit comes back intact.
    else out[f.name] = typeof v === "string" ? v.slice(0, FORM_BODY_LIMIT_BYTES) : "";
  }
  return out;
}

const REQUIRED = "This field is required.";

async function fieldSchema(f: FormField): Promise<z.ZodType> {
  const str = z.string({ error: "Give this field once, as text." });
  const max = f.maxLength ?? 100_000;
  switch (f.widget) {
    case "text":
    case "textarea":
    case "email":
    case "slug": {
      let inner = z.string().refine(noNul, NUL_MESSAGE).max(max, `At most ${max} characters.`);
      if (f.widget === "email") inner = inner.refine((v) => v === "" || z.email().safeParse(v).success, "Enter a valid e-mail address.");
      if (f.widget === "slug") inner = inner.refine((v) => v === "" || isSlug(v), SLUG_MESSAGE);
      if (f.required) inner = inner.min(1, REQUIRED);
      const s = str.transform((v) => v.trim()).pipe(inner);
      return f.required ? s : s.optional().transform((v) => v ?? "");
    }
    case "markdown": {
      // Counted as the writer sees it: a browser sends each line break as CRLF, the textarea counts one.
      const s = str
        .transform((v) => v.replace(/\r\n/g, "\n"))
        .pipe(
          z
            .string()
            .refine(noNul, NUL_MESSAGE)
            .max(max, { error: (iss) => tooLongMessage(max, String(iss.input ?? "").length) }),
        );
      return f.required ? s.pipe(z.string().refine((v) => v.trim().length > 0, REQUIRED)) : s.optional().transform((v) => v ?? "");
    }
    case "select": {
      const choices = (await resolveChoices(f.choices)).map((c) => c.value);
      const s = str.refine((v) => v === "" || choices.includes(v), "Select a valid choice.");
      return f.required ? s.refine((v) => v !== "", REQUIRED) : s.optional().transform((v) => v || null);
    }
    case "fk":
    case "image": {
      // an id (image: a Media id, the picker's hidden field; empty: none); whether it exists is the model's check (a field error, never a 500)
      const s = str.trim().refine((v) => v === "" || isId(v), f.widget === "image" ? "Choose an image from the library." : "Enter a valid id.");
      const n = f.required ? s.refine((v) => v !== "", REQUIRED) : s.optional();
      return n.transform((v) => (v ? Number(v) : null));
    }
    case "tags": {
      // { ids, names } (parseAdminForm gathers both keys, see TagsValue): the ids of the existing tags
      // kept or picked, and names typed for tags to add, comma-separated (a name holds no comma):
      // existing tags matched by name, new ones created by the posts service (tag.create).
      const names = str
        .max(max, `At most ${max} characters.`)
        .refine(noNul, NUL_MESSAGE)
        .optional()
        .transform((v, ctx) => {
          const list = [...new Set(splitTagNames(v ?? ""))];
          const problem = tagNamesProblem(list);
          if (problem) ctx.addIssue({ code: "custom", message: problem });
          return list;
        });
      const ids = z
        .union([str, z.array(str)])
        .optional()
        .transform((v, ctx) => {
          const list = asList(v) as string[];
          if (!list.every(isId)) ctx.addIssue({ code: "custom", message: "Choose tags from the list." });
          return [...new Set(list.map(Number))];
        });
      return z.object({ ids, names }).transform((t, ctx): TagsValue => {
        if (t.ids.length + t.names.length > MAX_TAGS) ctx.addIssue({ code: "custom", message: `At most ${MAX_TAGS} tags.` });
        return t;
      });
    }
    case "datetime": {
      const s = str.trim().transform((v, ctx) => {
        if (v === "") return null;
        const d = parseDatetimeLocal(v);
        if (!d) {
          ctx.addIssue({ code: "custom", message: "Enter a valid date and time." });
          return z.NEVER;
        }
        return d;
      });
      return f.required ? s.refine((v) => v !== null, REQUIRED) : s.optional().transform((v) => v ?? null);
    }
    case "checkbox":
      // A browser sends an unticked checkbox not at all: missing is "unticked" (false), never "required".
      return z
        .unknown()
        .optional()
        .transform((v) => v !== undefined && v !== "" && v !== "0");
  }
}

/**
 * Validates a submitted body against the visible fields; returns typed data or field messages. A value
 * sent for one of `hidden` (fields this user may not set) is refused, never silently dropped: a 400.
 */
export async function parseAdminForm(
  fields: FormField[],
  body: Record<string, unknown>,
  hidden: FormField[] = [],
): Promise<{ ok: true; data: Record<string, unknown> } | { ok: false; errors: Record<string, string> }> {
  const shape: Record<string, z.ZodType> = {};
  for (const f of fields) shape[f.name] = await fieldSchema(f);
  // a tag field's two keys (TagsValue) are one value
  const input: Record<string, unknown> = { ...(body ?? {}) };
  for (const f of fields) if (f.widget === "tags") input[f.name] = { ids: input[tagIdsKey(f)], names: input[f.name] };
  const r = await z.object(shape).safeParseAsync(input);
  const sent = hidden.filter((f) => (body ?? {})[f.name] !== undefined);
  if (r.success && !sent.length) return { ok: true, data: r.data as Record<string, unknown> };
  const errors: Record<string, string> = {};
  if (sent.length) errors.__all__ = `You may not set ${sent.map((f) => f.label.toLowerCase()).join(", ")}.`;
  if (r.success) return { ok: false, errors };
  for (const issue of r.error.issues) {
    const k = String(issue.path[0] ?? "__all__");
    // a field missing is "required"; one sent in the wrong shape (twice: an array) says so
    if (!errors[k]) errors[k] = issue.code === "invalid_type" ? ((body ?? {})[k] === undefined ? REQUIRED : issue.message) : issue.message;
  }
  return { ok: false, errors };
}
