// npm run bench [-- --duration 10 --connections 16 --only list,detail --posts 10000 --skip-build]
//
// Benchmarks the production build against its own database, "folio_bench" (the embedded
// PostgreSQL unless DATABASE_URL is set; then the same server, database folio_bench):
//   1. create/migrate folio_bench, seed N posts (skipped when it already holds exactly that seed),
//   2. `npm run build`, start `node dist/server.js` with NODE_ENV=production on a free port,
//   3. per scenario: a short warm-up, then autocannon for --duration seconds,
//   4. print req/s, p50, p99, non-2xx and the server's peak RSS; write bench-results/bench-<timestamp>.json.
//
// Scenarios are an array: add one with {name, path, connections?, headers?, prepare?}.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import pg from "pg";
import { config } from "../config.ts";
import { startEmbedded } from "../db/embedded.ts";
import { dropDatabase, ensureDatabase, migrateDeploy } from "../db/migrate.ts";
import { connectDb, disconnectDb, pool } from "../db/client.ts";
import { adminBenchSession } from "../admin/bench.ts";
import { freePort } from "../db/net.ts";
import { intArg } from "./args.ts";
import { benchSeedMarker, rerenderIfStale, seedBenchContent, seedMarker } from "../bench/seed.ts";
import { cpuMs, processTree, treeCpuMs, treeRssKb } from "../bench/processes.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const BENCH_DB = "folio_bench";

// ---------------------------------------------------------------------------------------------
// Scenarios

export interface BenchContext {
  /** http://127.0.0.1:<port> of the server under test. */
  baseUrl: string;
  /** The bench database (pg pool), e.g. to look up a real object. */
  db: pg.Pool;
  /** GET a path from the server under test. */
  get(path: string, headers?: Record<string, string>): Promise<{ status: number; text: string; headers: Headers }>;
}

export interface Scenario {
  name: string;
  /** Request path; or computed by prepare(). */
  path?: string;
  /** Overrides --connections for this scenario. */
  connections?: number;
  headers?: Record<string, string>;
  /** Posts the scenario needs (the bench seeds the maximum of --posts and this). */
  posts?: number;
  /** "floor": run against src/cli/bench-floor.ts (bare Express + pg) instead of Folio's server. */
  server?: "floor";
  /**
   * Run against a server with the full-page cache on (PAGE_CACHE=true, src/cache/pages.ts). The other
   * Folio scenarios run with PAGE_CACHE=false, so they measure the rendering path as before the cache.
   */
  pageCache?: true;
  /** Finds the path/headers at run time (a real post URL, a login cookie...). Return a string to skip with that reason. */
  prepare?: (ctx: BenchContext) => Promise<{ path: string; headers?: Record<string, string> } | string>;
}

/** A real published post's page: the first post link on the list page (so the URL is the app's own). */
async function firstPostPage(ctx: BenchContext): Promise<{ path: string; day: string; slug: string } | string> {
  const res = await ctx.get("/blog/");
  const m = res.text.match(/href="(\/blog\/(\d{4}\/\d{2}\/\d{2})\/([a-z0-9-]+)\/)"/);
  return m ? { path: m[1]!, day: m[2]!, slug: m[3]! } : "no post link found on /blog/";
}

const SEARCH_WORD = "measure";

