// What an upload's bytes are, whether they are accepted, and the files made from them (sharp). No
// database and no storage here: src/media/service.ts stores what this returns.
//
// Checks, in order, each refused with UploadRefused and a message the writer can act on:
//  1. size: not empty, at most MEDIA_MAX_MB (MB = 1,048,576 bytes);
//  2. type, from the bytes (sharp's metadata, which reads only the header; never the file name):
//     JPEG, PNG, WebP, GIF, or AVIF (HEIF with AV1 compression). SVG is refused (it can carry scripts),
//     as is everything else sharp can read (TIFF, HEIC...);
//  3. pixels, from the header, before anything is decoded: width x height at most MEDIA_MAX_MEGAPIXELS
//     million (an animated GIF: over all its frames), so a small file declaring 20000 x 20000 pixels (a
//     decompression bomb) costs one header read; sharp's limitInputPixels repeats the check in the decoder;
//  4. integrity: decoding stops at the first error or truncation (failOn: "error").
//
// The stored original is the image re-encoded in its own format: orientation applied (autoOrient), every
// piece of metadata dropped (EXIF with its GPS position, XMP, IPTC, comments; sharp keeps none unless
// asked) and colours converted to sRGB. Its sha256 is the item's hash (one row per distinct image).
//
// Renditions, made at upload: the widths of WIDTHS that are at most 90% of the original's (a 1920 copy of
// a 2000 px photo would save nothing), plus the original's own width, each in AVIF, WebP and the
// "base" format (the <img>'s fallback and og:image: the original's format for JPEG, PNG and GIF; PNG
// for a WebP or AVIF with transparency, else JPEG). AVIF and WebP are made up to MODERN_MAX_WIDTH (a
// 6000 px original's full-size AVIF would take seconds and serve no screen); the base format at every
// width. An animated GIF keeps its animation: GIF renditions only (each width animated), no AVIF/WebP
// (libvips' animated AVIF is not supported by every browser that shows AVIF). Other animated formats
// (WebP, AVIF) are reduced to their first frame.
import { createHash } from "node:crypto";
import { availableParallelism } from "node:os";
import type { Metadata, Sharp, default as SharpFn } from "sharp";
import { config } from "../config.ts";
import { mediaKey, MIME } from "./keys.ts";
import { UploadRefused, type RenditionFormat } from "./types.ts";

/** The widths made below the original's own (srcset steps). */
/**
 * sharp (libvips and its codecs, ~30 MB of native code and a thread pool) is loaded on the first upload,
 * not at start: a web process that never handles one never maps it (tests/ops/cluster-lean.test.ts).
 * libvips' operation cache is off: every upload is new bytes, so it would only hold memory (50 MB by default).
 */
let loaded: Promise<typeof SharpFn> | undefined;
function vips(): Promise<typeof SharpFn> {
  loaded ??= import("sharp").then(({ default: sharp }) => {
    sharp.cache(false);
    return sharp;
  });
  return loaded;
}

export const WIDTHS = [320, 640, 960, 1280, 1920] as const;
/** AVIF and WebP files are made up to this width (the base format at every width, the original's included). */
export const MODERN_MAX_WIDTH = 2560;
/** AVIF encoder effort (0-9): 3 keeps a 2000 x 1500 photo's upload around a second (README "Images"). */
export const AVIF_EFFORT = 3;

const ACCEPTED = "JPEG, PNG, WebP, GIF or AVIF";

/** The bytes' format as sniffed, with what the checks need from the header. */
export interface Sniffed {
  format: RenditionFormat;
  width: number;
  /** One frame's height. */
  height: number;
  frames: number;
  /** An animated GIF (kept animated). */
  animated: boolean;
  hasAlpha: boolean;
}

/** One file to store. */
export interface ImageFile {
  key: string;
  format: RenditionFormat;
  width: number;
  height: number;
  data: Buffer;
}

export interface Original extends ImageFile {
  /** sha256 (hex) of `data`. */
  hash: string;
  sniffed: Sniffed;
}

const mb = (n: number) => (n / 1_048_576).toFixed(1).replace(/\.0$/, "");
const megapixels = (n: number) => (n / 1_000_000).toFixed(1).replace(/\.0$/, "");
const maxBytes = () => config.MEDIA_MAX_MB * 1_048_576;
const maxPixels = () => config.MEDIA_MAX_MEGAPIXELS * 1_000_000;

