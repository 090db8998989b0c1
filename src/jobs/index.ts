// Background jobs on pg-boss (10.x, the line that runs on Node 20), in the app's own PostgreSQL (its
// tables live in the schema "pgboss"): the two README commands still need nothing else.
//
// The contract every feature codes against:
//  - defineJob({...}) declares a job type at import time (its queue name, retries, backoff, expiry,
//    an optional cron schedule for recurring jobs, and its handler). A feature declares its jobs in its
//    own folder; src/jobs/all.ts imports every module that declares jobs, and startJobs() loads it, so
//    that every working process (npm start, npm run worker) knows them all.
//  - enqueue(tx, job, data) adds a job in the caller's transaction (a Prisma interactive transaction
//    client): a rolled-back write enqueues nothing, a committed one always does. tx null: on its own.
//  - A handler that finds its object gone throws JobGone: the job ends (completed) without retrying
//    (Celery's DoesNotExist case in the seed article). One that can never succeed throws JobFailed: the
//    job is failed at once, without retries (an admin's retry runs it once more). Any other error is retried with backoff up to
//    the limit, then kept as failed (dead letter) for FAILED_KEPT_DAYS, shown on the admin's jobs page.
//  - startJobs({ work }) after the database is connected: installs/updates pg-boss's schema, creates
//    the queues, and with work=true runs the workers in this process, the cron schedules and pg-boss's
//    maintenance (expiring lost jobs, archiving): a process that does not work schedules nothing.
//  - stopJobs() at shutdown: workers stop taking jobs, running ones get STOP_GRACE_MS to finish; those
//    still running then are failed back to the queue (retried: an attempt is used), then pg-boss stops.
//    A process killed outright leaves its jobs active: pg-boss expires them after the job's
//    expireInSeconds and retries them. Delivery is therefore at least once.
//
// Two database handles:
//  - Installing the schema, creating queues, enqueueing outside a transaction and the admin's reads go
//    through the app's pool (src/db/client.ts): no extra connections in a process that only enqueues
//    (a web worker with JOBS_IN_PROCESS=false, a CLI command).
//  - A working process gets a second, small pool of its own (WORKER_POOL_MAX): the polling workers,
//    completing/failing jobs and maintenance must not wait behind (or starve) the requests' pool. The
//    handlers' own queries use the app's pool as usual. Plus one LISTEN connection (wake-ups, below).
//
// Wake-up: enqueue() also runs pg_notify(WAKE_CHANNEL, <queue>) in the same transaction. NOTIFY is
// transactional (delivered at commit, never on rollback), so a working process (this one or another)
// that LISTENs fetches the job at once instead of at its next poll (POLL_SECONDS). Polling remains the
// safety net (a lost notification, retries coming due, jobs sent by cron).
import { createRequire } from "node:module";
import pg from "pg";
import PgBoss from "pg-boss";
import type { Prisma } from "../generated/prisma/client.ts";
import { pool } from "../db/client.ts";
import { listenOn, type Listener } from "../db/invalidation.ts";
import { config } from "../config.ts";
import { logger } from "../web/logger.ts";

export interface JobSpec<D extends object> {
  /** Queue name: "mail.send", "purge.sessions"... */
  name: string;
  /** Retries after the first attempt (the seed's max_retries=3). */
  retryLimit: number;
  /** Seconds before the first retry (the seed's default_retry_delay=60). */
  retryDelaySeconds: number;
  /** Doubles the delay on each retry (pg-boss adds up to 100% jitter: delay * 2^n * [0.5, 1)). */
  retryBackoff: boolean;
  /** A running job not finished after this long is considered lost (its worker died) and retried; also the handler's time limit. */
  expireInSeconds: number;
  /** Recurring: a cron expression (UTC). */
  cron?: string;
  handle(data: D): Promise<void>;
}

export type Job<D extends object> = Readonly<JobSpec<D>>;

/** Thrown by a handler whose object no longer exists: the job ends (completed) without a retry. */
export class JobGone extends Error {}

