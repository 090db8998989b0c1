// The fleet (src/fleet/index.ts) for real: Nginx in front of two app processes, a job worker and Redis,
// on the file's own database (the external-PostgreSQL path of startFleet; `npm run fleet` runs the
// embedded one). One fleet for the file, started in beforeAll on free ports in a temp dir, stopped in
// afterAll (and its children are killed by startFleet's exit hook if this process ends first).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFleet, type Fleet } from "../../src/fleet/index.ts";
import { attemptsOn, logOffset } from "../../src/soak/nginxlog.ts";
import { until } from "../support/poll.ts";

let fleet: Fleet;
let dir: string;
let base: URL;

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

type Options = { method?: string; headers?: Record<string, string>; body?: string; localAddress?: string; agent?: http.Agent };

/**
 * Requests sent again because Nginx closed the idle keep-alive connection they were written to (an old
 * Nginx worker closes its idle connections when a reload retires it). Nginx never read them, so they
 * are sent again on a new connection, as browsers and Node's documentation (request.reusedSocket) do.
 */
let resent = 0;

/** One request through Nginx (keep-alive); rejects on a network error. */
async function request(path: string, opts: Options = {}): Promise<Answer> {
  try {
    return await requestOnce(path, opts);
  } catch (e) {
    if (!(e as { idleClosed?: boolean }).idleClosed) throw e;
    resent++;
    return requestOnce(path, opts);
  }
}

function requestOnce(path: string, opts: Options): Promise<Answer> {
  return new Promise((done, fail) => {
    let answered = false;
    const req = http.request(
      {
        host: base.hostname,
        port: base.port,
        path,
        method: opts.method ?? "GET",
        headers: opts.body ? { "content-type": "application/json", ...opts.headers } : opts.headers,
        localAddress: opts.localAddress,
        agent: opts.agent ?? agent,
        timeout: 30_000,
      },
      (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => done({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on("error", fail);
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (err: NodeJS.ErrnoException) => {
      // closed before any byte of an answer, on a connection that had served a request before
      const idleClosed = req.reusedSocket && !answered && (err.code === "ECONNRESET" || err.code === "EPIPE");
      fail(Object.assign(err, { idleClosed }));
    });
    req.end(opts.body);
  });
}

const text = (a: Answer) => {
  const enc = a.headers["content-encoding"];
  return (enc === "br" ? brotliDecompressSync(a.body) : enc === "gzip" ? gunzipSync(a.body) : a.body).toString("utf8");
};

let token: string;
let postPath: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "folio-fleet-"));
  fleet = await startFleet({
    dataDir: dir,
    databaseUrl: process.env.TEST_DATABASE_URL,
    env: {
      SEED_DEMO: "true",
      LOG_LEVEL: "info",
      // The load below comes from one address: not the rate limits' subject here.
      API_RATE_LIMIT_IP: "1000000",
      API_RATE_LIMIT_USER: "1000000",
      // Only 127.0.0.2 may read /metrics: the address the app sees decides (proxy headers test).
      METRICS_ALLOW: "127.0.0.2",
    },
  });
  base = new URL(fleet.url);
  expect(fleet.admin?.username).toBeTruthy();
  const login = await request("/api/v1/auth/token", {
    method: "POST",
    body: JSON.stringify({ username: fleet.admin!.username, password: fleet.admin!.password }),
  });
  expect(login.status).toBe(200);
  token = (JSON.parse(text(login)) as { access: string }).access;
}, 150_000);

