// The fleet of `npm run fleet`: PostgreSQL (and optionally a streaming read replica), Redis, N Folio app
// processes on their own ports, M job workers, and Nginx in front. Used by the fleet command, the soak
// (`npm run soak`) and the fleet tests.
//
// Start-up order: data dir (0755; secrets.json 0600, generated once and reused) -> PostgreSQL (the
// embedded one of dataDir through src/db/embedded.ts, or options.databaseUrl) -> the replica (optional)
// -> Redis (append-only file: a stop/start keeps the sessions) -> prepare ONCE in a child process
// (src/fleet/prepare.ts: migrations, demo content, first admin) -> hashed static files written for
// Nginx -> the apps, one after the other, each ready (/readyz) before the next -> the workers -> Nginx.
// stop() goes the other way: apps drain, workers, Nginx, Redis, replica, PostgreSQL.
//
// Every child is killed if this process exits without stop() (an 'exit' hook): apps and workers with
// SIGKILL, Nginx, Redis and PostgreSQL with their fast shutdown. The children stay in the caller's
// process group: a Ctrl-C in the caller's terminal (a test run, the soak) reaches them too, so nothing
// outlives it. `npm run fleet` runs the fleet in a session of its own (src/cli/fleet.ts), so that its
// Ctrl-C reaches the fleet only, which stops them in order.
//
// An app's restart (FleetProcess.restart(), rollingRestart()) never fails a request: the app is taken
// out of Nginx's upstream (marked `down`, reload, the old Nginx workers gone: no connection to it is
// left), then SIGTERM (it drains), started again, ready on /readyz, put back (reload).
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, type WriteStream } from "node:fs";
import net from "node:net";
import { join, resolve } from "node:path";
import { recordedClusterDir, startEmbedded, type EmbeddedHandle } from "../db/embedded.ts";
import { ensureDatabase } from "../db/migrate.ts";
import { freePort } from "../db/net.ts";
import { createStreamingReplica, type StreamingReplica } from "../db/replica-setup.ts";
import { clientMaxBodySize, Nginx, writeHashedStatic } from "./nginx.ts";
import { webNodeFlags, webProcessEnv } from "../cluster/common.ts";
import { rssKb } from "../bench/processes.ts";

const ROOT = resolve(import.meta.dirname, "../..");
export const REDIS_SERVER = process.env.REDIS_SERVER_BIN || "/usr/bin/redis-server";

export interface FleetOptions {
  /** Where the fleet keeps its state: postgres/, redis/, nginx/ (generated config), logs/, media. */
  dataDir: string;
  /** Nginx's port (0: a free one). */
  port?: number;
  /**
   * Fleet addition: the other ports are taken from here up (PostgreSQL base+1, Redis base+2, replica
   * base+3, apps base+10.., unless `port` is set Nginx is base). Unset: free ports.
   */
  basePort?: number;
  /** App processes (default 2), each on a port of its own. */
  apps?: number;
  /** Job worker processes (default 1). */
  workers?: number;
  /** Also make a streaming read replica of the primary and give the apps DATABASE_REPLICA_URL. */
  replica?: boolean;
  /** An external primary; unset: the embedded PostgreSQL of dataDir. */
  databaseUrl?: string;
  /** Extra settings for the app and worker processes (and the preparation). */
  env?: Record<string, string>;
  /** Where the fleet's own progress lines go (default: nowhere). */
  log?: (line: string) => void;
  /**
   * Fleet addition: on SIGTERM or SIGHUP of THIS process, kill every child of the fleet and exit (128 + the
   * signal's number). Node fires no 'exit' hook when a signal ends it, so without a handler a test worker
   * killed by vitest (SIGTERM on a time-out) would leave PostgreSQL, Redis, Nginx and the apps running.
   * Default: on under vitest (VITEST set), off otherwise (the fleet command and the soak stop the fleet in
   * order on their own signals).
   */
  killOnSignals?: boolean;
}

