// npm run worker: runs the background jobs (src/jobs/index.ts) in a process of its own, for a fleet
// where web processes run with JOBS_IN_PROCESS=false, or to add job capacity. Several may run at once,
// on several machines: pg-boss hands each job to one worker (SELECT ... FOR UPDATE SKIP LOCKED).
//
// The database is found the way the other commands find it (src/db/setup.ts): DATABASE_URL, else the
// embedded PostgreSQL of DATA_DIR (shared when a server already runs it, else started for the worker
// and stopped with it). With REDIS_URL set it connects to Redis too, so what its jobs invalidate
// reaches the shared cache.
//
// SIGINT/SIGTERM/SIGHUP: stops taking jobs, lets running ones finish (or fails them back to the queue
// after the grace of stopJobs()), closes the connections, logs "stopped" and exits 0. A signal during
// start-up is acted on once start-up is done. A failed start-up exits 1 with its cause in one line.
import { config } from "../config.ts";
import { logger } from "../web/logger.ts";
import { describeFailure, openDatabase, StartupError, type OpenDatabase } from "../db/setup.ts";
import { disconnectDb } from "../db/index.ts";
import { startJobs, stopJobs } from "../jobs/index.ts";
import { closeRedis, connectRedis } from "../cache/redis.ts";

const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

let db: OpenDatabase | undefined;
let stopping: Promise<void> | undefined;

/** Every step runs even if the one before failed. */
async function close(): Promise<void> {
  await stopJobs().catch((err: unknown) => logger.error({ err }, "stopping the job workers failed"));
  await closeRedis().catch((err: unknown) => logger.error({ err }, "closing the Redis connection failed"));
  await disconnectDb().catch((err: unknown) => logger.error({ err }, "closing the database pool failed"));
  await db?.stopServer().catch((err: unknown) => logger.error({ err }, "stopping the embedded PostgreSQL failed"));
  db = undefined;
}

const started = (async () => {
  db = await openDatabase({ role: "command", log: (m) => logger.info(m) });
  await connectRedis();
  await startJobs({ work: true });
})();

for (const signal of SIGNALS) {
  process.on(signal, () => {
    stopping ??= (async () => {
      logger.info(`${signal}: stopping the worker (running jobs finish first)`);
      await started.catch(() => {}); // a failed start-up exits on its own, below
      await close();
      logger.info("stopped");
      process.exit(0);
    })();
  });
}

started.then(
  () => logger.info(`Folio worker is running jobs (${config.JOB_CONCURRENCY} at once per queue)`),
  async (err: unknown) => {
    const message = err instanceof StartupError ? err.message : `worker start-up failed: ${describeFailure(err)}`;
    logger.fatal(message);
    await close();
    process.exit(1);
  },
);
