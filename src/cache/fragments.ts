// Get-or-set on the shared cache (Django's cache.get_or_set with a timeout, plus tags): for expensive
// fragments a page or the API shows (the category counts, src/blog/queries.ts categoriesWithCounts).
// Values are JSON (what the shared backends store: strings), so only plain data, no Dates.
//  - a fresh entry is returned without calling load;
//  - one load per key in flight in this process: concurrent callers share it, by routing (src/db/replica.ts):
//    a request reading from the primary (signed in, sticky after a write) never shares a replica's load;
//  - a load computed across an invalidation is returned but not stored (it may predate the write): the
//    backend's invalidation generation read with the miss is handed back to set() (SharedSetOptions.since);
//  - a load read from a read replica still behind the last invalidation is returned but not stored
//    (readMayBeCached(): the fence the declared caches use), or it would be the shared copy for ttlMs;
//  - a load that fails because the database is unreachable falls back to the stale copy, if any.
import { isDatabaseUnavailable } from "../db/client.ts";
import { readMayBeCached, readsFromReplica } from "../db/replica.ts";
import { config } from "../config.ts";
import { PAGE_TAGS, sharedCache } from "./index.ts";

const KEY_PREFIX = "frag:v1:";
const inflight = new Map<string, Promise<unknown>>();

/** Fresh hits and misses (loads, or shares of a load in flight) of this process, for /metrics. */
export const fragmentCounts = { hits: 0, misses: 0 };

export interface FragmentOptions {
  ttlMs: number;
  /** PAGE_TAGS that clear it (PAGE_TAGS.all is always added). */
  tags: readonly string[];
}

/** The cached value of `key`, or load() it (once per key in flight) and keep it for `ttlMs`. */
export async function getOrSet<T>(key: string, opts: FragmentOptions, load: () => Promise<T>): Promise<T> {
  const k = KEY_PREFIX + key;
  const backend = sharedCache();
  const { hit, gen } = await backend.read(k);
  if (hit?.fresh) {
    fragmentCounts.hits++;
    return JSON.parse(hit.value) as T;
  }
  fragmentCounts.misses++;
  const flight = (readsFromReplica() ? "replica|" : "primary|") + k;
  const running = inflight.get(flight);
  if (running) return running as Promise<T>;
  const loading = (async () => {
    try {
      const value = await load();
      if (gen !== undefined && readMayBeCached()) {
        await backend.set(k, JSON.stringify(value), {
          ttlMs: opts.ttlMs,
          staleMs: config.STALE_IF_ERROR_HOURS * 3_600_000,
          tags: [...opts.tags, PAGE_TAGS.all],
          since: gen,
        });
      }
      return value;
    } catch (e) {
      if (hit && isDatabaseUnavailable(e)) return JSON.parse(hit.value) as T;
      throw e;
    } finally {
      inflight.delete(flight);
    }
  })();
  inflight.set(flight, loading);
  return loading;
}