export interface FleetProcess {
  /** "app1", "app2", "worker1"... */
  readonly name: string;
  /** The current process id (changes on restart). */
  readonly pid: number;
  /** The app's own port (apps only). */
  readonly port?: number;
  /** Fleet addition: its stdout+stderr (pino JSON lines), appended across restarts: <dataDir>/logs/<name>.log. */
  readonly logFile: string;
  /** Sends a signal (default SIGTERM) and waits for the process to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Stops it (SIGTERM, drained) if running and starts it again; resolves once it is ready. Apps are out of Nginx's upstream meanwhile. */
  restart(): Promise<void>;
  /** Resident set size in bytes (from /proc). */
  rss(): Promise<number>;
}

export interface Fleet {
  /** Nginx's base URL (http://127.0.0.1:<port>). */
  readonly url: string;
  readonly databaseUrl: string;
  readonly replicaUrl?: string;
  readonly redisUrl: string;
  readonly apps: FleetProcess[];
  readonly workers: FleetProcess[];
  /**
   * stop(): PostgreSQL's fast shutdown (a checkpoint: everything committed is on disk). Fleet addition:
   * stop({ immediate: true }) is `pg_ctl -m immediate` (SIGQUIT to the postmaster): a crash-like stop,
   * no checkpoint; the next start() replays the WAL (crash recovery), so what was acknowledged (committed)
   * must still be there: the soak uses it to prove that.
   */
  readonly postgres: { stop(options?: { immediate?: boolean }): Promise<void>; start(): Promise<void>; pid(): number | undefined };
  readonly redis: { stop(): Promise<void>; start(): Promise<void>; pid(): number | undefined };
  /**
   * Fleet addition: Nginx's master pid and its logs. accessLog: one line per request,
   * `<client> [<time>] "<METHOD> <path, no query, tokens masked> <proto>" <status> <bytes> rt=<s> upstream=<app addr(s)> ust=<status(es)> urt=<s>`;
   * upstream=- for what Nginx served itself, "127.0.0.1:A, 127.0.0.1:B" when it re-sent a request to a
   * second app (the first died or refused): count a killed app's in-flight requests from it.
   */
  readonly nginx: { pid(): number | undefined; accessLog: string; errorLog: string; conf: string };
  /** Fleet addition: the first admin's password, only on the start that created the account (printed once by the CLI). */
  readonly admin: { username: string; password: string } | null;
  /** Fleet addition: how long startFleet took (ms). */
  readonly startMs: number;
  /** Restarts the apps one at a time (each drains first); resolves when all are back. */
  rollingRestart(): Promise<void>;
  /** Stops everything (apps drain, then workers, Nginx, Redis, PostgreSQL). */
  stop(): Promise<void>;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Everything started by a fleet of this process: killed by the exit hook if stop() did not run. */
const live = new Set<() => void>();
let hooked = false;
function onExitKill(kill: () => void): () => void {
  if (!hooked) {
    hooked = true;
    process.on("exit", killAll);
  }
  live.add(kill);
  return () => live.delete(kill);
}
function killAll(): void {
  for (const k of live) k();
}
let signalsHooked = false;
/** SIGTERM/SIGHUP of this process: kill the fleets' children, then exit as the signal would have. */
function killOnSignals(): void {
  if (signalsHooked) return;
  signalsHooked = true;
  for (const [sig, n] of [
    ["SIGTERM", 15],
    ["SIGHUP", 1],
  ] as const)
    process.once(sig, () => {
      killAll();
      process.exit(128 + n);
    });
}

function signal(child: ChildProcess | undefined, sig: NodeJS.Signals): void {
  if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
  try {
    child.kill(sig);
  } catch {
    /* gone */
  }
}

/** The fleet's secrets: generated on the first start, kept 0600 in the data dir, reused after. */
interface Secrets {
  SESSION_SECRET: string;
  JWT_SECRET: string;
  REDIS_PASSWORD: string;
}
function loadSecrets(dataDir: string): Secrets {
  const file = join(dataDir, "secrets.json");
  if (existsSync(file)) {
    chmodSync(file, 0o600);
    return JSON.parse(readFileSync(file, "utf8")) as Secrets;
  }
  const s: Secrets = {
    SESSION_SECRET: randomBytes(32).toString("base64url"),
    JWT_SECRET: randomBytes(32).toString("base64url"),
    REDIS_PASSWORD: randomBytes(24).toString("hex"),
  };
  writeFileSync(file, `${JSON.stringify(s, null, 2)}\n`, { mode: 0o600, flag: "wx" });
  return s;
}

/** The environment of a child: ours without a test runner's markers, then `extra`. */
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k === "VITEST" || k.startsWith("VITEST_") || k === "TEST" || k === "TEST_DATABASE_URL" || k === "DATABASE_REPLICA_URL") continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

