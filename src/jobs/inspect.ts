// What the admin's jobs page (src/admin/jobs.ts) reads and does in pg-boss: every queue with its job
// counts by state and its schedule, the failed jobs (the dead letter: pg-boss keeps them in its job
// table for FAILED_KEPT_DAYS) with their last error, and retry/delete of failed jobs. Reads are plain
// SQL on pg-boss's tables (schema "pgboss") through the app's pool; retry and delete go through
// pg-boss itself (jobsBoss()). A job's data is never read here: mail jobs hold addresses and links.
// Queue names and job ids are checked (a known queue, a uuid) before they reach any query, so a
// hostile value is a 404, never a database error.
import { pool } from "../db/index.ts";
import { declaredJobs, jobsBoss } from "./index.ts";
import "./all.ts"; // every declared queue is listed, also in a process that has not started the workers

export const JOB_STATES = ["created", "retry", "active", "completed", "cancelled", "failed"] as const;
export type JobState = (typeof JOB_STATES)[number];

export interface QueueInfo {
  name: string;
  /** The cron expression (UTC) if the queue is recurring. */
  cron: string | null;
  retryLimit: number | null;
  counts: Record<JobState, number>;
  /** Declared by the running code (false: a queue left in the database by code since removed). */
  declared: boolean;
}

