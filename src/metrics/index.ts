// Prometheus metrics (prom-client): GET /metrics, for METRICS_ALLOW addresses or a METRICS_TOKEN bearer.
//
// One registry per process (this module's): Node's default process metrics under prom-client's
// standard names (process_cpu_seconds_total, process_resident_memory_bytes, nodejs_eventloop_lag_*,
// nodejs_gc_duration_seconds, nodejs_heap_*...), and Folio's own:
//  - http_requests_total{route,method,status} and http_request_duration_seconds{route,method}: counted
//    on the request's way out. `route` is the NAME of the route Express matched (src/web/urls.ts:
//    "blog:post_detail"), never the path (one series per URL would grow without bound). Answers
//    without a matched route get a fixed label: "page-cache" (a hit of src/cache/pages.ts, answered
//    before any router), "static", "media" (their prefixes), "metrics" (this endpoint), "unmatched"
//    (404s, redirects of gates such as the admin's login wall). A matched route without a name:
//    "unnamed". Methods outside the standard set are "other"; a client that went away before the
//    answer was complete is status "499" (Nginx's "client closed request").
//  - folio_cache_hits_total / folio_cache_misses_total{cache}, folio_cache_entries{cache},
//    folio_cache_bytes{cache}: the declared in-process caches (src/cache/index.ts), the page cache
//    (cache="page") and the fragment cache (cache="fragment") of this process; entries and bytes of
//    the shared cache (cache="shared": memory backend, or Redis's used_memory).
//  - folio_job_queue_jobs{queue,state}: pg-boss's jobs per queue and state (created, retry, active,
//    completed, cancelled, failed), read from the database when scraped, at most once per
//    JOB_STATS_MS per process (the same query as the admin's jobs page); folio_job_queue_stats_ok 0
//    when that read failed (the database away: the other series are still answered).
//  - folio_job_runs_total{queue,outcome}: job handler runs in this process (completed, gone, failed).
//  - folio_db_pool_clients{pool,state} (total, idle, waiting) and folio_db_pool_max{pool}: the app's pg
//    pool (pool="primary"), the read replica's (pool="replica") with DATABASE_REPLICA_URL, and the job
//    worker's own pool (pool="jobs") when this process works jobs.
//
// Counting a request costs one 'close' listener, three Map lookups and prom-client's inc() and observe():
// about 1.1 µs of CPU (tests/metrics/hot-path-bench.ts; README "Metrics").
//
// Cluster mode (WEB_CONCURRENCY > 1): every worker has its own registry and counts its own requests;
// a scrape is answered by whichever worker the primary hands the connection to, with a `pid` label on
// every series (so two workers' counters never mix). The fleet layout (one process per port, each
// scraped) gives complete figures; see the README.
import cluster from "node:cluster";
import { createHash, timingSafeEqual } from "node:crypto";
import { BlockList, isIP } from "node:net";
import type { Request, RequestHandler, Response } from "express";
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type pg from "pg";
import { config } from "../config.ts";
import { pool, replicaPool } from "../db/client.ts";
import { cacheStats, sharedCache } from "../cache/index.ts";
import { pageCacheCounts } from "../cache/pages.ts";
import { fragmentCounts } from "../cache/fragments.ts";
import { jobRunCounts, workingPool } from "../jobs/index.ts";
import { queues } from "../jobs/inspect.ts";
import { logger } from "../web/logger.ts";
import { routeNameOf } from "../web/urls.ts";

export const METRICS_PATH = "/metrics";
/** Job queue counts are read from the database at most this often per process (scrapes in between reuse them). */
const JOB_STATS_MS = 10_000;
/** After a failed read, the next is tried this soon (the database back: the counts are back at the next scrape). */
const JOB_STATS_RETRY_MS = 1_000;
/** A queue read slower than this is given up for this scrape (the database away: the scrape still answers). */
const JOB_STATS_TIMEOUT_MS = 2_000;

// ---- the registry -------------------------------------------------------------------------------

export const registry = new Registry();
if (cluster.isWorker) registry.setDefaultLabels({ pid: String(process.pid) });
collectDefaultMetrics({ register: registry });

