// The API's authentication through the real app and database: POST /auth/token (the login form's
// credentials check and throttling lanes, shared both ways), rotation at /auth/refresh (a reused refresh
// token revokes its family; two concurrent exchanges cannot both succeed), /auth/revoke, /auth/verify,
// the session cookie with CSRF (DRF's SessionAuthentication), and every "sign out everywhere" path
// (password change, reset, admin set password, deactivation, log out everywhere) revoking API refresh
// tokens. TRUST_PROXY is on for this file so throttling tests speak from their own address.
import { describe, expect, it } from "vitest";
import request from "supertest";
import jwt from "jsonwebtoken";
import { config } from "../../src/config.ts";
import { pool, prisma } from "../../src/db/index.ts";
import { LOGIN_FAILED } from "../../src/accounts/auth.ts";
import { LOGIN_LANES } from "../../src/accounts/throttle.ts";
import { issueResetToken } from "../../src/accounts/reset.ts";
import { rotateRefreshToken } from "../../src/api/tokens.ts";
import type { SessionUser } from "../../src/accounts/users.ts";
import type { Role } from "../../src/generated/prisma/client.ts";
import { csrfFrom, login } from "../support/auth.ts";
import { createUser, csrfPost, signedIn } from "../support/fixtures.ts";
import { expectContract } from "./support/contract.ts";

config.TRUST_PROXY = "true";
const { buildApp } = await import("../../src/app.ts");
const app = buildApp();

const API = "/api/v1";
const NEW_PASSWORD = "Quartz-Lantern-Meadow-47";
let ipCounter = 10;
const newIp = () => `198.51.100.${ipCounter++}`;

interface Pair {
  access: string;
  refresh: string;
}

function post(path: string, body: unknown, ip = "192.0.2.1") {
  return request(app)
    .post(API + path)
    .set("X-Forwarded-For", ip)
    .send(body as object);
}

async function obtain(username: string, password: string, ip?: string) {
  return expectContract(await post("/auth/token", { username, password }, ip));
}

async function tokensFor(username: string, password: string): Promise<Pair> {
  const res = await obtain(username, password);
  expect(res.status, res.text).toBe(200);
  return res.body as Pair;
}

const refresh = async (token: string) => expectContract(await post("/auth/refresh", { refresh: token }));
const me = (access: string) => request(app).get(`${API}/me`).set("Authorization", `Bearer ${access}`);
const claims = (token: string) => jwt.decode(token) as Record<string, unknown>;

/**
 * The same access token as issued `seconds` earlier (re-signed with the signing key). A sign-out
 * everywhere refuses tokens of earlier seconds only (iat is in whole seconds: a login in the sign-out's
 * own second must work), and a test runs within one second: this is the token of a second before.
 */
function issuedEarlier(access: string, seconds = 1): string {
  const { iat, nbf, exp, ...rest } = claims(access) as Record<string, unknown> & { iat: number; nbf: number; exp: number };
  const key = config.JWT_KEYS[0]!;
  return jwt.sign({ ...rest, iat: iat - seconds, nbf: nbf - seconds, exp: exp - seconds }, key.secret, { algorithm: "HS256", keyid: key.kid });
}

async function familyRows(refreshToken: string) {
  const fam = claims(refreshToken).fam as string;
  const { rows } = await pool.query<{ id: string; usedAt: Date | null; revokedAt: Date | null }>(
    `SELECT id, "usedAt", "revokedAt" FROM "ApiRefreshToken" WHERE "familyId" = $1 ORDER BY "createdAt", id`,
    [fam],
  );
  return rows;
}

/** A browser signed in through the login form as a new user of `role` (or as `who`), with its password. */
async function browserOf(role: Role, who?: { user: SessionUser; password: string }) {
  const { user, password } = who ?? (await createUser({ role }));
  const agent = request.agent(app);
  const session = await login(agent, user.username, password);
  return { agent, session, user, password };
}

function expect401(res: request.Response, detail?: string) {
  expect(res.status, res.text).toBe(401);
  expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
  expect(res.headers["www-authenticate"]).toMatch(/^Bearer realm="folio"/);
  if (detail) expect(res.body.detail).toBe(detail);
}

