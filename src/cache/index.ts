// Every in-process cache of Folio, declared in one place: its name, its bound (entries or bytes, and
// why), its time to live and the invalidation events (tags) that clear it. Callers ask a cache
// declared here (caches.counts.fetch(key, load)); none keeps a Map of its own, and none knows which
// backend answers. The backend is memory (./memory.ts, one lru-cache per cache, in this process):
// these caches hold objects and promises and must answer synchronously. Whole pages and fragments live
// in the shared cache instead (sharedCache() below: ./shared.ts, memory or Redis; ./pages.ts, ./fragments.ts).
//
// Two kinds of cache:
//  - LoadingCache (async loads: counts, anchors, similar posts, feeds, the sitemap index, admin
//    choice lists): the entry is the load's promise. A hit returns the very promise stored (no
//    await, no allocation: as cheap as the Map lookups it replaced); concurrent callers of a key
//    share the load in flight (one load per key however many ask at once); a failed load is
//    dropped, not kept. A byte-bounded one is weighed when its load resolves. lru-cache's own
//    fetch() does the same de-duplication, but is an async function with an AbortController per
//    load: an await and allocations on every hit of the list page's count.
//  - MemoCache (synchronous: tag names, rendered post cards, reversed URLs, statement names).
// Cost of a hit (scratch micro-benchmark, this machine): a reversed URL 67 ns (the old Map: 78), a
// rendered card 72 ns (15), a count 196 ns (39): lru-cache's TTL check is most of it. Under 1 µs per
// page of about 1 ms of server CPU.
//
// Invalidation: invalidate("posts") clears, in this process, every cache declared with that tag, and
// sends NOTIFY so that every other process on the database clears its own (src/db/invalidation.ts:
// LISTEN/NOTIFY, reconnecting; a reconnection clears every tagged cache, since messages were missed
// meanwhile). Caches without tags are memos of pure functions: never stale, only bounded.
//
// Hit/miss counts are per cache and per process; GET /admin/caches/ (src/admin/caches.ts) shows them.
//
// Maps that are NOT caches, left as they are (nothing in them is recomputed on a miss, they live
// for one request or one object, or evicting them early would change behaviour):
//  - the route table (src/web/urls.ts `routes`): the registry url() reads, filled at start-up;
//  - the hashed static files' manifest (src/web/static.ts): the only record of the hashed names;
//  - the admin's model registry (src/admin/site.ts `models`) and its compiled form (a WeakMap
//    beside each registration object: lives and dies with it, one entry per model);
//  - the session store's last-write times (src/web/session.ts): a write throttle, state rather than
//    a copy of data (losing it costs one extra write, never a stale read);
//  - the server's three parser-error pages (src/web/client-errors.ts): rendered once per server;
//  - per-request and per-connection maps (open sockets, pending responses, a page's tag names
//    returned by tagNamesFor(), the admin's form state), which end with their request.
import { invalidateEverywhere, onInvalidate, type InvalidationSource } from "../db/invalidation.ts";
import { readMayBeCached } from "../db/replica.ts";
import { config } from "../config.ts";
import type { CacheBackend, CacheSpec, CacheStore, Defined, Tag } from "./backend.ts";
import { MemoryBackend } from "./memory.ts";
import { MemorySharedBackend } from "./shared-memory.ts";
import { createRedisBackend } from "./redis-backend.ts";
import type { SharedBackend } from "./shared.ts";
// Types only (no run-time import): the shapes the caches hold.
import type { PostCard } from "../blog/queries.ts";
import type { MediaItem } from "../media/index.ts";
import type { Feed } from "../blog/feeds.ts";
import type { SearchResult } from "../blog/search.ts";

export type { Tag } from "./backend.ts";

/** The invalidation events: the kind of data a write changed. */
export const TAGS: Record<Tag, string> = {
  posts: "a post was created, changed, deleted, published or unpublished (which posts show, and what they show)",
  taxonomy: "a category, tag or user was changed or deleted (names shown on posts, admin choice lists)",
};
const ALL_TAGS = Object.keys(TAGS) as Tag[];

