// Storage keys of images' files: `<hash[0:2]>/<hash>-<width>.<ext>`, where hash is the sha256 (hex) of
// the stored original (EXIF stripped, orientation applied) and width the file's width in pixels, e.g.
// "3f/3fa9…c2-640.avif". A rendition's bytes are a function of the original and its width and format,
// so the key changes whenever the bytes could, and the files can be cached forever (immutable). The
// two-character folder keeps any one folder small (256 of them).
//
// Every key from outside (a URL) is checked against KEY_RE before anything touches storage: only
// lower-case hex, a width without a leading zero, and one of five extensions; the folder must be the
// hash's first two characters. Nothing else (no "..", no "%2e", no backslash, no NUL) can match.
import type { RenditionFormat } from "./types.ts";

const KEY_RE = /^([0-9a-f]{2})\/(\1[0-9a-f]{62})-([1-9][0-9]{0,4})\.(avif|webp|jpg|png|gif)$/;

const EXT: Record<RenditionFormat, string> = { avif: "avif", webp: "webp", jpeg: "jpg", png: "png", gif: "gif" };
const FORMAT_OF_EXT: Record<string, RenditionFormat> = { avif: "avif", webp: "webp", jpg: "jpeg", png: "png", gif: "gif" };

/** The Content-Type of each format. */
export const MIME: Record<RenditionFormat, string> = { avif: "image/avif", webp: "image/webp", jpeg: "image/jpeg", png: "image/png", gif: "image/gif" };

/** The key of the file of width `width` in `format` of the original whose sha256 is `hash`. */
export function mediaKey(hash: string, width: number, format: RenditionFormat): string {
  return `${hash.slice(0, 2)}/${hash}-${width}.${EXT[format]}`;
}

export interface ParsedKey {
  hash: string;
  width: number;
  format: RenditionFormat;
}

/** The parts of a well-formed key, or null for anything else. */
export function parseMediaKey(key: string): ParsedKey | null {
  const m = KEY_RE.exec(key);
  return m ? { hash: m[2]!, width: Number(m[3]), format: FORMAT_OF_EXT[m[4]!]! } : null;
}

export const isMediaKey = (key: string): boolean => KEY_RE.test(key);
