// The shared cache: async, string values, tag invalidation that keeps stale copies (stale-if-error).
// Used by the full-page cache and the get-or-set fragment helper; in-process caches (src/cache/index.ts)
// stay synchronous on lru-cache. GROUNDWORK: the interface both backends implement.
//  - memory (src/cache/shared-memory.ts): one lru-cache bounded by CACHE_MAX_MB per process; tag
//    versions in a Map; other processes' invalidations arrive over NOTIFY (src/db/invalidation.ts).
//  - redis (src/cache/redis-backend.ts): shared by every process and host; tag versions are Redis
//    counters read with the entry in one round trip, so an invalidation is exact everywhere at once.
// A backend never throws to its caller: an unreachable store answers "miss" and drops writes.
//
// A value computed from the database may predate a write that committed while it was computed. So a
// caller reads the entry with read(), which also answers the backend's invalidation generation (moved
// by every invalidation, from any process, that reached the backend), computes, and hands that
// generation back to set() as `since`: the set is refused when any invalidation happened in between.

export interface SharedHit {
  value: string;
  /** false: expired or invalidated since stored; still usable while the database is unreachable. */
  fresh: boolean;
  /** ms since epoch when it was stored. */
  storedAt: number;
}

export interface SharedRead {
  hit: SharedHit | undefined;
  /** The invalidation generation when read (undefined: the store was unreachable). */
  gen: string | undefined;
}

export interface SharedSetOptions {
  /** The generation read (read().gen) before the value's computation started: not stored if it moved since. */
  since?: string;
  /** Served as fresh for this long. */
  ttlMs: number;
  /** Then kept this much longer as a stale copy (0: not kept). */
  staleMs: number;
  /** Invalidation tags ("post:12", "list", ...). */
  tags: readonly string[];
}

export interface SharedBackend {
  readonly name: "memory" | "redis";
  get(key: string): Promise<SharedHit | undefined>;
  /** get() plus the invalidation generation, read at the same instant (one round trip). */
  read(key: string): Promise<SharedRead>;
  /** True when stored (false: refused by `since`, nothing to keep, or the store unreachable). */
  set(key: string, value: string, opts: SharedSetOptions): Promise<boolean>;
  delete(key: string): Promise<void>;
  /** Makes every entry carrying any of `tags` stale (not deleted: stale-if-error may still serve it). */
  invalidateTags(tags: readonly string[]): Promise<void>;
  /** Deletes every entry carrying any of `tags`: no stale copy kept (a post taken down). */
  purgeTags(tags: readonly string[]): Promise<void>;
  /** Drops everything (tests, restore). */
  clear(): Promise<void>;
  /** For /admin/caches/: entries and bytes held (undefined where the backend cannot tell cheaply). */
  stats(): Promise<SharedStats>;
}

export interface SharedStats {
  entries?: number;
  bytes?: number;
  maxBytes?: number;
  available: boolean;
  /** Operations answered as a miss or dropped because the store was unreachable, since start (Redis). */
  failures?: number;
}
