// The shared cache's Redis backend (src/cache/redis-backend.ts) against a real redis-server: the
// SharedBackend contract (fresh, stale, TTL, tag invalidation that keeps stale copies), values that are
// not ASCII or not small, two "processes" (two connections) seeing one invalidation at once, and an
// outage: misses and dropped writes, never an exception, and invalidations made meanwhile applied on
// reconnection.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redisAvailable, redisPrefix } from "../../src/cache/redis.ts";
import { createRedisBackend } from "../../src/cache/redis-backend.ts";
import type { SharedBackend } from "../../src/cache/shared.ts";
import pg from "pg";
import { sharedCache } from "../../src/cache/index.ts";
import { listenForInvalidation } from "../../src/db/invalidation.ts";
import { CHANNEL } from "../cache/elsewhere.ts";
import { getOrSet } from "../../src/cache/fragments.ts";
import { connectAppToRedis, type AppRedis, type RawRedis, type TestRedis } from "../support/redis.ts";
import { until } from "../support/poll.ts";
import type { TcpProxy } from "../ops/support.ts";

let env: AppRedis;
let redis: TestRedis;
/** The app's connection goes through it, so a test can cut the network while Redis keeps its data. */
let proxy: TcpProxy;
let cache: SharedBackend;
/** A second connection, as another process would have (raw commands: what is really stored). */
let other: RawRedis;

beforeAll(async () => {
  env = await connectAppToRedis();
  ({ redis, proxy, raw: other } = env);
  cache = createRedisBackend();
});

afterAll(async () => {
  await env?.close();
});

const opts = (tags: string[], ttlMs = 60_000, staleMs = 60_000) => ({ tags, ttlMs, staleMs });

