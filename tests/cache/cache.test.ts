// The cache layer (src/cache/index.ts) with the real app and the file's own database: bounds, TTL
// (time driven by a fake Date, never slept), one load per key however many ask at once,
// invalidation by tag clearing exactly the caches declared with it, and its NOTIFY reaching the
// other processes through the real LISTEN/NOTIFY.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import request from "supertest";
import pg from "pg";
import { buildApp } from "../../src/app.ts";
import { config } from "../../src/config.ts";
import { cacheStats, caches, invalidate, sharedCache, type CacheStats } from "../../src/cache/index.ts";
import { listenForInvalidation, type Listener } from "../../src/db/invalidation.ts";
import { countPublished, type PostCard } from "../../src/blog/queries.ts";
import { installPostCardMemo } from "../../src/blog/cards.ts";
import { createTemplateEnv } from "../../src/web/templates.ts";
import { url } from "../../src/web/urls.ts";
import { zoneOffset } from "../../src/web/inputs.ts";
import { createUser, makeCategory, makePost, makeTag } from "../support/fixtures.ts";
import { CHANNEL, writtenElsewhere } from "./elsewhere.ts";
import { until } from "../support/poll.ts";

import { nextScheduledAt } from "../../src/cache/scheduled.ts";
import { MemorySharedBackend } from "../../src/cache/shared-memory.ts";
const app = buildApp();
// Writes here go around the save paths (straight SQL, or a clock moved) and the checks read the layers
// under the full-page cache (src/cache/pages.ts, tested in tests/cache/page-cache.test.ts): pages uncached.
(config as { PAGE_CACHE: boolean }).PAGE_CACHE = false;
const dbUrl = process.env.TEST_DATABASE_URL!;
let authorId = 0;
let categoryId = 0;
let tagId = 0;
let postPath = "";

const stat = (name: string): CacheStats => {
  const s = cacheStats().find((c) => c.name === name);
  if (!s) throw new Error(`no cache ${name}`);
  return s;
};

/** A post written straight into the database (another process, psql): no invalidation here. */
const elsewhere = (title: string) => writtenElsewhere({ title, authorId, categoryId });

beforeAll(async () => {
  authorId = (await createUser({ role: "AUTHOR", username: "cacher", firstName: "Cache", lastName: "Writer" })).user.id;
  categoryId = (await makeCategory("Cached things", "cached-things")).id;
  tagId = (await makeTag("cachetag", "cachetag")).id;
  for (let i = 0; i < 3; i++) {
    const p = await makePost({ authorId, title: `Cached post ${i}`, categoryId, tagIds: [tagId], publish: new Date(Date.UTC(2026, 0, 1 + i, 10)) });
    if (i === 0) postPath = `/blog/2026/01/01/${p.slug}/`;
  }
});

afterEach(() => vi.useRealTimers());

describe("declarations", () => {
  it("every cache states its backend, bound, TTL and tags", () => {
    const all = cacheStats();
    expect(all.map((c) => c.name)).toEqual([
      "blog.counts",
      "blog.anchors",
      "blog.similar",
      "blog.search",
      "blog.tag-names",
      "blog.media-items",
      "blog.card-html",
      "blog.feeds",
      "blog.sitemap-index",
      "admin.choices",
      "api.categories",
      "api.tags",
      "cache.next-scheduled",
      "blog.previous-zones",
      "web.reversed-urls",
      "web.zone-offsets",
      "db.statement-names",
    ]);
    for (const c of all) {
      expect(c.backend).toBe("memory");
      expect("maxBytes" in c.bound ? c.bound.maxBytes : c.bound.maxEntries).toBeGreaterThan(0);
      expect(c.why).toMatch(/^(entries|bytes): /);
    }
    expect(stat("blog.feeds").bound).toEqual({ maxBytes: 8 * 1024 * 1024 });
    expect(stat("blog.counts")).toMatchObject({ bound: { maxEntries: 5_000 }, ttlMs: 5_000, tags: ["posts", "taxonomy"] });
    expect(stat("web.reversed-urls")).toMatchObject({ ttlMs: 0, tags: [] });
  });
});

