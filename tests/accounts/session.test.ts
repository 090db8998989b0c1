// Session lifetime: no store access for cookie-less readers, idle and absolute timeouts, throttled
// touches, and the password rehash at login.
import { describe, expect, it, vi } from "vitest";
import request from "supertest";
import argon2 from "argon2";
import { buildApp } from "../../src/app.ts";
import { pool, prisma } from "../../src/db/index.ts";
import { HASH_OPTIONS } from "../../src/accounts/passwords.ts";
import { login, sessionCookie } from "../support/auth.ts";
import { createUser } from "../support/fixtures.ts";

const app = buildApp();

const sidOf = (cookie: string) => decodeURIComponent(cookie.split("=")[1]!).slice(2).split(".")[0]!;

describe("session store access", () => {
  it("a reader without a cookie never reads or writes the store", async () => {
    const queries = vi.spyOn(pool, "query");
    try {
      for (const path of ["/blog/", "/", "/no/such/page/"]) {
        const res = await request(app).get(path);
        expect(res.status).toBeLessThan(500);
        expect(res.headers["set-cookie"]).toBeUndefined();
      }
      expect(queries.mock.calls.length).toBeGreaterThan(0); // the pages asked the database for posts...
      expect(queries.mock.calls.filter(([q]) => String(q).includes('"session"'))).toEqual([]); // ...never for a session
    } finally {
      vi.restoreAllMocks();
    }
  });

  it("rolling expiry is written at most once a minute per session", async () => {
    const { user, password } = await createUser();
    const agent = request.agent(app);
    await login(agent, user.username, password);
    const write = vi.spyOn(pool, "query");
    const expiryWrites = () => write.mock.calls.filter(([q]) => typeof q === "string" && q.startsWith('UPDATE "session" SET expire')).length;
    try {
      for (let i = 0; i < 3; i++) {
        const res = await agent.get("/blog/").expect(200);
        expect(res.headers["set-cookie"]?.[0]).toMatch(/^folio\.sid=.*Expires=/); // the cookie's expiry rolls on
      }
      expect(expiryWrites()).toBe(0); // the login's save was less than a minute ago
      vi.useFakeTimers({ toFake: ["Date"] });
      vi.setSystemTime(Date.now() + 61_000);
      await agent.get("/blog/").expect(200);
      expect(expiryWrites()).toBe(1); // a minute on, the row's expiry is written
    } finally {
      vi.useRealTimers();
      vi.restoreAllMocks();
    }
  });
});

describe("caching", () => {
  it("public (shared-cacheable) responses never carry the session cookie; signed-in pages are private", async () => {
    const { user, password } = await createUser();
    const agent = request.agent(app);
    await login(agent, user.username, password);
    const feed = await agent.get("/blog/feed/rss/").expect(200);
    expect(feed.headers["cache-control"]).toContain("public");
    expect(feed.headers["set-cookie"]).toBeUndefined();
    const page = await agent.get("/blog/").expect(200);
    expect(page.headers["cache-control"]).toBe("private");
    expect(sessionCookie(page)).toBeDefined(); // rolling expiry on ordinary pages
    await agent.get("/accounts/profile/").expect(200); // still signed in
  });
});

describe("timeouts", () => {
  it("idle: a session whose expiry has passed is gone", async () => {
    const { user, password } = await createUser();
    const agent = request.agent(app);
    await login(agent, user.username, password);
    expect((await agent.get("/accounts/profile/").expect(200)).text).toContain(user.username);
    await pool.query(`UPDATE "session" SET expire = now() - interval '1 minute' WHERE (sess::jsonb -> 'passport' ->> 'user') = $1`, [String(user.id)]);
    expect((await agent.get("/accounts/profile/").expect(302)).headers.location).toMatch(/^\/accounts\/login\//);
  });

  it("absolute: a signed-in session older than SESSION_ABSOLUTE_HOURS ends even when active", async () => {
    const { user, password } = await createUser();
    const agent = request.agent(app);
    await login(agent, user.username, password);
    await agent.get("/accounts/profile/").expect(200);
    const { rows } = await pool.query<{ sid: string; sess: { authAt: number } }>(
      `SELECT sid, sess FROM "session" WHERE (sess::jsonb -> 'passport' ->> 'user') = $1`,
      [String(user.id)],
    );
    expect(rows).toHaveLength(1);
    expect(Math.abs(rows[0]!.sess.authAt - Date.now())).toBeLessThan(60_000);
    const old = Date.now() - 12 * 3_600_000 - 1000;
    await pool.query(`UPDATE "session" SET sess = jsonb_set(sess::jsonb, '{authAt}', to_jsonb($2::bigint))::json WHERE sid = $1`, [rows[0]!.sid, old]);
    await agent.get("/accounts/profile/").expect(302);
    const left = await pool.query(`SELECT 1 FROM "session" WHERE sid = $1`, [rows[0]!.sid]);
    expect(left.rowCount).toBe(0);
  });

  it("a deactivated user is signed out on the next request", async () => {
    const { user, password } = await createUser();
    const agent = request.agent(app);
    await login(agent, user.username, password);
    await prisma.user.update({ where: { id: user.id }, data: { isActive: false } });
    await agent.get("/accounts/profile/").expect(302);
  });

  it("a role change applies on the next request (the user is loaded per request)", async () => {
    const { user, password } = await createUser({ role: "READER" });
    const agent = request.agent(app);
    await login(agent, user.username, password);
    await agent.get("/write/posts/").expect(403);
    await prisma.user.update({ where: { id: user.id }, data: { role: "AUTHOR" } });
    await agent.get("/write/posts/").expect(200);
  });

  it("a forged or tampered cookie is ignored", async () => {
    const { user, password } = await createUser();
    const agent = request.agent(app);
    const page = await agent.get("/accounts/login/");
    const token = /name="_csrf" value="([^"]+)"/.exec(page.text)![1];
    const res = await agent.post("/accounts/login/").type("form").send({ _csrf: token, username: user.username, password }).expect(303);
    const cookie = sessionCookie(res)!;
    await request(app).get("/accounts/profile/").set("Cookie", cookie).expect(200);
    const tampered = cookie.replace(/.$/, (c) => (c === "A" ? "B" : "A"));
    await request(app).get("/accounts/profile/").set("Cookie", tampered).expect(302);
    await request(app)
      .get("/accounts/profile/")
      .set("Cookie", `folio.sid=s%3A${sidOf(cookie)}.forged`)
      .expect(302);
    await request(app)
      .get("/accounts/profile/")
      .set("Cookie", `folio.sid=${sidOf(cookie)}`)
      .expect(302); // unsigned
  });
});

