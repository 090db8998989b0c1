// Where the embedded cluster lives (src/db/embedded.ts locateCluster): decided once and recorded in
// DATA_DIR/cluster.json; an existing cluster from before the record is adopted, never shadowed;
// a damaged record or a missing recorded cluster stops with a message naming the place. Exercised on
// folders that look like clusters (a PG_VERSION file); the real servers: tests/ops/data-home*.test.ts.
import { afterAll, describe, expect, it } from "vitest";
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { CLUSTER_RECORD, knownPlaces, locateCluster, newClusterDir, recordedClusterDir, StartupError } from "../../src/db/embedded.ts";

const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function home(mode = 0o755): string {
  const root = mkdtempSync(join(tmpdir(), "folio-record-"));
  chmodSync(root, mode);
  roots.push(root);
  const h = join(root, ".data");
  mkdirSync(h, { mode: 0o755 });
  return h;
}

/** A folder that looks like a cluster; `startedAt` sets when it last started (postmaster.opts). */
function fakeCluster(dir: string, startedAt?: Date): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "PG_VERSION"), "18\n");
  writeFileSync(join(dir, "postmaster.opts"), "postgres\n");
  if (startedAt) utimesSync(join(dir, "postmaster.opts"), startedAt, startedAt);
}

function messages(): { log: (m: string) => void; lines: string[] } {
  const lines: string[] = [];
  return { lines, log: (m) => lines.push(m) };
}

describe("locateCluster", () => {
  it("a new DATA_DIR: a fresh cluster in DATA_DIR/postgres, nothing recorded until it exists", () => {
    const h = home();
    for (let i = 0; i < 2; i++) {
      expect(locateCluster(h)).toEqual({ dir: join(h, "postgres"), fresh: true });
      expect(recordedClusterDir(h)).toBeNull();
    }
  });

  it("a cluster from before the record (DATA_DIR/postgres, 0700 as initdb leaves it) is adopted and recorded relative to DATA_DIR", () => {
    const h = home();
    fakeCluster(join(h, "postgres"));
    chmodSync(join(h, "postgres"), 0o700);
    const m = messages();
    expect(locateCluster(h, m.log)).toEqual({ dir: join(h, "postgres"), fresh: false });
    expect(JSON.parse(readFileSync(join(h, CLUSTER_RECORD), "utf8"))).toMatchObject({ path: "postgres" });
    expect(m.lines.join("\n")).toContain(`embedded PostgreSQL cluster ${join(h, "postgres")} recorded in ${join(h, CLUSTER_RECORD)}`);
    // From now on the record decides, every time.
    for (let i = 0; i < 2; i++) expect(locateCluster(h)).toEqual({ dir: join(h, "postgres"), fresh: false });
  });

  it("the record is relative: a checkout moved elsewhere still finds its cluster", () => {
    const h = home();
    fakeCluster(join(h, "postgres"));
    locateCluster(h);
    const moved = join(dirname(h), "moved");
    cpSync(h, moved, { recursive: true });
    expect(locateCluster(moved)).toEqual({ dir: join(moved, "postgres"), fresh: false });
  });

  it("a recorded cluster that is missing (or not a cluster) stops with where it looked; nothing is created", () => {
    const h = home();
    writeFileSync(join(h, CLUSTER_RECORD), JSON.stringify({ path: "/nowhere/folio/postgres" }));
    for (let i = 0; i < 2; i++) {
      expect(() => locateCluster(h)).toThrow(StartupError);
      expect(() => locateCluster(h)).toThrow(
        `the embedded PostgreSQL cluster recorded in ${join(h, CLUSTER_RECORD)} is at /nowhere/folio/postgres, but it does not exist`,
      );
    }
    mkdirSync(join(h, "elsewhere"));
    writeFileSync(join(h, "elsewhere", "notes.txt"), "x");
    writeFileSync(join(h, CLUSTER_RECORD), JSON.stringify({ path: "elsewhere" }));
    expect(() => locateCluster(h)).toThrow(`is at ${join(h, "elsewhere")}, but it holds no PostgreSQL cluster (no PG_VERSION)`);
    expect(readFileSync(join(h, "elsewhere", "notes.txt"), "utf8")).toBe("x");
  });

  it("a damaged record stops with its name; it is never replaced", () => {
    const h = home();
    fakeCluster(join(h, "postgres"));
    for (const text of ["{not json", "{}", JSON.stringify({ path: 42 }), ""]) {
      writeFileSync(join(h, CLUSTER_RECORD), text);
      expect(() => locateCluster(h)).toThrow(`${join(h, CLUSTER_RECORD)} is damaged`);
      expect(readFileSync(join(h, CLUSTER_RECORD), "utf8")).toBe(text);
    }
  });

  it("DATA_DIR/postgres holding files but no cluster (an interrupted first start) stops instead of initdb over it", () => {
    const h = home();
    mkdirSync(join(h, "postgres"));
    writeFileSync(join(h, "postgres", "base"), "");
    expect(() => locateCluster(h)).toThrow(`${join(h, "postgres")} exists but holds no PostgreSQL cluster`);
    expect(recordedClusterDir(h)).toBeNull();
  });

  const asRoot = process.getuid?.() === 0;
  it(
    asRoot
      ? "as root: a checkout under a 0700 folder gets its cluster in /var/lib/folio/<hash> (not /var/tmp, which is cleaned)"
      : "as a normal user: always DATA_DIR/postgres",
    () => {
      const h = home(0o700);
      const dir = newClusterDir(h);
      if (!asRoot) {
        expect(dir).toBe(join(h, "postgres"));
        expect(knownPlaces(h)).toEqual([join(h, "postgres")]);
        return;
      }
      expect(dir).toMatch(/^\/var\/lib\/folio\/[0-9a-f]{12}\/postgres$/);
      expect(locateCluster(h)).toEqual({ dir, fresh: true });
      // A reachable DATA_DIR keeps its cluster inside, even as root.
      const open = home(0o755);
      expect(newClusterDir(open)).toBe(join(open, "postgres"));
    },
  );

  it(
    asRoot
      ? "as root: the clusters the old fallback made (DATA_DIR/postgres and /var/tmp/folio-<hash>) are both kept; the last one started is used and the other named"
      : "as a normal user: only DATA_DIR/postgres is looked at",
    () => {
      const h = home();
      if (!asRoot) {
        expect(knownPlaces(h)).toEqual([join(h, "postgres")]);
        return;
      }
      const [inside, varTmp] = knownPlaces(h);
      expect(varTmp).toMatch(/^\/var\/tmp\/folio-[0-9a-f]{12}\/postgres$/);
      roots.push(dirname(varTmp!));
      fakeCluster(inside!, new Date("2026-11-01T10:00:00Z"));
      fakeCluster(varTmp!, new Date("2026-11-20T10:00:00Z"));
      const m = messages();
      expect(locateCluster(h, m.log)).toEqual({ dir: varTmp, fresh: false });
      expect(m.lines.join("\n")).toContain(
        `using ${varTmp} (the last one started); ${inside} is kept as it is. To use another, put its path in ${join(h, CLUSTER_RECORD)}`,
      );
      expect(recordedClusterDir(h)).toBe(varTmp);
      expect(readFileSync(join(inside!, "PG_VERSION"), "utf8")).toBe("18\n");
      // Recorded: a later start of the other one does not move it back.
      utimesSync(join(inside!, "postmaster.opts"), new Date(), new Date());
      expect(locateCluster(h).dir).toBe(varTmp);
    },
  );
});