describe("the token flow", () => {
  it("token -> me -> refresh -> the old refresh token reused revokes the family -> the new one is refused too", async () => {
    const { user, password } = await createUser({ role: "AUTHOR" });
    const res = await obtain(user.username, password);
    expect(res.status).toBe(200);
    expect(res.headers["cache-control"]).toBe("no-store");
    expect(Object.keys(res.body).sort()).toEqual(["access", "expiresIn", "refresh", "tokenType"]);
    expect(res.body.tokenType).toBe("Bearer");
    expect(res.body.expiresIn).toBe(300);
    const first = res.body as Pair;

    const access = claims(first.access);
    expect(access).toMatchObject({ token_type: "access", sub: String(user.id), iss: config.SITE_URL, aud: "folio-api", role: "AUTHOR" });
    expect((access.exp as number) - (access.iat as number)).toBe(300);
    expect(jwt.decode(first.access, { complete: true })!.header).toMatchObject({ alg: "HS256", kid: config.JWT_KEYS[0]!.kid });
    const r1 = claims(first.refresh);
    expect(r1).toMatchObject({ token_type: "refresh", sub: String(user.id), email: user.email, role: "AUTHOR", iss: config.SITE_URL, aud: "folio-api" });
    expect((r1.exp as number) - (r1.iat as number)).toBe(7 * 24 * 3600);

    const mine = expectContract(await me(first.access).expect(200));
    expect(mine.body).toMatchObject({ id: user.id, username: user.username, role: "AUTHOR" });

    const rotated = await refresh(first.refresh);
    expect(rotated.status, rotated.text).toBe(200);
    const second = rotated.body as Pair;
    expect(second.refresh).not.toBe(first.refresh);
    expect(claims(second.refresh).fam).toBe(r1.fam);
    expect(claims(second.refresh).jti).not.toBe(r1.jti);
    await me(second.access).expect(200);
    let rows = await familyRows(first.refresh);
    expect(rows).toHaveLength(2);
    expect(rows.find((r) => r.id === r1.jti)!.usedAt).not.toBeNull();
    expect(rows.every((r) => r.revokedAt === null)).toBe(true);

    // The first refresh token again: a copy is in use somewhere. The whole family is revoked.
    expect401(await refresh(first.refresh), "The token is invalid, expired or revoked.");
    rows = await familyRows(first.refresh);
    expect(rows.every((r) => r.revokedAt !== null)).toBe(true);
    expect401(await refresh(second.refresh));
    // The access token already issued lives out its 5 minutes (not stored, as simplejwt's).
    await me(second.access).expect(200);
  });

  it("logs in by e-mail address too, case-insensitively, like the login form", async () => {
    const { user, password } = await createUser();
    const res = await obtain(user.email.toUpperCase(), password);
    expect(res.status).toBe(200);
    expect(claims(res.body.access).sub).toBe(String(user.id));
  });

  it("wrong password, unknown user and inactive account: one 401 with the login form's message; the password as typed", async () => {
    const { user, password } = await createUser();
    const { user: inactive, password: inactivePw } = await createUser({ isActive: false });
    const ip = newIp();
    for (const [u, p] of [
      [user.username, "wrong-password"],
      [user.username, password.toUpperCase()],
      [user.username, ` ${password}`],
      ["nobody-here", password],
      [inactive.username, inactivePw],
    ] as const) {
      const res = await obtain(u, p, ip);
      expect401(res, LOGIN_FAILED);
      expect(res.text).not.toMatch(/access|refresh/);
    }
    expect(await prisma.apiRefreshToken.count({ where: { userId: { in: [user.id, inactive.id] } } })).toBe(0);
  });

  it("refuses bad bodies with field messages (400), other media types (415) and unknown fields", async () => {
    const missing = await obtain("someone", "");
    expect(missing.status).toBe(400);
    expect(missing.body.errors).toEqual({ password: "Enter your password." });
    const extra = expectContract(await post("/auth/token", { username: "a", password: "b", role: "ADMIN" }));
    expect(extra.status).toBe(400);
    expect(extra.body.errors).toEqual({ role: "Unknown field." });
    const wrongType = expectContract(await post("/auth/token", { username: ["a"], password: 1 }));
    expect(wrongType.status).toBe(400);
    expect(Object.keys(wrongType.body.errors).sort()).toEqual(["password", "username"]);
    const nul = expectContract(await post("/auth/token", { username: "a\u0000b", password: "x" }));
    expect(nul.status).toBe(400);
    const form = expectContract(await request(app).post(`${API}/auth/token`).type("form").send({ username: "a", password: "b" }));
    expect(form.status).toBe(415);
    const noRefresh = expectContract(await post("/auth/refresh", {}));
    expect(noRefresh.status).toBe(400);
    expect(noRefresh.body.errors).toHaveProperty("refresh");
    const huge = expectContract(await post("/auth/verify", { token: "a".repeat(5000) }));
    expect(huge.status).toBe(400);
  });

  it("two concurrent exchanges of one refresh token: exactly one succeeds", async () => {
    const { user, password } = await createUser();
    const pair = await tokensFor(user.username, password);
    const results = await Promise.all([refresh(pair.refresh), refresh(pair.refresh)]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 401]);
    // One new token was made, and the second exchange, a reuse, revoked the family.
    const rows = await familyRows(pair.refresh);
    expect(rows).toHaveLength(2);
    expect(rows.every((r) => r.revokedAt !== null)).toBe(true);

    // The same race straight on the rotation, eight at once: one winner.
    const other = await tokensFor(user.username, password);
    const many = await Promise.all(Array.from({ length: 8 }, () => rotateRefreshToken(other.refresh)));
    expect(many.filter((r) => r.ok)).toHaveLength(1);
    expect(await familyRows(other.refresh)).toHaveLength(2);
  });

  it("revoke: 204, idempotent, the family refused afterwards; a forged token is a 401", async () => {
    const { user, password } = await createUser();
    const pair = await tokensFor(user.username, password);
    const next = (await refresh(pair.refresh)).body as Pair;
    const revoked = expectContract(await post("/auth/revoke", { refresh: next.refresh }));
    expect(revoked.status).toBe(204);
    expect(revoked.text).toBe("");
    expect(expectContract(await post("/auth/revoke", { refresh: next.refresh })).status).toBe(204);
    expect((await familyRows(pair.refresh)).every((r) => r.revokedAt !== null)).toBe(true);
    expect401(await refresh(next.refresh));
    expect401(expectContract(await post("/auth/revoke", { refresh: "not.a.token" })));
    // an access token does not name a family
    expect401(expectContract(await post("/auth/revoke", { refresh: next.access })));
    // another login of the same user is a family of its own, untouched
    const again = await tokensFor(user.username, password);
    expect((await refresh(again.refresh)).status).toBe(200);
  });

  it("verify: 200 with the type and expiry of a usable token, 401 for a used, revoked or bad one", async () => {
    const { user, password } = await createUser();
    const pair = await tokensFor(user.username, password);
    const verify = async (token: string) => expectContract(await post("/auth/verify", { token }));
    const a = await verify(pair.access);
    expect(a.status).toBe(200);
    expect(a.body).toEqual({ valid: true, tokenType: "access", exp: claims(pair.access).exp });
    const r = await verify(pair.refresh);
    expect(r.body).toEqual({ valid: true, tokenType: "refresh", exp: claims(pair.refresh).exp });
    const next = (await refresh(pair.refresh)).body as Pair;
    expect401(await verify(pair.refresh)); // used up
    expect((await verify(next.refresh)).status).toBe(200);
    await post("/auth/revoke", { refresh: next.refresh }).expect(204);
    expect401(await verify(next.refresh));
    expect401(await verify("garbage"));
  });
});

