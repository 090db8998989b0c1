// Login, logout, sessions and CSRF through the real app (supertest) and the test database.
import { describe, expect, it } from "vitest";
import request from "supertest";
import { buildApp } from "../../src/app.ts";
import { pool, prisma } from "../../src/db/index.ts";
import { LOGIN_FAILED } from "../../src/accounts/auth.ts";
import { csrfFrom, login, logout, sessionCookie } from "../support/auth.ts";
import { createUser } from "../support/fixtures.ts";
import { FORM_BODY_LIMIT_BYTES } from "../../src/web/limits.ts";

const app = buildApp();

async function loginPage(agent: ReturnType<typeof request.agent>) {
  const page = await agent.get("/accounts/login/").expect(200);
  return { token: csrfFrom(page.text), cookie: sessionCookie(page) };
}

describe("login", () => {
  it("signs in with the username or the e-mail, case-insensitively, and records lastLogin", async () => {
    const { user, password } = await createUser({ username: "MixedCase", email: "mixed@example.test" });
    for (const name of ["MixedCase", "mixedcase", "MIXED@example.TEST"]) {
      const agent = request.agent(app);
      await login(agent, name, password);
      const profile = await agent.get("/accounts/profile/").expect(200);
      expect(profile.text).toContain("mixed@example.test");
    }
    const row = await prisma.user.findUniqueOrThrow({ where: { id: user.id } });
    expect(row.lastLogin).toBeInstanceOf(Date);
  });

  it("gives the same message for an unknown user and a wrong password", async () => {
    const { user } = await createUser();
    const agent = request.agent(app);
    const { token } = await loginPage(agent);
    const wrong = await agent.post("/accounts/login/").type("form").send({ _csrf: token, username: user.username, password: "not the password" });
    const unknown = await agent.post("/accounts/login/").type("form").send({ _csrf: token, username: "nobody-here", password: "not the password" });
    expect(wrong.status).toBe(400);
    expect(unknown.status).toBe(400);
    const msg = LOGIN_FAILED.replace(/'/g, "&#39;");
    expect(wrong.text).toContain(msg);
    expect(unknown.text).toContain(msg);
    // The username is kept in the form, the password never.
    expect(wrong.text).toContain(`value="${user.username}"`);
    expect(wrong.text).not.toContain("not the password");
  });

  it("spends similar time on unknown users and wrong passwords (dummy hash)", async () => {
    const { user } = await createUser();
    const agent = request.agent(app);
    const { token } = await loginPage(agent);
    const time = async (username: string) => {
      const t = performance.now();
      await agent.post("/accounts/login/").type("form").send({ _csrf: token, username, password: "wrong password here" });
      return performance.now() - t;
    };
    await time("warm-up-user"); // the dummy hash is made once
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 3; i++) {
      known.push(await time(user.username));
      unknown.push(await time(`ghost${i}`));
    }
    const med = (a: number[]) => a.sort((x, y) => x - y)[1]!;
    // Both paths run one argon2 verification (tens of ms); a missing verification would be ~1-2 ms.
    expect(med(unknown)).toBeGreaterThan(med(known) * 0.5);
    expect(med(unknown)).toBeGreaterThan(10);
  });

  it("refuses inactive accounts with the same message", async () => {
    const { user, password } = await createUser({ isActive: false });
    const agent = request.agent(app);
    const { token } = await loginPage(agent);
    const res = await agent.post("/accounts/login/").type("form").send({ _csrf: token, username: user.username, password });
    expect(res.status).toBe(400);
    expect(res.text).toContain(LOGIN_FAILED.replace(/'/g, "&#39;"));
  });

  it("changes the session id at login and issues a new CSRF token", async () => {
    const { user, password } = await createUser();
    const agent = request.agent(app);
    const before = await loginPage(agent);
    expect(before.cookie).toBeDefined();
    const res = await agent.post("/accounts/login/").type("form").send({ _csrf: before.token, username: user.username, password }).expect(303);
    const after = sessionCookie(res);
    expect(after).toBeDefined();
    expect(after).not.toBe(before.cookie);
    // The pre-login session is gone from the store; the old token no longer works.
    const oldSid = decodeURIComponent(before.cookie!.split("=")[1]!).slice(2).split(".")[0];
    const { rowCount } = await pool.query(`SELECT 1 FROM "session" WHERE sid = $1`, [oldSid]);
    expect(rowCount).toBe(0);
    const profile = await agent.get("/accounts/profile/").expect(200);
    expect(csrfFrom(profile.text)).not.toBe(before.token);
    await agent.post("/accounts/logout/").type("form").send({ _csrf: before.token }).expect(403);
  });

  it("stores the signed-in session (with its login time) before the redirect is sent", async () => {
    // express-session's own save at res.end sends the headers first; a browser following the 303
    // at once must find the complete session, or the absolute-timeout check signs it out.
    const { user, password } = await createUser();
    const agent = request.agent(app);
    const { token } = await loginPage(agent);
    const res = await agent.post("/accounts/login/").type("form").send({ _csrf: token, username: user.username, password }).expect(303);
    const sid = decodeURIComponent(sessionCookie(res)!.split("=")[1]!).slice(2).split(".")[0];
    const { rows } = await pool.query(`SELECT sess FROM "session" WHERE sid = $1`, [sid]);
    expect(typeof rows[0]?.sess.authAt).toBe("number");
    expect(String(rows[0]?.sess.passport.user)).toBe(String(user.id));
  });

  it("cookie flags: HttpOnly, SameSite=Lax, Path=/, no Domain (Secure + __Host- in production)", async () => {
    const res = await request(app).get("/accounts/login/").expect(200);
    const raw = ([] as string[]).concat(res.headers["set-cookie"] ?? []).find((c) => c.startsWith("folio.sid="))!;
    expect(raw).toMatch(/HttpOnly/i);
    expect(raw).toMatch(/SameSite=Lax/i);
    expect(raw).toMatch(/Path=\//);
    expect(raw).not.toMatch(/Domain=/i);
    // Idle timeout: the cookie expires SESSION_IDLE_MINUTES (120) from now, renewed on activity.
    const expires = Date.parse(/Expires=([^;]+)/.exec(raw)![1]!);
    expect(Math.abs(expires - (Date.now() + 120 * 60_000))).toBeLessThan(60_000);
  });

  it("does not create a session for anonymous readers (no cookie, no row)", async () => {
    const before = (await pool.query(`SELECT count(*) AS n FROM "session"`)).rows[0].n;
    const res = await request(app).get("/blog/");
    expect(res.headers["set-cookie"]).toBeUndefined();
    const home = await request(app).get("/accounts/password/reset/done/");
    expect(home.headers["set-cookie"]).toBeUndefined();
    const after = (await pool.query(`SELECT count(*) AS n FROM "session"`)).rows[0].n;
    expect(after).toBe(before);
  });

  it("redirects to a safe ?next= after login", async () => {
    const { user, password } = await createUser();
    const agent = request.agent(app);
    const page = await agent.get("/accounts/login/?next=/accounts/profile/").expect(200);
    expect(page.text).toContain('name="next" value="/accounts/profile/"');
    const res = await agent
      .post("/accounts/login/")
      .type("form")
      .send({ _csrf: csrfFrom(page.text), username: user.username, password, next: "/accounts/profile/" })
      .expect(303);
    expect(res.headers.location).toBe("/accounts/profile/");
  });

  it.each([
    "//evil.com",
    "https://evil.com",
    "/\\evil.com",
    "\\\\evil.com",
    "javascript:alert(1)",
    "/%2F%2Fevil.com",
    "/%5Cevil.com",
    "///evil.com",
    " /\t/evil.com",
    "http:/evil.com",
    "/ok/../..//evil.com",
  ])("refuses the open redirect next=%s", async (next) => {
    const { user, password } = await createUser();
    const agent = request.agent(app);
    const page = await agent.get(`/accounts/login/?next=${encodeURIComponent(next)}`).expect(200);
    expect(page.text).not.toContain("evil.com");
    const res = await agent
      .post("/accounts/login/")
      .type("form")
      .send({ _csrf: csrfFrom(page.text), username: user.username, password, next })
      .expect(303);
    expect(res.headers.location).toBe("/");
  });

  it("sends anonymous users to the login page with ?next= and back after login", async () => {
    const res = await request(app).get("/accounts/profile/").expect(302);
    expect(res.headers.location).toBe("/accounts/login/?next=%2Faccounts%2Fprofile%2F");
  });
});

describe("logout", () => {
  it("is POST only, destroys the session and the old cookie stops working", async () => {
    const { user, password } = await createUser();
    const agent = request.agent(app);
    const { token } = await loginPage(agent);
    const signedIn = await agent.post("/accounts/login/").type("form").send({ _csrf: token, username: user.username, password }).expect(303);
    const cookieHeader = sessionCookie(signedIn)!;
    expect(cookieHeader).toMatch(/folio\.sid=/);
    await request(app).get("/accounts/profile/").set("Cookie", cookieHeader).expect(200);
    const s = { csrf: async () => csrfFrom((await agent.get("/accounts/profile/")).text) };
    // GET shows a confirmation form and does not log out.
    const confirm = await agent.get("/accounts/logout/").expect(200);
    expect(confirm.text).toContain('method="post"');
    await agent.get("/accounts/profile/").expect(200);

    const out = await agent
      .post("/accounts/logout/")
      .type("form")
      .send({ _csrf: await s.csrf() })
      .expect(200);
    expect(out.text).toContain("Logged out");
    expect(([] as string[]).concat(out.headers["set-cookie"] ?? []).join()).toMatch(/folio\.sid=;/);
    // Replaying the old cookie: anonymous again.
    const replay = await request(app).get("/accounts/profile/").set("Cookie", cookieHeader).expect(302);
    expect(replay.headers.location).toContain("/accounts/login/");
  });

  it("logout helper works and the header shows log in afterwards", async () => {
    const { user, password } = await createUser();
    const agent = request.agent(app);
    const s = await login(agent, user.username, password);
    const page = await agent.get("/accounts/profile/");
    expect(page.text).toContain(`>${user.username}</a>`);
    await logout(agent, s);
    const after = await agent.get("/accounts/login/").expect(200);
    expect(after.text).toContain(">Log in</a>");
  });
});

describe("CSRF", () => {
  it("refuses a login without a token or with a forged one (403 page that explains)", async () => {
    const { user, password } = await createUser();
    const agent = request.agent(app);
    await loginPage(agent);
    const missing = await agent.post("/accounts/login/").type("form").send({ username: user.username, password }).expect(403);
    expect(missing.text).toContain("CSRF verification failed");
    const forged = await agent
      .post("/accounts/login/")
      .type("form")
      .send({ _csrf: "a".repeat(64), username: user.username, password })
      .expect(403);
    expect(forged.text).toContain("reload");
    // No session at all (cross-site form post with no cookie):
    const nosession = await request(app).post("/accounts/login/").type("form").send({ _csrf: "x", username: user.username, password }).expect(403);
    expect(nosession.text).toContain("cookie");
  });

  it("refuses logout, sign-up, reset and profile posts without the token", async () => {
    const { user, password } = await createUser();
    const agent = request.agent(app);
    await login(agent, user.username, password);
    for (const path of [
      "/accounts/logout/",
      "/accounts/signup/",
      "/accounts/password/reset/",
      "/accounts/profile/",
      "/accounts/password/change/",
      "/accounts/profile/logout-everywhere/",
    ]) {
      const res = await agent.post(path).type("form").send({ email: "a@b.c", username: "x" });
      expect(res.status, path).toBe(403);
    }
    // still signed in: the logout was refused
    await agent.get("/accounts/profile/").expect(200);
  });

  it("accepts the token in the X-CSRF-Token header", async () => {
    const { user, password } = await createUser();
    const agent = request.agent(app);
    const s = await login(agent, user.username, password);
    await agent
      .post("/accounts/logout/")
      .set("X-CSRF-Token", await s.csrf())
      .expect(200);
  });

  it("a token as an array or an object is refused, not a crash", async () => {
    const agent = request.agent(app);
    const { token } = await loginPage(agent);
    const res = await agent.post("/accounts/login/").type("form").send(`_csrf=${token}&_csrf=${token}&username=a&password=b`);
    expect(res.status).toBe(403);
    const json = await agent
      .post("/accounts/login/")
      .set("Content-Type", "application/json")
      .send(JSON.stringify({ _csrf: token }));
    expect(json.status).toBe(403);
  });
});

describe("hostile input on the login form", () => {
  it.each([
    ["huge username", { username: "a".repeat(90_000), password: "x" }],
    ["arrays", "username=a&username=b&password=c&password=d"],
    ["missing fields", {}],
    ["NUL bytes", { username: "admin\u0000", password: "pass\u0000word" }],
    ["SQL", { username: "' OR 1=1 --", password: "' OR '1'='1" }],
    ["huge password", { username: "someone", password: "p".repeat(5000) }],
  ])("%s -> 400 with the form, never 500", async (_label, body) => {
    const agent = request.agent(app);
    const { token } = await loginPage(agent);
    const req = agent.post("/accounts/login/").type("form");
    const res = typeof body === "string" ? await req.send(`${body}&_csrf=${token}`) : await req.send({ ...body, _csrf: token });
    expect(res.status).toBe(400);
    expect(res.text).toContain("Log in");
  });

  it("a body over the stated form limit (src/web/limits.ts) -> 413", async () => {
    const agent = request.agent(app);
    const { token } = await loginPage(agent);
    const res = await agent
      .post("/accounts/login/")
      .type("form")
      .send({ _csrf: token, username: "a".repeat(FORM_BODY_LIMIT_BYTES), password: "x" });
    expect(res.status).toBe(413);
  });

  it("malformed percent-encoding in the body or in next -> 400/200, not 500", async () => {
    const agent = request.agent(app);
    const { token } = await loginPage(agent);
    const res = await agent.post("/accounts/login/").type("form").send(`_csrf=${token}&username=%E0%A4%A&password=%ZZ`);
    expect(res.status).toBe(400);
    const page = await agent.get("/accounts/login/?next=%E0%A4%A");
    expect(page.status).toBeLessThan(500);
  });
});