const SCENARIOS: Scenario[] = [
  { name: "list", path: "/blog/" },
  { name: "list-p900", path: "/blog/?page=900" },
  {
    name: "detail",
    prepare: async (ctx) => {
      const post = await firstPostPage(ctx);
      return typeof post === "string" ? post : { path: post.path };
    },
  },
  { name: "search", path: `/blog/search/?q=${SEARCH_WORD}` },
  // Search at scale (issue 13: p99 <= 50 ms at 100,000 posts, 16 connections): run with --posts 100000.
  // A word most posts contain (78% of the seed's posts), a rare one (the seed's rarest word: 1.8%;
  // "walrus" is in none, which is the typo path), and a typo (no full-text match: the title fallback).
  { name: "search-common", path: "/blog/search/?q=measure" },
  { name: "search-rare", path: "/blog/search/?q=concurrently" },
  { name: "search-typo", path: "/blog/search/?q=postgrsql" },
  // The REST API's mirrors of list, detail and search (the same page size, post and word), anonymous;
  // they should cost no more server CPU per request than the pages (issue 12).
  { name: "api-list", path: "/api/v1/posts" },
  {
    name: "api-detail",
    prepare: async (ctx) => {
      const post = await firstPostPage(ctx);
      return typeof post === "string" ? post : { path: `/api/v1/posts/${post.day}/${post.slug}` };
    },
  },
  { name: "api-search", path: `/api/v1/posts?search=${SEARCH_WORD}` },
  { name: "feed-rss", path: "/blog/feed/rss/" },
  // The same pages through the full-page cache (anonymous readers: every request after the first is a
  // hit; issue 13: at least 2x the uncached req/s and the floor's, p99 <= the floor's + 5 ms).
  { name: "list-cached", path: "/blog/", pageCache: true },
  {
    name: "detail-cached",
    pageCache: true,
    prepare: async (ctx) => {
      const post = await firstPostPage(ctx);
      return typeof post === "string" ? post : { path: post.path };
    },
  },
  { name: "feed-cached", path: "/blog/feed/rss/", pageCache: true },
  // As a browser asks: the gzip made once when the page was stored is sent as is.
  { name: "list-cached-gzip", path: "/blog/", pageCache: true, headers: { "Accept-Encoding": "gzip" } },
  // Not Folio: bare Express + pg (one prepared query, a fixed 16 KB page) on the same machine, the
  // floor the reader pages' latency sits on (see src/cli/bench-floor.ts).
  { name: "floor", path: "/floor", server: "floor" },
  // The admin post change list at 100,000 posts, signed in as an editor (target: p99 < 100 ms at 4 connections).
  { name: "admin-posts", connections: 4, posts: 100_000, prepare: (ctx) => adminBenchSession(ctx, "/admin/blog/post/") },
];

// ---------------------------------------------------------------------------------------------
// Arguments

export interface BenchArgs {
  duration: number;
  warmup: number;
  connections: number;
  only: string[] | null;
  posts: number;
  seed: number;
  skipBuild: boolean;
  workers: number | null;
  /** Extra ad-hoc scenarios: --path /healthz (repeatable). */
  paths: string[];
  /** False (--no-images): the bench data without featured images and avatars (a database of its own), to tell the images' cost from the rest. */
  images: boolean;
  /** Checkout whose build is measured (default: this one), e.g. a `git worktree` of an older commit for before/after. */
  root: string;
}

const USAGE = `usage: npm run bench -- [--duration S] [--connections N] [--only a,b] [--posts N] [--seed S] [--skip-build]

  --duration S      seconds per scenario (default 10)
  --warmup S        warm-up seconds before each measurement (default 2)
  --connections N   concurrent connections (default 16; a scenario may set its own)
  --only a,b        run only these scenarios (${SCENARIOS.map((s) => s.name).join(", ")})
  --posts N         posts in the bench database (default 10000)
  --seed S          seed for the generated posts (default 42)
  --skip-build      use the existing dist/ instead of running npm run build
  --no-images       bench data without featured images or avatars (its own database): the images' cost apart
  --workers N       WEB_CONCURRENCY passed to the server (default: the production default, one per CPU)
  --path /p         also measure this path (repeatable; with --only, only the named scenarios and these)
  --root DIR        build and run the server of another checkout (e.g. a git worktree of an older
                    commit, with node_modules linked) against the same databases: before/after runs`;

function parseBenchArgs(argv: string[]): BenchArgs | "help" {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: "string" },
      warmup: { type: "string" },
      connections: { type: "string" },
      only: { type: "string" },
      posts: { type: "string" },
      seed: { type: "string" },
      workers: { type: "string" },
      path: { type: "string", multiple: true },
      root: { type: "string" },
      "skip-build": { type: "boolean", default: false },
      "no-images": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return "help";
  let only: string[] | null = null;
  if (values.only !== undefined) {
    only = values.only
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    const unknown = only.filter((n) => !SCENARIOS.some((s) => s.name === n));
    if (!only.length || unknown.length)
      throw new Error(`--only: unknown scenario(s) ${unknown.join(", ") || "(none given)"}; known: ${SCENARIOS.map((s) => s.name).join(", ")}`);
  }
  return {
    duration: intArg("duration", values.duration, 1, 600, 10),
    warmup: intArg("warmup", values.warmup, 0, 60, 2),
    connections: intArg("connections", values.connections, 1, 1000, 16),
    only,
    posts: intArg("posts", values.posts, 1, 5_000_000, 10_000),
    seed: intArg("seed", values.seed, 0, 0xffffffff, 42),
    skipBuild: values["skip-build"] ?? false,
    images: !values["no-images"],
    workers: values.workers === undefined ? null : intArg("workers", values.workers, 1, 64, 1),
    root: values.root === undefined ? ROOT : resolve(values.root),
    paths: (values.path ?? []).map((p) => {
      if (!/^\/[\x21-\x7e]*$/.test(p)) throw new Error(`--path must be a path starting with "/", got "${p}"`);
      return p;
    }),
  };
}

