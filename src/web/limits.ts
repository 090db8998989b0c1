// The limits a writer can meet, each stated once. Forms, their validation, the help text and the
// request body parser all read them from here, so the figure a writer is told is the figure enforced.
//
//  - A post's body (the editor: the admin's post form, for every writer): POST_BODY_MAX characters.
//  - A form request: FORM_BODY_LIMIT_BYTES, derived from the field limits with headroom: URL-encoding
//    turns one character into at most 9 bytes (a 3-byte UTF-8 character becomes %XX%XX%XX; a 4-byte
//    one is two JavaScript characters, 12 bytes), so a body of POST_BODY_MAX characters in any script,
//    plus the other fields of a post form (title 250, slug 250, excerpt 1,000, meta description 300,
//    tags ...: OTHER_FIELDS_MAX characters), always fits. A request over that cannot be a valid form
//    and is refused with a message naming both figures (formTooLargeMessage).
import express, { type RequestHandler } from "express";
import { HttpError } from "./errors.ts";

/** Characters a post's body may hold. */
export const POST_BODY_MAX = 200_000;

/** Characters of a post form's other fields together (title, slug, excerpt, tags, ...), generously. */
const OTHER_FIELDS_MAX = 10_000;

/** Worst case of URL-encoding one JavaScript character (a 3-byte UTF-8 character: %XX%XX%XX). */
const BYTES_PER_CHAR = 9;

/** The form body parser's limit in bytes (about 1.9 MB). */
export const FORM_BODY_LIMIT_BYTES = (POST_BODY_MAX + OTHER_FIELDS_MAX) * BYTES_PER_CHAR;

/** "200,000" */
export const formatCount = (n: number): string => n.toLocaleString("en-US");

/** "1.9 MB" */
const formatBytes = (n: number): string => `${(n / 1_000_000).toFixed(1)} MB`;

/** The message for a form request over FORM_BODY_LIMIT_BYTES. */
function formTooLargeMessage(): string {
  return (
    `The form was larger than the ${formatBytes(FORM_BODY_LIMIT_BYTES)} this site accepts, so nothing was saved. ` +
    `A post's body may hold ${formatCount(POST_BODY_MAX)} characters: go back, shorten the text (your browser still has it) and save again.`
  );
}

/** The field message for a text over its limit of `max` characters (`length`: as typed). */
export function tooLongMessage(max: number, length: number): string {
  return `This field may hold at most ${formatCount(max)} characters; it has ${formatCount(length)}. Nothing was saved; your text is kept: shorten it and save again.`;
}

/**
 * The form body parser (application/x-www-form-urlencoded) with FORM_BODY_LIMIT_BYTES; a body over
 * it gets a 413 whose page names the limit (not body-parser's bare "request entity too large").
 */
export function formBodyParser(): RequestHandler {
  const parse = express.urlencoded({ extended: false, limit: FORM_BODY_LIMIT_BYTES, parameterLimit: 200 });
  return (req, res, next) =>
    parse(req, res, (err?: unknown) => {
      const type = (err as { type?: string } | undefined)?.type;
      if (type === "entity.too.large") return next(new HttpError(413, formTooLargeMessage()));
      if (type === "parameters.too.many") return next(new HttpError(413, "The form had more than 200 fields, so nothing was saved."));
      next(err);
    });
}
