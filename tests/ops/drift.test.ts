// `npm run db:check` (the drift check CI runs) fails when schema.prisma and the committed migrations
// differ: the same Prisma command, run on a copy of the schema with one column added.
import { describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "../..");
const script = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts["db:check"]!;

/** db:check's prisma command (after `tsx src/cli/with-db.ts`) with another schema file. */
function driftCheck(schema: string): Promise<{ code: number; out: string }> {
  const args = script
    .replace(/^tsx src\/cli\/with-db\.ts prisma /, "")
    .split(" ")
    .map((a) => (a === "prisma/schema.prisma" ? schema : a));
  expect(args).toContain("--exit-code");
  return new Promise((done) => {
    execFile(
      join(ROOT, "node_modules/.bin/prisma"),
      args,
      { cwd: ROOT, env: { ...process.env, DATABASE_URL: process.env.TEST_DATABASE_URL } },
      (err, stdout, stderr) => done({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
    );
  });
}

describe("drift check (npm run db:check)", () => {
  it("passes on the committed schema and fails (exit 2) naming the change on a drifted one", async () => {
    const clean = await driftCheck("prisma/schema.prisma");
    expect(clean.code, clean.out).toBe(0);
    const dir = mkdtempSync(join(tmpdir(), "folio-drift-"));
    const drifted = join(dir, "schema.prisma");
    const schema = readFileSync(join(ROOT, "prisma/schema.prisma"), "utf8");
    expect(schema).toMatch(/^model Tag \{$/m);
    writeFileSync(drifted, schema.replace(/^model Tag \{$/m, "model Tag {\n  driftField String?"));
    const res = await driftCheck(drifted);
    expect(res.code, res.out).toBe(2);
    expect(res.out).toContain("driftField");
  }, 60_000);
});
