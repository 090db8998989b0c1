// Runs a command (the Prisma CLI, usually) with DATABASE_URL pointing at the configured database:
// the external one when DATABASE_URL is set, else the embedded PostgreSQL (started for the call).
import { spawn } from "node:child_process";
import { config } from "../config.ts";
import { startEmbedded, ensureDatabase } from "../db/index.ts";

const [cmd, ...args] = process.argv.slice(2);
if (!cmd) {
  console.error("usage: with-db <command> [args...]");
  process.exit(2);
}
let url = config.DATABASE_URL;
let stop = async () => {};
if (!url) {
  const pg = await startEmbedded({ dataDir: `${config.DATA_DIR}/postgres`, port: config.EMBEDDED_PG_PORT, log: (m) => console.error(m) });
  await ensureDatabase(pg.adminUrl, "folio");
  url = pg.urlFor("folio");
  stop = pg.stop;
}
const child = spawn(cmd, args, { stdio: "inherit", env: { ...process.env, DATABASE_URL: url }, shell: false });
const code: number = await new Promise((done) => child.on("exit", (c) => done(c ?? 1)));
await stop();
process.exit(code);
