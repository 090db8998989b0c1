// The admin's jobs page (/admin/jobs/, src/admin/jobs.ts) through the real app, with real pg-boss
// workers in this process: a job that fails for good is listed with its error (never its data);
// Retry puts it back and a working handler completes it; Delete drops it; "retry all failed" does a
// whole queue; each action is audited. Admins only. Hostile queue names, ids and pages are 404s.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import request from "supertest";
import { buildApp } from "../../src/app.ts";
import { pool, prisma } from "../../src/db/index.ts";
import { defineJob, enqueue, startJobs, stopJobs } from "../../src/jobs/index.ts";
import { JOBS_PER_PAGE } from "../../src/admin/jobs.ts";
import { purgeSessions } from "../../src/jobs/purges.ts";
import { url } from "../../src/web/urls.ts";
import { csrfPost, signedIn, type Signed } from "../support/fixtures.ts";
import { until } from "../support/poll.ts";

const app = buildApp();

let failing = true;
let runs = 0;
const flaky = defineJob<{ to: string; link: string }>({
  name: "test.admin-flaky",
  retryLimit: 0, // fails for good on its first failure
  retryDelaySeconds: 1,
  retryBackoff: false,
  expireInSeconds: 30,
  async handle() {
    runs++;
    if (failing) throw new Error("SMTP refused: 451 try again later");
  },
});
// A queue whose failed jobs are written straight into pg-boss's table (many of them: pagination).
const paged = defineJob<object>({
  name: "test.admin-paged",
  retryLimit: 0,
  retryDelaySeconds: 1,
  retryBackoff: false,
  expireInSeconds: 30,
  handle: async () => {},
});

const SECRET_ADDRESS = "private.person@example.test";
const SECRET_LINK = "http://folio.test/accounts/reset/Zx9SecretTokenValue1234567890abcdefGH/";

let admin: Signed;
let editor: Signed;

async function stateOf(id: string): Promise<string | null> {
  const { rows } = await pool.query<{ state: string }>(`SELECT state::text AS state FROM pgboss.job WHERE id = $1`, [id]);
  return rows[0]?.state ?? null;
}

/** Polls the job's state until it is `want` (the workers run in this process); fails naming the last state seen. */
const reaches = (id: string, want: string | null) =>
  until(() => stateOf(id), { label: `job ${id} is ${want}`, accept: (s) => s === want, timeout: 15_000, interval: 25 });

/** A flaky job that has failed for good. */
async function failedJob(): Promise<string> {
  failing = true;
  const id = (await enqueue(null, flaky, { to: SECRET_ADDRESS, link: SECRET_LINK }))!;
  expect(await reaches(id, "failed")).toBe("failed");
  return id;
}

const rowOf = (html: string, id: string) => new RegExp(`<tr data-job="${id}">([\\s\\S]*?)</tr>`).exec(html)?.[1] ?? null;
const queueRow = (html: string, name: string) => new RegExp(`<tr data-queue="${name.replace(/\./g, "\\.")}"[^>]*>([\\s\\S]*?)</tr>`).exec(html)?.[1] ?? null;
const cell = (row: string, label: string) =>
  new RegExp(`data-label="${label.replace(/[()]/g, "\\$&")}"[^>]*>([\\s\\S]*?)</t[dh]>`)
    .exec(row)?.[1]!
    .replace(/<[^>]+>/g, "")
    .trim();

beforeAll(async () => {
  await startJobs({ work: true });
  admin = await signedIn(app, "ADMIN");
  editor = await signedIn(app, "EDITOR");
});

afterAll(async () => {
  await stopJobs();
});

