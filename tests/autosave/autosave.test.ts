// Autosaves through the real app: the endpoint (sign-in, CSRF, can(), size caps), the slot per user
// and post, nothing readers see, the offer of a newer autosave on both post forms, and the pruning
// when the writer saves the post. Plus the editor script's session check.
import { describe, expect, it } from "vitest";
import request from "supertest";
import { buildApp } from "../../src/app.ts";
import { prisma } from "../../src/db/index.ts";
import { createPost } from "../../src/posts/service.ts";
import { csrfFrom, login } from "../support/auth.ts";
import { createUser } from "../support/fixtures.ts";
import { formBody, formValues } from "../support/html.ts";

const app = buildApp();
type AgentT = ReturnType<typeof request.agent>;

async function signedIn(role: "READER" | "AUTHOR" | "EDITOR" | "ADMIN") {
  const { user, password } = await createUser({ role });
  const agent = request.agent(app);
  const session = await login(agent, user.username, password);
  return { user, agent, session };
}

let n = 0;
async function postBy(authorId: number, status: "DRAFT" | "PUBLISHED" = "PUBLISHED") {
  n++;
  return createPost(
    { title: `Post ${n}`, body: `The saved body ${n}.`, status, publish: new Date(Date.UTC(2026, 9, n, 9)), authorId, categoryId: null },
    { id: authorId },
  );
}

function autosave(agent: AgentT, token: string | null, payload: unknown) {
  const r = agent.post("/autosave/").set("Accept", "application/json").set("Content-Type", "application/json");
  if (token) r.set("X-CSRF-Token", token);
  return r.send(JSON.stringify(payload));
}

const isPostForm = (a: Record<string, string>) => a.id === "blog_post_form";
const OFFER = "There is an autosave of this post that is more recent than the version below.";

describe("POST /autosave/", () => {
  it("stores the typed fields in the writer's slot for the post, changing nothing readers see", async () => {
    const { user, agent, session } = await signedIn("AUTHOR");
    const post = await postBy(user.id);
    const res = await autosave(agent, await session.csrf(), {
      post: post.id,
      baseVersion: post.version,
      fields: { title: "Typed title", body: "Typed *body*", tags: "a, b" },
    }).expect(200);
    expect(res.body.ok).toBe(true);
    expect(res.headers["cache-control"]).toContain("no-store");
    const row = await prisma.autosave.findUniqueOrThrow({ where: { userId_slot: { userId: user.id, slot: `post:${post.id}` } } });
    expect(row.fields).toEqual({ title: "Typed title", body: "Typed *body*", tags: "a, b" });
    expect(row.postId).toBe(post.id);
    expect(row.baseVersion).toBe(post.version);
    // the post, its revisions and the reader's page are as they were
    const stored = await prisma.post.findUniqueOrThrow({ where: { id: post.id } });
    expect([stored.title, stored.body, stored.version]).toEqual([post.title, post.body, post.version]);
    expect(await prisma.postRevision.count({ where: { postId: post.id } })).toBe(1);
    const day = post.publish.toISOString().slice(0, 10).split("-");
    const page = await request(app).get(`/blog/${day[0]}/${day[1]}/${day[2]}/${post.slug}/`).expect(200);
    expect(page.text).toContain("The saved body");
    expect(page.text).not.toContain("Typed");
    // a second autosave replaces the first (one row per user and slot)
    await autosave(agent, await session.csrf(), { post: post.id, baseVersion: post.version, fields: { title: "Typed again", body: "x" } }).expect(200);
    expect(await prisma.autosave.count({ where: { userId: user.id } })).toBe(1);
    // a new post has its own slot
    await autosave(agent, await session.csrf(), { post: null, fields: { title: "Brand new", body: "y" } }).expect(200);
    expect((await prisma.autosave.findMany({ where: { userId: user.id }, orderBy: { slot: "asc" } })).map((r) => r.slot)).toEqual(["new", `post:${post.id}`]);
  });

  it("requires sign-in, the CSRF token and permission to change the post", async () => {
    const owner = await signedIn("AUTHOR");
    const post = await postBy(owner.user.id);
    const fields = { title: "t", body: "b" };
    // anonymous (with a session and its token: the CSRF check passes, the login check refuses)
    const anon = request.agent(app);
    const s = await anon.get("/autosave/session/").set("Accept", "application/json").expect(200);
    expect(s.body).toMatchObject({ signedIn: false, userId: null });
    await autosave(anon, s.body.csrfToken, { post: post.id, fields }).expect(403);
    // signed in, without or with a wrong token
    const noToken = await autosave(owner.agent, null, { post: post.id, fields }).expect(403);
    expect(noToken.body.detail).toContain("CSRF");
    await autosave(owner.agent, "x".repeat(64), { post: post.id, fields }).expect(403);
    // another author: cannot even see the post (404, not revealing it), nor write it
    const other = await signedIn("AUTHOR");
    await autosave(other.agent, await other.session.csrf(), { post: post.id, fields }).expect(404);
    // a reader cannot write posts at all
    const reader = await signedIn("READER");
    await autosave(reader.agent, await reader.session.csrf(), { post: null, fields }).expect(403);
    // an editor may change anyone's post: their own slot
    const editor = await signedIn("EDITOR");
    await autosave(editor.agent, await editor.session.csrf(), { post: post.id, fields }).expect(200);
    // unknown post, id past int4
    await autosave(editor.agent, await editor.session.csrf(), { post: 2_000_000_000, fields }).expect(404);
    await autosave(editor.agent, await editor.session.csrf(), { post: 3_000_000_000, fields }).expect(400);
    expect(await prisma.autosave.count({ where: { postId: post.id } })).toBe(1);
  });

  it("caps the size and refuses what PostgreSQL cannot store, with a 400 naming the problem", async () => {
    const { agent, session } = await signedIn("AUTHOR");
    const t = await session.csrf();
    const over = await autosave(agent, t, { post: null, fields: { body: "x".repeat(200_001) } }).expect(400);
    expect(over.body.detail).toContain("200,000");
    await autosave(agent, t, { post: null, fields: { body: "x".repeat(200_000) } }).expect(200);
    expect((await autosave(agent, t, { post: null, fields: { body: "nul \u0000 here" } }).expect(400)).body.detail).toContain("NUL");
    const many = Object.fromEntries(Array.from({ length: 41 }, (_, i) => [`f${i}`, "x"]));
    await autosave(agent, t, { post: null, fields: many }).expect(400);
    await autosave(agent, t, { post: null, fields: { "bad name": "x" } }).expect(400);
    await autosave(agent, t, { post: null, fields: { body: { nested: true } } }).expect(400);
    await autosave(agent, t, { post: null, fields: ["x"] }).expect(400);
    await autosave(agent, t, { post: "12", fields: {} }).expect(400);
    const totalOver = Object.fromEntries(Array.from({ length: 2 }, (_, i) => [`f${i}`, "x".repeat(199_000)]));
    await autosave(agent, t, { post: null, fields: totalOver }).expect(400);
    // malformed JSON and a body over the byte limit: 400 / 413, never a 500
    await agent
      .post("/autosave/")
      .set("X-CSRF-Token", t)
      .set("Content-Type", "application/json")
      .set("Accept", "application/json")
      .send("{not json")
      .expect(400);
    await agent
      .post("/autosave/")
      .set("X-CSRF-Token", t)
      .set("Content-Type", "application/json")
      .set("Accept", "application/json")
      .send(JSON.stringify({ fields: { body: "é".repeat(1_000_000) } }))
      .expect(413);
  });
});

