// The /write/ pages through the real app: roles via can(), validation, tags, slugs, drafts,
// object-level permission (an author cannot change someone else's post).
import { describe, expect, it } from "vitest";
import request from "supertest";
import { buildApp } from "../../src/app.ts";
import { prisma } from "../../src/db/index.ts";
import { can } from "../../src/accounts/permissions.ts";
import { createPost } from "../../src/authoring/service.ts";
import { csrfFrom, login } from "../support/auth.ts";
import { createUser, makeCategory, makeTag } from "../support/fixtures.ts";
import { FORM_BODY_LIMIT_BYTES } from "../../src/web/limits.ts";

const app = buildApp();

async function signedIn(role: "READER" | "AUTHOR" | "EDITOR" | "ADMIN") {
  const { user, password } = await createUser({ role });
  const agent = request.agent(app);
  const session = await login(agent, user.username, password);
  return { user, agent, session };
}

async function writeToken(agent: ReturnType<typeof request.agent>, path = "/write/") {
  return csrfFrom((await agent.get(path).expect(200)).text);
}

describe("/write/ access", () => {
  it("sends anonymous users to the login page and back to /write/ after it", async () => {
    const res = await request(app).get("/write/").expect(302);
    expect(res.headers.location as string).toBe("/accounts/login/?next=%2Fwrite%2F");
    const { user, password } = await createUser({ role: "AUTHOR" });
    const agent = request.agent(app);
    const page = await agent.get(res.headers.location as string).expect(200);
    const after = await agent
      .post("/accounts/login/")
      .type("form")
      .send({ _csrf: csrfFrom(page.text), username: user.username, password, next: "/write/" })
      .expect(303);
    expect(after.headers.location).toBe("/write/");
    const form = await agent.get("/write/").expect(200);
    expect(form.text).not.toContain("aria-invalid");
    expect(form.text).not.toContain("field--invalid");
  });

  it("refuses readers (403) and anonymous POSTs", async () => {
    const { agent, session } = await signedIn("READER");
    await agent.get("/write/").expect(403);
    await agent
      .post("/write/")
      .type("form")
      .send({ _csrf: await session.csrf(), title: "x", body: "y" })
      .expect(403);
    await request(app).post("/write/").type("form").send({ title: "x", body: "y" }).expect(403);
  });

  it("shows the Write link to authors only", async () => {
    const reader = await signedIn("READER");
    expect((await reader.agent.get("/accounts/profile/")).text).not.toContain('href="/write/"');
    const author = await signedIn("AUTHOR");
    expect((await author.agent.get("/accounts/profile/")).text).toContain('href="/write/"');
  });
});