describe("throttling: the login form's lanes", () => {
  function browser(ip: string) {
    const agent = request.agent(app);
    return {
      async login(username: string, password: string) {
        const token = csrfFrom((await agent.get("/accounts/login/").set("X-Forwarded-For", ip).expect(200)).text);
        return agent.post("/accounts/login/").set("X-Forwarded-For", ip).type("form").send({ _csrf: token, username, password });
      },
    };
  }

  it("failures through the API and through the form count toward one block (both ways), then 429 with Retry-After even with the right password", async () => {
    const free = LOGIN_LANES.userIp.free;
    // API failures, then form failures: the form is blocked.
    {
      const { user, password } = await createUser();
      const ip = newIp();
      const form = browser(ip);
      for (let i = 0; i < 3; i++) expect401(await obtain(user.username, `api-wrong-${i}`, ip), LOGIN_FAILED);
      for (let i = 3; i <= free; i++) expect((await form.login(user.username, `form-wrong-${i}`)).status).toBe(400);
      const blocked = await form.login(user.username, password);
      expect(blocked.status).toBe(429);
      expect(Number(blocked.headers["retry-after"])).toBeGreaterThan(0);
      const api = await obtain(user.username, password, ip);
      expect(api.status).toBe(429);
      expect(api.headers["content-type"]).toMatch(/^application\/problem\+json/);
      expect(Number(api.headers["retry-after"])).toBeGreaterThan(0);
      expect(api.body.detail).toMatch(/^Too many failed login attempts\. Try again in \d+ seconds\.$/);
      expect(api.text).not.toMatch(/"access"/);
      // another address is not blocked
      expect((await obtain(user.username, password, newIp())).status).toBe(200);
    }
    // Form failures, then API failures: the API is blocked.
    {
      const { user, password } = await createUser();
      const ip = newIp();
      const form = browser(ip);
      for (let i = 0; i < 3; i++) expect((await form.login(user.username, `form-wrong-${i}`)).status).toBe(400);
      for (let i = 3; i <= free; i++) expect401(await obtain(user.username, `api-wrong-${i}`, ip));
      expect((await obtain(user.username, password, ip)).status).toBe(429);
      expect((await form.login(user.username, password)).status).toBe(429);
    }
  });

  it("a success through the API clears the username+address lane for the form too", async () => {
    const { user, password } = await createUser();
    const ip = newIp();
    const form = browser(ip);
    for (let i = 0; i < LOGIN_LANES.userIp.free - 1; i++) expect((await form.login(user.username, `wrong-${i}`)).status).toBe(400);
    expect((await obtain(user.username, password, ip)).status).toBe(200);
    for (let i = 0; i < LOGIN_LANES.userIp.free; i++) expect((await form.login(user.username, `again-${i}`)).status).toBe(400);
    expect((await form.login(user.username, password)).status).toBe(303);
  });
});

