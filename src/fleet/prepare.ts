// The fleet's one-time preparation, run as a child process before any app starts (src/fleet/index.ts):
// migrations, the time zone's re-date, demo content (SEED_DEMO), the render-version check and the first
// admin, the steps `npm start` takes before it serves. DATABASE_URL is set by the fleet. The last line
// on stdout is JSON for the fleet: {"fleetPrepared": true, "admin": {username, password} | null}; the
// password is in it only on the start that creates the account (it is not stored anywhere).
import { config } from "../config.ts";
import { logger } from "../web/logger.ts";
import { describeFailure, openDatabase } from "../db/setup.ts";
import { disconnectDb } from "../db/index.ts";
import { seedDemoIfEmpty, ensureAdminAccount } from "../blog/seed.ts";
import { checkRenderVersion } from "../blog/rerender.ts";
import { redateToZone } from "../posts/timezone.ts";

const log = (m: string) => logger.info(m);

try {
  await openDatabase({ role: "command", log });
  await redateToZone();
  if (config.SEED_DEMO) await seedDemoIfEmpty(log);
  await checkRenderVersion(log).catch((err) => logger.warn({ err }, "could not queue the re-render of post bodies: run npm run posts:rerender"));
  const admin = await ensureAdminAccount();
  process.stdout.write(`${JSON.stringify({ fleetPrepared: true, admin })}\n`);
  await disconnectDb();
  process.exit(0);
} catch (err) {
  logger.fatal(`fleet preparation failed: ${describeFailure(err)}`);
  process.exit(1);
}
