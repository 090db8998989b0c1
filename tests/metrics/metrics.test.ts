// GET /metrics (src/metrics/index.ts) through the real app and the test's own PostgreSQL: the Prometheus
// exposition for an allowed address or the bearer token, the site's ordinary 404 for anyone else;
// requests counted by route NAME (never the path), page-cache hits and misses, job queue counts,
// job runs, pool gauges.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import request from "supertest";
import { randomBytes } from "node:crypto";
import { buildApp } from "../../src/app.ts";
import { config } from "../../src/config.ts";
import { defineJob, enqueue, startJobs, stopJobs } from "../../src/jobs/index.ts";
import { connectReadReplica } from "../../src/db/replica.ts";
import { connectDb, pool } from "../../src/db/client.ts";
import { until } from "../support/poll.ts";
import { createUser, makePost } from "../support/fixtures.ts";

const app = buildApp();
/** The same app behind a proxy on loopback: X-Forwarded-For names the client. */
const proxied = buildApp();
proxied.set("trust proxy", "loopback");

const queued = defineJob<{ n: number }>({
  name: "test.metrics-queued",
  retryLimit: 0,
  retryDelaySeconds: 1,
  retryBackoff: false,
  expireInSeconds: 30,
  async handle() {}, // worked (completed) once the last test of the first block starts the workers
});
const failing = defineJob<{ n: number }>({
  name: "test.metrics-failing",
  retryLimit: 0,
  retryDelaySeconds: 1,
  retryBackoff: false,
  expireInSeconds: 30,
  async handle() {
    throw new Error("the remote service said no");
  },
});

/** The exposition's samples: `name{labels}` -> value (comments skipped). */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

/** The value of the sample of `name` whose labels include all of `labels` (summed over the others). */
function value(s: Map<string, number>, name: string, labels: Record<string, string> = {}): number | undefined {
  let sum: number | undefined;
  for (const [key, v] of s) {
    const brace = key.indexOf("{");
    if ((brace < 0 ? key : key.slice(0, brace)) !== name) continue;
    if (!Object.entries(labels).every(([k, want]) => key.includes(`${k}="${want}"`))) continue;
    sum = (sum ?? 0) + v;
  }
  return sum;
}

async function scrape(): Promise<Map<string, number>> {
  const res = await request(app).get("/metrics").expect(200);
  return samples(res.text);
}

beforeAll(async () => {
  // Before any scrape: the queue counts are read at most every 10 s per process.
  await enqueue(null, queued, { n: 1 });
  const author = (await createUser({ role: "AUTHOR" })).user;
  await makePost({ title: "Metrics post", authorId: author.id, publish: new Date(Date.now() - 3_600_000) });
});

