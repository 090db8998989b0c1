// The media library in the admin (src/admin/media.ts, src/media/library.ts) through the real app: the
// grid (newest first, search by file name and alt text, "Page X of Y", "No alt text" badges, usage
// counts), the alt text form (400 with the field message, a stale form's conflict, audit entry, the
// pages showing the image made stale), deletion (refused while a post's body, a featured image or an
// avatar uses it: never a 500; otherwise the row and its files go), and who may do what.
import request from "supertest";
import { beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../src/app.ts";
import { createPost, updatePost } from "../../src/posts/service.ts";
import { mediaStorage } from "../../src/media/index.ts";
import { LIBRARY_PER_PAGE } from "../../src/media/library.ts";
import { url } from "../../src/web/urls.ts";
import { csrfPost, makePost, prisma, signedIn, type Signed } from "../support/fixtures.ts";
import { pathFor } from "../support/html.ts";
import { until } from "../support/poll.ts";
import { uploaded, useTempDataDir } from "./library-support.ts";

useTempDataDir();
const app = buildApp();
let editor: Signed;
let author: Signed;
let reader: Signed;

beforeAll(async () => {
  editor = await signedIn(app, "EDITOR");
  author = await signedIn(app, "AUTHOR");
  reader = await signedIn(app, "READER");
});

const detailUrl = (id: number) => url("admin:media_detail", { id });
const deleteUrl = (id: number) => url("admin:media_delete", { id });

/** Rows straight into the table (no files: the grid only reads rows), `count` of them, named `${prefix}-<i>.jpg`. */
async function rows(prefix: string, count: number): Promise<void> {
  const base = Date.now();
  await prisma.media.createMany({
    data: Array.from({ length: count }, (_, i) => {
      const hash = `${prefix}${String(i).padStart(4, "0")}`.padEnd(64, "0");
      return {
        hash,
        storageKey: `${hash.slice(0, 2)}/${hash}-100.jpg`,
        filename: `${prefix}-${i}.jpg`,
        mime: "image/jpeg",
        width: 100,
        height: 80,
        bytes: 1234,
        createdAt: new Date(base - 86_400_000 * 365 + i * 1000), // a year ago, in order
      };
    }),
  });
}

describe("the library's grid", () => {
  it("lists images newest first with their thumbnails, sizes, alt text or a warning, and usage counts", async () => {
    const old = await uploaded("harbour.jpg", author.user.id, "Boats in a harbour at dawn");
    const fresh = await uploaded("no-alt-yet.jpg", author.user.id);
    await makePost({ authorId: author.user.id, title: "Uses the harbour", status: "DRAFT" }).then((p) =>
      updatePost(
        p.id,
        p.version,
        { title: p.title, body: p.body, status: "DRAFT", authorId: p.authorId, categoryId: null, featuredImageId: old.id },
        author.user,
      ),
    );
    const res = await editor.agent.get(url("admin:media_library")).expect(200);
    const html = res.text;
    expect(html.indexOf("no-alt-yet.jpg")).toBeGreaterThan(-1);
    expect(html.indexOf("no-alt-yet.jpg")).toBeLessThan(html.indexOf("harbour.jpg")); // newest first
    expect(html).toContain("Boats in a harbour at dawn");
    const tile = (id: number) => html.slice(html.indexOf(`data-media-id="${id}"`), html.indexOf("</li>", html.indexOf(`data-media-id="${id}"`)));
    expect(tile(fresh.id)).toContain("No alt text");
    expect(tile(old.id)).not.toContain("No alt text");
    expect(tile(old.id)).toContain("Used in 1 post");
    expect(tile(fresh.id)).toContain("Not used in posts");
    expect(tile(old.id)).toContain("640 × 480");
    // the thumbnail: a WebP rendition (the smallest one at least 300 px wide), with its size, lazy
    const webp = old.renditions.filter((r) => r.format === "webp").sort((a, b) => a.width - b.width);
    const thumb = webp.find((r) => r.width >= 300) ?? webp[webp.length - 1]!;
    expect(tile(old.id)).toMatch(new RegExp(`<img src="/media/${thumb.key}" width="${thumb.width}" height="${thumb.height}"[^>]*loading="lazy"`));
    // the thumbnail is served
    await request(app).get(`/media/${thumb.key}`).expect(200);
  });

  it("searches file names and alt text, any case", async () => {
    await uploaded("Lighthouse.PNG.jpg", editor.user.id);
    await uploaded("plain.jpg", editor.user.id, "A LIGHTHOUSE on a cliff");
    const byName = await editor.agent.get(url("admin:media_library", {}, { q: "lighthouse" })).expect(200);
    expect(byName.text).toContain("Lighthouse.PNG.jpg");
    expect(byName.text).toContain("plain.jpg");
    expect(byName.text).not.toContain("harbour.jpg");
    expect(byName.text).toContain("2 images matching “lighthouse”");
    const none = await editor.agent.get(url("admin:media_library", {}, { q: "zebra%_" })).expect(200);
    expect(none.text).toContain("No image matches");
  });

  it("paginates with Page X of Y, keeping the search; a page past the end is a 404", async () => {
    await rows("pagetest", LIBRARY_PER_PAGE + 3);
    const first = await editor.agent.get(url("admin:media_library", {}, { q: "pagetest" })).expect(200);
    expect(first.text).toContain("Page 1 of 2");
    expect(first.text).toContain(`href="/admin/media/?q=pagetest&amp;page=2"`);
    const second = await editor.agent.get(url("admin:media_library", {}, { q: "pagetest", page: 2 })).expect(200);
    expect(second.text).toContain("Page 2 of 2");
    expect((second.text.match(/class="media-tile"/g) ?? []).length).toBe(3);
    expect(second.text).toContain("pagetest-0.jpg"); // the oldest, last
    await editor.agent.get(url("admin:media_library", {}, { q: "pagetest", page: 3 })).expect(404);
    await editor.agent.get(url("admin:media_library", {}, { page: "x" })).expect(404);
  });
});

describe("alt text", () => {
  it("saves it (audit entry, version moves on), refuses too long text with the field message, and a stale form with a conflict", async () => {
    const m = await uploaded("pier.jpg", author.user.id);
    const page = await editor.agent.get(detailUrl(m.id)).expect(200);
    expect(page.text).toContain("pier.jpg");
    expect(page.text).toContain("image/jpeg");
    expect(page.text).toContain("640 × 480 px");
    expect(page.text).toMatch(/Renditions/);

    const tooLong = await csrfPost(editor, detailUrl(m.id), { alt: "x".repeat(501), version: "1" }, 400);
    expect(tooLong.text).toContain("At most 500 characters");
    expect(tooLong.text).toContain('aria-invalid="true"');
    expect((await prisma.media.findUniqueOrThrow({ where: { id: m.id } })).alt).toBe("");

    const ok = await csrfPost(editor, detailUrl(m.id), { alt: "  A wooden pier\nin fog  ", version: "1" }, 303);
    expect(ok.headers.location).toBe(detailUrl(m.id));
    const saved = await prisma.media.findUniqueOrThrow({ where: { id: m.id } });
    expect(saved).toMatchObject({ alt: "A wooden pier in fog", version: 2 });
    const audit = await prisma.auditLog.findFirstOrThrow({ where: { model: "media.media", objectId: String(m.id), action: "CHANGE" } });
    expect(audit).toMatchObject({ userId: editor.user.id, objectRepr: "pier.jpg" });
    expect(audit.changes).toEqual({ changed: ["alt"] });

    // a form loaded at version 1, saved after the one above: nothing overwritten, both texts shown
    const stale = await csrfPost(editor, detailUrl(m.id), { alt: "Something else", version: "1" }, 409);
    expect(stale.text).toContain("Someone else changed this image");
    expect(stale.text).toContain("A wooden pier in fog");
    expect(stale.text).toContain("Something else"); // the writer's text kept in the form
    expect(stale.text).toContain('name="version" value="2"');
    expect((await prisma.media.findUniqueOrThrow({ where: { id: m.id } })).alt).toBe("A wooden pier in fog");

    await csrfPost(editor, detailUrl(m.id), { alt: "x", version: "abc" }, 400);
    await csrfPost(editor, detailUrl(987654), { alt: "x", version: "1" }, 404);
    await editor.agent.get(detailUrl(987654)).expect(404);
    await editor.agent.get("/admin/media/abc/").expect(404);
  });

  it("makes the cached page of a post showing the image stale", async () => {
    const m = await uploaded("cover.jpg", author.user.id, "A cover");
    const post = await createPost(
      { title: "Featured cover post", body: "Text.", status: "PUBLISHED", authorId: author.user.id, categoryId: null, featuredImageId: m.id },
      author.user,
    );
    const path = pathFor(post.publish, post.slug);
    await request(app).get(path).expect(200);
    await until(async () => (await request(app).get(path)).headers["x-cache"] as string, { label: "the post page is cached", accept: (s) => s === "HIT" });
    await csrfPost(editor, detailUrl(m.id), { alt: "A new cover description", version: "1" }, 303);
    expect((await request(app).get(path)).headers["x-cache"]).not.toBe("HIT");
  });
});

describe("delete", () => {
  it("is refused while a post's body, a featured image or an avatar uses the image, with a clear message and nothing deleted", async () => {
    const body = await uploaded("in-body.jpg", editor.user.id, "In a body");
    const featured = await uploaded("featured.jpg", editor.user.id, "Featured");
    const avatar = await uploaded("avatar.jpg", editor.user.id, "Face");
    const p = await makePost({ authorId: editor.user.id, title: "Body image post", status: "DRAFT" });
    await prisma.postMedia.create({ data: { postId: p.id, mediaId: body.id } }); // as the save path records a body's image
    await makePost({ authorId: editor.user.id, title: "Featured image post", status: "DRAFT" }).then((q) =>
      prisma.post.update({ where: { id: q.id }, data: { featuredImageId: featured.id } }),
    );
    await prisma.user.update({ where: { id: author.user.id }, data: { avatarId: avatar.id } });

    for (const [m, words] of [
      [body, "“Body image post”"],
      [featured, "“Featured image post”"],
      [avatar, author.user.username],
    ] as const) {
      const page = await editor.agent.get(detailUrl(m.id)).expect(200);
      expect(page.text).toContain("cannot be deleted while it is used");
      expect(page.text).toContain(words.replace(/[“”]/g, ""));
      const res = await csrfPost(editor, deleteUrl(m.id), { confirm: "yes" }, 409);
      expect(res.text).toContain("This image is in use by");
      expect(res.text).toContain(words);
      expect(await prisma.media.count({ where: { id: m.id } })).toBe(1);
      expect(await mediaStorage().exists(m.storageKey)).toBe(true);
    }
  });

  it("needs the confirmation, then deletes the row and every file, with an audit entry", async () => {
    const m = await uploaded("unused.jpg", editor.user.id);
    const keys = [m.storageKey, ...m.renditions.map((r) => r.key)];
    expect(keys.length).toBeGreaterThan(2);
    for (const k of keys) expect(await mediaStorage().exists(k)).toBe(true);
    const unconfirmed = await csrfPost(editor, deleteUrl(m.id), {}, 400);
    expect(unconfirmed.text).toContain("Tick the box");
    const res = await csrfPost(editor, deleteUrl(m.id), { confirm: "yes" }, 303);
    expect(res.headers.location).toBe(url("admin:media_library"));
    expect(await prisma.media.count({ where: { id: m.id } })).toBe(0);
    for (const k of keys) expect(await mediaStorage().exists(k)).toBe(false);
    await request(app).get(`/media/${m.storageKey}`).expect(404);
    const audit = await prisma.auditLog.findFirstOrThrow({ where: { model: "media.media", objectId: String(m.id), action: "DELETE" } });
    expect(audit.userId).toBe(editor.user.id);
    await csrfPost(editor, deleteUrl(m.id), { confirm: "yes" }, 404);
  });
});

describe("who may do what", () => {
  it("readers get 403; anonymous users are sent to log in", async () => {
    const m = await uploaded("perm.jpg", editor.user.id);
    await reader.agent.get(url("admin:media_library")).expect(403);
    await reader.agent.get(detailUrl(m.id)).expect(403);
    await csrfPost(reader, detailUrl(m.id), { alt: "x", version: "1" }, 403);
    await csrfPost(reader, deleteUrl(m.id), { confirm: "yes" }, 403);
    const anon = await request(app).get(url("admin:media_library")).expect(302);
    expect(anon.headers.location).toContain("/accounts/login/");
  });

  it("authors see every image and upload; they change and delete only their own uploads; editors any", async () => {
    const mine = await uploaded("authors-own.jpg", author.user.id);
    const theirs = await uploaded("editors.jpg", editor.user.id);
    const list = await author.agent.get(url("admin:media_library")).expect(200);
    expect(list.text).toContain("authors-own.jpg");
    expect(list.text).toContain("editors.jpg");
    expect(list.text).toContain('name="file"'); // the upload form

    const other = await author.agent.get(detailUrl(theirs.id)).expect(200);
    expect(other.text).not.toContain('name="alt"');
    expect(other.text).not.toContain("Delete image");
    await csrfPost(author, detailUrl(theirs.id), { alt: "mine now", version: "1" }, 403);
    await csrfPost(author, deleteUrl(theirs.id), { confirm: "yes" }, 403);
    expect(await prisma.media.findUniqueOrThrow({ where: { id: theirs.id } })).toMatchObject({ alt: "", version: 1 });

    const own = await author.agent.get(detailUrl(mine.id)).expect(200);
    expect(own.text).toContain('name="alt"');
    await csrfPost(author, detailUrl(mine.id), { alt: "My own photo", version: "1" }, 303);
    await csrfPost(author, deleteUrl(mine.id), { confirm: "yes" }, 303);
    expect(await prisma.media.count({ where: { id: mine.id } })).toBe(0);

    await csrfPost(editor, detailUrl(theirs.id), { alt: "Set by the editor", version: "1" }, 303);
  });

  it("the admin index and navigation link to the library for writers", async () => {
    const index = await author.agent.get(url("admin:index")).expect(200);
    expect(index.text).toContain(`href="${url("admin:media_library")}"`);
  });
});
