// Several processes starting at once on a database without pg-boss's schema (cluster workers, a fleet
// of `npm run worker`): each installs/creates what it needs without failing (pg-boss's schema under
// its advisory lock; a queue created by two processes at once may deadlock, and the loser tries
// again). Then a mail enqueued once is delivered once, by one of them.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { pool } from "../../src/db/client.ts";
import { enqueueMail, mailJob } from "../../src/mail/index.ts";
import { until } from "../support/poll.ts";
import { startSmtp } from "../support/smtp.ts";
import { spawnProcess, testDatabaseEnv, type ServerProcess } from "../ops/support.ts";

const dataDir = mkdtempSync(join(tmpdir(), "folio-jobs-start-"));
const workers: ServerProcess[] = [];
afterAll(() => {
  for (const w of workers) w.kill("SIGKILL");
  rmSync(dataDir, { recursive: true, force: true });
});

it("three workers started together on a fresh database all run; a mail is sent once", async () => {
  const smtp = await startSmtp({ jobs: false });
  try {
    const installed = await pool.query("SELECT 1 FROM information_schema.schemata WHERE schema_name = 'pgboss'");
    expect(installed.rowCount).toBe(0);
    const env = testDatabaseEnv(dataDir, { SMTP_URL: smtp.url });
    for (let i = 0; i < 3; i++) workers.push(spawnProcess("src/cli/worker.ts", [], env));
    await Promise.all(workers.map((w) => w.waitFor(/Folio worker is running jobs/)));
    for (const w of workers) expect(w.output()).not.toMatch(/start-up failed|"level":50/);

    await enqueueMail(null, { to: "once@example.test", subject: "Once", text: "one of three workers sends this" });
    const state = async () => (await pool.query<{ state: string }>("SELECT state FROM pgboss.job WHERE name = $1", [mailJob.name])).rows[0]?.state;
    expect(await until(async () => (await state()) === "completed", 30_000)).toBe(true);
    expect(smtp.messages.filter((m) => m.to.includes("once@example.test"))).toHaveLength(1);

    for (const w of workers) w.kill("SIGTERM");
    for (const w of workers) expect((await w.exited).code).toBe(0);
  } finally {
    await smtp.close();
  }
}, 90_000);
