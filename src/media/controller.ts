// HTTP in and out for images: serving stored files (GET/HEAD /media/<key>) and the upload endpoint
// (POST /admin/media/upload/, multipart field `file`). Routes: src/media/routes.ts.
import { pipeline } from "node:stream/promises";
import multer from "multer";
import type { ErrorRequestHandler, Request, RequestHandler, Response } from "express";
import { can } from "../accounts/permissions.ts";
import { config } from "../config.ts";
import { tooLargeMessage } from "./images.ts";
import { MIME, parseMediaKey } from "./keys.ts";
import { displayUrl, markdownFor } from "./html.ts";
import { saveUpload } from "./service.ts";
import { mediaStorage } from "./storage.ts";
import { MediaStorageError, UploadRefused } from "./types.ts";

// ------------------------------------------------------------------ serving

const IMMUTABLE = "public, max-age=31536000, immutable";

/**
 * GET and HEAD /media/<dir>/<file>: the stored file, cacheable forever (its key changes with its bytes).
 * The key is checked against its exact shape (src/media/keys.ts) before storage is asked; anything else
 * (an unknown key, "..", encoded dots, backslashes, NUL) goes on to the site's 404. No session, no query.
 */
export const serveMedia: RequestHandler = async (req, res, next) => {
  const key = `${String(req.params.dir)}/${String(req.params.file)}`;
  const parsed = parseMediaKey(key);
  // the path exactly as sent: no trailing slash, no percent-encoded spelling of a valid key
  if (!parsed || req.path !== `/media/${key}`) return next();
  const file = await mediaStorage().get(key);
  if (!file) return next();
  res.status(200);
  res.set({
    "Content-Type": MIME[parsed.format],
    "Content-Length": String(file.size),
    "Cache-Control": IMMUTABLE,
    ETag: `"${key.slice(3)}"`, // the file name: the content hash, width and format
    "X-Content-Type-Options": "nosniff",
    // an image opened on its own is still not a document: no scripts, no plugins, no framing
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox",
  });
  if (req.fresh || req.method === "HEAD") {
    file.stream.destroy();
    if (req.fresh) res.status(304).removeHeader("Content-Length");
    res.end();
    return;
  }
  try {
    await pipeline(file.stream, res);
  } catch (err) {
    // The client went away mid-file (or the disk failed after the headers): nothing more can be said.
    if (!res.writableFinished) req.log?.debug({ err, key }, "media: file not sent whole");
  }
};

// ------------------------------------------------------------------ uploading

/** Multipart overhead allowed beyond the file itself (boundaries, part headers, a few small fields). */
const OVERHEAD_BYTES = 64 * 1024;
const maxBytes = () => config.MEDIA_MAX_MB * 1_048_576;

/** A refusal as application/problem+json, the shape the site's error handler gives JSON clients (src/web/errors.ts). */
function refuse(res: Response, status: 400 | 403 | 413 | 503, message: string): void {
  const title = { 400: "Bad request", 403: "Forbidden", 413: "Request too large", 503: "Service unavailable" }[status];
  res
    .status(status)
    .type("application/problem+json")
    .send(JSON.stringify({ status, title, detail: message, errors: { file: message } }));
}

/** Who may upload: media.create (src/accounts/permissions.ts: authors and up). */
export const mayUpload: RequestHandler = (req, res, next) => {
  if (!can(req.user, "media.create")) return refuse(res, 403, "Your account cannot upload images.");
  next();
};

/** A request that says it is over the limit is refused before a byte of it is read. */
export const declaredSize: RequestHandler = (req, res, next) => {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > maxBytes() + OVERHEAD_BYTES) return refuse(res, 413, tooLargeMessage());
  next();
};

/**
 * The multipart parser: one file in memory, at most MEDIA_MAX_MB. Past the limit multer stops keeping
 * the bytes (the file's stream is cut at limit + 1), discards the rest of the request as it arrives (so
 * the browser, still sending, can read the answer) and reports LIMIT_FILE_SIZE, mapped to a 413 below.
 */
export const multipart: RequestHandler = (req, res, next) =>
  // made per request (cheap): the limit follows config.MEDIA_MAX_MB as it is now
  multer({
    storage: multer.memoryStorage(),
    defParamCharset: "utf8", // browsers send file names in UTF-8 (multer's default reads them as Latin-1)
    limits: { fileSize: maxBytes(), files: 1, fields: 5, fieldSize: 1024, fieldNameSize: 100, parts: 8, headerPairs: 20 },
  }).single("file")(req, res, next);

const MULTER_MESSAGES: Record<string, string> = {
  LIMIT_FILE_COUNT: "Upload one image at a time.",
  LIMIT_UNEXPECTED_FILE: "Send the image in the form field “file”.",
  LIMIT_PART_COUNT: "The upload had too many parts: send one image in the field “file”.",
  LIMIT_FIELD_COUNT: "The upload had too many fields: send one image in the field “file”.",
  LIMIT_FIELD_KEY: "The upload had a field name that is too long.",
  LIMIT_FIELD_VALUE: "The upload had a field that is too long.",
};

/** Errors of the multipart parser as 400/413 answers (a client that went away gets none). */
export const multipartErrors: ErrorRequestHandler = (err, req, res, next) => {
  if (err instanceof UploadRefused || res.headersSent) return next(err);
  const code = (err as { code?: string })?.code;
  if (code === "LIMIT_FILE_SIZE") return refuse(res, 413, tooLargeMessage());
  // a part named "file" without a file name is a text field to the parser (too long for one)
  if (code === "LIMIT_FIELD_VALUE" && (err as { field?: string }).field === "file")
    return refuse(res, 400, "The form field “file” came without a file name, so it is not a file. Choose the image file again.");
  if (code && MULTER_MESSAGES[code]) return refuse(res, 400, MULTER_MESSAGES[code]);
  if (req.destroyed || req.socket.destroyed) return; // aborted: nobody to answer
  // busboy: a malformed body, a missing boundary, a request cut short
  refuse(res, 400, "The upload could not be read (it was cut short or is not a valid multipart form). Nothing was uploaded; try again.");
};

const fileOf = (req: Request) => (req as Request & { file?: Express.Multer.File }).file;

/** POST /admin/media/upload/: 201 with the item and its Markdown, or a refusal (problem+json, errors.file). */
export const upload: RequestHandler = async (req, res) => {
  const file = fileOf(req);
  if (!file) return refuse(res, 400, "Choose an image file to upload (the form field “file”).");
  try {
    const item = await saveUpload(file.buffer, file.originalname, req.user!.id);
    res.status(201).json({
      id: item.id,
      url: displayUrl(item),
      width: item.width,
      height: item.height,
      alt: item.alt,
      filename: item.filename,
      markdown: markdownFor(item),
    });
  } catch (e) {
    if (e instanceof MediaStorageError) {
      req.log?.error({ err: e.cause }, "media: the upload's files could not be stored");
      res.setHeader("Retry-After", "30");
      return refuse(res, 503, "The image could not be stored right now (the server's storage failed); nothing was saved. Try again in a little while.");
    }
    if (!(e instanceof UploadRefused)) throw e;
    refuse(res, 400, e.message);
  }
};
