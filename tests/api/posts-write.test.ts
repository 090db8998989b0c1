// The Post resource's detail and writes through the real app: visibility of drafts by id and by the
// reader's address, `body` only for those who may change the post, ETag/304; create, PATCH (If-Match:
// 428 missing, 412 stale or "*" with `current`, only the fields sent change), DELETE, for an author (own and
// another's), an editor, a reader and anonymous callers, as the one rule says; revisions and restore;
// hostile ids, headers and bodies (always a 4xx problem, never a 500). Every response is checked
// against the OpenAPI document.
import { beforeAll, describe, expect, it } from "vitest";
import request from "supertest";
import { buildApp } from "../../src/app.ts";
import { signAccessToken } from "../../src/api/tokens.ts";
import type { SessionUser } from "../../src/accounts/users.ts";
import { createUser, hoursAgo, makeCategory, makePost, makeTag, prisma, signedIn } from "../support/fixtures.ts";
import { expectContract } from "./support/contract.ts";

const app = buildApp();
type Who = SessionUser | null;
let alice: SessionUser, bob: SessionUser, editor: SessionUser, reader: SessionUser;

type Method = "get" | "post" | "patch" | "delete";
/** A request to /api/v1<path> as `who`, with headers and a JSON body; checked against the contract. */
async function call(method: Method, path: string, who: Who, opts: { body?: unknown; headers?: Record<string, string>; status?: number } = {}) {
  const r = request(app)[method](`/api/v1${path}`);
  if (who) r.set("Authorization", `Bearer ${signAccessToken(who)}`);
  for (const [k, v] of Object.entries(opts.headers ?? {})) r.set(k, v);
  const res = opts.body === undefined ? await r : await r.send(opts.body as object);
  if (opts.status !== undefined) expect(res.status, `${method} ${path}: ${res.text.slice(0, 400)}`).toBe(opts.status);
  expectContract(res);
  return res;
}

beforeAll(async () => {
  alice = (await createUser({ role: "AUTHOR", username: "alice" })).user;
  bob = (await createUser({ role: "AUTHOR", username: "bob" })).user;
  editor = (await createUser({ role: "EDITOR", username: "eddie" })).user;
  reader = (await createUser({ role: "READER", username: "rita" })).user;
  await makeCategory("News", "news");
  await makeTag("Postgres", "postgres");
});

