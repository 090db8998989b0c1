// One pg pool per process, shared by Prisma (through its driver adapter) and the few hot-path
// queries that use SQL directly (see src/blog/queries.ts).
//
// The database may go away at any moment (a restart, a failover, a network cut). Two rules keep a
// process alive through that:
// - A client held outside the pool (a transaction, a session setting) is taken with withClient(),
//   never with pool.connect() directly: pg emits 'error' on a checked-out client whose connection the
//   server terminates, and an 'error' event nobody listens to kills the process. withClient() listens,
//   always releases the client, and destroys it (instead of returning it to the pool) when anything
//   went wrong on it.
// - Whether an error means "the database is unreachable" (answer 503 and try again) rather than a bug
//   (500) is decided by isDatabaseUnavailable(), here and only here (and a replica's recovery conflict,
//   retried on the primary, by isRecoveryConflict()).
import pg from "pg";
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "../generated/prisma/client.ts";

// int8 (count(*)) as a JS number: our counts stay far below 2^53.
pg.types.setTypeParser(20, (v) => Number.parseInt(v, 10));

export let pool!: pg.Pool;
export let prisma!: PrismaClient;
/** The read replica's pool and client (DATABASE_REPLICA_URL), or undefined without one: see ./replica.ts. */
export let replicaPool: pg.Pool | undefined;
export let replicaPrisma: PrismaClient | undefined;

/**
 * How long a query waits for a connection (a free one from the pool, or a new one) before failing
 * with "timeout exceeded when trying to connect" (a 503). Without it, during an outage where
 * connecting hangs, requests would queue behind the pool for as long as the client waits.
 */
const CONNECT_TIMEOUT_MS = 10_000;

/**
 * A replica that does not answer is skipped sooner than the primary would be waited for: its reads
 * are retried on the primary (./replica.ts), so waiting long only delays the answer.
 */
const REPLICA_CONNECT_TIMEOUT_MS = 2_000;

function newPool(url: string, max: number, connectionTimeoutMillis: number): pg.Pool {
  const p = new pg.Pool({ connectionString: url, max, idleTimeoutMillis: 30_000, connectionTimeoutMillis });
  p.on("error", () => {
    /* a broken idle client is discarded by pg; queries report their own errors */
  });
  return p;
}

export function connectDb(url: string, max = 10): void {
  pool = newPool(url, max, CONNECT_TIMEOUT_MS);
  prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
}

/**
 * Connects the read replica's pool (after connectDb). `wrap` gives the pool its fallback to the
 * primary (./replica.ts) before Prisma's driver adapter takes it. Closed by disconnectDb().
 */
export function connectReplica(url: string, max: number, wrap: (replica: pg.Pool) => void): void {
  replicaPool = newPool(url, max, REPLICA_CONNECT_TIMEOUT_MS);
  wrap(replicaPool);
  replicaPrisma = new PrismaClient({ adapter: new PrismaPg(replicaPool) });
}

export async function disconnectDb(): Promise<void> {
  const replica = { prisma: replicaPrisma, pool: replicaPool };
  replicaPrisma = undefined;
  replicaPool = undefined;
  await replica.prisma?.$disconnect().catch(() => {});
  await replica.pool?.end().catch(() => {});
  await prisma?.$disconnect().catch(() => {});
  await pool?.end().catch(() => {});
}

