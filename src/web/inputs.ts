// The input primitives every parser of the site uses (admin forms and change lists, the account
// and editor forms, the reader's URLs, the JSON endpoints). Two facts of PostgreSQL shape them:
//  - a text value cannot hold the NUL character (U+0000): a query carrying one fails as a whole;
//  - every id (and version) column is an `integer` (int4): a number above 2,147,483,647 fails the
//    query, even in a WHERE clause that could never match.
// So each input is checked here, before anything reaches the database, and answered as follows:
//  - an id in a path that is not a positive int4 is the site's 404 (no such object can exist): pathId();
//  - an id in a form field, a select or a query parameter that is not one is a 400 with the field's
//    message (toId() / idString());
//  - a NUL in a text field is a 400 with the field's message NUL_MESSAGE (noNul()): what a writer
//    submits is stored as sent or not at all, never silently altered; no keyboard types a NUL, so
//    the message only ever meets a broken client or a probe;
//  - a NUL in a search box (reader search, the admin's change-list search) is dropped with the
//    other control characters (searchText()): a search is a question, not stored data, and the
//    words around it are still worth answering.
import { z } from "zod";
import { notFound } from "./errors.ts";

/** PostgreSQL's integer (int4) maximum: every id and version column is one. */
export const INT4_MAX = 2_147_483_647;

/** A plain positive integer of at most 10 digits (the int4 range is then checked by value). */
const ID_PATTERN = /^[1-9]\d{0,9}$/;

/** `v` as an id (a positive int4 given as digits, or as a number), or null. */
export function toId(v: unknown): number | null {
  if (typeof v === "number") return Number.isInteger(v) && v >= 1 && v <= INT4_MAX ? v : null;
  if (typeof v !== "string" || !ID_PATTERN.test(v)) return null;
  const n = Number(v);
  return n <= INT4_MAX ? n : null;
}

export const isId = (v: unknown): boolean => toId(v) !== null;

/** An id from the URL's path: anything but a positive int4 is the site's 404. */
export function pathId(v: unknown): number {
  const id = toId(v);
  if (id === null) throw notFound();
  return id;
}

/** zod: a single form or query value that must be an id (surrounding spaces ignored) -> number; `message` otherwise. */
export const idString = (message = "Enter a valid id.") =>
  z
    .string({ error: message })
    .trim()
    .refine(isId, message)
    .transform(Number);

/** The field message for text carrying a NUL character. */
export const NUL_MESSAGE = "This field contains a character that is not allowed (a NUL byte).";

/** For zod's refine(): true when the text can be stored (no NUL). */
export const noNul = (s: string): boolean => !s.includes("\u0000");

/**
 * Search-box text as the database can take it: NUL and the other control characters (tab and
 * newlines aside) become spaces, runs of white space one space, the ends trimmed.
 */
export function searchText(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, " ").replace(/\s+/g, " ").trim();
}
