// The Redis implementation of the shared cache (./shared.ts), selected by src/cache/index.ts when
// REDIS_URL is set. Every process and host of the site reads and writes the same entries, and an
// invalidation by any of them is exact everywhere at once: nothing is copied into a process.
//
// Keys (P = redisPrefix(), "folio:<8 hex>:", see ./redis.ts):
//   P c:<key>  a hash: v (the value), s (stored at, ms), f (fresh until, ms), and one field "t:<tag>"
//              per tag holding that tag's version when the entry was stored. Expires (PX) after its
//              fresh time + its stale time, so Redis itself drops what stale-if-error no longer needs.
//   P t:<tag>  the tag's version: a string. Created when an entry with that tag is stored and none
//              exists (seeded with a time-based value: see SEED below), bumped by INCR on invalidation,
//              and kept (PEXPIRE) at least as long as every entry stored with it.
//   P k:<tag>  the index of the entries carrying the tag, for purgeTags(): a sorted set of entry keys
//              scored by when each expires (members past it are trimmed on every store with the tag, so
//              it holds about as many members as live entries), kept as long as its newest entry.
//              purgeTags() UNLINKs its members and itself (and moves the generation) in one script.
//   P g        the invalidation generation: INCR by every invalidation (whatever its tags, even tags no
//              entry carries yet), no expiry. read() returns it with the entry, in the same script; the
//              caller computes the value and set() gets it back as `since`: the set script stores nothing
//              when it moved, so a page rendered from rows read before a save, by any process, is never
//              stored after that save's invalidation reached Redis (nor before it: then the bump makes it
//              stale). A missing P g reads as "0"; a re-created one restarts at 1: either way it moved.
// get() runs one Lua script (EVALSHA; the script is sent again after a Redis restart, NOSCRIPT): it
// reads the entry and compares each of its tags' stored versions with the current ones, in ONE round
// trip; an entry is fresh while its time lasts and every tag version matches. A tag key that is missing
// (evicted by a maxmemory policy) makes its entries stale, never fresh again: a version re-created
// later is a new seed, different from the one the entry holds.
//
// Never throws to a caller: while Redis is unreachable (./redis.ts: redisAvailable(), or a command that
// fails fast), get() answers "miss" and set/delete/clear drop their work; each such operation is counted
// (stats().failures). An invalidation is not dropped: its tags are kept in this process (up to
// MAX_PENDING_TAGS; beyond that, everything: every entry also carries the internal tag ALL_TAG) and
// applied as soon as its connection is ready again. So a Redis that kept its data through the outage (a
// network split, a restart with persistence) stops serving, as fresh, entries that a save made while it
// was unreachable should have made stale. And every other process that hears the writer's NOTIFY applies
// its tags to Redis itself (src/cache/index.ts clearLocal), so a writer alone in losing Redis (or dying
// before it reconnects) does not leave the others serving those pages as fresh.
//
// stats(): entries are NOT counted (counting a prefix means SCANning the whole keyspace); bytes and
// maxBytes are Redis's used_memory and maxmemory from INFO memory (the whole Redis: sessions and rate
// limits included; maxBytes undefined when maxmemory is 0, unbounded), read at most every 5 s.
import { createHash, randomInt } from "node:crypto";
import { logger } from "../web/logger.ts";
import { connectRedis, isRedisUnavailable, onRedisReady, redisAvailable, redisClient, redisPrefix, type FolioRedis } from "./redis.ts";
import type { SharedBackend, SharedHit, SharedRead, SharedSetOptions, SharedStats } from "./shared.ts";

