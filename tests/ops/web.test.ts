// The web layer's operational promises, through the real app: hashed immutable static files,
// gzip, error pages without internals in production (a real 500: the database goes away), and
// the Host check's rules.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import express from "express";
import request from "supertest";
import { buildApp } from "../../src/app.ts";
import { config } from "../../src/config.ts";
import { connectDb, pool } from "../../src/db/client.ts";
import { seedPosts } from "../../src/blog/seed.ts";
import { allowedHosts } from "../../src/web/security.ts";
import { errorHandler } from "../../src/web/errors.ts";
import { routePaths } from "../../src/web/urls.ts";
import { healthRouter } from "../../src/web/health.ts";
import { blogRouter } from "../../src/blog/routes.ts";
import { discoveryRouter } from "../../src/blog/discovery.ts";
import { accountsRouter } from "../../src/accounts/routes.ts";
import { authoringRouter } from "../../src/authoring/routes.ts";
import { previewsRouter } from "../../src/previews/routes.ts";
import { adminRouter } from "../../src/admin/routes.ts";

const STACK = /\bat .+:\d+:\d+|node_modules|ECONNREFUSED|\.ts:\d+/;

let app: express.Express;
beforeAll(async () => {
  await seedPosts({ posts: 15, seed: 7 });
  app = buildApp();
});

