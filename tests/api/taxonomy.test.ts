// Categories and tags through the real app: public reads with published post counts (what each caller
// may see of tags), writes for every role by the declared rule (category.*: editors; tag.create:
// authors too; tag.change/delete: editors), If-Match (428 / 412 with the current resource / 200),
// taken slugs (400 on the field), the admin's save path (audit entries), hostile input, and a session
// caller with CSRF. Every response is checked against the OpenAPI document.
import { beforeAll, describe, expect, it } from "vitest";
import request from "supertest";
import { buildApp } from "../../src/app.ts";
import { pool } from "../../src/db/index.ts";
import { signAccessToken } from "../../src/api/tokens.ts";
import type { SessionUser } from "../../src/accounts/users.ts";
import { createUser, hoursAgo, inHours, makeCategory, makePost, makeTag, signedIn } from "../support/fixtures.ts";
import { expectContract } from "./support/contract.ts";
import { caller, expectVersionTag, sessionWrite } from "./support/calls.ts";

const app = buildApp();
type Who = SessionUser | null;

let reader: SessionUser, author: SessionUser, other: SessionUser, editor: SessionUser, admin: SessionUser;

const api = caller(app);
const who = (role: string): Who => ({ anonymous: null, reader, author, editor, admin })[role] as Who;

beforeAll(async () => {
  reader = (await createUser({ role: "READER" })).user;
  author = (await createUser({ role: "AUTHOR" })).user;
  other = (await createUser({ role: "AUTHOR" })).user;
  editor = (await createUser({ role: "EDITOR" })).user;
  admin = (await createUser({ role: "ADMIN" })).user;
  const news = await makeCategory("News", "news", "What happened.");
  await makeCategory("Empty", "empty");
  const live = await makeTag("Live", "live");
  const draftOnly = await makeTag("Own draft", "own-draft");
  const othersDraft = await makeTag("Others draft", "others-draft");
  await makeTag("Unused", "unused");
  await makePost({ authorId: author.id, title: "One", publish: hoursAgo(2), categoryId: news.id, tagIds: [live.id] });
  await makePost({ authorId: author.id, title: "Two", publish: hoursAgo(1), categoryId: news.id, tagIds: [live.id] });
  await makePost({ authorId: author.id, title: "Draft", status: "DRAFT", categoryId: news.id, tagIds: [draftOnly.id, live.id] });
  await makePost({ authorId: other.id, title: "Later", status: "SCHEDULED", publish: inHours(5), categoryId: news.id, tagIds: [othersDraft.id] });
});

describe("reading categories", () => {
  it.each(["anonymous", "reader", "editor"])("%s: every category, in name order, with its published post count and page", async (role) => {
    const res = await api("get", "/categories", who(role), { status: 200 });
    expect(res.body.count).toBe(2);
    expect(res.body.results).toEqual([
      { slug: "empty", name: "Empty", description: "", posts: 0, url: "http://folio.test/blog/category/empty/" },
      { slug: "news", name: "News", description: "What happened.", posts: 2, url: "http://folio.test/blog/category/news/" },
    ]);
  });

  it("one category, with its version (and a hash of its representation) as a strong ETag; a matching If-None-Match is a 304", async () => {
    const res = await api("get", "/categories/news", null, { status: 200 });
    expect(res.body).toMatchObject({ slug: "news", name: "News", posts: 2, version: 1 });
    expectVersionTag(res, 1);
    const again = await request(app).get("/api/v1/categories/news").set("If-None-Match", String(res.headers.etag));
    expect(again.status).toBe(304);
  });

  it("an unknown or malformed slug is a 404 problem", async () => {
    for (const slug of ["nope", "News", "a--b", "x".repeat(101), "%00", "a%00b", "%E2%80%AE"]) await api("get", `/categories/${slug}`, null, { status: 404 });
  });
});