const backend: CacheBackend = new MemoryBackend();

type AnyCache = Cache<Defined, unknown, Defined>;
const registry: AnyCache[] = [];

abstract class Cache<K extends Defined, V, S extends Defined> {
  hits = 0;
  misses = 0;
  lastInvalidation: Date | null = null;
  /** Bumped by every clear: a write computed before it must not land after it (see setIf). */
  epoch = 0;
  protected readonly store: CacheStore<K, S>;

  constructor(readonly spec: CacheSpec<V>) {
    const b = spec.bound;
    this.store = backend.open<K, S>({
      name: spec.name,
      ttlMs: spec.ttlMs,
      tags: spec.tags,
      ...("maxBytes" in b ? { maxBytes: b.maxBytes } : { maxEntries: b.maxEntries }),
    });
    registry.push(this as unknown as AnyCache);
  }

  protected weigh(value: V): number | undefined {
    const b = this.spec.bound;
    return "sizeOf" in b ? b.sizeOf(value) : undefined;
  }

  delete(key: K): void {
    this.store.delete(key);
  }

  /** Empties this cache in this process only (invalidate() is the way for writes). */
  clear(): void {
    this.store.clear();
    this.cleared(new Date());
  }

  /** Bookkeeping after the backend emptied this cache. */
  cleared(at: Date): void {
    this.epoch++;
    this.lastInvalidation = at;
  }

  get entries(): number {
    return this.store.entries;
  }
  get size(): number {
    return this.store.size;
  }
}

/** A cache of values computed synchronously or loaded in batches by the caller (see tagNamesFor). */
class MemoCache<K extends Defined, V extends Defined> extends Cache<K, V, V> {
  /** The entry, counting a hit or a miss. */
  get(key: K): V | undefined {
    const v = this.store.get(key);
    if (v === undefined) this.misses++;
    else this.hits++;
    return v;
  }

  set(key: K, value: V): void {
    if (this.spec.tags.length && !readMayBeCached()) return; // read from a replica behind the last invalidation (src/db/replica.ts)
    this.store.set(key, value, { size: this.weigh(value) });
  }

  /** set(), unless the cache was cleared since `epoch` was read (the value may predate a write). */
  setIf(epoch: number, key: K, value: V): void {
    if (epoch === this.epoch) this.set(key, value);
  }
}

/** A cache whose entries are loads: fetch() shares the load in flight and keeps its result for the TTL. */
class LoadingCache<K extends Defined, V> extends Cache<K, V, Promise<V>> {
  /** The cached value of `key`, or load() it (once, however many callers ask meanwhile). */
  fetch(key: K, load: () => Promise<V>): Promise<V> {
    const hit = this.store.get(key);
    if (hit !== undefined) {
      this.hits++;
      return hit;
    }
    this.misses++;
    return this.reload(key, load);
  }

  /** Loads `key` now, replacing what is cached (a count found wrong). */
  reload(key: K, load: () => Promise<V>): Promise<V> {
    const value = load();
    this.keep(key, value, undefined);
    return value;
  }

  /** Stores a value known without loading (a count learnt from a last page). */
  set(key: K, value: V): void {
    this.keep(key, Promise.resolve(value), this.weigh(value));
  }

  private keep(key: K, value: Promise<V>, size: number | undefined): void {
    if (this.spec.tags.length && !readMayBeCached()) return; // read from a replica behind the last invalidation (src/db/replica.ts)
    const byBytes = "sizeOf" in this.spec.bound;
    this.store.set(key, value, { size: size ?? 1 });
    value.then(
      (v) => {
        if (byBytes && size === undefined && this.store.peek(key) === value) this.store.set(key, value, { size: this.weigh(v), keepTtl: true });
      },
      () => {
        if (this.store.peek(key) === value) this.store.delete(key);
      },
    );
  }
}

