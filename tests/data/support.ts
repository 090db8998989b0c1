// Helpers for the data commands' tests: the commands run as real processes (tsx), against this file's
// test database or a fresh one cloned from the migrated template; content is made through the app's
// own services; tables are compared row by row.
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import pg from "pg";
import { dropDatabase, ensureDatabase } from "../../src/db/migrate.ts";
import { createPost, deletePosts, updatePost } from "../../src/posts/service.ts";
import { recordAction } from "../../src/audit/index.ts";
import { favorite } from "../../src/favorites/service.ts";
import { pool, prisma } from "../../src/db/index.ts";
import { createUser, makeCategory, makeTag } from "../support/fixtures.ts";
import { spawnProcess } from "../ops/support.ts";

export interface CliResult {
  code: number | null;
  /** stdout + stderr */
  output: string;
  stdout: string;
}

/** Runs src/cli/<script>.ts with `args` on the database at `url` (default: this file's). */
export async function cli(script: string, args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  const p = spawnProcess(`src/cli/${script}.ts`, args, { DATABASE_URL: process.env.TEST_DATABASE_URL!, LOG_LEVEL: "warn", ...env });
  let stdout = "";
  p.child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  const exit = await p.exited;
  return { code: exit.code, output: p.output(), stdout };
}

/** A new empty database with every migration applied (a clone of the test template). */
export async function freshDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const adminUrl = inject("pgAdminUrl");
  const name = `folio_test_${randomBytes(6).toString("hex")}`;
  await ensureDatabase(adminUrl, name, inject("pgTemplate"));
  return { url: adminUrl.replace(/\/postgres(\?|$)/, `/${name}$1`), drop: () => dropDatabase(adminUrl, name) };
}

/** A dumpdata file as parsed. */
export interface DumpJson {
  format: string;
  version: number;
  migrations: string[];
  objects: { model: string; fields: Record<string, unknown> }[];
}
export const parseDump = (text: string) => JSON.parse(text) as DumpJson;

/** Writes `d` as JSON to `path`; returns the path. */
export function writeDump(path: string, d: DumpJson): string {
  writeFileSync(path, JSON.stringify(d));
  return path;
}

/** Runs `fn` with a client on `url`. */
export async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

const TABLES_SQL = `SELECT relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = 'public' AND c.relkind = 'r' AND relname NOT IN ('_prisma_migrations', 'session', 'ApiRefreshToken') ORDER BY relname`;

/** Every row of every table (sign-ins: sessions and API refresh tokens, and migration history aside), as sorted JSON per table: what a backup must restore. */
export function snapshot(url: string): Promise<Record<string, string[]>> {
  return withClient(url, async (c) => {
    const out: Record<string, string[]> = {};
    for (const { name } of (await c.query<{ name: string }>(TABLES_SQL)).rows) {
      const { rows } = await c.query<{ r: string }>(`SELECT to_jsonb(t)::text AS r FROM ${pg.escapeIdentifier(name)} t`);
      out[name] = rows.map((x) => x.r).sort();
    }
    return out;
  });
}

/** Rows per table (sign-ins aside). */
export function rowCounts(url: string): Promise<Record<string, number>> {
  return withClient(url, async (c) => {
    const out: Record<string, number> = {};
    for (const { name } of (await c.query<{ name: string }>(TABLES_SQL)).rows) {
      out[name] = Number((await c.query<{ n: string }>(`SELECT count(*) AS n FROM ${pg.escapeIdentifier(name)}`)).rows[0]!.n);
    }
    return out;
  });
}

export interface Content {
  users: { alice: { id: number; password: string }; bob: { id: number; password: string } };
  posts: { hello: number; draft: number; scheduled: number; helloAgain: number };
}

/**
 * A small site with every kind of row a dump holds, made through the app's services: users of
 * several roles (one inactive, one with a last login), a category, tags (one unused), published,
 * draft and scheduled posts (two with the same slug on different days), revisions from an edit,
 * favorites (of the two posts with the same slug, one by an inactive user), audit entries (for posts, a
 * deleted post, a category, a user, and a model without a natural key).
 */
