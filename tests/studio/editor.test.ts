// The writers' editor (views/studio/editor.njk) through the real app: the Post form's round trip with
// the new fields (featured image, meta title), the Publish / Schedule / Unpublish buttons (one click sets
// the status and saves; Schedule needs a future time), bad featured image ids (400 with the field's
// message, nothing saved, never a 500), the picker's library list, and the preview's word count.
import { beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../src/app.ts";
import { config } from "../../src/config.ts";
import { toDatetimeLocal } from "../../src/admin/forms.ts";
import { csrfPost, inHours, makeCategory, makePost, prisma, type Signed, signedIn } from "../support/fixtures.ts";

const app = buildApp();
let editor: Signed;
let author: Signed;
let catId: number;
let imageId: number;
let otherImageId: number;

let n = 0;
/** A library image, as an upload would record it (the row, under keys of the real shape; its files are not read by these pages). */
async function makeMedia(filename: string, alt = "") {
  const hash = (++n).toString(16).padStart(2, "0").repeat(32).slice(0, 64);
  const key = (w: number, ext: string) => `${hash.slice(0, 2)}/${hash}-${w}.${ext}`;
  const row = await prisma.media.create({
    data: {
      hash,
      storageKey: key(1600, "jpg"),
      filename,
      mime: "image/jpeg",
      width: 1600,
      height: 900,
      bytes: 12345,
      alt,
      renditions: [
        { width: 480, height: 270, format: "avif", key: key(480, "avif"), bytes: 900 },
        { width: 480, height: 270, format: "webp", key: key(480, "webp"), bytes: 1000 },
        { width: 960, height: 540, format: "webp", key: key(960, "webp"), bytes: 3000 },
      ],
    },
  });
  return { ...row, url: `/media/${row.storageKey}` };
}

const form = (over: Record<string, unknown> = {}) => ({
  title: "Studio post",
  slug: "",
  authorId: String(editor.user.id),
  categoryId: String(catId),
  tags: "",
  body: "Some words to count here.",
  excerpt: "",
  metaTitle: "",
  metaDescription: "",
  featuredImageId: "",
  status: "DRAFT",
  publish: "",
  ...over,
});

beforeAll(async () => {
  editor = await signedIn(app, "EDITOR");
  author = await signedIn(app, "AUTHOR");
  catId = (await makeCategory("Studio", "studio")).id;
  imageId = (await makeMedia("harbour-at-dawn.jpg", "Boats in a harbour at dawn")).id;
  otherImageId = (await makeMedia("mountain.png")).id;
});

const newest = (title: string) => prisma.post.findFirstOrThrow({ where: { title }, orderBy: { id: "desc" } });

describe("the editor page", () => {
  it("is the Post add form: title, body with preview, side panel with the new fields, the publish time's zone, Save / Publish / Schedule", async () => {
    const res = await editor.agent.get("/admin/blog/post/add/").expect(200);
    const html = res.text;
    expect(html).toContain("data-studio");
    expect(html).toContain('id="id_title"');
    expect(html).toContain('class="md-preview prose" id="id_body_preview" role="region" aria-live="polite"');
    expect(html).toContain('name="featuredImageId"');
    expect(html).toContain('data-choices-url="/admin/blog/post/media-choices/"');
    expect(html).toContain('name="metaTitle"');
    expect(html).toContain('name="metaDescription"');
    expect(html).toContain(`Publish (${config.TIME_ZONE})`);
    for (const b of ["_continue", "_publish", "_schedule", "_save", "_addanother"]) expect(html).toContain(`name="${b}"`);
    expect(html).not.toContain('name="_unpublish"');
    expect(html).toContain("Keyboard shortcuts");
    // the status select still works without JavaScript
    expect(html).toMatch(/<select id="id_status" name="status"/);
  });

  it("authors get the same editor (no author picker)", async () => {
    const res = await author.agent.get("/admin/blog/post/add/").expect(200);
    expect(res.text).toContain("data-studio");
    expect(res.text).not.toContain('name="authorId"');
  });
});

describe("the form's round trip", () => {
  it("saves the featured image and the meta title, and shows them again (the thumbnail, the values)", async () => {
    const res = await csrfPost(
      editor,
      "/admin/blog/post/add/",
      form({ title: "With an image", metaTitle: "A better title for search", featuredImageId: String(imageId), _continue: "1" }),
      303,
    );
    const post = await newest("With an image");
    expect(res.headers.location).toBe(`/admin/blog/post/${post.id}/change/`);
    expect(post).toMatchObject({ featuredImageId: imageId, metaTitle: "A better title for search", status: "DRAFT" });
    const page = await editor.agent.get(res.headers.location!).expect(200);
    expect(page.text).toContain('value="A better title for search"');
    expect(page.text).toMatch(new RegExp(`name="featuredImageId" value="${imageId}"`));
    // the picker's thumbnail: the smallest rendition a browser shows (not AVIF), at least 240 px wide
    const { renditions } = await prisma.media.findUniqueOrThrow({ where: { id: imageId } });
    expect(page.text).toContain(`src="/media/${(renditions as { key: string }[])[1]!.key}"`);
    expect(page.text).toContain("harbour-at-dawn.jpg");

    // changed to another image, then removed (an empty field: no image)
    const v1 = (await newest("With an image")).version;
    await csrfPost(
      editor,
      res.headers.location!,
      form({ title: "With an image", featuredImageId: String(otherImageId), _version: String(v1), _continue: "1" }),
      303,
    );
    expect((await newest("With an image")).featuredImageId).toBe(otherImageId);
    const v2 = (await newest("With an image")).version;
    await csrfPost(editor, res.headers.location!, form({ title: "With an image", featuredImageId: "", _version: String(v2), _continue: "1" }), 303);
    expect((await newest("With an image")).featuredImageId).toBeNull();
  });

  it("refuses bad featured image ids with the field's message, keeps the text, saves nothing", async () => {
    const before = await prisma.post.count();
    const bad: [unknown, string][] = [
      ["abc", "Choose an image from the library."],
      ["0", "Choose an image from the library."],
      ["-3", "Choose an image from the library."],
      ["99999999999", "Choose an image from the library."],
      ["1.5", "Choose an image from the library."],
      [[String(imageId), String(otherImageId)], "Give this field once, as text."],
      ["2000000000", "That image is not in the library (any more): choose another."],
    ];
    for (const [value, message] of bad) {
      const res = await csrfPost(editor, "/admin/blog/post/add/", form({ title: "Bad image", body: "Kept text ✓", featuredImageId: value }), 400);
      expect(res.text, JSON.stringify(value)).toContain(message);
      expect(res.text).toContain("Kept text ✓");
    }
    expect(await prisma.post.count()).toBe(before);
  });

  it("refuses a meta title over 300 characters", async () => {
    const res = await csrfPost(editor, "/admin/blog/post/add/", form({ title: "Long meta", metaTitle: "x".repeat(301) }), 400);
    expect(res.text).toContain("At most 300 characters.");
    expect(await prisma.post.count({ where: { title: "Long meta" } })).toBe(0);
  });
});

describe("Publish, Schedule and Unpublish", () => {
  it("Publish publishes a draft now, in one click, and keeps the editor open", async () => {
    const res = await csrfPost(editor, "/admin/blog/post/add/", form({ title: "Publish me", _publish: "1" }), 303);
    const post = await newest("Publish me");
    expect(res.headers.location).toBe(`/admin/blog/post/${post.id}/change/`);
    expect(post.status).toBe("PUBLISHED");
    expect(Math.abs(post.publish.getTime() - Date.now())).toBeLessThan(60_000);
    // the editor of a live post offers Unpublish, not Publish or Schedule, and "View on site"
    const page = await editor.agent.get(res.headers.location!).expect(200);
    expect(page.text).toContain('name="_unpublish"');
    expect(page.text).not.toContain('name="_publish"');
    expect(page.text).not.toContain('name="_schedule"');
    expect(page.text).toContain("View on site");
  });

  it("Publish with a future time is refused (that is Schedule): nothing saved", async () => {
    const res = await csrfPost(editor, "/admin/blog/post/add/", form({ title: "Too early", publish: toDatetimeLocal(inHours(48)), _publish: "1" }), 400);
    expect(res.text).toContain("This time is in the future: press Schedule, or empty the time to publish now.");
    // the form shown again keeps the status the writer had chosen (the button's is not sticky)
    expect(res.text).toMatch(/<option value="DRAFT" selected>/);
    expect(await prisma.post.count({ where: { title: "Too early" } })).toBe(0);
  });

  it("Schedule needs a future publish time; with one, the post is published at that time (scheduled)", async () => {
    for (const publish of ["", toDatetimeLocal(new Date(Date.now() - 3_600_000))]) {
      const res = await csrfPost(editor, "/admin/blog/post/add/", form({ title: "Schedule me", publish, _schedule: "1" }), 400);
      expect(res.text).toContain("To schedule the post, choose a publish time in the future.");
    }
    expect(await prisma.post.count({ where: { title: "Schedule me" } })).toBe(0);
    const when = toDatetimeLocal(inHours(72));
    const res = await csrfPost(editor, "/admin/blog/post/add/", form({ title: "Schedule me", publish: when, _schedule: "1" }), 303);
    const post = await newest("Schedule me");
    expect(post.status).toBe("PUBLISHED");
    expect(toDatetimeLocal(post.publish)).toBe(when);
    const page = await editor.agent.get(res.headers.location!).expect(200);
    expect(page.text).toContain("badge-scheduled");
    expect(page.text).toContain('name="_unpublish"');
    expect(page.text).not.toContain("View on site");
  });

  it("Unpublish takes a live post back to draft", async () => {
    const post = await makePost({ authorId: author.user.id, title: "Live one", status: "PUBLISHED" });
    const { authorId: _, ...authorForm } = form({ title: "Live one", _version: String(post.version), _unpublish: "1" }); // authors do not send the author
    const res = await csrfPost(author, `/admin/blog/post/${post.id}/change/`, authorForm, 303);
    expect(res.headers.location).toBe(`/admin/blog/post/${post.id}/change/`);
    expect((await prisma.post.findUniqueOrThrow({ where: { id: post.id } })).status).toBe("DRAFT");
  });

  it("Schedule on a draft being edited checks the time as it will be saved", async () => {
    const post = await makePost({ authorId: editor.user.id, title: "Draft to schedule later", status: "DRAFT" });
    const url = `/admin/blog/post/${post.id}/change/`;
    await csrfPost(editor, url, form({ title: "Draft to schedule later", _version: String(post.version), _schedule: "1" }), 400);
    expect((await prisma.post.findUniqueOrThrow({ where: { id: post.id } })).status).toBe("DRAFT");
    const when = toDatetimeLocal(inHours(5));
    await csrfPost(editor, url, form({ title: "Draft to schedule later", publish: when, _version: String(post.version), _schedule: "1" }), 303);
    const after = await prisma.post.findUniqueOrThrow({ where: { id: post.id } });
    expect(after.status).toBe("PUBLISHED");
    expect(after.publish.getTime()).toBeGreaterThan(Date.now());
  });
});

describe("the picker's library and the preview", () => {
  it("lists images newest first with their thumbnails, searches names and alt texts, pages", async () => {
    const all = await editor.agent.get("/admin/blog/post/media-choices/").expect(200);
    const ids = all.body.results.map((r: { id: number }) => r.id);
    expect(ids.indexOf(otherImageId)).toBeLessThan(ids.indexOf(imageId));
    expect(all.body.results.find((r: { id: number }) => r.id === imageId)).toMatchObject({
      filename: "harbour-at-dawn.jpg",
      alt: "Boats in a harbour at dawn",
      width: 1600,
      height: 900,
      thumbnail: expect.stringMatching(/^\/media\/[0-9a-f]{2}\/.*-480\.webp$/),
    });
    const q = await author.agent.get("/admin/blog/post/media-choices/").query({ q: "HARBOUR" }).expect(200);
    expect(q.body.results.map((r: { id: number }) => r.id)).toEqual([imageId]);
    const alt = await author.agent.get("/admin/blog/post/media-choices/").query({ q: "boats" }).expect(200);
    expect(alt.body.results.map((r: { id: number }) => r.id)).toEqual([imageId]);
    const far = await editor.agent.get("/admin/blog/post/media-choices/").query({ page: "50" }).expect(200);
    expect(far.body).toMatchObject({ results: [], page: 50, hasMore: false });
    for (const page of ["0", "x", "-1", "99999"]) await editor.agent.get("/admin/blog/post/media-choices/").query({ page }).expect(400);
    const reader = await signedIn(app, "READER");
    await reader.agent.get("/admin/blog/post/media-choices/").expect(403);
  });

  it("the preview answers the HTML a save stores, with its word count and reading time", async () => {
    const words = Array.from({ length: 460 }, (_, i) => `word${i}`).join(" ");
    const res = await editor.agent
      .post("/admin/preview/")
      .set("X-CSRF-Token", await editor.session.csrf())
      .type("form")
      .send({ body: `## Title\n\n${words}` })
      .expect(200);
    expect(res.body.html).toContain("word459");
    expect(res.body.wordCount).toBeGreaterThanOrEqual(460);
    expect(res.body.readingMinutes).toBe(2);
  });
});

describe("images without alt text", () => {
  it("a saved draft whose body or featured image lacks alt text shows the warning (role=status) with how to add it; with alt text, none", async () => {
    const bare = await makeMedia("no-alt-body.jpg", "");
    const bareFeatured = await makeMedia("no-alt-featured.jpg", "");
    const res = await csrfPost(
      editor,
      "/admin/blog/post/add/",
      form({ title: "Draft without alt", body: `Intro.\n\n![](${bare.url})\n`, featuredImageId: String(bareFeatured.id), _continue: "1" }),
      303,
    );
    const draft = await newest("Draft without alt");
    expect(draft.status).toBe("DRAFT"); // a draft saves
    const page = (await editor.agent.get(res.headers.location!).expect(200)).text;
    const body = /<p class="alt-warning" role="status" id="alt_warning_body">([^]*?)<\/p>/.exec(page)?.[1];
    expect(body).toContain("Before publishing, add alt text to “no-alt-body.jpg”");
    expect(body).toContain("![what it shows]");
    expect(body).toContain('href="/admin/media/"');
    const featured = /<p class="alt-warning" role="status" id="alt_warning_featured">([^]*?)<\/p>/.exec(page)?.[1];
    expect(featured).toContain("Before publishing, add alt text to “no-alt-featured.jpg”: set its alt text in the media library.");

    // the Markdown's own alt text, and the library's for the featured image: no warning
    await prisma.media.update({ where: { id: bareFeatured.id }, data: { alt: "A lighthouse" } });
    await csrfPost(
      editor,
      res.headers.location!,
      form({
        title: "Draft without alt",
        body: `Intro.\n\n![A harbour at dawn](${bare.url})\n`,
        featuredImageId: String(bareFeatured.id),
        _version: String(draft.version),
        _continue: "1",
      }),
      303,
    );
    const after = (await editor.agent.get(res.headers.location!).expect(200)).text;
    expect(after).not.toContain("alt-warning");
    expect(after).not.toContain("Before publishing, add alt text");
  });

  it("the picker answers one image by id (a featured image an autosave restored), none for an unknown id, 400 for a bad one", async () => {
    const one = await author.agent
      .get("/admin/blog/post/media-choices/")
      .query({ id: String(imageId) })
      .expect(200);
    expect(one.body.results).toEqual([
      expect.objectContaining({ id: imageId, filename: "harbour-at-dawn.jpg", thumbnail: expect.stringMatching(/-480\.webp$/) }),
    ]);
    const gone = await author.agent.get("/admin/blog/post/media-choices/").query({ id: "2000000000" }).expect(200);
    expect(gone.body.results).toEqual([]);
    for (const id of ["x", "0", "-1", "99999999999"]) await author.agent.get("/admin/blog/post/media-choices/").query({ id }).expect(400);
  });
});

describe("the admin header", () => {
  it("offers writers My posts beside View site", async () => {
    for (const who of [author, editor]) {
      const html = (await who.agent.get("/admin/blog/post/add/").expect(200)).text;
      const nav = /<nav class="admin-user" aria-label="Account">([^]*?)<\/nav>/.exec(html)?.[1] ?? "";
      expect(nav).toContain('<a href="/write/posts/">My posts</a>');
      expect(nav).toContain(">View site</a>");
    }
  });
});
