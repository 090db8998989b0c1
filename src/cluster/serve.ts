// The serving process: the app, its database pool, Redis, the job workers and the cache invalidation
// listener. Loaded by src/server.ts only in the roles that need the app: a single process
// (WEB_CONCURRENCY=1), a cluster worker, and the cluster's start-up child ("prepare"), never by the
// cluster primary (src/cluster/primary.ts), which only supervises.
//
// Shutdown on SIGINT/SIGTERM: stop accepting -> let in-flight requests finish (DRAIN_MS at most) ->
// close the DB pool -> stop the embedded PostgreSQL (a single process owns it) -> log "stopped" -> exit 0.
import cluster from "node:cluster";
import http, { type IncomingMessage, type Server, type ServerResponse } from "node:http";
import net from "node:net";
import { config } from "../config.ts";
import { logger } from "../web/logger.ts";
import { openDatabase, type OpenDatabase } from "../db/setup.ts";
import { disconnectDb } from "../db/index.ts";
import { listenForInvalidation, type Listener } from "../db/invalidation.ts";
import { answerClientErrors } from "../web/client-errors.ts";
import { settleAfterResponse } from "../web/after-response.ts";
import { buildApp } from "../app.ts";
import { startJobs, stopJobs } from "../jobs/index.ts";
import { closeRedis, connectRedis } from "../cache/redis.ts";
import { seedDemoIfEmpty, ensureAdminAccount } from "../blog/seed.ts";
import { checkRenderVersion } from "../blog/rerender.ts";
import { redateToZone } from "../posts/timezone.ts";
import { DRAIN_MS, handleSignals, stopAccepting, tellPrimary, type Signal, type ToWorker } from "./common.ts";

const log = (m: string) => logger.info(m);

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

/** Closes the pool and stops the embedded PostgreSQL if this process started it (each step runs even if the one before failed). */
export async function closeDatabase(): Promise<void> {
  await stopJobs().catch((err) => logger.error({ err }, "stopping the job workers failed"));
  await closeRedis().catch((err) => logger.error({ err }, "closing the Redis connection failed"));
  await invalidations?.stop();
  invalidations = undefined;
  await disconnectDb().catch((err) => logger.error({ err }, "closing the database pool failed"));
  await db?.stopServer().catch((err) => logger.error({ err }, "stopping the embedded PostgreSQL failed"));
  db = undefined;
}

/**
 * Database, migrations, the time zone's re-date, demo content and the first admin: once per start (a
 * single process; in cluster mode the primary's start-up child, given DATABASE_URL by the primary).
 */
export async function prepare(): Promise<void> {
  // "server": a cluster that another process runs is refused (it would stop it under us); commands share it.
  db = await openDatabase({ log, role: "server" });
  await redateToZone(); // TIME_ZONE changed since the last start: post URL dates follow (src/posts/timezone.ts)
  if (config.SEED_DEMO) await seedDemoIfEmpty(log);
  // Bodies stored by an older Markdown renderer: re-rendered by a background job (src/blog/rerender.ts).
  await checkRenderVersion(log).catch((err) => logger.warn({ err }, "could not queue the re-render of post bodies: run npm run posts:rerender"));
  // SUPERUSER_PASSWORD given (compose's one-shot `migrate`): the first admin gets it and no password is printed.
  const admin = await ensureAdminAccount(config.SUPERUSER_PASSWORD || undefined);
  if (admin && config.SUPERUSER_PASSWORD) log(`admin account created: ${admin.username} (password from SUPERUSER_PASSWORD)`);
  else if (admin) {
    // Printed once, on the start that creates the account; only its hash is stored.
    console.log(`\n  Admin account created.\n    username: ${admin.username}\n    password: ${admin.password}\n  Keep it safe: it is not shown again.\n`);
  }
}

/** The cluster's start-up child: prepare() on the database the primary started, then exit (the primary forks the workers). */
export async function prepareAndExit(): Promise<never> {
  await prepare();
  await closeDatabase();
  process.exit(0); // the primary waits for this exit status
}

/** A cluster worker: the primary opened and prepared the database and passed its URL in DATABASE_URL: just connect. */
export async function connect(): Promise<void> {
  db = await openDatabase({ migrate: false });
}

/** A cluster worker's HTTP server: the connections come from the primary (see src/cluster/primary.ts). */
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

/** How long a connection that has not sent a request yet may still send one once a shutdown started. */
const FIRST_REQUEST_GRACE_MS = 2_000;
/**
 * Runs the HTTP server in this process until a signal (in a cluster worker: until the primary says
 * stop), then drains and exits. Draining serves every connection already accepted: a request in
 * progress finishes (its response says "Connection: close"); an idle keep-alive connection is closed;
 * a connection that has not sent its first request yet gets FIRST_REQUEST_GRACE_MS to send it (its
 * bytes may simply not have been read yet). After DRAIN_MS whatever is left is closed.
 */
export async function serve(): Promise<void> {
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
