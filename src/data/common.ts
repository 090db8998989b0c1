// What npm run dumpdata / loaddata / backup / restore share: the error that a command prints as one
// line (bad input, a refused operation: exit status 1, nothing written), the schema check of a file
// against the migrations this code knows, and file helpers.
import { once } from "node:events";
import { createWriteStream, renameSync, rmSync, type WriteStream } from "node:fs";
import { basename, dirname, join } from "node:path";
import { randomBytes } from "node:crypto";
import { committedMigrations } from "../db/migrate.ts";

/** A bad input or a refused operation: the command prints the message (no stack) and exits 1. */
export class DataError extends Error {}

/** How a command reports on its work (stderr by default; tests and --quiet may silence it). */
export type Log = (line: string) => void;

/**
 * Refuses a file whose schema is newer than this code's: `migrations` are the migrations applied to
 * the database it came from. `what`: "dump" or "backup", for the message.
 */
export function checkKnownMigrations(migrations: string[], what: string): void {
  const known = new Set(committedMigrations());
  const unknown = migrations.filter((m) => !known.has(m));
  if (unknown.length) {
    throw new DataError(
      `this ${what} comes from a newer version of Folio: its database had ${unknown.length === 1 ? "a migration" : "migrations"} ` +
        `this version does not know (${unknown.join(", ")}). Update Folio (git pull, npm ci) and try again.`,
    );
  }
}

/** The first bytes of a gzip stream. */
export function isGzip(head: Uint8Array): boolean {
  return head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
}

/**
 * A file written under a temporary name in the same folder and renamed into place by `commit()`,
 * so a failed command leaves no file (or the previous one) behind. `abort()` removes the temporary.
 */
export interface PendingFile {
  stream: WriteStream;
  path: string;
  commit(): Promise<void>;
  abort(): void;
}

export async function openPendingFile(path: string): Promise<PendingFile> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString("hex")}.tmp`);
  const stream = createWriteStream(tmp, { flags: "wx", mode: 0o600 });
  await Promise.race([once(stream, "open"), once(stream, "error").then(([e]) => Promise.reject(e as Error))]).catch((e: NodeJS.ErrnoException) => {
    throw new DataError(`cannot write ${path}: ${e.code === "ENOENT" ? "no such folder" : e.message}`);
  });
  let done = false;
  return {
    stream,
    path,
    async commit() {
      if (!stream.writableEnded) stream.end();
      if (!stream.closed) await once(stream, "close");
      renameSync(tmp, path);
      done = true;
    },
    abort() {
      if (done) return;
      stream.destroy();
      rmSync(tmp, { force: true });
      done = true;
    },
  };
}

/** Writes `chunk`, waiting while the stream's buffer is full. */
export async function writeAll(stream: NodeJS.WritableStream, chunk: string | Buffer): Promise<void> {
  if (!stream.write(chunk)) await once(stream, "drain");
}

/** A message for a failed read of a named input file. */
export function readFailure(path: string, e: unknown): DataError {
  const err = e as NodeJS.ErrnoException;
  if (err.code === "ENOENT") return new DataError(`${path}: no such file`);
  if (err.code === "EISDIR") return new DataError(`${path} is a folder, not a file`);
  if (err.code === "EACCES") return new DataError(`${path}: permission denied`);
  return new DataError(`cannot read ${path}: ${err.message}`);
}