describe("reading tags", () => {
  const slugs = (res: { body: { results: { slug: string }[] } }) => res.body.results.map((t) => t.slug);

  it("anonymous callers and readers see the tags on a published post only", async () => {
    for (const w of [null, reader]) {
      const res = await api("get", "/tags", w, { status: 200 });
      expect(slugs(res)).toEqual(["live"]);
      expect(res.body.results[0]).toEqual({ slug: "live", name: "Live", posts: 2, url: "http://folio.test/blog/tag/live/", version: 1 });
      await api("get", "/tags/own-draft", w, { status: 404 });
      await api("get", "/tags/unused", w, { status: 404 });
    }
  });

  it("an author also sees the tags on their own posts, not those only on another author's draft", async () => {
    const res = await api("get", "/tags", author, { status: 200 });
    expect(slugs(res)).toEqual(["live", "own-draft"]);
    expect(res.body.results[1]).toMatchObject({ slug: "own-draft", posts: 0, url: null });
    await api("get", "/tags/others-draft", author, { status: 404 });
  });

  it("an editor sees every tag", async () => {
    const res = await api("get", "/tags", editor, { status: 200 });
    expect(slugs(res)).toEqual(["live", "others-draft", "own-draft", "unused"]);
    const one = await api("get", "/tags/unused", editor, { status: 200 });
    expectVersionTag(one, 1);
  });

  it("tags come in pages (page, page_size: DRF's envelope with absolute links); a page past the last is a 404", async () => {
    const first = await api("get", "/tags?page_size=3", editor, { status: 200 });
    expect(first.body).toMatchObject({ count: 4, previous: null, next: "http://folio.test/api/v1/tags?page=2&page_size=3" });
    expect(slugs(first)).toEqual(["live", "others-draft", "own-draft"]);
    const second = await api("get", "/tags?page=2&page_size=3", editor, { status: 200 });
    expect(second.body).toMatchObject({ count: 4, next: null, previous: "http://folio.test/api/v1/tags?page_size=3" });
    expect(slugs(second)).toEqual(["unused"]);
    await api("get", "/tags?page=3&page_size=3", editor, { status: 404 });
    await api("get", "/tags?page=999999999&page_size=100", editor, { status: 404 });
    // per caller still: the anonymous page of the same size is their own
    expect((await api("get", "/tags?page_size=3", null, { status: 200 })).body).toMatchObject({ count: 1, next: null });
    for (const q of ["?page=0", "?page_size=101", "?pageSize=2", "?page=1&page=2"]) await api("get", `/tags${q}`, null, { status: 400 });
  });

  it("the cached lists follow writes: a new tag, a renamed category, a post published or deleted", async () => {
    const before = await api("get", "/tags", null, { status: 200 });
    await api("get", "/categories", null, { status: 200 }); // cached now
    const cat = await makeCategory("Cached", "cached");
    // a write through the one save path drops the caches in every process
    await api("post", "/tags", editor, { body: { name: "Through the API" }, status: 201 });
    expect(slugs(await api("get", "/tags", editor, { status: 200 }))).toContain("through-the-api");
    const fresh = await makeTag("Fresh", "fresh");
    const post = await makePost({ authorId: author.id, categoryId: cat.id, tagIds: [fresh.id] }); // published: the post service drops "posts"
    const changed = await api("patch", "/categories/cached", editor, { body: { name: "Cached again" }, ifMatch: '"1"', status: 200 });
    expect(changed.body.posts).toBe(1);
    const cats = await api("get", "/categories", null, { status: 200 });
    expect(cats.body.results.find((c: { slug: string }) => c.slug === "cached")).toMatchObject({ name: "Cached again", posts: 1 });
    const withFresh = await api("get", "/tags", null, { status: 200 });
    expect(slugs(withFresh)).toEqual([...slugs(before), "fresh"].sort());
    expect(withFresh.body.results.find((t: { slug: string }) => t.slug === "fresh")).toMatchObject({ posts: 1 });
    await api("delete", `/posts/${post.id}`, editor, { status: 204 });
    expect(slugs(await api("get", "/tags", null, { status: 200 }))).toEqual(slugs(before));
    expect((await api("get", "/categories", null, { status: 200 })).body.results.find((c: { slug: string }) => c.slug === "cached").posts).toBe(0);
  });
});