describe("detail", () => {
  it("a published post: html for everyone, body only for those who may change it; a strong ETag, 304 on If-None-Match", async () => {
    const post = await makePost({ authorId: alice.id, title: "Hello world", body: "Some *Markdown*.", publish: hoursAgo(3) });
    const anon = await call("get", `/posts/${post.id}`, null, { status: 200 });
    expect(anon.body).toMatchObject({ id: post.id, title: "Hello world", status: "published", scheduled: false, version: post.version });
    expect(anon.body.html).toContain("<em>Markdown</em>");
    expect(anon.body).not.toHaveProperty("body");
    expect(anon.headers.etag).toMatch(new RegExp(`^"${post.version}-[0-9a-f]{12}"$`)); // the version and a hash of the bytes
    for (const who of [reader, bob]) expect((await call("get", `/posts/${post.id}`, who, { status: 200 })).body).not.toHaveProperty("body");
    for (const who of [alice, editor]) expect((await call("get", `/posts/${post.id}`, who, { status: 200 })).body.body).toBe("Some *Markdown*.");
    const again = await call("get", `/posts/${post.id}`, null, { headers: { "If-None-Match": anon.headers.etag! }, status: 304 });
    expect(again.text).toBe("");
    const sparse = await call("get", `/posts/${post.id}?fields=title`, alice, { status: 200 });
    expect(sparse.body).toEqual({ id: post.id, title: "Hello world" });
  });

  it("by the reader's address (UTC day + slug), with the same ETag; a wrong day or slug is a 404", async () => {
    const post = await makePost({ authorId: bob.id, title: "Dated post", publish: new Date("2026-03-04T23:30:00Z") });
    const res = await call("get", "/posts/2026/03/04/dated-post", null, { status: 200 });
    expect(res.body.id).toBe(post.id);
    expect(res.body.url).toBe("http://folio.test/blog/2026/03/04/dated-post/");
    expect(res.headers.etag).toBe((await call("get", `/posts/${post.id}`, null, { status: 200 })).headers.etag);
    await call("get", "/posts/2026/03/05/dated-post", null, { status: 404 });
    await call("get", "/posts/2026/02/30/dated-post", null, { status: 404 });
    await call("get", "/posts/2026/3/04/dated-post", null, { status: 404 });
    await call("get", "/posts/2026/03/04/Dated-Post", null, { status: 404 });
  });

  it("a draft or scheduled post: 404 for anonymous, readers and other authors; shown to its author and editors", async () => {
    const draft = await makePost({ authorId: alice.id, title: "Secret draft", status: "DRAFT" });
    const sched = await makePost({ authorId: alice.id, title: "Secret scheduled", status: "SCHEDULED" });
    for (const p of [draft, sched]) {
      for (const who of [null, reader, bob]) await call("get", `/posts/${p.id}`, who, { status: 404 });
      for (const who of [alice, editor]) expect((await call("get", `/posts/${p.id}`, who, { status: 200 })).body.url).toBeNull();
    }
    expect((await call("get", `/posts/${sched.id}`, alice, { status: 200 })).body.scheduled).toBe(true);
    expect((await call("get", `/posts/${draft.id}`, alice, { status: 200 })).body.status).toBe("draft");
  });

  it("hostile ids: beyond int4, zero, signs, NUL, text: 404, never a 500", async () => {
    for (const id of ["2147483648", "99999999999999999999", "0", "-1", "+1", "1.0", "1e3", "abc", "%00", "1%00"]) {
      await call("get", `/posts/${id}`, null, { status: 404 });
      await call("patch", `/posts/${id}`, alice, { body: { title: "x" }, headers: { "If-Match": '"1"' }, status: 404 });
      await call("delete", `/posts/${id}`, alice, { status: 404 });
      await call("get", `/posts/${id}/revisions`, alice, { status: 404 });
    }
    await call("get", "/posts/1?fields=nope", null, { status: 400 });
  });
});