export interface FailedJob {
  id: string;
  queue: string;
  createdOn: Date;
  /** When it failed for good. */
  failedOn: Date | null;
  /** Attempts made (the first run plus retries). */
  attempts: number;
  /** The last error's message (as the job runner stored it: the message only). */
  error: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Names a queue can have here (pg-boss allows more; Folio's are "mail.send", "purge.sessions"...). */
const QUEUE_NAME = /^[A-Za-z0-9_.-]{1,200}$/;
export const isJobId = (v: unknown): v is string => typeof v === "string" && UUID.test(v);
/** The longest error message shown (a stack or an SMTP transcript is cut). */
const ERROR_MAX = 1000;
/** Jobs retried per statement by retryAllFailed. */
const RETRY_BATCH = 1000;

const emptyCounts = (): Record<JobState, number> => Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>;

/** Every queue (declared in code or present in pg-boss), by name, with its counts and schedule. */
export async function queues(): Promise<QueueInfo[]> {
  await jobsBoss(); // installs pg-boss's schema if nothing has yet
  const [known, counts, schedules] = await Promise.all([
    pool.query<{ name: string; retryLimit: number | null }>(`SELECT name, retry_limit AS "retryLimit" FROM pgboss.queue WHERE name NOT LIKE '\\_\\_pgboss%'`),
    pool.query<{ name: string; state: JobState; n: number }>(`SELECT name, state::text AS state, count(*)::int AS n FROM pgboss.job GROUP BY name, state`),
    pool.query<{ name: string; cron: string }>(`SELECT name, cron FROM pgboss.schedule`),
  ]);
  const declared = new Map(declaredJobs().map((j) => [j.name, j]));
  const byName = new Map<string, QueueInfo>();
  const info = (name: string): QueueInfo => {
    let q = byName.get(name);
    if (!q) {
      const d = declared.get(name);
      q = { name, cron: d?.cron ?? null, retryLimit: d?.retryLimit ?? null, counts: emptyCounts(), declared: !!d };
      byName.set(name, q);
    }
    return q;
  };
  for (const name of declared.keys()) info(name);
  for (const r of known.rows) info(r.name).retryLimit ??= r.retryLimit;
  for (const r of counts.rows) if (byName.has(r.name)) info(r.name).counts[r.state] = r.n;
  for (const r of schedules.rows) if (byName.has(r.name)) info(r.name).cron = r.cron;
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** The queue named `name` if there is one (declared or in pg-boss), else null. */
export async function findQueue(name: unknown): Promise<string | null> {
  if (typeof name !== "string") return null;
  if (declaredJobs().some((j) => j.name === name)) return name;
  if (!QUEUE_NAME.test(name)) return null; // never a NUL byte or odd text in a query
  await jobsBoss();
  const { rows } = await pool.query(`SELECT 1 FROM pgboss.queue WHERE name = $1`, [name]);
  return rows.length ? name : null;
}

/** How many failed jobs (in `queue`, or in all queues). */
export async function countFailed(queue: string | null): Promise<number> {
  await jobsBoss();
  const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM pgboss.job WHERE state = 'failed' AND ($1::text IS NULL OR name = $1)`, [
    queue,
  ]);
  return rows[0]?.n ?? 0;
}

/** One page of failed jobs, the most recent failure first. */
export async function failedJobs(queue: string | null, limit: number, offset: number): Promise<FailedJob[]> {
  await jobsBoss();
  const { rows } = await pool.query<{ id: string; queue: string; createdOn: Date; failedOn: Date | null; attempts: number; error: unknown }>(
    `SELECT id, name AS queue, created_on AS "createdOn", completed_on AS "failedOn", retry_count + 1 AS attempts, output AS error
       FROM pgboss.job WHERE state = 'failed' AND ($1::text IS NULL OR name = $1)
      ORDER BY completed_on DESC NULLS LAST, id LIMIT $2 OFFSET $3`,
    [queue, limit, offset],
  );
  return rows.map((r) => ({ ...r, error: errorText(r.error) }));
}

/** The message of a failed job's output (pg-boss stores the thrown error serialised: { message, stack... }); never the rest. */
function errorText(output: unknown): string {
  const o = output as { message?: unknown; value?: { message?: unknown } } | null;
  const m = typeof o?.message === "string" ? o.message : typeof o?.value?.message === "string" ? o.value.message : "";
  const text = m.trim() || "(no error message)";
  return text.length > ERROR_MAX ? `${text.slice(0, ERROR_MAX)}…` : text;
}

/** The failed job `id` of `queue`, or null (unknown, or not failed). */
export async function failedJob(queue: string, id: string): Promise<FailedJob | null> {
  if (!isJobId(id)) return null;
  await jobsBoss();
  const { rows } = await pool.query<{ id: string; queue: string; createdOn: Date; failedOn: Date | null; attempts: number; error: unknown }>(
    `SELECT id, name AS queue, created_on AS "createdOn", completed_on AS "failedOn", retry_count + 1 AS attempts, output AS error
       FROM pgboss.job WHERE name = $1 AND id = $2 AND state = 'failed'`,
    [queue, id],
  );
  const r = rows[0];
  return r ? { ...r, error: errorText(r.error) } : null;
}

type CommandResult = { affected?: number } | undefined;
const affected = (r: unknown) => (r as CommandResult)?.affected ?? 0;

/** Puts failed jobs of `queue` back in line (pg-boss's retry: state "retry", one more attempt allowed). Returns how many. */
export async function retryJobs(queue: string, ids: string[]): Promise<number> {
  const valid = ids.filter(isJobId);
  if (valid.length === 0) return 0;
  const boss = await jobsBoss();
  return affected(await boss.retry(queue, valid));
}

/** Retries every failed job of `queue`, RETRY_BATCH at a time; returns their ids. */
export async function retryAllFailed(queue: string): Promise<string[]> {
  await jobsBoss();
  const done: string[] = [];
  for (;;) {
    const { rows } = await pool.query<{ id: string }>(`SELECT id FROM pgboss.job WHERE name = $1 AND state = 'failed' ORDER BY completed_on LIMIT $2`, [
      queue,
      RETRY_BATCH,
    ]);
    if (rows.length === 0) return done;
    const ids = rows.map((r) => r.id);
    if ((await retryJobs(queue, ids)) === 0) return done; // retried by someone else meanwhile
    done.push(...ids);
    if (rows.length < RETRY_BATCH) return done;
  }
}

/** Deletes the failed job `id` of `queue` (only a failed one: a queued or running job is not the page's to drop). True if it went. */
export async function deleteFailedJob(queue: string, id: string): Promise<boolean> {
  if (!(await failedJob(queue, id))) return false;
  const boss = await jobsBoss();
  return affected(await boss.deleteJob(queue, id)) > 0;
}
