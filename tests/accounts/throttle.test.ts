// Brute-force throttling (rate_limit table in PostgreSQL). TRUST_PROXY is on for this file so each
// test can speak from its own client address (X-Forwarded-For).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import request from "supertest";
import { config } from "../../src/config.ts";
import { pool } from "../../src/db/index.ts";
import { LOGIN_LANES } from "../../src/accounts/throttle.ts";
import { csrfFrom } from "../support/auth.ts";
import { createUser } from "../support/fixtures.ts";
import { startSmtp, type TestSmtp } from "../support/smtp.ts";

config.TRUST_PROXY = "true";
const { buildApp } = await import("../../src/app.ts");
const app = buildApp();
let smtp: TestSmtp;
beforeAll(async () => {
  smtp = await startSmtp(); // sign-ups send mail
});
afterAll(async () => {
  await smtp.close();
});

// The sign-up allowances the module states (src/accounts/throttle.ts): per client address, every
// attempt; per e-mail address, each valid form.
const SIGNUP = { ip: { free: 20 }, email: { free: 3 } };

let ipCounter = 10;
const newIp = () => `203.0.113.${ipCounter++}`;

function client(ip: string) {
  const agent = request.agent(app);
  let token: string | undefined;
  return {
    async login(username: string, password: string) {
      if (!token) token = csrfFrom((await agent.get("/accounts/login/").set("X-Forwarded-For", ip).expect(200)).text);
      const res = await agent.post("/accounts/login/").set("X-Forwarded-For", ip).type("form").send({ _csrf: token, username, password });
      if (res.status === 303) token = undefined; // a login rotates the CSRF token
      return res;
    },
    async signup(n: number, fields: Record<string, string> = {}) {
      const t = csrfFrom((await agent.get("/accounts/signup/").set("X-Forwarded-For", ip).expect(200)).text);
      const pw = "Amber-Canyon-Ripple-58";
      return agent
        .post("/accounts/signup/")
        .set("X-Forwarded-For", ip)
        .type("form")
        .send({ _csrf: t, username: `mass${ip.replace(/\D/g, "")}_${n}`, email: `mass${n}.${ip}@example.test`, password1: pw, password2: pw, ...fields });
    },
    async reset(email: string) {
      if (!token) token = csrfFrom((await agent.get("/accounts/password/reset/").set("X-Forwarded-For", ip).expect(200)).text);
      return agent.post("/accounts/password/reset/").set("X-Forwarded-For", ip).type("form").send({ _csrf: token, email });
    },
  };
}

describe("block lengths", () => {
  it("grow from 15 s, doubling with each further failure, capped at 15 minutes", async () => {
    const { user } = await createUser();
    const attacker = client(newIp());
    for (let i = 0; i < LOGIN_LANES.userIp.free; i++) expect((await attacker.login(user.username, `wrong-${i}`)).status).toBe(400);
    // Each failure past the allowance blocks the lane for twice as long as the one before (at most
    // 900 s); the next attempt is refused with a Retry-After of that length (less the moments since).
    // The block then runs out (its stored expiry moved to the past) and the attacker fails again.
    const expected = [15, 30, 60, 120, 240, 480, 900, 900];
    for (const [i, secs] of expected.entries()) {
      expect((await attacker.login(user.username, `again-${i}`)).status).toBe(400);
      const blocked = await attacker.login(user.username, `blocked-${i}`);
      expect(blocked.status).toBe(429);
      const retry = Number(blocked.headers["retry-after"]);
      expect(retry).toBeLessThanOrEqual(secs);
      expect(retry).toBeGreaterThan(secs === 900 ? 480 : secs / 2); // not the step before (nor 960 after 480)
      await pool.query(`UPDATE rate_limit SET expire = $1 WHERE key LIKE 'blk:login_user_ip:%'`, [Date.now() - 1]);
    }
  });
});