describe("create", () => {
  it("an author writes a post: 201 with Location, ETag and the resource (a draft by default; tags matched or created)", async () => {
    const res = await call("post", "/posts", alice, {
      body: { title: "Brand new", body: "# Hi", category: "news", tags: ["Postgres", "Brand-new tag"] },
      status: 201,
    });
    expect(res.headers.location).toBe(`http://folio.test/api/v1/posts/${res.body.id}`);
    expect(res.headers.etag).toMatch(new RegExp(`^"${res.body.version}-[0-9a-f]{12}"$`));
    expect(res.body).toMatchObject({
      title: "Brand new",
      slug: "brand-new",
      status: "draft",
      body: "# Hi",
      author: { username: "alice" },
      category: { slug: "news" },
    });
    expect(res.body.tags.map((t: { name: string }) => t.name).sort()).toEqual(["Brand-new tag", "Postgres"]);
    expect(await prisma.tag.count({ where: { name: "Postgres" } })).toBe(1);
    const stored = await prisma.post.findUniqueOrThrow({ where: { id: res.body.id } });
    expect(stored.authorId).toBe(alice.id);
    // published with a future time: scheduled
    const later = await call("post", "/posts", alice, { body: { title: "Later", status: "published", publish: "2999-01-01T00:00:00Z" }, status: 201 });
    expect(later.body).toMatchObject({ status: "published", scheduled: true, url: null, publish: "2999-01-01T00:00:00.000Z" });
  });

  it("the rule: readers may not write (403), anonymous callers authenticate (401), authors may not write for others, editors may", async () => {
    const r = await call("post", "/posts", reader, { body: { title: "Nope" }, status: 403 });
    expect(r.body.detail).toBe("You cannot write posts.");
    await call("post", "/posts", null, { body: { title: "Nope" }, status: 401 });
    const other = await call("post", "/posts", alice, { body: { title: "For bob", author: "bob" }, status: 403 });
    expect(other.body.errors).toHaveProperty("author");
    const ghost = await call("post", "/posts", alice, { body: { title: "For nobody", author: "nobody-at-all" }, status: 403 });
    expect(ghost.body.errors).toHaveProperty("author"); // no probing of usernames by someone who may not give posts away
    await call("post", "/posts", alice, { body: { title: "Mine", author: "alice" }, status: 201 });
    const ed = await call("post", "/posts", editor, { body: { title: "For alice", author: "alice", status: "published" }, status: 201 });
    expect(ed.body).toMatchObject({ author: { username: "alice" }, status: "published", scheduled: false });
    expect((await call("post", "/posts", editor, { body: { title: "For rita", author: "rita" }, status: 400 })).body.errors).toHaveProperty("author");
    expect(await prisma.post.count({ where: { title: { in: ["Nope", "For bob", "For nobody", "For rita"] } } })).toBe(0);
  });

  it("bad bodies: 400 with the field's message, nothing written", async () => {
    const bad: [unknown, string][] = [
      [{}, "title"],
      [{ title: "" }, "title"],
      [{ title: "   " }, "title"],
      [{ title: "x".repeat(251) }, "title"],
      [{ title: "a\u0000b" }, "title"],
      [{ title: "ok", body: "nul \u0000" }, "body"],
      [{ title: "ok", slug: "Not A Slug" }, "slug"],
      [{ title: "ok", status: "scheduled" }, "status"],
      [{ title: "ok", publish: "tomorrow" }, "publish"],
      [{ title: "ok", publish: "2026-01-01T00:00:00" }, "publish"],
      [{ title: "ok", category: "no-such-category" }, "category"],
      [{ title: "ok", tags: ["a,b"] }, "tags.0"],
      [{ title: "ok", tags: Array.from({ length: 21 }, (_, i) => `t${i}`) }, "tags"],
      [{ title: "ok", tags: "postgres" }, "tags"],
      [{ title: "ok", metaDescription: "m".repeat(301) }, "metaDescription"],
      [{ title: "ok", id: 5 }, "id"],
      [{ title: "ok", version: 9 }, "version"],
      [{ title: 5 }, "title"],
    ];
    for (const [body, field] of bad) {
      const res = await call("post", "/posts", alice, { body, status: 400 });
      expect(res.body.errors, JSON.stringify(body).slice(0, 80)).toHaveProperty([field]);
    }
    await call("post", "/posts", alice, { body: "title=x", headers: { "Content-Type": "application/x-www-form-urlencoded" }, status: 415 });
    expect(await prisma.post.count({ where: { title: "ok" } })).toBe(0);
  });

  it("a slug taken on the same publish day: 400 on slug", async () => {
    await call("post", "/posts", bob, { body: { title: "Twin", status: "published", publish: "2026-05-05T10:00:00Z" }, status: 201 });
    const res = await call("post", "/posts", bob, { body: { title: "Twin", status: "published", publish: "2026-05-05T12:00:00Z" }, status: 400 });
    expect(res.body.errors).toHaveProperty("slug");
  });
});

