// Where cached entries live. The cache module (./index.ts) declares the caches and counts their hits;
// a backend only stores. Memory (./memory.ts, on lru-cache) is the one backend of these in-process
// caches (objects, promises, synchronous hits); the shared cache of pages and fragments, in memory or
// Redis, has its own interface (./shared.ts).

/** A key or stored value: anything but null and undefined (lru-cache's constraint). */
export type Defined = NonNullable<unknown>;

/** What a cache is invalidated by: the kind of data a write changed (see TAGS in ./index.ts). */
export type Tag = "posts" | "taxonomy";

/** How a cache is bounded: by entries, or by (estimated) bytes with the function that weighs an entry. */
export type Bound<V> = { maxEntries: number } | { maxBytes: number; sizeOf: (value: V) => number };

export interface CacheSpec<V> {
  /** Shown on the ops page (/admin/caches/): "blog.counts". */
  name: string;
  /** What it holds, in a few words. */
  holds: string;
  bound: Bound<V>;
  /** Why that bound (entries or bytes) and what it costs at most. */
  why: string;
  /** Time to live in ms; 0: none (a memo whose entries are never stale). */
  ttlMs: number;
  /** The invalidation events that clear it; [] for memos of pure functions (never stale). */
  tags: readonly Tag[];
}

/** One cache's storage in a backend. Synchronous: a hit must stay a cheap lookup on the hot paths. */
export interface CacheStore<K, V> {
  /** The live entry (undefined when absent or expired); a hit counts as a use for the eviction order. */
  get(key: K): V | undefined;
  /** The live entry without touching its eviction order. */
  peek(key: K): V | undefined;
  /** `size`: the entry's weight in bytes (byte-bounded caches: required); `keepTtl`: keep the entry's age. */
  set(key: K, value: V, opts?: { size?: number; keepTtl?: boolean }): void;
  delete(key: K): void;
  clear(): void;
  readonly entries: number;
  /** Bytes held, for a byte-bounded cache; entries otherwise. */
  readonly size: number;
}

/** What a backend needs to know of a cache: its name, bound, TTL and tags (entries are weighed by the caller). */
export interface StoreOptions {
  name: string;
  maxEntries?: number;
  maxBytes?: number;
  ttlMs: number;
  tags: readonly Tag[];
}

export interface CacheBackend {
  /** "memory" on the ops page. */
  readonly name: string;
  open<K extends Defined, V extends Defined>(opts: StoreOptions): CacheStore<K, V>;
  /** Empties every store declared with `tag`. */
  deleteTag(tag: Tag): void;
}