describe("the jobs page", () => {
  it("is named admin:jobs and linked from the admin index for admins only", async () => {
    expect(url("admin:jobs")).toBe("/admin/jobs/");
    expect((await admin.agent.get("/admin/").expect(200)).text).toContain('href="/admin/jobs/"');
    expect((await editor.agent.get("/admin/").expect(200)).text).not.toContain('href="/admin/jobs/"');
  });

  it("lists every queue with its counts and schedule, and a job that failed for good with its error, never its data", async () => {
    const id = await failedJob();
    const res = await admin.agent.get("/admin/jobs/").expect(200);
    const row = rowOf(res.text, id);
    expect(row, "the failed job is listed").not.toBeNull();
    expect(cell(row!, "Queue")).toBe("test.admin-flaky");
    expect(cell(row!, "Attempts")).toBe("1");
    expect(cell(row!, "Last error")).toBe("SMTP refused: 451 try again later");
    expect(row).toContain(`action="/admin/jobs/test.admin-flaky/${id}/retry/"`);
    expect(row).toContain(`action="/admin/jobs/test.admin-flaky/${id}/delete/"`);
    expect(res.text).not.toContain(SECRET_ADDRESS);
    expect(res.text).not.toContain("Zx9SecretTokenValue");
    const q = queueRow(res.text, "test.admin-flaky")!;
    expect(Number(cell(q, "Failed"))).toBeGreaterThanOrEqual(1);
    expect(cell(q, "Schedule (UTC)")).toBe("on demand");
    expect(cell(q, "Queue")).toMatch(/up to 1 attempt$/);
    // a recurring queue shows its cron
    expect(cell(queueRow(res.text, purgeSessions.name)!, "Schedule (UTC)")).toBe(purgeSessions.cron);
    // the queue's own view lists only its failed jobs
    const own = await admin.agent.get(url("admin:jobs_queue", { queue: "test.admin-flaky" })).expect(200);
    expect(rowOf(own.text, id)).not.toBeNull();
    expect((await admin.agent.get(url("admin:jobs_queue", { queue: purgeSessions.name })).expect(200)).text).not.toContain(id);
  });

  it("Retry puts a failed job back; a working handler then completes it (audited, flashed)", async () => {
    const id = await failedJob();
    failing = false;
    const before = runs;
    const res = await csrfPost(admin, `/admin/jobs/test.admin-flaky/${id}/retry/`, { list: "", page: "1" }, 303);
    expect(res.headers.location).toBe("/admin/jobs/");
    expect(await reaches(id, "completed")).toBe("completed");
    expect(runs).toBeGreaterThan(before);
    const page = await admin.agent.get("/admin/jobs/").expect(200);
    expect(page.text).toContain(`The test.admin-flaky job ${id.slice(0, 8)} will be tried again.`);
    expect(rowOf(page.text, id)).toBeNull();
    const audit = await prisma.auditLog.findFirstOrThrow({ where: { model: "jobs.job", objectId: id } });
    expect(audit).toMatchObject({ action: "CHANGE", userId: admin.user.id });
    // retried again: it is no longer failed, so there is nothing to retry
    await csrfPost(admin, `/admin/jobs/test.admin-flaky/${id}/retry/`, {}, 404);
  });

  it("Delete removes a failed job (audited); deleting it again is a 404", async () => {
    const id = await failedJob();
    const res = await csrfPost(admin, `/admin/jobs/test.admin-flaky/${id}/delete/`, { list: "test.admin-flaky", page: "1" }, 303);
    expect(res.headers.location).toBe("/admin/jobs/test.admin-flaky/");
    expect(await stateOf(id)).toBeNull();
    expect((await admin.agent.get(res.headers.location!).expect(200)).text).toContain(`The failed test.admin-flaky job ${id.slice(0, 8)} was deleted.`);
    expect(await prisma.auditLog.findFirst({ where: { model: "jobs.job", objectId: id, action: "DELETE" } })).not.toBeNull();
    await csrfPost(admin, `/admin/jobs/test.admin-flaky/${id}/delete/`, {}, 404);
  });

  it("retries every failed job of a queue at once", async () => {
    const ids = [await failedJob(), await failedJob()];
    failing = false;
    await csrfPost(admin, "/admin/jobs/test.admin-flaky/retry-failed/", {}, 303);
    for (const id of ids) expect(await reaches(id, "completed")).toBe("completed");
    expect(await prisma.auditLog.count({ where: { model: "jobs.job", objectId: { in: ids } } })).toBe(2);
  });

  it("pages the failed jobs", async () => {
    const n = JOBS_PER_PAGE + 3;
    await pool.query(
      `INSERT INTO pgboss.job (name, state, output, completed_on) SELECT $1, 'failed', jsonb_build_object('message', 'failure ' || g), now() - g * interval '1 second' FROM generate_series(1, $2) g`,
      [paged.name, n],
    );
    const base = url("admin:jobs_queue", { queue: paged.name });
    const first = await admin.agent.get(base).expect(200);
    expect(first.text.match(/<tr data-job=/g)).toHaveLength(JOBS_PER_PAGE);
    expect(first.text).toContain(`href="${base}?page=2"`);
    const second = await admin.agent.get(`${base}?page=2`).expect(200);
    expect(second.text.match(/<tr data-job=/g)).toHaveLength(3);
    expect(second.text).toContain(`failure ${n}<`); // the oldest failure last
    expect((await admin.agent.get(`${base}?page=last`).expect(200)).text).toContain(`failure ${n}<`);
    await admin.agent.get(`${base}?page=3`).expect(404);
    // an action from page 2 that empties it goes back to the last page that exists
    const { rows } = await pool.query<{ id: string }>(`SELECT id FROM pgboss.job WHERE name = $1 ORDER BY completed_on LIMIT 3`, [paged.name]);
    for (const [i, r] of rows.entries()) {
      const res = await csrfPost(admin, `${base}${r.id}/delete/`, { list: paged.name, page: "2" }, 303);
      expect(res.headers.location).toBe(i < 2 ? `${base}?page=2` : base);
    }
  });
});

