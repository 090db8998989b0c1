// The full-page cache (src/cache/pages.ts) through the real app: hits and misses, ETag/304, headers,
// never shared with a session cookie, never storing Set-Cookie, and exact tag invalidation after an
// admin save, an author's save and a bulk action (only the pages that show the post are cleared).
import { beforeAll, describe, expect, it } from "vitest";
import request from "supertest";
import { buildApp } from "../../src/app.ts";
import { config } from "../../src/config.ts";
import express from "express";
import { pageCache, pageKey, serveStaleCopy } from "../../src/cache/pages.ts";
import { nextScheduledAt } from "../../src/cache/scheduled.ts";
import { postUrl } from "../../src/blog/queries.ts";
import { updateCategory } from "../../src/taxonomy/service.ts";
import { deletePosts, getPostWithTags, updatePost, type PostWithTags } from "../../src/posts/service.ts";
import { PostStatus } from "../../src/generated/prisma/client.ts";
import { until } from "../support/poll.ts";
import { createUser, csrfPost, makeCategory, makePost, makeTag, prisma, signedIn, type Signed } from "../support/fixtures.ts";

const app = buildApp();
let author: { id: number; username: string };
let news: { id: number; slug: string };
let sports: { id: number; slug: string };
let other: { id: number; slug: string };
let sql: { id: number; slug: string };
let post: { id: number; publish: Date; slug: string };
let editor: Signed;

const get = (path: string, headers: Record<string, string> = {}) => {
  const r = request(app).get(path);
  for (const [k, v] of Object.entries(headers)) r.set(k, v);
  return r;
};

beforeAll(async () => {
  author = (await createUser({ role: "AUTHOR", username: "pc-author" })).user;
  news = await makeCategory("PC News");
  sports = await makeCategory("PC Sports");
  other = await makeCategory("PC Other");
  sql = await makeTag("PC SQL");
  post = await makePost({ title: "Cached post", authorId: author.id, categoryId: news.id, tagIds: [sql.id], publish: new Date(Date.now() - 3_600_000) });
  await makePost({ title: "Unrelated post", authorId: author.id, categoryId: other.id, publish: new Date(Date.now() - 7_200_000) });
  editor = await signedIn(app, "EDITOR");
});

async function warm(path: string) {
  const first = await get(path);
  expect(first.status).toBe(200);
  const second = await get(path);
  expect(second.headers["x-cache"]).toBe("HIT");
  return second;
}

