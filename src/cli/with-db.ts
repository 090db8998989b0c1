// Runs a command (the Prisma CLI, usually) with DATABASE_URL pointing at the configured database:
// the external one when DATABASE_URL is set, else the embedded PostgreSQL (the recorded cluster of
// DATA_DIR: shared when already running, else started for the call and stopped after it).
import { spawn } from "node:child_process";
import { config } from "../config.ts";
import { startEmbedded, ensureDatabase, StartupError } from "../db/index.ts";

const [cmd, ...args] = process.argv.slice(2);
if (!cmd) {
  console.error("usage: with-db <command> [args...]");
  process.exit(2);
}
let url = config.DATABASE_URL;
let stop = async () => {};
if (!url) {
  try {
    const pg = await startEmbedded({ dataHome: config.DATA_DIR, port: config.EMBEDDED_PG_PORT, log: (m) => console.error(m) });
    stop = pg.stop;
    await ensureDatabase(pg.adminUrl, "folio");
    url = pg.urlFor("folio");
  } catch (e) {
    console.error(e instanceof StartupError ? `Error: ${e.message}` : e);
    await stop();
    process.exit(1);
  }
}
const child = spawn(cmd, args, { stdio: "inherit", env: { ...process.env, DATABASE_URL: url }, shell: false });
const code: number = await new Promise((done) => {
  child.on("error", (e) => {
    console.error(`Error: cannot run ${cmd}: ${e.message}`);
    done(127);
  });
  child.on("exit", (c) => done(c ?? 1));
});
await stop();
process.exit(code);
