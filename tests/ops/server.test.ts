// The real server process in production mode (`node --import tsx src/server.ts`, as `npm start`
// runs it) against this test file's database, reached through a TCP proxy so the tests can slow
// the database down or cut it off: Host check, error pages, readiness during an outage, and a
// graceful shutdown with a request in flight.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import http from "node:http";
import net from "node:net";
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { until } from "../support/poll.ts";
import { productionEnv, request, startServerProcess, tryConnect, TcpProxy, type ServerProcess } from "./support.ts";

/** Sends `text` as is on a new connection; resolves with everything the server sent back. */
function rawRequest(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => socket.write(text));
    let got = "";
    socket.on("data", (d) => (got += d.toString()));
    socket.on("end", () => resolve(got));
    socket.on("error", reject);
  });
}

const STACK = /\bat .+:\d+:\d+|node_modules|\.ts:\d+|Error:/;

let proxy: TcpProxy;
const dataDir = mkdtempSync(join(tmpdir(), "folio-no-embedded-"));
let server: ServerProcess;

beforeAll(async () => {
  const dbUrl = process.env.TEST_DATABASE_URL!;
  proxy = TcpProxy.forUrl(dbUrl);
  await proxy.start();
  // DATA_DIR points at an empty directory: with DATABASE_URL set, nothing may be created there.
  // Cached pages are fresh for 2 s only: the outage test below sees one go stale and served as such.
  server = await startServerProcess(productionEnv(proxy.rewrite(dbUrl), { DATA_DIR: dataDir, PAGE_CACHE_TTL_SECONDS: "2" }));
}, 90_000);

afterAll(async () => {
  server?.kill("SIGKILL");
  await proxy?.cut();
});

describe("production server: external database", () => {
  it("uses DATABASE_URL and never starts the embedded PostgreSQL", async () => {
    expect((await request(server.port, "/readyz")).status).toBe(200);
    expect(readdirSync(dataDir)).toEqual([]); // no embedded data directory was created
    expect(server.output()).not.toMatch(/embedded PostgreSQL/i);
  });
});

describe("production server: Host check", () => {
  it("answers a request for an allowed host", async () => {
    const res = await request(server.port, "/no/such/page/", { host: "folio.test" });
    expect(res.status).toBe(404);
    expect(res.body).toContain("Page not found");
  });
  it("refuses a Host that is not in ALLOWED_HOSTS with 400", async () => {
    for (const host of ["evil.example", "folio.test.evil.example", "localhost", "127.0.0.1:3000", ""]) {
      const res = await request(server.port, "/", { host });
      expect(res.status, `Host: ${host}`).toBe(400);
      expect(res.body).toContain("Invalid Host header");
      expect(res.body).not.toMatch(STACK);
    }
  });
  it("accepts the allowed host with a port and in another case", async () => {
    const res = await request(server.port, "/healthz", { host: "FOLIO.test:8080" });
    expect(res.status).toBe(200);
  });
  it("lets health probes through whatever the Host (they come by IP)", async () => {
    expect((await request(server.port, "/healthz", { host: "10.0.0.7:3000" })).status).toBe(200);
    expect((await request(server.port, "/readyz", { host: "10.0.0.7:3000" })).status).toBe(200);
  });
  it("sends HSTS and the strict CSP in production", async () => {
    const res = await request(server.port, "/healthz");
    expect(res.headers["strict-transport-security"]).toBe("max-age=31536000; includeSubDomains");
    expect(res.headers["content-security-policy"]).toContain("script-src 'self'");
    expect(res.headers["x-powered-by"]).toBeUndefined();
  });
});

