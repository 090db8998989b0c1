// The fleet's one-time preparation, run as a child process before any app starts (src/fleet/index.ts):
// the start-up work of `npm start` (src/cluster/serve.ts prepare(): migrations, the time zone's re-date,
// demo content when SEED_DEMO, the render-version check, the first admin, whose password it prints
// once), on the DATABASE_URL the fleet gives it; then it exits (0: prepared).
import { prepareAndExit } from "../cluster/serve.ts";
import { describeFailure } from "../db/setup.ts";
import { logger } from "../web/logger.ts";

await prepareAndExit().catch((err: unknown) => {
  logger.fatal(`fleet preparation failed: ${describeFailure(err)}`);
  process.exit(1);
});
