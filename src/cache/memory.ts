// The memory backend: one lru-cache per declared cache, in this process. Bounded by entries (`max`)
// or by bytes (`maxSize`, each entry weighed by the caller), least recently used dropped first; a
// TTL is checked on read (no timers per entry). Time is Date.now(), as the hand-written caches it
// replaced used (tests drive it with a fake Date; lru-cache's default clock is performance.now()).
import { LRUCache } from "lru-cache";
import type { CacheBackend, CacheStore, Defined, StoreOptions, Tag } from "./backend.ts";

const wallClock = { now: () => Date.now() };

class MemoryStore<K extends Defined, V extends Defined> implements CacheStore<K, V> {
  private readonly lru: LRUCache<K, V>;

  constructor(readonly opts: StoreOptions) {
    this.lru = new LRUCache<K, V>({
      ...(opts.maxBytes ? { maxSize: opts.maxBytes } : { max: opts.maxEntries ?? 1 }),
      ...(opts.ttlMs > 0 ? { ttl: opts.ttlMs, ttlResolution: 0, perf: wallClock } : {}),
    });
  }

  get(key: K): V | undefined {
    return this.lru.get(key);
  }

  peek(key: K): V | undefined {
    return this.lru.peek(key);
  }

  set(key: K, value: V, opts?: { size?: number; keepTtl?: boolean }): void {
    if (!this.opts.maxBytes) return void this.lru.set(key, value, opts?.keepTtl ? { noUpdateTTL: true } : undefined);
    const size = Math.max(1, Math.ceil(opts?.size ?? 1));
    if (opts?.keepTtl && this.lru.peek(key) === value) {
      // A load weighed once it resolved: lru-cache re-weighs an entry only when its value changes, and
      // this is the same promise. So it goes in again with its new size and the time it had left.
      const left = this.lru.getRemainingTTL(key);
      this.lru.delete(key);
      this.lru.set(key, value, { size, ...(this.opts.ttlMs > 0 && Number.isFinite(left) && left > 0 ? { ttl: left } : {}) });
      return;
    }
    this.lru.set(key, value, { size, noUpdateTTL: opts?.keepTtl ?? false });
  }

  delete(key: K): void {
    this.lru.delete(key);
  }

  clear(): void {
    this.lru.clear();
  }

  get entries(): number {
    return this.lru.size;
  }

  get size(): number {
    return this.opts.maxBytes ? this.lru.calculatedSize : this.lru.size;
  }
}

export class MemoryBackend implements CacheBackend {
  readonly name = "memory";
  private readonly stores: MemoryStore<Defined, Defined>[] = [];

  open<K extends Defined, V extends Defined>(opts: StoreOptions): CacheStore<K, V> {
    const store = new MemoryStore<K, V>(opts);
    this.stores.push(store as unknown as MemoryStore<Defined, Defined>);
    return store;
  }

  deleteTag(tag: Tag): void {
    for (const s of this.stores) if (s.opts.tags.includes(tag)) s.clear();
  }
}
