// isDatabaseUnavailable() (src/db/client.ts) decides 503 "try again" versus 500: checked on the real
// errors pg, the pool and Prisma's driver adapter produce, not on hand-made objects.
import { afterAll, describe, expect, it } from "vitest";
import pg from "pg";
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "../../src/generated/prisma/client.ts";
import { isDatabaseUnavailable, pool, prisma, withClient } from "../../src/db/client.ts";
import { freePort, TcpProxy } from "./support.ts";

/** The error `run` rejects with (fails the test if it resolves). */
async function errorOf(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run();
  } catch (e) {
    return e;
  }
  throw new Error("expected an error");
}

const closed: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of closed) await c();
});

/** A URL of this test file's database on a port where nothing listens. */
async function unreachableUrl(): Promise<string> {
  const u = new URL(process.env.TEST_DATABASE_URL!);
  u.port = String(await freePort());
  return u.toString();
}

describe("isDatabaseUnavailable", () => {
  it("is true for a server that refuses connections: pg, the pool and Prisma", async () => {
    const url = await unreachableUrl();
    const client = new pg.Client({ connectionString: url });
    expect(isDatabaseUnavailable(await errorOf(() => client.connect()))).toBe(true);

    const down = new pg.Pool({ connectionString: url });
    down.on("error", () => {});
    closed.push(() => down.end());
    expect(isDatabaseUnavailable(await errorOf(() => down.query("SELECT 1")))).toBe(true);

    const orm = new PrismaClient({ adapter: new PrismaPg(down) });
    closed.push(() => orm.$disconnect());
    expect(isDatabaseUnavailable(await errorOf(() => orm.user.findFirst()))).toBe(true);
    expect(isDatabaseUnavailable(await errorOf(() => orm.$transaction([orm.user.count(), orm.post.count()])))).toBe(true);
  });

  it("is true when the server terminates connections in use (pg_terminate_backend: 57P01)", async () => {
    // A client of the app's pool, terminated by another session while it waits in pg_sleep.
    const err = await errorOf(() =>
      withClient(async (c) => {
        const { rows } = await c.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
        const sleeping = c.query("SELECT pg_sleep(30)");
        // It may fail while the terminating query is still awaited: handled now, awaited (and thrown) below.
        sleeping.catch(() => {});
        await pool.query("SELECT pg_terminate_backend($1)", [rows[0]!.pid]);
        await sleeping;
      }),
    );
    expect((err as { code?: string }).code).toBe("57P01");
    expect(isDatabaseUnavailable(err)).toBe(true);
    // The terminated client was destroyed, not returned: the pool still serves.
    expect((await pool.query("SELECT 1 AS one")).rows[0]).toEqual({ one: 1 });
  });

  it("is true when the connection is cut under Prisma (through a TCP proxy)", async () => {
    const proxy = TcpProxy.forUrl(process.env.TEST_DATABASE_URL!);
    await proxy.start();
    closed.push(() => proxy.cut());
    const viaProxy = new pg.Pool({ connectionString: proxy.rewrite(process.env.TEST_DATABASE_URL!), max: 2 });
    viaProxy.on("error", () => {});
    closed.push(() => viaProxy.end());
    const orm = new PrismaClient({ adapter: new PrismaPg(viaProxy) });
    closed.push(() => orm.$disconnect());
    expect(await orm.user.count()).toBeGreaterThanOrEqual(0);
    const sent = proxy.nextClientData();
    const slow = orm.$queryRaw`SELECT pg_sleep(30)`.then(() => undefined);
    slow.catch(() => {}); // awaited below
    await sent; // the query has reached the server: the cut comes while it runs
    await proxy.cut();
    expect(isDatabaseUnavailable(await errorOf(() => slow))).toBe(true);
  });

  it("is true for a transaction that outlived its timeout (a saturated database: P2028, rolled back)", async () => {
    const err = await errorOf(() =>
      prisma.$transaction(
        async (tx) => {
          await tx.$executeRaw`SELECT pg_sleep(0.3)`;
          await tx.user.count();
        },
        { timeout: 100 },
      ),
    );
    expect((err as { code?: string }).code).toBe("P2028");
    expect(isDatabaseUnavailable(err)).toBe(true);
  });

  it("is true for a pool that found no free connection in time (overload: 503, try again)", async () => {
    const small = new pg.Pool({ connectionString: process.env.TEST_DATABASE_URL!, max: 1, connectionTimeoutMillis: 200 });
    closed.push(() => small.end());
    const held = await small.connect();
    try {
      const err = await errorOf(() => small.query("SELECT 1"));
      expect(String(err)).toMatch(/timeout exceeded when trying to connect/);
      expect(isDatabaseUnavailable(err)).toBe(true);
    } finally {
      held.release();
    }
  });

  it("is false for the errors of a bad query or bad data (those stay 500s or become 400s)", async () => {
    expect(isDatabaseUnavailable(await errorOf(() => pool.query("SELEC 1")))).toBe(false);
    expect(isDatabaseUnavailable(await errorOf(() => pool.query("SELECT 1/0")))).toBe(false);
    expect(isDatabaseUnavailable(await errorOf(() => pool.query("SET LOCAL statement_timeout = 1; SELECT pg_sleep(1)")))).toBe(false);
    const name = `Unique ${Date.now()}`;
    await prisma.category.create({ data: { name, slug: name.toLowerCase().replace(/\s+/g, "-") } });
    expect(isDatabaseUnavailable(await errorOf(() => prisma.category.create({ data: { name, slug: name.toLowerCase().replace(/\s+/g, "-") } })))).toBe(false);
    expect(isDatabaseUnavailable(new Error("something else"))).toBe(false);
    expect(isDatabaseUnavailable(undefined)).toBe(false);
  });
});
