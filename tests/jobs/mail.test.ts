// Mail jobs against a real SMTP server that refuses: the "mail.send" job is retried with backoff after
// 4xx answers and the mail then arrives exactly once; a server that keeps refusing leaves the job
// failed (kept for the admin) with the server's answer as its error; no log line carries the message.
// The queue's retry delay is shortened with pg-boss's own updateQueue (its backoff doubles from there).
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { pool, prisma } from "../../src/db/client.ts";
import { jobsBoss } from "../../src/jobs/index.ts";
import { config } from "../../src/config.ts";
import { enqueueMail, mailJob, UNSEALABLE_MESSAGE } from "../../src/mail/index.ts";
import { logger } from "../../src/web/logger.ts";
import { until } from "../support/poll.ts";
import { startSmtp, type TestSmtp } from "../support/smtp.ts";

let smtp: TestSmtp;
beforeAll(async () => {
  smtp = await startSmtp(); // runs the job workers in this process
  // 1 s instead of 60 s before the first retry (then 2-4 s: the backoff still doubles).
  await (await jobsBoss()).updateQueue(mailJob.name, { name: mailJob.name, retryDelay: 1 });
});
afterAll(async () => {
  vi.restoreAllMocks();
  await smtp.close();
});

async function mailJobs() {
  const { rows } = await pool.query<{ id: string; state: string; retry_count: number; retry_limit: number; output: { message?: string } | null }>(
    "SELECT id, state, retry_count, retry_limit, output FROM pgboss.job WHERE name = $1 ORDER BY created_on",
    [mailJob.name],
  );
  return rows;
}

/** Every argument of every log call at these levels, as text. */
function captureLogs(): string[] {
  const lines: string[] = [];
  vi.restoreAllMocks(); // one capture at a time (spies on spies would log each line again and again)
  for (const level of ["info", "warn", "error"] as const) {
    const real = logger[level].bind(logger) as (...args: unknown[]) => void;
    vi.spyOn(logger, level).mockImplementation((...args: unknown[]) => {
      lines.push(JSON.stringify(args));
      real(...args);
    });
  }
  return lines;
}

describe("mail.send retries against a refusing SMTP server", () => {
  it("retried with backoff after two 451 answers, then delivered exactly once", async () => {
    const logs = captureLogs();
    smtp.refuseNext(2, 451);
    const secret = "http://folio.test/accounts/reset/retry-secret-token-1/";
    await prisma.$transaction((tx) => enqueueMail(tx, { to: "retry@example.test", subject: "Reset (retried)", text: `Open ${secret}` }));
    const [job] = await mailJobs();
    expect(job!.retry_limit).toBe(5);
    expect(await until(async () => (await mailJobs())[0]!.state === "completed", 25_000)).toBe(true);
    expect(smtp.refused).toBe(2);
    expect((await mailJobs())[0]!.retry_count).toBe(2); // third attempt went through
    const got = smtp.messages.filter((m) => m.to.includes("retry@example.test"));
    expect(got).toHaveLength(1);
    expect(got[0]!.text).toContain(secret);
    // The two failures were logged with the job's name, id and attempt, never the message.
    const failures = logs.filter((l) => l.includes("job failed"));
    expect(failures).toHaveLength(2);
    expect(failures[0]).toContain('"attempt":1');
    expect(failures[0]).toContain(job!.id);
    expect(failures[0]).toContain("451");
    expect(logs.join("\n")).not.toContain("retry-secret-token-1");
    expect(logs.join("\n")).not.toContain("retry@example.test");
  });

  it("a server that refuses every time (550) leaves the job failed, with its answer, for the admin", async () => {
    const boss = await jobsBoss();
    await boss.updateQueue(mailJob.name, { name: mailJob.name, retryLimit: 1 });
    smtp.refuseNext(100, 550);
    const before = smtp.messages.length;
    await enqueueMail(null, { to: "never@example.test", subject: "Refused", text: "refused-secret-body" });
    const failed = async () => (await mailJobs()).find((j) => j.state === "failed");
    expect(await until(async () => !!(await failed()), 25_000)).toBe(true);
    const job = (await failed())!;
    expect(job.retry_count).toBe(1); // retryLimit 1: two attempts
    expect(job.output?.message).toContain("550");
    expect(JSON.stringify(job.output)).not.toContain("refused-secret-body");
    expect(smtp.messages.length).toBe(before);
    // The admin's retry (pg-boss retry()) sends it once the server accepts again.
    smtp.refuseNext(0);
    await boss.retry(mailJob.name, job.id);
    expect(await until(async () => (await mailJobs()).find((j) => j.id === job.id)!.state === "completed", 25_000)).toBe(true);
    expect(smtp.messages.filter((m) => m.to.includes("never@example.test"))).toHaveLength(1);
  });

  it("a mail sealed under a previous SESSION_SECRET fails at once, for good, with a clear error logged once (and the admin's retry fails again at once)", async () => {
    const boss = await jobsBoss();
    await boss.updateQueue(mailJob.name, { name: mailJob.name, retryLimit: 5 });
    smtp.refuseNext(0);
    const logs = captureLogs();
    const current = config.SESSION_SECRET;
    // enqueueMail seals synchronously, when called: under the old secret; the worker then holds the new one.
    config.SESSION_SECRET = "the-secret-before-the-rotation-0123456789";
    const queued = enqueueMail(null, { to: "rotated@example.test", subject: "Verify (rotated)", text: "rotated-secret-body" });
    config.SESSION_SECRET = current;
    await queued;
    const rotated = async () => (await mailJobs()).find((j) => j.state === "failed" && j.output?.message === UNSEALABLE_MESSAGE);
    expect(await until(async () => !!(await rotated()), 25_000)).toBe(true);
    const job = (await rotated())!;
    expect(job.retry_count).toBe(0); // one attempt, no retries
    expect(job.output?.message).toBe("sealed under a previous SESSION_SECRET: cannot be opened; ask the user to request it again");
    expect(smtp.messages.filter((m) => m.to.includes("rotated@example.test"))).toHaveLength(0);
    const lines = logs.filter((l) => l.includes(job.id));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("failed for good, not retried");
    expect(lines[0]).toContain("previous SESSION_SECRET");
    // The admin's retry: one more attempt, failed again at once (not another hour of retries).
    await boss.retry(mailJob.name, job.id);
    const again = async () => (await mailJobs()).find((j) => j.id === job.id)!;
    expect(await until(async () => (await again()).state === "failed" && (await again()).retry_count === 1, 25_000)).toBe(true);
    expect((await again()).retry_limit).toBe(1);
    expect((await again()).output?.message).toBe(UNSEALABLE_MESSAGE);
    expect(logs.filter((l) => l.includes(job.id))).toHaveLength(2);
    expect(logs.join("\n")).not.toContain("rotated-secret-body");
  });
});
