// The cluster primary (WEB_CONCURRENCY > 1): starts the database (the embedded PostgreSQL, which it
// owns and stops last), has a short-lived child do the start-up work that needs the app's modules
// (migrations, the time zone's re-date, demo content, the render-version check, the first admin),
// then listens on PORT and forks the workers, each running the app with its own pool, and hands
// every connection it accepts to a worker. On a signal it stops accepting, hands over the
// connections it has already accepted, tells the workers to stop (each drains), waits for them and
// stops the embedded PostgreSQL. A worker that dies is always replaced; one that fails before it is
// ready stops the start.
//
// It never loads the app (src/app.ts), Prisma, the templates, Redis or the job queue: only node:
// modules, the settings, the logger and src/db/setup.ts's startDatabase() (pg only to create the
// embedded database). tests/ops/cluster-lean.test.ts checks the modules it loads.
import cluster, { type Worker } from "node:cluster";
import net from "node:net";
import { config } from "../config.ts";
import { logger } from "../web/logger.ts";
import { startDatabase, type OpenDatabase } from "../db/setup.ts";
import {
  DRAIN_MS,
  handleSignals,
  ROLE_ENV,
  signalled,
  stopAccepting,
  webNodeFlags,
  webProcessEnv,
  type FromWorker,
  type Signal,
  type ToWorker,
} from "./common.ts";

const log = (m: string) => logger.info(m);

let db: OpenDatabase | undefined;

/** A start-up child that failed: it logged why itself. */
export class PrepareFailed extends Error {}

/** Stops the embedded PostgreSQL if the primary started it (at shutdown and after a failed start-up). */
export async function stopDatabase(): Promise<void> {
  await db?.stopServer().catch((err) => logger.error({ err }, "stopping the embedded PostgreSQL failed"));
  db = undefined;
}

/** The start-up child: its process, and its end (resolves once it exited 0). */
interface Preparing {
  child: Worker;
  done: Promise<void>;
}

/**
 * The start-up work, in a child forked for it (role "prepare", src/cluster/serve.ts prepareAndExit)
 * on the database the primary started. Its output (the first admin's password, printed once) goes to
 * the primary's stdout; a failure is logged by the child.
 */
function prepareInChild(url: string): Preparing {
  const child = cluster.fork({ DATABASE_URL: url, [ROLE_ENV]: "prepare" });
  const done = new Promise<void>((resolve, fail) => {
    child.once("exit", (code, signal) => {
      if (code === 0) resolve();
      else fail(new PrepareFailed(`the start-up child ${child.process.pid} exited (${code ?? signal})`));
    });
  });
  done.catch(() => {}); // awaited by supervise(), maybe only after it failed
  return { child, done };
}

/**
 * Starts the database and has it prepared (see prepareInChild) while the workers load the app: a worker
 * connects and serves only once the start-up child is done (supervise()), so a start costs the longer
 * of the two, not their sum.
 */
export async function startPrimary(n: number): Promise<void> {
  // "server": a cluster that another process runs is refused (it would stop it under us).
  db = await startDatabase({ log, role: "server" });
  return supervise(n, prepareInChild(db.url));
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
async function supervise(n: number, preparing: Preparing): Promise<void> {
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
  // the workers' memory settings (src/cluster/common.ts WEB_NODE_FLAGS), after the primary's own flags
  cluster.setupPrimary({ execArgv: [...process.execArgv, ...webNodeFlags()] });
  const fork = () => cluster.fork({ ...webProcessEnv(), DATABASE_URL: url, SEED_DEMO: "false", PORT: String(port), [ROLE_ENV]: "serve" });

  cluster.on("message", (w, msg: FromWorker) => {
    if (msg?.folio === "loaded") {
      // It has loaded the app: it connects and serves once the database is prepared.
      preparing.done.then(
        () => w.isConnected() && w.send({ folio: "go" } satisfies ToWorker, undefined, {}, () => {}),
        () => {}, // the start fails (below)
      );
    } else if (msg?.folio === "ready") {
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
      signalled(msg.signal);
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
    const failed = (err: Error) => {
      cluster.off("message", onReady);
      cluster.off("exit", onEarlyExit);
      for (const other of Object.values(cluster.workers ?? {})) other?.process.kill("SIGKILL");
      fail(err);
    };
    const onEarlyExit = (w: Worker, code: number | null) => {
      if (w !== preparing.child) failed(new Error(`worker ${w.process.pid} exited (${code}) during start-up`));
    };
    preparing.done.catch(failed);
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
    await stopDatabase();
    logger.info("stopped");
    process.exit(0);
  };
  handleSignals(shutdown);
  logger.info(`${n} workers serving ${config.SITE_URL}`);
}
