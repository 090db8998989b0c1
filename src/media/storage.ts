// Where uploaded images' files live: a small storage interface (put, get, delete, exists) keyed by the
// content-hashed keys of src/media/keys.ts, and its one backend today, the disk under DATA_DIR/media/.
//
// The backend is chosen in one place, mediaStorage() below. An S3-compatible store (S3, R2, MinIO,
// Backblaze B2) is a second class implementing MediaStorage with @aws-sdk/client-s3: put = PutObject
// (with ContentType and `Cache-Control: public, max-age=31536000, immutable`), get = GetObject (Body is
// the stream, ContentLength the size; NoSuchKey -> null), delete = DeleteObject, exists = HeadObject;
// then a setting (say MEDIA_STORAGE=s3 with its bucket, endpoint and keys in src/config.ts) picks it
// here. Nothing else changes: the upload path and GET /media/<key> only talk to this interface (the
// route streams what get() returns; with a CDN in front of the bucket, mediaUrl() could point at it).
//
// The disk backend writes each file to a temporary name beside its final one, flushes it to disk and
// renames it into place: a reader (or nginx serving DATA_DIR/media directly) never sees a half-written
// file, and a crash leaves at most a dot-named temporary that no key can name. Folders are created as
// needed (mkdir -p); nothing is chowned: as root, DATA_DIR may belong to another user, and the files
// are made with the process's own umask.
import { randomBytes } from "node:crypto";
import { mkdir, open, readdir, rename, rm, stat, unlink } from "node:fs/promises";
import { dirname, join, resolve, sep } from "node:path";
import type { Readable } from "node:stream";
import { config } from "../config.ts";
import { isMediaKey } from "./keys.ts";

/** A stored file as read back: its bytes as a stream, and its size. */
export interface StoredFile {
  size: number;
  /** The bytes. Destroy it when they are not wanted after all (a HEAD, a 304). */
  stream: Readable;
}

export interface MediaStorage {
  /** Stores `bytes` under `key` (replacing what was there), all or nothing. */
  put(key: string, bytes: Buffer, contentType: string): Promise<void>;
  /** The file under `key`, or null when there is none. */
  get(key: string): Promise<StoredFile | null>;
  /** Removes the file under `key` (nothing there: fine). */
  delete(key: string): Promise<void>;
  exists(key: string): Promise<boolean>;
  /** Deletes temporaries a crash left mid-write, older than `olderThanMs` (a backend without them: none). Returns how many went. */
  purgeTemp?(olderThanMs: number): Promise<number>;
}

/** The disk backend's temporary names (".<16 hex>.tmp" beside the final file): no key can name one. */
export const TEMP_NAME = /^\.[0-9a-f]{16}\.tmp$/;

const isMissing = (e: unknown) => ["ENOENT", "ENOTDIR"].includes((e as NodeJS.ErrnoException)?.code ?? "");

/** The disk under `${config.DATA_DIR}/media/` (read at each call, so a test may point DATA_DIR elsewhere). */
export class DiskStorage implements MediaStorage {
  /** The folder the files are in. */
  root(): string {
    return resolve(config.DATA_DIR, "media");
  }

  /** The file of a key; a key of any other shape is refused before any path is built from it. */
  path(key: string): string {
    if (!isMediaKey(key)) throw new Error(`not a media key: ${JSON.stringify(key)}`);
    const root = this.root();
    const p = resolve(root, key);
    if (!p.startsWith(root + sep)) throw new Error(`media key outside the media folder: ${JSON.stringify(key)}`);
    return p;
  }

  async put(key: string, bytes: Buffer, _contentType: string): Promise<void> {
    const final = this.path(key);
    await mkdir(dirname(final), { recursive: true });
    const tmp = join(dirname(final), `.${randomBytes(8).toString("hex")}.tmp`); // TEMP_NAME
    const fh = await open(tmp, "wx", 0o644);
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } catch (e) {
      await fh.close().catch(() => {});
      await rm(tmp, { force: true });
      throw e;
    }
    await fh.close();
    try {
      await rename(tmp, final);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  }

  async get(key: string): Promise<StoredFile | null> {
    let fh;
    try {
      fh = await open(this.path(key), "r");
    } catch (e) {
      if (isMissing(e)) return null;
      throw e;
    }
    try {
      const s = await fh.stat();
      if (!s.isFile()) {
        await fh.close();
        return null;
      }
      // The stream owns the descriptor (closed at its end, or when destroyed): a file deleted meanwhile is still read whole.
      return { size: s.size, stream: fh.createReadStream({ autoClose: true }) };
    } catch (e) {
      await fh.close().catch(() => {});
      throw e;
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await unlink(this.path(key));
    } catch (e) {
      if (!isMissing(e)) throw e;
    }
  }

  async exists(key: string): Promise<boolean> {
    try {
      return (await stat(this.path(key))).isFile();
    } catch (e) {
      if (isMissing(e)) return false;
      throw e;
    }
  }

  /** Temporaries (TEMP_NAME) in the key folders older than `olderThanMs`: a write in progress is seconds old. */
  async purgeTemp(olderThanMs: number): Promise<number> {
    const root = this.root();
    const before = Date.now() - olderThanMs;
    let n = 0;
    let dirs: string[];
    try {
      dirs = (await readdir(root, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => join(root, d.name));
    } catch (e) {
      if (isMissing(e)) return 0;
      throw e;
    }
    for (const dir of dirs) {
      const names = await readdir(dir).catch((e: unknown) => (isMissing(e) ? [] : Promise.reject(e)));
      for (const name of names.filter((x) => TEMP_NAME.test(x))) {
        const file = join(dir, name);
        const s = await stat(file).catch(() => null);
        if (s?.isFile() && s.mtimeMs < before) {
          await rm(file, { force: true });
          n++;
        }
      }
    }
    return n;
  }
}

let backend: MediaStorage | undefined;

/** THE storage of uploaded images (the one place a backend is chosen: see the header). */
export function mediaStorage(): MediaStorage {
  backend ??= new DiskStorage();
  return backend;
}