describe("production server: hostile URLs get 400/404 pages without internals", () => {
  const paths = [
    "/" + "a".repeat(5000),
    "/blog/" + "x/".repeat(2500),
    "/blog/2026/11/21/" + "s".repeat(5000) + "/",
    "/%",
    "/%E0%A4%A",
    "/blog/%ff/",
    "/blog/2026/11/21/%E0%A4%A/",
    "/blog/tag/%C0%AF/",
    "/blog/category/%/",
    "/static/css/%zz.css",
    "/static/../package.json",
    "/static/css/site.0000000000.css",
    "/?page=%ff",
    "/blog/?page=" + "9".repeat(5000),
  ];
  for (const path of paths) {
    it(`GET ${path.slice(0, 60)}${path.length > 60 ? `... (${path.length} chars)` : ""}`, async () => {
      const res = await request(server.port, path, { accept: "text/html" });
      expect([200, 400, 404]).toContain(res.status);
      expect(res.body).not.toMatch(STACK);
    });
  }
  it("answers a path over Node's 16 KB header limit with the site's 431 page, not a bare status line", async () => {
    const res = await request(server.port, "/blog/" + "a".repeat(20_000) + "/", { accept: "text/html" });
    expect(res.status).toBe(431);
    expect(res.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(res.headers["content-security-policy"]).toContain("script-src 'self'");
    expect(res.body).toContain('class="error-page"');
    expect(res.body).toContain("The address or the request headers are too long.");
    expect(res.body).not.toMatch(STACK);
  });
  it("answers a malformed request line with the site's 400 page", async () => {
    const raw = await rawRequest(server.port, "GET /blog/ HTTP/1.1 extra words\r\nHost: folio.test\r\n\r\n");
    expect(raw).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(raw).toContain('class="error-page"');
    expect(raw).toContain("Connection: close");
  });
  it("never shows a stack to JSON clients either", async () => {
    const res = await request(server.port, "/%E0%A4%A", { accept: "application/json" });
    expect([400, 404]).toContain(res.status);
    expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
    expect(res.body).not.toMatch(STACK);
  });
});

describe("production server: readiness follows the database", () => {
  it("/readyz is 503 while the database is unreachable, /healthz stays 200, and both recover", async () => {
    expect((await request(server.port, "/readyz")).status).toBe(200);
    await proxy.cut();
    const down = await request(server.port, "/readyz");
    expect(down.status).toBe(503);
    expect(JSON.parse(down.body)).toEqual({ status: "unavailable", database: false });
    expect(down.headers["cache-control"]).toBe("no-store");
    expect((await request(server.port, "/healthz")).status).toBe(200);
    await proxy.restore();
    const up = await request(server.port, "/readyz");
    expect(up.status).toBe(200);
    expect(JSON.parse(up.body)).toEqual({ status: "ok", database: true });
  });
});

describe("production server: pages during a database outage", () => {
  it("answer a page never cached with 503, Retry-After and the site's styled page (HTML and JSON), a cached one with its stale copy, and 200 again once it is back", async () => {
    const cached = await request(server.port, "/blog/", { accept: "text/html" });
    expect(cached.status).toBe(200);
    // Stored after its answer went out: wait until the cache answers it.
    await until(async () => (await request(server.port, "/blog/", { accept: "text/html" })).headers["x-cache"], {
      label: "/blog/ is answered from the page cache",
      accept: (state) => state === "HIT",
    });
    await proxy.cut();
    try {
      // Never cached (this query and this page are asked for nowhere else in this file): the styled 503.
      for (const path of ["/blog/search/?q=outage-never-cached", "/blog/categories/"]) {
        const res = await request(server.port, path, { accept: "text/html" });
        expect(res.status, path).toBe(503);
        expect(res.headers["retry-after"], path).toBe("5");
        expect(res.headers["content-type"], path).toBe("text/html; charset=utf-8");
        expect(res.body, path).toContain('class="error-page"');
        expect(res.body, path).toContain("Back in a moment");
        expect(res.body, path).toContain(`href="/static/css/site.`); // the site's own styles
        expect(res.body, path).not.toMatch(STACK);
      }
      const api = await request(server.port, "/blog/categories/", { accept: "application/json" });
      expect(api.status).toBe(503);
      expect(api.headers["retry-after"]).toBe("5");
      expect(JSON.parse(api.body)).toMatchObject({ status: 503, title: "Service unavailable" });
      // Cached before the outage: fresh, it is a HIT; once its time is up (2 s), its last good copy
      // (stale-if-error), marked as such, without Retry-After.
      const stale = await until(() => request(server.port, "/blog/", { accept: "text/html" }), {
        label: "/blog/ is answered with its stale copy",
        accept: (r) => r.headers["x-cache"] !== "HIT",
        timeout: 10_000,
        context: () => server.output(),
      });
      expect(stale.status).toBe(200);
      expect(stale.headers["x-cache"]).toBe("STALE");
      expect(stale.headers["retry-after"]).toBeUndefined();
      expect(stale.body).toBe(cached.body);
      const ready = await request(server.port, "/readyz");
      expect(ready.status).toBe(503);
      expect(ready.headers["retry-after"]).toBe("5");
    } finally {
      await proxy.restore();
    }
    expect((await request(server.port, "/blog/", { accept: "text/html" })).status).toBe(200);
    // Logged as what it is (a 503), with the cause.
    const outage = server.logs().filter((l) => (l.res as { statusCode?: number } | undefined)?.statusCode === 503);
    expect(outage.length).toBeGreaterThan(0);
  });
});

describe("production server: graceful shutdown (must run last in this file)", () => {
  it("finishes the in-flight request, refuses new connections, closes idle keep-alive sockets and exits 0", async () => {
    // An idle keep-alive connection: it must not hold the shutdown up.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    await new Promise<void>((done, fail) =>
      http
        .get({ host: "127.0.0.1", port: server.port, path: "/healthz", headers: { host: "folio.test" }, agent }, (res) => {
          res.resume();
          res.on("end", done);
        })
        .on("error", fail),
    );

    // A request in flight: /readyz waits on a database that now answers 1.5 s late.
    proxy.delayMs = 1500;
    const sent = proxy.nextClientData();
    const keepAlive = new http.Agent({ keepAlive: true });
    const inFlight = request(server.port, "/readyz", {}, { agent: keepAlive });
    await sent; // its query has reached the (slow) database: the handler is running

    const t0 = Date.now();
    server.kill("SIGTERM");
    await server.waitFor(/SIGTERM: shutting down/, 5_000);
    expect(await tryConnect(server.port)).toBe("ECONNREFUSED");

    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ status: "ok", database: true });
    // The client asked for keep-alive; a closing server answers "Connection: close".
    expect(res.headers.connection).toBe("close");

    const exit = await server.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(Date.now() - t0).toBeLessThan(8_000); // not held by the idle keep-alive socket
    // Order in the log: shutting down -> the in-flight request completed -> stopped (last line).
    const logs = server.logs();
    const at = (f: (l: Record<string, unknown>) => boolean) => logs.findIndex(f);
    const begin = at((l) => String(l.msg).startsWith("SIGTERM: shutting down"));
    const done = logs.findLastIndex((l) => (l.req as { url?: string } | undefined)?.url === "/readyz");
    expect(begin).toBeGreaterThanOrEqual(0);
    expect(done).toBeGreaterThan(begin);
    expect(logs.at(-1)?.msg).toBe("stopped");
    agent.destroy();
    keepAlive.destroy();
  }, 30_000);
});
