// One pg pool per process, shared by Prisma (through its driver adapter) and the few hot-path
// queries that use SQL directly (see src/blog/queries.ts).
import pg from "pg";
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "../generated/prisma/client.ts";

// int8 (count(*)) as a JS number: our counts stay far below 2^53.
pg.types.setTypeParser(20, (v) => Number.parseInt(v, 10));

export let pool!: pg.Pool;
export let prisma!: PrismaClient;

export function connectDb(url: string, max = 10): void {
  pool = new pg.Pool({ connectionString: url, max, idleTimeoutMillis: 30_000 });
  pool.on("error", () => { /* a broken idle client is discarded by pg; queries report their own errors */ });
  prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
}

export async function disconnectDb(): Promise<void> {
  await prisma?.$disconnect().catch(() => {});
  await pool?.end().catch(() => {});
}

export async function dbReady(): Promise<boolean> {
  try {
    await pool.query("SELECT 1");
    return true;
  } catch {
    return false;
  }
}
