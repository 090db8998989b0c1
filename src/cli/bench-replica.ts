// npx tsx src/cli/bench-replica.ts [--posts 2000] [--duration 8] [--connections 8] [--path /blog/]
//
// What routing reads to a replica costs on the hot path, and how long making a replica takes. In a
// throwaway folder: an embedded primary on a free port, the migrated schema, --posts seeded posts; the
// app in this process (PAGE_CACHE off, so every request reads the database); autocannon on --path:
//   A. no replica (DATABASE_REPLICA_URL unset: databaseRouting is one check, readDb() the primary);
//   B. the same primary with a real streaming replica (createStreamingReplica) connected: anonymous
//      reads go to the replica through AsyncLocalStorage;
// then prints req/s and latency of both, and the time the replica took to make. Everything it started
// is stopped and removed at the end.
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { config } from "../config.ts";
import { connectDb, disconnectDb, pool } from "../db/client.ts";
import { loadEmbeddedPostgres, resolveDataDir } from "../db/embedded.ts";
import { ensureDatabase, migrateDeploy } from "../db/migrate.ts";
import { freePort } from "../db/net.ts";
import { connectReadReplica, databaseRouting, readDb } from "../db/replica.ts";
import { createStreamingReplica } from "../db/replica-setup.ts";
import { intArg } from "./args.ts";

const { values } = parseArgs({
  options: { posts: { type: "string" }, duration: { type: "string" }, connections: { type: "string" }, path: { type: "string" } },
});
const posts = intArg("posts", values.posts, 1, 200_000, 2000);
const duration = intArg("duration", values.duration, 1, 120, 8);
const connections = intArg("connections", values.connections, 1, 256, 8);
const path = values.path ?? "/blog/";

(config as { PAGE_CACHE: boolean }).PAGE_CACHE = false;

const parent = resolveDataDir("/tmp/folio-bench-replica");
mkdirSync(parent, { recursive: true, mode: 0o755 });
const root = mkdtempSync(join(parent, "run-"));
chmodSync(root, 0o755);
const EmbeddedPostgres = await loadEmbeddedPostgres();
const pgPort = await freePort();
const primary = new EmbeddedPostgres({
  databaseDir: join(root, "primary"),
  port: pgPort,
  user: "postgres",
  password: "postgres",
  persistent: false,
  createPostgresUser: process.getuid?.() === 0,
  postgresFlags: ["-c", "max_connections=100"],
  onLog: () => {},
});
let stopReplica = async () => {};
let server: import("node:http").Server | undefined;
try {
  await primary.initialise();
  await primary.start();
  const admin = `postgresql://postgres:postgres@127.0.0.1:${pgPort}/postgres`;
  await ensureDatabase(admin, "folio_bench_replica");
  const url = admin.replace(/\/postgres$/, "/folio_bench_replica");
  await migrateDeploy(url);
  connectDb(url, 10);
  const { seedPosts } = await import("../blog/seed.ts");
  await seedPosts({ posts });
  await pool.query("VACUUM ANALYZE");

  const { buildApp } = await import("../app.ts");
  const app = buildApp();
  server = await new Promise<import("node:http").Server>((done) => {
    const s = app.listen(0, "127.0.0.1", () => done(s));
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const measure = async (label: string) => {
    // autocannon returns a promise of its result when given no callback (its types say Instance).
    const cannon = autocannon as unknown as (o: autocannon.Options) => Promise<autocannon.Result>;
    const run = (seconds: number) => cannon({ url: base + path, connections, duration: seconds });
    await run(2); // warm-up
    const r = await run(duration);
    const line = `${label.padEnd(34)} ${r.requests.average.toFixed(0).padStart(6)} req/s  p50 ${r.latency.p50} ms  p99 ${r.latency.p99} ms  non-2xx ${r.non2xx}`;
    console.log(line);
    return r.requests.average;
  };

  // The routing's own cost per request: databaseRouting, then 10 readDb() (a page's reads).
  const perRequestNs = (label: string) => {
    const req = { method: "GET", headers: {} } as unknown as Parameters<typeof databaseRouting>[0];
    const res = {} as Parameters<typeof databaseRouting>[1];
    const n = 200_000;
    let sink = 0;
    let ns = 0;
    for (const round of [0, 1]) {
      // round 0 warms up (JIT)
      sink = 0;
      const t = process.hrtime.bigint();
      for (let i = 0; i < n; i++)
        databaseRouting(req, res, () => {
          for (let j = 0; j < 10; j++) if (readDb().pool) sink++;
        });
      if (round === 1) ns = Number(process.hrtime.bigint() - t) / n;
    }
    console.log(`${label.padEnd(34)} ${ns.toFixed(0)} ns per request (routing + 10 readDb()), ${sink === n * 10 ? "ok" : "?"}`);
  };
  perRequestNs("routing cost, no replica");
  console.log(`GET ${path}, ${posts} posts, ${connections} connections, ${duration} s, page cache off`);
  const a = await measure("A. no replica (primary only)");
  const t0 = Date.now();
  const replica = await createStreamingReplica({ primaryUrl: url, dataDir: join(root, "replica"), port: await freePort() });
  const made = Date.now() - t0;
  stopReplica = () => replica.stop();
  connectReadReplica(replica.url, 10);
  perRequestNs("routing cost, replica (ALS run)");
  const b = await measure("B. reads routed to the replica");
  console.log(`replica made (base backup + start + streaming) in ${made} ms; B/A = ${(b / a).toFixed(3)}`);
} finally {
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  await disconnectDb();
  await stopReplica().catch(() => {});
  await primary.stop().catch(() => {});
  rmSync(root, { recursive: true, force: true });
}