// ------------------------------------------------------------------ app and worker processes

class NodeProcess implements FleetProcess {
  private child?: ChildProcess;
  private exited: Promise<void> = Promise.resolve();
  private tail = "";
  private out?: WriteStream;
  private unhook?: () => void;
  readonly logFile: string;

  constructor(
    readonly name: string,
    private readonly script: string,
    private readonly env: () => Record<string, string>,
    private readonly ready: (p: NodeProcess) => Promise<boolean>,
    logDir: string,
    readonly port?: number,
  ) {
    this.logFile = join(logDir, `${name}.log`);
  }

  get pid(): number {
    return this.child?.pid ?? 0;
  }

  running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  output(): string {
    return this.tail;
  }

  async start(): Promise<void> {
    this.out ??= createWriteStream(this.logFile, { flags: "a", mode: 0o640 });
    this.tail = "";
    // the web processes' memory settings (src/cluster/common.ts), as cluster workers get them
    const child = spawn(process.execPath, [...webNodeFlags(), "--import", "tsx", this.script], {
      cwd: ROOT,
      env: childEnv({ ...webProcessEnv(), ...this.env() }),
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child = child;
    const onData = (d: Buffer) => {
      this.out!.write(d);
      this.tail = (this.tail + d.toString()).slice(-8000);
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    this.exited = new Promise((done) => child.once("exit", () => done()));
    this.unhook = onExitKill(() => signal(child, "SIGKILL"));
    void this.exited.then(() => this.unhook?.());
    const end = Date.now() + 90_000;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(`${this.name} exited during start-up (${child.exitCode ?? child.signalCode}):\n${this.tail.slice(-3000)}`);
      if (await this.ready(this)) return;
      if (Date.now() > end) throw new Error(`${this.name} was not ready within 90 s:\n${this.tail.slice(-3000)}`);
      await pause(100);
    }
  }

  async kill(signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    const child = this.child;
    if (!child || !this.running()) return;
    child.kill(signal);
    // A drain takes 10 s at most (src/server.ts DRAIN_MS) plus the after-response grace.
    const force = setTimeout(() => child.kill("SIGKILL"), 30_000);
    await this.exited;
    clearTimeout(force);
  }

  restart(): Promise<void> {
    return this.restartHook(this);
  }

  /** Replaced for apps by the fleet (out of Nginx first, one path with rollingRestart()); workers just stop and start. */
  restartHook: (p: NodeProcess) => Promise<void> = async (p) => {
    await p.kill("SIGTERM");
    await p.start();
  };

  async rss(): Promise<number> {
    return this.running() ? rssKb(this.pid) * 1024 : 0; // one VmRSS reader: src/bench/processes.ts
  }

  async close(): Promise<void> {
    await new Promise<void>((done) => (this.out ? this.out.end(() => done()) : done()));
    this.out = undefined;
  }
}

async function httpOk(port: number, path: string): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, { headers: { host: "127.0.0.1" }, signal: AbortSignal.timeout(2_000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

// ------------------------------------------------------------------ Redis

class RedisServer {
  private child?: ChildProcess;
  private exited: Promise<void> = Promise.resolve();
  private unhook?: () => void;
  readonly conf: string;

  constructor(
    dir: string,
    private readonly logFile: string,
    readonly port: number,
    private readonly password: string,
  ) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.conf = join(dir, "redis.conf");
    // The password is in this 0600 file, not on a command line (ps would show it).
    const lines = [
      `port ${port}`,
      "bind 127.0.0.1",
      "protected-mode yes",
      `dir ${dir}`,
      "daemonize no",
      `logfile ${logFile}`,
      "loglevel warning",
      'save ""',
      "appendonly yes",
      "appendfsync everysec",
      `requirepass ${password}`,
    ];
    writeFileSync(this.conf, `${lines.join("\n")}\n`, { mode: 0o600 });
  }

  get url(): string {
    return `redis://:${this.password}@127.0.0.1:${this.port}`;
  }

  pid(): number | undefined {
    return this.child && this.child.exitCode === null && this.child.signalCode === null ? this.child.pid : undefined;
  }

  async start(): Promise<void> {
    if (this.pid()) return;
    const child = spawn(REDIS_SERVER, [this.conf], { stdio: "ignore" });
    this.child = child;
    this.exited = new Promise((done) => child.once("exit", () => done()));
    this.unhook = onExitKill(() => signal(child, "SIGTERM"));
    const end = Date.now() + 15_000;
    while (!(await this.ping())) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`redis-server exited at start (${child.exitCode}): see ${this.logFile}`);
      if (Date.now() > end) throw new Error(`redis-server did not answer on ${this.port} within 15 s: see ${this.logFile}`);
      await pause(25);
    }
  }

  /** SIGTERM: Redis flushes its append-only file and exits. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || !this.pid()) return;
    child.kill("SIGTERM");
    const force = setTimeout(() => child.kill("SIGKILL"), 15_000);
    await this.exited;
    clearTimeout(force);
    this.unhook?.();
  }

  private ping(): Promise<boolean> {
    return new Promise((done) => {
      const s = net.connect(this.port, "127.0.0.1");
      let data = "";
      s.once("connect", () => s.write(`AUTH ${this.password}\r\nPING\r\n`));
      s.on("data", (d) => {
        data += d.toString();
        if (data.includes("+PONG") || data.includes("-")) {
          s.destroy();
          done(data.includes("+PONG"));
        }
      });
      s.once("error", () => done(false));
    });
  }
}

// ------------------------------------------------------------------ PostgreSQL

function postmasterPid(dir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(dir, "postmaster.pid"), "utf8").split("\n")[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

// ------------------------------------------------------------------ the fleet

export async function startFleet(options: FleetOptions): Promise<Fleet> {
  const began = Date.now();
  const log = options.log ?? (() => {});
  const dataDir = resolve(options.dataDir);
  const appCount = options.apps ?? 2;
  const workerCount = options.workers ?? 1;
  if (options.killOnSignals ?? !!process.env.VITEST) killOnSignals();
  // Others (PostgreSQL's own user, Nginx's `nobody` workers) must be able to enter it; secrets.json is 0600.
  mkdirSync(dataDir, { recursive: true, mode: 0o755 });
  chmodSync(dataDir, 0o755);
  const logDir = join(dataDir, "logs");
  mkdirSync(logDir, { recursive: true, mode: 0o750 });
  chmodSync(logDir, 0o750); // the operator's only (the apps' logs are 0640)
  const secrets = loadSecrets(dataDir);

  const base = options.basePort;
  const port = async (offset: number) => (base ? base + offset : freePort());
  const nginxPort = options.port || (await port(0));
  const pgPort = await port(1);
  const redisPort = await port(2);
  const replicaPort = await port(3);
  const appPorts: number[] = [];
  for (let i = 0; i < appCount; i++) appPorts.push(await port(10 + i));

  // Whatever is started is stopped again if a later step fails.
  const undo: Array<() => Promise<void>> = [];
  const unwind = async () => {
    for (const u of undo.splice(0).reverse()) await u().catch(() => {});
  };

  try {
    // ---- PostgreSQL
    let databaseUrl = options.databaseUrl;
    let pg: EmbeddedHandle | undefined;
    let pgUnhook: (() => void) | undefined;
    const startPg = async () => {
      // Hooked before the spawn: a kill during the start stops it too (the cluster's folder is recorded
      // in dataDir/cluster.json before its server starts).
      pgUnhook?.();
      pgUnhook = onExitKill(() => {
        const dir = pg?.dir ?? recordedClusterDir(dataDir);
        const pid = dir ? postmasterPid(dir) : undefined;
        if (pid)
          try {
            process.kill(pid, "SIGINT"); // fast shutdown, finished by PostgreSQL on its own
          } catch {
            /* gone */
          }
      });
      pg = await startEmbedded({ dataHome: dataDir, port: pgPort, role: "server", log });
    };
    const stopPg = async (immediate = false) => {
      const pid = immediate && pg ? postmasterPid(pg.dir) : undefined;
      // SIGQUIT is pg_ctl -m immediate; stop() then sees the server exit (its own SIGINT is ignored by a
      // server already in immediate shutdown) and releases the cluster.
      if (pid) process.kill(pid, "SIGQUIT");
      await pg?.stop();
      pgUnhook?.();
      pgUnhook = undefined;
    };
    if (!databaseUrl) {
      await startPg();
      undo.push(stopPg);
      await ensureDatabase(pg!.adminUrl, "folio");
      databaseUrl = pg!.urlFor("folio");
      log(`PostgreSQL (embedded, ${pg!.dir}) on 127.0.0.1:${pgPort}`);
    } else log("PostgreSQL: the external DATABASE_URL");

    // ---- the read replica
    let replica: StreamingReplica | undefined;
    if (options.replica) {
      // Made afresh from the primary at every start (a base backup): nothing in it is the fleet's own.
      // Its slot on the primary has one name per folder (replicaSlotName): the new replica takes it over;
      // stop() removes the replica and drops the slot (a slot left behind keeps the primary's WAL forever).
      const replicaDir = join(dataDir, "replica");
      rmSync(replicaDir, { recursive: true, force: true });
      const unhook = onExitKill(() => {
        const pid = postmasterPid(replicaDir);
        if (pid)
          try {
            process.kill(pid, "SIGINT");
          } catch {
            /* gone */
          }
      });
      try {
        replica = await createStreamingReplica({ primaryUrl: databaseUrl, dataDir: replicaDir, port: replicaPort, log });
      } catch (e) {
        unhook();
        throw e;
      }
      undo.push(async () => {
        await replica!.remove();
        unhook();
      });
      log(`PostgreSQL streaming replica on 127.0.0.1:${replicaPort}`);
    }

    // ---- Redis
    const redis = new RedisServer(join(dataDir, "redis"), join(logDir, "redis.log"), redisPort, secrets.REDIS_PASSWORD);
    await redis.start();
    undo.push(() => redis.stop());
    log(`Redis on 127.0.0.1:${redisPort} (append-only file in ${join(dataDir, "redis")})`);

    const url = `http://127.0.0.1:${nginxPort}`;
    const mediaMaxMb = Number(options.env?.MEDIA_MAX_MB ?? process.env.MEDIA_MAX_MB ?? 20);
    const commonEnv = (): Record<string, string> => ({
      NODE_ENV: "production",
      LOG_LEVEL: "info",
      DATA_DIR: dataDir,
      DATABASE_URL: databaseUrl,
      ...(replica ? { DATABASE_REPLICA_URL: replica.url } : {}),
      REDIS_URL: redis.url,
      SESSION_SECRET: secrets.SESSION_SECRET,
      JWT_KEYS: `fleet:${secrets.JWT_SECRET}`,
      SITE_URL: url,
      ALLOWED_HOSTS: "127.0.0.1,localhost",
      TRUST_PROXY: "loopback",
      JOBS_IN_PROCESS: "false",
      WEB_CONCURRENCY: "1",
      HOST: "127.0.0.1",
      SEED_DEMO: "false",
      // Nginx listens on loopback over plain HTTP: Secure cookies would never be set (README "Fleet")
      SECURE_COOKIES: "false",
      ...options.env,
    });

    // ---- prepare once
    const admin = await prepare(commonEnv, logDir, options.env?.SEED_DEMO ?? "true");
    log("database prepared (migrations, demo content, first admin)");

    // ---- static files for Nginx
    const staticRoot = join(dataDir, "nginx", "public");
    const files = writeHashedStatic(staticRoot);
    mkdirSync(join(dataDir, "media"), { recursive: true, mode: 0o755 });

    // ---- the apps
    const nginx = new Nginx(join(dataDir, "nginx"), join(logDir, "nginx"), {
      NGINX_LISTEN: "127.0.0.1", // loopback only, as every other part of the fleet
      NGINX_PORT: String(nginxPort),
      STATIC_ROOT: staticRoot,
      MEDIA_ROOT: dataDir,
      CLIENT_MAX_BODY_SIZE: clientMaxBodySize(mediaMaxMb),
    });
    const down = new Set<string>();
    const upstream = () => apps.map((a) => ({ address: `127.0.0.1:${a.port}`, down: down.has(a.name) }));
    let serial: Promise<unknown> = Promise.resolve();
    const one = <T>(f: () => Promise<T>): Promise<T> => {
      const run = serial.then(f, f);
      serial = run.catch(() => {});
      return run;
    };

    const apps: NodeProcess[] = appPorts.map(
      (p, i) =>
        new NodeProcess(
          `app${i + 1}`,
          "src/server.ts",
          () => ({ ...commonEnv(), PORT: String(p) }),
          () => httpOk(p, "/readyz"),
          logDir,
          p,
        ),
    );
    // The one way an app restarts: out of Nginx's upstream (no connection to it left), drained, started,
    // ready, back in. `putBack` false (a rolling restart's next app): it stays marked down until the
    // next reload, which takes the next app out in the same reload (one reload fewer per app).
    const restartApp = async (a: NodeProcess, putBack: boolean) => {
      // A dead app (SIGKILL, a crash) has no connection to drain and Nginx already routes around it:
      // started again without a reload (a reload retires Nginx's workers, which close client connections
      // they have just accepted), it is tried again after its fail_timeout (5 s).
      if (!a.running()) return a.start();
      if (nginx.pid) {
        down.clear();
        down.add(a.name);
        await nginx.reload(upstream());
      }
      await a.kill("SIGTERM");
      try {
        await a.start();
      } finally {
        down.delete(a.name);
        if (nginx.pid && putBack) await nginx.reload(upstream());
      }
    };
    for (const app of apps) {
      app.restartHook = (a) => one(() => restartApp(a, true));
      undo.push(() => app.kill("SIGKILL"));
    }
    const workers: NodeProcess[] = [];
    for (let i = 0; i < workerCount; i++) {
      const w = new NodeProcess(`worker${i + 1}`, "src/cli/worker.ts", commonEnv, async (p) => p.output().includes("Folio worker is running jobs"), logDir);
      workers.push(w);
      undo.push(() => w.kill("SIGKILL"));
    }
    // Side by side: the database is prepared, each start only connects (and finds nothing to migrate).
    await Promise.all(
      [...apps, ...workers].map(async (p) => {
        await p.start();
        log(`${p.name} (pid ${p.pid})${p.port ? ` on 127.0.0.1:${p.port}` : ""}`);
      }),
    );

    // ---- Nginx
    nginx.write(upstream());
    const nginxUnhook = onExitKill(() => {
      const pid = nginx.pid;
      if (pid)
        try {
          process.kill(pid, "SIGTERM");
        } catch {
          /* gone */
        }
    });
    undo.push(async () => {
      await nginx.stop();
      nginxUnhook();
    });
    await nginx.start();
    log(`Nginx on ${url} (${files} static files from ${staticRoot}; config ${nginx.conf})`);

    let stopped: Promise<void> | undefined;
    const fleet: Fleet = {
      url,
      databaseUrl,
      replicaUrl: replica?.url,
      redisUrl: redis.url,
      apps,
      workers,
      postgres: {
        stop: async (o?: { immediate?: boolean }) => {
          if (!pg) throw new Error("the fleet's PostgreSQL is external (databaseUrl): it is not the fleet's to stop");
          await stopPg(o?.immediate ?? false);
        },
        start: async () => {
          if (!pg) throw new Error("the fleet's PostgreSQL is external (databaseUrl): it is not the fleet's to start");
          if (!postmasterPid(pg.dir)) await startPg();
        },
        pid: () => (pg ? postmasterPid(pg.dir) : undefined),
      },
      redis: { stop: () => redis.stop(), start: () => redis.start(), pid: () => redis.pid() },
      nginx: { pid: () => nginx.pid, accessLog: nginx.accessLog, errorLog: nginx.errorLog, conf: nginx.conf },
      admin,
      startMs: 0,
      // As app.restart() for each app, with one reload fewer between two apps: the one that is back and
      // the next one to go change places in the same reload (each reload retires Nginx's old workers,
      // which close their idle client keep-alive connections).
      rollingRestart: () =>
        one(async () => {
          try {
            for (const app of apps) {
              const t = Date.now();
              await restartApp(app, false);
              log(`${app.name} restarted (pid ${app.pid}) in ${Date.now() - t} ms`);
            }
          } finally {
            down.clear();
            await nginx.reload(upstream());
          }
        }),
      stop: () =>
        (stopped ??= (async () => {
          await serial.catch(() => {});
          undo.length = 0; // the order below replaces the start-up's undo list
          // Apps first, drained; Nginx still routes to whichever is left, then to none.
          await Promise.all(apps.map((a) => a.kill("SIGTERM")));
          await Promise.all(workers.map((w) => w.kill("SIGTERM")));
          await nginx.stop();
          nginxUnhook();
          await redis.stop();
          await replica?.remove();
          if (pg) await stopPg();
          for (const p of [...apps, ...workers]) await p.close();
          log("fleet stopped");
        })()),
    };
    (fleet as { startMs: number }).startMs = Date.now() - began;
    return fleet;
  } catch (e) {
    await unwind();
    throw e;
  }
}

