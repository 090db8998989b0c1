// The cluster primary only supervises: it never loads the app, Prisma, the templates, Redis, the job
// queue or the image and code-highlighting libraries (src/cluster/primary.ts); the workers do (sharp
// only on an upload). One real cluster (WEB_CONCURRENCY=2) on its own embedded PostgreSQL, every Node process preloading
// fixtures/loaded-modules.mjs, which writes the files that process loaded when it exits. The same
// start checks what the primary's start-up child does: migrations, the first admin's password printed
// once; and SIGTERM stops the workers, then the embedded PostgreSQL, exit 0.
import { afterAll, describe, expect, it } from "vitest";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { embeddedEnv, freePort, request, spawnServer, tryConnect, type ServerProcess } from "./support.ts";

const base = mkdtempSync(join(tmpdir(), "folio-lean-"));
chmodSync(base, 0o755); // reachable by the postgres OS user when running as root
const modules = join(base, "modules");
const dataDir = join(base, "data");
let proc: ServerProcess | undefined;

afterAll(() => {
  proc?.kill("SIGKILL");
  rmSync(base, { recursive: true, force: true });
});

/** Files and packages the primary must not load (each a pattern on a loaded file's path or URL). */
const NOT_IN_PRIMARY: Record<string, RegExp> = {
  "the app (src/app.ts)": /\/src\/app\.ts$/,
  "the serving process (src/cluster/serve.ts)": /\/src\/cluster\/serve\.ts$/,
  Prisma: /\/node_modules\/@prisma\/|\/src\/generated\/prisma\//,
  "the database pool (src/db/client.ts)": /\/src\/db\/client\.ts$/,
  Express: /\/node_modules\/express\//,
  Nunjucks: /\/node_modules\/nunjucks\//,
  "the caches (src/cache/)": /\/src\/cache\//,
  Redis: /\/node_modules\/@redis\//,
  "pg-boss": /\/node_modules\/pg-boss\//,
  sharp: /\/node_modules\/sharp\//,
  "highlight.js": /\/node_modules\/highlight\.js\//,
};

/** The files process `pid` loaded (written when it exited). */
function loadedBy(pid: number): string[] {
  return JSON.parse(readFileSync(join(modules, `${pid}.json`), "utf8")) as string[];
}

describe("the cluster primary is lean (WEB_CONCURRENCY=2, embedded PostgreSQL)", () => {
  it("loads no app module, while its start-up child prepares the database and its workers serve; SIGTERM stops all, exit 0", async () => {
    mkdirSync(modules);
    const pgPort = await freePort();
    proc = spawnServer({
      ...embeddedEnv(dataDir, pgPort),
      WEB_CONCURRENCY: "2",
      NODE_OPTIONS: `--import=${resolve(import.meta.dirname, "fixtures/loaded-modules.mjs")}`,
      FOLIO_LOADED_MODULES_DIR: modules,
    });
    // A first start: initdb and every migration before the workers start (slow on a loaded machine).
    await proc.waitFor(/2 workers serving/, 240_000);
    proc.port = Number(proc.output().match(/Folio is serving .* \(listening on [^:]+:(\d+)\)/)![1]);
    const primary = proc.child.pid!;
    // The start-up child (its own pid) applied the migrations and printed the first admin's password, once.
    const logs = proc.logs();
    const migrating = logs.find((l) => l.msg === "applying migrations");
    expect(migrating?.pid).not.toBe(primary);
    expect(proc.output().match(/Admin account created/g)).toHaveLength(1);
    expect(proc.output()).toMatch(/password: \S{12,}/);
    expect((await request(proc.port, "/blog/")).status).toBe(200); // served by a worker

    proc.kill("SIGTERM");
    expect((await proc.exited).code).toBe(0);
    expect(existsSync(join(dataDir, "cluster.pid"))).toBe(false); // the primary stopped its PostgreSQL
    expect(await tryConnect(pgPort)).toBe("ECONNREFUSED");

    const primaryFiles = loadedBy(primary);
    expect(primaryFiles).toEqual(expect.arrayContaining([expect.stringMatching(/\/src\/cluster\/primary\.ts$/)]));
    const loaded = Object.entries(NOT_IN_PRIMARY).filter(([, pattern]) => primaryFiles.some((f) => pattern.test(f)));
    expect(loaded.map(([what]) => what)).toEqual([]);

    // The same hook sees the app in the workers and the start-up child: the check above is not blind.
    const workers = proc // every line, now that all have exited ("2 workers serving" may come before a worker's own line)
      .logs()
      .filter((l) => String(l.msg ?? "").startsWith("Folio is serving"))
      .map((l) => Number(l.pid));
    expect(new Set(workers).size).toBe(2);
    for (const pid of [...workers, Number(migrating!.pid)]) {
      const files = loadedBy(pid);
      expect(files.some((f) => NOT_IN_PRIMARY["the app (src/app.ts)"]!.test(f))).toBe(true);
      expect(files.some((f) => NOT_IN_PRIMARY.Prisma!.test(f))).toBe(true);
    }
    // sharp (libvips: ~23 MB) is loaded on a process's first upload (src/media/images.ts), not at start:
    // workers that served pages and no upload never loaded it.
    for (const pid of workers) expect(loadedBy(pid).filter((f) => NOT_IN_PRIMARY.sharp!.test(f))).toEqual([]);
    expect(readdirSync(modules).length).toBeGreaterThanOrEqual(4); // primary, start-up child, two workers
  }, 360_000);
});
