// Images in pages: the <picture> of an item (AVIF and WebP sources, the base format on the <img>), the
// URL a Markdown body links to, and the og:image URL. Pure functions of a MediaItem (no query).
import type { MediaItem, Rendition, RenditionFormat } from "./types.ts";

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
  /**
   * The widest file worth offering, in device pixels (how wide the image is ever shown, times the
   * screen density): wider renditions stay out of the srcsets, which keeps a page of thumbnails small
   * (each candidate is ~90 bytes of HTML per format). Undefined: every rendition.
   */
  maxWidth?: number;
}

/** Text or an attribute value escaped for HTML (& < > " '): the one escaper of the media and blog renderers. */
export const escapeHtml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");

const BASE_FORMATS: RenditionFormat[] = ["jpeg", "png", "gif"];

/** An item's files in `format`, narrowest first. */
function inFormat(m: MediaItem, format: RenditionFormat): Rendition[] {
  return m.renditions.filter((r) => r.format === format).sort((a, b) => a.width - b.width);
}

/** The files of `list` (narrowest first) up to `max` px wide: those at most `max`, and the first wider one when none reaches it. */
function upTo(list: Rendition[], max: number | undefined): Rendition[] {
  if (max === undefined) return list;
  return list.filter((r, i) => r.width <= max || i === 0 || list[i - 1]!.width < max);
}

/**
 * The files in the item's base format (JPEG, PNG or GIF: what every browser and crawler shows), narrowest
 * first; an item without them (renditions lost) falls back to its original.
 */
export function baseRenditions(m: MediaItem): Rendition[] {
  for (const f of BASE_FORMATS) {
    const list = inFormat(m, f);
    if (list.length) return list;
  }
  const format = (m.mime.replace("image/", "") as RenditionFormat) || "jpeg";
  return [{ width: m.width, height: m.height, format, key: m.storageKey, bytes: m.bytes }];
}

/** The narrowest file at least `min` px wide, else the widest. */
function atLeast(list: Rendition[], min: number): Rendition {
  return list.find((r) => r.width >= min) ?? list[list.length - 1]!;
}

const srcset = (list: Rendition[]) => list.map((r) => `${mediaUrl(r.key)} ${r.width}w`).join(", ");

/**
 * A <picture>: AVIF and WebP <source>s (when the item has them: an animated GIF has not), then the <img>
 * with the base format's srcset, a ~960 px src, the intrinsic width and height (no layout shift), alt,
 * loading="lazy" below the fold (or eager with fetchpriority="high" for the main image) and decoding="async".
 * Every attribute is escaped.
 */
export function pictureHtml(m: MediaItem, opts: PictureOptions): string {
  const alt = opts.alt ?? m.alt;
  const sizes = escapeHtml(opts.sizes);
  let out = "<picture>";
  for (const f of ["avif", "webp"] as const) {
    const list = upTo(inFormat(m, f), opts.maxWidth);
    if (list.length) out += `<source type="image/${f}" srcset="${escapeHtml(srcset(list))}" sizes="${sizes}">`;
  }
  const base = upTo(baseRenditions(m), opts.maxWidth);
  const src = atLeast(base, 960);
  const cls = opts.className ? ` class="${escapeHtml(opts.className)}"` : "";
  const loading = opts.lazy ? ' loading="lazy"' : ' loading="eager" fetchpriority="high"';
  out += `<img src="${escapeHtml(mediaUrl(src.key))}" srcset="${escapeHtml(srcset(base))}" sizes="${sizes}" width="${m.width}" height="${m.height}" alt="${escapeHtml(alt)}"${cls}${loading} decoding="async">`;
  return `${out}</picture>`;
}

/** The absolute URL of the base-format file for og:image, Twitter and JSON-LD: about 1200 px wide (JPEG or PNG; GIF for a GIF). */
export function socialImageUrl(m: MediaItem, siteUrl: string): string {
  return `${siteUrl.replace(/\/+$/, "")}${mediaUrl(atLeast(baseRenditions(m), 1200).key)}`;
}

/** The URL an upload answers with and a Markdown body links to: the widest base-format file up to 1920 px. */
export function displayUrl(m: MediaItem): string {
  const base = baseRenditions(m);
  return mediaUrl([...base].reverse().find((r) => r.width <= 1920)?.key ?? base[0]!.key);
}

/** `![alt](url)` for an item, the alt text's brackets and backslashes escaped. */
export function markdownFor(m: MediaItem, alt = m.alt): string {
  return `![${alt.replace(/[\\[\]]/g, "\\$&").replace(/[\r\n]+/g, " ")}](${displayUrl(m)})`;
}