describe("GET /metrics for an allowed client", () => {
  it("still answers while the database is away, saying the queue counts could not be read", async () => {
    // First in the file: the counts are then read for the first time, with the database away.
    // The session store keeps the first pool: it stays open until the file ends.
    const original = pool;
    afterAll(() => original.end());
    connectDb("postgresql://folio@127.0.0.1:1/folio", 1); // nothing listens on port 1
    const broken = pool;
    try {
      const s = await scrape();
      expect(value(s, "folio_job_queue_stats_ok")).toBe(0);
      expect(value(s, "folio_job_queue_jobs")).toBeUndefined();
      expect(value(s, "process_cpu_user_seconds_total")).toBeGreaterThan(0);
    } finally {
      connectDb(process.env.TEST_DATABASE_URL!, 5);
      await broken.end().catch(() => {});
    }
    // the database back: read again at a later scrape (a failed read is retried after 1 s, not 10)
    await until(async () => value(await scrape(), "folio_job_queue_stats_ok") === 1, {
      label: "the counts are read again",
      accept: (ok) => ok,
      timeout: 5_000,
    });
  });

  it("answers the Prometheus text format, never cached, without a session", async () => {
    const res = await request(app).get("/metrics").expect(200);
    expect(res.headers["content-type"]).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.headers["cache-control"]).toBe("no-store");
    expect(res.headers["set-cookie"]).toBeUndefined();
    expect(res.headers["x-cache"]).toBeUndefined();
    expect(res.text).toMatch(/^# HELP http_requests_total /m);
    const s = samples(res.text);
    // Node's default process metrics, under prom-client's standard names
    expect(value(s, "process_cpu_user_seconds_total")).toBeGreaterThan(0);
    expect(value(s, "nodejs_heap_size_used_bytes")).toBeGreaterThan(0);
    expect(value(s, "nodejs_eventloop_lag_seconds")).toBeGreaterThanOrEqual(0);
    // the app's pg pool (the tests connect it with max 5)
    expect(value(s, "folio_db_pool_max", { pool: "primary" })).toBe(5);
    expect(value(s, "folio_db_pool_clients", { pool: "primary", state: "total" })).toBeGreaterThanOrEqual(1);
    expect(value(s, "folio_db_pool_clients", { pool: "primary", state: "waiting" })).toBe(0);
    expect(value(s, "folio_db_pool_clients", { pool: "primary", state: "idle" })).toBeGreaterThanOrEqual(0);
  });

  it("counts requests under their route's name, with durations", async () => {
    for (let i = 0; i < 3; i++) await request(app).get("/accounts/login/").expect(200);
    await request(app).get("/healthz").expect(200);
    await request(app).post("/api/v1/posts").send({}).expect(401);
    const s = await scrape();
    expect(value(s, "http_requests_total", { route: "accounts:login", method: "GET", status: "200" })).toBe(3);
    expect(value(s, "http_requests_total", { route: "health:alive", method: "GET", status: "200" })).toBeGreaterThanOrEqual(1);
    // one path, several operations: named by the method too
    expect(value(s, "http_requests_total", { route: "api:createPost", method: "POST", status: "401" })).toBe(1);
    expect(value(s, "http_request_duration_seconds_count", { route: "accounts:login", method: "GET" })).toBe(3);
    expect(value(s, "http_request_duration_seconds_bucket", { route: "accounts:login", method: "GET", le: "+Inf" })).toBe(3);
    expect(value(s, "http_request_duration_seconds_sum", { route: "accounts:login", method: "GET" })).toBeGreaterThan(0);
    // the previous scrape counted itself
    expect(value(s, "http_requests_total", { route: "metrics", method: "GET", status: "200" })).toBeGreaterThanOrEqual(1);
  });

  it("counts page-cache misses and hits (a hit is answered before any router: route page-cache)", async () => {
    const before = await scrape();
    const miss = await request(app).get("/blog/").expect(200);
    expect(miss.headers["x-cache"]).toBe("MISS");
    const hit = await request(app).get("/blog/").expect(200);
    expect(hit.headers["x-cache"]).toBe("HIT");
    const after = await scrape();
    const delta = (name: string, labels: Record<string, string>) => (value(after, name, labels) ?? 0) - (value(before, name, labels) ?? 0);
    expect(delta("folio_cache_misses_total", { cache: "page" })).toBe(1);
    expect(delta("folio_cache_hits_total", { cache: "page" })).toBe(1);
    expect(delta("http_requests_total", { route: "blog:post_list", method: "GET", status: "200" })).toBe(1);
    expect(delta("http_requests_total", { route: "page-cache", method: "GET", status: "200" })).toBe(1);
    // the declared in-process caches are listed by name, with their sizes
    expect(value(after, "folio_cache_misses_total", { cache: "blog.counts" })).toBeGreaterThanOrEqual(1);
    expect(value(after, "folio_cache_entries", { cache: "web.reversed-urls" })).toBeGreaterThan(0);
    expect(value(after, "folio_cache_bytes", { cache: "shared" })).toBeGreaterThan(0);
  });

  it("shows the job queues' counts from the database", async () => {
    const s = await scrape();
    expect(value(s, "folio_job_queue_stats_ok")).toBe(1);
    expect(value(s, "folio_job_queue_jobs", { queue: "test.metrics-queued", state: "created" })).toBe(1);
    expect(value(s, "folio_job_queue_jobs", { queue: "test.metrics-failing", state: "failed" })).toBe(0);
  });

  it("counts this process's failed job runs, and shows the worker's pool", async () => {
    await startJobs({ work: true });
    try {
      await enqueue(null, failing, { n: 1 });
      const s = await until(scrape, {
        label: "the failed run is counted",
        accept: (m) => value(m, "folio_job_runs_total", { queue: "test.metrics-failing", outcome: "failed" }) === 1,
        timeout: 15_000,
      });
      expect(value(s, "folio_db_pool_max", { pool: "jobs" })).toBe(3);
    } finally {
      await stopJobs();
    }
  });
});

