// Uploaded images in the data commands, as real processes: dumpdata writes the Media rows (by hash),
// posts' featured images and meta titles and users' avatars (by hash), and loaddata reads them back
// (the body's images, PostMedia, derived again from the body); a format 1 dump (before images) still
// loads. npm run backup carries the images' files (DATA_DIR/media) with the rows, and restore puts
// them back, into another DATA_DIR too; a file missing when the backup was made, or one edited in the
// backup, is said so.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from "node:fs";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { prisma } from "../../src/db/index.ts";
import { updatePost } from "../../src/posts/service.ts";
import { setAlt } from "../../src/media/library.ts";
import { displayUrl, type MediaItem } from "../../src/media/index.ts";
import { uploaded, useTempDataDir } from "../media/library-support.ts";
import { cli, freshDatabase, makeContent, parseDump, snapshot, withClient, writeDump as writeDumpFile, type Content, type DumpJson } from "./support.ts";

const dataDir = useTempDataDir(); // this process's DATA_DIR (saveUpload writes the files here)
const dir = mkdtempSync(join(tmpdir(), "folio-data-media-"));
chmodSync(dir, 0o755);
const file = (name: string) => join(dir, name);
const here = { DATA_DIR: dataDir };
let content: Content;
let cover: MediaItem, inline: MediaItem, face: MediaItem;
let dumpText: string;

const parse = parseDump;
const writeDump = (name: string, d: DumpJson) => writeDumpFile(file(name), d);
const keysOf = (m: MediaItem) => [m.storageKey, ...m.renditions.map((r) => r.key)];