const requests = new Counter({
  name: "http_requests_total",
  help: "HTTP requests answered, by route name, method and status",
  labelNames: ["route", "method", "status"] as const,
  registers: [registry],
});
const durations = new Histogram({
  name: "http_request_duration_seconds",
  help: "Time from the request reaching the app to the end of its answer, by route name and method",
  labelNames: ["route", "method"] as const,
  // Page-cache hits take well under a millisecond, rendered pages a few, a slow admin list or an outage's 503 seconds.
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});

/** Reports `rows` as the counter's current values (counts kept elsewhere, read at scrape time). */
function setCounts<L extends string>(c: Counter<L>, rows: Iterable<[Record<L, string>, number]>): void {
  c.reset();
  for (const [labels, n] of rows) c.inc(labels as never, n);
}

function cacheCounts(): { cache: string; hits: number; misses: number }[] {
  return [
    ...cacheStats().map((s) => ({ cache: s.name, hits: s.hits, misses: s.misses })),
    { cache: "page", hits: pageCacheCounts.hits, misses: pageCacheCounts.misses },
    { cache: "fragment", hits: fragmentCounts.hits, misses: fragmentCounts.misses },
  ];
}

for (const [kind, help] of [
  ["hits", "Cache hits in this process, by cache (src/cache/index.ts names; page: the page cache; fragment: getOrSet)"],
  ["misses", "Cache misses in this process, by cache"],
] as const) {
  new Counter({
    name: `folio_cache_${kind}_total`,
    help,
    labelNames: ["cache"] as const,
    registers: [registry],
    collect() {
      setCounts(
        this,
        cacheCounts().map((c) => [{ cache: c.cache }, c[kind]]),
      );
    },
  });
}
new Counter({
  name: "folio_page_cache_stale_total",
  help: "Stale pages served because the database was unreachable (stale-if-error), in this process",
  registers: [registry],
  collect() {
    this.reset();
    this.inc(pageCacheCounts.stale);
  },
});
new Gauge({
  name: "folio_cache_entries",
  help: "Entries held, by cache (in-process caches; shared: the memory backend's, absent with Redis)",
  labelNames: ["cache"] as const,
  registers: [registry],
  async collect() {
    this.reset();
    for (const s of cacheStats()) this.set({ cache: s.name }, s.entries);
    const shared = await sharedCache().stats();
    if (shared.entries !== undefined) this.set({ cache: "shared" }, shared.entries);
  },
});
new Gauge({
  name: "folio_cache_bytes",
  help: "Estimated bytes held, by byte-bounded cache (shared: the memory backend's, or Redis's used_memory)",
  labelNames: ["cache"] as const,
  registers: [registry],
  async collect() {
    this.reset();
    for (const s of cacheStats()) if ("maxBytes" in s.bound) this.set({ cache: s.name }, s.size);
    const shared = await sharedCache().stats();
    if (shared.bytes !== undefined) this.set({ cache: "shared" }, shared.bytes);
  },
});

// ---- jobs ---------------------------------------------------------------------------------------

type QueueCounts = Awaited<ReturnType<typeof queues>>;
let jobStats: { at: number; read: Promise<QueueCounts | null>; failed?: boolean } | undefined;

/** The queues' counts, read at most once per JOB_STATS_MS; null when the read failed or took too long. */
function queueCounts(): Promise<QueueCounts | null> {
  const now = Date.now();
  if (jobStats && now - jobStats.at < (jobStats.failed ? JOB_STATS_RETRY_MS : JOB_STATS_MS)) return jobStats.read;
  let timer: NodeJS.Timeout | undefined;
  const read = Promise.race([queues(), new Promise<never>((_, fail) => (timer = setTimeout(() => fail(new Error("timed out")), JOB_STATS_TIMEOUT_MS)))])
    .catch((err: unknown) => {
      logger.warn({ error: err instanceof Error ? err.message : String(err) }, "metrics: could not read the job queues");
      return null;
    })
    .finally(() => clearTimeout(timer));
  const entry: NonNullable<typeof jobStats> = { at: now, read };
  void read.then((qs) => (entry.failed = qs === null));
  jobStats = entry;
  return read;
}

