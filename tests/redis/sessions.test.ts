// Sessions in Redis (src/web/session.ts with REDIS_URL) through the real app and a real redis-server:
// where they are stored and for how long, "sign out everywhere" through the per-user index, and what
// a request with a session cookie gets while Redis cannot be reached (the connection goes through a
// TCP proxy that the test cuts: Redis keeps its data, the app cannot reach it).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import request from "supertest";
import type { Express } from "express";
import { config } from "../../src/config.ts";
import { redisAvailable, redisPrefix } from "../../src/cache/redis.ts";
import { endUserSessions } from "../../src/web/session.ts";
import { pool } from "../../src/db/client.ts";
import { createUser, signedIn, type Signed } from "../support/fixtures.ts";
import { login } from "../support/auth.ts";
import { connectAppToRedis, type AppRedis, type RawRedis } from "../support/redis.ts";
import { until } from "../support/poll.ts";

let env: AppRedis;
let raw: RawRedis;
let app: Express;

beforeAll(async () => {
  env = await connectAppToRedis();
  raw = env.raw;
  const { buildApp } = await import("../../src/app.ts");
  app = buildApp();
});

afterAll(async () => {
  await env?.close();
});

const sessionKeys = () => raw.keys(`${redisPrefix()}sess:*`);

async function down(): Promise<void> {
  await env.proxy.cut();
  expect(await until(() => !redisAvailable(), 5_000)).toBe(true);
}
async function up(): Promise<void> {
  await env.proxy.restore();
  expect(await until(() => redisAvailable(), 10_000)).toBe(true);
}

describe("sessions in Redis", () => {
  let ann: Signed;

  it("a sign-in is stored in Redis under the site's prefix, expiring with the idle timeout; nothing in PostgreSQL", async () => {
    const before = await pool.query(`SELECT count(*)::int AS n FROM "session"`);
    ann = await signedIn(app, "READER");
    const keys = await sessionKeys();
    expect(keys.length).toBeGreaterThanOrEqual(1);
    const ttl = await raw.ttl(keys[0]!);
    expect(ttl).toBeGreaterThan(config.SESSION_IDLE_MINUTES * 60 - 30);
    expect(ttl).toBeLessThanOrEqual(config.SESSION_IDLE_MINUTES * 60);
    expect(await raw.sMembers(`${redisPrefix()}user-sessions:${ann.user.id}`)).toHaveLength(1);
    const after = await pool.query(`SELECT count(*)::int AS n FROM "session"`);
    expect(after.rows[0].n).toBe(before.rows[0].n);
    await ann.agent.get("/accounts/profile/").expect(200);
  });

  it("Redis unreachable: a GET with the cookie is anonymous, an action needing the session is a 503 with Retry-After (pages and API)", async () => {
    const token = await ann.session.csrf();
    await down();
    try {
      // a reader page: served, as to anyone
      const page = await ann.agent.get("/blog/");
      expect(page.status).toBe(200);
      expect(page.headers["set-cookie"]).toBeUndefined(); // the cookie is left alone
      // a signed-in page: the sign-in page, not an error
      const profile = await ann.agent.get("/accounts/profile/");
      expect([302, 303]).toContain(profile.status);
      // the API: a GET is anonymous, a POST with the session is a 503 problem
      const me = await ann.agent.get("/api/v1/me").set("Accept", "application/json");
      expect(me.status).toBe(401);
      const fav = await ann.agent.post("/api/v1/posts/1/favorite").set("Accept", "application/json").set("X-CSRF-Token", token);
      expect(fav.status).toBe(503);
      expect(fav.headers["retry-after"]).toBe("5");
      expect(fav.headers["content-type"]).toMatch(/application\/problem\+json/);
      // a form post: the site's 503 page
      const out = await ann.agent.post("/accounts/logout/").type("form").send({ _csrf: token });
      expect(out.status).toBe(503);
      expect(out.headers["retry-after"]).toBe("5");
      expect(out.text).toContain('class="error-page"');
      // sign out everywhere cannot be done without Redis: refused with a 503, not half done
      await expect(endUserSessions(ann.user.id)).rejects.toMatchObject({ status: 503 });
    } finally {
      await up();
    }
    // Redis kept the session: signed in again as soon as it is reachable
    await ann.agent.get("/accounts/profile/").expect(200);
  });

  it("ends a user's sessions everywhere (or all but the one kept) through the per-user index", async () => {
    const { user, password } = await createUser({ role: "READER" });
    const browsers = [request.agent(app), request.agent(app)];
    const signIn = async () => {
      for (const b of browsers) await login(b, user.username, password);
    };
    const signedInCount = async () => {
      let n = 0;
      for (const b of browsers) if ((await b.get("/accounts/profile/")).status === 200) n++;
      return n;
    };
    const index = `${redisPrefix()}user-sessions:${user.id}`;

    await signIn();
    expect(await signedInCount()).toBe(2);
    expect(await raw.sMembers(index)).toHaveLength(2);
    expect(await endUserSessions(user.id)).toBe(2);
    expect(await signedInCount()).toBe(0);
    expect(await raw.exists(index)).toBe(0);

    await signIn();
    const [keep] = await raw.sMembers(index);
    expect(await endUserSessions(user.id, keep)).toBe(1);
    expect(await raw.sMembers(index)).toEqual([keep]);
    expect(await signedInCount()).toBe(1);
    // a user without sessions: nothing to end
    expect(await endUserSessions(user.id + 1_000_000)).toBe(0);
  });
});