/** True when the database answers a trivial query (GET /readyz). */
export async function dbReady(): Promise<boolean> {
  try {
    await pool.query("SELECT 1");
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs `work` with a client of its own from the pool (for a transaction or a session setting that
 * must stay on one connection); `from`: readDb().pool for read-only work (the replica's pool when the
 * request reads from it: work that fails there because the replica went away, or that the replica
 * cancelled for a recovery conflict (40001), is done again on the primary). The client is always released: returned to the pool when `work`
 * succeeded on a healthy connection, destroyed when `work` threw or the connection reported an error
 * (a terminated connection, or one left mid-transaction, is never handed to the next caller).
 */
export async function withClient<T>(work: (client: pg.PoolClient) => Promise<T>, from: pg.Pool = pool): Promise<T> {
  const client = await from.connect();
  let broken: Error | undefined;
  // Without this listener, the server terminating the connection (a restart) kills the process.
  const onError = (err: Error) => {
    broken = err;
  };
  client.on("error", onError);
  try {
    const result = await work(client);
    client.removeListener("error", onError);
    client.release(broken);
    return result;
  } catch (e) {
    client.removeListener("error", onError);
    client.release(broken ?? (e instanceof Error ? e : new Error(String(e))));
    if (from === replicaPool && from !== pool && (isDatabaseUnavailable(e) || isRecoveryConflict(e))) return withClient(work, pool);
    throw e;
  }
}

/**
 * SQLSTATEs that mean the connection or the server is not usable right now, not that the query was
 * wrong: class 08 (connection exception), 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03
 * cannot_connect_now (starting up, shutting down, in recovery), 53300 too_many_connections.
 */
const UNAVAILABLE_SQLSTATE = /^(08...|57P0[123]|53300)$/;
/** Node's socket errors on the way to the server. */
const SOCKET_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "ECONNABORTED"]);
/**
 * Prisma's error codes for the same (P1001 can't reach, P1002 timed out, P1008 socket timeout, P1017
 * connection closed, P2024 pool timeout, P2037 too many connections, P2028 a transaction that could not
 * start or ran past its timeout on a saturated database: rolled back, nothing written; seen by the soak
 * under load), and the driver adapter's kinds (the error Prisma passes on when it has no code of its own).
 */
const PRISMA_CODES = new Set(["P1001", "P1002", "P1008", "P1017", "P2024", "P2028", "P2037"]);
const ADAPTER_KINDS = new Set(["DatabaseNotReachable", "ConnectionClosed", "SocketTimeout", "TooManyConnections"]);
/** pg's messages without a code: a connection ended under a query, one already broken, a pool timeout. */
const MESSAGES =
  /Connection terminated|Client has encountered a connection error|Client was closed and is not queryable|timeout exceeded when trying to connect|terminating connection due to administrator command|the database system is (starting up|shutting down|in recovery)|Can't reach database server/i;

/**
 * True when `err` says the database cannot be reached or used right now (a restart, an outage, a
 * full pool): the request should be answered 503 "try again", not 500. Follows the chain of causes
 * (Prisma wraps the driver's error: `cause`, `meta.driverAdapterError`).
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  return inChain(err, (o) => {
    for (const code of [o.code, o.originalCode]) {
      if (typeof code !== "string") continue;
      if (UNAVAILABLE_SQLSTATE.test(code) || SOCKET_CODES.has(code) || PRISMA_CODES.has(code)) return true;
    }
    if (typeof o.kind === "string" && ADAPTER_KINDS.has(o.kind)) return true;
    return typeof o.message === "string" && MESSAGES.test(o.message);
  });
}

/**
 * True when `err` is a hot standby cancelling a query that conflicts with WAL replay (SQLSTATE 40001,
 * "canceling statement due to conflict with recovery"): on a read replica, the read is to be done again
 * on the primary, which has no such conflict. (On the primary, 40001 is a serialization failure.)
 */
export function isRecoveryConflict(err: unknown): boolean {
  return inChain(err, (o) => o.code === "40001" || o.originalCode === "40001" || o.kind === "TransactionWriteConflict"); // the last: Prisma's driver adapter
}

type ErrorLink = {
  code?: unknown;
  kind?: unknown;
  originalCode?: unknown;
  message?: unknown;
  cause?: unknown;
  meta?: { driverAdapterError?: unknown };
  errors?: unknown;
};

/** Whether `test` holds for `err` or an error in its chain of causes (Prisma wraps the driver's error: `cause`, `meta.driverAdapterError`). */
function inChain(err: unknown, test: (e: ErrorLink) => boolean): boolean {
  const seen = new Set<unknown>();
  const queue: unknown[] = [err];
  while (queue.length) {
    const e = queue.shift();
    if (!e || typeof e !== "object" || seen.has(e)) continue;
    seen.add(e);
    const o = e as ErrorLink;
    if (test(o)) return true;
    queue.push(o.cause, o.meta?.driverAdapterError);
    if (Array.isArray(o.errors)) queue.push(...(o.errors as unknown[])); // AggregateError (connecting to several addresses)
  }
  return false;
}