afterAll(async () => {
  agent.destroy();
  await fleet?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 90_000);

describe("the fleet behind Nginx", () => {
  it("serves the home page and a post page, compressed with brotli or gzip by Nginx", async () => {
    const home = await request("/", { headers: { "accept-encoding": "br, gzip" } });
    expect(home.status).toBe(200);
    expect(home.headers["content-encoding"]).toBe("br");
    const html = text(home);
    expect(html).toContain("<html");
    postPath = /href="(\/blog\/\d{4}\/\d{2}\/\d{2}\/[^"/]+\/)"/.exec(html)![1]!;

    const post = await request(postPath, { headers: { "accept-encoding": "gzip" } });
    expect(post.status).toBe(200);
    expect(post.headers["content-encoding"]).toBe("gzip");
    expect(text(post)).toContain("<article");
    expect(post.headers["x-request-id"]).toBeTruthy(); // the app answered
  });

  it("serves hashed static files from disk, not from the app", async () => {
    const home = text(await request("/"));
    const css = /\/static\/css\/site\.[0-9a-f]{10}\.css/.exec(home)![0];
    const res = await request(css, { headers: { "accept-encoding": "br" } });
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^text\/css/);
    expect(res.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
    expect(res.headers["content-encoding"]).toBe("br");
    expect(res.headers["x-request-id"]).toBeUndefined(); // every app answer carries one
    const line = await until(
      () =>
        readFileSync(fleet.nginx.accessLog, "utf8")
          .split("\n")
          .find((l) => l.includes(`"GET ${css} `)),
      {
        label: "the static request in Nginx's access log",
      },
    );
    expect(line).toContain("upstream=- "); // Nginx answered it itself
    // a stale hash is not on disk: the app's 404 page
    const stale = await request("/static/css/site.0000000000.css");
    expect(stale.status).toBe(404);
    expect(stale.headers["x-request-id"]).toBeTruthy();
  });

  it("serves uploaded images from the shared media folder, only under a well-formed key", async () => {
    const hash = "ab" + "c".repeat(62);
    mkdirSync(join(dir, "media", "ab"), { recursive: true });
    writeFileSync(join(dir, "media", "ab", `${hash}-640.png`), "not really a png");
    const res = await request(`/media/ab/${hash}-640.png`);
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe("image/png");
    expect(res.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
    expect(res.headers["content-security-policy"]).toContain("sandbox");
    expect(res.headers["x-request-id"]).toBeUndefined(); // Nginx, from disk
    expect(res.body.toString()).toBe("not really a png");
    // a key whose folder is not its hash's first two characters never reaches the disk: the app's 404
    const odd = await request(`/media/cd/${hash}-640.png`);
    expect(odd.status).toBe(404);
    expect(odd.headers["x-request-id"]).toBeTruthy();
  });

  it("passes the client's real address to the apps, and only that", async () => {
    // The apps count API requests per client address (the RateLimit header's "ip" lane, shared in Redis).
    // From 127.0.0.2 (a loopback address of its own) two requests count twice against 127.0.0.2; one
    // between them from 127.0.0.1 claiming 127.0.0.2 counts against 127.0.0.1: Nginx replaced the
    // client's X-Forwarded-For. (A 60 s window may roll over between them: then the next try.)
    const direct = new http.Agent({ keepAlive: false });
    const left = async (opts: Options) => {
      const res = await request("/api/v1/openapi.json", { ...opts, agent: direct });
      expect(res.status).toBe(200);
      return Number(/"ip";r=(\d+)/.exec(String(res.headers["ratelimit"]))?.[1]);
    };
    const counted = await until(
      async () => {
        const first = await left({ localAddress: "127.0.0.2" });
        await left({ headers: { "x-forwarded-for": "127.0.0.2" } });
        const second = await left({ localAddress: "127.0.0.2" });
        return second <= first ? first - second : undefined;
      },
      { label: "three requests within one rate-limit window", accept: (n) => n !== undefined },
    );
    expect(counted).toBe(1);
    // The metrics are scraped on the apps' own ports, never through Nginx: its own 404.
    const metrics = await request("/metrics", { localAddress: "127.0.0.2", agent: direct });
    expect(metrics.status).toBe(404);
    expect(metrics.headers["x-request-id"]).toBeUndefined();
  });

  it("restarts the apps one at a time under GETs and POSTs without a failed request", async () => {
    const before = fleet.apps.map((a) => a.pid);
    const load = startLoad();
    await until(() => load.ok() > 20, { label: "the load is running", timeout: 20_000 });
    resent = 0;
    await fleet.rollingRestart();
    const result = await load.stop();
    fleet.apps.forEach((a, i) => expect(a.pid).not.toBe(before[i])); // new processes
    expect(result.failures).toEqual([]);
    expect(result.gets).toBeGreaterThan(20);
    expect(result.posts.length).toBeGreaterThan(5);
    // Every acknowledged write is there.
    const missing: number[] = [];
    for (const id of result.posts) {
      const res = await request(`/api/v1/posts/${id}`, { headers: { authorization: `Bearer ${token}` } });
      if (res.status !== 200) missing.push(id);
    }
    expect(missing).toEqual([]);
    console.log(
      `rolling restart: ${result.gets} GETs and ${result.posts.length} POSTs, ${result.failures.length} failed, ${resent} sent again (idle keep-alive connection closed by an Nginx reload)`,
    );
  }, 120_000);

  it("routes around an app killed with SIGKILL: only the requests Nginx had sent to it may fail", async () => {
    const load = startLoad();
    await until(() => load.ok() > 20, { label: "the load is running", timeout: 20_000 });
    const victim = fleet.apps[0]!;
    const from = logOffset(fleet.nginx.accessLog);
    await victim.kill("SIGKILL");
    const killedAt = load.sent();
    await until(() => load.sent() > killedAt + 50, { label: "50 more requests after the kill", timeout: 30_000 });
    const result = await load.stop();
    // The bound, per app: Nginx's attempts on the killed app's address that ended in an upstream error
    // (its requests in flight at the kill, and any sent to it before Nginx marked it failed).
    const onVictim = await until(() => attemptsOn(fleet.nginx.accessLog, from, `127.0.0.1:${victim.port}`), {
      label: "the killed app's requests in Nginx's access log",
      accept: (a) => a.sent > 0,
    });
    console.log(
      `SIGKILL of app1: ${result.failures.length} failed; Nginx: ${onVictim.errors} attempts on app1 ended in an upstream error, ${onVictim.failedToClient} answered 5xx (${result.failures.join("; ") || "none"})`,
    );
    expect(onVictim.errors).toBeGreaterThan(0); // the kill met requests: the bound is not vacuous
    expect(result.failures.length).toBeLessThanOrEqual(onVictim.errors);
    // every failure the clients saw is a request Nginx had sent to the killed app
    expect(result.failures.length).toBeLessThanOrEqual(onVictim.failedToClient);
    // the fleet still serves, from app2
    for (let i = 0; i < 10; i++) expect((await request("/")).status).toBe(200);
  }, 60_000);

  it("keeps what Redis holds across a Redis stop and start (append-only file)", async () => {
    const before = createClient({ url: fleet.redisUrl });
    before.on("error", () => {});
    await before.connect();
    await before.set("fleet-test:kept", "yes");
    before.destroy();
    await fleet.redis.stop();
    await fleet.redis.start();
    const after = createClient({ url: fleet.redisUrl });
    after.on("error", () => {});
    await after.connect();
    expect(await after.get("fleet-test:kept")).toBe("yes");
    after.destroy();
    expect((await request("/")).status).toBe(200);
  });
});

