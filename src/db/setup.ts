// Resolve the database for a process: DATABASE_URL when set, else the embedded PostgreSQL.
// Light at import (config and embedded.ts only): the cluster primary starts the database with
// startDatabase() without loading pg's pool or Prisma; the migrations and the client are loaded
// by openDatabase() when it needs them.
import { config } from "../config.ts";
import { startEmbedded, StartupError } from "./embedded.ts";

export { StartupError };

export interface OpenDatabase {
  url: string;
  /** Stops the embedded PostgreSQL if this process started it (no-op for an external server or a shared cluster). */
  stopServer(): Promise<void>;
}

interface DatabaseOptions {
  database?: string;
  role?: "server" | "command";
  log?: (m: string) => void;
}

/**
 * Starts/attaches the database server and creates `database` if needed (embedded only); no
 * migrations, no pool. `role`: "server" refuses an embedded cluster that another process runs (it
 * would stop it under us); "command" (the default: CLI commands) shares it.
 */
export async function startDatabase(opts: DatabaseOptions = {}): Promise<OpenDatabase> {
  if (config.DATABASE_URL) return { url: config.DATABASE_URL, stopServer: async () => {} };
  const pg = await startEmbedded({ dataHome: config.DATA_DIR, port: config.EMBEDDED_PG_PORT, role: opts.role, log: opts.log });
  try {
    const name = opts.database ?? "folio";
    const { ensureDatabase } = await import("./migrate.ts");
    await ensureDatabase(pg.adminUrl, name);
    return { url: pg.urlFor(name), stopServer: pg.stop };
  } catch (e) {
    await pg.stop();
    throw e;
  }
}

/**
 * startDatabase(), then applies migrations (unless `migrate` is false) and connects the pool.
 * Failures with a known cause throw a StartupError whose message names it in one line (print
 * `message`, not the stack).
 */
export async function openDatabase(opts: DatabaseOptions & { migrate?: boolean } = {}): Promise<OpenDatabase> {
  const db = await startDatabase(opts);
  try {
    if (opts.migrate !== false) {
      opts.log?.("applying migrations");
      const { migrateDeploy } = await import("./migrate.ts");
      await migrateDeploy(db.url);
    }
  } catch (e) {
    await db.stopServer();
    throw e;
  }
  const { connectDb } = await import("./client.ts");
  connectDb(db.url, config.DATABASE_POOL_SIZE);
  if (config.DATABASE_REPLICA_URL) (await import("./replica.ts")).connectReadReplica(config.DATABASE_REPLICA_URL, config.DATABASE_POOL_SIZE);
  return db;
}

/** For CLI commands: a one-line message for a StartupError, the error itself otherwise. */
export function describeFailure(err: unknown): string {
  if (err instanceof StartupError) return err.message;
  if (err instanceof Error) return err.stack ?? err.message;
  return `failed: ${String(err)}`;
}
