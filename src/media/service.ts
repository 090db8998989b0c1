// Uploads stored, and the lookups the rest of the site uses (import them from src/media/index.ts).
//
// saveUpload: the bytes are checked and the original re-encoded (src/media/images.ts); an image whose
// original hash is already in the table is that row (nothing made, nothing written). Otherwise every
// rendition is made in the request (about a second and a half for a 2000 x 1500 photo: README "Images";
// the writer waits for it and gets URLs that work at once, with no job and no half-made item to show),
// the files are stored (storage.ts: each written whole, then renamed into place), and only then is the
// row inserted: a row never names a file that is not there. Two uploads of one image at once both store
// the same files under the same keys (same bytes) and one insert wins on the unique hash; the other
// returns the winner's row. When the insert fails otherwise (the database is down), the files stay:
// they are content-addressed, so the retry reuses them, and no row points at them meanwhile.
import { prisma } from "../db/index.ts";
import { uniqueTarget } from "../db/saves.ts";
import { recordAction } from "../audit/index.ts";
import { config } from "../config.ts";
import type { Prisma } from "../generated/prisma/client.ts";
import { makeRenditions, mimeOf, prepareOriginal } from "./images.ts";
import { parseMediaKey } from "./keys.ts";
import { mediaStorage } from "./storage.ts";
import { MediaStorageError, type MediaItem, type Rendition, type RenditionFormat } from "./types.ts";

/** The columns a MediaItem is read from (one select for every lookup). */
export const MEDIA_SELECT = {
  id: true,
  hash: true,
  storageKey: true,
  filename: true,
  mime: true,
  width: true,
  height: true,
  bytes: true,
  alt: true,
  renditions: true,
} as const satisfies Prisma.MediaSelect;

type Row = Prisma.MediaGetPayload<{ select: typeof MEDIA_SELECT }>;

const FORMATS = new Set<string>(["avif", "webp", "jpeg", "png", "gif"]);

/** The renditions column as typed (entries of another shape are left out). */
function renditionsOf(json: Prisma.JsonValue): Rendition[] {
  if (!Array.isArray(json)) return [];
  const out: Rendition[] = [];
  for (const r of json) {
    if (!r || typeof r !== "object" || Array.isArray(r)) continue;
    const { width, height, format, key, bytes } = r as Record<string, unknown>;
    if (typeof width === "number" && typeof height === "number" && typeof key === "string" && typeof bytes === "number" && FORMATS.has(String(format)))
      out.push({ width, height, format: format as RenditionFormat, key, bytes });
  }
  return out;
}

/** A row as a MediaItem. */
export function toMediaItem(row: Row): MediaItem {
  return { ...row, renditions: renditionsOf(row.renditions) };
}

/** The name an upload is shown under: its last path part, without control characters, at most 255 characters. */
export function cleanFilename(name: string, format: RenditionFormat): string {
  const base = (name.split(/[\\/]/).pop() ?? "")
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, "")
    .trim();
  const out = base || `image.${format === "jpeg" ? "jpg" : format}`;
  return out.length > 255 ? out.slice(0, 255) : out;
}

const byHash = (hash: string) => prisma.media.findUnique({ where: { hash }, select: MEDIA_SELECT });

/**
 * Stores an upload: the Media item, existing (the same image uploaded before) or new. Throws
 * UploadRefused (nothing stored) for an empty, too large, non-image, SVG, too many pixels or damaged file.
 */