// ---- sizes --------------------------------------------------------------------------------------
// Byte bounds weigh an entry roughly, in O(1) or O(fields): 2 bytes per string character (V8 keeps
// one-byte strings when it can, so this over-counts) plus a fixed cost per object. Good enough to
// keep a worker's caches within their share of the 150 MB target at 100k posts.
const OBJECT_BYTES = 64;
const strBytes = (s: string | null | undefined) => (s ? s.length * 2 : 0);
function cardBytes(c: PostCard): number {
  let n =
    6 * OBJECT_BYTES +
    strBytes(c.title) +
    strBytes(c.slug) +
    strBytes(c.excerpt) +
    strBytes(c.author.username) +
    strBytes(c.author.firstName) +
    strBytes(c.author.lastName) +
    strBytes(c.author.fullName);
  if (c.category) n += OBJECT_BYTES + strBytes(c.category.name) + strBytes(c.category.slug);
  for (const t of c.tags) n += OBJECT_BYTES + strBytes(t.name) + strBytes(t.slug);
  return n;
}

// ---- the caches ---------------------------------------------------------------------------------
const MB = 1024 * 1024;
type Filter = string;
type Anchor = { publish: string; id: number } | null;
interface ApiCategoryRow {
  name: string;
  slug: string;
  description: string;
  count: number;
}
interface ApiTagPage {
  count: number;
  rows: { name: string; slug: string; version: number; posts: number }[];
}
interface Choice {
  value: string;
  label: string;
}

