// Input rules for accounts, shared by the web forms and the CLI (createsuperuser, changepassword).
//  - Usernames: like Django's: at most 150 characters, letters, digits and @ . + - _ (Unicode letters
//    allowed), unique case-insensitively.
//  - E-mail: required, at most 254 characters, stored lower-cased (so unique case-insensitively).
//  - Passwords (Django's four validators): at least 12 characters (PASSWORD_MIN_LENGTH), not too
//    similar to the username / e-mail / names, not entirely numeric, not a common password.
import { z } from "zod";
import { noNul, NUL_MESSAGE } from "../web/inputs.ts";

export type FieldErrors = Record<string, string>;

export const PASSWORD_MIN_LENGTH = 12;
/** Longer inputs are refused before hashing (bounded work per request). */
const PASSWORD_MAX_LENGTH = 1024;
const USERNAME_MAX_LENGTH = 150;
const EMAIL_MAX_LENGTH = 254;
const NAME_MAX_LENGTH = 150;

const USERNAME_RE = /^[\p{L}\p{N}_.@+-]+$/u;
// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\u0000-\u001f\u007f]/;

/** A single-valued text form field: missing -> "", arrays/objects refused, NUL and control characters refused. */
export function text(max: number, opts: { required?: string; allowNewlines?: boolean; trim?: boolean } = {}) {
  return z.preprocess(
    (v) => (v === undefined || v === null ? "" : v),
    z
      .string({ error: "Enter a single text value." })
      .max(max * 4, `Ensure this value has at most ${max} characters.`)
      .transform((s) => (opts.trim === false ? s : s.trim()))
      .pipe(
        z
          .string()
          .max(max, `Ensure this value has at most ${max} characters.`)
          .refine(noNul, NUL_MESSAGE)
          .refine(
            // eslint-disable-next-line no-control-regex
            (s) => (opts.allowNewlines ? !/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(s) : !CONTROL_RE.test(s)),
            "Control characters are not allowed.",
          )
          .refine((s) => !opts.required || s.length > 0, opts.required ?? "This field is required."),
      ),
  );
}

/** A password field: never trimmed, length-limited, no NUL. */
export function passwordField(required = "This field is required.") {
  return z.preprocess(
    (v) => (v === undefined || v === null ? "" : v),
    z
      .string({ error: "Enter a single text value." })
      .max(PASSWORD_MAX_LENGTH, `Ensure this value has at most ${PASSWORD_MAX_LENGTH} characters.`)
      .refine(noNul, NUL_MESSAGE)
      .refine((s) => s.length > 0, required),
  );
}

export const usernameField = text(USERNAME_MAX_LENGTH, { required: "Enter a username." })
  .transform((s) => s.normalize("NFKC"))
  .refine((s) => s.length === 0 || USERNAME_RE.test(s), "Enter a valid username. It may contain only letters, numbers, and @/./+/-/_ characters.");

export const emailField = text(EMAIL_MAX_LENGTH, { required: "Enter an e-mail address." })
  .transform((s) => s.toLowerCase())
  .refine((s) => s.length === 0 || z.email().safeParse(s).success, "Enter a valid e-mail address.");

export const nameField = text(NAME_MAX_LENGTH);

/** Parses a form body with a zod object schema; field errors keyed by field name (first message each). */
export function parseForm<T extends z.ZodType>(schema: T, body: unknown): { ok: true; data: z.output<T> } | { ok: false; errors: FieldErrors } {
  const res = schema.safeParse(body && typeof body === "object" ? body : {});
  if (res.success) return { ok: true, data: res.data };
  const errors: FieldErrors = {};
  for (const issue of res.error.issues) {
    const key = issue.path.length ? String(issue.path[0]) : "__all__";
    if (!(key in errors)) errors[key] = issue.message;
  }
  return { ok: false, errors };
}

/** The submitted values to show again in a form with errors: single strings only, passwords never. */
export function keptValues(body: unknown, fields: string[], max = 2000): Record<string, string> {
  const out: Record<string, string> = {};
  const b = body && typeof body === "object" ? (body as Record<string, unknown>) : {};
  for (const f of fields) {
    const v = b[f];
    out[f] = typeof v === "string" ? v.slice(0, max).replace(/\0/g, "") : "";
  }
  return out;
}

// --- password validators ------------------------------------------------------------------------