export async function makeContent(): Promise<Content> {
  const alice = await createUser({ username: "alice", role: "AUTHOR", firstName: "Alice", lastName: "Liddell" });
  const bob = await createUser({ username: "Bob", role: "EDITOR" });
  const carol = await createUser({ username: "carol", role: "READER" });
  await prisma.user.update({ where: { id: bob.user.id }, data: { lastLogin: new Date("2026-11-30T08:15:00.123Z"), bio: "Edits.\nTwo lines." } });
  const news = await makeCategory("News", "news", "What's new — with ünïcode.");
  await recordAction({ userId: bob.user.id, action: "ADD", model: "blog.category", objectId: news.id, objectRepr: news.name, changes: { added: true } });
  const sql = await makeTag("SQL", "sql");
  const orm = await makeTag("ORM", "orm");
  await makeTag("Unused", "unused");
  const actor = { id: alice.user.id };
  const base = { body: "Some **bold** text and `code`.\n\n- one\n- two", authorId: alice.user.id, categoryId: news.id };
  const hello = await createPost(
    { ...base, title: "Hello", slug: "hello", status: "PUBLISHED", publish: new Date("2026-11-21T10:00:00.000Z"), tagIds: [sql.id, orm.id] },
    actor,
  );
  const helloAgain = await createPost(
    { ...base, title: "Hello again", slug: "hello", status: "PUBLISHED", publish: new Date("2026-11-22T09:30:00.000Z"), tagIds: [sql.id] },
    actor,
  );
  const draft = await createPost({ ...base, title: "A draft", status: "DRAFT", publish: new Date("2026-10-01T12:00:00.000Z"), categoryId: null }, actor);
  const scheduled = await createPost(
    { ...base, title: "Later", status: "PUBLISHED", publish: new Date("2027-01-05T07:00:00.000Z"), excerpt: "Hand-written excerpt." },
    actor,
  );
  await updatePost(
    hello.id,
    hello.version,
    { ...base, title: "Hello, world", slug: "hello", status: "PUBLISHED", publish: hello.publish, tagIds: [sql.id, orm.id] },
    { id: bob.user.id },
  );
  const gone = await createPost({ ...base, title: "Gone soon", status: "DRAFT", publish: new Date("2026-11-01T00:00:00.000Z") }, actor);
  await deletePosts([gone.id], { id: bob.user.id });
  await recordAction({
    userId: bob.user.id,
    action: "CHANGE",
    model: "accounts.user",
    objectId: alice.user.id,
    objectRepr: "alice",
    changes: { changed: ["role"] },
  });
  await recordAction({ userId: null, action: "DELETE", model: "blog.comment", objectId: "7", objectRepr: "A comment", changes: {} });
  // Times with microseconds, as PostgreSQL's now() writes them (a dump keeps milliseconds).
  await pool.query(
    `INSERT INTO "AuditLog" ("userId", action, model, "objectId", "objectRepr", changes, "createdAt") VALUES ($1, 'CHANGE', 'blog.tag', $2, 'SQL', '{"changed": ["name"]}', '2026-11-25 10:00:00.123789+00')`,
    [bob.user.id, String(sql.id)],
  );
  await pool.query(`UPDATE "PostRevision" SET "createdAt" = '2026-11-21 10:00:00.999999+00' WHERE "postId" = $1 AND title = 'Hello'`, [hello.id]);
  // Favorites through the favorites service (published posts only), then set apart in time (with microseconds).
  await favorite(bob.user.id, hello.id);
  await favorite(bob.user.id, helloAgain.id);
  await favorite(carol.user.id, hello.id);
  await pool.query(
    `UPDATE "Favorite" SET "createdAt" = timestamptz '2026-11-26 08:00:00.000123+00' + ("userId" = $1)::int * interval '1 hour' + ("postId" = $2)::int * interval '1 minute'`,
    [carol.user.id, helloAgain.id],
  );
  await prisma.user.update({ where: { id: carol.user.id }, data: { isActive: false } });
  return {
    users: { alice: { id: alice.user.id, password: alice.password }, bob: { id: bob.user.id, password: bob.password } },
    posts: { hello: hello.id, draft: draft.id, scheduled: scheduled.id, helloAgain: helloAgain.id },
  };
}

/**
 * A suite of bad input files for `script` (loaddata, restore): each case makes a file and names the
 * message expected. Each run must print that message (no stack trace), exit with status 1, and leave
 * a fresh database without a row.
 */
export function badFiles(script: string, cases: [what: string, make: () => string, message: string][]): void {
  describe(`${script} refuses bad files: a message naming the problem, exit 1, nothing written`, () => {
    let db: { url: string; drop(): Promise<void> };
    beforeAll(async () => {
      db = await freshDatabase();
    });
    afterAll(() => db.drop());

    it.each(cases)(
      "%s",
      async (_what, make, message) => {
        const r = await cli(script, [make()], { DATABASE_URL: db.url });
        expect(r.output).toContain(message);
        expect(r.code).toBe(1);
        expect(r.output).not.toMatch(/\bat .*\.ts:\d+/); // a message, not a stack trace
        // nothing but the site state the migrations seed ("SiteState": the time zone post dates are in)
        const { SiteState: seeded, ...rows } = await rowCounts(db.url);
        expect(Object.values(rows).every((n) => n === 0)).toBe(true);
        expect(seeded).toBe(1);
      },
      60_000,
    );
  });
}