describe("password hashing", () => {
  it("argon2id with 19 MiB, t=2, p=1; weaker hashes are re-made at login", async () => {
    expect(HASH_OPTIONS).toMatchObject({ memoryCost: 19_456, timeCost: 2, parallelism: 1 });
    const { user } = await createUser();
    const weak = await argon2.hash("Legacy-Password-2019!", { type: argon2.argon2id, memoryCost: 4096, timeCost: 1, parallelism: 1 });
    await prisma.user.update({ where: { id: user.id }, data: { passwordHash: weak } });
    await login(request.agent(app), user.username, "Legacy-Password-2019!");
    const after = await prisma.user.findUniqueOrThrow({ where: { id: user.id } });
    expect(after.passwordHash).not.toBe(weak);
    expect(after.passwordHash).toMatch(/^\$argon2id\$v=19\$m=19456,p=1,t=2\$/);
    expect(after.lastLogin).not.toBeNull();
  });

  it("an account with an unusable hash (empty) cannot log in", async () => {
    const { user } = await createUser();
    await prisma.user.update({ where: { id: user.id }, data: { passwordHash: "" } });
    const agent = request.agent(app);
    const page = await agent.get("/accounts/login/");
    const token = /name="_csrf" value="([^"]+)"/.exec(page.text)![1];
    await agent.post("/accounts/login/").type("form").send({ _csrf: token, username: user.username, password: "" }).expect(400);
    await agent.post("/accounts/login/").type("form").send({ _csrf: token, username: user.username, password: "anything" }).expect(400);
  });
});

describe("a redirect waits for the session", () => {
  // express-session sends a response's headers before it has stored the session; a browser that
  // follows the redirect at once would read the old session (a lost flash message, seen in CI).
  it("the 303 reaches the client only after the session (flash included) is stored", async () => {
    const { default: express } = await import("express");
    const { default: http } = await import("node:http");
    const { ensureSession, flash, lazySessions } = await import("../../src/web/session.ts");
    const mini = express();
    mini.use(lazySessions([]));
    mini.get("/flash", (req, res) => {
      ensureSession(req);
      flash(req, "success", `saved ${String(req.query.n)}`);
      res.redirect(303, "/next");
    });
    const server = mini.listen(0, "127.0.0.1");
    await new Promise((r) => server.once("listening", r));
    const port = (server.address() as { port: number }).port;
    const stored: { at: number; flash: unknown }[] = [];
    const realQuery = pool.query.bind(pool) as (text: string, params?: unknown[]) => Promise<unknown>;
    // a slow store: the session's write reaches the database 150 ms later (this delay is the thing under
    // test, not a wait for time to pass: the redirect must not go out before the slow write is stored)
    const slowQuery = (text: unknown, params?: unknown[]) => {
      if (typeof text !== "string" || !text.startsWith('INSERT INTO "session"')) return realQuery(text as string, params);
      return new Promise((r) => setTimeout(r, 150))
        .then(() => realQuery(text, params))
        .then((result) => {
          stored.push({ at: Date.now(), flash: (params?.[0] as { flash?: unknown } | undefined)?.flash });
          return result;
        });
    };
    const slowSet = vi.spyOn(pool, "query").mockImplementation(slowQuery as never);
    const headersAt = (path: string, cookie?: string) =>
      new Promise<{ at: number; status: number; cookie?: string }>((resolve, reject) => {
        http
          .get({ port, path, headers: cookie ? { cookie } : {} }, (res) => {
            const at = Date.now();
            res.resume();
            resolve({ at, status: res.statusCode!, cookie: res.headers["set-cookie"]?.[0]?.split(";")[0] });
          })
          .on("error", reject);
      });
    try {
      // a new session (no cookie yet), then the same session again (cookie path)
      const first = await headersAt("/flash?n=1");
      expect(first.status).toBe(303);
      expect(stored).toHaveLength(1);
      expect(first.at).toBeGreaterThanOrEqual(stored[0]!.at);
      expect(stored[0]!.flash).toEqual([{ level: "success", text: "saved 1" }]);
      const second = await headersAt("/flash?n=2", first.cookie);
      expect(second.status).toBe(303);
      const last = stored.at(-1)!;
      expect(second.at).toBeGreaterThanOrEqual(last.at);
      expect(last.flash).toEqual([
        { level: "success", text: "saved 1" },
        { level: "success", text: "saved 2" },
      ]);
    } finally {
      slowSet.mockRestore();
      server.close();
    }
  });
});