// Common passwords (lower-case): the usual leaked-list leaders that pass a 12-character minimum, and
// the stems people pad to reach it ("Password1234!" is "password" + padding).
const COMMON_STEMS = [
  "password",
  "passw0rd",
  "p@ssw0rd",
  "p@ssword",
  "qwerty",
  "qwertyuiop",
  "asdfghjkl",
  "zxcvbnm",
  "letmein",
  "iloveyou",
  "welcome",
  "admin",
  "administrator",
  "monkey",
  "dragon",
  "football",
  "baseball",
  "basketball",
  "sunshine",
  "princess",
  "trustno1",
  "superman",
  "batman",
  "master",
  "shadow",
  "michael",
  "jennifer",
  "hello",
  "freedom",
  "whatever",
  "starwars",
  "changeme",
  "secret",
  "login",
  "abc",
  "abcdef",
  "qazwsx",
  "1q2w3e4r",
  "1qaz2wsx",
  "pokemon",
  "charlie",
  "computer",
  "internet",
  "blink182",
  "liverpool",
  "chelsea",
  "arsenal",
  "soccer",
  "hockey",
  "mustang",
  "access",
  "default",
  "guest",
  "root",
  "test",
  "folio",
  "blog",
  "correcthorsebatterystaple",
];
const COMMON_FULL = new Set([
  "123456789012",
  "1234567890123",
  "12345678901234",
  "123456789abc",
  "1234567890qwerty",
  "qwertyuiop123",
  "qwertyuiopasdf",
  "qwerty123456",
  "password1234",
  "password12345",
  "password123456",
  "passwordpassword",
  "iloveyou1234",
  "letmein12345",
  "welcome12345",
  "abcdefghijkl",
  "abcdefghijklmnop",
  "abc123abc123",
  "aaaaaaaaaaaa",
  "111111111111",
  "000000000000",
  "1q2w3e4r5t6y",
  "1qaz2wsx3edc",
  "zaq12wsxcde3",
  "administrator",
  "correcthorsebatterystaple",
  "trustno1trustno1",
  "princess1234",
  "sunshine1234",
  "football1234",
  "baseball1234",
  "superman1234",
  "starwars1234",
  "changemenow1",
  "changeme1234",
  "mypassword123",
  "thisismypassword",
  "letmeinplease",
  "welcomewelcome",
]);

function isCommon(password: string): boolean {
  const p = password.toLowerCase();
  if (COMMON_FULL.has(p)) return true;
  // Strip padding (digits, symbols, repeats) and compare the stem.
  const stem = p
    .replace(/[^a-z@0-9]+$/g, "")
    .replace(/[0-9!@#$%^&*.?_-]+$/g, "")
    .replace(/^[0-9!@#$%^&*.?_-]+/g, "");
  if (COMMON_STEMS.includes(stem)) return true;
  // The same stem repeated ("qwertyqwerty").
  for (const s of COMMON_STEMS) if (s.length >= 4 && stem.length > 0 && stem.replaceAll(s, "") === "") return true;
  return false;
}

/** Python's SequenceMatcher.quick_ratio(): 2 * (common characters as multisets) / (total length). */
function quickRatio(a: string, b: string): number {
  if (!a.length && !b.length) return 1;
  const counts = new Map<string, number>();
  for (const ch of b) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let matches = 0;
  for (const ch of a) {
    const n = counts.get(ch) ?? 0;
    if (n > 0) {
      matches++;
      counts.set(ch, n - 1);
    }
  }
  return (2 * matches) / (a.length + b.length);
}

const ATTRIBUTE_LABELS: Record<string, string> = { username: "username", email: "e-mail address", firstName: "first name", lastName: "last name" };

/** Django's password validators. Returns the messages (empty when the password is acceptable). */
export function validatePassword(password: string, attrs: { username?: string; email?: string; firstName?: string; lastName?: string } = {}): string[] {
  const errors: string[] = [];
  if (password.length < PASSWORD_MIN_LENGTH) errors.push(`This password is too short. It must contain at least ${PASSWORD_MIN_LENGTH} characters.`);
  if (password.length > PASSWORD_MAX_LENGTH) errors.push(`This password is too long (at most ${PASSWORD_MAX_LENGTH} characters).`);
  const lower = password.toLowerCase();
  for (const [key, label] of Object.entries(ATTRIBUTE_LABELS)) {
    const value = (attrs as Record<string, string | undefined>)[key]?.toLowerCase();
    if (!value) continue;
    const parts = [value, ...value.split(/\W+/).filter((p) => p.length >= 3)];
    const similar = parts.some((part) => quickRatio(lower, part) >= 0.7 || (part.length >= 4 && lower.includes(part)));
    if (similar) {
      errors.push(`The password is too similar to the ${label}.`);
      break;
    }
  }
  if (isCommon(password)) errors.push("This password is too common.");
  if (/^\d+$/.test(password)) errors.push("This password is entirely numeric.");
  return errors;
}

/** Refines a schema whose output has `password1`/`password2` (+ identity fields): match + validators. */
export function checkNewPassword(
  data: { password1: string; password2: string },
  attrs: { username?: string; email?: string; firstName?: string; lastName?: string },
): FieldErrors {
  if (data.password1 !== data.password2) return { password2: "The two password fields didn't match." };
  const problems = validatePassword(data.password1, attrs);
  return problems.length ? { password1: problems.join(" ") } : {};
}