// KEYS[1]: the entry, KEYS[2]: the generation; ARGV[1]: the tag key prefix.
// Returns { generation } (a miss), or { generation, value, storedAt, freshUntil, 1|0 (tags current) }.
const GET_SCRIPT = `
local gen = redis.call('GET', KEYS[2]) or '0'
local h = redis.call('HGETALL', KEYS[1])
if #h == 0 then return { gen } end
local v, s, f = false, '0', '0'
local current = 1
for i = 1, #h, 2 do
  local name = h[i]
  if name == 'v' then v = h[i + 1]
  elseif name == 's' then s = h[i + 1]
  elseif name == 'f' then f = h[i + 1]
  elseif current == 1 and string.sub(name, 1, 2) == 't:' then
    if redis.call('GET', ARGV[1] .. string.sub(name, 3)) ~= h[i + 1] then current = 0 end
  end
end
if not v then return { gen } end
return { gen, v, s, f, current }
`;

// KEYS[1]: the entry, KEYS[2]: the generation, KEYS[3..2+n]: its n tag keys, KEYS[3+n..2+2n]: their indexes.
// ARGV: value, storedAt, freshUntil, keep (ms), seed, since ('' for none), the n tag names.
// Returns 0 (not stored: an invalidation happened since the value was read) or 1.
const SET_SCRIPT = `
local keep = tonumber(ARGV[4])
if ARGV[6] ~= '' and (redis.call('GET', KEYS[2]) or '0') ~= ARGV[6] then return 0 end
local now = tonumber(ARGV[2])
local n = (#KEYS - 2) / 2
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'v', ARGV[1], 's', ARGV[2], 'f', ARGV[3])
for j = 1, n do
  local k = KEYS[2 + j]
  if not redis.call('SET', k, ARGV[5], 'PX', keep, 'NX') then
    local ttl = redis.call('PTTL', k)
    if ttl >= 0 and ttl < keep then redis.call('PEXPIRE', k, keep) end
  end
  redis.call('HSET', KEYS[1], 't:' .. ARGV[6 + j], redis.call('GET', k))
  local idx = KEYS[2 + n + j]
  redis.call('ZADD', idx, now + keep, KEYS[1])
  redis.call('ZREMRANGEBYSCORE', idx, '-inf', now)
  local ittl = redis.call('PTTL', idx)
  if ittl == -1 or (ittl >= 0 and ittl < keep) then redis.call('PEXPIRE', idx, keep) end
end
redis.call('PEXPIRE', KEYS[1], keep)
return 1
`;

// KEYS[1]: the generation, KEYS[2..]: tag indexes. Deletes every entry indexed, and the indexes.
const PURGE_SCRIPT = `
redis.call('INCR', KEYS[1])
local n = 0
for i = 2, #KEYS do
  local members = redis.call('ZRANGE', KEYS[i], 0, -1)
  for j = 1, #members, 500 do
    redis.call('UNLINK', unpack(members, j, math.min(j + 499, #members)))
  end
  n = n + #members
  redis.call('DEL', KEYS[i])
end
return n
`;

// KEYS[1]: the generation, KEYS[2..]: tag keys. A tag that has no key has no live entry to make stale
// (its key outlives them); the generation moves anyway (a render in flight may be about to store one).
const INVALIDATE_SCRIPT = `
redis.call('INCR', KEYS[1])
local n = 0
for i = 2, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then
    redis.call('INCR', KEYS[i])
    n = n + 1
  end
end
return n
`;

interface Script {
  source: string;
  sha: string;
}
const script = (source: string): Script => ({ source, sha: createHash("sha1").update(source).digest("hex") });
const GET = script(GET_SCRIPT);
const SET = script(SET_SCRIPT);
const INVALIDATE = script(INVALIDATE_SCRIPT);
const PURGE = script(PURGE_SCRIPT);

/**
 * A new tag version: milliseconds since the epoch followed by 6 random digits (a decimal integer
 * below 2^63 until the year 2262). Far above any count of invalidations, so a tag key re-created
 * after an eviction never comes back to a version an old entry holds.
 */
const SEED = () => `${Date.now()}${String(randomInt(1_000_000)).padStart(6, "0")}`;