new Gauge({
  name: "folio_job_queue_stats_ok",
  help: "1 when folio_job_queue_jobs was read from the database for this scrape (or one in the last 10 s), 0 when that failed",
  registers: [registry],
  async collect() {
    this.set((await queueCounts()) ? 1 : 0);
  },
});
new Gauge({
  name: "folio_job_queue_jobs",
  help: "pg-boss jobs per queue and state (the whole database's: every process reports the same figures)",
  labelNames: ["queue", "state"] as const,
  registers: [registry],
  async collect() {
    this.reset();
    for (const q of (await queueCounts()) ?? []) for (const [state, n] of Object.entries(q.counts)) this.set({ queue: q.name, state }, n);
  },
});
new Counter({
  name: "folio_job_runs_total",
  help: "Job handler runs in this process, by queue and outcome (completed; gone: its object was deleted; failed: each failed attempt)",
  labelNames: ["queue", "outcome"] as const,
  registers: [registry],
  collect() {
    const rows: [{ queue: string; outcome: string }, number][] = [];
    for (const [queue, c] of jobRunCounts) for (const [outcome, n] of Object.entries(c)) rows.push([{ queue, outcome }, n]);
    setCounts(this, rows);
  },
});

// ---- database pools -----------------------------------------------------------------------------

function pools(): [string, pg.Pool][] {
  const out: [string, pg.Pool][] = [];
  if (pool) out.push(["primary", pool]);
  if (replicaPool) out.push(["replica", replicaPool]); // DATABASE_REPLICA_URL (src/db/replica.ts)
  const jobs = workingPool();
  if (jobs) out.push(["jobs", jobs]);
  return out;
}

new Gauge({
  name: "folio_db_pool_clients",
  help: "pg pool clients by state: total (open connections), idle, waiting (queries queued for a client)",
  labelNames: ["pool", "state"] as const,
  registers: [registry],
  collect() {
    this.reset();
    for (const [name, p] of pools()) {
      this.set({ pool: name, state: "total" }, p.totalCount);
      this.set({ pool: name, state: "idle" }, p.idleCount);
      this.set({ pool: name, state: "waiting" }, p.waitingCount);
    }
  },
});
new Gauge({
  name: "folio_db_pool_max",
  help: "The pg pool's size limit",
  labelNames: ["pool"] as const,
  registers: [registry],
  collect() {
    this.reset();
    for (const [name, p] of pools()) this.set({ pool: name }, (p.options as pg.PoolConfig).max ?? 10);
  },
});

// ---- requests -----------------------------------------------------------------------------------

const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);
/** A fixed label for an answer given outside the routers (set by the handler that answered). */
const ANSWERED_AS = Symbol("metrics route label");

/** The route label of an answered request: its route's name, or a fixed label (never the path). */
function routeLabel(req: Request, res: Response): string {
  const fixed = (req as { [ANSWERED_AS]?: string })[ANSWERED_AS];
  if (fixed) return fixed;
  const r = req.route as { path?: unknown } | undefined;
  if (r && typeof r.path === "string") return routeNameOf(r.path, req.method) ?? "unnamed";
  if (res.hasHeader("X-Cache")) return "page-cache"; // a MISS went on to a route: only hits (and their 304s) get here
  const url = req.originalUrl;
  if (url.startsWith("/static/")) return "static";
  if (url.startsWith("/media/")) return "media";
  return "unmatched";
}

interface Series {
  counter: { inc(): void };
  duration: { observe(v: number): void };
}
/**
 * prom-client's children by route, method and status, in nested Maps keyed by the label strings (their
 * hashes are cached: no key string built per request).
 */
const series = new Map<string, Map<string, { duration: Series["duration"]; byStatus: Map<number, Series> }>>();

function seriesOf(route: string, method: string, status: number): Series {
  let byMethod = series.get(route);
  if (!byMethod) series.set(route, (byMethod = new Map()));
  let m = byMethod.get(method);
  if (!m) byMethod.set(method, (m = { duration: durations.labels(route, method), byStatus: new Map() }));
  let s = m.byStatus.get(status);
  if (!s) m.byStatus.set(status, (s = { counter: requests.labels(route, method, String(status)), duration: m.duration }));
  return s;
}