/**
 * Thrown by a handler that can never succeed (a mail sealed under a previous SESSION_SECRET): the job
 * is failed at once, without its retries, with this message as its error (shown on the admin's jobs page).
 */
export class JobFailed extends Error {}

export type Tx = Prisma.TransactionClient;

/** Failed jobs stay in pgboss.job (state "failed": the admin can retry or delete them) this long. */
export const FAILED_KEPT_DAYS = 30;
/** The working process's own pool: JOB_CONCURRENCY handlers share it only for fetch/complete/fail. */
const WORKER_POOL_MAX = 3;
/** How long stopJobs() lets running jobs finish (inside the primary's grace for a cluster worker). */
const STOP_GRACE_MS = 8_000;
/** Polling: the safety net behind the wake-ups (recurring jobs need no hurry). */
const POLL_SECONDS = 2;
const CRON_POLL_SECONDS = 10;
const WAKE_CHANNEL = "folio_jobs";
const SCHEMA = "pgboss";

// pg-boss 10 records a job's end (complete/fail) without awaiting it: a database gone at that moment
// would be an unhandled rejection, which ends the process. The working pool's db answers those two
// statements with "nothing changed" instead (logged): the job stays active, expires after its
// expireInSeconds and runs again (at least once).
const plans = createRequire(import.meta.url)("pg-boss/src/plans.js") as { completeJobs(schema: string): string; failJobsById(schema: string): string };
const UNAWAITED = new Set([plans.completeJobs(SCHEMA), plans.failJobsById(SCHEMA)]);

const registry = new Map<string, Job<any>>();

export function defineJob<D extends object>(spec: JobSpec<D>): Job<D> {
  const known = registry.get(spec.name);
  if (known && known !== spec) throw new Error(`job "${spec.name}" is declared twice`);
  const job = Object.freeze({ ...spec });
  registry.set(job.name, job);
  return job;
}

/** Every declared job (the admin's jobs page lists their queues). */
export function declaredJobs(): Job<object>[] {
  return [...registry.values()];
}

const bossOptions = {
  schema: SCHEMA,
  // Failed jobs are the dead letter: kept where retry() and deleteJob() find them.
  archiveFailedAfterSeconds: FAILED_KEPT_DAYS * 24 * 3600,
} satisfies PgBoss.ConstructorOptions;

/** pg-boss's db interface over the app's pool. */
const appDb: PgBoss.Db = { executeSql: (text, values) => pool.query(text, values) };

let installer: { boss: PgBoss; ready: Promise<void> } | undefined;
const queuesReady = new Map<string, Promise<void>>();

/**
 * The pg-boss handle on the app's pool (schema installed): for enqueueing and for the admin's jobs
 * page (getQueues, countStates, getJobById, retry, deleteJob...). Never works jobs itself.
 */
export async function jobsBoss(): Promise<PgBoss> {
  if (!installer) {
    const boss = new PgBoss({ ...bossOptions, db: appDb, supervise: false, schedule: false, migrate: true });
    boss.on("error", (err: Error) => logger.warn({ error: brief(err) }, "jobs: pg-boss error"));
    // Several processes starting at once is safe: pg-boss creates/migrates its schema under an advisory lock.
    const ready = boss.start().then(() => {});
    installer = { boss, ready };
    ready.catch(() => (installer = undefined)); // the database was away: try again next time
  }
  await installer.ready;
  return installer.boss;
}