describe("writing a post", () => {
  it("publishes: creates missing tags (slugified), renders Markdown, redirects to the post", async () => {
    const cat = await makeCategory("Django", "django");
    await makeTag("Python", "python");
    const { user, agent } = await signedIn("AUTHOR");
    const res = await agent
      .post("/write/")
      .type("form")
      .send({
        _csrf: await writeToken(agent),
        title: "Hello World",
        category: String(cat.id),
        tags: "python, Web Dev , ,web dev",
        body: "Some **bold** text.\n\n- one\n- two",
        status: "PUBLISHED",
      })
      .expect(303);
    const post = await prisma.post.findFirstOrThrow({ where: { title: "Hello World" }, include: { tags: { include: { tag: true } } } });
    expect(post.authorId).toBe(user.id);
    expect(post.slug).toBe("hello-world");
    expect(post.status).toBe("PUBLISHED");
    expect(post.bodyHtml).toContain("<strong>bold</strong>");
    expect(post.tags.map((t) => t.tag.slug).sort()).toEqual(["python", "web-dev"]);
    const d = post.publish;
    const path = `/blog/${d.getUTCFullYear()}/${String(d.getUTCMonth() + 1).padStart(2, "0")}/${String(d.getUTCDate()).padStart(2, "0")}/hello-world/`;
    expect(res.headers.location as string).toBe(path);
    expect(await prisma.tag.count({ where: { slug: "web-dev" } })).toBe(1);
    expect(await prisma.postRevision.count({ where: { postId: post.id } })).toBe(1);
  });

  it("the same title on the same day gets -2, -3", async () => {
    const { user } = await createUser({ role: "AUTHOR" });
    const input = { title: "Same Title", body: "text", categoryId: null, tagNames: [], status: "PUBLISHED" as const };
    const a = await createPost(user, input);
    const b = await createPost(user, input);
    const c = await createPost(user, input);
    expect([a.slug, b.slug, c.slug]).toEqual(["same-title", "same-title-2", "same-title-3"]);
  });

  it("saves a draft and shows the 'saved as draft' page (to its author only)", async () => {
    const { agent } = await signedIn("AUTHOR");
    const res = await agent
      .post("/write/")
      .type("form")
      .send({ _csrf: await writeToken(agent), title: "Draft one", body: "wip", status: "DRAFT" })
      .expect(303);
    expect(res.headers.location as string).toMatch(/^\/write\/saved\/\d+\/$/);
    const page = await agent.get(res.headers.location as string).expect(200);
    expect(page.text).toContain("Draft saved");
    expect(page.text).toContain("Draft one");
    const other = await signedIn("AUTHOR");
    await other.agent.get(res.headers.location as string).expect(404);
    const editor = await signedIn("EDITOR");
    expect((await editor.agent.get(res.headers.location as string).expect(200)).text).toContain("Draft one");
  });

  it("validation errors next to fields, input kept, titles with XSS escaped", async () => {
    const { agent } = await signedIn("AUTHOR");
    const xss = `<script>alert("t")</script>`;
    const res = await agent
      .post("/write/")
      .type("form")
      .send({ _csrf: await writeToken(agent), title: xss, category: "999999", tags: "a", body: "", status: "PUBLISHED" })
      .expect(400);
    expect(res.text).toContain("Write the post&#39;s text.");
    expect(res.text).toContain("Select a valid choice");
    expect(res.text).not.toContain("<script>alert");
    expect(res.text).toContain('value="&lt;script&gt;alert(&quot;t&quot;)&lt;/script&gt;"');
    // Published post with an XSS title: escaped on the post page and the draft page.
    const ok = await agent
      .post("/write/")
      .type("form")
      .send({ _csrf: await writeToken(agent), title: xss, body: "hi", status: "DRAFT" })
      .expect(303);
    const draft = await agent.get(ok.headers.location as string).expect(200);
    expect(draft.text).not.toContain("<script>alert");
    expect(draft.text).toContain("&lt;script&gt;");
  });

  it.each([
    ["arrays", (t: string) => `_csrf=${t}&title=a&title=b&body=x`],
    ["missing fields", (t: string) => `_csrf=${t}`],
    ["huge title", (t: string) => `_csrf=${t}&title=${"t".repeat(5000)}&body=x`],
    ["NUL bytes", (t: string) => `_csrf=${t}&title=a%00b&body=x%00y`],
    ["bad status", (t: string) => `_csrf=${t}&title=a&body=x&status=DELETED`],
    ["bad category", (t: string) => `_csrf=${t}&title=a&body=x&category=1%20OR%201=1`],
    ["too many tags", (t: string) => `_csrf=${t}&title=a&body=x&tags=${Array.from({ length: 30 }, (_, i) => `t${i}`).join(",")}`],
  ])("hostile input (%s) -> 400, nothing saved", async (_l, body) => {
    const { agent, user } = await signedIn("AUTHOR");
    const res = await agent
      .post("/write/")
      .type("form")
      .send(body(await writeToken(agent)));
    expect(res.status).toBe(400);
    expect(await prisma.post.count({ where: { authorId: user.id } })).toBe(0);
  });

  it("malformed percent-encoding is taken literally (no 500)", async () => {
    const { agent } = await signedIn("AUTHOR");
    const res = await agent
      .post("/write/")
      .type("form")
      .send(`_csrf=${await writeToken(agent)}&title=%E0%A4%A&body=%ZZ&status=DRAFT`);
    expect(res.status).toBe(303);
    expect(await prisma.post.count({ where: { title: "%E0%A4%A", body: "%ZZ" } })).toBe(1);
  });

  it("a long body is kept in full when another field has an error", async () => {
    const { agent } = await signedIn("AUTHOR");
    const body = "word ".repeat(10_000).trim();
    const res = await agent
      .post("/write/")
      .type("form")
      .send({ _csrf: await writeToken(agent), title: "", body })
      .expect(400);
    expect(res.text).toContain(`${body}</textarea>`);
  });

  it("a form over the parser's limit (src/web/limits.ts) -> 413", async () => {
    const { agent, user } = await signedIn("AUTHOR");
    const res = await agent
      .post("/write/")
      .type("form")
      .send({ _csrf: await writeToken(agent), title: "big", body: "x".repeat(FORM_BODY_LIMIT_BYTES + 1) });
    expect(res.status).toBe(413);
    expect(await prisma.post.count({ where: { authorId: user.id } })).toBe(0);
  });

  it("refuses a POST without the CSRF token", async () => {
    const { agent, user } = await signedIn("AUTHOR");
    await agent.post("/write/").type("form").send({ title: "no token", body: "x" }).expect(403);
    expect(await prisma.post.count({ where: { authorId: user.id } })).toBe(0);
  });
});