function record(req: Request, res: Response, start: number): void {
  const s = seriesOf(routeLabel(req, res), METHODS.has(req.method) ? req.method : "other", res.writableFinished ? res.statusCode : 499);
  s.counter.inc();
  s.duration.observe((performance.now() - start) / 1000);
}

/** Times every request and counts it under its route name once it has been answered. */
export const requestMetrics: RequestHandler = (req, res, next) => {
  const start = performance.now();
  res.on("close", () => record(req, res, start));
  next();
};

// ---- who may read it ----------------------------------------------------------------------------

/** METRICS_ALLOW as a BlockList (IPv4-mapped IPv6 clients match their IPv4 entries). */
function allowList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address = "", bits, ...rest] = entry.split("/");
    const family = isIP(address);
    const prefix = bits === undefined ? undefined : Number(bits);
    if (!family || rest.length || (prefix !== undefined && (!/^\d+$/.test(bits!) || prefix > (family === 4 ? 32 : 128)))) {
      throw new Error(`METRICS_ALLOW: "${entry}" is not an IP address or CIDR block (10.0.0.0/8, ::1)`);
    }
    const type = family === 4 ? "ipv4" : "ipv6";
    if (prefix === undefined) list.addAddress(address, type);
    else list.addSubnet(address, prefix, type);
  }
  return list;
}

const digest = (s: string) => createHash("sha256").update(s).digest();
/** The settings as parsed, rebuilt if they change (tests set them); a bad METRICS_ALLOW fails at start-up. */
let access = { allow: config.METRICS_ALLOW, list: allowList(config.METRICS_ALLOW), token: config.METRICS_TOKEN, tokenDigest: undefined as Buffer | undefined };
function currentAccess(): typeof access {
  if (access.allow !== config.METRICS_ALLOW) access = { ...access, allow: config.METRICS_ALLOW, list: allowList(config.METRICS_ALLOW) };
  if (access.token !== config.METRICS_TOKEN || (access.token && !access.tokenDigest)) {
    access = { ...access, token: config.METRICS_TOKEN, tokenDigest: config.METRICS_TOKEN ? digest(config.METRICS_TOKEN) : undefined };
  }
  return access;
}

/**
 * A bearer token, when sent, decides alone (compared in constant time: digests of equal length); without
 * one, the client address as Express resolves it (TRUST_PROXY) must be in METRICS_ALLOW, and a request
 * that says it was forwarded (X-Forwarded-For, Forwarded) is refused unless TRUST_PROXY is set.
 */
function mayRead(req: Request): boolean {
  const { list, tokenDigest } = currentAccess();
  const auth = req.headers.authorization;
  if (auth !== undefined && /^bearer\s/i.test(auth)) {
    return tokenDigest !== undefined && timingSafeEqual(digest(auth.slice(7).trim()), tokenDigest);
  }
  // Forwarded by a proxy the app was not told to trust (TRUST_PROXY unset): the address seen is the
  // proxy's (often 127.0.0.1, which is allowed), not the client's. Not judged by address then.
  if (!req.app.get("trust proxy") && (req.headers["x-forwarded-for"] !== undefined || req.headers.forwarded !== undefined)) return false;
  const ip = req.ip;
  const family = ip ? isIP(ip) : 0;
  return family !== 0 && list.check(ip!, family === 4 ? "ipv4" : "ipv6");
}

/** GET /metrics for allowed clients; everyone else goes on (and gets the 404 page, as for any unknown path). */
export const metricsEndpoint: RequestHandler = (req, res, next) => {
  if (!req.url.startsWith(METRICS_PATH) || req.path !== METRICS_PATH || (req.method !== "GET" && req.method !== "HEAD") || !mayRead(req)) return next();
  (req as { [ANSWERED_AS]?: string })[ANSWERED_AS] = "metrics";
  registry.metrics().then(
    (text) => {
      res.setHeader("Content-Type", registry.contentType);
      res.setHeader("Cache-Control", "no-store");
      res.setHeader("X-Content-Type-Options", "nosniff");
      res.send(text);
    },
    (err: unknown) => next(err),
  );
};