describe("labels never carry a path", () => {
  it("50 unknown paths add no series", async () => {
    const unknown = () => randomBytes(6).toString("hex");
    const paths = () => [
      `/no-such-${unknown()}/`,
      `/blog/2020/01/02/${unknown()}/`,
      `/static/${unknown()}.css`,
      `/media/ab/${unknown()}.webp`,
      `/api/v1/${unknown()}`,
    ];
    for (const p of paths()) await request(app).get(p);
    const count = (s: Map<string, number>) => [...s.keys()].filter((k) => k.startsWith("http_request")).length;
    const before = await scrape();
    for (let i = 0; i < 10; i++) for (const p of paths()) expect((await request(app).get(p)).status).toBe(404);
    const after = await scrape();
    expect(count(after)).toBe(count(before));
    const labels = [...after.keys()].filter((k) => k.startsWith("http_request")).join("\n");
    expect(labels).not.toMatch(/no-such|\/blog\/|\/static\/|\/media\/|\/api\//);
    expect(value(after, "http_requests_total", { route: "unmatched", status: "404" })).toBeGreaterThanOrEqual(10);
    expect(value(after, "http_requests_total", { route: "blog:post_detail", status: "404" })).toBeGreaterThanOrEqual(10);
  });
});

describe("who may read it", () => {
  const token = randomBytes(24).toString("base64url"); // 32 characters
  const original = { token: config.METRICS_TOKEN, env: config.NODE_ENV };
  afterAll(() => {
    config.METRICS_TOKEN = original.token;
    config.NODE_ENV = original.env;
  });

  it("another address gets the site's ordinary 404 page", async () => {
    const notFound = await request(proxied).get("/no-such-page").set("X-Forwarded-For", "203.0.113.7").expect(404);
    const res = await request(proxied).get("/metrics").set("X-Forwarded-For", "203.0.113.7").expect(404);
    expect(res.text).toBe(notFound.text.replace("/no-such-page", "/metrics"));
    expect(res.text).not.toContain("http_requests_total");
    // an allowed address through the same proxy
    await request(proxied).get("/metrics").set("X-Forwarded-For", "127.0.0.1").expect(200);
  });

  it("a forwarded request is not judged by the address of a proxy the app does not trust (TRUST_PROXY unset)", async () => {
    expect(app.get("trust proxy")).toBe(false);
    await request(app).get("/metrics").set("X-Forwarded-For", "127.0.0.1").expect(404);
    await request(app).get("/metrics").set("Forwarded", "for=127.0.0.1").expect(404);
    await request(app).get("/metrics").expect(200); // the same loopback client, not forwarded
  });

  it("the bearer token works from any address; a wrong one, or none configured, gets 404", async () => {
    config.METRICS_TOKEN = undefined;
    await request(proxied).get("/metrics").set("X-Forwarded-For", "203.0.113.7").set("Authorization", `Bearer ${token}`).expect(404);
    config.METRICS_TOKEN = token;
    const ok = await request(proxied).get("/metrics").set("X-Forwarded-For", "203.0.113.7").set("Authorization", `Bearer ${token}`).expect(200);
    expect(ok.text).toContain("http_requests_total");
    await request(proxied).get("/metrics").set("X-Forwarded-For", "203.0.113.7").set("Authorization", `Bearer ${token}x`).expect(404);
    await request(proxied).get("/metrics").set("X-Forwarded-For", "203.0.113.7").set("Authorization", "Bearer short").expect(404);
    // a wrong token decides even from an allowed address
    await request(app)
      .get("/metrics")
      .set("Authorization", `Bearer ${token.slice(1)}`)
      .expect(404);
  });

  it("in production, an allowed client is answered whatever the Host (like /healthz); others still get the Host check", async () => {
    config.NODE_ENV = "production";
    const prod = buildApp();
    prod.set("trust proxy", "loopback");
    const res = await request(prod).get("/metrics").set("Host", "10.0.0.5:3000").expect(200);
    expect(res.text).toContain("http_requests_total");
    await request(prod).get("/metrics").set("Host", "10.0.0.5:3000").set("X-Forwarded-For", "203.0.113.7").expect(400);
  });
});

describe("the read replica's pool", () => {
  // Last in the file: from here on anonymous reads go to the "replica" (this same database); the file's
  // teardown (disconnectDb) closes it.
  it('is shown as pool="replica" once connected', async () => {
    expect(value(await scrape(), "folio_db_pool_max", { pool: "replica" })).toBeUndefined();
    connectReadReplica(process.env.TEST_DATABASE_URL!, 2);
    const s = await scrape();
    expect(value(s, "folio_db_pool_max", { pool: "replica" })).toBe(2);
    expect(value(s, "folio_db_pool_clients", { pool: "replica", state: "waiting" })).toBe(0);
  });
});