describe("bounds", () => {
  it("an entry-bounded cache never holds more than its bound, dropping the least recently used", () => {
    const max = (stat("web.reversed-urls").bound as { maxEntries: number }).maxEntries;
    const first = url("blog:tag_detail", { slug: "bound-0" });
    expect(first).toBe("/blog/tag/bound-0/");
    for (let i = 1; i <= max + 10; i++) url("blog:tag_detail", { slug: `bound-${i}` });
    expect(stat("web.reversed-urls").entries).toBe(max);
    const before = stat("web.reversed-urls").misses;
    expect(url("blog:tag_detail", { slug: "bound-0" })).toBe(first); // evicted: computed again
    expect(stat("web.reversed-urls").misses).toBe(before + 1);
    const hits = stat("web.reversed-urls").hits;
    url("blog:tag_detail", { slug: `bound-${max + 10}` }); // the newest is still there
    expect(stat("web.reversed-urls").hits).toBe(hits + 1);
  });

  it("a byte-bounded cache keeps its weight under its bound", () => {
    const env = createTemplateEnv();
    installPostCardMemo(env, true);
    const maxBytes = (stat("blog.card-html").bound as { maxBytes: number }).maxBytes;
    const big = "x".repeat(100_000); // ≥ 200 KB per card, weighed with the post it was rendered from
    const posts: PostCard[] = [];
    for (let i = 0; i < 60; i++) {
      posts.push({
        id: 1_000_000 + i,
        title: `Heavy ${i}`,
        slug: `heavy-${i}`,
        excerpt: big,
        publish: new Date(Date.UTC(2026, 1, 1)),
        author: { username: "cacher", firstName: "Cache", lastName: "Writer", fullName: "Cache Writer" },
        category: null,
        tags: [],
        image: null,
        imageVersion: 0,
        readingMinutes: 1,
      });
    }
    const html = env.renderString("{{ post_cards(posts) }}", { posts });
    expect(html).toContain("Heavy 59");
    const s = stat("blog.card-html");
    expect(s.size).toBeLessThanOrEqual(maxBytes);
    expect(s.size).toBeGreaterThan(maxBytes / 2);
    expect(s.entries).toBeLessThan(60); // the oldest cards were dropped to make room
    expect(s.entries).toBeGreaterThan(10);
  });
});

describe("loads weighed when they resolve", () => {
  it("a byte-bounded loading cache counts each load's size and drops the oldest loads past its bound", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    caches.feeds.clear();
    const maxBytes = (stat("blog.feeds").bound as { maxBytes: number }).maxBytes;
    const xml = "x".repeat(1_000_000); // about 2 MB weighed each
    for (let i = 0; i < 20; i++) await caches.feeds.fetch(`weighed-${i}`, () => Promise.resolve({ xml, lastModified: new Date() } as never));
    const s = stat("blog.feeds");
    expect(s.size).toBeLessThanOrEqual(maxBytes);
    expect(s.size).toBeGreaterThan(maxBytes / 2); // each entry weighs its feed, not 1
    expect(s.entries).toBeLessThan(20);
    // re-weighing keeps the entry's time to live: the first one still expires 30 s after its load
    let loads = 0;
    const last = "weighed-19";
    vi.setSystemTime(Date.now() + 29_000);
    await caches.feeds.fetch(last, () => (loads++, Promise.resolve({ xml: "", lastModified: new Date() } as never)));
    expect(loads).toBe(0);
    vi.setSystemTime(Date.now() + 2_000);
    await caches.feeds.fetch(last, () => (loads++, Promise.resolve({ xml: "", lastModified: new Date() } as never)));
    expect(loads).toBe(1);
    caches.feeds.clear();
  });
});

describe("time to live", () => {
  it("a cached count is served until its TTL passes, then loaded again", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    caches.counts.clear();
    const before = await countPublished({ categoryId });
    await elsewhere("Counted elsewhere");
    vi.setSystemTime(Date.now() + 4_000);
    expect(await countPublished({ categoryId })).toBe(before); // within 5 s: the cached count
    vi.setSystemTime(Date.now() + 1_500);
    const misses = stat("blog.counts").misses;
    expect(await countPublished({ categoryId })).toBe(before + 1);
    expect(stat("blog.counts").misses).toBe(misses + 1);
  });

  it("a built feed is reused for 30 s, then rebuilt with the new post", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    caches.feeds.clear();
    expect((await request(app).get("/blog/feed/rss/").expect(200)).text).toContain("Cached post 2");
    await elsewhere("Feed newcomer");
    vi.setSystemTime(Date.now() + 29_000);
    expect((await request(app).get("/blog/feed/rss/").expect(200)).text).not.toContain("Feed newcomer");
    vi.setSystemTime(Date.now() + 2_000);
    expect((await request(app).get("/blog/feed/rss/").expect(200)).text).toContain("Feed newcomer");
  });
});

