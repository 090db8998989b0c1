// Read replica routing (DATABASE_REPLICA_URL). Groundwork stub: the replica engineer fills it in.
// Anonymous reader GETs read from the replica; writes, signed-in requests and a client's requests for
// REPLICA_STICKY_SECONDS after a write use the primary (read-your-writes).
import type { RequestHandler } from "express";
import { pool, prisma } from "./client.ts";

/** Decides, per request, which database its reads use (kept for the request in AsyncLocalStorage). */
export const databaseRouting: RequestHandler = (_req, _res, next) => next();

/** The database reader queries should use for the current request: the replica when routed there, else the primary. */
export function readDb(): { prisma: typeof prisma; pool: typeof pool } {
  return { prisma, pool };
}