describe("login throttling", () => {
  it("blocks a username from one address after 5 failures (429 + Retry-After), even with the right password; other addresses still work", async () => {
    const { user, password } = await createUser();
    const attacker = client(newIp());
    for (let i = 0; i < LOGIN_LANES.userIp.free + 1; i++) expect((await attacker.login(user.username, `wrong-${i}`)).status).toBe(400);
    const blocked = await attacker.login(user.username, password);
    expect(blocked.status).toBe(429);
    const retry = Number(blocked.headers["retry-after"]);
    expect(retry).toBeGreaterThan(0);
    expect(retry).toBeLessThanOrEqual(15);
    expect(blocked.text).toContain("Too many attempts");
    // The real user, from their own address, is not locked out.
    expect((await client(newIp()).login(user.username, password)).status).toBe(303);
    // The block is short: once it has run out (simulated), the attacker's lane accepts attempts again.
    await pool.query(`UPDATE rate_limit SET expire = $1 WHERE key LIKE 'blk:login_user_ip:%'`, [Date.now() - 1]);
    expect((await attacker.login(user.username, password)).status).toBe(303);
  });

  it("a successful login resets the username+address counter", async () => {
    const { user, password } = await createUser();
    const c = client(newIp());
    for (let i = 0; i < 4; i++) expect((await c.login(user.username, "wrong")).status).toBe(400);
    expect((await c.login(user.username, password)).status).toBe(303);
    for (let i = 0; i < 4; i++) expect((await c.login(user.username, "wrong")).status).toBe(400);
    // 8 failures in total, but never more than 4 in a row: not blocked.
    expect((await c.login(user.username, password)).status).toBe(303);
  });

  it("throttles a username attacked from many addresses (distributed guessing)", async () => {
    const { user, password } = await createUser();
    for (let i = 0; i < LOGIN_LANES.user.free + 1; i++) expect((await client(newIp()).login(user.username, `guess-${i}`)).status).toBe(400);
    const res = await client(newIp()).login(user.username, password);
    expect(res.status).toBe(429);
    expect(Number(res.headers["retry-after"])).toBeLessThanOrEqual(15);
  });

  it("throttles one address trying many usernames (credential stuffing)", async () => {
    const ip = newIp();
    const c = client(ip);
    for (let i = 0; i < LOGIN_LANES.ip.free + 1; i++) expect((await c.login(`victim${i}`, "Password123!")).status).toBe(400);
    const { user, password } = await createUser();
    expect((await c.login(user.username, password)).status).toBe(429);
  });

  it("stores only hashed keys (no usernames or addresses in the table)", async () => {
    const { rows } = await pool.query<{ key: string }>(`SELECT key FROM rate_limit`);
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) expect(r.key).toMatch(/^(cnt|blk):(login|reset|signup)_[a-z_]+:[0-9a-f]{40}$/);
  });
});

describe("password reset throttling", () => {
  it("limits requests per address of e-mail", async () => {
    const c = client(newIp());
    for (let i = 0; i < 4; i++) expect((await c.reset("someone@example.test")).status).toBe(303);
    const res = await c.reset("someone@example.test");
    expect(res.status).toBe(429);
    expect(res.headers["retry-after"]).toBeDefined();
    // Another address is unaffected by this e-mail's lane from a new client... unless it is the same e-mail.
    expect((await client(newIp()).reset("other@example.test")).status).toBe(303);
    expect((await client(newIp()).reset("someone@example.test")).status).toBe(429);
  });
});

describe("sign-up throttling", () => {
  it("one address can make 20 attempts, then has to wait", async () => {
    const c = client(newIp());
    for (let i = 0; i < SIGNUP.ip.free + 1; i++) expect((await c.signup(i)).status).toBe(303);
    const res = await c.signup(99);
    expect(res.status).toBe(429);
    expect(Number(res.headers["retry-after"])).toBeGreaterThan(0);
    expect((await client(newIp()).signup(100)).status).toBe(303);
    // The accepted ones were all completed (each mailed its verification link).
    await expect
      .poll(() => smtp.messages.filter((m) => m.subject.startsWith("Confirm your e-mail address")).length, { timeout: 20_000 })
      .toBe(SIGNUP.ip.free + 2);
  });

  it("counts refused attempts too: probing usernames from one address is throttled", async () => {
    const { user } = await createUser();
    const c = client(newIp());
    for (let i = 0; i < SIGNUP.ip.free + 1; i++) {
      const res = await c.signup(i, { username: i % 2 ? user.username : `probe_${i}`, password2: "does-not-match" });
      expect(res.status).toBe(400);
    }
    const res = await c.signup(50);
    expect(res.status).toBe(429);
    expect(res.text).toContain("Too many attempts");
  });

  it("one e-mail address is sent a few messages at most, whichever addresses ask", async () => {
    const { user } = await createUser({ email: "popular@example.test" });
    for (let i = 0; i < SIGNUP.email.free + 1; i++) expect((await client(newIp()).signup(i, { email: "Popular@example.test" })).status).toBe(303);
    const res = await client(newIp()).signup(9, { email: "popular@example.test" });
    expect(res.status).toBe(429);
    await expect.poll(() => smtp.messages.filter((m) => m.to.includes(user.email)).length, { timeout: 10_000 }).toBe(SIGNUP.email.free + 1);
    // A form with errors sends nothing and does not count against the e-mail address.
    expect((await client(newIp()).signup(10, { email: "other.popular@example.test", password2: "nope" })).status).toBe(400);
    expect((await client(newIp()).signup(11, { email: "other.popular@example.test" })).status).toBe(303);
    await smtp.waitFor((m) => m.to.includes("other.popular@example.test"));
  });
});