describe("who may use it", () => {
  it("anonymous: the login page; readers, authors and editors: 403, and their POSTs change nothing", async () => {
    const id = await failedJob();
    const anon = await request(app).get("/admin/jobs/").expect(302);
    expect(anon.headers.location).toMatch(/^\/accounts\/login\/\?next=/);
    for (const role of ["READER", "AUTHOR", "EDITOR"] as const) {
      const who = role === "EDITOR" ? editor : await signedIn(app, role);
      await who.agent.get("/admin/jobs/").expect(403);
      await who.agent.get("/admin/jobs/test.admin-flaky/").expect(403);
      await csrfPost(who, `/admin/jobs/test.admin-flaky/${id}/retry/`, {}, 403);
      await csrfPost(who, `/admin/jobs/test.admin-flaky/${id}/delete/`, {}, 403);
      await csrfPost(who, "/admin/jobs/test.admin-flaky/retry-failed/", {}, 403);
    }
    expect(await stateOf(id)).toBe("failed");
  });
});

describe("hostile input", () => {
  it("unknown queues, ids that are no uuid or no failed job, and bad pages are 404s, never 500s", async () => {
    const unknown = "00000000-0000-4000-8000-000000000000";
    for (const path of ["/admin/jobs/nope/", "/admin/jobs/a%00b/", "/admin/jobs/?page=abc", "/admin/jobs/?page=0", `/admin/jobs/?page=${"9".repeat(30)}`])
      await admin.agent.get(path).expect(404);
    await admin.agent.get("/admin/jobs/%ED%A0%80/").expect(400); // not UTF-8: the site's 400 for a malformed path
    for (const path of [
      `/admin/jobs/test.admin-flaky/${unknown}/retry/`,
      `/admin/jobs/test.admin-flaky/${unknown}/delete/`,
      "/admin/jobs/test.admin-flaky/not-a-uuid/retry/",
      "/admin/jobs/test.admin-flaky/1/delete/",
      "/admin/jobs/test.admin-flaky/a%00b/delete/",
      `/admin/jobs/nope/${unknown}/retry/`,
      "/admin/jobs/a%00b/retry-failed/",
      "/admin/jobs/nope/retry-failed/",
    ])
      await csrfPost(admin, path, { list: "\u0000", page: "-1" }, 404);
    // a hostile "back" list or page falls back to the list itself
    const res = await csrfPost(admin, "/admin/jobs/test.admin-flaky/retry-failed/", { list: "x\u0000", page: "9".repeat(40) }, 303);
    expect(res.headers.location).toBe("/admin/jobs/");
  });
});
