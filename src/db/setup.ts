// Resolve the database for a process: DATABASE_URL when set, else the embedded PostgreSQL.
import { config } from "../config.ts";
import { startEmbedded } from "./embedded.ts";
import { ensureDatabase, migrateDeploy } from "./migrate.ts";
import { connectDb } from "./client.ts";

export interface OpenDatabase {
  url: string;
  /** Stops the embedded PostgreSQL (no-op for an external server). */
  stopServer(): Promise<void>;
}

/** Starts/attaches the database, creates `database` if needed (embedded only), applies migrations, connects the pool. */
export async function openDatabase(opts: { database?: string; migrate?: boolean; log?: (m: string) => void } = {}): Promise<OpenDatabase> {
  let url = config.DATABASE_URL;
  let stopServer = async () => {};
  if (!url) {
    const pg = await startEmbedded({ dataDir: `${config.DATA_DIR}/postgres`, port: config.EMBEDDED_PG_PORT, log: opts.log });
    const name = opts.database ?? "folio";
    await ensureDatabase(pg.adminUrl, name);
    url = pg.urlFor(name);
    stopServer = pg.stop;
  }
  if (opts.migrate !== false) {
    opts.log?.("applying migrations");
    await migrateDeploy(url);
  }
  connectDb(url, config.DATABASE_POOL_SIZE);
  return { url, stopServer };
}
