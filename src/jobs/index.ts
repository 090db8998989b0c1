// Background jobs on pg-boss (10.x, the line that runs on Node 20), in the app's own PostgreSQL: the
// two README commands still need nothing else. GROUNDWORK STUB: the jobs engineer builds it.
//
// The contract every feature codes against (do not change the signatures without telling the others):
//  - defineJob({...}) declares a job type at import time (its queue name, retries, backoff, expiry,
//    an optional cron schedule for recurring jobs, and its handler). A feature declares its jobs in its
//    own folder; src/jobs/all.ts imports every module that declares jobs, so that a worker process
//    (npm run worker) knows them all.
//  - enqueue(tx, job, data) adds a job in the caller's transaction (a Prisma interactive transaction
//    client): a rolled-back write enqueues nothing, a committed one always does. tx null: on its own.
//  - A handler that finds its object gone throws JobGone: the job ends without retrying (Celery's
//    DoesNotExist case in the seed article). Any other error is retried with backoff up to the limit,
//    then kept as failed (dead letter) for the admin's jobs page.
//  - startJobs({ work }) after the database is connected: installs/updates pg-boss's schema, creates
//    the queues and schedules, and with work=true runs the workers in this process.
//  - stopJobs() at shutdown: running jobs finish (or go back to the queue), then pg-boss stops.
import type { Prisma } from "../generated/prisma/client.ts";

export interface JobSpec<D extends object> {
  /** Queue name: "mail.send", "purge.sessions"... */
  name: string;
  /** Retries after the first attempt (the seed's max_retries=3). */
  retryLimit: number;
  /** Seconds before the first retry (the seed's default_retry_delay=60). */
  retryDelaySeconds: number;
  /** Doubles the delay on each retry. */
  retryBackoff: boolean;
  /** A running job not finished after this long is considered lost (its worker died) and retried. */
  expireInSeconds: number;
  /** Recurring: a cron expression (UTC). */
  cron?: string;
  handle(data: D): Promise<void>;
}

export type Job<D extends object> = Readonly<JobSpec<D>>;

/** Thrown by a handler whose object no longer exists: the job ends (completed) without a retry. */
export class JobGone extends Error {}

export function defineJob<D extends object>(spec: JobSpec<D>): Job<D> {
  return spec;
}

export type Tx = Prisma.TransactionClient;

/** Enqueues `data` for `job` in `tx` (null: outside any transaction). Returns the job's id. */
export async function enqueue<D extends object>(
  _tx: Tx | null,
  job: Job<D>,
  _data: D,
  _opts?: { singletonKey?: string; startAfter?: Date },
): Promise<string | null> {
  throw new Error(`jobs not built yet (${job.name})`);
}

/** After connectDb(): schema, queues, schedules; work=true also runs the workers in this process. */
export async function startJobs(_opts: { work: boolean }): Promise<void> {}

/** At shutdown, before the pool closes. */
export async function stopJobs(): Promise<void> {}
