// Add / change / delete through the generic views: validation with input kept, hostile ids,
// slug uniqueness per publish date, optimistic locking (conflicts), revisions + restore, audit log,
// the preview / slug-check / autocomplete endpoints, and scheduled publishing on the reader site.
import { beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../src/app.ts";
import { csrfPost, makeCategory, makePost, makeTag, prisma, type Signed, signedIn } from "../support/fixtures.ts";
import { invalidate } from "../../src/cache/index.ts";

const app = buildApp();
let editor: Signed;
let tagIds: number[];
let catId: number;

const postForm = (over: Record<string, unknown> = {}) => ({
  title: "A fresh post",
  slug: "",
  authorId: String(editor.user.id),
  categoryId: String(catId),
  tags: "alpha, Beta", // tag names (the tag field): existing tags matched by slug or name
  body: "# Hello\n\nSome *markdown* text.",
  excerpt: "",
  metaDescription: "",
  status: "DRAFT",
  publish: "2026-11-21T10:30",
  ...over,
});

beforeAll(async () => {
  editor = await signedIn(app, "EDITOR");
  catId = (await makeCategory("News", "news")).id;
  tagIds = [(await makeTag("alpha", "alpha")).id, (await makeTag("beta", "beta")).id];
});

describe("add", () => {
  it("creates a post with rendered Markdown, tags, a revision and an audit entry, then redirects", async () => {
    const res = await csrfPost(editor, "/admin/blog/post/add/", postForm(), 303);
    expect(res.headers.location).toBe("/admin/blog/post/");
    // The newest "A fresh post": other tests post the same form (with another slug).
    const post = await prisma.post.findFirstOrThrow({ where: { title: "A fresh post" }, orderBy: { id: "desc" }, include: { tags: true, revisions: true } });
    expect(post.slug).toBe("a-fresh-post");
    expect(post.bodyHtml).toContain("<h1>Hello</h1>");
    expect(post.bodyHtml).toContain("<em>markdown</em>");
    expect(post.excerpt).toBe("Some markdown text."); // the "# Hello" heading is not prose
    expect(post.publish.toISOString()).toBe("2026-11-21T10:30:00.000Z");
    expect(post.tags.map((t) => t.tagId).sort()).toEqual([...tagIds].sort());
    expect(post.revisions).toHaveLength(1);
    const audit = await prisma.auditLog.findFirstOrThrow({ where: { model: "blog.post", objectId: String(post.id) } });
    expect(audit).toMatchObject({ action: "ADD", userId: editor.user.id, objectRepr: "A fresh post" });
    const list = await editor.agent.get("/admin/blog/post/").expect(200);
    expect(list.text).toContain("The post “A fresh post” was added successfully.");
  });

  it("'Save and continue' goes to the change form, 'Save and add another' to a new add form", async () => {
    const a = await csrfPost(editor, "/admin/blog/post/add/", postForm({ title: "Continue me", _continue: "1" }), 303);
    expect(a.headers.location).toMatch(/^\/admin\/blog\/post\/\d+\/change\/$/);
    const b = await csrfPost(editor, "/admin/blog/post/add/", postForm({ title: "Another one", _addanother: "1" }), 303);
    expect(b.headers.location).toBe("/admin/blog/post/add/");
  });

  it("shows errors next to fields and keeps the input", async () => {
    const res = await csrfPost(
      editor,
      "/admin/blog/post/add/",
      postForm({
        title: "",
        body: "kept <body> text",
        slug: "Bad Slug!",
        status: "ARCHIVED",
        publish: "not a date",
        categoryId: "abc",
        tags: `fine, ${"x".repeat(101)}`,
      }),
      400,
    );
    expect(res.text).toContain('id="id_title_error"');
    expect(res.text).toContain("This field is required.");
    expect(res.text).toContain("Use lowercase letters, digits and hyphens");
    expect(res.text).toContain("Select a valid choice.");
    expect(res.text).toContain("Enter a valid date and time.");
    expect(res.text).toContain("Each tag has at most 100 characters.");
    expect(res.text).toContain("kept &lt;body&gt; text");
    expect(res.text).toContain('value="Bad Slug!"');
    expect(await prisma.post.count({ where: { body: "kept <body> text" } })).toBe(0);
  });

  it("rejects unknown category and author ids with field messages", async () => {
    const bad = await csrfPost(editor, "/admin/blog/post/add/", postForm({ categoryId: "999999" }), 400);
    expect(bad.text).toContain("Select a valid choice.");
    const res = await csrfPost(editor, "/admin/blog/post/add/", postForm({ authorId: "999999" }), 400);
    expect(res.text).toContain("Choose an active author");
  });

  it("refuses a slug already used on the same publish date, with a clear message", async () => {
    await makePost({ authorId: editor.user.id, title: "Taken", slug: "same-slug", publish: new Date("2026-05-05T08:00:00Z"), status: "DRAFT" });
    const res = await csrfPost(editor, "/admin/blog/post/add/", postForm({ slug: "same-slug", publish: "2026-05-05T22:00" }), 400);
    expect(res.text).toContain("The slug &quot;same-slug&quot; is already used by another post published on 2026-05-05");
    await csrfPost(editor, "/admin/blog/post/add/", postForm({ slug: "same-slug", publish: "2026-05-06T09:00" }), 303);
    const check = await editor.agent.get("/admin/blog/post/slug-check/?slug=same-slug&publish=2026-05-05T10:00").expect(200);
    expect(check.body).toEqual({ ok: false, message: "Already used by another post published on 2026-05-05." });
    expect((await editor.agent.get("/admin/blog/post/slug-check/?slug=free-slug&publish=2026-05-05T10:00").expect(200)).body.ok).toBe(true);
    await editor.agent.get("/admin/blog/post/slug-check/?slug=a&slug=b").expect(400);
  });

  it("needs the CSRF token", async () => {
    await editor.agent
      .post("/admin/blog/post/add/")
      .type("form")
      .send(postForm({ title: "No token" }))
      .expect(403);
    expect(await prisma.post.count({ where: { title: "No token" } })).toBe(0);
  });
});

describe("change", () => {
  it("saves changes, bumps the version, records the changed fields", async () => {
    const p = await makePost({ authorId: editor.user.id, title: "Original title", body: "one", status: "DRAFT" });
    const form = await editor.agent.get(`/admin/blog/post/${p.id}/change/`).expect(200);
    expect(form.text).toContain('name="_version" value="1"');
    expect(form.text).toContain("Original title");
    await csrfPost(editor, `/admin/blog/post/${p.id}/change/`, postForm({ title: "New title", body: "two", _version: "1", publish: "2026-11-02T10:00" }), 303);
    const after = await prisma.post.findUniqueOrThrow({ where: { id: p.id } });
    expect(after).toMatchObject({ title: "New title", body: "two", version: 2 });
    const audit = await prisma.auditLog.findFirstOrThrow({ where: { model: "blog.post", objectId: String(p.id), action: "CHANGE" } });
    expect((audit.changes as { changed: string[] }).changed).toEqual(expect.arrayContaining(["title", "body", "categoryId", "tagIds"]));
  });

  it("keeps a stored publish time (seconds included) when the form sends it back unchanged", async () => {
    const p = await makePost({ authorId: editor.user.id, title: "Precise", publish: new Date("2026-03-04T05:06:37.250Z"), status: "DRAFT" });
    const form = await editor.agent.get(`/admin/blog/post/${p.id}/change/`).expect(200);
    expect(form.text).toContain('value="2026-03-04T05:06"');
    await csrfPost(editor, `/admin/blog/post/${p.id}/change/`, postForm({ title: "Precise!", publish: "2026-03-04T05:06", _version: "1" }), 303);
    const after = await prisma.post.findUniqueOrThrow({ where: { id: p.id } });
    expect(after.publish.toISOString()).toBe("2026-03-04T05:06:37.250Z");
    const audit = await prisma.auditLog.findFirstOrThrow({ where: { model: "blog.post", objectId: String(p.id), action: "CHANGE" } });
    expect((audit.changes as { changed: string[] }).changed).not.toContain("publish");
    await csrfPost(editor, `/admin/blog/post/${p.id}/change/`, postForm({ title: "Precise!", publish: "2026-03-04T05:07", _version: "2" }), 303);
    expect((await prisma.post.findUniqueOrThrow({ where: { id: p.id } })).publish.toISOString()).toBe("2026-03-04T05:07:00.000Z");
  });

  it("detects a conflicting save: nothing overwritten, both versions shown", async () => {
    const p = await makePost({ authorId: editor.user.id, title: "Shared post", body: "base text", status: "DRAFT" });
    const other = await signedIn(app, "EDITOR");
    await csrfPost(other, `/admin/blog/post/${p.id}/change/`, postForm({ title: "Shared post", body: "THEIR text", _version: "1" }), 303);
    const res = await csrfPost(editor, `/admin/blog/post/${p.id}/change/`, postForm({ title: "Shared post", body: "MY text", _version: "1" }), 409);
    expect(res.text).toContain("Edit conflict");
    expect(res.text).toContain("THEIR text");
    expect(res.text).toContain("MY text");
    expect(res.text).toContain('name="_version" value="2"');
    expect((await prisma.post.findUniqueOrThrow({ where: { id: p.id } })).body).toBe("THEIR text");
    // saving again, deliberately, on top of their version
    await csrfPost(editor, `/admin/blog/post/${p.id}/change/`, postForm({ title: "Shared post", body: "MY text", _version: "2" }), 303);
    expect((await prisma.post.findUniqueOrThrow({ where: { id: p.id } })).body).toBe("MY text");
  });

  it("answers 404 for unknown and hostile ids", async () => {
    for (const id of ["999999", "abc", "-1", "1e30", "0", "01", "2147483648", "99999999999999999999", "1.5", "%00", "1;DROP"]) {
      for (const suffix of ["change/", "delete/", "history/"]) {
        const res = await editor.agent.get(`/admin/blog/post/${id}/${suffix}`);
        expect(res.status, `${id}/${suffix}`).toBe(404);
      }
      const res = await csrfPost(editor, `/admin/blog/post/${id}/change/`, postForm());
      expect([404, 400], id).toContain(res.status);
    }
    await editor.agent.get("/admin/blog/category/abc/change/").expect(404);
    await editor.agent.get("/admin/blog/tag/-1/change/").expect(404);
  });

  it("a missing or bad version field is a 400, not a silent overwrite", async () => {
    const p = await makePost({ authorId: editor.user.id, title: "Versioned", status: "DRAFT" });
    await csrfPost(editor, `/admin/blog/post/${p.id}/change/`, postForm({ title: "x" }), 400);
    await csrfPost(editor, `/admin/blog/post/${p.id}/change/`, postForm({ title: "x", _version: "abc" }), 400);
    expect((await prisma.post.findUniqueOrThrow({ where: { id: p.id } })).title).toBe("Versioned");
  });

  it("edits categories, tags and users through the generic form, with unique-value messages", async () => {
    const add = await csrfPost(editor, "/admin/blog/category/add/", { name: "Big Data & AI", slug: "" }, 303);
    expect(add.headers.location).toBe("/admin/blog/category/");
    const c = await prisma.category.findFirstOrThrow({ where: { name: "Big Data & AI" } });
    expect(c.slug).toBe("big-data-and-ai");
    const dup = await csrfPost(editor, "/admin/blog/category/add/", { name: "Dup", slug: "big-data-and-ai" }, 400);
    expect(dup.text).toContain("This value is already used");
    await csrfPost(editor, `/admin/blog/category/${c.id}/change/`, { name: "Data", slug: "data", description: "All about data", _version: "1" }, 303);
    expect(await prisma.category.findUniqueOrThrow({ where: { id: c.id } })).toMatchObject({ name: "Data", slug: "data" });
    const audits = await prisma.auditLog.findMany({ where: { model: "blog.category", objectId: String(c.id) }, orderBy: { id: "asc" } });
    expect(audits.map((a) => a.action)).toEqual(["ADD", "CHANGE"]);
    expect((audits[1]!.changes as { changed: string[] }).changed).toEqual(["name", "slug", "description"]);
  });
});

describe("delete", () => {
  it("asks for confirmation listing what goes with it, then deletes and logs", async () => {
    const p = await makePost({ authorId: editor.user.id, title: "Doomed post", tagIds, status: "DRAFT" });
    const confirm = await editor.agent.get(`/admin/blog/post/${p.id}/delete/`).expect(200);
    expect(confirm.text).toContain("Are you sure you want to delete the post “Doomed post”?");
    expect(confirm.text).toContain("1 revision");
    expect(confirm.text).toContain("2 tag links");
    await csrfPost(editor, `/admin/blog/post/${p.id}/delete/`, {}, 303);
    expect(await prisma.post.findUnique({ where: { id: p.id } })).toBeNull();
    expect(await prisma.auditLog.count({ where: { model: "blog.post", objectId: String(p.id), action: "DELETE" } })).toBe(1);
    await editor.agent.get(`/admin/blog/post/${p.id}/change/`).expect(404);
  });
});

describe("history and revisions", () => {
  it("keeps a revision per save, shows diffs against the current text, restores one as a new revision", async () => {
    const p = await makePost({ authorId: editor.user.id, title: "Evolving", body: "first line\n", status: "DRAFT" });
    await csrfPost(editor, `/admin/blog/post/${p.id}/change/`, postForm({ title: "Evolving", body: "second line\n", _version: "1" }), 303);
    await csrfPost(editor, `/admin/blog/post/${p.id}/change/`, postForm({ title: "Evolving!", body: "third line\n", _version: "2" }), 303);
    const revs = await prisma.postRevision.findMany({ where: { postId: p.id }, orderBy: { id: "asc" } });
    expect(revs.map((r) => r.body)).toEqual(["first line\n", "second line\n", "third line\n"]);
    const hist = await editor.agent.get(`/admin/blog/post/${p.id}/history/`).expect(200);
    expect(hist.text).toContain("<del>first line\n</del><ins>third line\n</ins>");
    expect(hist.text).toContain("Changed title, body");
    await csrfPost(editor, `/admin/blog/post/${p.id}/history/${revs[0]!.id}/restore/`, {}, 303);
    const after = await prisma.post.findUniqueOrThrow({ where: { id: p.id } });
    expect(after).toMatchObject({ body: "first line\n", title: "Evolving", version: 4 });
    expect(await prisma.postRevision.count({ where: { postId: p.id } })).toBe(4);
    const hist2 = await editor.agent.get(`/admin/blog/post/${p.id}/history/`).expect(200);
    expect(hist2.text).toContain(`Restored revision ${revs[0]!.id}`);
    // a revision of another post, or a hostile revision id, is a 404
    const other = await makePost({ authorId: editor.user.id, title: "Other", status: "DRAFT" });
    const otherRev = await prisma.postRevision.findFirstOrThrow({ where: { postId: other.id } });
    await csrfPost(editor, `/admin/blog/post/${p.id}/history/${otherRev.id}/restore/`, {}, 404);
    await csrfPost(editor, `/admin/blog/post/${p.id}/history/abc/restore/`, {}, 404);
  });

  it("the index shows recent actions linking to the objects", async () => {
    const res = await editor.agent.get("/admin/").expect(200);
    expect(res.text).toContain("Recent actions");
    expect(res.text).toMatch(/<a href="\/admin\/blog\/post\/\d+\/change\/">Evolving<\/a>/);
  });
});

describe("form endpoints", () => {
  it("previews Markdown as sanitised HTML (POST with CSRF)", async () => {
    const res = await editor.agent
      .post("/admin/preview/")
      .set("X-CSRF-Token", await editor.session.csrf())
      .type("form")
      .send({ body: "**bold** <script>alert(1)</script> [x](javascript:alert(1))" })
      .expect(200);
    expect(res.body.html).toContain("<strong>bold</strong>");
    expect(res.body.html).not.toContain("<script");
    expect(res.body.html).not.toContain("javascript:");
    await editor.agent.post("/admin/preview/").type("form").send({ body: "x" }).expect(403);
    await editor.agent
      .post("/admin/preview/")
      .set("X-CSRF-Token", await editor.session.csrf())
      .type("form")
      .send({ body: ["a", "b"] })
      .expect(400);
    await editor.agent
      .post("/admin/preview/")
      .set("X-CSRF-Token", await editor.session.csrf())
      .type("form")
      .send({})
      .expect(400);
  });

  it("autocompletes authors for editors only", async () => {
    const res = await editor.agent.get(`/admin/autocomplete/?model=accounts_user&term=${editor.user.username.slice(0, 6)}`).expect(200);
    expect(res.body.results.map((r: { text: string }) => r.text)).toContain(editor.user.username);
    await editor.agent.get("/admin/autocomplete/?model=secret&term=a").expect(400);
    await editor.agent.get("/admin/autocomplete/?model=accounts_user&term=a&term=b").expect(400);
    const author = await signedIn(app, "AUTHOR");
    await author.agent.get("/admin/autocomplete/?model=accounts_user&term=a").expect(403);
  });
});

describe("scheduled publishing", () => {
  it("a PUBLISHED post with a future time is absent everywhere until its time, then present", async () => {
    const future = new Date(Date.now() + 3_600_000);
    const local = future.toISOString().slice(0, 16);
    await csrfPost(
      editor,
      "/admin/blog/post/add/",
      postForm({ title: "Quokka scheduled announcement", slug: "quokka-scheduled", body: "Quokkas everywhere.", status: "PUBLISHED", publish: local }),
      303,
    );
    const post = await prisma.post.findFirstOrThrow({ where: { slug: "quokka-scheduled" } });
    const day = post.publish.toISOString().slice(0, 10).split("-");
    const detail = `/blog/${day[0]}/${day[1]}/${day[2]}/quokka-scheduled/`;
    const reader = async () => ({
      list: (await editor.agent.get("/blog/")).text,
      detail: (await editor.agent.get(detail)).status,
      rss: (await editor.agent.get("/blog/feed/rss/")).text,
      atom: (await editor.agent.get("/blog/feed/atom/")).text,
      sitemap: (await editor.agent.get("/sitemap-posts-1.xml")).text,
      search: (await editor.agent.get("/blog/search/?q=quokka")).text,
      category: (await editor.agent.get("/blog/category/news/")).text,
    });
    const before = await reader();
    expect(before.list).not.toContain("Quokka scheduled announcement");
    expect(before.detail).toBe(404);
    expect(before.rss).not.toContain("quokka-scheduled");
    expect(before.atom).not.toContain("quokka-scheduled");
    expect(before.sitemap).not.toContain("quokka-scheduled");
    expect(before.search).not.toContain("quokka-scheduled/");
    expect(before.category).not.toContain("Quokka scheduled announcement");
    // the admin list marks it as in the future
    expect((await editor.agent.get("/admin/blog/post/?q=quokka").expect(200)).text).toContain("badge-future");

    // Time passes: move the publish time to a second ago (same UTC day, so the URL stays).
    await prisma.$executeRaw`UPDATE "Post" SET publish = now() - interval '1 second' WHERE id = ${post.id}`;
    const moved = await prisma.post.findUniqueOrThrow({ where: { id: post.id } });
    const d2 = moved.publish.toISOString().slice(0, 10).split("-");
    // Feeds are rebuilt at most every FEED_TTL_MS (30 s, by design): a scheduled post reaches them
    // within that window. Let that window pass too.
    await invalidate();
    const after = await reader();
    expect(after.list).toContain("Quokka scheduled announcement");
    expect((await editor.agent.get(`/blog/${d2[0]}/${d2[1]}/${d2[2]}/quokka-scheduled/`)).status).toBe(200);
    expect(after.rss).toContain("quokka-scheduled");
    expect(after.atom).toContain("quokka-scheduled");
    expect(after.sitemap).toContain("quokka-scheduled");
    expect(after.search).toContain("quokka-scheduled/"); // the hit links to the post (its title is highlighted)
    expect(after.category).toContain("Quokka scheduled announcement");
  });
});