// ---------------------------------------------------------------------------------------------
// Helpers

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  return new Promise((done) => {
    const child = spawn(cmd, args, { cwd, stdio: "inherit", env });
    child.on("exit", (code) => done(code ?? 1));
    child.on("error", () => done(1));
  });
}

/** CPU ms used so far by each PostgreSQL backend serving `database` (meaningful for a server on this machine). */
async function dbCpuMs(db: pg.Pool, database: string): Promise<Map<number, number>> {
  const { rows } = await db.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [database]);
  return new Map(rows.map((r) => [r.pid, cpuMs(r.pid)]));
}

async function waitReady(baseUrl: string, child: ChildProcess, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`server exited with code ${child.exitCode} before it was ready`);
    try {
      const res = await fetch(`${baseUrl}/readyz`);
      if (res.ok) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error("server not ready after 60 s");
}

interface Measured {
  name: string;
  path: string | null;
  status: "ok" | "missing" | "skipped" | "error";
  /** Posts in the database the scenario ran against. */
  posts?: number;
  note?: string;
  connections?: number;
  reqPerSec?: number;
  latencyP50?: number;
  latencyP99?: number;
  latencyAvg?: number;
  latencyMax?: number;
  requests?: number;
  non2xx?: number;
  errors?: number;
  timeouts?: number;
  peakRssMb?: number;
  /** Server CPU (all its processes) per request, ms. */
  serverCpuMsPerReq?: number;
  /** PostgreSQL backend CPU per request, ms (null when the server is not on this machine). */
  dbCpuMsPerReq?: number | null;
}

function cannon(opts: { url: string; connections: number; duration: number; headers?: Record<string, string> }): Promise<autocannon.Result> {
  return new Promise((done, fail) => {
    const inst = autocannon({ url: opts.url, connections: opts.connections, duration: opts.duration, headers: opts.headers }, (err, result) =>
      err ? fail(err) : done(result),
    );
    // No progress bar: the table says it all.
    void inst;
  });
}

function pad(s: string, n: number, right = false): string {
  return right ? s.padStart(n) : s.padEnd(n);
}

function printTable(rows: Measured[]): void {
  const head = ["scenario", "posts", "req/s", "p50 ms", "p99 ms", "non-2xx", "errors", "peak RSS MB", "app CPU ms/req", "db CPU ms/req", "path / note"];
  const widths = [12, 7, 9, 8, 8, 8, 7, 12, 15, 14, 0];
  const last = head.length - 1;
  console.log("\n" + head.map((h, i) => pad(h, widths[i]!, i > 0 && i < last)).join("  "));
  console.log("-".repeat(140));
  for (const r of rows) {
    const cells =
      r.status === "ok"
        ? [
            r.name,
            String(r.posts ?? ""),
            r.reqPerSec!.toFixed(0),
            String(r.latencyP50),
            String(r.latencyP99),
            String(r.non2xx),
            String(r.errors! + r.timeouts!),
            r.peakRssMb!.toFixed(0),
            r.serverCpuMsPerReq!.toFixed(2),
            r.dbCpuMsPerReq == null ? "n/a" : r.dbCpuMsPerReq.toFixed(2),
            r.path ?? "",
          ]
        : [r.name, String(r.posts ?? ""), "-", "-", "-", "-", "-", "-", "-", "-", `${r.status.toUpperCase()}: ${r.note ?? ""}`];
    console.log(cells.map((c, i) => pad(c, widths[i]!, i > 0 && i < last)).join("  "));
  }
  console.log("");
}

// ---------------------------------------------------------------------------------------------
// Main

interface Cluster {
  adminUrl: string;
  urlFor(database: string): string;
  stop(): Promise<void>;
}