/** Creates the queue of `job` once per process (createQueue does nothing if it exists), then applies the declared settings. */
function ensureQueue(job: Job<object>): Promise<void> {
  let ready = queuesReady.get(job.name);
  if (!ready) {
    ready = (async () => {
      const boss = await jobsBoss();
      const settings: PgBoss.Queue = {
        name: job.name,
        retryLimit: job.retryLimit,
        retryDelay: job.retryDelaySeconds,
        retryBackoff: job.retryBackoff,
        expireInSeconds: job.expireInSeconds,
      };
      // Two processes creating the same new queue at once (cluster workers starting together) can
      // deadlock in pg-boss's create_queue (it attaches the queue's partition): the loser tries again
      // and finds the queue made.
      for (let attempt = 1; ; attempt++) {
        try {
          await boss.createQueue(job.name, settings);
          break;
        } catch (err) {
          if ((err as { code?: unknown }).code !== "40P01" || attempt >= 5) throw err;
          await new Promise((r) => setTimeout(r, 50 * attempt + Math.random() * 100));
        }
      }
      // An existing queue takes the settings declared in code now (a changed retry limit, say).
      await boss.updateQueue(job.name, settings);
    })();
    queuesReady.set(job.name, ready);
    ready.catch(() => queuesReady.delete(job.name));
  }
  return ready;
}

/** pg-boss's db interface over a Prisma interactive transaction: the insert commits or rolls back with it. */
function txDb(tx: Tx): PgBoss.Db {
  return {
    executeSql: async (text, values) => {
      const rows = await tx.$queryRawUnsafe<any[]>(
        text,
        ...values.map((v) => (v !== null && typeof v === "object" && !(v instanceof Date) ? JSON.stringify(v) : v)),
      );
      return { rows };
    },
  };
}

/** Enqueues `data` for `job` in `tx` (null: outside any transaction). Returns the job's id (null: an equal singleton is queued). */
export async function enqueue<D extends object>(
  tx: Tx | null,
  job: Job<D>,
  data: D,
  opts?: { singletonKey?: string; startAfter?: Date },
): Promise<string | null> {
  await ensureQueue(job as Job<object>);
  const boss = await jobsBoss();
  const db = tx ? txDb(tx) : appDb;
  const id = await boss.send(job.name, data, { ...opts, db });
  // Delivered when the transaction commits (not at all if it rolls back): wakes the working processes.
  await db.executeSql("SELECT 1 AS woken FROM (SELECT pg_notify($1, $2)) AS n", [WAKE_CHANNEL, job.name]);
  return id;
}

/** An error's message and code only: never its other fields (a mail error must not carry the message). */
function brief(err: unknown): { message: string; code?: unknown; responseCode?: unknown } {
  if (!(err instanceof Error)) return { message: String(err) };
  const e = err as Error & { code?: unknown; responseCode?: unknown };
  return { message: e.message, code: e.code, responseCode: e.responseCode };
}

/** Job runs in this process by queue: completed, ended because the object was gone, failed (each attempt). For /metrics. */
export const jobRunCounts = new Map<string, { completed: number; gone: number; failed: number }>();

function countRun(queue: string, outcome: "completed" | "gone" | "failed"): void {
  let c = jobRunCounts.get(queue);
  if (!c) jobRunCounts.set(queue, (c = { completed: 0, gone: 0, failed: 0 }));
  c[outcome]++;
}

/** The working process's own pool (undefined: this process does not work jobs). For /metrics. */
export function workingPool(): pg.Pool | undefined {
  return working?.ownPool;
}

/** Runs one job's handler: JobGone ends it (completed), any other error fails it (retried by pg-boss). */
async function runJob(spec: Job<object>, job: PgBoss.JobWithMetadata<object>): Promise<void> {
  const where = { job: spec.name, id: job.id, attempt: job.retryCount + 1, attempts: job.retryLimit + 1 };
  try {
    await spec.handle(job.data);
    countRun(spec.name, "completed");
  } catch (err) {
    if (err instanceof JobGone) {
      countRun(spec.name, "gone");
      logger.info({ ...where, reason: err.message }, "job: its object is gone, ended without retry");
      return;
    }
    countRun(spec.name, "failed");
    if (err instanceof JobFailed) {
      // No retries left: pg-boss fails a job for good when its retry_count has reached its retry_limit.
      await pool.query(`UPDATE ${SCHEMA}.job SET retry_limit = retry_count WHERE name = $1 AND id = $2`, [spec.name, job.id]);
      logger.error({ ...where, error: brief(err) }, "job failed for good, not retried (kept as failed)");
      // eslint-disable-next-line preserve-caught-error
      throw new Error(err.message);
    }
    const last = job.retryCount >= job.retryLimit;
    logger.error({ ...where, error: brief(err) }, last ? "job failed for good (kept as failed)" : "job failed (will be retried)");
    // What pg-boss stores as the job's output (shown to admins): the message only, not the error's fields.
    // eslint-disable-next-line preserve-caught-error
    throw new Error(brief(err).message);
  }
}

