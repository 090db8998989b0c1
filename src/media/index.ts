// Uploaded images: the contract the rest of the code uses (the media engineer fills it in).
// An upload is sniffed from its bytes (never the file name), bounded in bytes and pixels, stripped of
// EXIF/metadata (orientation applied), stored under a content-hashed key with responsive renditions
// (several widths; AVIF and WebP plus the original format) made by sharp, and recorded as a Media row
// (one row per distinct image: the same bytes uploaded twice are one item). Files are served from
// /media/<key> with immutable caching (the key changes when the bytes do).
import type { Media } from "../generated/prisma/client.ts";

export type RenditionFormat = "avif" | "webp" | "jpeg" | "png" | "gif";

/** One stored file of an image: `key` is its storage key (content-hashed), served at mediaUrl(key). */
export interface Rendition {
  width: number;
  height: number;
  format: RenditionFormat;
  key: string;
  bytes: number;
}

/** A Media row with its renditions typed. */
export type MediaItem = Pick<Media, "id" | "hash" | "storageKey" | "filename" | "mime" | "width" | "height" | "bytes" | "alt"> & { renditions: Rendition[] };

/** An upload refused (type, size, pixels, unreadable bytes): a 400 with `message` shown to the writer. Nothing was stored. */
export class UploadRefused extends Error {
  readonly status = 400;
  readonly expose = true;
  constructor(message: string) {
    super(message);
  }
}

/** STUB: store an upload (see the header): the Media item, existing or new. Throws UploadRefused. */
export async function saveUpload(_bytes: Buffer, _filename: string, _userId: number | null): Promise<MediaItem> {
  throw new UploadRefused("Image uploads are not available yet.");
}

/** The public URL path of a stored file ("/media/<key>"). */
export function mediaUrl(key: string): string {
  return `/media/${key}`;
}

export interface PictureOptions {
  /** The `sizes` attribute: how wide the image is shown, e.g. "(min-width: 760px) 720px, 100vw". */
  sizes: string;
  /** Below the fold: loading="lazy" (above it: eager, fetchpriority high for the main image). */
  lazy: boolean;
  /** Overrides the item's own alt text (a Markdown image's alt); the item's when undefined. */
  alt?: string;
  className?: string;
}

/** STUB: a <picture> (AVIF and WebP sources, the original format's srcset on the <img>, width/height, loading). */
export function pictureHtml(m: MediaItem, opts: PictureOptions): string {
  const alt = opts.alt ?? m.alt;
  const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");
  return `<img src="${esc(mediaUrl(m.storageKey))}" alt="${esc(alt)}" width="${m.width}" height="${m.height}"${opts.lazy ? ' loading="lazy"' : ""}${opts.className ? ` class="${esc(opts.className)}"` : ""}>`;
}

/** STUB: the absolute URL of the rendition for og:image / Twitter / JSON-LD (about 1200 px wide, JPEG or PNG). */
export function socialImageUrl(m: MediaItem, siteUrl: string): string {
  return `${siteUrl}${mediaUrl(m.storageKey)}`;
}