beforeAll(async () => {
  content = await makeContent();
  const alice = content.users.alice.id;
  cover = await uploaded("cover.jpg", alice, "A cover photo");
  inline = await uploaded("inline.jpg", alice); // no alt of its own: the Markdown gives one
  face = await uploaded("face.jpg", alice, "Alice");
  await setAlt(face.id, 1, "Alice, smiling", { id: content.users.bob.id }); // an audit entry about an image
  const hello = (await prisma.post.findUniqueOrThrow({ where: { id: content.posts.hello }, include: { tags: true } }))!;
  await updatePost(
    hello.id,
    hello.version,
    {
      title: hello.title,
      slug: hello.slug,
      body: `${hello.body}\n\n![A harbour at dawn](${displayUrl(inline)})`,
      status: "PUBLISHED",
      publish: hello.publish,
      authorId: hello.authorId,
      categoryId: hello.categoryId,
      tagIds: hello.tags.map((t) => t.tagId),
      featuredImageId: cover.id,
      metaTitle: "Hello, the meta title",
    },
    { id: alice },
  );
  await prisma.user.update({ where: { id: alice }, data: { avatarId: face.id } });
  expect(await prisma.postMedia.findMany({ where: { postId: hello.id } })).toEqual([{ postId: hello.id, mediaId: inline.id }]);

  const r = await cli("dumpdata", ["--output", file("site.json")], here);
  expect(r.code, r.output).toBe(0);
  expect(r.output).toContain("3 images");
  expect(r.output).toContain("copy DATA_DIR/media/");
  dumpText = readFileSync(file("site.json"), "utf8");
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("dumpdata and loaddata", () => {
  it("the dump names images by hash: their rows, a post's featured image and meta title, a user's avatar, audit entries about them", () => {
    const d = parse(dumpText);
    expect(d.version).toBe(2);
    const media = d.objects.filter((o) => o.model === "media.media").map((o) => o.fields);
    expect(media.map((m) => m.filename)).toEqual(["cover.jpg", "inline.jpg", "face.jpg"]);
    expect(media[0]).toMatchObject({ hash: cover.hash, storageKey: cover.storageKey, alt: "A cover photo", uploadedBy: "alice", width: 640, height: 480 });
    expect(media[0]!.renditions).toEqual(cover.renditions);
    expect(media[0]).not.toHaveProperty("id");
    const hello = d.objects.find((o) => o.model === "blog.post" && o.fields.title === "Hello, world")!.fields;
    expect(hello).toMatchObject({ featuredImage: cover.hash, metaTitle: "Hello, the meta title" });
    expect(d.objects.find((o) => o.model === "accounts.user" && o.fields.username === "alice")!.fields.avatar).toBe(face.hash);
    expect(d.objects.find((o) => o.model === "accounts.user" && o.fields.username === "Bob")!.fields.avatar).toBeNull();
    const audit = d.objects.filter((o) => o.model === "admin.auditlog" && o.fields.model === "media.media").map((o) => o.fields);
    expect(audit.find((a) => a.action === "CHANGE")).toMatchObject({ object: face.hash, user: "Bob" });
  });

  it("round trip into a fresh database: the same dump again, the body's images derived again; it says which images have no file", async () => {
    const db = await freshDatabase();
    const elsewhere = mkdtempSync(join(tmpdir(), "folio-data-media-empty-"));
    try {
      const load = await cli("loaddata", [file("site.json")], { DATABASE_URL: db.url, DATA_DIR: elsewhere });
      expect(load.code, load.output).toBe(0);
      expect(load.output).toContain("3 images added");
      expect(load.output).toMatch(/3 images have no file in DATA_DIR\/media \(cover\.jpg, inline\.jpg, face\.jpg\)/);
      const again = await cli("dumpdata", ["--output", file("again.json")], { DATABASE_URL: db.url });
      expect(again.code).toBe(0);
      expect(readFileSync(file("again.json"), "utf8")).toBe(dumpText);
      const rows = await withClient(db.url, async (c) => ({
        post: (
          await c.query(
            `SELECT p."metaTitle", m.hash AS featured, p."wordCount", p."bodyHtml" FROM "Post" p JOIN "Media" m ON m.id = p."featuredImageId" WHERE p.title = 'Hello, world'`,
          )
        ).rows[0],
        inBody: (await c.query(`SELECT m.hash FROM "PostMedia" pm JOIN "Media" m ON m.id = pm."mediaId"`)).rows,
        avatar: (await c.query(`SELECT m.hash FROM "User" u JOIN "Media" m ON m.id = u."avatarId" WHERE u.username = 'alice'`)).rows,
      }));
      expect(rows.post).toMatchObject({ metaTitle: "Hello, the meta title", featured: cover.hash });
      expect(rows.post.wordCount).toBeGreaterThan(3);
      expect(rows.post.bodyHtml).toContain(inline.hash); // the image rendered from the library
      expect(rows.inBody).toEqual([{ hash: inline.hash }]);
      expect(rows.avatar).toEqual([{ hash: face.hash }]);

      const twice = await cli("loaddata", [file("site.json")], { DATABASE_URL: db.url, DATA_DIR: dataDir });
      expect(twice.code, twice.output).toBe(0);
      expect(twice.output).toContain("0 images added (3 already there)");
      expect(twice.output).not.toContain("no file in DATA_DIR");
    } finally {
      await db.drop();
      rmSync(elsewhere, { recursive: true, force: true });
    }
  }, 120_000);

  it("a changed alt text is a conflict named by the image; --on-conflict=replace takes the dump's", async () => {
    const d = parse(dumpText);
    d.objects.find((o) => o.model === "media.media" && o.fields.filename === "cover.jpg")!.fields.alt = "Another description";
    const path = writeDump("alt.json", d);
    const r = await cli("loaddata", [path], here);
    expect(r.code).toBe(1);
    expect(r.output).toContain(`image cover.jpg (${cover.hash.slice(0, 12)}…) exists with different values (alt)`);
    expect((await prisma.media.findUniqueOrThrow({ where: { id: cover.id } })).alt).toBe("A cover photo");
    const replaced = await cli("loaddata", [path, "--on-conflict=replace"], here);
    expect(replaced.code, replaced.output).toBe(0);
    expect(replaced.output).toContain("0 images added (2 already there, 1 replaced)");
    expect((await prisma.media.findUniqueOrThrow({ where: { id: cover.id } })).alt).toBe("Another description");
    await prisma.media.update({ where: { id: cover.id }, data: { alt: "A cover photo", version: 1 } });
  }, 60_000);

  it("a format 1 dump (made before images) still loads", async () => {
    const d = parse(dumpText);
    d.version = 1;
    d.objects = d.objects.filter((o) => o.model !== "media.media" && o.fields.model !== "media.media");
    for (const o of d.objects) {
      delete o.fields.avatar;
      delete o.fields.featuredImage;
      delete o.fields.metaTitle;
    }
    const db = await freshDatabase();
    try {
      const r = await cli("loaddata", [writeDump("format1.json", d)], { DATABASE_URL: db.url });
      expect(r.code, r.output).toBe(0);
      expect(r.output).toContain("0 images added, 4 posts added");
      const post = await withClient(
        db.url,
        async (c) => (await c.query(`SELECT "featuredImageId", "metaTitle" FROM "Post" WHERE title = 'Hello, world'`)).rows[0],
      );
      expect(post).toEqual({ featuredImageId: null, metaTitle: "" });
    } finally {
      await db.drop();
    }
  }, 60_000);

  it("an image that is nowhere, or a storage key that is not one, is refused with the object named; nothing loads", async () => {
    const d = parse(dumpText);
    d.objects.find((o) => o.model === "blog.post" && o.fields.title === "Hello again")!.fields.featuredImage = "f".repeat(64);
    d.objects.find((o) => o.model === "media.media" && o.fields.filename === "face.jpg")!.fields.storageKey = "../../etc/passwd";
    const db = await freshDatabase();
    try {
      const bad = await cli("loaddata", [writeDump("bad-key.json", d)], { DATABASE_URL: db.url });
      expect(bad.code).toBe(1);
      expect(bad.output).toContain("(media.media face.jpg): storageKey: must be a media storage key");
      d.objects.find((o) => o.model === "media.media" && o.fields.filename === "face.jpg")!.fields.storageKey = face.storageKey;
      const nowhere = await cli("loaddata", [writeDump("nowhere.json", d)], { DATABASE_URL: db.url });
      expect(nowhere.code).toBe(1);
      expect(nowhere.output).toContain(`post 2026/11/22/hello: featured image ${"f".repeat(64)} is neither in the dump nor in the database`);
      expect(await withClient(db.url, async (c) => Number((await c.query(`SELECT count(*) AS n FROM "Post"`)).rows[0].n))).toBe(0);
    } finally {
      await db.drop();
    }
  }, 60_000);
});

describe("backup and restore carry the files", () => {
  const all = () => [...new Set([cover, inline, face].flatMap(keysOf))];

  it("restores rows and files into a fresh database and another DATA_DIR (avatars and uploaders: rows that reference each other)", async () => {
    const before = await snapshot(process.env.TEST_DATABASE_URL!);
    const b = await cli("backup", ["--output", file("site.gz")], here);
    expect(b.code, b.output).toBe(0);
    expect(b.output).toContain(`and ${all().length} media files written to`);
    const db = await freshDatabase();
    const other = mkdtempSync(join(tmpdir(), "folio-data-media-restore-"));
    try {
      const r = await cli("restore", [file("site.gz")], { DATABASE_URL: db.url, DATA_DIR: other });
      expect(r.code, r.output).toBe(0);
      expect(r.output).toContain(`and ${all().length} media files restored`);
      expect(await snapshot(db.url)).toEqual(before);
      for (const k of all()) expect(readFileSync(join(other, "media", k)).equals(readFileSync(join(dataDir, "media", k)))).toBe(true);
      // the foreign keys are back: an avatar pointing nowhere is refused
      await expect(withClient(db.url, (c) => c.query(`UPDATE "User" SET "avatarId" = 987654 WHERE username = 'alice'`))).rejects.toThrow(/foreign key/);
    } finally {
      await db.drop();
      rmSync(other, { recursive: true, force: true });
    }
  }, 180_000);

  it("a file missing from the storage is named when backing up and restoring; an edited file in the backup is refused", async () => {
    const gone = inline.renditions[0]!.key;
    const saved = readFileSync(join(dataDir, "media", gone));
    rmSync(join(dataDir, "media", gone));
    try {
      const b = await cli("backup", ["--output", file("missing.gz")], here);
      expect(b.code, b.output).toBe(0);
      expect(b.output).toContain(`backup: warning: 1 media files named by the database were not in the media storage (DATA_DIR/media): ${gone}`);
      const db = await freshDatabase();
      const other = mkdtempSync(join(tmpdir(), "folio-data-media-restore-"));
      try {
        const r = await cli("restore", [file("missing.gz")], { DATABASE_URL: db.url, DATA_DIR: other });
        expect(r.code, r.output).toBe(0);
        expect(r.output).toContain("restore: warning: 1 media files were already missing when the backup was made");
        expect(existsSync(join(other, "media", gone))).toBe(false);
        expect(existsSync(join(other, "media", inline.storageKey))).toBe(true);
      } finally {
        await db.drop();
        rmSync(other, { recursive: true, force: true });
      }
    } finally {
      writeFileSync(join(dataDir, "media", gone), saved);
    }

    // One byte of a file changed, the whole file's checksum made to match: the file's own digest refuses it.
    const lines = gunzipSync(readFileSync(file("site.gz")))
      .toString("utf8")
      .split("\n");
    expect(lines.pop()).toBe("");
    lines.pop(); // the trailer
    const at = lines.findIndex((l) => l.startsWith(`{"file":"${cover.storageKey}"`)) + 1;
    lines[at] = (lines[at]![0] === "A" ? "B" : "A") + lines[at]!.slice(1);
    const body = lines.map((l) => `${l}\n`).join("");
    writeFileSync(file("edited.gz"), gzipSync(`${body}${JSON.stringify({ end: "folio-backup", sha256: createHash("sha256").update(body).digest("hex") })}\n`));
    const db = await freshDatabase();
    try {
      const r = await cli("restore", [file("edited.gz")], { DATABASE_URL: db.url, DATA_DIR: dir });
      expect(r.code).toBe(1);
      expect(r.output).toContain(`is damaged or edited: media file ${cover.storageKey} does not match its checksum`);
    } finally {
      await db.drop();
    }
  }, 180_000);
});