/** Carried by every entry: invalidating it makes everything stale (a backlog of failed invalidations too long to keep). */
const ALL_TAG = "~all";
/** Tags of failed invalidations kept for the reconnection; beyond it, ALL_TAG. */
const MAX_PENDING_TAGS = 10_000;

/** Unexpected errors (not an outage: a bug, a wrong key type) are logged at most this often. */
const LOG_EVERY_MS = 60_000;
const INFO_EVERY_MS = 5_000;

/** Runs a script by its SHA1, sending its source once when Redis does not have it (first use, after a restart). */
async function run(client: FolioRedis, s: Script, keys: string[], args: string[]): Promise<unknown> {
  try {
    return await client.evalSha(s.sha, { keys, arguments: args });
  } catch (err) {
    if (!(err instanceof Error && err.message.startsWith("NOSCRIPT"))) throw err;
    return client.eval(s.source, { keys, arguments: args });
  }
}

class RedisSharedBackend implements SharedBackend {
  readonly name = "redis" as const;
  private readonly prefix = redisPrefix();
  private readonly entryPrefix = `${this.prefix}c:`;
  private readonly tagPrefix = `${this.prefix}t:`;
  private readonly genKey = `${this.prefix}g`;
  private readonly indexPrefix = `${this.prefix}k:`;
  private failures = 0;
  private lastLogged = 0;
  private memory: { at: number; bytes?: number; maxBytes?: number } = { at: 0 };
  /** Invalidations that could not reach Redis, applied once it is reachable again. */
  private pending = new Set<string>();
  /** Purges that could not reach Redis, likewise. */
  private pendingPurges = new Set<string>();

  constructor() {
    onRedisReady(() => void this.flushPending());
  }

  private async flushPending(): Promise<void> {
    if (this.pendingPurges.size) {
      const purges = [...this.pendingPurges];
      this.pendingPurges.clear();
      await this.purgeTags(purges);
    }
    if (!this.pending.size) return;
    const tags = [...this.pending];
    this.pending.clear();
    await this.invalidateTags(tags);
    if (!this.pending.size) logger.info({ tags: tags.length }, "Redis cache: invalidations made during the outage applied");
  }

  private keepPending(tags: readonly string[]): void {
    for (const t of tags) this.pending.add(t);
    if (this.pending.size > MAX_PENDING_TAGS) {
      this.pending.clear();
      this.pending.add(ALL_TAG);
    }
  }

  /** The client when the connection is up; otherwise counts the operation as failed. */
  private client(): FolioRedis | undefined {
    const c = redisClient();
    if (c && redisAvailable()) return c;
    this.failures++;
    return undefined;
  }

  private failed(op: string, err: unknown): void {
    this.failures++;
    if (isRedisUnavailable(err)) return; // ./redis.ts logs the outage once
    const now = Date.now();
    if (now - this.lastLogged < LOG_EVERY_MS) return;
    this.lastLogged = now;
    logger.error({ err, op }, "Redis cache operation failed (answered as a miss / dropped)");
  }

  async get(key: string): Promise<SharedHit | undefined> {
    return (await this.read(key)).hit;
  }

  async read(key: string): Promise<SharedRead> {
    const c = this.client();
    if (!c) return { hit: undefined, gen: undefined };
    try {
      const r = (await run(c, GET, [this.entryPrefix + key, this.genKey], [this.tagPrefix])) as [string, string?, string?, string?, number?];
      const [gen, value, storedAt, freshUntil, current] = r;
      if (value === undefined) return { hit: undefined, gen };
      return { gen, hit: { value, storedAt: Number(storedAt), fresh: Number(current) === 1 && Date.now() < Number(freshUntil) } };
    } catch (err) {
      this.failed("get", err);
      return { hit: undefined, gen: undefined };
    }
  }