describe("object-level permissions", () => {
  it("can(): authors change their own posts only; editors change all", async () => {
    const a = (await createUser({ role: "AUTHOR" })).user;
    const b = (await createUser({ role: "AUTHOR" })).user;
    const ed = (await createUser({ role: "EDITOR" })).user;
    const reader = (await createUser({ role: "READER" })).user;
    const post = { authorId: a.id };
    expect(can(a, "post.change", post)).toBe(true);
    expect(can(b, "post.change", post)).toBe(false);
    expect(can(b, "post.publish", post)).toBe(false);
    expect(can(ed, "post.change", post)).toBe(true);
    expect(can(reader, "post.create")).toBe(false);
    expect(can({ ...a, isActive: false }, "post.change", post)).toBe(false);
  });

  it("an author cannot open or change another author's post (404), the owner and editors can", async () => {
    const owner = await signedIn("AUTHOR");
    const created = await owner.agent
      .post("/write/")
      .type("form")
      .send({ _csrf: await writeToken(owner.agent), title: "Mine", body: "original", status: "PUBLISHED" })
      .expect(303);
    const post = await prisma.post.findFirstOrThrow({ where: { authorId: owner.user.id } });
    expect(created.headers.location).toContain("/mine/");
    const editPath = `/write/${post.id}/edit/`;

    const intruder = await signedIn("AUTHOR");
    await intruder.agent.get(editPath).expect(404);
    await intruder.agent
      .post(editPath)
      .type("form")
      .send({ _csrf: await intruder.session.csrf(), title: "Hacked", body: "pwned", version: "1", status: "PUBLISHED" })
      .expect(404);
    expect((await prisma.post.findUniqueOrThrow({ where: { id: post.id } })).title).toBe("Mine");

    // The owner edits (version check included).
    const form = await owner.agent.get(editPath).expect(200);
    expect(form.text).toContain('name="version" value="1"');
    await owner.agent
      .post(editPath)
      .type("form")
      .send({ _csrf: csrfFrom(form.text), title: "Mine, edited", body: "changed", version: "1", status: "PUBLISHED" })
      .expect(303);
    const after = await prisma.post.findUniqueOrThrow({ where: { id: post.id } });
    expect(after.title).toBe("Mine, edited");
    expect(after.slug).toBe("mine"); // a published post keeps its URL
    expect(after.version).toBe(2);
    // A stale version is a conflict, not an overwrite.
    const stale = await owner.agent
      .post(editPath)
      .type("form")
      .send({ _csrf: csrfFrom(form.text), title: "Stale", body: "old tab", version: "1", status: "PUBLISHED" });
    expect(stale.status).toBe(409);
    expect((await prisma.post.findUniqueOrThrow({ where: { id: post.id } })).title).toBe("Mine, edited");

    const editor = await signedIn("EDITOR");
    expect((await editor.agent.get(editPath).expect(200)).text).toContain("Mine, edited");
  });

  it("edit URLs with hostile ids are 404s", async () => {
    const { agent } = await signedIn("AUTHOR");
    for (const id of ["0", "-1", "abc", "99999999999", "1%20OR%201=1", "%00"]) {
      const res = await agent.get(`/write/${id}/edit/`);
      expect(res.status, id).toBe(404);
      expect(res.text, id).toContain("<h1>Page not found</h1>");
    }
  });
});
