// Process entry: settings, database (embedded unless DATABASE_URL), migrations, demo content,
// HTTP server, and a clean shutdown on SIGINT/SIGTERM.
import type { Server } from "node:http";
import { config } from "./config.ts";
import { logger } from "./web/logger.ts";
import { openDatabase } from "./db/setup.ts";
import { disconnectDb } from "./db/index.ts";
import { buildApp } from "./app.ts";
import { seedDemoIfEmpty, ensureAdminAccount } from "./blog/seed.ts";

const log = (m: string) => logger.info(m);

async function main() {
  const db = await openDatabase({ log });
  if (config.SEED_DEMO) await seedDemoIfEmpty(log);
  const admin = await ensureAdminAccount();
  if (admin) {
    // Printed once, on the start that creates the account; only its hash is stored.
    console.log(`\n  Admin account created.\n    username: ${admin.username}\n    password: ${admin.password}\n  Keep it safe: it is not shown again.\n`);
  }

  const app = buildApp();
  const server: Server = app.listen(config.PORT, config.HOST, () => {
    logger.info(`Folio is serving ${config.SITE_URL} (listening on ${config.HOST}:${config.PORT})`);
  });
  server.keepAliveTimeout = 65_000;

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info(`${signal}: shutting down`);
    const force = setTimeout(() => server.closeAllConnections(), 10_000);
    // Stop accepting, let in-flight requests finish (idle keep-alive sockets are closed now).
    await new Promise<void>((done) => {
      server.close(() => done());
      server.closeIdleConnections();
    });
    clearTimeout(force);
    await disconnectDb();
    await db.stopServer();
    logger.info("stopped");
    process.exit(0);
  };
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
}

main().catch((err) => {
  logger.fatal({ err }, "start-up failed");
  process.exit(1);
});