/**
 * Four clients in loops until stop(): three read (home, a post page, the API's list), one writes (a
 * draft through the API, with the bearer token). A failure is a network error or a status other than
 * the one expected (5xx included).
 */
function startLoad() {
  let running = true;
  let ok = 0;
  let sent = 0;
  let inFlight = 0;
  let gets = 0;
  const posts: number[] = [];
  const failures: string[] = [];
  const one = async (what: string, f: () => Promise<Answer>, expected: number): Promise<Answer | undefined> => {
    sent++;
    inFlight++;
    try {
      const a = await f();
      if (a.status !== expected) failures.push(`${what}: ${a.status}`);
      else ok++;
      return a;
    } catch (e) {
      failures.push(`${what}: ${(e as Error).message}`);
      return undefined;
    } finally {
      inFlight--;
    }
  };
  const reader = async (path: string) => {
    while (running) {
      if (await one(`GET ${path}`, () => request(path), 200)) gets++;
    }
  };
  let n = 0;
  const writer = async () => {
    while (running) {
      const a = await one(
        "POST /api/v1/posts",
        () =>
          request("/api/v1/posts", {
            method: "POST",
            headers: { authorization: `Bearer ${token}` },
            body: JSON.stringify({ title: `Under load ${++n} ${Date.now()}`, body: "Written while the fleet restarts." }),
          }),
        201,
      );
      if (a?.status === 201) posts.push((JSON.parse(text(a)) as { id: number }).id);
    }
  };
  const loops = [reader("/"), reader(postPath), reader("/api/v1/posts?page_size=5"), writer()];
  return {
    ok: () => ok,
    sent: () => sent,
    inFlight: () => inFlight,
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return { gets, posts, failures };
    },
  };
}