describe("the session cookie (Folio's own pages) and CSRF", () => {
  it("a signed-in browser calls the API without a token; unsafe methods need X-CSRF-Token (403 problem without)", async () => {
    const s = await browserOf("READER");
    const mine = expectContract(await s.agent.get(`${API}/me`).expect(200));
    expect(mine.body.username).toBe(s.user.username);

    const pair = await tokensFor(s.user.username, s.password);
    const without = expectContract(await s.agent.post(`${API}/auth/revoke`).send({ refresh: pair.refresh }));
    expect(without.status).toBe(403);
    expect(without.headers["content-type"]).toMatch(/^application\/problem\+json/);
    expect(without.body.detail).toMatch(/CSRF/);
    const wrong = await s.agent.post(`${API}/auth/revoke`).set("X-CSRF-Token", "not-the-token").send({ refresh: pair.refresh });
    expect(wrong.status).toBe(403);
    expect((await familyRows(pair.refresh))[0]!.revokedAt).toBeNull();
    const withToken = expectContract(
      await s.agent
        .post(`${API}/auth/revoke`)
        .set("X-CSRF-Token", await s.session.csrf())
        .send({ refresh: pair.refresh }),
    );
    expect(withToken.status).toBe(204);
    expect((await familyRows(pair.refresh))[0]!.revokedAt).not.toBeNull();
  });

  it("an anonymous session needs no CSRF token to POST /auth/token (a signed-in one does)", async () => {
    const { user, password } = await createUser();
    const agent = request.agent(app);
    await agent.get("/accounts/login/").expect(200); // an anonymous session with a CSRF token
    const res = expectContract(await agent.post(`${API}/auth/token`).send({ username: user.username, password }));
    expect(res.status).toBe(200);
    const s = await signedIn(app, "READER");
    expect((await s.agent.post(`${API}/auth/token`).send({ username: user.username, password })).status).toBe(403);
  });

  it("a bearer token with a session cookie: the token's user, and no CSRF token needed", async () => {
    const s = await signedIn(app, "EDITOR");
    const { user, password } = await createUser({ role: "AUTHOR" });
    const pair = await tokensFor(user.username, password);
    const res = expectContract(await s.agent.get(`${API}/me`).set("Authorization", `Bearer ${pair.access}`).expect(200));
    expect(res.body.username).toBe(user.username);
    const revoke = await s.agent.post(`${API}/auth/revoke`).set("Authorization", `Bearer ${pair.access}`).send({ refresh: pair.refresh });
    expect(revoke.status).toBe(204);
    // a bad token is a 401 even with a good session (never the session's user instead)
    expect401(await s.agent.get(`${API}/me`).set("Authorization", `Bearer ${pair.access}x`));
  });

  it("an Authorization header that is not a bearer token is a 401, never anonymous", async () => {
    const s = await signedIn(app, "READER");
    for (const header of ["Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Token abc.def.ghi", "Bearer a b", "bearer", ""]) {
      const res = await s.agent.get(`${API}/me`).set("Authorization", header);
      expect401(res);
    }
    // also on a public operation: not silently anonymous
    expect401(await request(app).post(`${API}/auth/verify`).set("Authorization", "Basic dXNlcjpwYXNz").send({ token: "x" }));
    // no header, no cookie: 401 on a user operation, with the challenge
    expect401(await request(app).get(`${API}/me`));
  });
});