/** Runs src/fleet/prepare.ts once; returns the admin it created (null when one existed). */
async function prepare(env: () => Record<string, string>, logDir: string, seedDemo: string): Promise<{ username: string; password: string } | null> {
  const out = createWriteStream(join(logDir, "prepare.log"), { flags: "a", mode: 0o640 });
  const child = spawn(process.execPath, ["--import", "tsx", "src/fleet/prepare.ts"], {
    cwd: ROOT,
    env: childEnv({ ...env(), SEED_DEMO: seedDemo }),
    stdio: ["ignore", "pipe", "pipe"],
  });
  const unhook = onExitKill(() => signal(child, "SIGKILL"));
  let stdout = "";
  let all = "";
  child.stdout!.on("data", (d: Buffer) => {
    stdout += d.toString();
    all += d.toString();
  });
  child.stderr!.on("data", (d: Buffer) => {
    out.write(d);
    all += d.toString();
  });
  const code = await new Promise<number | null>((done) => child.once("exit", (c) => done(c)));
  unhook();
  // The admin's password is printed once by prepare() (src/cluster/serve.ts): handed to the caller, never logged.
  const created = /Admin account created\.\s+username: (\S+)\s+password: (\S+)/.exec(stdout);
  for (const line of stdout.split("\n")) if (line && !line.includes("password:")) out.write(`${line}\n`);
  out.end();
  if (code !== 0) throw new Error(`fleet preparation failed (exit ${code}):\n${all.replace(/password: \S+/g, "password: ***").slice(-3000)}`);
  return created ? { username: created[1]!, password: created[2]! } : null;
}
