// Read replica routing (DATABASE_REPLICA_URL): which database a request's reader queries use.
//
// - Anonymous GET/HEAD (no session cookie, no Authorization header, no sticky cookie) -> the replica.
// - Anything else -> the primary: writes, signed-in requests (their pages show drafts, their own
//   edits: never a replica's lagging copy), API clients with a token.
// - Read-your-writes: an unsafe request (POST/PUT/PATCH/DELETE) sets the short cookie STICKY_COOKIE
//   (REPLICA_STICKY_SECONDS); while the client sends it, its requests read from the primary, so an
//   anonymous commenter or a form post sees its own write on the next page. A cookie, not the session:
//   anonymous writers have no session (and creating one per POST would cost a row write and defeat the
//   page cache), and the cookie expires by itself in the browser with no server state.
// - The replica unreachable or failing (isDatabaseUnavailable(), or a hot-standby recovery conflict):
//   the same read is retried on the primary, the outage is logged once, and for RETRY_AFTER_MS reads
//   go straight to the primary before the replica is tried again. Never a 500 for the replica's sake.
// - Replica lag vs the page cache: see renderForPageCache().
//
// Reader query modules call readDb() for their pool / Prisma client. The choice is kept for the
// request in AsyncLocalStorage, entered only when a request is routed to the replica: without
// DATABASE_REPLICA_URL nothing is entered (Node 20's AsyncLocalStorage costs promise hooks once used),
// databaseRouting is one check and readDb() returns the primary.
import { AsyncLocalStorage } from "node:async_hooks";
import type { Request, RequestHandler, Response } from "express";
import type pg from "pg";
import { config } from "../config.ts";
import { logger } from "../web/logger.ts";
import { cookieSecure } from "../web/security.ts";
import { hasSessionCookie } from "../web/session.ts";
import { connectReplica, isDatabaseUnavailable, isRecoveryConflict, pool, prisma, replicaPool, replicaPrisma } from "./client.ts";
import { onInvalidate } from "./invalidation.ts";

/** Set after a write; while present, the client's requests read from the primary. */
export const STICKY_COOKIE = "folio.rw";
/** After the replica failed, how long reads go straight to the primary before it is tried again. */
const RETRY_AFTER_MS = 5_000;

const routed = new AsyncLocalStorage<boolean>();

type Db = { prisma: typeof prisma; pool: typeof pool };

/** The database reader queries should use for the current request: the replica when routed there, else the primary. */
export function readDb(): Db {
  if (replicaPool && routed.getStore() === true && replicaUsable()) {
    if (onReplica.pool !== replicaPool) onReplica = { prisma: replicaPrisma!, pool: replicaPool };
    return onReplica;
  }
  return primaryDb();
}

function primaryDb(): Db {
  if (onPrimary.pool !== pool) onPrimary = { prisma, pool }; // connectDb() made new ones
  return onPrimary;
}

/**
 * Reader work that holds one connection for several queries (a Prisma `$transaction`) on readDb().
 * The pool's fallback covers single queries and connecting, not a query failing on a connection
 * already taken: work the replica fails (unreachable, or cancelled by a recovery conflict) is done
 * again on the primary. Never a 500 for the replica's sake.
 */
export async function readWork<T>(work: (db: Db) => Promise<T>): Promise<T> {
  const db = readDb();
  if (db === onPrimary) return work(db);
  try {
    return await work(db);
  } catch (e) {
    if (isDatabaseUnavailable(e)) replicaFailed(e);
    else if (!isRecoveryConflict(e)) throw e;
    return work(primaryDb());
  }
}
// The answers of readDb(), made once per connectDb()/connectReadReplica() rather than per call.
let onPrimary = {} as Db;
let onReplica = {} as Db;

/** Whether this request's reads go to the replica (the shared fragment cache keys its loads in flight by it). */
export function readsFromReplica(): boolean {
  return replicaPool !== undefined && routed.getStore() === true && replicaUsable();
}

function hasSticky(req: Request): boolean {
  const c = req.headers.cookie;
  return typeof c === "string" && c.includes(`${STICKY_COOKIE}=`);
}

function setSticky(res: Response): void {
  res.cookie(STICKY_COOKIE, "1", {
    path: "/",
    maxAge: config.REPLICA_STICKY_SECONDS * 1000,
    httpOnly: true,
    sameSite: "lax",
    secure: cookieSecure(),
  });
}

/** Decides, per request, which database its reads use (kept for the request in AsyncLocalStorage). */
export const databaseRouting: RequestHandler = (req, res, next) => {
  if (!replicaPool) return next();
  const method = req.method;
  if (method !== "GET" && method !== "HEAD") {
    if (method !== "OPTIONS") setSticky(res);
    return next();
  }
  if (req.headers.authorization || hasSessionCookie(req) || hasSticky(req) || !replicaUsable()) return next();
  routed.run(true, next);
};

// ---- the replica's health and the fallback to the primary ----------------------------------------

let downUntil = 0;
let outage = false;

function replicaUsable(): boolean {
  return downUntil === 0 || Date.now() >= downUntil;
}

function replicaFailed(err: unknown): void {
  downUntil = Date.now() + RETRY_AFTER_MS;
  if (outage) return;
  outage = true;
  logger.warn({ err }, "read replica unavailable: its reads go to the primary until it answers again");
}

function replicaAnswered(): void {
  if (!outage) return;
  outage = false;
  downUntil = 0;
  logger.info("read replica answers again: anonymous reads go to it again");
}

