// npm run dumpdata / loaddata as real processes: the JSON's shape, the round trip through a fresh
// database, loading into a database that has the content (unchanged, conflicts, skip, replace), and
// bad files: each refused with a message naming the problem, exit status 1, nothing written.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { prisma } from "../../src/db/index.ts";
import { verifyPassword } from "../../src/accounts/passwords.ts";
import {
  badFiles,
  cli,
  freshDatabase,
  makeContent,
  parseDump,
  rowCounts,
  withClient,
  writeDump as writeDumpFile,
  type Content,
  type DumpJson,
} from "./support.ts";

const dir = mkdtempSync(join(tmpdir(), "folio-dumpdata-"));
const file = (name: string) => join(dir, name);
let content: Content;
let dumpText: string;

const parse = parseDump;
const writeDump = (name: string, d: DumpJson) => writeDumpFile(file(name), d);

beforeAll(async () => {
  content = await makeContent();
  const r = await cli("dumpdata", ["--output", file("site.json")]);
  expect(r.output).toContain("dumpdata: 3 users, 1 categories, 3 tags, 4 posts, 5 revisions, 3 favorites, 0 images, 11 audit entries written to");
  expect(r.code).toBe(0);
  dumpText = readFileSync(file("site.json"), "utf8");
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("dumpdata", () => {
  it("writes Django's {model, fields} list with natural keys, the schema's migrations, and no password hashes", async () => {
    const d = parse(dumpText);
    expect(d.format).toBe("folio-dumpdata");
    expect(d.version).toBe(2);
    expect(d.migrations).toEqual(
      (await prisma.$queryRawUnsafe<{ m: string }[]>(`SELECT migration_name AS m FROM _prisma_migrations ORDER BY 1`)).map((r) => r.m),
    );
    const models = d.objects.map((o) => o.model);
    expect(models.filter((m) => m === "accounts.user")).toHaveLength(3);
    expect(new Set(models)).toEqual(
      new Set(["accounts.user", "blog.category", "blog.tag", "blog.post", "blog.postrevision", "favorites.favorite", "admin.auditlog"]),
    );
    expect(dumpText).not.toContain("passwordHash");
    expect(dumpText).not.toContain("$argon2");
    expect(d.objects.every((o) => !("pk" in o))).toBe(true);

    const hello = d.objects.find((o) => o.model === "blog.post" && o.fields.title === "Hello, world")!.fields;
    expect(hello).toMatchObject({
      publish: "2026-11-21T10:00:00.000Z",
      slug: "hello",
      author: "alice",
      category: "news",
      tags: ["orm", "sql"],
      status: "PUBLISHED",
    });
    expect(hello).not.toHaveProperty("bodyHtml");
    // Posts in publish order; revisions name their post by [date, slug] and their user by name.
    expect(d.objects.filter((o) => o.model === "blog.post").map((o) => o.fields.title)).toEqual(["A draft", "Hello, world", "Hello again", "Later"]);
    const revs = d.objects.filter((o) => o.model === "blog.postrevision" && (o.fields.post as string[])[0] === "2026-11-21");
    expect(revs.map((o) => [o.fields.title, o.fields.user])).toEqual([
      ["Hello", "alice"],
      ["Hello, world", "Bob"],
    ]);
    // Favorites name their user and post by key, oldest first (times to the millisecond).
    expect(d.objects.filter((o) => o.model === "favorites.favorite").map((o) => o.fields)).toEqual([
      { user: "Bob", post: ["2026-11-21", "hello"], createdAt: "2026-11-26T08:00:00.000Z" },
      { user: "Bob", post: ["2026-11-22", "hello"], createdAt: "2026-11-26T08:01:00.000Z" },
      { user: "carol", post: ["2026-11-21", "hello"], createdAt: "2026-11-26T09:00:00.000Z" },
    ]);
    // Audit entries name their object by key while it exists; a deleted post's entries by null.
    const audit = d.objects.filter((o) => o.model === "admin.auditlog").map((o) => o.fields);
    expect(audit.find((a) => a.model === "blog.category")).toMatchObject({ object: "news", user: "Bob" });
    expect(audit.find((a) => a.model === "accounts.user")).toMatchObject({ object: "alice" });
    expect(audit.filter((a) => a.objectRepr === "Gone soon").map((a) => [a.action, a.object])).toEqual([
      ["ADD", null],
      ["DELETE", null],
    ]);
    expect(audit.find((a) => a.model === "blog.comment")).toMatchObject({ objectId: "7" });
    expect(audit.find((a) => a.model === "blog.post" && a.action === "CHANGE")).toMatchObject({ object: ["2026-11-21", "hello"] });
  });

  it("writes the same JSON to standard output", async () => {
    const r = await cli("dumpdata", []);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(dumpText);
  });
});

describe("loaddata", () => {
  it("round trip: dump, load into a fresh database, dump again gives the same JSON; loading again adds nothing", async () => {
    const db = await freshDatabase();
    try {
      const load = await cli("loaddata", [file("site.json")], { DATABASE_URL: db.url });
      expect(load.output).toContain(
        "loaddata: 3 users added, 1 categories added, 3 tags added, 0 images added, 4 posts added, 5 revisions added, 3 favorites added, 11 audit entries added",
      );
      expect(load.output).toContain("3 new users have no password");
      expect(load.code).toBe(0);
      const again = await cli("dumpdata", ["--output", file("again.json")], { DATABASE_URL: db.url });
      expect(again.code).toBe(0);
      expect(readFileSync(file("again.json"), "utf8")).toBe(dumpText);

      // What the site derives is there: rendered HTML, the URL's date, the search vector.
      const post = await withClient(
        db.url,
        async (c) =>
          (
            await c.query(
              `SELECT "bodyHtml", "publishDate"::text AS day, "searchVector" IS NOT NULL AS searchable, "passwordHash" FROM "Post" JOIN "User" u ON u.id = "authorId" WHERE title = 'Hello, world'`,
            )
          ).rows[0],
      );
      expect(post).toMatchObject({ day: "2026-11-21", searchable: true, passwordHash: "" });
      expect(post.bodyHtml).toContain("<strong>bold</strong>");

      const before = await rowCounts(db.url);
      const twice = await cli("loaddata", [file("site.json")], { DATABASE_URL: db.url });
      expect(twice.code).toBe(0);
      expect(twice.output).toContain("0 posts added (4 already there)");
      expect(twice.output).toContain("0 revisions added (5 already there)");
      expect(twice.output).toContain("0 favorites added (3 already there)");
      // the favorites name the same users and posts there
      const favs = await withClient(
        db.url,
        async (c) =>
          (
            await c.query(
              `SELECT u.username, p.title FROM "Favorite" f JOIN "User" u ON u.id = f."userId" JOIN "Post" p ON p.id = f."postId" ORDER BY f."createdAt"`,
            )
          ).rows,
      );
      expect(favs).toEqual([
        { username: "Bob", title: "Hello, world" },
        { username: "Bob", title: "Hello again" },
        { username: "carol", title: "Hello, world" },
      ]);
      expect(await rowCounts(db.url)).toEqual(before);
    } finally {
      await db.drop();
    }
  }, 120_000);

  it("--with-passwords: the hashes travel, and a loaded user's password still works", async () => {
    const r = await cli("dumpdata", ["-o", file("with-pw.json"), "--with-passwords"]);
    expect(r.code).toBe(0);
    expect(r.output).toContain("(with password hashes)");
    const alice = parse(readFileSync(file("with-pw.json"), "utf8")).objects.find((o) => o.fields.username === "alice")!;
    expect(String(alice.fields.passwordHash)).toMatch(/^\$argon2id\$/);
    const db = await freshDatabase();
    try {
      const load = await cli("loaddata", [file("with-pw.json")], { DATABASE_URL: db.url });
      expect(load.code).toBe(0);
      expect(load.output).not.toContain("no password");
      const hash = await withClient(
        db.url,
        async (c) => (await c.query(`SELECT "passwordHash" FROM "User" WHERE username = 'alice'`)).rows[0].passwordHash as string,
      );
      expect(await verifyPassword(hash, content.users.alice.password)).toBe(true);
    } finally {
      await db.drop();
    }
  }, 120_000);

  it("into the database it came from: identical rows are left alone; a changed post is a conflict named by date and slug, and nothing loads", async () => {
    const same = await cli("loaddata", [file("site.json")]);
    expect(same.code).toBe(0);
    expect(same.output).toContain("0 users added (3 already there)");
    expect(same.output).toContain("0 audit entries added (11 already there)");
    expect(same.output).toContain("0 favorites added (3 already there)");

    // The database moves on: a post is edited, a tag deleted. The dump still has the tag.
    await prisma.post.update({ where: { id: content.posts.hello }, data: { title: "Edited since the dump", version: { increment: 1 } } });
    await prisma.tag.delete({ where: { slug: "unused" } });
    const refused = await cli("loaddata", [file("site.json")]);
    expect(refused.code).toBe(1);
    expect(refused.output).toContain("a conflict with the database; nothing was loaded");
    expect(refused.output).toContain("post 2026/11/21/hello exists with different values (title, updatedAt, version)");
    expect(refused.output).not.toMatch(/\bat .*\.ts:\d+/);
    expect(await prisma.tag.count({ where: { slug: "unused" } })).toBe(0); // all or nothing

    const skip = await cli("loaddata", [file("site.json"), "--on-conflict=skip"]);
    expect(skip.code).toBe(0);
    expect(skip.output).toContain("0 posts added (3 already there, 1 skipped)");
    expect(skip.output).toContain("1 tags added (2 already there)");
    expect((await prisma.post.findUniqueOrThrow({ where: { id: content.posts.hello } })).title).toBe("Edited since the dump");

    const before = await prisma.post.findUniqueOrThrow({ where: { id: content.posts.hello } });
    const replace = await cli("loaddata", [file("site.json"), "--on-conflict=replace"]);
    expect(replace.code).toBe(0);
    expect(replace.output).toContain("0 posts added (3 already there, 1 replaced)");
    const after = await prisma.post.findUniqueOrThrow({ where: { id: content.posts.hello } });
    expect(after.title).toBe("Hello, world");
    expect(after.version).toBeGreaterThan(before.version); // a form opened before the load is refused
  }, 120_000);

  it("a dump laid out differently (re-indented by hand) loads the same", async () => {
    writeFileSync(file("pretty.json"), JSON.stringify(parse(dumpText), null, 2));
    const db = await freshDatabase();
    try {
      const load = await cli("loaddata", [file("pretty.json")], { DATABASE_URL: db.url });
      expect(load.code).toBe(0);
      expect(load.output).toContain("4 posts added");
      expect((await cli("dumpdata", ["-o", file("pretty-again.json")], { DATABASE_URL: db.url })).code).toBe(0);
      expect(readFileSync(file("pretty-again.json"), "utf8")).toBe(dumpText);
    } finally {
      await db.drop();
    }
  }, 120_000);

  it("favorites: a missing one is added again, one with another time is a conflict (skip keeps it, replace takes the dump's)", async () => {
    const db = await freshDatabase();
    try {
      expect((await cli("loaddata", [file("site.json")], { DATABASE_URL: db.url })).code).toBe(0);
      const time = (sql: string) =>
        withClient(db.url, async (c) => {
          await c.query(sql);
          return (await c.query(`SELECT f."createdAt" AS t FROM "Favorite" f JOIN "User" u ON u.id = f."userId" WHERE u.username = 'carol'`)).rows[0]?.t as
            Date | undefined;
        });
      await time(`DELETE FROM "Favorite" f USING "User" u WHERE u.id = f."userId" AND u.username = 'carol'`);
      const back = await cli("loaddata", [file("site.json")], { DATABASE_URL: db.url });
      expect(back.output).toContain("1 favorites added (2 already there)");
      expect((await time("SELECT 1"))?.toISOString()).toBe("2026-11-26T09:00:00.000Z");

      await time(`UPDATE "Favorite" f SET "createdAt" = '2026-12-01 00:00:00+00' FROM "User" u WHERE u.id = f."userId" AND u.username = 'carol'`);
      const refused = await cli("loaddata", [file("site.json")], { DATABASE_URL: db.url });
      expect(refused.code).toBe(1);
      expect(refused.output).toContain("the favorite of carol for post 2026/11/21/hello exists with different values (createdAt)");
      const skip = await cli("loaddata", [file("site.json"), "--on-conflict=skip"], { DATABASE_URL: db.url });
      expect(skip.output).toContain("0 favorites added (2 already there, 1 skipped)");
      expect((await time("SELECT 1"))?.toISOString()).toBe("2026-12-01T00:00:00.000Z");
      const replace = await cli("loaddata", [file("site.json"), "--on-conflict=replace"], { DATABASE_URL: db.url });
      expect(replace.output).toContain("0 favorites added (2 already there, 1 replaced)");
      expect((await time("SELECT 1"))?.toISOString()).toBe("2026-11-26T09:00:00.000Z");
    } finally {
      await db.drop();
    }
  }, 120_000);

  it("emailVerifiedAt travels (null: not verified); a file made before it existed loads its users as verified at dateJoined", async () => {
    const d = parse(dumpText);
    const users = d.objects.filter((o) => o.model === "accounts.user");
    expect(users.every((u) => "emailVerifiedAt" in u.fields)).toBe(true);
    users[0]!.fields.emailVerifiedAt = null;
    delete users[1]!.fields.emailVerifiedAt; // as an older dump has it
    const db = await freshDatabase();
    try {
      const r = await cli("loaddata", [writeDump("verified.json", d)], { DATABASE_URL: db.url });
      expect(r.code, r.output).toBe(0);
      const rows = await withClient(
        db.url,
        async (c) =>
          (await c.query(`SELECT username, "emailVerifiedAt", "dateJoined" FROM "User" WHERE username = ANY($1)`, [users.map((u) => u.fields.username)])).rows,
      );
      const by = new Map(rows.map((row: { username: string; emailVerifiedAt: Date | null; dateJoined: Date }) => [row.username, row]));
      expect(by.get(users[0]!.fields.username as string)!.emailVerifiedAt).toBeNull();
      const older = by.get(users[1]!.fields.username as string)!;
      expect(older.emailVerifiedAt).toEqual(older.dateJoined);
      const kept = by.get(users[2]!.fields.username as string)!;
      expect(kept.emailVerifiedAt!.toISOString()).toBe(users[2]!.fields.emailVerifiedAt);
    } finally {
      await db.drop();
    }
  }, 60_000);

  it("a new user whose e-mail address belongs to another account is refused, whatever --on-conflict says", async () => {
    const d = parse(dumpText);
    const alice = d.objects.find((o) => o.fields.username === "alice")!;
    d.objects.push({ model: "accounts.user", fields: { ...alice.fields, username: "alice2" } });
    d.objects.splice(d.objects.indexOf(alice), 1);
    const r = await cli("loaddata", [writeDump("email-clash.json", d), "--on-conflict=replace"]);
    expect(r.code).toBe(1);
    expect(r.output).toContain("user alice2: the e-mail address alice@example.test belongs to user alice");
    expect(await prisma.user.count({ where: { username: "alice2" } })).toBe(0);
  }, 60_000);
});

const edited = (name: string, edit: (d: DumpJson) => void) => () => {
  const d = parse(dumpText);
  edit(d);
  return writeDump(name, d);
};
const post = (d: DumpJson, title: string) => d.objects.find((o) => o.model === "blog.post" && o.fields.title === title)!;

badFiles("loaddata", [
  [
    "a truncated dump",
    () => (writeFileSync(file("cut.json"), dumpText.slice(0, dumpText.length / 2)), file("cut.json")),
    "is not valid JSON (it ends too early: a truncated file?)",
  ],
  ["an empty file", () => (writeFileSync(file("empty.json"), ""), file("empty.json")), "empty.json is empty: not a Folio dump"],
  ["a file that does not exist", () => file("nowhere.json"), "nowhere.json: no such file"],
  ["a text file", () => (writeFileSync(file("notes.txt"), "just some notes\n"), file("notes.txt")), "notes.txt is not valid JSON"],
  [
    "JSON that is not a dump",
    () => (writeFileSync(file("list.json"), "[1, 2, 3]"), file("list.json")),
    'list.json is not a Folio dump (it has no "format": "folio-dumpdata"',
  ],
  [
    "a gzip file (a backup)",
    () => (writeFileSync(file("b.gz"), gzipSync("x")), file("b.gz")),
    "b.gz is gzip-compressed, not a dump: a backup made by npm run backup? Restore it with npm run restore.",
  ],
  [
    "a dump from a newer schema",
    edited("newer.json", (d) => d.migrations.push("20991231000000_from_the_future")),
    "this dump comes from a newer version of Folio: its database had a migration this version does not know (20991231000000_from_the_future)",
  ],
  ["a newer dump format", edited("format3.json", (d) => (d.version = 3)), "is in dump format 3; this version of Folio reads format 2: update Folio"],
  ["an unknown model", edited("model.json", (d) => d.objects.push({ model: "blog.comment", fields: {} })), 'unknown model "blog.comment"'],
  [
    "an invalid status",
    edited("status.json", (d) => (post(d, "Later").fields.status = "LIVE")),
    'objects[10] (blog.post 2027/01/05/later): status: Invalid option: expected one of "DRAFT"|"PUBLISHED"',
  ],
  [
    "a title over 250 characters",
    edited("long.json", (d) => (post(d, "Later").fields.title = "x".repeat(251))),
    "(blog.post 2027/01/05/later): title: Too big",
  ],
  [
    "a NUL character",
    edited("nul.json", (d) => (post(d, "Later").fields.body = "a\u0000b")),
    "body: This field contains a character that is not allowed (a NUL byte).",
  ],
  ["a slug that is not one", edited("slug.json", (d) => (post(d, "Later").fields.slug = "Not A Slug")), "slug: must be a slug"],
  ["a misspelt field", edited("field.json", (d) => (post(d, "Later").fields.titel = "typo")), 'Unrecognized key: "titel"'],
  ["a bad date", edited("date.json", (d) => (post(d, "Later").fields.publish = "yesterday")), "publish: must be a date and time like 2026-11-21T10:00:00.000Z"],
  ["a post twice", edited("twice.json", (d) => d.objects.push(post(d, "Later"))), "post 2027/01/05/later is also objects[10]"],
  [
    "a tag that is nowhere",
    edited("tag.json", (d) => (post(d, "Later").fields.tags = ["nope"])),
    "post 2027/01/05/later: tag nope is neither in the dump nor in the database",
  ],
  [
    "a favorite of a post that is nowhere",
    edited("fav-post.json", (d) =>
      d.objects.push({ model: "favorites.favorite", fields: { user: "alice", post: ["2026-01-01", "nope"], createdAt: "2026-11-26T08:00:00.000Z" } }),
    ),
    "(favorites.favorite): post 2026/01/01/nope is neither in the dump nor in the database",
  ],
  [
    "a favorite twice",
    edited("fav-twice.json", (d) => d.objects.push(d.objects.find((o) => o.model === "favorites.favorite")!)),
    "the favorite of Bob for post 2026/11/21/hello is also objects[",
  ],
  [
    "a favorite with a bad post key",
    edited("fav-key.json", (d) => (d.objects.find((o) => o.model === "favorites.favorite")!.fields.post = ["2026-13-01", "hello"])),
    "(favorites.favorite): post",
  ],
  [
    "an author who is nowhere",
    edited("author.json", (d) => (post(d, "Later").fields.author = "mallory")),
    "post 2027/01/05/later: author mallory is neither in the dump nor in the database",
  ],
]);

it("a bad command line gets the usage text and exit status 2", async () => {
  const r = await cli("loaddata", [file("site.json"), "--on-conflict=merge"]);
  expect(r.code).toBe(2);
  expect(r.output).toContain('--on-conflict must be error, skip or replace, got "merge"');
  expect(r.output).toContain("usage: npm run loaddata");
});