describe("page cache: hits, validators and headers", () => {
  it("a miss renders and stores; the next request is a HIT with the same bytes, a strong ETag and Age", async () => {
    const a = await get("/blog/?utm_source=x");
    expect(a.status).toBe(200);
    expect(["MISS", "HIT"]).toContain(a.headers["x-cache"]);
    const b = await get("/blog/");
    expect(b.headers["x-cache"]).toBe("HIT"); // the utm parameter does not split the entry
    expect(b.text).toBe(a.text);
    expect(b.headers.etag).toMatch(/^"[^"]+"$/);
    expect(b.headers["cache-control"]).toBe("public, max-age=0, must-revalidate");
    expect(Number(b.headers.age)).toBeGreaterThanOrEqual(0);
    expect(b.headers["content-type"]).toMatch(/^text\/html/);
    expect(b.headers.vary).toMatch(/Accept-Encoding/i);
  });

  it("answers 304 to If-None-Match, and gzip from the stored bytes", async () => {
    const hit = await warm("/blog/categories/");
    const cond = await get("/blog/categories/", { "If-None-Match": hit.headers.etag! });
    expect(cond.status).toBe(304);
    expect(cond.headers.etag).toBe(hit.headers.etag);
    const gz = await get("/blog/categories/", { "Accept-Encoding": "gzip" })
      .buffer(true)
      .parse((res, cb) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => cb(null, Buffer.concat(chunks)));
      });
    expect(gz.headers["content-encoding"]).toBe("gzip");
    expect(gz.headers["x-cache"]).toBe("HIT");
    expect((gz.body as Buffer).toString("utf8")).toBe(hit.text); // supertest gunzipped it
  });

  it("gives the gzip copy and the identity copy different strong ETags, the first answer (MISS) included, and a 304 only to its own", async () => {
    const path = "/blog/search/?q=etag-by-coding";
    const raw = (headers: Record<string, string>) =>
      get(path, headers)
        .buffer(true)
        .parse((res, cb) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => cb(null, Buffer.concat(chunks)));
        });
    const missGz = await raw({ "Accept-Encoding": "gzip" });
    expect(missGz.headers["x-cache"]).toBe("MISS");
    expect(missGz.headers["content-encoding"]).toBe("gzip");
    await until(async () => (await get(path, { "Accept-Encoding": "identity" })).headers["x-cache"] === "HIT");
    const plain = await get(path, { "Accept-Encoding": "identity" });
    const gz = await raw({ "Accept-Encoding": "gzip" });
    expect(plain.headers["content-encoding"]).toBeUndefined();
    expect(gz.headers["content-encoding"]).toBe("gzip");
    expect(gz.headers["x-cache"]).toBe("HIT");
    expect(plain.headers.etag).toMatch(/^"[^"]+"$/);
    expect(gz.headers.etag).toMatch(/^"[^"]+"$/);
    expect(gz.headers.etag).not.toBe(plain.headers.etag);
    expect(missGz.headers.etag).toBe(gz.headers.etag); // the MISS sent the very bytes the HIT sends
    expect((gz.body as Buffer).toString("utf8")).toBe(plain.text);
    // Each validator revalidates its own copy, not the other.
    expect((await get(path, { "Accept-Encoding": "identity", "If-None-Match": plain.headers.etag! })).status).toBe(304);
    expect((await raw({ "Accept-Encoding": "gzip", "If-None-Match": gz.headers.etag! })).status).toBe(304);
    expect((await get(path, { "Accept-Encoding": "identity", "If-None-Match": gz.headers.etag! })).status).toBe(200);
    const other = await raw({ "Accept-Encoding": "gzip", "If-None-Match": plain.headers.etag! });
    expect(other.status).toBe(200);
    expect(other.headers.etag).toBe(gz.headers.etag);
  });

  it("keeps a feed's client max-age and adds the CDN directives when CDN_S_MAXAGE is set", async () => {
    const saved = { s: config.CDN_S_MAXAGE, w: config.CDN_STALE_WHILE_REVALIDATE };
    (config as { CDN_S_MAXAGE: number }).CDN_S_MAXAGE = 120;
    (config as { CDN_STALE_WHILE_REVALIDATE: number }).CDN_STALE_WHILE_REVALIDATE = 30;
    try {
      const feed = await warm("/blog/feed/rss/");
      expect(feed.headers["cache-control"]).toBe("public, max-age=300, s-maxage=120, stale-while-revalidate=30");
      const page = await warm("/blog/");
      expect(page.headers["cache-control"]).toBe("public, max-age=0, must-revalidate, s-maxage=120, stale-while-revalidate=30");
    } finally {
      (config as { CDN_S_MAXAGE: number }).CDN_S_MAXAGE = saved.s;
      (config as { CDN_STALE_WHILE_REVALIDATE: number }).CDN_STALE_WHILE_REVALIDATE = saved.w;
    }
  });

  it("never serves or stores a page for a request with a session cookie or an Authorization header", async () => {
    await warm("/blog/");
    const signed = await editor.agent.get("/blog/");
    expect(signed.status).toBe(200);
    expect(signed.headers["x-cache"]).toBeUndefined();
    const bearer = await get("/blog/", { Authorization: "Bearer x" });
    expect(bearer.headers["x-cache"]).toBeUndefined();
    // A signed-in reader's view of a fresh URL is not stored for anonymous readers.
    const path = "/blog/?page=1";
    await editor.agent.get(path).expect(200);
    expect((await get(path)).headers["x-cache"]).toBe("MISS");
  });

  it("does not cache errors, non-reader paths or answers that set a cookie", async () => {
    const missing = await get("/blog/category/no-such-category/");
    expect(missing.status).toBe(404);
    expect(missing.headers["x-cache"]).toBeUndefined();
    expect((await get("/blog/category/no-such-category/")).headers["x-cache"]).toBeUndefined();
    const login = await get("/accounts/login/");
    expect(login.headers["x-cache"]).toBeUndefined();
  });

  it("never stores an answer that sets a cookie, starts a session or says private/no-store", async () => {
    // The middleware alone, in front of reader paths that answer so (no Folio page does for anonymous readers).
    const bare = express();
    bare.use(pageCache);
    bare.get("/blog/sets-cookie/", (_req, res) => void res.cookie("k", "v").send("<p>with a cookie</p>"));
    bare.get("/blog/private/", (_req, res) => void res.set("Cache-Control", "private").send("<p>private</p>"));
    bare.get("/blog/session/", (req, res) => {
      (req as { session?: unknown }).session = {}; // as ensureSession() leaves it
      res.send("<p>a form with a CSRF token</p>");
    });
    bare.get("/blog/plain/", (_req, res) => void res.send("<p>plain</p>"));
    for (const path of ["/blog/sets-cookie/", "/blog/private/", "/blog/session/"]) {
      await request(bare).get(path).expect(200);
      const again = await request(bare).get(path).expect(200);
      expect(again.headers["x-cache"], path).toBeUndefined();
    }
    expect((await request(bare).get("/blog/plain/").expect(200)).headers["x-cache"]).toBe("MISS"); // stored on its way out
    let state: string | undefined;
    for (let i = 0; i < 200 && state !== "HIT"; i++) state = (await request(bare).get("/blog/plain/")).headers["x-cache"]; // the store is async
    expect(state).toBe("HIT");
  });

  it("keys by the page-reading query parameters as received, including encoded names", () => {
    const key = (url: string) => pageKey({ originalUrl: url } as never);
    expect(key("/blog/?page=2&utm_source=a")).toBe(key("/blog/?page=2"));
    expect(key("/blog/search/?%71=evil")).not.toBe(key("/blog/search/"));
    expect(key("/blog/search/?q=a&q=b")).not.toBe(key("/blog/search/?q=b"));
  });

  it("bounds a page's lifetime by the next scheduled publish time", async () => {
    const at = new Date(Date.now() + 3 * 3_600_000);
    await makePost({ title: "Scheduled later", authorId: author.id, publish: at });
    expect(await nextScheduledAt()).toBe(at.getTime());
  });
});