  async set(key: string, value: string, opts: SharedSetOptions): Promise<boolean> {
    const keep = Math.floor(opts.ttlMs + Math.max(0, opts.staleMs));
    if (keep <= 0) return false;
    const c = this.client();
    if (!c) return false;
    const now = Date.now();
    const tags = [...new Set([...opts.tags, ALL_TAG])];
    try {
      const stored = await run(
        c,
        SET,
        [this.entryPrefix + key, this.genKey, ...tags.map((t) => this.tagPrefix + t), ...tags.map((t) => this.indexPrefix + t)],
        [value, String(now), String(now + opts.ttlMs), String(keep), SEED(), opts.since ?? "", ...tags],
      );
      return Number(stored) === 1;
    } catch (err) {
      this.failed("set", err);
      return false;
    }
  }

  async delete(key: string): Promise<void> {
    const c = this.client();
    if (!c) return;
    try {
      await c.unlink(this.entryPrefix + key);
    } catch (err) {
      this.failed("delete", err);
    }
  }

  async invalidateTags(tags: readonly string[]): Promise<void> {
    if (!tags.length) return;
    // A command that writes content (loaddata, restore) has not connected: it must still reach Redis,
    // since with Redis the writer alone invalidates, for every process (src/cache/index.ts).
    if (!redisClient()) await connectRedis();
    const c = this.client();
    if (!c) return this.keepPending(tags);
    try {
      await run(c, INVALIDATE, [this.genKey, ...[...new Set(tags)].map((t) => this.tagPrefix + t)], []);
    } catch (err) {
      this.failed("invalidateTags", err);
      this.keepPending(tags); // a timed-out INCR may have happened: bumping again only costs a render
    }
  }

  async purgeTags(tags: readonly string[]): Promise<void> {
    if (!tags.length) return;
    if (!redisClient()) await connectRedis();
    const c = this.client();
    const keep = () => {
      for (const t of tags) this.pendingPurges.add(t);
      if (this.pendingPurges.size > MAX_PENDING_TAGS) {
        // too many to keep: purge every page once Redis is back (costs every stale copy, keeps none of them)
        this.pendingPurges.clear();
        this.pendingPurges.add(ALL_TAG);
      }
    };
    if (!c) return keep();
    try {
      await run(c, PURGE, [this.genKey, ...[...new Set(tags)].map((t) => this.indexPrefix + t)], []);
    } catch (err) {
      this.failed("purgeTags", err);
      keep();
    }
  }

  /** Drops this site's entries and tag versions (SCAN by prefix: for tests and restores, not hot paths). */
  async clear(): Promise<void> {
    const c = this.client();
    if (!c) return;
    try {
      for (const prefix of [this.entryPrefix, this.tagPrefix, this.indexPrefix]) {
        for await (const keys of c.scanIterator({ MATCH: `${prefix.replace(/[*?[\]\\]/g, "\\$&")}*`, COUNT: 500 })) {
          if (keys.length) await c.unlink(keys);
        }
      }
    } catch (err) {
      this.failed("clear", err);
    }
  }

  async stats(): Promise<SharedStats> {
    const available = redisAvailable();
    const now = Date.now();
    const c = available ? redisClient() : undefined;
    if (c && now - this.memory.at > INFO_EVERY_MS) {
      try {
        const info = await c.info("memory");
        const field = (name: string) => {
          const m = new RegExp(`^${name}:(\\d+)`, "m").exec(info);
          return m ? Number(m[1]) : undefined;
        };
        const max = field("maxmemory");
        this.memory = { at: now, bytes: field("used_memory"), maxBytes: max ? max : undefined };
      } catch (err) {
        this.failed("stats", err);
      }
    }
    return { bytes: this.memory.bytes, maxBytes: this.memory.maxBytes, available, failures: this.failures };
  }
}

/** The Redis shared cache on the process's connection (./redis.ts: connectRedis() at start-up). */
export function createRedisBackend(): SharedBackend {
  return new RedisSharedBackend();
}