async function openCluster(log: (m: string) => void): Promise<Cluster> {
  if (config.DATABASE_URL) {
    const at = (name: string) => {
      const u = new URL(config.DATABASE_URL!);
      u.pathname = `/${name}`;
      return u.toString();
    };
    return { adminUrl: at("postgres"), urlFor: at, stop: async () => {} };
  }
  const pgh = await startEmbedded({ dataHome: config.DATA_DIR, port: config.EMBEDDED_PG_PORT, log });
  return { adminUrl: pgh.adminUrl, urlFor: pgh.urlFor, stop: pgh.stop };
}

/** folio_bench holds the default 10,000 posts; other sizes get their own database (kept between runs). */
function benchDatabaseName(posts: number): string {
  return posts === 10_000 ? BENCH_DB : `${BENCH_DB}_${posts}`;
}

/** Creates (or reuses, when it holds exactly this seed) the database for `posts` posts and connects the pool to it. */
async function prepareDatabase(cluster: Cluster, args: BenchArgs, posts: number, log: (m: string) => void): Promise<{ name: string; url: string }> {
  const name = `${benchDatabaseName(posts)}${args.images ? "" : "_noimages"}`;
  const url = cluster.urlFor(name);
  const marker = benchSeedMarker(posts, args.seed, args.images);
  const current = await seedMarker(cluster.adminUrl, name).catch(() => null);
  if (current !== marker) {
    log(current ? `${name} holds "${current}": recreating it` : `creating database ${name} with ${posts} posts`);
    await dropDatabase(cluster.adminUrl, name);
    await ensureDatabase(cluster.adminUrl, name);
    await migrateDeploy(url);
    connectDb(url, 4);
    await seedBenchContent(name, { posts, seed: args.seed, images: args.images }, log);
  } else {
    log(`${name} already holds ${posts} posts (seed ${args.seed})`);
    await migrateDeploy(url);
    connectDb(url, 4);
  }
  await rerenderIfStale(log);
  return { name, url };
}