describe("page cache: exact invalidation", () => {
  const postPath = () => postUrl(post);

  it("an admin save clears the post's page, the lists, its old and new category; an unrelated category stays a HIT", async () => {
    for (const p of [postPath(), "/blog/", `/blog/category/${news.slug}/`, `/blog/category/${sports.slug}/`, `/blog/category/${other.slug}/`]) await warm(p);
    const form = await editor.agent.get(`/admin/blog/post/${post.id}/change/`);
    expect(form.status).toBe(200);
    const current = (await getPostWithTags(post.id))!;
    const publish = /name="publish"[^>]*value="([^"]+)"/.exec(form.text)?.[1];
    expect(publish).toBeTruthy();
    await csrfPost(
      editor,
      `/admin/blog/post/${post.id}/change/`,
      adminForm(current, { title: "Cached post, edited", categoryId: sports.id, publish: publish! }),
      303,
    );
    const page = await get(postPath());
    expect(page.headers["x-cache"]).toBe("MISS");
    expect(page.text).toContain("Cached post, edited");
    expect((await get("/blog/")).headers["x-cache"]).toBe("MISS");
    expect((await get(`/blog/category/${news.slug}/`)).headers["x-cache"]).toBe("MISS"); // it left this one
    const moved = await get(`/blog/category/${sports.slug}/`);
    expect(moved.headers["x-cache"]).toBe("MISS");
    expect(moved.text).toContain("Cached post, edited");
    expect((await get(`/blog/category/${other.slug}/`)).headers["x-cache"]).toBe("HIT");
  });

  it("an author's save (the service, as the writing page calls it) is visible on the next request", async () => {
    await warm(postPath());
    await warm(`/blog/tag/${sql.slug}/`);
    await warm(`/blog/category/${other.slug}/`);
    const current = (await getPostWithTags(post.id))!;
    await updatePost(post.id, current.version, { ...current, publish: undefined, title: "By its author" }, { id: author.id });
    expect((await get(postPath())).text).toContain("By its author");
    expect((await get(`/blog/tag/${sql.slug}/`)).text).toContain("By its author");
    expect((await get(`/blog/category/${other.slug}/`)).headers["x-cache"]).toBe("HIT");
  });

  it("a bulk unpublish action clears the post's pages at once (the page is gone, the list no longer shows it)", async () => {
    const path = postPath();
    await warm(path);
    await warm(`/blog/author/${author.username}/`);
    await warm(`/blog/category/${other.slug}/`);
    const list = await editor.agent.get("/admin/blog/post/");
    expect(list.status).toBe(200);
    await csrfPost(editor, "/admin/blog/post/", { action: "unpublish", post: "yes", _selected_action: [String(post.id)] }, 303);
    expect((await prisma.post.findUnique({ where: { id: post.id } }))!.status).toBe("DRAFT");
    expect((await get(path)).status).toBe(404);
    expect((await get(`/blog/author/${author.username}/`)).text).not.toContain("By its author");
    expect((await get(`/blog/category/${other.slug}/`)).headers["x-cache"]).toBe("HIT");
  });

  it("a category save (src/db/saves.ts) clears every page", async () => {
    await warm(`/blog/category/${other.slug}/`);
    const c = (await prisma.category.findUnique({ where: { id: other.id } }))!;
    await updateCategory(other.id, c.version, { name: "PC Other, renamed" }, { id: author.id });
    const page = await get(`/blog/category/${other.slug}/`);
    expect(page.headers["x-cache"]).toBe("MISS");
    expect(page.text).toContain("PC Other, renamed");
  });
});

