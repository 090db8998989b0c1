// "My posts" (/write/posts/) and the header's writer links, through the real app: the three groups
// (a published post with a future time is scheduled), each with its date, word count and links; only
// the writer's own posts; "Page X of Y"; empty states; private and noindex; who gets the page and the
// links (readers: none; authors: Write, My posts; editors and admins: also Admin). And the old small
// editor's addresses: /write/ and /write/<id>/edit/ lead to the one editor; a form posted there gets
// 410 with the text it sent.
import { beforeAll, describe, expect, it } from "vitest";
import request from "supertest";
import { buildApp } from "../../src/app.ts";
import { config } from "../../src/config.ts";
import { postUrl } from "../../src/blog/queries.ts";
import { formatDate } from "../../src/web/templates.ts";
import { url } from "../../src/web/urls.ts";
import { csrfPost, hoursAgo, inHours, makePost, prisma, signedIn, type Signed } from "../support/fixtures.ts";

(config as { PAGE_CACHE: boolean }).PAGE_CACHE = true;
const app = buildApp();
let author: Signed;
let other: Signed;
let editor: Signed;
let admin: Signed;
let reader: Signed;
let fresh: Signed;

const list = url("authoring:my_posts");
const tab = (group: string) => url("authoring:my_posts", { group });

beforeAll(async () => {
  author = await signedIn(app, "AUTHOR");
  other = await signedIn(app, "AUTHOR");
  editor = await signedIn(app, "EDITOR");
  admin = await signedIn(app, "ADMIN");
  reader = await signedIn(app, "READER");
  fresh = await signedIn(app, "AUTHOR");
});

describe("My posts", () => {
  let draft: { id: number; updatedAt: Date };
  let soon: { id: number; publish: Date };
  let live: { id: number; slug: string; publish: Date };

  beforeAll(async () => {
    draft = await makePost({ authorId: author.user.id, title: "My draft", body: "one two three four five", status: "DRAFT" });
    soon = await makePost({ authorId: author.user.id, title: "My scheduled post", status: "SCHEDULED", publish: inHours(30) });
    live = await makePost({ authorId: author.user.id, title: "My published post", publish: hoursAgo(5) });
    await makePost({ authorId: other.user.id, title: "Someone else's draft", status: "DRAFT" });
  });

  it("drafts first: title, status, the last change in the site's zone, words and reading time, Edit and Preview", async () => {
    const res = await author.agent.get(list).expect(200);
    expect(res.headers["cache-control"]).toBe("private, no-store");
    expect(res.text).toContain('<meta name="robots" content="noindex">');
    expect(res.text).toContain("My draft");
    expect(res.text).not.toContain("My scheduled post");
    expect(res.text).not.toContain("Someone else");
    expect(res.text).toContain(formatDate(draft.updatedAt, "N j, Y, H:i"));
    const words = (await prisma.post.findUniqueOrThrow({ where: { id: draft.id } })).wordCount;
    expect(words).toBeGreaterThan(0);
    expect(res.text).toContain(`${words} words · 1 min read`);
    expect(res.text).toContain(`href="${url("admin:blog_post_change", { id: draft.id })}"`);
    expect(res.text).toContain(`href="${url("previews:post", { id: draft.id })}"`);
    expect(res.text).toContain(`href="${url("admin:blog_post_add")}"`); // New post
    // the tabs with their counts
    expect(res.text).toMatch(/aria-current="page">Drafts <span class="count">1<\/span>/);
    expect(res.text).toMatch(/>Scheduled <span class="count">1<\/span>/);
    expect(res.text).toMatch(/>Published <span class="count">1<\/span>/);
  });

  it("scheduled: a published post with a future time, with that time; published: View on the site", async () => {
    const s = await author.agent.get(tab("scheduled")).expect(200);
    expect(s.text).toContain("My scheduled post");
    expect(s.text).toContain(formatDate(soon.publish, "N j, Y, H:i T"));
    expect(s.text).toContain(`href="${url("previews:post", { id: soon.id })}"`);
    expect(s.text).not.toContain("My published post");
    const p = await author.agent.get(tab("published")).expect(200);
    expect(p.text).toContain("My published post");
    expect(p.text).toContain(`href="${postUrl(live)}"`);
    expect(p.text).not.toContain(url("previews:post", { id: live.id }));
  });

  it("unknown groups and pages are 404s; the drafts tab has one address", async () => {
    for (const path of [tab("drafts"), tab("archived"), "/write/posts/%00/", `${list}?page=2`, `${list}?page=0`, `${list}?page=abc`])
      await author.agent.get(path).expect(404);
    await author.agent.get(`${list}?page=last`).expect(200);
  });

  it("Page X of Y, newest first", async () => {
    const many = await signedIn(app, "AUTHOR");
    const per = config.POSTS_PER_PAGE;
    for (let i = 0; i < per + 2; i++) await makePost({ authorId: many.user.id, title: `Old post ${i}`, publish: hoursAgo(100 - i) });
    const first = await many.agent.get(tab("published")).expect(200);
    expect(first.text).toContain("Page 1 of 2");
    expect(first.text).toContain(`Old post ${per + 1}`); // the newest
    expect(first.text).not.toContain("Old post 0<");
    const second = await many.agent.get(`${tab("published")}?page=2`).expect(200);
    expect(second.text).toContain("Page 2 of 2");
    expect(second.text).toContain("Old post 0");
  });

  it("a new author is told what to do; an empty tab says how to fill it", async () => {
    const res = await fresh.agent.get(list).expect(200);
    expect(res.text).toContain("You have not written anything yet.");
    expect(res.text).toContain("Write your first post");
    const empty = await author.agent.get(tab("published")).expect(200);
    expect(empty.text).toContain("My published post");
    const none = await other.agent.get(tab("scheduled")).expect(200);
    expect(none.text).toContain("Nothing scheduled.");
  });

  it("editors and admins see their own posts, and an Admin link", async () => {
    await makePost({ authorId: editor.user.id, title: "The editor own draft", status: "DRAFT" });
    const res = await editor.agent.get(list).expect(200);
    expect(res.text).toContain("The editor own draft");
    expect(res.text).not.toContain("My draft");
    expect(res.text).toContain(`href="${url("admin:index")}"`);
    expect((await admin.agent.get(list).expect(200)).text).toContain(`href="${url("admin:index")}"`);
  });

  it("readers are refused; anonymous users sign in first", async () => {
    await reader.agent.get(list).expect(403);
    const res = await request(app).get(list).expect(302);
    expect(res.headers.location).toBe(url("accounts:login", {}, { next: list }));
  });
});