/** The message for a file over MEDIA_MAX_MB (also the upload endpoint's, when it stops reading). */
export function tooLargeMessage(size?: number): string {
  const was = size === undefined ? "larger than that" : `${mb(size)} MB`;
  return `The file is too large: images may be at most ${config.MEDIA_MAX_MB} MB, and this one is ${was}. Nothing was uploaded; resize or compress it and try again.`;
}

const EMPTY_MESSAGE = "The file is empty (0 bytes). Nothing was uploaded; choose the image file again.";
const NOT_AN_IMAGE = `This file is not an image Folio accepts: its contents are not ${ACCEPTED}, whatever its name says. Nothing was uploaded.`;
const SVG_MESSAGE = "SVG images are not accepted: an SVG file can carry scripts. Export the picture as PNG or WebP and upload that. Nothing was uploaded.";
const DAMAGED_MESSAGE =
  "The image is damaged or incomplete (the file may have been cut short): it could not be read. Nothing was uploaded; export or download it again and upload the new file.";

/** Checks 1-3 of the header: the format and size, or UploadRefused. Reads only the header. */
export async function sniff(bytes: Buffer): Promise<Sniffed> {
  if (bytes.length === 0) throw new UploadRefused(EMPTY_MESSAGE);
  if (bytes.length > maxBytes()) throw new UploadRefused(tooLargeMessage(bytes.length));
  let m: Metadata;
  try {
    // header only: nothing is decoded, so no pixel limit here (sharp's default would call a large image
    // "exceeds pixel limit"); ours is checked below with the figures
    const sharp = await vips();
    m = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch {
    throw new UploadRefused(NOT_AN_IMAGE);
  }
  let format: RenditionFormat;
  if (m.format === "jpeg" || m.format === "png" || m.format === "webp" || m.format === "gif") format = m.format;
  else if (m.format === "heif" && m.compression === "av1") format = "avif";
  else if (m.format === "svg") throw new UploadRefused(SVG_MESSAGE);
  else if (m.format === "heif")
    throw new UploadRefused(`HEIC photos are not accepted. Export the photo as JPEG (most phones can be set to do so) and upload that. Nothing was uploaded.`);
  else throw new UploadRefused(`${String(m.format).toUpperCase()} images are not accepted: upload a ${ACCEPTED} file. Nothing was uploaded.`);
  const width = m.width ?? 0;
  const height = m.pageHeight ?? m.height ?? 0;
  if (width < 1 || height < 1) throw new UploadRefused(DAMAGED_MESSAGE);
  const frames = format === "gif" ? Math.max(1, m.pages ?? 1) : 1;
  const pixels = width * height * frames;
  if (pixels > maxPixels()) {
    const what =
      frames > 1
        ? `${width} × ${height} pixels in ${frames} frames (${megapixels(pixels)} megapixels in all)`
        : `${width} × ${height} pixels (${megapixels(pixels)} megapixels)`;
    throw new UploadRefused(
      `The image is too large: it is ${what}, and images may have at most ${config.MEDIA_MAX_MEGAPIXELS} megapixels. Nothing was uploaded; resize it and try again.`,
    );
  }
  return { format, width, height, frames, animated: frames > 1, hasAlpha: m.hasAlpha === true };
}

/** A decoding pipeline of the upload (orientation applied; stops at the first error or truncation). */
function decode(sharp: typeof SharpFn, bytes: Buffer, s: Sniffed): Sharp {
  return sharp(bytes, { failOn: "error", limitInputPixels: Math.max(maxPixels(), 1), animated: s.animated, autoOrient: !s.animated });
}

/** Encoder settings per format; `original`: the stored original, kept at a higher quality. */
function encode(p: Sharp, format: RenditionFormat, original: boolean): Sharp {
  switch (format) {
    case "avif":
      return p.avif({ quality: original ? 62 : 50, effort: AVIF_EFFORT });
    case "webp":
      return p.webp({ quality: original ? 88 : 78, effort: 2 });
    case "jpeg":
      // mozjpeg (smaller, 4x slower) for the original only: the JPEG renditions are the fallback of the
      // few browsers without AVIF/WebP, and crawlers' og:image
      return p.jpeg({ quality: original ? 90 : 80, progressive: true, mozjpeg: original });
    case "png":
      return p.png({ compressionLevel: 9, effort: 5 });
    case "gif":
      return p.gif();
  }
}

/** The <img>'s fallback format and og:image's: JPEG, PNG or GIF. */
export function baseFormat(s: Sniffed): RenditionFormat {
  if (s.format === "jpeg" || s.format === "png" || s.format === "gif") return s.format;
  return s.hasAlpha ? "png" : "jpeg";
}

/**
 * At most one encode per CPU core (and 3) at a time, process-wide: the encodes run on libuv's thread pool (4
 * threads), which file reads and password hashing (argon2) share; a burst of uploads waits here
 * instead of starving them.
 */
const ENCODERS = Math.max(1, Math.min(availableParallelism(), 3));
let running = 0;
const waiting: (() => void)[] = [];
async function limited<T>(f: () => Promise<T>): Promise<T> {
  if (running < ENCODERS) running++;
  else await new Promise<void>((go) => waiting.push(go)); // the slot is handed over, still counted
  try {
    return await f();
  } finally {
    const next = waiting.shift();
    if (next) next();
    else running--;
  }
}

/** The upload's pixels decoded once (orientation applied), shared by its renditions' encodes. */
interface Pixels {
  data: Buffer;
  raw: { width: number; height: number; channels: 1 | 2 | 3 | 4 };
}

/**
 * Decodes a still upload once to raw pixels, so that each of its ~15 renditions resizes and encodes from
 * memory instead of decoding the file again (a 2000 x 1500 JPEG: see README "Images"). Animated images
 * keep decoding per file (their frames are not kept raw). Null for those.
 */
async function decodeOnce(bytes: Buffer, s: Sniffed): Promise<Pixels | null> {
  if (s.animated) return null;
  const sharp = await vips();
  const { data, info } = await limited(() => decode(sharp, bytes, s).raw().toBuffer({ resolveWithObject: true }));
  return { data, raw: { width: info.width, height: info.height, channels: info.channels } };
}

function render(bytes: Buffer | Pixels, s: Sniffed, hash: string, width: number | null, format: RenditionFormat, original: boolean): Promise<ImageFile> {
  return limited(() => encodeOne(bytes, s, hash, width, format, original));
}

async function encodeOne(
  bytes: Buffer | Pixels,
  s: Sniffed,
  hash: string,
  width: number | null,
  format: RenditionFormat,
  original: boolean,
): Promise<ImageFile> {
  const sharp = await vips();
  let p = Buffer.isBuffer(bytes) ? decode(sharp, bytes, s) : sharp(bytes.data, { raw: bytes.raw });
  if (width !== null) p = p.resize({ width, withoutEnlargement: true });
  const { data, info } = await encode(p, format, original).toBuffer({ resolveWithObject: true });
  const height = s.animated ? (info.pageHeight ?? info.height) : info.height;
  return { key: hash ? mediaKey(hash, info.width, format) : "", format, width: info.width, height, data };
}

const damaged = (e: unknown): never => {
  if (e instanceof UploadRefused) throw e;
  throw new UploadRefused(DAMAGED_MESSAGE);
};

/** Sniffs, checks and re-encodes the original (orientation applied, metadata dropped): its bytes and hash. */
export async function prepareOriginal(bytes: Buffer): Promise<Original> {
  const sniffed = await sniff(bytes);
  const file = await render(bytes, sniffed, "", null, sniffed.format, true).catch(damaged);
  const hash = createHash("sha256").update(file.data).digest("hex");
  return { ...file, key: mediaKey(hash, file.width, file.format), hash, sniffed };
}

/** Every file of an image: the original and its renditions, by format (AVIF, WebP, then the base format), smallest first. */
export async function makeRenditions(bytes: Buffer, o: Original): Promise<ImageFile[]> {
  const s = o.sniffed;
  const base = baseFormat(s);
  const widths = [...WIDTHS.filter((w) => w <= o.width * 0.9), o.width];
  const formats: RenditionFormat[] = s.animated ? [base] : (["avif", "webp", base] as RenditionFormat[]).filter((f, i, all) => all.indexOf(f) === i);
  const pixels = (await decodeOnce(bytes, s).catch(damaged)) ?? bytes;
  const jobs: Promise<ImageFile>[] = [];
  for (const format of formats)
    for (const w of widths) {
      if (format === o.format && w === o.width) continue; // the original itself
      if ((format === "avif" || format === "webp") && w > MODERN_MAX_WIDTH) continue;
      jobs.push(render(pixels, s, o.hash, w === o.width ? null : w, format, false));
    }
  const made = await Promise.all(jobs).catch(damaged);
  const all: ImageFile[] = [o, ...made];
  const order: RenditionFormat[] = ["avif", "webp", "jpeg", "png", "gif"];
  return all.sort((a, b) => order.indexOf(a.format) - order.indexOf(b.format) || a.width - b.width);
}

export const mimeOf = (format: RenditionFormat): string => MIME[format];