describe("in-flight de-duplication", () => {
  it("many callers of one key at once share one load", async () => {
    caches.counts.clear();
    let loads = 0;
    let release!: (n: number) => void;
    const load = () => {
      loads++;
      return new Promise<number>((r) => (release = r));
    };
    const all = Array.from({ length: 20 }, () => caches.counts.fetch("dedup-test", load));
    expect(loads).toBe(1);
    release(42);
    expect(await Promise.all(all)).toEqual(Array(20).fill(42));
    expect(await caches.counts.fetch("dedup-test", load)).toBe(42); // and kept
    expect(loads).toBe(1);
  });

  it("a failed load is not kept: the next caller loads again", async () => {
    let loads = 0;
    const failing = () => {
      loads++;
      return Promise.reject(new Error("database away"));
    };
    await expect(caches.counts.fetch("failing-test", failing)).rejects.toThrow("database away");
    await expect(caches.counts.fetch("failing-test", failing)).rejects.toThrow("database away");
    expect(loads).toBe(2);
  });

  it("concurrent sitemap requests build the index once", async () => {
    caches.sitemapIndex.clear();
    const misses = stat("blog.sitemap-index").misses;
    const hits = stat("blog.sitemap-index").hits;
    const bodies = await Promise.all(Array.from({ length: 8 }, () => request(app).get("/sitemap.xml").expect(200)));
    for (const b of bodies) expect(b.text).toContain("<sitemapindex");
    expect(stat("blog.sitemap-index").misses).toBe(misses + 1);
    expect(stat("blog.sitemap-index").hits).toBe(hits + 7);
  });
});

describe("invalidation by tag", () => {
  /** Fills every cache through real requests. */
  async function fillAll() {
    await request(app).get("/blog/").expect(200);
    await request(app).get(`/blog/category/cached-things/`).expect(200);
    expect((await request(app).get(postPath).expect(200)).text).toContain("Cached post 0");
    await request(app).get("/blog/feed/atom/").expect(200);
    await request(app).get("/sitemap.xml").expect(200);
    await caches.adminChoices.fetch("category", async () => [{ value: String(categoryId), label: "Cached things" }]);
    await request(app).get("/api/v1/categories").expect(200);
    await request(app).get("/api/v1/tags").expect(200);
    await request(app).get("/blog/search/").query({ q: "cached" }).expect(200);
    await nextScheduledAt(); // filled by the page cache's stores (off in this file)
    zoneOffset(Date.now(), "Europe/Paris"); // filled by dates shown in a zone other than UTC
    await request(app).get("/blog/2020/01/01/no-such-post/").expect(404); // a post 404 asks for the zones the site used before
    // anchors: deep pages only; media items: posts with a featured image only (tests/blog/featured.test.ts)
    const empty = cacheStats().filter((c) => c.entries === 0 && c.name !== "blog.anchors" && c.name !== "blog.media-items");
    expect(empty.map((c) => c.name)).toEqual([]);
  }

  it("clears exactly the caches declared with the tag", async () => {
    await fillAll();
    const before = new Map(cacheStats().map((c) => [c.name, c]));
    await invalidate("taxonomy");
    for (const c of cacheStats()) {
      if (c.tags.includes("taxonomy")) {
        expect(c.entries, c.name).toBe(0);
        expect(c.lastInvalidation, c.name).toBeInstanceOf(Date);
      } else {
        expect(c.entries, c.name).toBe(before.get(c.name)!.entries);
        expect(c.lastInvalidation, c.name).toEqual(before.get(c.name)!.lastInvalidation);
      }
    }
    expect(stat("blog.sitemap-index").entries).toBe(1); // "posts" only

    await fillAll();
    await invalidate("posts");
    expect(stat("blog.sitemap-index").entries).toBe(0);
    expect(stat("blog.counts").entries).toBe(0);
    expect(stat("blog.tag-names").entries).toBeGreaterThan(0); // "taxonomy" only: a post write leaves tag names
    expect(stat("web.reversed-urls").entries).toBeGreaterThan(0); // no tags: never stale
  });

  it("a post saved through the posts service clears the reader caches", async () => {
    await request(app).get("/blog/").expect(200);
    expect(stat("blog.counts").entries).toBeGreaterThan(0);
    await makePost({ authorId, title: "Saved through the service" });
    expect(stat("blog.counts").entries).toBe(0);
    expect((await request(app).get("/blog/").expect(200)).text).toContain("Saved through the service");
  });
});