describe("PATCH", () => {
  it("If-Match is required (428), a stale one is a 412 with the current post; a matching one saves only the fields sent", async () => {
    const tag = await makeTag("Keep me", "keep-me");
    const post = await makePost({ authorId: alice.id, title: "Patch me", body: "Original body.", status: "DRAFT", tagIds: [tag.id], metaDescription: "meta" });
    const path = `/posts/${post.id}`;
    const missing = await call("patch", path, alice, { body: { title: "New title" }, status: 428 });
    expect(missing.body.detail).toMatch(/If-Match/);
    await call("patch", path, alice, { body: { title: "New title" }, headers: { "If-Match": "" }, status: 428 });
    await call("patch", path, alice, { body: { title: "New title" }, headers: { "If-Match": "*" }, status: 412 }); // "*" is not a version
    for (const stale of [`"${post.version + 1}"`, `W/"${post.version}"`, `${post.version}`, "garbage", `"99999999999999999999"`]) {
      const res = await call("patch", path, alice, { body: { title: "New title" }, headers: { "If-Match": stale }, status: 412 });
      expect(res.body.current).toMatchObject({ id: post.id, version: post.version, title: "Patch me", body: "Original body." });
      expect(res.headers.etag).toMatch(new RegExp(`^"${post.version}-[0-9a-f]{12}"$`)); // the ETag of GET /posts/{id} (current)
      expect(res.headers.etag).toBe((await call("get", path, alice, { status: 200 })).headers.etag);
    }
    const ok = await call("patch", path, alice, { body: { title: "New title" }, headers: { "If-Match": `"${post.version}"` }, status: 200 });
    expect(ok.body).toMatchObject({
      title: "New title",
      slug: "patch-me",
      body: "Original body.",
      metaDescription: "meta",
      status: "draft",
      version: post.version + 1,
    });
    expect(ok.body.tags).toEqual([{ slug: "keep-me", name: "Keep me" }]);
    expect(ok.headers.etag).toMatch(new RegExp(`^"${post.version + 1}-[0-9a-f]{12}"$`));
    // the old version is stale now
    const stale = await call("patch", path, alice, { body: { body: "x" }, headers: { "If-Match": `"${post.version}"` }, status: 412 });
    expect(stale.body.current.title).toBe("New title");
    // tags replace, category and publish set, status published
    const next = await call("patch", path, alice, {
      body: { tags: ["Postgres"], category: "news", status: "published", publish: "2026-06-01T08:00:00+02:00" },
      headers: { "If-Match": ok.headers.etag! },
      status: 200,
    });
    expect(next.body).toMatchObject({ status: "published", publish: "2026-06-01T06:00:00.000Z", category: { slug: "news" }, tags: [{ slug: "postgres" }] });
    const cleared = await call("patch", path, alice, { body: { category: null, tags: [] }, headers: { "If-Match": next.headers.etag! }, status: 200 });
    expect(cleared.body).toMatchObject({ category: null, tags: [], title: "New title" });
    await call("patch", path, alice, { body: {}, headers: { "If-Match": cleared.headers.etag! }, status: 400 });
  });

  it("another author's post: 404 when a draft, 403 when published; an editor may change any; a reader and anonymous may not", async () => {
    const draft = await makePost({ authorId: alice.id, title: "Alice's draft", status: "DRAFT" });
    const pub = await makePost({ authorId: alice.id, title: "Alice's published" });
    const h = (v: number) => ({ "If-Match": `"${v}"` });
    await call("patch", `/posts/${draft.id}`, bob, { body: { title: "Stolen" }, headers: h(draft.version), status: 404 });
    const r = await call("patch", `/posts/${pub.id}`, bob, { body: { title: "Stolen" }, headers: h(pub.version), status: 403 });
    expect(r.body.detail).toBe("You cannot change this post.");
    await call("patch", `/posts/${pub.id}`, reader, { body: { title: "Stolen" }, headers: h(pub.version), status: 403 });
    await call("patch", `/posts/${pub.id}`, null, { body: { title: "Stolen" }, headers: h(pub.version), status: 401 });
    expect((await prisma.post.findUniqueOrThrow({ where: { id: pub.id } })).title).toBe("Alice's published");
    const ed = await call("patch", `/posts/${draft.id}`, editor, { body: { title: "Edited", author: "bob" }, headers: h(draft.version), status: 200 });
    expect(ed.body).toMatchObject({ title: "Edited", author: { username: "bob" } });
    // alice no longer owns it: a draft of bob's is not hers to see
    await call("get", `/posts/${draft.id}`, alice, { status: 404 });
    // an author cannot give her post away
    const give = await call("patch", `/posts/${pub.id}`, alice, { body: { author: "bob" }, headers: h(pub.version), status: 403 });
    expect(give.body.errors).toHaveProperty("author");
  });
});

describe("DELETE", () => {
  it("204 for the author (If-Match honoured when sent: 412 when stale); 403 for another author, 401 anonymous", async () => {
    const post = await makePost({ authorId: bob.id, title: "Delete me" });
    await call("delete", `/posts/${post.id}`, alice, { status: 403 });
    await call("delete", `/posts/${post.id}`, reader, { status: 403 });
    await call("delete", `/posts/${post.id}`, null, { status: 401 });
    const stale = await call("delete", `/posts/${post.id}`, bob, { headers: { "If-Match": `"${post.version + 5}"` }, status: 412 });
    expect(stale.body.current.id).toBe(post.id);
    const gone = await call("delete", `/posts/${post.id}`, bob, { headers: { "If-Match": `"${post.version}"` }, status: 204 });
    expect(gone.text).toBe("");
    await call("get", `/posts/${post.id}`, bob, { status: 404 });
    await call("delete", `/posts/${post.id}`, bob, { status: 404 });
    const other = await makePost({ authorId: alice.id, title: "Editor deletes" });
    await call("delete", `/posts/${other.id}`, editor, { status: 204 });
    expect(await prisma.post.count({ where: { id: { in: [post.id, other.id] } } })).toBe(0);
  });
});