export async function saveUpload(bytes: Buffer, filename: string, userId: number | null): Promise<MediaItem> {
  const original = await prepareOriginal(bytes);
  const existing = await byHash(original.hash);
  if (existing) return toMediaItem(existing);
  const files = await makeRenditions(bytes, original);
  const storage = mediaStorage();
  // Sequentially: a few files of tens of kB each; a failed write leaves the rest unwritten (and no row).
  try {
    for (const f of files) await storage.put(f.key, f.data, mimeOf(f.format));
  } catch (e) {
    throw new MediaStorageError(e); // no row names these files; the ones written are reused by a retry
  }
  const renditions: Rendition[] = files.map((f) => ({ width: f.width, height: f.height, format: f.format, key: f.key, bytes: f.data.length }));
  const name = cleanFilename(filename, original.format);
  try {
    const row = await prisma.$transaction(async (tx) => {
      const created = await tx.media.create({
        data: {
          hash: original.hash,
          storageKey: original.key,
          filename: name,
          mime: mimeOf(original.format),
          width: original.width,
          height: original.height,
          bytes: original.data.length,
          renditions: renditions as unknown as Prisma.InputJsonValue,
          uploadedById: userId,
        },
        select: MEDIA_SELECT,
      });
      await recordAction({ userId, action: "ADD", model: "media.media", objectId: created.id, objectRepr: name, changes: { added: true } }, tx);
      return created;
    });
    return toMediaItem(row);
  } catch (e) {
    if (!uniqueTarget(e)) throw e;
    const winner = await byHash(original.hash); // the same image, stored by a concurrent upload
    if (!winner) throw e;
    return toMediaItem(winner);
  }
}

/** One item, or null. */
export async function getMedia(id: number): Promise<MediaItem | null> {
  if (!Number.isSafeInteger(id) || id < 1 || id > 2_147_483_647) return null;
  const row = await prisma.media.findUnique({ where: { id }, select: MEDIA_SELECT });
  return row ? toMediaItem(row) : null;
}

/** Items by id, in one query (cards: featured images of a page of posts). Unknown ids are left out. */
export async function mediaForIds(ids: readonly number[]): Promise<Map<number, MediaItem>> {
  const wanted = [...new Set(ids)].filter((id) => Number.isSafeInteger(id) && id >= 1 && id <= 2_147_483_647);
  if (wanted.length === 0) return new Map();
  const rows = await prisma.media.findMany({ where: { id: { in: wanted } }, select: MEDIA_SELECT });
  return new Map(rows.map((r) => [r.id, toMediaItem(r)]));
}

/** The storage key of a URL of a stored file ("/media/<key>", or absolute on SITE_URL; query and fragment ignored), or null. */
export function keyOfUrl(u: string): string | null {
  let path = u.trim();
  if (path.startsWith(config.SITE_URL)) path = path.slice(config.SITE_URL.length);
  path = path.split(/[?#]/, 1)[0]!;
  if (!path.startsWith("/media/")) return null;
  const key = path.slice("/media/".length);
  return parseMediaKey(key) ? key : null;
}

/**
 * The items the URLs show, by URL: any rendition's URL or the original's (`/media/<key>`, or absolute on
 * SITE_URL) maps to its item. One query: a key names its original's hash. URLs of no stored file are left out.
 * `db`: a transaction's client when called inside one (the save path: no second connection from the pool).
 */
export async function mediaByUrls(urls: readonly string[], db: Pick<Prisma.TransactionClient, "media"> = prisma): Promise<Map<string, MediaItem>> {
  const keys = new Map<string, string>(); // url -> key
  for (const u of urls) {
    const k = keyOfUrl(u);
    if (k) keys.set(u, k);
  }
  const hashes = [...new Set([...keys.values()].map((k) => parseMediaKey(k)!.hash))];
  const out = new Map<string, MediaItem>();
  if (hashes.length === 0) return out;
  const rows = await db.media.findMany({ where: { hash: { in: hashes } }, select: MEDIA_SELECT });
  const byKey = new Map<string, MediaItem>();
  for (const row of rows) {
    const item = toMediaItem(row);
    byKey.set(item.storageKey, item);
    for (const r of item.renditions) byKey.set(r.key, item);
  }
  for (const [u, k] of keys) {
    const item = byKey.get(k);
    if (item) out.set(u, item);
  }
  return out;
}