export const caches = {
  counts: new LoadingCache<Filter, number>({
    name: "blog.counts",
    holds: "published posts per list filter (category, tag, author), for “Page X of Y”",
    bound: { maxEntries: 5_000 },
    why: "entries: a number per filter in use (≈ 0.2 KB each, 1 MB at most)",
    ttlMs: 5_000,
    tags: ["posts", "taxonomy"],
  }),
  anchors: new LoadingCache<string, Anchor>({
    name: "blog.anchors",
    holds: "deep-page anchors: the (publish, id) key every 50 rows of a list",
    bound: { maxEntries: 5_000 },
    why: "entries: a small fixed-size key each (≈ 0.3 KB, 1.5 MB at most)",
    ttlMs: 5_000,
    tags: ["posts", "taxonomy"],
  }),
  similar: new LoadingCache<string, PostCard[]>({
    name: "blog.similar",
    holds: "similar posts per post (up to 4 cards each)",
    bound: { maxBytes: 4 * MB, sizeOf: (cards) => OBJECT_BYTES + cards.reduce((n, c) => n + cardBytes(c), 0) },
    why: "bytes: cards vary with titles and excerpts; one entry per post read, so 100k posts would not fit by count",
    ttlMs: 60_000,
    tags: ["posts", "taxonomy"],
  }),
  searchResults: new LoadingCache<string, { result: SearchResult; until: number }>({
    name: "blog.search",
    holds: "reader search result pages (hits with snippets, count) per query and page: frequent queries stay",
    bound: {
      maxBytes: 4 * MB,
      sizeOf: (e) => OBJECT_BYTES + e.result.hits.reduce((n, h) => n + cardBytes(h) + strBytes(h.titleHtml) + strBytes(h.snippetHtml), 0),
    },
    why: "bytes: a page of 10 hits with snippets is 5-15 KB (4 MB: 300-800 pages); the least recently used queries go first",
    ttlMs: 30_000, // and no later than the next scheduled publish time (src/blog/search.ts)
    tags: ["posts", "taxonomy"],
  }),
  tagNames: new MemoCache<number, { name: string; slug: string }>({
    name: "blog.tag-names",
    holds: "tag id → name and slug, for the tags on post cards",
    bound: { maxEntries: 20_000 },
    why: "entries: tag names and slugs are short (≈ 0.3 KB each, 6 MB at most)",
    ttlMs: 60_000,
    tags: ["taxonomy"],
  }),
  mediaItems: new MemoCache<number, { version: number; item: MediaItem }>({
    name: "blog.media-items",
    holds: "media id → the item (renditions, alt text) at a version, for featured images and avatars (never stale: the row's version is compared on use)",
    bound: { maxBytes: 4 * MB, sizeOf: (e) => OBJECT_BYTES + strBytes(e.item.alt) + e.item.renditions.length * (OBJECT_BYTES + 2 * 90) },
    why: "bytes: an item with its ~15 renditions is 3-4 KB; a page shows at most ~15 images",
    ttlMs: 600_000,
    tags: [],
  }),
  cardHtml: new MemoCache<number | string, { post: PostCard; html: string }>({
    name: "blog.card-html",
    holds: "rendered post cards per post and heading, with the fields they show (never stale: compared on use)",
    bound: { maxBytes: 8 * MB, sizeOf: (e) => cardBytes(e.post) + strBytes(e.html) },
    why: "bytes: a card's HTML is 1-2 KB and grows with its title and excerpt",
    ttlMs: 0,
    tags: [],
  }),
  feeds: new LoadingCache<string, Feed>({
    name: "blog.feeds",
    holds: "built RSS and Atom feeds, site-wide and per category",
    bound: { maxBytes: 8 * MB, sizeOf: (f) => OBJECT_BYTES + strBytes(f.xml) },
    why: "bytes: a feed carries 20 full posts (tens to hundreds of KB), one per kind and category; the page cache in front keeps the hot ones",
    ttlMs: 30_000,
    tags: ["posts", "taxonomy"],
  }),
  sitemapIndex: new LoadingCache<"index", string>({
    name: "blog.sitemap-index",
    holds: "the sitemap index (one file per 10,000 posts, with lastmod)",
    bound: { maxEntries: 1 },
    why: "entries: there is one index (≈ 1 KB at 100k posts)",
    ttlMs: 60_000,
    tags: ["posts"],
  }),
  adminChoices: new LoadingCache<"category" | "tag" | "author", Choice[]>({
    name: "admin.choices",
    holds: "the admin's choice lists (categories, tags, authors) for filters and selects",
    bound: { maxEntries: 3 },
    why: "entries: three lists, each capped by its query (500 categories, 2,000 tags: ≈ 0.2 MB)",
    ttlMs: 5_000,
    tags: ["posts", "taxonomy"], // a post write may create tags by name
  }),
  apiCategories: new LoadingCache<"all", ApiCategoryRow[]>({
    name: "api.categories",
    holds: "GET /api/v1/categories: every category with its published post count",
    bound: { maxEntries: 1 },
    why: "entries: one list (categories are few: a few KB)",
    ttlMs: 5_000,
    tags: ["posts", "taxonomy"],
  }),
  apiTags: new LoadingCache<string, ApiTagPage>({
    name: "api.tags",
    holds: "GET /api/v1/tags pages with published post counts, per visibility class (public, all, one author's) and page",
    bound: { maxBytes: 2 * MB, sizeOf: (p) => OBJECT_BYTES + p.rows.reduce((n, r) => n + OBJECT_BYTES + strBytes(r.name) + strBytes(r.slug), 0) },
    why: "bytes: a page is at most 100 short tags (≈ 10 KB); by count, 2,000 pages could reach 20 MB",
    ttlMs: 5_000,
    tags: ["posts", "taxonomy"],
  }),
  nextScheduled: new LoadingCache<"next", number | null>({
    name: "cache.next-scheduled",
    holds: "the next scheduled publish time (bounds the cached pages' lifetime: a scheduled post appears on time)",
    bound: { maxEntries: 1 },
    why: "entries: one number",
    ttlMs: 60_000,
    tags: ["posts"],
  }),
  previousZones: new LoadingCache<"all", string[]>({
    name: "blog.previous-zones",
    holds: "the time zones post URLs were dated in before the current one (SiteState previous_time_zones): old date URLs 301 (src/posts/timezone.ts)",
    bound: { maxEntries: 1 },
    why: "entries: one short list of zone names",
    ttlMs: 300_000,
    tags: ["posts"], // a re-date invalidates "posts" in every process
  }),
  urls: new MemoCache<string, string>({
    name: "web.reversed-urls",
    holds: "reversed named routes (route name + parameters → path)",
    bound: { maxEntries: 20_000 },
    why: "entries: short paths (≈ 0.3 KB each, 6 MB at most)",
    ttlMs: 0,
    tags: [],
  }),
  zoneOffsets: new MemoCache<string, number>({
    name: "web.zone-offsets",
    holds: "the site zone's UTC offset for each UTC day with no change of clocks (zone + day number → ms; NaN: the clocks change that day)",
    bound: { maxEntries: 20_000 },
    why: "entries: a short key and a number each (≈ 0.1 KB, 2 MB at most); 20,000 days are 55 years of dates shown",
    ttlMs: 0,
    tags: [],
  }),
  statementNames: new MemoCache<string, string>({
    name: "db.statement-names",
    holds: "prepared statement names (SQL text → name, a hash of the text)",
    bound: { maxEntries: 2_000 },
    why: "entries: the SQL texts are a finite set of a few hundred (≈ 1 KB each)",
    ttlMs: 0,
    tags: [],
  }),
};

