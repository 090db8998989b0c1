// Resolve the database for a process: DATABASE_URL when set, else the embedded PostgreSQL.
import { config } from "../config.ts";
import { startEmbedded, StartupError } from "./embedded.ts";
import { ensureDatabase, migrateDeploy } from "./migrate.ts";
import { connectDb } from "./client.ts";

export { StartupError };

export interface OpenDatabase {
  url: string;
  /** Stops the embedded PostgreSQL if this process started it (no-op for an external server or a shared cluster). */
  stopServer(): Promise<void>;
}

/**
 * Starts/attaches the database, creates `database` if needed (embedded only), applies migrations,
 * connects the pool. `role`: "server" refuses an embedded cluster that another process runs (it would
 * stop it under us); "command" (the default: CLI commands) shares it. Failures with a known cause throw
 * a StartupError whose message names it in one line (print `message`, not the stack).
 */
export async function openDatabase(
  opts: { database?: string; migrate?: boolean; role?: "server" | "command"; log?: (m: string) => void } = {},
): Promise<OpenDatabase> {
  let url = config.DATABASE_URL;
  let stopServer = async () => {};
  if (!url) {
    const pg = await startEmbedded({ dataHome: config.DATA_DIR, port: config.EMBEDDED_PG_PORT, role: opts.role, log: opts.log });
    stopServer = pg.stop;
    try {
      const name = opts.database ?? "folio";
      await ensureDatabase(pg.adminUrl, name);
      url = pg.urlFor(name);
    } catch (e) {
      await pg.stop();
      throw e;
    }
  }
  try {
    if (opts.migrate !== false) {
      opts.log?.("applying migrations");
      await migrateDeploy(url);
    }
  } catch (e) {
    await stopServer();
    throw e;
  }
  connectDb(url, config.DATABASE_POOL_SIZE);
  return { url, stopServer };
}

/** For CLI commands: a one-line message for a StartupError, the error itself otherwise. */
export function describeFailure(err: unknown): string {
  if (err instanceof StartupError) return err.message;
  if (err instanceof Error) return err.stack ?? err.message;
  return `failed: ${String(err)}`;
}
