// npm run backup / restore as real processes: backup, change, restore, the change is gone (every row
// of every table as it was, sequences past the restored ids, sign-ins (sessions, API refresh tokens) cleared); restore onto a fresh
// database and onto a fresh embedded cluster; a non-empty database only with --force; bad files
// (truncated, edited, newer or older schema, not a backup) refused with exit 1 and nothing written.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import request from "supertest";
import { buildApp } from "../../src/app.ts";
import { pool, prisma } from "../../src/db/index.ts";
import { createPost } from "../../src/posts/service.ts";
import { login } from "../support/auth.ts";
import { embeddedEnv, freePort } from "../ops/support.ts";
import { badFiles, cli, freshDatabase, makeContent, snapshot, withClient, type Content } from "./support.ts";

const dir = mkdtempSync(join(tmpdir(), "folio-backup-"));
chmodSync(dir, 0o755); // reachable by the postgres OS user (the embedded cluster's data goes below it when root)
const file = (name: string) => join(dir, name);
const source = () => process.env.TEST_DATABASE_URL!;
let content: Content;
let before: Record<string, string[]>;

beforeAll(async () => {
  content = await makeContent();
  // Rows in the tables dumpdata leaves out, which a backup keeps.
  await prisma.autosave.create({
    data: {
      userId: content.users.alice.id,
      postId: content.posts.draft,
      slot: `post:${content.posts.draft}`,
      fields: { title: "typed", body: "not saved yet" },
      baseVersion: 1,
    },
  });
  await prisma.passwordResetToken.create({ data: { userId: content.users.bob.id, tokenHash: "a".repeat(64), expiresAt: new Date("2026-12-31T00:00:00Z") } });
  await pool.query(`INSERT INTO rate_limit (key, points, expire) VALUES ('login:test', 3, 9007199254740991)`);
  // A signed-in session (a session row), which a backup leaves out and a restore ends.
  await login(request.agent(buildApp()), "alice", content.users.alice.password);
  expect(Number((await pool.query(`SELECT count(*) AS n FROM session`)).rows[0].n)).toBeGreaterThan(0);
  // An API refresh token: a sign-in too, left out and ended like the sessions.
  await pool.query(
    `INSERT INTO "ApiRefreshToken" (id, "familyId", "userId", "expiresAt") VALUES (gen_random_uuid(), gen_random_uuid(), $1, now() + interval '7 days')`,
    [content.users.alice.id],
  );
  before = await snapshot(source());
  expect(before.Favorite).toHaveLength(3); // content, which the backup keeps

  const r = await cli("backup", ["--output", file("site.gz")]);
  expect(r.output).toMatch(/backup: [\d,]+ rows of 14 tables and 0 media files written to .*site\.gz \([\d,]+ bytes, gzip\) in [\d.]+ s/);
  expect(r.output).toContain("backup: Post ("); // the progress line names each table as it goes
  expect(r.code).toBe(0);
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every index of the public schema, as its definition. */
const indexes = (url: string) =>
  withClient(url, async (c) =>
    (await c.query<{ d: string }>(`SELECT indexdef AS d FROM pg_indexes WHERE schemaname = 'public' ORDER BY indexname`)).rows.map((r) => r.d),
  );

/** The backup's lines, edited by `edit`, written back as `name` (with a correct checksum when `rehash`). */
function editBackup(name: string, edit: (lines: string[]) => void, rehash: boolean): string {
  const lines = gunzipSync(readFileSync(file("site.gz")))
    .toString("utf8")
    .split("\n");
  expect(lines.pop()).toBe(""); // the file ends with a newline
  const trailer = lines.pop()!;
  edit(lines);
  const body = lines.map((l) => `${l}\n`).join("");
  const end = rehash ? `${JSON.stringify({ end: "folio-backup", sha256: createHash("sha256").update(body).digest("hex") })}\n` : `${trailer}\n`;
  writeFileSync(file(name), gzipSync(body + end));
  return file(name);
}

/** The index in `lines` of the row of `table` that contains `text`. */
function rowOf(lines: string[], table: string, text: string): number {
  const tables = (JSON.parse(lines[0]!) as { tables: { name: string }[] }).tables.map((t) => t.name);
  let at = 1;
  for (let k = 0; k < tables.indexOf(table); k++) at = lines.indexOf("\\.", at) + 1;
  const i = lines.findIndex((l, n) => n >= at && l.includes(text));
  expect(i).toBeLessThan(lines.indexOf("\\.", at));
  return i;
}

function editHeader(name: string, change: (h: { migrations: string[]; tables: { name: string; rows: number }[] }) => void): string {
  return editBackup(
    name,
    (lines) => {
      const h = JSON.parse(lines[0]!);
      change(h);
      lines[0] = JSON.stringify(h);
    },
    true,
  );
}

describe("backup and restore", () => {
  it("the file holds every table but the sign-ins (sessions, API refresh tokens), the applied migrations, row counts and a checksum", () => {
    const lines = gunzipSync(readFileSync(file("site.gz")))
      .toString("utf8")
      .trimEnd()
      .split("\n");
    const header = JSON.parse(lines[0]!);
    expect(header).toMatchObject({ format: "folio-backup", version: 2, database: expect.stringMatching(/^folio_test_/), files: 0 });
    expect(header.migrations.length).toBeGreaterThanOrEqual(3);
    const names = header.tables.map((t: { name: string }) => t.name);
    expect([...names].sort()).toEqual(Object.keys(before).sort());
    expect(names).not.toContain("session");
    expect(names).not.toContain("ApiRefreshToken");
    expect(names.indexOf("Post")).toBeLessThan(names.indexOf("Favorite"));
    expect(names.indexOf("User")).toBeLessThan(names.indexOf("Post")); // parents first
    expect(names.indexOf("Post")).toBeLessThan(names.indexOf("PostTag"));
    const post = header.tables.find((t: { name: string }) => t.name === "Post");
    expect(post.columns).not.toContain("searchVector"); // generated by PostgreSQL, computed again on restore
    expect(post.columns).toContain("publishDate"); // set by a trigger (the site's time zone): kept as it was
    expect(post.rows).toBe(before.Post!.length);
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ end: "folio-backup", sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
  });

  it("backup, change, restore: the change is gone; a non-empty database needs --force", async () => {
    // Change things after the backup.
    const extra = await createPost(
      { title: "Written after the backup", body: "x", status: "PUBLISHED", publish: new Date(), authorId: content.users.alice.id, categoryId: null },
      null,
    );
    await prisma.category.update({ where: { slug: "news" }, data: { description: "Changed after the backup", version: { increment: 1 } } });
    await prisma.user.delete({ where: { username: "carol" } });
    const indexesBefore = await indexes(source());
    expect(indexesBefore.length).toBeGreaterThan(15);
    const changed = await snapshot(source());
    expect(changed).not.toEqual(before);

    const refused = await cli("restore", [file("site.gz")]);
    expect(refused.code).toBe(1);
    expect(refused.output).toMatch(/the database is not empty \(rows: .*Post: 5.*\)\. Restoring replaces everything in it: add --force/);
    expect(await snapshot(source())).toEqual(changed); // nothing written

    const r = await cli("restore", [file("site.gz"), "--force"]);
    expect(r.output).toMatch(/restore: [\d,]+ rows of 14 tables and 0 media files restored from .*site\.gz/);
    expect(r.output).toContain("restore: Post ("); // progress
    expect(r.code).toBe(0);
    expect(await snapshot(source())).toEqual(before); // every row of every table, as backed up
    expect(await indexes(source())).toEqual(indexesBefore); // dropped for the copy, built again: the same schema
    expect(await prisma.post.count({ where: { id: extra.id } })).toBe(0);
    expect(Number((await pool.query(`SELECT count(*) AS n FROM session`)).rows[0].n)).toBe(0); // everyone signs in again
    expect(Number((await pool.query(`SELECT count(*) AS n FROM "ApiRefreshToken"`)).rows[0].n)).toBe(0); // API clients too

    // The sequences are past the restored ids: new rows get new ids.
    const next = await prisma.post.create({ data: { title: "After the restore", slug: "after-the-restore", authorId: content.users.alice.id } });
    expect(next.id).toBeGreaterThan(Math.max(...before.Post!.map((p) => JSON.parse(p).id as number)));
    await prisma.post.delete({ where: { id: next.id } });
  }, 120_000);

  it("restores onto a fresh database (an external server's, like DATABASE_URL), no --force needed", async () => {
    const db = await freshDatabase();
    try {
      const r = await cli("restore", [file("site.gz")], { DATABASE_URL: db.url });
      expect(r.code).toBe(0);
      expect(await snapshot(db.url)).toEqual(before);
    } finally {
      await db.drop();
    }
  }, 120_000);

  it("restores onto a fresh embedded cluster (DATABASE_URL unset), which then holds the same content", async () => {
    const dataDir = join(dir, "embedded");
    const env = embeddedEnv(dataDir, await freePort());
    const r = await cli("restore", [file("site.gz"), "--quiet"], env);
    expect(r.output).toContain("rows of 14 tables and 0 media files restored");
    expect(r.code).toBe(0);
    const there = await cli("dumpdata", ["--output", file("embedded.json")], env);
    expect(there.code).toBe(0);
    const here = await cli("dumpdata", ["--output", file("here.json")]);
    expect(here.code).toBe(0);
    expect(readFileSync(file("embedded.json"), "utf8")).toBe(readFileSync(file("here.json"), "utf8"));
  }, 240_000);
});

badFiles("restore", [
  [
    "a truncated backup",
    () => {
      const whole = readFileSync(file("site.gz"));
      writeFileSync(file("cut.gz"), whole.subarray(0, Math.floor(whole.length / 2)));
      return file("cut.gz");
    },
    "cut.gz is truncated",
  ],
  [
    "a row edited by hand",
    () =>
      editBackup(
        "edited.gz",
        (l) => {
          const i = rowOf(l, "Post", "Hello, world");
          l[i] = l[i]!.replace("Hello, world", "Hello, w0rld");
        },
        false,
      ),
    "edited.gz is damaged or edited: its content does not match its checksum",
  ],
  [
    "a row removed (checksum made to match)",
    () => editBackup("fewer.gz", (l) => l.splice(rowOf(l, "Post", "Hello, world"), 1), true),
    "fewer.gz is damaged or edited: table Post has 3 rows, its header says 4",
  ],
  [
    "a backup from a newer schema",
    () => editHeader("newer.gz", (h) => h.migrations.push("20991231000000_from_the_future")),
    "this backup comes from a newer version of Folio: its database had a migration this version does not know (20991231000000_from_the_future)",
  ],
  [
    "a backup from an older schema",
    () => editHeader("older.gz", (h) => h.migrations.pop()),
    "the backup comes from an older schema: it lacks migrations this database has",
  ],
  [
    "a header naming a table the database lacks",
    () => editHeader("table.gz", (h) => (h.tables.find((t) => t.name === "rate_limit")!.name = "rate_limits")),
    "table rate_limits is in the backup, not in the database",
  ],
  [
    "a dump from dumpdata",
    () => (writeFileSync(file("dump.json"), '{"format":"folio-dumpdata"}'), file("dump.json")),
    "dump.json is not a Folio backup (it is not gzip-compressed; it looks like JSON: a dump from npm run dumpdata? Load that with npm run loaddata)",
  ],
  [
    "a gzip file of something else",
    () => (writeFileSync(file("other.gz"), gzipSync("hello\nworld\n")), file("other.gz")),
    "other.gz is not a Folio backup (its first line is not the backup's header)",
  ],
  ["a text file", () => (writeFileSync(file("notes.txt"), "notes\n"), file("notes.txt")), "notes.txt is not a Folio backup (it is not gzip-compressed)"],
  ["an empty file", () => (writeFileSync(file("empty.gz"), ""), file("empty.gz")), "empty.gz is empty: not a Folio backup"],
  ["a file that does not exist", () => file("nowhere.gz"), "nowhere.gz: no such file"],
]);
