// /admin/jobs/ (admin:jobs) and /admin/jobs/<queue>/ (admin:jobs_queue): the background jobs
// (src/jobs/, pg-boss). Every queue with its counts by state and its schedule; the failed jobs (the
// dead letter, most recent first, paginated) with their queue, times, attempts and last error (never
// their data: mail jobs hold addresses and links); per job Retry and Delete, per queue "Retry all
// failed". Each action is a POST with the CSRF token, writes an audit entry, flashes what it did and
// redirects back to the list it came from. Admins only (jobs.view / jobs.change): a failed job's error
// can quote a recipient, and retrying sends mail again. Reads and actions live in src/jobs/inspect.ts.
import type { NextFunction, Request, Response } from "express";
import { can } from "../accounts/permissions.ts";
import { recordAction, recordActions } from "../audit/index.ts";
import { countFailed, deleteFailedJob, failedJobs, findQueue, isJobId, JOB_STATES, queues, retryAllFailed, retryJobs } from "../jobs/inspect.ts";
import { FAILED_KEPT_DAYS } from "../jobs/index.ts";
import { notFound } from "../web/errors.ts";
import { makePage, numPages, parsePage } from "../web/pagination.ts";
import { flash } from "../web/session.ts";
import { url } from "../web/urls.ts";
import { authorize, currentUser, type AdminUser } from "./auth.ts";
import { render } from "./views.ts";

/** Failed jobs per page. */
export const JOBS_PER_PAGE = 50;
/** The audit log's model name for a job. */
const AUDIT_MODEL = "jobs.job";

const STATE_LABELS: Record<(typeof JOB_STATES)[number], string> = {
  created: "Queued",
  retry: "Retrying", // failed, waiting for its next attempt
  active: "Running",
  completed: "Completed",
  cancelled: "Cancelled",
  failed: "Failed",
};

function admin(req: Request, action: "jobs.view" | "jobs.change"): AdminUser {
  const u = currentUser(req)!; // requireAdmin ran: a user with admin access
  authorize(u, action);
  return u;
}

/** The queue named in the path (404 when there is no such queue). */
async function queueParam(req: Request): Promise<string> {
  const q = await findQueue(req.params.queue);
  if (!q) throw notFound("No such queue.");
  return q;
}

/** The job id in the path: a uuid, else 404. */
function idParam(req: Request): string {
  const id = req.params.id;
  if (!isJobId(id)) throw notFound("No such job.");
  return id;
}

const listRoute = (queue: string | null) => (queue ? { name: "admin:jobs_queue", params: { queue } } : { name: "admin:jobs" });
const shortId = (id: string) => id.slice(0, 8);
const repr = (queue: string, id: string) => `${queue} job ${id}`;

/** GET: the queues and one page of failed jobs (all queues, or the queue in the path). */
export async function jobsPage(req: Request, res: Response): Promise<void> {
  admin(req, "jobs.view");
  const queue = req.params.queue === undefined ? null : await queueParam(req);
  const asked = parsePage(req.query.page);
  const [all, total] = await Promise.all([queues(), countFailed(queue)]);
  const page = makePage(asked === "last" ? numPages(total, JOBS_PER_PAGE) : asked, total, JOBS_PER_PAGE, listRoute(queue));
  const failed = await failedJobs(queue, JOBS_PER_PAGE, (page.number - 1) * JOBS_PER_PAGE);
  render(req, res, "jobs.njk", {
    title: queue ? `Jobs: ${queue}` : "Jobs",
    queue,
    states: JOB_STATES.map((s) => ({ key: s, label: STATE_LABELS[s] })),
    queues: all.map((q) => ({
      ...q,
      url: url("admin:jobs_queue", { queue: q.name }),
      retryAllUrl: url("admin:jobs_retry_all", { queue: q.name }),
      current: q.name === queue,
    })),
    failed: failed.map((j) => ({
      ...j,
      short: shortId(j.id),
      retryUrl: url("admin:jobs_retry", { queue: j.queue, id: j.id }),
      deleteUrl: url("admin:jobs_delete", { queue: j.queue, id: j.id }),
    })),
    page,
    keptDays: FAILED_KEPT_DAYS,
    allUrl: url("admin:jobs"),
  });
}

/** Where an action goes back to: the list (all queues or one) and page its form was on, if that page still exists. */
async function back(req: Request, res: Response): Promise<void> {
  const body = (req.body ?? {}) as Record<string, unknown>;
  const queue = typeof body.list === "string" && body.list !== "" ? await findQueue(body.list) : null;
  const asked = typeof body.page === "string" && /^\d{1,9}$/.test(body.page) ? Number(body.page) : 1;
  const last = numPages(await countFailed(queue), JOBS_PER_PAGE);
  const n = Math.max(1, Math.min(asked, last));
  const r = listRoute(queue);
  res.redirect(303, url(r.name, r.params, n > 1 ? { page: n } : undefined));
}

/** POST: one failed job back in line (one more attempt). */
export async function retryJob(req: Request, res: Response): Promise<void> {
  const u = admin(req, "jobs.change");
  const queue = await queueParam(req);
  const id = idParam(req);
  if ((await retryJobs(queue, [id])) === 0) throw notFound("No failed job with this id in this queue (retried or deleted already?).");
  await recordAction({
    userId: u.id,
    action: "CHANGE",
    model: AUDIT_MODEL,
    objectId: id,
    objectRepr: repr(queue, id),
    changes: { changed: ["state"], note: "Retried." },
  });
  flash(req, "success", `The ${queue} job ${shortId(id)} will be tried again.`);
  await back(req, res);
}

/** POST: every failed job of the queue back in line. */
export async function retryAll(req: Request, res: Response): Promise<void> {
  const u = admin(req, "jobs.change");
  const queue = await queueParam(req);
  const ids = await retryAllFailed(queue);
  await recordActions(
    ids.map((id) => ({
      userId: u.id,
      action: "CHANGE" as const,
      model: AUDIT_MODEL,
      objectId: id,
      objectRepr: repr(queue, id),
      changes: { changed: ["state"], note: "Retried (all failed)." },
    })),
  );
  flash(
    req,
    ids.length ? "success" : "info",
    ids.length ? `${ids.length} failed ${queue} job${ids.length === 1 ? "" : "s"} will be tried again.` : `No failed ${queue} jobs.`,
  );
  await back(req, res);
}

/** POST: drops one failed job for good. */
export async function deleteJob(req: Request, res: Response): Promise<void> {
  const u = admin(req, "jobs.change");
  const queue = await queueParam(req);
  const id = idParam(req);
  if (!(await deleteFailedJob(queue, id))) throw notFound("No failed job with this id in this queue (retried or deleted already?).");
  await recordAction({ userId: u.id, action: "DELETE", model: AUDIT_MODEL, objectId: id, objectRepr: repr(queue, id) });
  flash(req, "success", `The failed ${queue} job ${shortId(id)} was deleted.`);
  await back(req, res);
}

/** Before the admin index: its link to this page, for those who may open it. */
export function jobsLink(req: Request, res: Response, next: NextFunction): void {
  res.locals.jobsUrl = can(currentUser(req), "jobs.view") ? url("admin:jobs") : null;
  next();
}
