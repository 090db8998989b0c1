// The Redis connection (node-redis), when REDIS_URL is set: one client per process, shared by the cache
// backend (src/cache/redis-backend.ts), the session store (src/web/session.ts) and the API's rate
// limiter (src/api/ratelimit.ts). connectRedis() at start-up (server.ts, serve()), closeRedis() at
// shutdown (closeDatabase()).
//
// Losing Redis never fails a reader's request, so the client is set up to fail FAST rather than wait:
//  - disableOfflineQueue: while the connection is down, a command is rejected at once (ClientOfflineError)
//    instead of being queued until Redis is back (a reader would wait as long as the outage);
//  - every command has a COMMAND_TIMEOUT_MS timeout (a Redis that hangs without closing the socket);
//  - reconnection with capped exponential backoff (100 ms, 200 ms ... 2 s, with jitter), forever.
// Callers check redisAvailable() (the connection is ready) before a round trip they can do without, and
// treat a failed command as "Redis unavailable" (isRedisUnavailable()).
//
// An unreachable Redis at start-up does not stop the server: connectRedis() waits STARTUP_WAIT_MS for the
// first connection, logs one line and returns; the client keeps retrying in the background. While
// serving, one line is logged when the connection is lost ("Redis unavailable ...") and one when it is
// back ("Redis available again"), not one per request or per reconnection attempt.
//
// Keys: everything Folio writes starts with redisPrefix(), "folio:<8 hex>:", the hex derived from
// SITE_URL and the database name, so two sites (or a staging and a production copy) can share one Redis
// and every process of one site (same SITE_URL, same database) shares the same keys.
import { createHash } from "node:crypto";
import {
  ClientClosedError,
  ClientOfflineError,
  ConnectionTimeoutError,
  createClient,
  SocketClosedUnexpectedlyError,
  SocketTimeoutError,
  TimeoutError,
  type RedisClientType,
} from "redis";
import { config } from "../config.ts";
import { logger } from "../web/logger.ts";

export type FolioRedis = RedisClientType;

/** A command that takes longer than this fails (a hung Redis counts as unavailable). */
export const COMMAND_TIMEOUT_MS = 1_000;
/** How long start-up waits for the first connection before serving without Redis. */
const STARTUP_WAIT_MS = 3_000;
const CONNECT_TIMEOUT_MS = 2_000;

let client: FolioRedis | undefined;
/** false once a loss has been logged, until "available again" is logged. */
let upLogged = true;
let closing = false;

/** The URL without its password, for log lines. */
function shownUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "redis://(unparseable URL)";
  }
}

/** The database's name (not its host, which other machines may spell differently). */
function databaseName(): string {
  if (!config.DATABASE_URL) return "folio"; // the embedded PostgreSQL's database
  try {
    return decodeURIComponent(new URL(config.DATABASE_URL).pathname.replace(/^\//, "")) || "postgres";
  } catch {
    return config.DATABASE_URL;
  }
}

/** "folio:<8 hex>:": the namespace of this site's keys (SITE_URL and the database name). */
export function redisPrefix(): string {
  const h = createHash("sha256")
    .update(`${config.SITE_URL ?? ""}\n${databaseName()}`)
    .digest("hex")
    .slice(0, 8);
  return `folio:${h}:`;
}

const readyListeners = new Set<() => void>();
/** Calls `fn` each time the connection becomes ready (the first time and after every outage). */
export function onRedisReady(fn: () => void): () => void {
  readyListeners.add(fn);
  return () => readyListeners.delete(fn);
}

/** The client (undefined without REDIS_URL or before connectRedis()); it may be disconnected: see redisAvailable(). */
export function redisClient(): FolioRedis | undefined {
  return client;
}

/** Whether the connection is up right now (commands are expected to succeed). */
export function redisAvailable(): boolean {
  return client?.isReady === true;
}

/** An error that means "Redis cannot be reached right now" (offline, closed, reset, timed out, refused). */
export function isRedisUnavailable(err: unknown): boolean {
  if (
    err instanceof ClientOfflineError ||
    err instanceof ClientClosedError ||
    err instanceof SocketClosedUnexpectedlyError ||
    err instanceof ConnectionTimeoutError ||
    err instanceof SocketTimeoutError ||
    err instanceof TimeoutError
  ) {
    return true;
  }
  const e = err as { code?: unknown; message?: unknown } | null;
  if (typeof e?.code === "string" && /^(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN)$/.test(e.code)) return true;
  // Replies of a Redis that is starting, read-only or out of memory (noeviction): unavailable for us too.
  return typeof e?.message === "string" && /^(LOADING|READONLY|MASTERDOWN|BUSY|OOM|MISCONF)\b|connection is not ready/.test(e.message);
}

function reconnectDelay(retries: number): number {
  return Math.min(100 * 2 ** Math.min(retries, 10), 2_000) + Math.floor(Math.random() * 100);
}

function lost(err: unknown): void {
  if (closing || !upLogged) return;
  upLogged = false;
  logger.error(
    { cause: err instanceof Error ? `${err.name}: ${err.message}` : String(err), redis: shownUrl(config.REDIS_URL!) },
    "Redis unavailable: serving without it (pages uncached, API rate limits per process, signed-in actions answer 503) and reconnecting",
  );
}

/** Connects when REDIS_URL is set (a no-op otherwise). Never fails start-up for an unreachable Redis: it retries. */
export async function connectRedis(): Promise<void> {
  if (!config.REDIS_URL || client) return;
  closing = false;
  upLogged = true;
  const c: FolioRedis = createClient({
    url: config.REDIS_URL,
    disableOfflineQueue: true,
    commandOptions: { timeout: COMMAND_TIMEOUT_MS },
    socket: { connectTimeout: CONNECT_TIMEOUT_MS, reconnectStrategy: reconnectDelay, keepAlive: true },
  });
  client = c;
  let everReady = false;
  // node-redis emits 'error' for each failed attempt: without a listener it would crash the process.
  c.on("error", (err: unknown) => {
    if (everReady) lost(err);
  });
  c.on("end", () => lost(new Error("connection ended")));
  c.on("ready", () => {
    const first = !everReady;
    everReady = true;
    for (const fn of readyListeners) fn();
    if (!upLogged) {
      upLogged = true;
      logger.warn({ redis: shownUrl(config.REDIS_URL!), prefix: redisPrefix() }, "Redis available again: caching, shared sessions and rate limits resumed");
    } else if (first) {
      logger.info({ redis: shownUrl(config.REDIS_URL!), prefix: redisPrefix() }, "Redis connected");
    }
  });

  const connected = c.connect().then(
    () => true,
    (err: unknown) => {
      if (!closing) logger.error({ err }, "Redis connection attempts stopped");
      return false;
    },
  );
  let timer: NodeJS.Timeout | undefined;
  const ok = await Promise.race([connected, new Promise<false>((done) => (timer = setTimeout(() => done(false), STARTUP_WAIT_MS)))]);
  clearTimeout(timer);
  if (!ok && !everReady) {
    upLogged = false; // the "available again" line is logged once it connects
    logger.error(
      { redis: shownUrl(config.REDIS_URL) },
      `Redis unreachable at start-up: serving without it (pages uncached, API rate limits per process, signed-in actions answer 503) and retrying in the background`,
    );
  }
}

/** Closes the connection (shutdown): commands already sent get their replies; a reconnecting client just stops. */
export async function closeRedis(): Promise<void> {
  const c = client;
  if (!c) return;
  closing = true;
  client = undefined;
  if (c.isReady) {
    await c.close().catch(() => c.destroy());
  } else {
    c.destroy();
  }
}
