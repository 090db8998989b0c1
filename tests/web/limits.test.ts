// Limits a writer can meet, through the real app: one stated figure (src/web/limits.ts), enforced where
// it is stated, with the form and the text kept and a message naming the limit. And a save refused
// because the session ended or the token went stale: the text comes back (this site's own forms
// only). And a production site reached over plain HTTP says so on its forms, in its log and on the
// refusal page.
import { afterEach, describe, expect, it, vi } from "vitest";
import request from "supertest";
import { buildApp } from "../../src/app.ts";
import { config } from "../../src/config.ts";
import { pool, prisma } from "../../src/db/index.ts";
import { FORM_BODY_LIMIT_BYTES, POST_BODY_MAX } from "../../src/web/limits.ts";
import { csrfFrom, login, LOGIN_PATH } from "../support/auth.ts";
import { createUser } from "../support/fixtures.ts";
import { captureRequestLogs } from "../support/logs.ts";

const app = buildApp();

async function signedIn(role: "AUTHOR" | "EDITOR") {
  const { user, password } = await createUser({ role });
  const agent = request.agent(app);
  const session = await login(agent, user.username, password);
  return { user, password, agent, session };
}

const para = "“Quotes,” (parens), & ampersands: 100% fine? Yes — it’s ordinary punctuation; sure!\n";
const textOf = (n: number) => para.repeat(Math.ceil(n / para.length)).slice(0, n);

function adminPost(fields: Record<string, string>) {
  return { title: "t", slug: "", categoryId: "", body: "", excerpt: "", metaDescription: "", status: "DRAFT", publish: "", _save: "1", ...fields };
}

describe("a post's body: 200,000 characters in the editor", () => {
  it("an 84,000-character post with punctuation (over 120 kB URL-encoded) saves, for an author and an editor", async () => {
    const body = textOf(84_000);
    expect(Buffer.byteLength(new URLSearchParams({ body }).toString())).toBeGreaterThan(120_000);
    const { agent: author } = await signedIn("AUTHOR");
    const write = await author.get("/admin/blog/post/add/").expect(200);
    expect(write.text).toContain("Markdown, at most 200,000 characters.");
    await author
      .post("/admin/blog/post/add/")
      .type("form")
      .send({ _csrf: csrfFrom(write.text), ...adminPost({ title: "Long one", body }) })
      .expect(303);
    expect((await prisma.post.findFirstOrThrow({ where: { title: "Long one" } })).body).toBe(body);
    const { user, agent } = await signedIn("EDITOR");
    const add = await agent.get("/admin/blog/post/add/").expect(200);
    expect(add.text).toContain("Markdown, at most 200,000 characters.");
    await agent
      .post("/admin/blog/post/add/")
      .type("form")
      .send({ _csrf: csrfFrom(add.text), ...adminPost({ title: "Long two", body, authorId: String(user.id) }) })
      .expect(303);
    expect((await prisma.post.findFirstOrThrow({ where: { title: "Long two" } })).body).toBe(body);
  });

  it("exactly 200,000 characters of three-byte characters (1.8 MB URL-encoded) save; line breaks count once, as the writer sees them", async () => {
    const { agent } = await signedIn("AUTHOR");
    const page = await agent.get("/admin/blog/post/add/").expect(200);
    const body = "€".repeat(POST_BODY_MAX);
    await agent
      .post("/admin/blog/post/add/")
      .type("form")
      .send({ _csrf: csrfFrom(page.text), ...adminPost({ title: "Euros", body }) })
      .expect(303);
    expect((await prisma.post.findFirstOrThrow({ where: { title: "Euros" } })).body).toHaveLength(POST_BODY_MAX);
    // 199,000 characters + 1,000 line breaks = 200,000 as typed, 201,000 as sent (CRLF)
    const lines = Array.from({ length: 1000 }, () => "y".repeat(199)).join("\r\n") + "\r\n";
    expect(lines.replace(/\r\n/g, "\n")).toHaveLength(POST_BODY_MAX);
    await agent
      .post("/admin/blog/post/add/")
      .type("form")
      .send({ _csrf: csrfFrom(page.text), ...adminPost({ title: "Lines", body: lines }) })
      .expect(303);
    const { user: ed, agent: editor } = await signedIn("EDITOR");
    const add = await editor.get("/admin/blog/post/add/").expect(200);
    await editor
      .post("/admin/blog/post/add/")
      .type("form")
      .send({ _csrf: csrfFrom(add.text), ...adminPost({ title: "Lines admin", body: lines, authorId: String(ed.id) }) })
      .expect(303);
  });

  it("200,001 characters: 400 with a field message naming the limit, the whole text kept in the form, nothing saved", async () => {
    const body = "z".repeat(POST_BODY_MAX) + "!";
    const { agent: author } = await signedIn("AUTHOR");
    const write = await author.get("/admin/blog/post/add/").expect(200);
    const w = await author
      .post("/admin/blog/post/add/")
      .type("form")
      .send({ _csrf: csrfFrom(write.text), ...adminPost({ title: "Over", body }) })
      .expect(400);
    expect(w.text).toContain("This field may hold at most 200,000 characters; it has 200,001.");
    expect(w.text).toContain(`${body}</textarea>`);
    const { user, agent } = await signedIn("EDITOR");
    const add = await agent.get("/admin/blog/post/add/").expect(200);
    const a = await agent
      .post("/admin/blog/post/add/")
      .type("form")
      .send({ _csrf: csrfFrom(add.text), ...adminPost({ title: "Over admin", body, authorId: String(user.id) }) })
      .expect(400);
    expect(a.text).toContain("This field may hold at most 200,000 characters; it has 200,001.");
    expect(a.text).toContain(`${body}</textarea>`);
    expect(await prisma.post.count({ where: { title: { in: ["Over", "Over admin"] } } })).toBe(0);
    // the admin's preview states the same figure
    const p = await agent
      .post("/admin/preview/")
      .set("Accept", "application/json")
      .set("X-CSRF-Token", csrfFrom(add.text))
      .type("form")
      .send({ body })
      .expect(400);
    expect(p.body.errors.body).toContain("200,000");
  });

  it("a request over the parser's limit (derived from the field limits) gets a 413 naming both figures", async () => {
    expect(FORM_BODY_LIMIT_BYTES).toBe(1_890_000);
    const { agent, session } = await signedIn("AUTHOR");
    const res = await agent
      .post("/admin/blog/post/add/")
      .type("form")
      .send({ _csrf: await session.csrf(), ...adminPost({ title: "Huge", body: "€".repeat(220_000) }) })
      .expect(413);
    expect(res.text).toContain("larger than the 1.9 MB this site accepts");
    expect(res.text).toContain("A post&#39;s body may hold 200,000 characters");
  });
});

