// Cache invalidation across processes, over PostgreSQL LISTEN/NOTIFY: the transport of the cache
// module (src/cache/index.ts), which declares the caches and the tags that clear them.
//
// The caches live in each process. A write clears the caches declared with its tags at once in the
// process that made it (invalidate("posts")); with several workers (WEB_CONCURRENCY) or several
// machines on one database, the others must hear of it too. So a write also sends NOTIFY on CHANNEL
// with "<this process's id> <tag>,<tag>" (no tags: every cache), and every serving process LISTENs on
// one dedicated connection and clears its own caches for those tags when another process wrote.
// Delivery is best-effort: if the listening connection drops, it reconnects (with backoff) and clears
// every cache once on reconnecting, since notifications sent meanwhile are lost; the caches' own TTLs
// (5-60 s) bound any staleness that remains. No Redis needed.
import { randomUUID } from "node:crypto";
import pg from "pg";
import { pool } from "./client.ts";

const CHANNEL = "folio_invalidate";
/** This process's id in notifications, so a process ignores its own. */
const SELF = randomUUID();

/**
 * Which caches to clear: those declared with any of these tags; null: every one. `from`: "here" (this
 * process's write), "elsewhere" (another process's NOTIFY), "missed" (the listener reconnected: notifications
 * may have been lost meanwhile).
 */
export type ClearLocal = (tags: readonly string[] | null, from: InvalidationSource) => void;
export type InvalidationSource = "here" | "elsewhere" | "missed";
const handlers = new Set<ClearLocal>();

/** Registers what clears this process's caches (the cache module) on every invalidation, local or not. */
export function onInvalidate(clear: ClearLocal): void {
  handlers.add(clear);
}

function clearLocal(tags: readonly string[] | null, from: InvalidationSource): void {
  for (const clear of handlers) clear(tags, from);
}

/**
 * After a write: clears this process's caches for `tags` (none: every cache) now and tells the other
 * processes. Never throws: a failed NOTIFY leaves the others stale until their TTLs expire, which
 * must not fail the write. Writers call it through the cache module's invalidate(...tags).
 */
export async function invalidateEverywhere(tags?: readonly string[]): Promise<void> {
  const some = tags && tags.length ? tags : null;
  clearLocal(some, "here");
  try {
    await pool.query("SELECT pg_notify($1, $2)", [CHANNEL, some ? `${SELF} ${some.join(",")}` : SELF]);
  } catch {
    /* no pool (a CLI without a database) or the database is away: the TTLs cover it */
  }
}

export interface Listener {
  stop(): Promise<void>;
}

/**
 * LISTENs on CHANNEL with a dedicated connection to `url`; clears the local caches of the tags named
 * when another process (a different id than `self`) sends. `onEvent` (tests, logs) hears of each clear.
 */
export function listenForInvalidation(
  url: string,
  opts: { self?: string; onEvent?: (e: "cleared" | "connected" | "disconnected", detail?: unknown) => void } = {},
): Listener {
  const self = opts.self ?? SELF;
  return listenOn(url, CHANNEL, {
    onPayload(payload) {
      const [from, list] = payload.split(" ", 2);
      if (from === self) return;
      clearLocal(list ? list.split(",") : null, "elsewhere");
      opts.onEvent?.("cleared");
    },
    onConnected(reconnected) {
      if (reconnected) {
        clearLocal(null, "missed"); // a reconnection: notifications were missed meanwhile
        opts.onEvent?.("cleared");
      }
      opts.onEvent?.("connected");
    },
    onDisconnected: (err) => opts.onEvent?.("disconnected", err),
  });
}

/**
 * LISTENs on `channel` with a dedicated connection to `url` (the one home of a reconnecting listener:
 * cache invalidation here, job wake-ups in src/jobs/index.ts). A lost connection is reopened with
 * backoff (0.5 s doubling to 30 s); `onConnected(true)` after a reconnection, when notifications may
 * have been missed.
 */
export function listenOn(
  url: string,
  channel: string,
  on: { onPayload(payload: string): void; onConnected?(reconnected: boolean): void; onDisconnected?(err?: unknown): void },
): Listener {
  let client: pg.Client | undefined;
  let stopped = false;
  let retryMs = 500;
  let timer: NodeJS.Timeout | undefined;

  const connect = async (): Promise<void> => {
    const c = new pg.Client({ connectionString: url });
    client = c;
    c.on("notification", (msg) => {
      if (msg.channel === channel) on.onPayload(msg.payload ?? "");
    });
    c.on("error", (err) => retry(c, err));
    c.on("end", () => retry(c));
    try {
      await c.connect();
      await c.query(`LISTEN ${channel}`);
      const reconnected = retryMs > 500;
      retryMs = 500;
      on.onConnected?.(reconnected);
    } catch (err) {
      retry(c, err);
    }
  };

  const retry = (c: pg.Client, err?: unknown): void => {
    if (stopped || client !== c) return;
    client = undefined;
    c.removeAllListeners("end");
    c.end().catch(() => {});
    on.onDisconnected?.(err);
    timer = setTimeout(() => void connect(), retryMs);
    timer.unref();
    retryMs = Math.min(retryMs * 2, 30_000);
  };

  void connect();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      const c = client;
      client = undefined;
      await c?.end().catch(() => {});
    },
  };
}
