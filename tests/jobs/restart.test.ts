// Jobs survive process restarts (real spawned processes on this test file's database, a real SMTP
// server in the test):
//  - a server with JOBS_IN_PROCESS=false takes a password-reset request (the mail job is enqueued),
//    is killed with SIGKILL; `npm run worker` (src/cli/worker.ts) then starts and the mail arrives once;
//  - a SIGTERM while a mail job is sending (the SMTP server holds the message): the worker lets it
//    finish, the mail is delivered once, the worker exits 0;
//  - a SIGTERM while a job is held past the worker's grace: the job goes back to the queue, and the
//    next worker delivers it once.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import request from "supertest";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { pool } from "../../src/db/client.ts";
import { jobsBoss, startJobs } from "../../src/jobs/index.ts";
import { enqueueMail, mailJob } from "../../src/mail/index.ts";
import { csrfFrom } from "../support/auth.ts";
import { createUser } from "../support/fixtures.ts";
import { until } from "../support/poll.ts";
import { startSmtp, type TestSmtp } from "../support/smtp.ts";
import { spawnProcess, startServerProcess, testDatabaseEnv, type ServerProcess } from "../ops/support.ts";

const dataDir = mkdtempSync(join(tmpdir(), "folio-jobs-restart-"));
let smtp: TestSmtp;
const running: ServerProcess[] = [];

beforeAll(async () => {
  smtp = await startSmtp({ jobs: false }); // the spawned processes send, not this one
  await startJobs({ work: false }); // pg-boss's schema and queues in this database (for the checks)
});
afterEach(() => {
  for (const p of running.splice(0)) p.kill("SIGKILL");
});
afterAll(async () => {
  await smtp.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const env = (over: Record<string, string> = {}) => testDatabaseEnv(dataDir, { SMTP_URL: smtp.url, SITE_URL: "http://folio.test", ...over });

function startWorker(): ServerProcess {
  const worker = spawnProcess("src/cli/worker.ts", [], env());
  running.push(worker);
  return worker;
}

async function mailJobs() {
  const { rows } = await pool.query<{ id: string; state: string; retry_count: number }>(
    "SELECT id, state, retry_count FROM pgboss.job WHERE name = $1 ORDER BY created_on",
    [mailJob.name],
  );
  return rows;
}

const to = (addr: string) => smtp.messages.filter((m) => m.to.includes(addr));

describe("jobs across process restarts", () => {
  it("a reset mail enqueued by a server killed with SIGKILL is sent once by `npm run worker`", async () => {
    const { user } = await createUser({ email: "restart@example.test" });
    const server = await startServerProcess(env({ JOBS_IN_PROCESS: "false" }));
    running.push(server);
    const agent = request.agent(`http://127.0.0.1:${server.port}`);
    const form = await agent.get("/accounts/password/reset/").set("Host", "folio.test").expect(200);
    await agent
      .post("/accounts/password/reset/")
      .set("Host", "folio.test")
      .type("form")
      .send({ _csrf: csrfFrom(form.text), email: user.email })
      .expect(303);
    // The job is in the queue (written after the answer, with the token), and nobody works it.
    expect(await until(async () => (await mailJobs()).length === 1, 30_000)).toBe(true);
    server.kill("SIGKILL");
    expect((await server.exited).signal).toBe("SIGKILL");
    expect((await mailJobs())[0]!.state).toBe("created");
    expect(to(user.email)).toHaveLength(0);

    const worker = startWorker();
    await worker.waitFor(/Folio worker is running jobs/);
    expect(await until(async () => (await mailJobs())[0]!.state === "completed", 30_000)).toBe(true);
    expect(to(user.email)).toHaveLength(1);
    expect(to(user.email)[0]!.text).toMatch(/http:\/\/folio\.test\/accounts\/reset\/[A-Za-z0-9_-]{43}\//);

    worker.kill("SIGTERM");
    expect((await worker.exited).code).toBe(0);
    expect(worker.output()).toMatch(/"msg":"stopped"/);
    expect(to(user.email)).toHaveLength(1);
  });

  it("SIGTERM while a mail is being sent: the worker lets it finish, then exits 0; delivered once", async () => {
    const worker = startWorker();
    await worker.waitFor(/Folio worker is running jobs/);
    const held = smtp.holdNext();
    await enqueueMail(null, { to: "held@example.test", subject: "Held", text: "held while the worker stops" });
    await held.arrived; // the worker is in the middle of the SMTP transaction
    worker.kill("SIGTERM");
    await worker.waitFor(/SIGTERM: stopping the worker/);
    held.release();
    expect((await worker.exited).code).toBe(0);
    const job = (await mailJobs()).at(-1)!;
    expect(job.state).toBe("completed");
    expect(job.retry_count).toBe(0);
    expect(to("held@example.test")).toHaveLength(1);
  });

  it("SIGTERM while a send outlasts the grace: the job returns to the queue and the next worker sends it once", async () => {
    const first = startWorker();
    await first.waitFor(/Folio worker is running jobs/);
    // A short retry delay for the job enqueued next (pg-boss copies it into the job), set after the
    // worker started: starting applies the settings declared in code (60 s) to the queue.
    await (await jobsBoss()).updateQueue(mailJob.name, { name: mailJob.name, retryDelay: 1 });
    const held = smtp.holdNext();
    await enqueueMail(null, { to: "requeued@example.test", subject: "Requeued", text: "sent by the second worker" });
    await held.arrived;
    first.kill("SIGTERM");
    expect((await first.exited).code).toBe(0); // after its grace, without waiting for the SMTP server
    const job = (await mailJobs()).at(-1)!;
    expect(job.state).toBe("retry"); // failed back to the queue ("pg-boss shut down while active")
    held.release(); // the first worker hung up: this message was never acknowledged, nor kept
    expect(to("requeued@example.test")).toHaveLength(0);

    const second = startWorker();
    await second.waitFor(/Folio worker is running jobs/);
    expect(await until(async () => (await mailJobs()).find((j) => j.id === job.id)!.state === "completed", 30_000)).toBe(true);
    expect(to("requeued@example.test")).toHaveLength(1);
    second.kill("SIGTERM");
    expect((await second.exited).code).toBe(0);
  }, 90_000);
});