describe("a save refused because the session ended keeps the text (the editor)", () => {
  async function expire(userId: number) {
    await pool.query(`UPDATE "session" SET expire = now() - interval '1 minute' WHERE (sess::jsonb -> 'passport' ->> 'user') = $1`, [String(userId)]);
  }

  it("this site's own form comes back with everything typed, why, and a way to sign in and save", async () => {
    const { user, password, agent } = await signedIn("AUTHOR");
    const token = csrfFrom((await agent.get("/admin/blog/post/add/").expect(200)).text);
    await expire(user.id);
    const typed = adminPost({ title: "Kept title", body: "Kept <b>body</b>\nline two", categoryId: "3", tags: "x, y" });
    const res = await agent
      .post("/admin/blog/post/add/")
      .set("Origin", "http://127.0.0.1")
      .set("Host", "127.0.0.1")
      .type("form")
      .send({ _csrf: token, ...typed })
      .expect(403);
    const shown = [
      "Your changes are not saved yet", // what happened,
      "Your session has expired", // why,
      "Kept &lt;b&gt;body&lt;/b&gt;\nline two</textarea>", // everything typed (escaped), editable,
      'value="Kept title"',
      'name="categoryId" value="3"', // the other fields sent again as they were,
      'action="/admin/blog/post/add/"', // to the same form,
      'target="_blank"', // and a sign-in link opening a second tab
    ];
    for (const text of shown) expect(res.text).toContain(text);
    expect(await prisma.post.count({ where: { title: "Kept title" } })).toBe(0);
    // the kept form carries a fresh token of the (new) session: after signing in, Save works
    const keptToken = csrfFrom(res.text);
    await agent.post(LOGIN_PATH).type("form").send({ _csrf: keptToken, username: user.username, password }).expect(303);
    const kept = { ...typed, categoryId: "" };
    const again = await agent
      .post("/admin/blog/post/add/")
      .set("Sec-Fetch-Site", "same-origin")
      .type("form")
      .send({ _csrf: keptToken, ...kept })
      .expect(403);
    expect(again.text).toContain("earlier session"); // the token rotated at login...
    await agent
      .post("/admin/blog/post/add/")
      .type("form")
      .send({ _csrf: csrfFrom(again.text), ...kept })
      .expect(303);
    expect((await prisma.post.findFirstOrThrow({ where: { title: "Kept title" } })).body).toBe("Kept <b>body</b>\nline two");
  });

  it("a form with a password (sign-in) gets the plain refusal page: passwords are never echoed", async () => {
    const agent = request.agent(app);
    await agent.get(LOGIN_PATH).expect(200);
    const res = await agent
      .post(LOGIN_PATH)
      .set("Sec-Fetch-Site", "same-origin")
      .type("form")
      .send({ _csrf: "stale", username: "someone", password: "never echoed" })
      .expect(403);
    expect(res.text).toContain("CSRF verification failed");
    expect(res.text).not.toContain("never echoed");
    expect(res.text).not.toContain("someone");
  });

  it("another site's form gets the bare refusal: its fields are never echoed into a form of ours", async () => {
    const { user, agent } = await signedIn("AUTHOR");
    await expire(user.id);
    for (const headers of [{ "Sec-Fetch-Site": "cross-site" }, { Origin: "https://evil.example" }, {}]) {
      const res = await agent.post("/admin/blog/post/add/").set(headers).type("form").send({ title: "Injected", body: "Injected body" }).expect(403);
      expect(res.text).toContain("CSRF verification failed");
      expect(res.text).not.toContain("Injected");
    }
  });

  it("a signed-out session with a valid token (the login check refuses) keeps the text too", async () => {
    const agent = request.agent(app);
    const token = csrfFrom((await agent.get(LOGIN_PATH).expect(200)).text);
    const admin = await agent
      .post("/admin/blog/post/add/")
      .set("Sec-Fetch-Site", "same-origin")
      .type("form")
      .send({ _csrf: token, title: "Anon admin", body: "Admin body" })
      .expect(403);
    expect(admin.text).toContain("You are not signed in any more");
    expect(admin.text).toContain("Admin body</textarea>");
    // JSON clients still get problem+json
    await agent.post("/admin/blog/post/add/").set("Accept", "application/json").type("form").send({ _csrf: token, title: "x" }).expect(403);
  });
});