/** One bench at a time per cluster (two would measure each other): a session advisory lock. */
async function benchLock(cluster: Cluster, log: (m: string) => void): Promise<() => Promise<void>> {
  const c = new pg.Client({ connectionString: cluster.adminUrl });
  await c.connect();
  const KEY = 0x466f6c69; // "Foli"
  for (let waited = 0; ; waited++) {
    const { rows } = await c.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock($1) AS ok`, [KEY]);
    if (rows[0]?.ok) break;
    if (waited === 0) log("another npm run bench is running on this PostgreSQL: waiting for it to finish");
    if (waited > 900) {
      await c.end();
      throw new Error("gave up waiting for the other bench (15 min)");
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  return async () => {
    await c.end().catch(() => {});
  };
}

function gitRevision(root: string): string {
  try {
    return execFileSync("git", ["rev-parse", "HEAD"], { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return "unknown";
  }
}

async function main() {
  let args: BenchArgs | "help";
  try {
    args = parseBenchArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`bench: ${(e as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (args === "help") {
    console.log(USAGE);
    return;
  }
  const log = (m: string) => console.error(`[bench] ${m}`);
  const scenarios: Scenario[] = [
    ...SCENARIOS.filter((s) => (!args.only && !args.paths.length) || args.only?.includes(s.name)),
    ...args.paths.map((p) => ({ name: p.length > 12 ? `${p.slice(0, 11)}…` : p, path: p })),
  ];
  // Scenarios run against a database of their size (the default --posts unless they need more).
  const groups = new Map<string, { posts: number; floor: boolean; pageCache: boolean; scenarios: Scenario[] }>();
  for (const sc of scenarios) {
    const posts = sc.posts ?? args.posts;
    const key = `${posts}:${sc.server ?? (sc.pageCache ? "folio-cached" : "folio")}`;
    const g = groups.get(key) ?? { posts, floor: sc.server === "floor", pageCache: sc.pageCache === true, scenarios: [] };
    g.scenarios.push(sc);
    groups.set(key, g);
  }

  const cluster = await openCluster(log);
  const unlock = await benchLock(cluster, log);
  let server: ChildProcess | null = null;
  const stopServer = async () => {
    const srv = server;
    server = null;
    if (srv && srv.exitCode === null) {
      srv.kill("SIGTERM");
      await new Promise((r) => {
        const t = setTimeout(() => {
          srv.kill("SIGKILL");
          r(null);
        }, 15_000);
        srv.once("exit", () => {
          clearTimeout(t);
          r(null);
        });
      });
    }
  };
  const stopAll = async () => {
    await stopServer();
    await disconnectDb();
    await unlock();
    await cluster.stop();
  };
  process.once("SIGINT", () => void stopAll().then(() => process.exit(130)));

  const results: Measured[] = [];
  const servers: { posts: number; database: string; idleRssMb: number; workers: number }[] = [];
  const loadAtStart = os.loadavg();
  try {
    if (!args.skipBuild) {
      log(`npm run build${args.root === ROOT ? "" : ` in ${args.root}`}`);
      const code = await run("npm", ["run", "build"], args.root);
      if (code !== 0) {
        if (!existsSync(resolve(args.root, "dist/server.js"))) throw new Error(`npm run build failed (exit ${code}) and dist/server.js does not exist`);
        log(`WARNING: npm run build exited with ${code} (type errors?); dist/ was emitted, benchmarking it anyway`);
      }
    }
    if (!existsSync(resolve(args.root, "dist/server.js"))) throw new Error(`${args.root}/dist/server.js is missing: run without --skip-build`);
    if (loadAtStart[0]! > os.cpus().length * 0.5)
      log(
        `WARNING: load average ${loadAtStart[0]!.toFixed(1)} on ${os.cpus().length} CPUs: other work competes with the benchmark; compare the CPU ms/req columns`,
      );

    for (const { posts, floor, pageCache, scenarios: group } of groups.values()) {
      const entry = floor ? "dist/cli/bench-floor.js" : "dist/server.js";
      if (!existsSync(resolve(args.root, entry))) {
        for (const sc of group) results.push({ name: sc.name, path: sc.path ?? null, posts, status: "skipped", note: `${entry} is not in ${args.root}` });
        continue;
      }
      const db = await prepareDatabase(cluster, args, posts, log);
      const port = await freePort();
      const baseUrl = `http://127.0.0.1:${port}`;
      const env: NodeJS.ProcessEnv = {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        NODE_ENV: "production",
        DATABASE_URL: db.url,
        PORT: String(port),
        HOST: "127.0.0.1",
        SITE_URL: "http://localhost:3000",
        SESSION_SECRET: randomBytes(36).toString("base64url"), // 48 characters
        JWT_KEYS: `bench:${randomBytes(36).toString("base64url")}`,
        ALLOWED_HOSTS: "localhost,127.0.0.1",
        LOG_LEVEL: "warn",
        SEED_DEMO: "false",
        TRUST_PROXY: "loopback", // scenarios that sign in say X-Forwarded-Proto: https (the session cookie is Secure)
        // Every request comes from 127.0.0.1: the API's per-address limit (600/min by default) would answer
        // 429s within a second. The limiter still counts every request (its cost is measured), it never refuses.
        API_RATE_LIMIT_IP: "1000000",
        API_RATE_LIMIT_USER: "1000000",
        PAGE_CACHE: pageCache ? "true" : "false",
        ...(args.workers ? { WEB_CONCURRENCY: String(args.workers) } : {}),
      };
      log(`starting node ${entry} on ${baseUrl} (database ${db.name}${args.root === ROOT ? "" : `, from ${args.root}`})`);
      const srv = spawn(process.execPath, [entry], { cwd: args.root, env, stdio: ["ignore", "pipe", "inherit"] });
      server = srv;
      srv.stdout!.on("data", (d: Buffer) => {
        const s = d.toString();
        // The first start against a fresh database prints the admin password: keep it out of the log.
        if (!s.includes("password")) process.stdout.write(s);
      });
      await waitReady(baseUrl, srv);
      // One process, or a cluster primary and its workers (WEB_CONCURRENCY; production's default is one per CPU).
      const processes = processTree(srv.pid!).length;
      if (!floor) servers.push({ posts, database: db.name, idleRssMb: treeRssKb(srv.pid!) / 1024, workers: processes > 1 ? processes - 1 : 1 });

      const ctx: BenchContext = {
        baseUrl,
        db: pool,
        get: async (path, headers) => {
          const res = await fetch(baseUrl + path, { headers, redirect: "manual" });
          return { status: res.status, text: await res.text(), headers: res.headers };
        },
      };

      for (const sc of group) {
        let path = sc.path ?? null;
        let headers = sc.headers;
        try {
          if (sc.prepare) {
            const p = await sc.prepare(ctx);
            if (typeof p === "string") {
              results.push({ name: sc.name, path, posts, status: "skipped", note: p });
              continue;
            }
            path = p.path;
            headers = { ...headers, ...p.headers };
          }
          if (!path) throw new Error("scenario has no path");
          const probe = await ctx.get(path, headers);
          if (probe.status === 404) {
            results.push({ name: sc.name, path, posts, status: "missing", note: `${path} answers 404 (not implemented yet?)` });
            continue;
          }
          if (probe.status >= 300) log(`${sc.name}: ${path} answers ${probe.status}; measuring anyway`);
          const connections = sc.connections ?? args.connections;
          log(`${sc.name}: warm-up ${args.warmup} s, then ${args.duration} s at ${connections} connections, ${posts} posts: ${path}`);
          if (args.warmup > 0) await cannon({ url: baseUrl + path, connections, duration: args.warmup, headers });
          let peak = 0;
          const sampler = setInterval(() => (peak = Math.max(peak, treeRssKb(srv.pid!))), 100);
          const cpu0 = treeCpuMs(srv.pid!);
          const db0 = await dbCpuMs(pool, db.name);
          const r = await cannon({ url: baseUrl + path, connections, duration: args.duration, headers });
          const cpu1 = treeCpuMs(srv.pid!);
          const db1 = await dbCpuMs(pool, db.name);
          clearInterval(sampler);
          peak = Math.max(peak, treeRssKb(srv.pid!));
          // Per backend: CPU at the end minus at the start (0 for a backend that connected during the run).
          let dbMs = 0;
          for (const [pid, ms] of db1) dbMs += ms - (db0.get(pid) ?? 0);
          const local = !config.DATABASE_URL || /@(localhost|127\.0\.0\.1)[:/]/.test(config.DATABASE_URL);
          results.push({
            name: sc.name,
            path,
            status: "ok",
            posts,
            connections,
            reqPerSec: r.requests.average,
            latencyP50: r.latency.p50,
            latencyP99: r.latency.p99,
            latencyAvg: r.latency.average,
            latencyMax: r.latency.max,
            requests: r.requests.total,
            non2xx: r.non2xx,
            errors: r.errors,
            timeouts: r.timeouts,
            peakRssMb: peak / 1024,
            serverCpuMsPerReq: r.requests.total ? (cpu1 - cpu0) / r.requests.total : 0,
            dbCpuMsPerReq: local && r.requests.total ? Math.max(0, dbMs) / r.requests.total : null,
          });
        } catch (e) {
          results.push({ name: sc.name, path, posts, status: "error", note: (e as Error).message });
        }
        if (srv.exitCode !== null) throw new Error(`server exited (${srv.exitCode}) during ${sc.name}`);
      }
      await stopServer();
      await disconnectDb();
    }

    printTable(results);
    console.log(
      `load average at start ${loadAtStart.map((l) => l.toFixed(2)).join(" ")}, at end ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(
          " ",
        )}; server idle RSS ${servers.map((x) => `${x.idleRssMb.toFixed(0)} MB (${x.posts} posts, ${x.workers} worker${x.workers === 1 ? "" : "s"})`).join(", ")}`,
    );
    const out = {
      date: new Date().toISOString(),
      git: gitRevision(args.root),
      machine: {
        cpus: os.cpus().length,
        model: os.cpus()[0]?.model,
        memoryMb: Math.round(os.totalmem() / 2 ** 20),
        loadavgAtStart: loadAtStart,
        loadavgAtEnd: os.loadavg(),
        node: process.version,
      },
      settings: { ...args, database: config.DATABASE_URL ? "external" : "embedded" },
      servers,
      results,
    };
    mkdirSync(resolve(ROOT, "bench-results"), { recursive: true });
    const file = resolve(ROOT, "bench-results", `bench-${out.date.replace(/[:.]/g, "-")}.json`);
    writeFileSync(file, JSON.stringify(out, null, 2) + "\n");
    log(`results written to ${file}`);
  } finally {
    await stopAll();
  }
}

if (process.argv[1]?.endsWith("/cli/bench.ts") || process.argv[1]?.endsWith("/cli/bench.js")) {
  main().then(
    () => process.exit(0),
    (e) => {
      console.error(`bench failed: ${(e as Error).message}`);
      process.exit(1);
    },
  );
}