describe("the Redis shared cache", () => {
  it("is named redis and keeps its keys under the site's prefix, with a TTL of fresh + stale time", async () => {
    expect(cache.name).toBe("redis");
    expect(redisPrefix()).toMatch(/^folio:[0-9a-f]{8}:$/);
    const before = Date.now();
    await cache.set("/blog/", "<p>list</p>", opts(["list", "page"], 10_000, 20_000));
    const hit = await cache.get("/blog/");
    expect(hit).toMatchObject({ value: "<p>list</p>", fresh: true });
    expect(hit!.storedAt).toBeGreaterThanOrEqual(before);
    expect(hit!.storedAt).toBeLessThanOrEqual(Date.now());
    const key = `${redisPrefix()}c:/blog/`;
    expect(await other.exists(key)).toBe(1);
    const ttl = await other.pTTL(key);
    expect(ttl).toBeGreaterThan(25_000);
    expect(ttl).toBeLessThanOrEqual(30_000);
    // the tag versions outlive the entry (both read at one instant)
    const [entryTtl, tagTtl] = (await other.multi().pTTL(key).pTTL(`${redisPrefix()}t:list`).exec()) as unknown as number[];
    expect(tagTtl).toBeGreaterThanOrEqual(entryTtl!);
  });

  it("answers a miss for an unknown key and after delete()", async () => {
    expect(await cache.get("/nothing/")).toBeUndefined();
    await cache.set("/gone/", "x", opts(["page"]));
    expect(await cache.get("/gone/")).toBeDefined();
    await cache.delete("/gone/");
    expect(await cache.get("/gone/")).toBeUndefined();
  });

  it("serves an entry as stale once its fresh time has passed, and drops it after its stale time", async () => {
    await cache.set("/short/", "short-lived", opts(["page"], 150, 400));
    expect((await cache.get("/short/"))?.fresh).toBe(true);
    // polled (no fixed sleep): stale but still there, then gone once Redis expires it (PX 550 ms)
    expect(await until(async () => (await cache.get("/short/"))?.fresh === false)).toBe(true);
    expect(await cache.get("/short/")).toMatchObject({ value: "short-lived", fresh: false });
    expect(await until(async () => (await cache.get("/short/")) === undefined)).toBe(true);
  });

  it("does not keep an entry whose fresh + stale time is 0", async () => {
    await cache.set("/never/", "x", opts(["page"], 0, 0));
    expect(await cache.get("/never/")).toBeUndefined();
  });

  it("invalidating a tag makes exactly the entries carrying it stale, and keeps them (stale-if-error)", async () => {
    await cache.set("/post/1/", "post one", opts(["page", "post:1", "list"]));
    await cache.set("/post/2/", "post two", opts(["page", "post:2"]));
    await cache.set("/category/3/", "category three", opts(["page", "category:3", "post:1"]));
    await cache.invalidateTags(["post:1"]);
    expect(await cache.get("/post/1/")).toMatchObject({ value: "post one", fresh: false });
    expect(await cache.get("/category/3/")).toMatchObject({ value: "category three", fresh: false });
    expect(await cache.get("/post/2/")).toMatchObject({ value: "post two", fresh: true });
    // stored again after the invalidation: fresh with the new version
    await cache.set("/post/1/", "post one, edited", opts(["page", "post:1", "list"]));
    expect(await cache.get("/post/1/")).toMatchObject({ value: "post one, edited", fresh: true });
    // an unknown tag and an empty list are no-ops
    await cache.invalidateTags(["tag:999"]);
    await cache.invalidateTags([]);
    expect((await cache.get("/post/2/"))?.fresh).toBe(true);
    // the site-wide tag
    await cache.invalidateTags(["page"]);
    for (const k of ["/post/1/", "/post/2/", "/category/3/"]) expect((await cache.get(k))?.fresh, k).toBe(false);
  });

  it("an invalidation through another connection is seen on the very next get", async () => {
    const second = createRedisBackend(); // same client, but nothing is kept in the backend object
    await cache.set("/shared/", "v1", opts(["page", "post:7"]));
    expect((await second.get("/shared/"))?.fresh).toBe(true);
    // another process: INCR of the tag's counter, as its invalidateTags() does
    await other.incr(`${redisPrefix()}t:post:7`);
    expect(await cache.get("/shared/")).toMatchObject({ value: "v1", fresh: false });
  });

  it("a page rendered before another process's invalidation is not stored after it (the generation read with the miss)", async () => {
    // Process B misses /gen/blog/ and starts rendering from the rows as they were...
    const b = createRedisBackend();
    const a = createRedisBackend();
    const read = await b.read("/gen/blog/");
    expect(read.hit).toBeUndefined();
    expect(read.gen).toMatch(/^\d+$/);
    // ...process A commits and invalidates the lists in Redis (B has not heard its NOTIFY yet)...
    await a.invalidateTags(["list"]);
    // ...B's store of its old page is refused, and nothing is served as fresh.
    expect(await b.set("/gen/blog/", "old rows", { ...opts(["list", "page"]), since: read.gen })).toBe(false);
    expect(await other.exists(`${redisPrefix()}c:/gen/blog/`)).toBe(0);
    expect(await cache.get("/gen/blog/")).toBeUndefined();
    // The same holds for a tag no entry carries yet (no tag key to bump), and for a stale entry re-rendered.
    const again = await b.read("/gen/blog/");
    await a.invalidateTags(["category:987654"]);
    expect(await b.set("/gen/blog/", "old rows", { ...opts(["category:987654", "page"]), since: again.gen })).toBe(false);
    // Without an invalidation in between, it is stored, fresh.
    const quiet = await b.read("/gen/blog/");
    expect(await b.set("/gen/blog/", "new rows", { ...opts(["list", "page"]), since: quiet.gen })).toBe(true);
    expect(await cache.get("/gen/blog/")).toMatchObject({ value: "new rows", fresh: true });
    // The generation is returned with a hit too, in the same round trip.
    const hit = await b.read("/gen/blog/");
    expect(hit.hit).toMatchObject({ value: "new rows", fresh: true });
    expect(hit.gen).toBe(quiet.gen);
  });

  it("getOrSet (fragments) returns but does not store a value loaded across an invalidation by another process", async () => {
    expect(sharedCache().name).toBe("redis");
    const a = createRedisBackend();
    const across = await getOrSet("gen-frag", { ttlMs: 60_000, tags: ["list"] }, async () => {
      await a.invalidateTags(["list"]); // another process's save lands while this one loads
      return { count: 1 };
    });
    expect(across).toEqual({ count: 1 });
    expect(await other.exists(`${redisPrefix()}c:frag:v1:gen-frag`)).toBe(0);
    let loads = 0;
    const load = async () => ({ count: 2, loads: ++loads });
    expect(await getOrSet("gen-frag", { ttlMs: 60_000, tags: ["list"] }, load)).toEqual({ count: 2, loads: 1 });
    expect(await other.exists(`${redisPrefix()}c:frag:v1:gen-frag`)).toBe(1);
    expect(await getOrSet("gen-frag", { ttlMs: 60_000, tags: ["list"] }, load)).toEqual({ count: 2, loads: 1 }); // a fresh hit
  });

  it("another process's NOTIFY is applied to Redis here too: a writer that lost Redis (or died) does not leave its pages fresh", async () => {
    const events: string[] = [];
    const listener = listenForInvalidation(process.env.TEST_DATABASE_URL!, { self: "this-process", onEvent: (e) => events.push(e) });
    const pool = new pg.Pool({ connectionString: process.env.TEST_DATABASE_URL!, max: 1 });
    try {
      expect(await until(() => events.includes("connected"))).toBe(true);
      await cache.set("/notified/post/", "post 77", opts(["page", "post:77"]));
      await cache.set("/notified/other/", "post 78", opts(["page", "post:78"]));
      // The writer: its save committed, its Redis is unreachable (nothing reaches Redis), its NOTIFY is sent.
      await pool.query("SELECT pg_notify($1, $2)", [CHANNEL, "writer-without-redis posts,post:77"]);
      expect(await until(async () => (await cache.get("/notified/post/"))?.fresh === false)).toBe(true);
      expect(await cache.get("/notified/post/")).toMatchObject({ value: "post 77", fresh: false }); // kept for stale-if-error
      expect(await cache.get("/notified/other/")).toMatchObject({ value: "post 78", fresh: true });
      // A NOTIFY without tags (everything, as a restore sends) makes every page stale.
      await pool.query("SELECT pg_notify($1, $2)", [CHANNEL, "writer-without-redis"]);
      expect(await until(async () => (await cache.get("/notified/other/"))?.fresh === false)).toBe(true);
    } finally {
      await listener.stop();
      await pool.end();
    }
  });

  it("purgeTags() deletes every entry carrying the tag (no stale copy left), from any process, and keeps its index bounded", async () => {
    await cache.set("/purge/post/", "taken down", opts(["page", "post:90"]));
    await cache.set("/purge/post/?page=2", "taken down, variant", opts(["page", "post:90"]));
    await cache.set("/purge/similar/", "shows it as similar", opts(["page", "post:91", "post:90"]));
    await cache.set("/purge/unrelated/", "unrelated", opts(["page", "post:92"]));
    await cache.invalidateTags(["post:92"]); // a stale copy, not purged
    expect(await other.zCard(`${redisPrefix()}k:post:90`)).toBe(3);
    // A render in flight across the purge is not stored after it.
    const inFlight = await cache.read("/purge/post/");
    await createRedisBackend().purgeTags(["post:90"]);
    for (const k of ["/purge/post/", "/purge/post/?page=2", "/purge/similar/"]) expect(await cache.get(k), k).toBeUndefined();
    expect(await other.exists(`${redisPrefix()}k:post:90`)).toBe(0);
    expect(await cache.get("/purge/unrelated/")).toMatchObject({ value: "unrelated", fresh: false });
    expect(await cache.set("/purge/post/", "old rows", { ...opts(["page", "post:90"]), since: inFlight.gen })).toBe(false);
    // Index members of entries that expired are trimmed on the next store with the tag.
    await cache.set("/purge/short/", "short", opts(["page", "post:93"], 20, 0));
    expect(await until(async () => (await cache.get("/purge/short/")) === undefined)).toBe(true);
    await cache.set("/purge/long/", "long", opts(["page", "post:93"]));
    expect(await other.zRange(`${redisPrefix()}k:post:93`, 0, -1)).toEqual([`${redisPrefix()}c:/purge/long/`]);
  });

  it("a purge in another process's NOTIFY is applied to Redis here too", async () => {
    const events: string[] = [];
    const listener = listenForInvalidation(process.env.TEST_DATABASE_URL!, { self: "this-process", onEvent: (e) => events.push(e) });
    const pool = new pg.Pool({ connectionString: process.env.TEST_DATABASE_URL!, max: 1 });
    try {
      expect(await until(() => events.includes("connected"))).toBe(true);
      await cache.set("/notified-purge/", "taken down", opts(["page", "post:95"]));
      await pool.query("SELECT pg_notify($1, $2)", [CHANNEL, "writer-without-redis posts,post:95,!post:95"]);
      expect(await until(async () => (await cache.get("/notified-purge/")) === undefined)).toBe(true);
    } finally {
      await listener.stop();
      await pool.end();
    }
  });

  it("a tag version lost from Redis (evicted) makes its entries stale, never fresh again", async () => {
    await cache.set("/evicted/", "v", opts(["page", "tag:5"]));
    await other.del(`${redisPrefix()}t:tag:5`);
    expect((await cache.get("/evicted/"))?.fresh).toBe(false);
    // a new entry re-creates the tag with a new seed: the old entry stays stale
    await cache.set("/evicted-2/", "w", opts(["page", "tag:5"]));
    expect((await cache.get("/evicted/"))?.fresh).toBe(false);
    expect((await cache.get("/evicted-2/"))?.fresh).toBe(true);
  });

  it("keeps unicode and large values byte for byte", async () => {
    const unicode = "Ünïcödé ✓ — 日本語のページ 🚀 \u0000 null and \r\n line ends ' \" < > &";
    await cache.set("/unicode/ü/", unicode, opts(["page"]));
    expect((await cache.get("/unicode/ü/"))?.value).toBe(unicode);
    const block = "<article><h2>Title é</h2><p>" + "Lorem ipsum dolor sit amet ✓ ".repeat(40) + "</p></article>\n";
    const large = block.repeat(Math.ceil((3 * 1024 * 1024) / block.length)); // > 3 MB
    expect(Buffer.byteLength(large)).toBeGreaterThan(3 * 1024 * 1024);
    await cache.set("/large/", large, opts(["page", "list"]));
    const hit = await cache.get("/large/");
    expect(hit?.value.length).toBe(large.length);
    expect(hit?.value === large).toBe(true);
  });

  it("keys with spaces, colons and glob characters stay separate and clear() removes only this site's cache keys", async () => {
    await cache.set("a:b c*?[x]", "glob", opts(["page"]));
    await cache.set("a:b c", "plain", opts(["page"]));
    expect((await cache.get("a:b c*?[x]"))?.value).toBe("glob");
    expect((await cache.get("a:b c"))?.value).toBe("plain");
    await other.set("folio:someother:c:/blog/", "another site's page");
    await other.set(`${redisPrefix()}sess:abc`, "a session");
    await cache.clear();
    expect(await cache.get("a:b c")).toBeUndefined();
    expect(await cache.get("/post/2/")).toBeUndefined();
    expect(await other.get("folio:someother:c:/blog/")).toBe("another site's page");
    expect(await other.get(`${redisPrefix()}sess:abc`)).toBe("a session");
  });

  it("reports Redis's memory, not an entry count", async () => {
    const s = await cache.stats();
    expect(s.available).toBe(true);
    expect(s.entries).toBeUndefined();
    expect(s.bytes).toBeGreaterThan(0);
    expect(s.failures).toBe(0);
  });

  it("through a network split: misses and dropped writes without throwing; invalidations made meanwhile applied on reconnection", async () => {
    await cache.set("/kept/", "kept", opts(["page", "post:40"]));
    await cache.set("/other/", "other", opts(["page", "post:41"]));
    await proxy.cut(); // Redis keeps its data; this process cannot reach it
    expect(await until(() => !redisAvailable(), 5_000)).toBe(true);
    expect(await cache.get("/kept/")).toBeUndefined();
    await cache.set("/during/", "during", opts(["page"]));
    await cache.delete("/other/");
    await cache.invalidateTags(["post:40"]);
    await cache.clear();
    const down = await cache.stats();
    expect(down.available).toBe(false);
    expect(down.failures).toBeGreaterThanOrEqual(5);
    // nothing reached Redis: the entries are as they were
    expect(await other.exists([`${redisPrefix()}c:/kept/`, `${redisPrefix()}c:/other/`])).toBe(2);
    expect(await other.exists(`${redisPrefix()}c:/during/`)).toBe(0);

    await proxy.restore();
    expect(await until(() => redisAvailable(), 10_000)).toBe(true);
    // the invalidation of post:40 made during the split is applied once the connection is back
    expect(await until(async () => (await cache.get("/kept/"))?.fresh === false)).toBe(true);
    expect(await cache.get("/kept/")).toMatchObject({ value: "kept", fresh: false });
    expect(await cache.get("/other/")).toMatchObject({ value: "other", fresh: true });
  });

  it("through a Redis restart (no persistence): empty afterwards, and caching again", async () => {
    await cache.set("/before/", "before", opts(["page"]));
    await redis.kill();
    expect(await until(() => !redisAvailable(), 5_000)).toBe(true);
    expect(await cache.get("/before/")).toBeUndefined();
    await redis.restart();
    expect(await until(() => redisAvailable(), 10_000)).toBe(true);
    expect(await cache.get("/before/")).toBeUndefined();
    await cache.set("/after/", "after", opts(["page"]));
    expect(await cache.get("/after/")).toMatchObject({ value: "after", fresh: true });
  });
});