describe("the offer of a newer autosave, and pruning on save", () => {
  it("the editor offers an author a newer autosave, not an older or identical one; saving prunes it", async () => {
    const { user, agent, session } = await signedIn("AUTHOR");
    const post = await postBy(user.id, "DRAFT");
    const edit = `/admin/blog/post/${post.id}/change/`;
    expect((await agent.get(edit).expect(200)).text).not.toContain("data-autosave-offer");
    await autosave(agent, await session.csrf(), {
      post: post.id,
      baseVersion: post.version,
      fields: { title: post.title, body: "Words typed before the tab closed." },
    }).expect(200);
    const page = (await agent.get(edit).expect(200)).text;
    expect(page).toContain(OFFER);
    expect(page).toContain("Words typed before the tab closed.");
    expect(page).toContain("data-editor");
    // an autosave identical to the post is not offered
    await autosave(agent, await session.csrf(), { post: post.id, fields: { title: post.title, body: post.body } }).expect(200);
    expect((await agent.get(edit).expect(200)).text).not.toContain("data-autosave-offer");
    // one older than the post's last save is not offered either
    await autosave(agent, await session.csrf(), { post: post.id, fields: { title: post.title, body: "Old words" } }).expect(200);
    await prisma.autosave.updateMany({ where: { userId: user.id }, data: { updatedAt: new Date(post.updatedAt.getTime() - 60_000) } });
    expect((await agent.get(edit).expect(200)).text).not.toContain("data-autosave-offer");
    // saving the post prunes the writer's autosave
    await autosave(agent, await session.csrf(), { post: post.id, fields: { title: post.title, body: "Newest words" } }).expect(200);
    const form = (await agent.get(edit).expect(200)).text;
    await agent
      .post(edit)
      .type("form")
      .send(formBody({ ...formValues(form, isPostForm), _csrf: csrfFrom(form), body: "Newest words", _continue: "1" }))
      .expect(303);
    expect(await prisma.autosave.count({ where: { userId: user.id, slot: `post:${post.id}` } })).toBe(0);
    expect((await agent.get(edit).expect(200)).text).not.toContain("data-autosave-offer");
  });

  it("the admin's change form offers it too; another user's autosave stays theirs", async () => {
    const editor = await signedIn("EDITOR");
    const author = await signedIn("AUTHOR");
    const post = await postBy(author.user.id, "DRAFT");
    const change = `/admin/blog/post/${post.id}/change/`;
    await autosave(editor.agent, await editor.session.csrf(), {
      post: post.id,
      baseVersion: post.version,
      fields: { title: "Editor's title", body: "Editor's unsaved words", tagIds: [] },
    }).expect(200);
    await autosave(author.agent, await author.session.csrf(), {
      post: post.id,
      baseVersion: post.version,
      fields: { title: post.title, body: "Author's unsaved words" },
    }).expect(200);
    const page = (await editor.agent.get(change).expect(200)).text;
    expect(page).toContain(OFFER);
    expect(page).toContain('"body":"Editor\'s unsaved words"'); // the autosave's fields, for the restore button
    expect(page).not.toContain("Author's unsaved words");
    // restoring saves against the version the autosave was made from (a conflict if the post moved on)
    expect(page).toContain(`data-autosave-offer data-base-version="${post.version}"`);
    // the editor saves through the admin: their autosave goes, the author's stays
    const form = (await editor.agent.get(change).expect(200)).text;
    const version = /name="_version" value="(\d+)"/.exec(form)![1]!;
    await editor.agent
      .post(change)
      .type("form")
      .send({
        _csrf: csrfFrom(form),
        _version: version,
        title: "Editor's title",
        slug: post.slug,
        authorId: String(author.user.id),
        categoryId: "",
        body: "Editor's unsaved words",
        excerpt: "",
        metaDescription: "",
        status: "DRAFT",
        publish: "",
        _save: "1",
      })
      .expect(303);
    const rows = await prisma.autosave.findMany({ where: { postId: post.id } });
    expect(rows.map((r) => r.userId)).toEqual([author.user.id]);
  });

  it("a new post's autosave is offered on the empty form and pruned when the post is created", async () => {
    const { user, agent, session } = await signedIn("AUTHOR");
    await autosave(agent, await session.csrf(), { post: null, fields: { title: "Half-written", body: "A post I had not saved", status: "DRAFT" } }).expect(200);
    const page = (await agent.get("/admin/blog/post/add/").expect(200)).text;
    expect(page).toContain("There is an autosave of a post you had not saved yet.");
    await agent
      .post("/admin/blog/post/add/")
      .type("form")
      .send(formBody({ ...formValues(page, isPostForm), _csrf: csrfFrom(page), title: "Half-written", body: "A post I had not saved", _continue: "1" }))
      .expect(303);
    expect(await prisma.autosave.count({ where: { userId: user.id } })).toBe(0);
  });

  it("a refused save keeps the autosave (the save's transaction never pruned it)", async () => {
    const { user, agent, session } = await signedIn("AUTHOR");
    const post = await postBy(user.id, "DRAFT");
    await autosave(agent, await session.csrf(), { post: post.id, fields: { title: post.title, body: "Kept words" } }).expect(200);
    const edit = `/admin/blog/post/${post.id}/change/`;
    const form = (await agent.get(edit).expect(200)).text;
    // a stale version: the conflict page, nothing saved, the autosave still there
    await agent
      .post(edit)
      .type("form")
      .send(formBody({ ...formValues(form, isPostForm), _csrf: csrfFrom(form), _version: String(post.version + 5), body: "Kept words", _continue: "1" }))
      .expect(409);
    expect(await prisma.autosave.count({ where: { userId: user.id, slot: `post:${post.id}` } })).toBe(1);
  });
});

describe("GET /autosave/session/ (the editor script's session check)", () => {
  it("says who is signed in and gives the session's token; anonymous gets a token for signing in", async () => {
    const { user, agent, session } = await signedIn("AUTHOR");
    const res = await agent.get("/autosave/session/").expect(200);
    expect(res.body).toMatchObject({ signedIn: true, userId: user.id, username: user.username });
    expect(res.body.csrfToken).toBe(await session.csrf(true));
    expect(res.headers["cache-control"]).toContain("no-store");
    const anon = request.agent(app);
    const a = await anon.get("/autosave/session/").expect(200);
    expect(a.body.signedIn).toBe(false);
    // that token signs in (the inline sign-in dialog posts the login form with it)
    const { user: u2, password } = await createUser({ role: "AUTHOR" });
    await anon.post("/accounts/login/").type("form").send({ _csrf: a.body.csrfToken, username: u2.username, password }).expect(303);
    const after = await anon.get("/autosave/session/").expect(200);
    expect(after.body).toMatchObject({ signedIn: true, userId: u2.id });
    expect(after.body.csrfToken).not.toBe(a.body.csrfToken); // rotated at login
  });
});