interface Working {
  boss: PgBoss;
  ownPool: pg.Pool;
  workers: Map<string, string[]>;
  listener: Listener;
  stopping?: Promise<void>;
}
let working: Working | undefined;

/** After connectDb(): schema, queues, schedules; work=true also runs the workers in this process. */
export async function startJobs(opts: { work: boolean }): Promise<void> {
  await import("./all.ts"); // every job type, so that queues exist before anything enqueues or works
  await jobsBoss();
  // One at a time: pg-boss's create_queue attaches a partition, and concurrent ones deadlock (other
  // processes may still collide: ensureQueue retries a deadlock).
  for (const job of declaredJobs()) await ensureQueue(job);
  if (!opts.work || working) return;
  const connectionString = (pool.options as pg.PoolConfig).connectionString;
  const ownPool = new pg.Pool({ connectionString, max: WORKER_POOL_MAX, application_name: "folio-jobs", connectionTimeoutMillis: 10_000 });
  ownPool.on("error", () => {
    /* a broken idle client is discarded by pg; queries report their own errors */
  });
  const db: PgBoss.Db = {
    async executeSql(text, values) {
      try {
        return await ownPool.query(text, values);
      } catch (err) {
        if (!UNAWAITED.has(text)) throw err;
        logger.warn({ error: brief(err) }, "jobs: could not record a job's end (database unreachable?): it will expire and run again");
        return { rows: [{ count: 0 }] };
      }
    },
  };
  const boss = new PgBoss({ ...bossOptions, db, supervise: true, schedule: true, migrate: false });
  boss.on("error", (err: Error) => logger.warn({ error: brief(err) }, "jobs: pg-boss error"));
  await boss.start();
  const jobs = declaredJobs();
  // Schedules follow the code: a job that lost its cron is unscheduled.
  for (const s of await boss.getSchedules()) {
    if (!registry.get(s.name)?.cron) await boss.unschedule(s.name);
  }
  const workers = new Map<string, string[]>();
  for (const spec of jobs) {
    if (spec.cron) await boss.schedule(spec.name, spec.cron, {}, { tz: "UTC" });
    const count = spec.cron ? 1 : Math.max(1, config.JOB_CONCURRENCY);
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      ids.push(
        await boss.work<object>(
          spec.name,
          { batchSize: 1, includeMetadata: true, pollingIntervalSeconds: spec.cron ? CRON_POLL_SECONDS : POLL_SECONDS },
          async ([job]) => job && runJob(spec, job),
        ),
      );
    }
    workers.set(spec.name, ids);
  }
  // Wake-ups: a lost listening connection reconnects by itself; polling covers the gap.
  const listener = listenOn(connectionString!, WAKE_CHANNEL, {
    onPayload: (name) => {
      for (const id of working?.workers.get(name) ?? []) boss.notifyWorker(id);
    },
  });
  working = { boss, ownPool, workers, listener };
  logger.info({ queues: jobs.map((j) => j.name), concurrency: config.JOB_CONCURRENCY }, "jobs: workers started");
}

/**
 * At shutdown, before the app's pool closes (several calls share one stop): workers stop taking jobs;
 * running ones get STOP_GRACE_MS, then are failed back to the queue; pg-boss's pool closes.
 */
export function stopJobs(): Promise<void> {
  const w = working;
  if (!w) return Promise.resolve();
  w.stopping ??= (async () => {
    await w.listener.stop();
    await w.boss.stop({ graceful: true, timeout: STOP_GRACE_MS, wait: true });
    await w.ownPool.end().catch(() => {});
    if (working === w) working = undefined;
    logger.info("jobs: workers stopped");
  })();
  return w.stopping;
}