describe("revisions", () => {
  it("listed for those who may change the post; restore puts a revision back as a new save", async () => {
    const created = await call("post", "/posts", alice, { body: { title: "First title", body: "First body" }, status: 201 });
    const id = created.body.id as number;
    const saved = await call("patch", `/posts/${id}`, alice, {
      body: { title: "Second title", body: "Second body" },
      headers: { "If-Match": created.headers.etag! },
      status: 200,
    });
    const list = await call("get", `/posts/${id}/revisions`, alice, { status: 200 });
    expect(list.body.results.map((r: { title: string; user: string }) => [r.title, r.user])).toEqual([
      ["Second title", "alice"],
      ["First title", "alice"],
    ]);
    for (const who of [bob, reader]) await call("get", `/posts/${id}/revisions`, who, { status: 404 }); // a draft: not theirs to see
    await call("get", `/posts/${id}/revisions`, null, { status: 401 });
    expect((await call("get", `/posts/${id}/revisions`, editor, { status: 200 })).body.results).toHaveLength(2);

    const first = list.body.results[1].id as number;
    await call("post", `/posts/${id}/revisions/${first}/restore`, bob, { status: 404 });
    await call("post", `/posts/${id}/revisions/${first}/restore`, alice, { headers: { "If-Match": created.headers.etag! }, status: 412 });
    const restored = await call("post", `/posts/${id}/revisions/${first}/restore`, alice, { headers: { "If-Match": saved.headers.etag! }, status: 200 });
    expect(restored.body).toMatchObject({ id, title: "First title", body: "First body", version: saved.body.version + 1 });
    expect(restored.headers.etag).toMatch(new RegExp(`^"${saved.body.version + 1}-[0-9a-f]{12}"$`));
    expect((await call("get", `/posts/${id}/revisions`, alice, { status: 200 })).body.results).toHaveLength(3);

    const elsewhere = await makePost({ authorId: alice.id, title: "Another post" });
    await call("post", `/posts/${elsewhere.id}/revisions/${first}/restore`, alice, { status: 404 });
    await call("post", `/posts/${id}/revisions/2147483648/restore`, alice, { status: 404 });
    // a published post's revisions: readers may see the post but not change it
    await call("get", `/posts/${elsewhere.id}/revisions`, reader, { status: 403 });
  });
});

describe("the browser's session", () => {
  it("authenticates API writes as the pages do: the session's CSRF token is required on unsafe methods", async () => {
    const s = await signedIn(app, "AUTHOR");
    const created = await s.agent
      .post("/api/v1/posts")
      .set("X-CSRF-Token", await s.session.csrf())
      .send({ title: "From the session" });
    expect(created.status, created.text).toBe(201);
    expectContract(created);
    const id = created.body.id as number;
    const noToken = await s.agent.patch(`/api/v1/posts/${id}`).set("If-Match", created.headers.etag!).send({ title: "Forged" });
    expect(noToken.status).toBe(403);
    expectContract(noToken);
    const ok = await s.agent
      .patch(`/api/v1/posts/${id}`)
      .set("X-CSRF-Token", await s.session.csrf())
      .set("If-Match", created.headers.etag!)
      .send({ title: "Changed" });
    expect(ok.status, ok.text).toBe(200);
    expectContract(ok);
    expect((await prisma.post.findUniqueOrThrow({ where: { id } })).title).toBe("Changed");
    const read = await s.agent.get(`/api/v1/posts/${id}`);
    expect(read.body).toMatchObject({ title: "Changed", status: "draft", author: { username: s.user.username } });
  });
});
