// Process entry: settings, database (embedded unless DATABASE_URL), migrations, demo content,
// HTTP server, and a clean shutdown on SIGINT/SIGTERM (src/cluster/serve.ts).
// A failed start-up (port in use, database unreachable, failed migration) exits 1 after stopping
// whatever it had started, so no PostgreSQL is left running behind it.
//
// A thin entry: it loads only the settings, the logger and src/cluster/common.ts, then the module of
// its role:
// - WEB_CONCURRENCY=1: one process does it all (src/cluster/serve.ts: prepare(), serve());
// - WEB_CONCURRENCY>1, the cluster primary: src/cluster/primary.ts, which never loads the app (it starts
//   the database, has a short-lived child prepare it, forks the workers and hands them connections);
// - a cluster child: src/cluster/serve.ts, as a worker (serve()) or as the start-up child (role "prepare").
import cluster from "node:cluster";
import net from "node:net";
import { config } from "./config.ts";
import { logger } from "./web/logger.ts";
import { readOwner, StartupError } from "./db/embedded.ts";
import { ROLE_ENV, routeSignals, untilPrepared } from "./cluster/common.ts";
import { PrepareFailed, startPrimary, stopDatabase } from "./cluster/primary.ts";

/** What a failed start-up stops: the role's own (the pool and the embedded PostgreSQL it started). */
let close: () => Promise<void> = async () => {};

/** Fails at once (EADDRINUSE, EACCES) when PORT cannot be listened on, before the database is started for nothing. */
function checkPortFree(): Promise<void> {
  if (config.PORT === 0) return Promise.resolve();
  return new Promise((done, fail) => {
    const probe = net.createServer();
    probe.once("error", fail);
    probe.listen(config.PORT, config.HOST, () => probe.close(() => done()));
  });
}

/** The serving process's module (the app and everything it needs): loaded only by the roles that serve or prepare. */
async function loadApp(): Promise<typeof import("./cluster/serve.ts")> {
  const app = await import("./cluster/serve.ts");
  close = app.closeDatabase;
  return app;
}

async function main() {
  routeSignals((m) => logger.info(m));
  if (cluster.isWorker) {
    const app = await loadApp();
    if (process.env[ROLE_ENV] === "prepare") return app.prepareAndExit();
    // The primary opened the database and passed its URL in DATABASE_URL: once its start-up child has
    // prepared it (migrations), just connect.
    await untilPrepared();
    await app.connect();
    return app.serve();
  }
  await checkPortFree();
  if (config.NODE_ENV === "production" && !config.SECURE_COOKIES)
    logger.warn(
      "SECURE_COOKIES is false in production: the session cookie travels over plain HTTP, readable on the network. Only for a site reached over a trusted network (a loopback proxy); serve it over HTTPS otherwise.",
    );
  if (config.WEB_CONCURRENCY > 1) {
    close = stopDatabase;
    return startPrimary(config.WEB_CONCURRENCY);
  }
  const app = await loadApp();
  await app.prepare();
  return app.serve();
}

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
// (A failed start-up child logged its own cause: the primary only stops the database and exits.)
main().catch(async (err: unknown) => {
  if (!(err instanceof PrepareFailed)) {
    const message = failureMessage(err);
    if (message.startsWith("start-up failed")) logger.fatal({ err }, message);
    else logger.fatal(message);
  }
  await close();
  process.exit(1);
});