describe("signing out everywhere revokes the API's refresh tokens and access tokens", () => {
  async function loginTwice(username: string, password: string) {
    return [await tokensFor(username, password), await tokensFor(username, password)];
  }

  /** The access tokens of `pairs`, as of a second before now: accepted until the sign-out. */
  async function accessBefore(pairs: Pair[]) {
    const tokens = pairs.map((p) => issuedEarlier(p.access));
    for (const t of tokens) await me(t).expect(200);
    return tokens;
  }

  /** Refused at once (401), by /auth/verify too. */
  async function expectAccessRefused(tokens: string[]) {
    for (const t of tokens) {
      expect401(await me(t), "The access token is invalid or expired.");
      expect401(expectContract(await post("/auth/verify", { token: t })));
    }
  }

  /** A login right after the sign-out (most likely in its same second) gets an access token that works. */
  async function expectNewLoginWorks(username: string, password: string) {
    const fresh = await tokensFor(username, password);
    expect((await me(fresh.access).expect(200)).body.username).toBe(username);
    await me((await refresh(fresh.refresh)).body.access).expect(200);
  }

  async function expectRevoked(pairs: Pair[]) {
    for (const p of pairs) {
      expect((await familyRows(p.refresh)).every((r) => r.revokedAt !== null)).toBe(true);
      expect401(await refresh(p.refresh));
    }
  }

  it("a password change on the account page (this session continues)", async () => {
    const { user, password } = await createUser();
    const pairs = await loginTwice(user.username, password);
    const old = await accessBefore(pairs);
    const { agent, session } = await browserOf("READER", { user, password });
    await agent
      .post("/accounts/password/change/")
      .type("form")
      .send({ _csrf: await session.csrf(), old_password: password, new_password1: NEW_PASSWORD, new_password2: NEW_PASSWORD })
      .expect(303);
    await expectRevoked(pairs);
    await expectAccessRefused(old);
    await agent.get(`${API}/me`).expect(200);
    await expectNewLoginWorks(user.username, NEW_PASSWORD);
  });

  it("a password reset by e-mail link", async () => {
    const { user, password } = await createUser();
    const pairs = await loginTwice(user.username, password);
    const old = await accessBefore(pairs);
    const token = await issueResetToken(user.id);
    const agent = request.agent(app);
    const page = await agent.get(`/accounts/reset/${token}/`).expect(200);
    await agent
      .post(`/accounts/reset/${token}/`)
      .type("form")
      .send({ _csrf: csrfFrom(page.text), new_password1: NEW_PASSWORD, new_password2: NEW_PASSWORD })
      .expect(303);
    await expectRevoked(pairs);
    await expectAccessRefused(old);
    await expectNewLoginWorks(user.username, NEW_PASSWORD);
  });

  it("an admin setting the password, and an admin deactivating the account", async () => {
    const admin = await signedIn(app, "ADMIN");
    const { user, password } = await createUser({ role: "AUTHOR" });
    const before = await loginTwice(user.username, password);
    const oldBefore = await accessBefore(before);
    await csrfPost(admin, `/admin/accounts/user/${user.id}/password/`, { password1: NEW_PASSWORD, password2: NEW_PASSWORD }, 303);
    await expectRevoked(before);
    await expectAccessRefused(oldBefore);
    // that change as if made 10 s ago, so that tokens of the second before now (below) postdate it
    await pool.query(`UPDATE "User" SET "signedOutAt" = "signedOutAt" - interval '10 seconds' WHERE id = $1`, [user.id]);

    const after = await loginTwice(user.username, NEW_PASSWORD);
    await me(after[0]!.access).expect(200); // the login right after the change
    const oldAfter = await accessBefore(after);
    const u = await prisma.user.findUniqueOrThrow({ where: { id: user.id } });
    // the change form without the "active" box ticked
    await csrfPost(
      admin,
      `/admin/accounts/user/${user.id}/change/`,
      { username: u.username, email: u.email, role: u.role, firstName: "", lastName: "", bio: "", _version: String(u.version) },
      303,
    );
    expect((await prisma.user.findUniqueOrThrow({ where: { id: user.id } })).isActive).toBe(false);
    await expectRevoked(after);
    expect401(await me(after[0]!.access));
    // reactivated: the tokens issued before the deactivation stay refused; a new login works
    await prisma.user.update({ where: { id: user.id }, data: { isActive: true } });
    await expectAccessRefused(oldAfter);
    await expectNewLoginWorks(user.username, NEW_PASSWORD);
  });

  it("the profile's 'log out everywhere'", async () => {
    const s = await browserOf("READER");
    const pairs = await loginTwice(s.user.username, s.password);
    const old = await accessBefore(pairs);
    await csrfPost(s, "/accounts/profile/logout-everywhere/", {}, 200);
    await expectRevoked(pairs);
    await expectAccessRefused(old);
  });
});
