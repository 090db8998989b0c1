// Cache invalidation across processes, over PostgreSQL LISTEN/NOTIFY.
//
// The reader caches (list counts and deep-page anchors, similar posts, feeds, the sitemap index)
// live in each process. A post write clears them at once in the process that made it; with several
// workers (WEB_CONCURRENCY) or several machines on one database, the others must hear of it too.
// So a write also sends NOTIFY on CHANNEL (tagged with this process's id), and every serving process
// LISTENs on one dedicated connection and clears its own caches when another process wrote.
// Delivery is best-effort: if the listening connection drops, it reconnects (with backoff) and clears
// the caches once on reconnecting, since notifications sent meanwhile are lost; the caches' own TTLs
// (5-60 s) bound any staleness that remains. No Redis needed.
import { randomUUID } from "node:crypto";
import pg from "pg";
import { pool } from "./client.ts";

export const CHANNEL = "folio_invalidate";
/** This process's id in notifications, so a process ignores its own. */
const SELF = randomUUID();

const handlers = new Set<() => void>();

/** Registers a cache to clear on every invalidation (local or from another process). */
export function onInvalidate(clear: () => void): void {
  handlers.add(clear);
}

function clearLocal(): void {
  for (const clear of handlers) clear();
}

/**
 * After a write: clears this process's caches now and tells the other processes. Never throws: a
 * failed NOTIFY leaves the others stale until their TTLs expire, which must not fail the write.
 */
export async function invalidateEverywhere(): Promise<void> {
  clearLocal();
  try {
    await pool.query("SELECT pg_notify($1, $2)", [CHANNEL, SELF]);
  } catch {
    /* no pool (a CLI without a database) or the database is away: the TTLs cover it */
  }
}

export interface Listener {
  stop(): Promise<void>;
}

/**
 * LISTENs on CHANNEL with a dedicated connection to `url`; clears the local caches when another
 * process (a different id than `self`) sends. `onEvent` (tests, logs) hears of each clear.
 */
export function listenForInvalidation(
  url: string,
  opts: { self?: string; onEvent?: (e: "cleared" | "connected" | "disconnected", detail?: unknown) => void } = {},
): Listener {
  const self = opts.self ?? SELF;
  let client: pg.Client | undefined;
  let stopped = false;
  let retryMs = 500;
  let timer: NodeJS.Timeout | undefined;

  const connect = async (): Promise<void> => {
    const c = new pg.Client({ connectionString: url });
    client = c;
    c.on("notification", (msg) => {
      if (msg.channel !== CHANNEL || msg.payload === self) return;
      clearLocal();
      opts.onEvent?.("cleared");
    });
    c.on("error", (err) => retry(c, err));
    c.on("end", () => retry(c));
    try {
      await c.connect();
      await c.query(`LISTEN ${CHANNEL}`);
      if (retryMs > 500) {
        clearLocal(); // a reconnection: notifications were missed meanwhile
        opts.onEvent?.("cleared");
      }
      retryMs = 500;
      opts.onEvent?.("connected");
    } catch (err) {
      retry(c, err);
    }
  };

  const retry = (c: pg.Client, err?: unknown): void => {
    if (stopped || client !== c) return;
    client = undefined;
    c.removeAllListeners("end");
    c.end().catch(() => {});
    opts.onEvent?.("disconnected", err);
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