// ---- the shared cache (full pages, fragments) ---------------------------------------------------
// One backend per process, chosen once: Redis with REDIS_URL (shared by every process and host), else
// memory (src/cache/shared-memory.ts: this process only, CACHE_MAX_MB). Its entries carry fine tags
// (PAGE_TAGS below) besides the coarse ones of the in-process caches.

let sharedInstance: SharedBackend | undefined;
/** The shared cache backend of this process (selected on first use). */
export function sharedCache(): SharedBackend {
  sharedInstance ??= config.REDIS_URL ? createRedisBackend() : new MemorySharedBackend(config.CACHE_MAX_MB * MB);
  return sharedInstance;
}

/**
 * What a page shows, as invalidation tags of the shared cache. A post save invalidates its own post,
 * the lists, and its category, tags and author as they were before and after the save (src/posts/service.ts
 * postPageTags); a category, tag or user save invalidates every page (`all`: names show on every card).
 */
export const PAGE_TAGS = {
  /** Every cached page and fragment carries it. */
  all: "page",
  /** Pages listing the newest posts site-wide: home, /blog/, search, feeds, sitemaps, the category list. */
  lists: "list",
  post: (id: number) => `post:${id}`,
  category: (id: number) => `category:${id}`,
  tag: (id: number) => `tag:${id}`,
  author: (id: number) => `author:${id}`,
  /**
   * Passed to invalidate(): DELETES the entries carrying `tag` instead of making them stale, so no stale
   * copy of them is ever served again (stale-if-error). For a post taken down (deleted, unpublished, or
   * moved to another URL): src/posts/service.ts purges every tag of the post as it was (its page, the
   * pages showing it as a similar post, the lists and archives that listed it).
   */
  purge: (tag: string) => `${PURGE}${tag}`,
};
const PURGE = "!";

/** Splits a tag list: coarse tags (in-process caches), tags to make stale, tags to purge (their "!" removed). */
function sharedTags(tags: readonly string[]): { stale: string[]; purge: string[] } {
  const fine = tags.filter((t) => !(t in TAGS));
  return { stale: fine.filter((t) => !t.startsWith(PURGE)), purge: fine.filter((t) => t.startsWith(PURGE)).map((t) => t.slice(PURGE.length)) };
}

/** Applies fine tags to a Redis shared cache (purges first: a page purged is not merely stale). */
async function applyToRedis(shared: SharedBackend, tags: readonly string[]): Promise<void> {
  const { stale, purge } = sharedTags(tags);
  if (purge.length) await shared.purgeTags(purge);
  if (stale.length) await shared.invalidateTags(stale);
}

/** NOTIFY payloads stop at 8,000 bytes: a longer list of fine tags is sent as "every page". */
const MAX_TAG_PAYLOAD = 6_000;

// ---- invalidation -------------------------------------------------------------------------------

