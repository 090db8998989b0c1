// The media module's shared types and its one error (src/media/index.ts re-exports them: import from there).
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

/** The storage could not take the files (disk full, read-only, unreachable bucket): a 503, nothing recorded. */
export class MediaStorageError extends Error {
  constructor(cause: unknown) {
    super(`media storage failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}