describe("writing categories", () => {
  it("anonymous: 401; reader and author: 403 on create, change and delete; nothing changes", async () => {
    await api("post", "/categories", null, { body: { name: "X" }, status: 401 });
    await api("patch", "/categories/news", null, { body: { name: "X" }, ifMatch: '"1"', status: 401 });
    await api("delete", "/categories/news", null, { status: 401 });
    for (const w of [reader, author]) {
      await api("post", "/categories", w, { body: { name: "X" }, status: 403 });
      await api("patch", "/categories/news", w, { body: { name: "X" }, ifMatch: '"1"', status: 403 });
      await api("delete", "/categories/news", w, { status: 403 });
    }
    expect((await pool.query(`SELECT name FROM "Category" WHERE slug = 'news'`)).rows[0].name).toBe("News");
    expect((await pool.query(`SELECT 1 FROM "Category" WHERE name = 'X'`)).rowCount).toBe(0);
  });

  it.each(["editor", "admin"])("%s: create (201, Location, audit entry), change with If-Match, delete", async (role) => {
    const w = who(role)!;
    const created = await api("post", "/categories", w, { body: { name: `Café ${role}`, description: "Line one\nline two" }, status: 201 });
    const slug = `cafe-${role}`;
    expect(created.body).toEqual({
      slug,
      name: `Café ${role}`,
      description: "Line one\nline two",
      posts: 0,
      url: `http://folio.test/blog/category/${slug}/`,
      version: 1,
    });
    expect(created.headers.location).toBe(`http://folio.test/api/v1/categories/${slug}`);
    expectVersionTag(created, 1);
    const audit = await pool.query(`SELECT action FROM "AuditLog" WHERE model = 'blog.category' AND "objectRepr" = $1 AND "userId" = $2`, [
      `Café ${role}`,
      w.id,
    ]);
    expect(audit.rows.map((r) => r.action)).toEqual(["ADD"]);

    await api("patch", `/categories/${slug}`, w, { body: { name: "Renamed" }, status: 428 });
    const stale = await api("patch", `/categories/${slug}`, w, { body: { name: "Renamed" }, ifMatch: '"7"', status: 412 });
    expect(stale.body.current).toMatchObject({ slug, name: `Café ${role}`, version: 1 });
    await api("patch", `/categories/${slug}`, w, { body: { name: "Renamed" }, ifMatch: 'W/"1"', status: 412 });
    const changed = await api("patch", `/categories/${slug}`, w, { body: { name: "Renamed", slug: `renamed-${role}` }, ifMatch: '"1"', status: 200 });
    expect(changed.body).toMatchObject({ slug: `renamed-${role}`, name: "Renamed", description: "Line one\nline two", version: 2 });
    expectVersionTag(changed, 2);
    // the version read before the change is now stale
    await api("patch", `/categories/renamed-${role}`, w, { body: { description: "" }, ifMatch: '"1"', status: 412 });

    // DELETE honours If-Match when sent: a stale one is a 412 with the current category, the ETag read deletes
    const staleDelete = await api("delete", `/categories/renamed-${role}`, w, { ifMatch: created.headers.etag, status: 412 });
    expect(staleDelete.body.current).toMatchObject({ slug: `renamed-${role}`, version: 2 });
    await api("delete", `/categories/renamed-${role}`, w, { ifMatch: changed.headers.etag, status: 204 });
    const deletes = await pool.query(
      `SELECT 1 FROM "AuditLog" WHERE model = 'blog.category' AND action = 'DELETE' AND "objectRepr" = 'Renamed' AND "userId" = $1`,
      [w.id],
    );
    expect(deletes.rowCount).toBe(1);
    await api("get", `/categories/renamed-${role}`, null, { status: 404 });
    await api("delete", `/categories/renamed-${role}`, w, { status: 404 });
  });

  it("deleting a category keeps its posts (without a category)", async () => {
    const c = await makeCategory("Doomed");
    const p = await makePost({ authorId: author.id, categoryId: c.id });
    await api("delete", `/categories/${c.slug}`, editor, { status: 204 });
    expect((await pool.query(`SELECT "categoryId" FROM "Post" WHERE id = $1`, [p.id])).rows[0].categoryId).toBeNull();
  });

  it("a slug already used is a 400 on slug, on create and on change", async () => {
    const res = await api("post", "/categories", editor, { body: { name: "Another news", slug: "news" }, status: 400 });
    expect(Object.keys(res.body.errors)).toEqual(["slug"]);
    const dup = await api("post", "/categories", editor, { body: { name: "News" }, status: 400 }); // slug made from the name: "news"
    expect(dup.body.errors.slug).toBeTruthy();
    const e = await api("patch", "/categories/empty", editor, { body: { slug: "news" }, ifMatch: '"1"', status: 400 });
    expect(e.body.errors.slug).toBeTruthy();
    expect((await pool.query(`SELECT version FROM "Category" WHERE slug = 'empty'`)).rows[0].version).toBe(1);
  });

  it("hostile bodies are 400s naming the field, and nothing is written", async () => {
    const before = Number((await pool.query(`SELECT count(*) AS n FROM "Category"`)).rows[0].n);
    const cases: [unknown, string][] = [
      [{}, "name"],
      [{ name: "" }, "name"],
      [{ name: "   " }, "name"],
      [{ name: "a\u0000b" }, "name"],
      [{ name: "x".repeat(101) }, "name"],
      [{ name: "x".repeat(100_000) }, "name"],
      [{ name: ["a"] }, "name"],
      [{ name: 5 }, "name"],
      [{ name: "Ok", slug: "Not A Slug" }, "slug"],
      [{ name: "Ok", slug: "x".repeat(101) }, "slug"],
      [{ name: "Ok", slug: "a\u0000" }, "slug"],
      [{ name: "Ok", description: "d\u0000" }, "description"],
      [{ name: "Ok", description: "x".repeat(2001) }, "description"],
      [{ name: "Ok", id: 1 }, "id"],
      [{ name: "Ok", version: 2 }, "version"],
    ];
    for (const [body, field] of cases) {
      const res = await api("post", "/categories", editor, { body, status: 400 });
      expect(Object.keys(res.body.errors), JSON.stringify(body).slice(0, 80)).toContain(field);
    }
    const arr = await api("post", "/categories", editor, { body: ["x"], status: 400 });
    expect(arr.body.type).toMatch(/validation/);
    expect(Number((await pool.query(`SELECT count(*) AS n FROM "Category"`)).rows[0].n)).toBe(before);
  });

  it("a malformed If-Match is a 412, not a 500: beyond int4, garbage, a list without the version", async () => {
    for (const h of ['"99999999999"', '"-1"', "garbage", '"1', "*", '"2", "3"'])
      await api("patch", "/categories/empty", editor, { body: { name: "Z" }, ifMatch: h, status: 412 });
    await api("patch", "/categories/empty", editor, { body: { description: "listed" }, ifMatch: '"9", "1"', status: 200 });
  });

  it("a session caller needs the CSRF token (403 without it); with it the change is saved", async () => {
    const ok = await sessionWrite(await signedIn(app, "EDITOR"), "post", "/api/v1/categories", { name: "By session" });
    expect(ok.status, ok.text).toBe(201);
    expect(ok.body.slug).toBe("by-session");
    expect((await pool.query(`SELECT count(*)::int AS n FROM "Category" WHERE slug = 'by-session'`)).rows[0].n).toBe(1);
  });
});