function adminForm(p: PostWithTags, over: { title: string; categoryId: number; publish: string }) {
  return {
    title: over.title,
    slug: p.slug,
    body: p.body,
    excerpt: p.excerpt,
    metaDescription: p.metaDescription,
    status: p.status,
    publish: over.publish,
    authorId: String(p.authorId),
    categoryId: String(over.categoryId),
    tags: p.tagNames.join(", "),
    _version: String(p.version),
  };
}

describe("page cache: a post taken down", () => {
  // What a database outage answers (src/web/errors.ts): the stale copy if one is kept, else the 503.
  const outage = express().use((req, res) => {
    void serveStaleCopy(req, res).then((served) => {
      if (!served) res.status(503).end();
    });
  });
  const during = (path: string) => request(outage).get(path);

  it("leaves no stale copy of its page nor of the lists that showed it (unpublished, deleted); an edited post's page keeps one", async () => {
    const cat = await makeCategory("PC Takedown");
    const ago = (ms: number) => new Date(Date.now() - ms);
    const a = await makePost({ title: "Taken down post", authorId: author.id, categoryId: cat.id, publish: ago(1_800_000) });
    const b = await makePost({ title: "Deleted post", authorId: author.id, categoryId: cat.id, publish: ago(1_900_000) });
    for (const p of [postUrl(a), postUrl(b), `/blog/category/${cat.slug}/`, `/blog/category/${other.slug}/`]) await warm(p);

    // An edit that keeps it published at its URL: its page is stale, and still there for an outage.
    let current = (await getPostWithTags(a.id))!;
    await updatePost(a.id, current.version, { ...current, publish: undefined, title: "Taken down post, edited" }, null);
    const edited = await during(postUrl(a));
    expect(edited.status).toBe(200);
    expect(edited.headers["x-cache"]).toBe("STALE");

    // Unpublished: its page and its category's list are deleted; an unrelated archive keeps its copy.
    await warm(postUrl(a));
    await warm(`/blog/category/${cat.slug}/`);
    current = (await getPostWithTags(a.id))!;
    await updatePost(a.id, current.version, { ...current, publish: undefined, status: PostStatus.DRAFT }, null);
    expect((await during(postUrl(a))).status).toBe(503);
    expect((await during(`/blog/category/${cat.slug}/`)).status).toBe(503);
    expect((await during(`/blog/category/${other.slug}/`)).status).toBe(200);

    // Deleted: likewise.
    await warm(postUrl(b));
    await deletePosts([b.id], null);
    expect((await during(postUrl(b))).status).toBe(503);
  });

  it("a published post moved to another URL (slug changed) leaves no stale copy at its old one", async () => {
    const p = await makePost({ title: "Moving post", authorId: author.id, categoryId: other.id, publish: new Date(Date.now() - 2_000_000) });
    const old = postUrl(p);
    await warm(old);
    const current = (await getPostWithTags(p.id))!;
    await updatePost(p.id, current.version, { ...current, publish: undefined, slug: "moved-post" }, null);
    expect((await during(old)).status).toBe(503);
  });
});