describe("production over plain HTTP", () => {
  const saved = config.NODE_ENV;
  const savedSecure = config.SECURE_COOKIES;
  afterEach(() => {
    config.NODE_ENV = saved;
    config.SECURE_COOKIES = savedSecure;
    vi.restoreAllMocks();
  });

  it("says so on every form page, logs a warning once, and the refusal page names the cause", async () => {
    const warnings = captureRequestLogs("warn");
    config.NODE_ENV = "production";
    config.SECURE_COOKIES = true; // production's default (read per request)
    const agent = request.agent(app);
    const page = await agent.get(LOGIN_PATH).set("Host", "localhost").expect(200);
    expect(page.text).toContain("reached over plain HTTP");
    expect(page.text).toContain("insecure-transport");
    await agent.get("/accounts/password/reset/").set("Host", "localhost").expect(200);
    const refused = await request(app).post(LOGIN_PATH).set("Host", "localhost").type("form").send({ username: "a", password: "b" }).expect(403);
    expect(refused.text).toContain("reached over plain HTTP");
    const logged = warnings.filter((w) => String(w[1]).includes("plain HTTP"));
    expect(logged).toHaveLength(1);
    expect(logged[0]![0]).toMatchObject({ protocol: "http" });
    // over HTTPS (a trusted proxy says so) no notice
    config.NODE_ENV = saved;
    config.SECURE_COOKIES = savedSecure;
    expect((await request(app).get(LOGIN_PATH).expect(200)).text).not.toContain("insecure-transport");
  });
});
