// The memory implementation of the shared cache (./shared.ts): one lru-cache per process, bounded by
// bytes (CACHE_MAX_MB), least recently used dropped first.
//
// Tags: every invalidation of a tag sets its version to the next value of one process-wide sequence;
// an entry remembers the sequence number current when it was stored. It is fresh while its TTL lasts
// and none of its tags was invalidated after it was stored (version > stored sequence). The tag
// versions live in a bounded LRU (MAX_TAGS): a version dropped from it raises the floor that every
// unknown tag is taken to be at, so forgetting a tag can only make entries stale, never fresh again.
// Invalidated and expired entries stay for `staleMs` more (stale-if-error), within the same byte bound.
// Other processes' invalidations arrive over NOTIFY (src/db/invalidation.ts) and bump the same versions.
// The invalidation generation (read().gen, set()'s `since`) is that sequence: a value computed across
// any invalidation this process has applied is not stored. Across processes the window left is the
// NOTIFY's delivery: until it arrives this process serves its own copy as fresh (a copy stored before
// it arrives is made stale when it does, since the bump is later than the copy's sequence number).
import { LRUCache } from "lru-cache";
import type { SharedBackend, SharedHit, SharedRead, SharedSetOptions } from "./shared.ts";

interface Entry {
  value: string;
  storedAt: number;
  freshUntil: number;
  /** The sequence number when stored: any tag bumped past it makes the entry stale. */
  seq: number;
  tags: readonly string[];
}

/**
 * Tag versions kept: beyond it the least recently bumped are forgotten (raising the floor). 20,000
 * versions are about 2.5 MB (a short key, a number, lru-cache's slots); 100,000 were 12 MB in a
 * process that takes writes to many posts.
 */
const MAX_TAGS = 20_000;
/** Fixed cost per entry on top of its key and value (object, tags array, lru-cache's slots). */
const ENTRY_OVERHEAD = 200;

export class MemorySharedBackend implements SharedBackend {
  readonly name = "memory" as const;
  private seq = 0;
  private floor = 0;
  private readonly versions = new LRUCache<string, number>({
    max: MAX_TAGS,
    dispose: (v) => {
      if (v > this.floor) this.floor = v;
    },
  });
  private readonly lru: LRUCache<string, Entry>;

  constructor(readonly maxBytes: number) {
    this.lru = new LRUCache<string, Entry>({
      maxSize: maxBytes,
      // Strings of ASCII/Latin-1 text are one byte per character in V8; the body and gzip are.
      sizeCalculation: (e, key) => key.length + e.value.length + ENTRY_OVERHEAD + e.tags.reduce((n, t) => n + t.length + 16, 0),
      ttlAutopurge: false,
      perf: { now: () => Date.now() },
    });
  }

  private isFresh(e: Entry, now: number): boolean {
    if (now >= e.freshUntil) return false;
    for (const t of e.tags) if ((this.versions.peek(t) ?? this.floor) > e.seq) return false;
    return true;
  }

  async get(key: string): Promise<SharedHit | undefined> {
    return this.getNow(key);
  }

  async read(key: string): Promise<SharedRead> {
    return this.readNow(key);
  }

  /** read() without the promise (the page cache's hit path in this process). */
  readNow(key: string): SharedRead {
    return { hit: this.getNow(key), gen: String(this.seq) };
  }

  /** get() without the promise. */
  getNow(key: string): SharedHit | undefined {
    const e = this.lru.get(key);
    if (!e) return undefined;
    return { value: e.value, fresh: this.isFresh(e, Date.now()), storedAt: e.storedAt };
  }

  async set(key: string, value: string, opts: SharedSetOptions): Promise<boolean> {
    const now = Date.now();
    const keep = opts.ttlMs + Math.max(0, opts.staleMs);
    if (keep <= 0) return false;
    if (opts.since !== undefined && opts.since !== String(this.seq)) return false; // computed across an invalidation
    const entry: Entry = { value, storedAt: now, freshUntil: now + opts.ttlMs, seq: this.seq, tags: opts.tags };
    this.lru.set(key, entry, { ttl: keep });
    return true;
  }

  async delete(key: string): Promise<void> {
    this.lru.delete(key);
  }

  async invalidateTags(tags: readonly string[]): Promise<void> {
    this.bump(tags);
  }

  /** Synchronous invalidation (this process's writes and other processes' NOTIFYs). */
  bump(tags: readonly string[]): void {
    const v = ++this.seq;
    for (const t of tags) this.versions.set(t, v);
  }

  async purgeTags(tags: readonly string[]): Promise<void> {
    this.purgeNow(tags);
  }

  /** Synchronous purge: deletes the entries carrying any of `tags` (a scan: rare, on a post taken down). */
  purgeNow(tags: readonly string[]): void {
    const purged = new Set(tags);
    const doomed: string[] = [];
    for (const [key, e] of this.lru.entries()) if (e.tags.some((t) => purged.has(t))) doomed.push(key);
    for (const key of doomed) this.lru.delete(key);
    this.seq++; // a value computed before the purge is not stored after it (read().gen moved)
  }

  /** Every entry stale at once (a missed notification): kept for stale-if-error. */
  bumpAll(): void {
    this.floor = ++this.seq;
    this.versions.clear();
    this.floor = this.seq;
  }

  async clear(): Promise<void> {
    this.lru.clear();
  }

  async stats(): Promise<{ entries?: number; bytes?: number; maxBytes?: number; available: boolean }> {
    return { entries: this.lru.size, bytes: this.lru.calculatedSize, maxBytes: this.maxBytes, available: true };
  }
}