describe("the site header", () => {
  const nav = (html: string) => html.slice(html.indexOf('<nav class="site-nav"'), html.indexOf("</nav>", html.indexOf('<nav class="site-nav"')));

  it("authors: Write (the editor) and My posts, no Admin; editors and admins: also Admin; readers: none", async () => {
    const a = nav((await author.agent.get("/blog/").expect(200)).text);
    expect(a).toContain(`href="${url("admin:blog_post_add")}"`);
    expect(a).toContain(`href="${list}"`);
    expect(a).not.toContain('href="/admin/"');
    for (const s of [editor, admin]) {
      const n = nav((await s.agent.get("/blog/").expect(200)).text);
      expect(n).toContain(`href="${list}"`);
      expect(n).toContain('href="/admin/">Admin</a>');
    }
    const r = nav((await reader.agent.get("/blog/").expect(200)).text);
    expect(r).not.toContain(`href="${list}"`);
    expect(r).not.toContain(url("admin:blog_post_add"));
    const anon = nav((await request(app).get("/blog/").expect(200)).text);
    expect(anon).not.toContain("My posts");
  });

  it("marks My posts as the current page there", async () => {
    expect((await author.agent.get(list).expect(200)).text).toContain(`href="${list}" aria-current="page">My posts`);
  });
});

describe("the old editor's addresses", () => {
  it("/write/ opens a new post in the one editor; /write/<id>/edit/ has moved to the post's change form", async () => {
    expect((await author.agent.get("/write/").expect(302)).headers.location).toBe(url("admin:blog_post_add"));
    const p = await makePost({ authorId: author.user.id, status: "DRAFT" });
    expect((await author.agent.get(`/write/${p.id}/edit/`).expect(301)).headers.location).toBe(url("admin:blog_post_change", { id: p.id }));
    await author.agent.get("/write/abc/edit/").expect(404);
    await reader.agent.get("/write/").expect(403);
    expect((await request(app).get("/write/").expect(302)).headers.location).toBe(url("accounts:login", {}, { next: "/write/" }));
  });

  it("a form still posted there (a tab from before) saves nothing and gets 410 with its text back", async () => {
    const before = await prisma.post.count();
    const res = await csrfPost(author, "/write/", { title: "Typed <title>", body: "Every word I typed.", tags: "a, b", status: "DRAFT" }, 410);
    expect(res.text).toContain("This editor has moved");
    expect(res.text).toContain("Typed &lt;title&gt;");
    expect(res.text).toContain("Every word I typed.");
    expect(res.text).toContain(`href="${url("admin:blog_post_add")}"`);
    await csrfPost(author, "/write/1/edit/", { title: "x", body: "y", version: "1" }, 410);
    await csrfPost(author, "/write/9999999999/edit/", { title: "x" }, 404); // not an id: as on every route
    expect(await prisma.post.count()).toBe(before);
    await request(app).post("/write/").type("form").send({ title: "x" }).expect(403); // no session, no token
  });
});