describe("writing tags", () => {
  it("anonymous: 401; a reader: 403 on every write", async () => {
    await api("post", "/tags", null, { body: { name: "T" }, status: 401 });
    await api("post", "/tags", reader, { body: { name: "T" }, status: 403 });
    await api("patch", "/tags/live", reader, { body: { name: "T" }, ifMatch: '"1"', status: 403 });
    await api("delete", "/tags/live", reader, { status: 403 });
  });

  it("an author may create a tag (tag.create), not change or delete one (403)", async () => {
    const res = await api("post", "/tags", author, { body: { name: "Authored" }, status: 201 });
    expect(res.body).toEqual({ slug: "authored", name: "Authored", posts: 0, url: null, version: 1 });
    expect(res.headers.location).toBe("http://folio.test/api/v1/tags/authored");
    await api("patch", "/tags/live", author, { body: { name: "Mine" }, ifMatch: '"1"', status: 403 });
    await api("delete", "/tags/live", author, { status: 403 });
    // a tag the author cannot see is a 404 before any permission question
    await api("delete", "/tags/others-draft", author, { status: 404 });
  });

  it.each(["editor", "admin"])("%s: create, change with If-Match (428 / 412 / 200), delete (taken off its posts)", async (role) => {
    const w = who(role)!;
    const created = await api("post", "/tags", w, { body: { name: `Tag of ${role}`, slug: `t-${role}` }, status: 201 });
    expect(created.body.slug).toBe(`t-${role}`);
    const p = await makePost({ authorId: author.id, tagIds: [(await pool.query(`SELECT id FROM "Tag" WHERE slug = $1`, [`t-${role}`])).rows[0].id] });
    await api("patch", `/tags/t-${role}`, w, { body: { name: "New name" }, status: 428 });
    const stale = await api("patch", `/tags/t-${role}`, w, { body: { name: "New name" }, ifMatch: '"2"', status: 412 });
    expect(stale.body.current).toMatchObject({ slug: `t-${role}`, version: 1 });
    const ok = await api("patch", `/tags/t-${role}`, w, { body: { name: "New name" }, ifMatch: '"1"', status: 200 });
    expect(ok.body).toMatchObject({ slug: `t-${role}`, name: "New name", posts: 1, version: 2 });
    await api("delete", `/tags/t-${role}`, w, { ifMatch: '"1"', status: 412 });
    await api("delete", `/tags/t-${role}`, w, { ifMatch: ok.headers.etag, status: 204 });
    expect((await pool.query(`SELECT 1 FROM "PostTag" WHERE "postId" = $1`, [p.id])).rowCount).toBe(0);
    expect((await pool.query(`SELECT 1 FROM "Post" WHERE id = $1`, [p.id])).rowCount).toBe(1);
  });

  it("a comma in a name, a taken slug, unknown fields and hostile values are 400s on the field", async () => {
    const comma = await api("post", "/tags", editor, { body: { name: "a, b" }, status: 400 });
    expect(Object.keys(comma.body.errors)).toEqual(["name"]);
    const taken = await api("post", "/tags", editor, { body: { name: "Live again", slug: "live" }, status: 400 });
    expect(Object.keys(taken.body.errors)).toEqual(["slug"]);
    const unknown = await api("post", "/tags", editor, { body: { name: "U", posts: 3 }, status: 400 });
    expect(unknown.body.errors.posts).toBe("Unknown field.");
    await api("post", "/tags", editor, { body: { name: "\u0000" }, status: 400 });
    await api("patch", "/tags/live", editor, { body: { slug: "UPPER" }, ifMatch: '"1"', status: 400 });
    await api("patch", "/tags/live", editor, { body: { description: "tags have none" }, ifMatch: '"1"', status: 400 });
    expect((await pool.query(`SELECT name, version FROM "Tag" WHERE slug = 'live'`)).rows[0]).toEqual({ name: "Live", version: 1 });
  });

  it("a body that is not JSON is a 415", async () => {
    const res = await request(app)
      .post("/api/v1/tags")
      .set("Authorization", `Bearer ${signAccessToken(editor)}`)
      .type("form")
      .send("name=x");
    expect(res.status).toBe(415);
    expectContract(res);
  });
});