/** Clears this process's caches declared with any of `tags` (null: every tagged cache). */
function clearLocal(tags: readonly string[] | null, from: InvalidationSource): void {
  const hit = tags === null ? ALL_TAGS : ALL_TAGS.filter((t) => tags.includes(t));
  const at = new Date();
  for (const t of hit) backend.deleteTag(t);
  for (const c of registry) if (c.spec.tags.some((t) => hit.includes(t))) c.cleared(at);
  // The memory shared cache lives in this process: bump its tag versions here. A Redis one was
  // invalidated by the writer (invalidate() below), for every process at once; but a writer that cannot
  // reach Redis only keeps its tags until it reconnects (and loses them if it dies). So every process
  // that hears another's NOTIFY applies its tags to Redis too: an extra bump costs one render per page.
  // (A reconnection of the listener, "missed", is not applied to Redis: with a writer cut off from Redis
  // during that same gap, its pages stay fresh until the writer reconnects, or their TTL.)
  const shared = sharedCache();
  if (shared instanceof MemorySharedBackend) {
    if (tags === null) shared.bumpAll();
    else {
      const { stale, purge } = sharedTags(tags);
      shared.bump([...tags.filter((t) => t in TAGS), ...stale, ...purge]);
      if (purge.length) shared.purgeNow(purge);
    }
  } else if (from === "elsewhere") {
    void applyToRedis(shared, tags ?? [PAGE_TAGS.all]); // never throws
  }
}
onInvalidate(clearLocal); // here, from another process's NOTIFY, and on the listener's reconnection

/**
 * After a write: clears the caches declared with `tags` (coarse: "posts", "taxonomy"; fine: PAGE_TAGS)
 * in this process now, and in every other process on the database through NOTIFY; with Redis, its
 * entries too. Resolves once all that is done (the writer answers after it, so its next request sees
 * the change). Never throws (a failed NOTIFY leaves the others stale until their TTLs expire, which
 * must not fail the write).
 */
export async function invalidate(...tags: (Tag | string)[]): Promise<void> {
  let list = [...new Set(tags)];
  const shared = sharedCache();
  if (!(shared instanceof MemorySharedBackend)) await applyToRedis(shared, list);
  if (list.join(",").length > MAX_TAG_PAYLOAD) {
    // Too long for a NOTIFY: every page stale, and every page deleted if something was to be purged.
    const purging = sharedTags(list).purge.length > 0;
    list = [...list.filter((t) => t in TAGS), PAGE_TAGS.all, ...(purging ? [PAGE_TAGS.purge(PAGE_TAGS.all)] : [])];
  }
  await invalidateEverywhere(list);
}

/** Everything, everywhere (restore, load): every cache in every process, every shared entry stale. */
export async function invalidateAll(): Promise<void> {
  const shared = sharedCache();
  if (!(shared instanceof MemorySharedBackend)) await shared.invalidateTags([PAGE_TAGS.all]);
  await invalidateEverywhere();
}

// ---- the ops page -------------------------------------------------------------------------------

export interface CacheStats {
  name: string;
  holds: string;
  backend: string;
  entries: number;
  size: number;
  bound: { maxEntries: number } | { maxBytes: number };
  why: string;
  ttlMs: number;
  hits: number;
  misses: number;
  /** hits / (hits + misses), or null before the first use. */
  hitRatio: number | null;
  lastInvalidation: Date | null;
  tags: readonly Tag[];
}

/** Every declared cache's counts in this process, in declaration order. */
export function cacheStats(): CacheStats[] {
  return registry.map((c) => {
    const b = c.spec.bound;
    const uses = c.hits + c.misses;
    return {
      name: c.spec.name,
      holds: c.spec.holds,
      backend: backend.name,
      entries: c.entries,
      size: c.size,
      bound: "maxBytes" in b ? { maxBytes: b.maxBytes } : { maxEntries: b.maxEntries },
      why: c.spec.why,
      ttlMs: c.spec.ttlMs,
      hits: c.hits,
      misses: c.misses,
      hitRatio: uses ? c.hits / uses : null,
      lastInvalidation: c.lastInvalidation,
      tags: c.spec.tags,
    };
  });
}
