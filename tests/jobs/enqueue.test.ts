// Jobs on pg-boss in the test's own PostgreSQL database: enqueued in the caller's transaction (a
// rolled-back write enqueues nothing), JobGone ends a job without retry, a failing handler is retried
// and then kept as failed (the dead letter the admin's jobs page shows), mail payloads are sealed.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pool, prisma } from "../../src/db/client.ts";
import { defineJob, enqueue, JobGone } from "../../src/jobs/index.ts";
import { enqueueMail, mailJob } from "../../src/mail/index.ts";
import { until } from "../support/poll.ts";
import { startSmtp, type TestSmtp } from "../support/smtp.ts";

const seen: string[] = [];
const recorded = defineJob<{ tag: string }>({
  name: "test.record",
  retryLimit: 0,
  retryDelaySeconds: 1,
  retryBackoff: false,
  expireInSeconds: 30,
  async handle({ tag }) {
    seen.push(tag);
  },
});

let goneCalls = 0;
const gone = defineJob<{ id: number }>({
  name: "test.gone",
  retryLimit: 3,
  retryDelaySeconds: 1,
  retryBackoff: false,
  expireInSeconds: 30,
  async handle({ id }) {
    goneCalls++;
    throw new JobGone(`post ${id} no longer exists`);
  },
});

let failingCalls = 0;
const failing = defineJob<{ n: number }>({
  name: "test.failing",
  retryLimit: 2,
  retryDelaySeconds: 1,
  retryBackoff: false,
  expireInSeconds: 30,
  async handle() {
    failingCalls++;
    throw new Error("the remote service said no");
  },
});

async function jobRow(id: string) {
  const { rows } = await pool.query<{ name: string; state: string; retry_count: number; data: unknown; output: { message?: string } | null }>(
    "SELECT name, state, retry_count, data, output FROM pgboss.job WHERE id = $1",
    [id],
  );
  return rows[0];
}

async function countJobs(name: string, tag: string): Promise<number> {
  const { rows } = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM pgboss.job WHERE name = $1 AND data->>'tag' = $2", [name, tag]);
  return rows[0]!.n;
}

let smtp: TestSmtp;
beforeAll(async () => {
  smtp = await startSmtp(); // and startJobs({ work: true }): the workers run in this process
});
afterAll(async () => {
  await smtp.close(); // and stopJobs()
});

describe("enqueue in the caller's transaction", () => {
  it("a rolled-back transaction enqueues nothing; a committed one enqueues and the job runs", async () => {
    await expect(
      prisma.$transaction(async (tx) => {
        await tx.category.create({ data: { name: "Rolled back", slug: "rolled-back" } });
        await enqueue(tx, recorded, { tag: "rolled-back" });
        throw new Error("the write fails after enqueueing");
      }),
    ).rejects.toThrow("the write fails");
    expect(await prisma.category.count({ where: { slug: "rolled-back" } })).toBe(0);
    expect(await countJobs("test.record", "rolled-back")).toBe(0);

    const id = await prisma.$transaction(async (tx) => {
      await tx.category.create({ data: { name: "Committed", slug: "committed" } });
      return enqueue(tx, recorded, { tag: "committed" });
    });
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(await countJobs("test.record", "committed")).toBe(1);
    expect(await until(() => seen.includes("committed"), 10_000)).toBe(true);
    expect(await until(async () => (await jobRow(id!))?.state === "completed", 10_000)).toBe(true);
    expect(seen.filter((t) => t === "committed")).toHaveLength(1);
    expect(seen).not.toContain("rolled-back");
  });

  it("enqueue outside a transaction (tx null) runs the job too", async () => {
    const id = await enqueue(null, recorded, { tag: "alone" });
    expect(id).not.toBeNull();
    expect(await until(() => seen.includes("alone"), 10_000)).toBe(true);
  });
});

describe("endings", () => {
  it("a handler that throws JobGone ends the job (completed) without a retry", async () => {
    const id = await enqueue(null, gone, { id: 42 });
    expect(await until(async () => (await jobRow(id!))?.state === "completed", 10_000)).toBe(true);
    const row = await jobRow(id!);
    expect(row!.retry_count).toBe(0);
    expect(goneCalls).toBe(1);
  });

  it("a failing handler is retried up to its limit, then kept as failed with its error", async () => {
    const id = await enqueue(null, failing, { n: 1 });
    expect(await until(async () => (await jobRow(id!))?.state === "failed", 20_000)).toBe(true);
    const row = await jobRow(id!);
    expect(row!.retry_count).toBe(2); // retryLimit 2: three attempts in all
    expect(failingCalls).toBe(3);
    expect(row!.output?.message).toBe("the remote service said no");
  });
});

describe("mail jobs", () => {
  it("a mail is sent by the worker; the job's row holds no readable part of the message", async () => {
    const secret = "http://folio.test/accounts/reset/s3cr3t-token-abc/";
    await prisma.$transaction(async (tx) => {
      await enqueueMail(tx, { to: "ann@example.test", subject: "Reset your password", text: `Follow ${secret}` });
    });
    const { rows } = await pool.query<{ data: unknown }>("SELECT data FROM pgboss.job WHERE name = $1", [mailJob.name]);
    expect(rows).toHaveLength(1);
    const stored = JSON.stringify(rows[0]!.data);
    expect(stored).not.toContain("s3cr3t");
    expect(stored).not.toContain("ann@example.test");
    expect(stored).not.toContain("Reset your password");
    const msg = await smtp.waitFor((m) => m.to.includes("ann@example.test"));
    expect(msg.text).toContain(secret);
  });

  it("a rolled-back write sends no mail", async () => {
    await expect(
      prisma.$transaction(async (tx) => {
        await enqueueMail(tx, { to: "bob@example.test", subject: "Never", text: "never sent" });
        throw new Error("rolled back");
      }),
    ).rejects.toThrow("rolled back");
    // A committed mail enqueued after it arrives; the rolled-back one never does.
    await enqueueMail(null, { to: "carol@example.test", subject: "After", text: "sent" });
    await smtp.waitFor((m) => m.to.includes("carol@example.test"));
    expect(smtp.messages.some((m) => m.to.includes("bob@example.test"))).toBe(false);
    const { rows } = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM pgboss.job WHERE name = $1", [mailJob.name]);
    expect(rows[0]!.n).toBe(2);
  });
});