describe("across processes", () => {
  const listeners: Listener[] = [];
  let other: pg.Client | undefined;
  afterAll(async () => {
    for (const l of listeners) await l.stop();
    await other?.end();
  });

  it("invalidate() sends its tags to the other processes", async () => {
    other = new pg.Client({ connectionString: dbUrl });
    await other.connect();
    const heard: string[] = [];
    other.on("notification", (m) => heard.push(m.payload ?? ""));
    await other.query(`LISTEN ${CHANNEL}`);
    await invalidate("taxonomy");
    expect(await until(() => heard.length === 1)).toBe(true);
    expect(heard[0]).toMatch(/^[0-9a-f-]{36} taxonomy$/);
  });

  it("another process's purge deletes the memory shared cache's entries of its tags here; its invalidation makes them stale", async () => {
    const events: string[] = [];
    listeners.push(listenForInvalidation(dbUrl, { self: "this-process", onEvent: (e) => events.push(e) }));
    expect(await until(() => events.includes("connected"))).toBe(true);
    const shared = sharedCache();
    expect(shared.name).toBe("memory");
    const o = { ttlMs: 60_000, staleMs: 60_000 };
    await shared.set("page:v1:/taken-down/", "taken down", { ...o, tags: ["page", "post:96"] });
    await shared.set("page:v1:/edited/", "edited", { ...o, tags: ["page", "post:97"] });
    const pool2 = new pg.Pool({ connectionString: dbUrl, max: 1 });
    try {
      await pool2.query("SELECT pg_notify($1, $2)", [CHANNEL, "another-process posts,post:96,!post:96,post:97"]);
      expect(await until(async () => (await shared.get("page:v1:/taken-down/")) === undefined)).toBe(true);
      expect(await shared.get("page:v1:/edited/")).toMatchObject({ value: "edited", fresh: false });
    } finally {
      await pool2.end();
    }
  });

  it("another process's NOTIFY clears only the caches of its tags here", async () => {
    const events: string[] = [];
    listeners.push(listenForInvalidation(dbUrl, { self: "this-process", onEvent: (e) => events.push(e) }));
    expect(await until(() => events.includes("connected"))).toBe(true);
    await request(app).get("/blog/").expect(200);
    await request(app).get("/sitemap.xml").expect(200);
    const tagNames = stat("blog.tag-names").entries;
    expect(tagNames).toBeGreaterThan(0);
    // A second pool, as another worker has: its write and its NOTIFY ("posts").
    const pool2 = new pg.Pool({ connectionString: dbUrl, max: 1 });
    try {
      await elsewhere("Written by another worker");
      expect((await request(app).get("/sitemap.xml").expect(200)).text).toContain("<sitemapindex");
      await pool2.query("SELECT pg_notify($1, $2)", [CHANNEL, "another-worker posts"]);
    } finally {
      await pool2.end();
    }
    expect(await until(() => events.includes("cleared"))).toBe(true);
    expect(stat("blog.sitemap-index").entries).toBe(0);
    expect(stat("blog.counts").entries).toBe(0);
    expect(stat("blog.tag-names").entries).toBe(tagNames); // not a "posts" cache
    expect((await request(app).get("/blog/").expect(200)).text).toContain("Written by another worker");
  });
});

describe("the memory shared cache: a value computed across an invalidation", () => {
  it("is refused by set() (the generation read with the miss moved), and stored when none happened", async () => {
    const shared = new MemorySharedBackend(1024 * 1024);
    const o = { ttlMs: 60_000, staleMs: 60_000, tags: ["list", "page"] };
    const before = shared.readNow("/blog/");
    expect(before.hit).toBeUndefined();
    shared.bump(["category:3"]); // any invalidation (here or by NOTIFY), even of a tag the page does not carry
    expect(await shared.set("/blog/", "old rows", { ...o, since: before.gen })).toBe(false);
    expect(shared.getNow("/blog/")).toBeUndefined();
    const quiet = await shared.read("/blog/");
    expect(await shared.set("/blog/", "new rows", { ...o, since: quiet.gen })).toBe(true);
    expect(shared.getNow("/blog/")).toMatchObject({ value: "new rows", fresh: true });
    // stored just before an invalidation (NOTIFY arriving late): stale once it arrives
    shared.bump(["list"]);
    expect(shared.getNow("/blog/")).toMatchObject({ value: "new rows", fresh: false });
  });
});