describe("static files", () => {
  it("are linked at content-hashed URLs and served with a one-year immutable cache", async () => {
    const home = await request(app).get("/").expect(200);
    const href = home.text.match(/href="(\/static\/css\/site\.[0-9a-f]{10}\.css)"/)?.[1];
    expect(href).toBeDefined();
    const css = await request(app).get(href!).expect(200);
    expect(css.headers["content-type"]).toMatch(/^text\/css/);
    expect(css.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
    expect(css.text.length).toBeGreaterThan(100);
    const head = await request(app).head(href!).expect(200);
    expect(head.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
  });

  it("answer a stale or missing hash, the unhashed name and traversal attempts with the site's 404", async () => {
    for (const path of [
      "/static/css/site.0123456789.css",
      "/static/css/site.css",
      "/static/css/nope.abcdef0123.css",
      "/static/../package.json",
      "/static/%2e%2e/package.json",
      "/static/css/%ff.css",
    ]) {
      const res = await request(app).get(path).set("Accept", "text/html");
      expect(res.status, path).toBe(404);
      expect(res.headers["cache-control"] ?? "").not.toContain("immutable");
      expect(res.text).toContain("Page not found");
    }
  });

  it("are not served for unsafe methods", async () => {
    const home = await request(app).get("/");
    const href = home.text.match(/href="(\/static\/css\/site\.[0-9a-f]{10}\.css)"/)![1]!;
    const res = await request(app).post(href).type("form").send("a=1");
    expect([403, 404, 405]).toContain(res.status);
  });
});

describe("feature routers behind their prefix (src/app.ts under())", () => {
  it("still answer their paths without the trailing slash and in any letter case, as Express routes do", async () => {
    const loginRedirect = (await request(app).get("/admin/")).headers.location;
    expect(loginRedirect).toMatch(/^\/accounts\/login\/\?next=/);
    for (const path of ["/admin", "/ADMIN/", "/Admin/blog/post/"]) {
      const res = await request(app).get(path);
      expect(res.status, path).toBeGreaterThanOrEqual(300);
      expect(res.status, path).toBeLessThan(400);
      expect(res.headers.location, path).toMatch(/^\/accounts\/login\/\?next=/);
    }
    expect((await request(app).get("/ACCOUNTS/LOGIN/")).status).toBe(200);
    expect((await request(app).get("/accounts/login")).status).toBe(200);
  });

  it("do not swallow look-alike paths", async () => {
    for (const path of ["/administrator/", "/adminx", "/writer/", "/accountsx/login/"]) {
      const res = await request(app).get(path);
      expect(res.status, path).toBe(404);
      expect(res.text, path).toContain("Page not found");
    }
  });
});

describe("named routes", () => {
  it("every route has a name (url() builds its links), except the admin's /<id>/ redirect aliases", () => {
    buildApp(); // registers everything
    type Layer = { route?: { path: string } };
    const paths = [healthRouter, blogRouter, discoveryRouter, accountsRouter, authoringRouter, previewsRouter, adminRouter].flatMap((r) =>
      (r as unknown as { stack: Layer[] }).stack.flatMap((l) => (l.route ? [l.route.path] : [])),
    );
    expect(paths.length).toBeGreaterThan(50);
    const named = routePaths();
    const unnamed = [...new Set(paths.filter((p) => !named.has(p)))];
    expect(unnamed.sort()).toEqual(["/admin/accounts/user/:id/", "/admin/blog/category/:id/", "/admin/blog/post/:id/", "/admin/blog/tag/:id/"]);
  });
});

describe("compression", () => {
  it("gzips HTML when the client accepts it, and not otherwise", async () => {
    const gz = await request(app).get("/").set("Accept-Encoding", "gzip").expect(200);
    expect(gz.headers["content-encoding"]).toBe("gzip");
    expect(gz.headers.vary).toMatch(/Accept-Encoding/i);
    expect(gz.text).toContain("</html>"); // supertest decodes it
    const plain = await request(app).get("/").set("Accept-Encoding", "identity").expect(200);
    expect(plain.headers["content-encoding"]).toBeUndefined();
  });
});

describe("error pages", () => {
  const env = config.NODE_ENV;
  afterEach(() => {
    config.NODE_ENV = env;
  });
  afterAll(() => {
    config.NODE_ENV = env;
  });

  /**
   * Runs `fn` with the app's pool pointed at a database that is up but holds none of Folio's tables
   * (the server's own `postgres` database): every page query fails with an unexpected error (42P01),
   * the kind of failure that is a bug, not an outage (an outage is a 503: tests/ops/server.test.ts).
   */
  async function withBrokenDatabase(fn: () => Promise<void>) {
    const original = pool;
    connectDb(process.env.TEST_DATABASE_URL!.replace(/\/[^/?]+(\?|$)/, "/postgres$1"), 1);
    const broken = pool;
    try {
      await fn();
    } finally {
      connectDb(process.env.TEST_DATABASE_URL!, 5);
      await broken.end().catch(() => {});
      await original.end().catch(() => {});
    }
  }

  it("in production, a failing page shows the 500 page without a stack or the error's text", async () => {
    config.NODE_ENV = "production";
    const prodApp = buildApp();
    await withBrokenDatabase(async () => {
      const res = await request(prodApp).get("/blog/?page=2").set("Accept", "text/html");
      expect(res.status).toBe(500);
      expect(res.headers["content-type"]).toMatch(/^text\/html/);
      expect(res.text).toContain("Something went wrong");
      expect(res.text).not.toMatch(STACK);
      const json = await request(prodApp).get("/blog/?page=2").set("Accept", "application/json");
      expect(json.status).toBe(500);
      expect(json.text).not.toMatch(STACK);
    });
    // and the site works again once the database is back
    await request(prodApp).get("/").expect(200);
  });

  it("in development, the same failure shows the stack (so the production check above means something)", async () => {
    config.NODE_ENV = "development";
    const devApp = buildApp();
    await withBrokenDatabase(async () => {
      const res = await request(devApp).get("/blog/?page=2").set("Accept", "text/html");
      expect(res.status).toBe(500);
      expect(res.text).toMatch(STACK);
    });
  });

  it("404 and 400 pages never show internals", async () => {
    config.NODE_ENV = "production";
    const prodApp = buildApp();
    for (const path of ["/nope/", "/%E0%A4%A", "/blog/%ff/", "/" + "z".repeat(5000)]) {
      const res = await request(prodApp).get(path).set("Accept", "text/html");
      expect([400, 404]).toContain(res.status);
      expect(res.text).not.toMatch(STACK);
    }
  });
});

describe("allowedHosts()", () => {
  function hostApp(hosts: string[]) {
    const a = express();
    a.use(allowedHosts(hosts));
    a.get(["/", "/healthz"], (_req, res) => {
      res.send("ok");
    });
    a.use(errorHandler);
    return a;
  }
  const cases: Array<[string[], string, number]> = [
    [["folio.test"], "folio.test", 200],
    [["folio.test"], "FOLIO.TEST:8443", 200],
    [["folio.test"], "www.folio.test", 400],
    [["folio.test"], "folio.test.evil.example", 400],
    [["folio.test"], "evilfolio.test", 400],
    [["folio.test"], "", 400],
    [[".folio.test"], "folio.test", 200],
    [[".folio.test"], "a.b.folio.test", 200],
    [[".folio.test"], "evilfolio.test", 400],
    [["*"], "anything.example", 200],
    [[], "localhost", 400],
  ];
  for (const [hosts, host, status] of cases) {
    it(`ALLOWED_HOSTS=${hosts.join(",") || "(empty)"}, Host: ${host || "(empty)"} -> ${status}`, async () => {
      const res = await request(hostApp(hosts)).get("/").set("Host", host).set("Accept", "application/json");
      expect(res.status).toBe(status);
    });
  }
  it("lets /healthz through whatever the Host", async () => {
    await request(hostApp(["folio.test"]))
      .get("/healthz")
      .set("Host", "10.1.2.3")
      .expect(200);
  });
});
