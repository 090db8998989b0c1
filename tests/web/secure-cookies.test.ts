// SECURE_COOKIES (Django's SESSION_COOKIE_SECURE / CSRF_COOKIE_SECURE): the real app in production, in a
// second module graph each (cookie names are fixed when the modules load), over plain HTTP.
//  - SECURE_COOKIES=false: a sign-in works over plain HTTP (what `npm run fleet`'s loopback Nginx serves):
//    the session cookie (which holds the CSRF token) and the device cookie come without Secure and
//    without the __Host- prefix, the CSRF check passes, the signed-in page answers.
//  - unset: Secure __Host- cookies (none at all over plain HTTP, whose form says why it cannot work).
//  - check:deploy reports SECURE_COOKIES=false (folio.W011).
import { afterAll, describe, expect, it, vi } from "vitest";
import request from "supertest";
import type { Express } from "express";
import { checkDeploy } from "../../src/cli/check-deploy.ts";
import { csrfFrom } from "../support/auth.ts";
import { createUser } from "../support/fixtures.ts";

const PRODUCTION = {
  NODE_ENV: "production",
  SESSION_SECRET: "p".repeat(48),
  JWT_KEYS: `k1:${"q".repeat(48)}`,
  SITE_URL: "http://folio.test",
  ALLOWED_HOSTS: "folio.test",
  TRUST_PROXY: "false",
};

const cookies = (res: { headers: Record<string, unknown> }) => ([] as string[]).concat((res.headers["set-cookie"] as string[] | undefined) ?? []);

/** A production app built from fresh modules with `env`; `run` gets it, the database is closed after. */
async function withProductionApp(env: Record<string, string>, run: (app: Express) => Promise<void>): Promise<void> {
  const saved = { ...process.env };
  vi.resetModules();
  delete process.env.SECURE_COOKIES;
  Object.assign(process.env, PRODUCTION, env);
  const db = await import("../../src/db/client.ts");
  try {
    db.connectDb(process.env.TEST_DATABASE_URL!, 2);
    await run((await import("../../src/app.ts")).buildApp());
  } finally {
    await db.disconnectDb();
    process.env = saved;
    vi.resetModules();
  }
}

afterAll(() => vi.resetModules());

describe("SECURE_COOKIES", () => {
  it("false in production: a sign-in over plain HTTP works, its cookies are not Secure", async () => {
    await withProductionApp({ SECURE_COOKIES: "false" }, async (app) => {
      const page = await request(app).get("/accounts/login/").set("Host", "folio.test").expect(200);
      expect(page.text).not.toContain("insecure-transport"); // no "this form cannot work" notice
      expect(page.headers["content-security-policy"]).not.toContain("upgrade-insecure-requests");
      const sid = cookies(page).find((c) => c.startsWith("folio.sid="));
      expect(sid).toBeDefined();
      expect(sid).not.toMatch(/; Secure/i);
      expect(sid).toMatch(/; HttpOnly/);
      expect(cookies(page).some((c) => c.startsWith("__Host-"))).toBe(false);

      const { user, password } = await createUser();
      const signedIn = await request(app)
        .post("/accounts/login/")
        .set("Host", "folio.test")
        .set("Cookie", sid!.split(";")[0]!)
        .type("form")
        .send({ _csrf: csrfFrom(page.text), username: user.username, password })
        .expect(303);
      const session = cookies(signedIn).find((c) => c.startsWith("folio.sid="));
      const device = cookies(signedIn).find((c) => c.startsWith("folio.device="));
      expect(session).not.toMatch(/; Secure/i);
      expect(device).toBeDefined();
      expect(device).not.toMatch(/; Secure/i);
      const profile = await request(app).get("/accounts/profile/").set("Host", "folio.test").set("Cookie", session!.split(";")[0]!).expect(200);
      expect(profile.text).toContain(user.username);

      // A wrong token is still refused: only the Secure flag changed, not the CSRF check.
      await request(app)
        .post("/accounts/login/")
        .set("Host", "folio.test")
        .set("Cookie", sid!.split(";")[0]!)
        .type("form")
        .send({ _csrf: "0".repeat(64), username: user.username, password })
        .expect(403);
    });
  });

  it("unset in production: cookies are Secure with __Host-, so plain HTTP gets none and its form says why", async () => {
    await withProductionApp({ TRUST_PROXY: "1" }, async (app) => {
      const plain = await request(app).get("/accounts/login/").set("Host", "folio.test").expect(200);
      expect(plain.text).toContain("insecure-transport");
      expect(cookies(plain)).toEqual([]); // express-session sets no Secure cookie on a plain-HTTP request
      const https = await request(app).get("/accounts/login/").set("Host", "folio.test").set("X-Forwarded-Proto", "https").expect(200);
      expect(https.text).not.toContain("insecure-transport");
      expect(https.headers["content-security-policy"]).toContain("upgrade-insecure-requests");
      const sid = cookies(https).find((c) => c.startsWith("__Host-folio.sid="));
      expect(sid).toMatch(/; Secure/);
      expect(cookies(https).some((c) => c.startsWith("folio.sid="))).toBe(false);
    });
  });

  it("check:deploy warns when SECURE_COOKIES is false (folio.W011), not when unset or true", async () => {
    const safe = {
      ...PRODUCTION,
      SITE_URL: "https://folio.test",
      TRUST_PROXY: "1",
      SMTP_URL: "smtps://user:pass@mail.example.com",
      SIGNUP_ENABLED: "false",
      DATABASE_URL: "postgresql://folio@db.internal/folio",
      SEED_DEMO: "false",
      SESSION_SECRET: "Zq8x0rVbK2mW9tLs4YhNc7PdE1aUf6Jg3RiOeXvB5kT",
      JWT_KEYS: "k1:Hq3vN8pX2mR7tL0sY5wB9cF4jK6gD1aE",
    };
    const ids = async (env: Record<string, string>) => (await checkDeploy(env)).map((f) => f.id);
    expect(await ids(safe)).toEqual([]);
    expect(await ids({ ...safe, SECURE_COOKIES: "true" })).toEqual([]);
    expect(await ids({ ...safe, SECURE_COOKIES: "" })).toEqual([]); // empty is unset, not off
    const findings = await checkDeploy({ ...safe, SECURE_COOKIES: "false" });
    expect(findings.map((f) => [f.id, f.level])).toEqual([["folio.W011", "warning"]]);
    expect(findings[0]!.message).toContain("SECURE_COOKIES");
  });
});
