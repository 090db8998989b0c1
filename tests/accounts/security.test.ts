// Security headers, the production settings (a second module graph with NODE_ENV=production) and
// the strict-CSP discipline of the account pages (no inline script/style/handlers).
import { describe, expect, it, vi } from "vitest";
import request from "supertest";
import { buildApp } from "../../src/app.ts";
import { ConfigError, parseConfig } from "../../src/config.ts";
import { csrfFrom, login } from "../support/auth.ts";
import { createUser } from "../support/fixtures.ts";

const app = buildApp();

describe("security headers", () => {
  it("CSP is strict, plus nosniff, Referrer-Policy and framing protection", async () => {
    const res = await request(app).get("/accounts/login/").expect(200);
    const csp = res.headers["content-security-policy"] as string;
    const directives = Object.fromEntries(
      csp
        .split(";")
        .map((d) => d.trim().split(/\s+/))
        .map(([k, ...v]) => [k, v.join(" ")]),
    );
    expect(directives["default-src"]).toBe("'self'");
    expect(directives["script-src"]).toBe("'self'");
    expect(directives["style-src"]).toBe("'self'");
    expect(directives["object-src"]).toBe("'none'");
    expect(directives["base-uri"]).toBe("'none'");
    expect(directives["frame-ancestors"]).toBe("'none'");
    expect(directives["form-action"]).toBe("'self'");
    expect(csp).not.toContain("unsafe-inline");
    expect(csp).not.toContain("unsafe-eval");
    expect(res.headers["x-content-type-options"]).toBe("nosniff");
    expect(res.headers["referrer-policy"]).toBe("strict-origin-when-cross-origin");
    expect(res.headers["x-frame-options"]).toBe("SAMEORIGIN");
    expect(res.headers["x-powered-by"]).toBeUndefined();
    expect(res.headers["strict-transport-security"]).toBeUndefined(); // only in production (below)
    expect(res.headers["cache-control"]).toBe("private, no-store");
  });

  it("account pages have no inline scripts, styles or event handlers", async () => {
    const { user, password } = await createUser({ role: "AUTHOR" });
    const agent = request.agent(app);
    await login(agent, user.username, password);
    const pages = ["/accounts/profile/", "/accounts/password/change/", "/accounts/logout/"];
    const anon = [
      "/accounts/login/",
      "/accounts/signup/",
      "/accounts/signup/done/",
      "/accounts/password/reset/",
      "/accounts/password/reset/done/",
      "/accounts/password/reset/complete/",
    ];
    const bodies = [
      ...(await Promise.all(pages.map(async (p) => (await agent.get(p).expect(200)).text))),
      ...(await Promise.all(anon.map(async (p) => (await request(app).get(p).expect(200)).text))),
    ];
    for (const html of bodies) {
      expect(html).not.toMatch(/<script(?![^>]*\b(src=|type="application\/ld\+json"))[^>]*>/);
      expect(html).not.toMatch(/<style[\s>]/);
      expect(html).not.toMatch(/\sstyle=/);
      expect(html).not.toMatch(/\son[a-z]+=/i);
    }
  });
});

describe("production settings", () => {
  it("start-up refuses the default or a short SESSION_SECRET", () => {
    expect(() => parseConfig({ NODE_ENV: "production" })).toThrow(ConfigError);
    expect(() => parseConfig({ NODE_ENV: "production", SESSION_SECRET: "short-secret" })).toThrow(/SESSION_SECRET/);
    expect(parseConfig({ NODE_ENV: "production", SESSION_SECRET: "k".repeat(40), JWT_KEYS: `a:${"j".repeat(40)}` }).NODE_ENV).toBe("production");
  });

  it("HSTS, Secure __Host- cookie, upgrade-insecure-requests and the Host check", async () => {
    const saved = { ...process.env };
    vi.resetModules();
    Object.assign(process.env, {
      NODE_ENV: "production",
      SESSION_SECRET: "p".repeat(48),
      JWT_KEYS: `k1:${"q".repeat(48)}`,
      SITE_URL: "https://folio.test",
      ALLOWED_HOSTS: "folio.test",
      TRUST_PROXY: "1",
    });
    try {
      const db = await import("../../src/db/client.ts");
      db.connectDb(process.env.TEST_DATABASE_URL!, 2);
      const prodApp = (await import("../../src/app.ts")).buildApp();
      const res = await request(prodApp).get("/accounts/login/").set("Host", "folio.test").set("X-Forwarded-Proto", "https").expect(200);
      expect(res.headers["strict-transport-security"]).toBe("max-age=31536000; includeSubDomains");
      expect(res.headers["content-security-policy"]).toContain("upgrade-insecure-requests");
      const cookie = ([] as string[]).concat(res.headers["set-cookie"] ?? []).find((c) => c.startsWith("__Host-folio.sid="));
      expect(cookie).toBeDefined();
      expect(cookie).toMatch(/; Secure/);
      expect(cookie).toMatch(/Path=\//);
      expect(cookie).not.toMatch(/Domain=/i);
      expect(csrfFrom(res.text)).toMatch(/^[0-9a-f]{64}$/);
      // A login leaves the device cookie (src/accounts/device.ts) under the same rules: __Host-, Secure, HttpOnly.
      const { user, password } = await createUser();
      const signedIn = await request(prodApp)
        .post("/accounts/login/")
        .set("Host", "folio.test")
        .set("X-Forwarded-Proto", "https")
        .set("Cookie", cookie!.split(";")[0]!)
        .type("form")
        .send({ _csrf: csrfFrom(res.text), username: user.username, password })
        .expect(303);
      const device = ([] as string[]).concat(signedIn.headers["set-cookie"] ?? []).find((c) => c.startsWith("__Host-folio.device="));
      expect(device).toMatch(/; Secure/);
      expect(device).toMatch(/; HttpOnly/);
      expect(device).toMatch(/Path=\//);
      expect(device).not.toMatch(/Domain=/i);
      // A Host that is not in ALLOWED_HOSTS is refused.
      await request(prodApp).get("/accounts/login/").set("Host", "evil.example").expect(400);
      await db.disconnectDb();
    } finally {
      process.env = saved;
      vi.resetModules();
    }
  });
});