/**
 * Gives the replica's pool its fallback: a query or a connection that fails because the replica is
 * unreachable is done on the primary instead. Below Prisma's driver adapter, so it covers Prisma's
 * queries too; the errors seen here are pg's own.
 */
function fallBackToPrimary(replica: pg.Pool): void {
  type Query = (...args: unknown[]) => Promise<unknown>;
  type Connect = (...args: unknown[]) => Promise<pg.PoolClient> | undefined;
  const query = replica.query.bind(replica) as unknown as Query;
  const connect = replica.connect.bind(replica) as unknown as Connect;
  (replica as unknown as { query: Query }).query = (...args) => {
    if (typeof args[args.length - 1] === "function") return query(...args); // callback form (pg-internal): as is
    if (!replicaUsable()) return (pool.query as unknown as Query)(...args);
    return query(...args).then(
      (result) => {
        replicaAnswered();
        return result;
      },
      (err: unknown) => {
        if (isDatabaseUnavailable(err)) replicaFailed(err);
        else if (!isRecoveryConflict(err)) throw err;
        return (pool.query as unknown as Query)(...args);
      },
    );
  };
  // pg-pool's own query() calls connect(callback): left as is (its errors come back through query above).
  (replica as unknown as { connect: Connect }).connect = (...args) => {
    if (args.length) return connect(...args);
    if (!replicaUsable()) return pool.connect();
    return connect()!.then(
      (client) => {
        replicaAnswered();
        return client;
      },
      (err: unknown) => {
        if (!isDatabaseUnavailable(err)) throw err;
        replicaFailed(err);
        return pool.connect();
      },
    );
  };
}

/** Connects the replica's pool (DATABASE_REPLICA_URL), with its fallback to the primary. After connectDb(). */
export function connectReadReplica(url: string, max = 10): void {
  downUntil = 0;
  outage = false;
  fence = null;
  replayedPastFence = true;
  connectReplica(url, max, fallBackToPrimary);
}

// ---- replica lag vs the page cache ----------------------------------------------------------------

const CAUGHT_UP_SQL = "SELECT coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn, false) AS ok";

/** The primary's WAL insert position: every write committed before this call lies at or before it. */
async function primaryWalPosition(): Promise<string> {
  return (await pool.query<{ lsn: string }>("SELECT pg_current_wal_insert_lsn()::text AS lsn")).rows[0]!.lsn;
}

/**
 * A page cache miss is about to be rendered and stored (src/cache/pages.ts). A page read from a
 * lagging replica could predate a save whose invalidation came before this miss, and it would then be
 * kept for the cache's lifetime. So, for a request routed to the replica: the primary's WAL insert
 * position is read now (every write committed before this miss, and so every invalidation already
 * done, lies at or before it), then the replica's replay position; the page is rendered from the
 * replica only when the replica has replayed up to there, else from the primary. (Invalidations after
 * the lookup are the cache's own rule: the store is refused when the generation moved.) Costs two
 * small queries per miss of a replica-routed request, none on a hit or without a replica.
 */
export function renderForPageCache(render: () => void): void | Promise<void> {
  if (!replicaPool || routed.getStore() !== true) return render();
  return replicaCaughtUp().then((ok) => (ok ? render() : routed.run(false, render)));
}

async function replicaCaughtUp(): Promise<boolean> {
  try {
    const at = await primaryWalPosition();
    if (!replicaPool || !replicaUsable()) return false;
    const { rows } = await replicaPool.query<{ ok: boolean }>(CAUGHT_UP_SQL, [at]);
    return rows[0]?.ok === true; // on the primary (the fallback) replay LSN is null: false
  } catch {
    return false; // render from the primary, which answers for itself
  }
}

// ---- replica lag vs the in-process data caches ---------------------------------------------------
// The declared caches (src/cache/index.ts: counts, cards, feeds...) live in each process and are
// cleared there by every invalidation (a local write or another process's NOTIFY). A value loaded
// from a replica that has not yet replayed the write behind that invalidation would be kept for the
// cache's TTL. So each invalidation raises a fence: the primary's WAL insert position read right
// after it (at or past the write). Until this process has seen the replica replay past the fence,
// values read on replica-routed requests are served but not kept (readMayBeCached() is false).
// One replica query at a time checks the replay position; without a replica, or once caught up, the
// check is a variable read.

let fence: { lsn: string | null } | null = null;
let replayedPastFence = true;
let checking = false;

onInvalidate(() => {
  if (!replicaPool) return;
  const f: { lsn: string | null } = { lsn: null };
  fence = f;
  replayedPastFence = false;
  void readFenceLsn(f);
});

async function readFenceLsn(f: { lsn: string | null }): Promise<void> {
  try {
    f.lsn = await primaryWalPosition();
  } catch {
    /* the primary is away: stays fenced; the next check asks again */
  }
}

function checkReplay(): void {
  const f = fence;
  if (checking || !f || !replicaPool) return;
  checking = true;
  void (async () => {
    try {
      if (!f.lsn) await readFenceLsn(f);
      if (!f.lsn || !replicaPool || !replicaUsable()) return;
      const { rows } = await replicaPool.query<{ ok: boolean }>(CAUGHT_UP_SQL, [f.lsn]);
      if (rows[0]?.ok === true && fence === f) replayedPastFence = true;
    } catch {
      /* fenced until a later check succeeds */
    } finally {
      checking = false;
    }
  })();
}

/** For the data caches: whether a value read now may be kept (false: read from a replica still behind the last invalidation). */
export function readMayBeCached(): boolean {
  if (replayedPastFence || !readsFromReplica()) return true;
  checkReplay();
  return false;
}
