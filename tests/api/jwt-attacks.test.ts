// Forged and misused JSON Web Tokens against the real app: every one is a 401 problem with a
// WWW-Authenticate challenge, never a user and never anonymous. Tokens are built by hand (header,
// payload, HMAC or RSA signature) so each attack is exactly what it says: alg "none", HS/RS confusion,
// another HMAC algorithm with the right secret, a wrong key, unknown or missing kid, expired, not yet
// valid, wrong audience or issuer, no exp at all, a tampered payload, a refresh token as access token
// and the reverse, a deactivated or deleted user's token. Key rotation with JWT_KEYS (two keys).
import { createHmac, generateKeyPairSync, randomUUID, sign as rsaSign } from "node:crypto";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import request from "supertest";
import { buildApp } from "../../src/app.ts";
import { config } from "../../src/config.ts";
import { prisma } from "../../src/db/index.ts";
import { signAccessToken } from "../../src/api/tokens.ts";
import type { SessionUser } from "../../src/accounts/users.ts";
import { createUser } from "../support/fixtures.ts";
import { expectContract } from "./support/contract.ts";

const app = buildApp();
const API = "/api/v1";

const b64 = (v: unknown) => Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64url");
const now = () => Math.floor(Date.now() / 1000);
const signingKey = () => config.JWT_KEYS[0]!;

/** header.payload.signature with an HMAC of `hash` over the first two parts. */
function hmacToken(header: Record<string, unknown>, payload: Record<string, unknown>, secret: string | Buffer, hash = "sha256"): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac(hash, secret).update(input).digest("base64url")}`;
}

/** The claims of a good access token for `user` (each attack changes one thing). */
function accessClaims(user: Pick<SessionUser, "id" | "email" | "role">, over: Record<string, unknown> = {}): Record<string, unknown> {
  const t = now();
  return {
    token_type: "access",
    email: user.email,
    role: user.role,
    jti: randomUUID(),
    sub: String(user.id),
    iss: config.SITE_URL,
    aud: "folio-api",
    iat: t,
    nbf: t,
    exp: t + 300,
    ...over,
  };
}

const goodHeader = () => ({ alg: "HS256", typ: "JWT", kid: signingKey().kid });

const me = (token: string) => request(app).get(`${API}/me`).set("Authorization", `Bearer ${token}`);

async function expectRefused(token: string) {
  const res = expectContract(await me(token));
  expect(res.status, res.text).toBe(401);
  expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
  expect(res.headers["www-authenticate"]).toBe('Bearer realm="folio", error="invalid_token"');
  expect(res.body.detail).toBe("The access token is invalid or expired.");
  return res;
}

let user: SessionUser;
let admin: SessionUser;
beforeAll(async () => {
  user = (await createUser({ role: "READER" })).user;
  admin = (await createUser({ role: "ADMIN" })).user;
});

describe("the hand-made tokens are right when nothing is changed", () => {
  it("a correct HS256 token with the signing key's kid is accepted (so each refusal below is for its one change)", async () => {
    const res = await me(hmacToken(goodHeader(), accessClaims(user), signingKey().secret)).expect(200);
    expect(res.body.username).toBe(user.username);
    await me(signAccessToken(user)).expect(200);
  });
});

describe("algorithm attacks", () => {
  it('alg "none" (unsigned), in any spelling, with or without a signature part', async () => {
    for (const alg of ["none", "None", "NONE", "nOnE"]) {
      const unsigned = `${b64({ alg, typ: "JWT", kid: signingKey().kid })}.${b64(accessClaims(user))}`;
      await expectRefused(`${unsigned}.`);
      await expectRefused(`${unsigned}.${createHmac("sha256", signingKey().secret).update(unsigned).digest("base64url")}`);
    }
  });

  it("HS/RS confusion: RS256 with a generated key pair, and HS256 keyed with that RSA public key (PEM)", async () => {
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const input = `${b64({ alg: "RS256", typ: "JWT", kid: signingKey().kid })}.${b64(accessClaims(user))}`;
    await expectRefused(`${input}.${rsaSign("sha256", Buffer.from(input), privateKey).toString("base64url")}`);
    const pem = publicKey.export({ type: "spki", format: "pem" });
    await expectRefused(hmacToken(goodHeader(), accessClaims(user), pem));
    await expectRefused(hmacToken({ ...goodHeader(), kid: undefined }, accessClaims(user), pem));
  });

  it("HS512 and HS384 with the right secret (only HS256 is allowed)", async () => {
    await expectRefused(hmacToken({ ...goodHeader(), alg: "HS512" }, accessClaims(user), signingKey().secret, "sha512"));
    await expectRefused(hmacToken({ ...goodHeader(), alg: "HS384" }, accessClaims(user), signingKey().secret, "sha384"));
    // The header says HS256 but the signature is HS512's: still refused.
    await expectRefused(hmacToken(goodHeader(), accessClaims(user), signingKey().secret, "sha512"));
  });
});

describe("keys", () => {
  it("a wrong key, an unknown kid, no kid, a kid that is not a string", async () => {
    await expectRefused(hmacToken(goodHeader(), accessClaims(user), "not-the-secret-but-long-enough-to-look-real"));
    await expectRefused(hmacToken({ ...goodHeader(), kid: "nope" }, accessClaims(user), signingKey().secret));
    const { kid: _kid, ...noKid } = goodHeader();
    await expectRefused(hmacToken(noKid, accessClaims(user), signingKey().secret));
    await expectRefused(hmacToken({ ...goodHeader(), kid: [signingKey().kid] }, accessClaims(user), signingKey().secret));
    await expectRefused(hmacToken({ ...goodHeader(), kid: "" }, accessClaims(user), signingKey().secret));
  });

  describe("rotation with JWT_KEYS", () => {
    const saved = config.JWT_KEYS;
    afterEach(() => {
      config.JWT_KEYS = saved;
    });

    it("the first key signs, every listed key verifies; a key removed from the list is refused", async () => {
      const oldKey = { kid: "old", secret: "old-secret-0123456789-0123456789-abcdef" };
      const newKey = { kid: "new", secret: "new-secret-0123456789-0123456789-abcdef" };
      config.JWT_KEYS = [oldKey];
      const signedWithOld = signAccessToken(user);
      await me(signedWithOld).expect(200);

      // rotated in: the new key signs, tokens of the old one (now second) still verify
      config.JWT_KEYS = [newKey, oldKey];
      await me(signedWithOld).expect(200);
      const signedWithNew = signAccessToken(user);
      expect(JSON.parse(Buffer.from(signedWithNew.split(".")[0]!, "base64url").toString())).toMatchObject({ alg: "HS256", kid: "new" });
      await me(signedWithNew).expect(200);
      // the old kid with the new secret is a wrong key
      await expectRefused(hmacToken({ ...goodHeader(), kid: "old" }, accessClaims(user), newKey.secret));

      // rotated out
      config.JWT_KEYS = [newKey];
      await expectRefused(signedWithOld);
      await me(signedWithNew).expect(200);
    });
  });
});

describe("claims", () => {
  it("expired; not yet valid (nbf in the future); no exp at all", async () => {
    const t = now();
    await expectRefused(hmacToken(goodHeader(), accessClaims(user, { iat: t - 600, nbf: t - 600, exp: t - 300 }), signingKey().secret));
    await expectRefused(hmacToken(goodHeader(), accessClaims(user, { nbf: t + 600, exp: t + 900 }), signingKey().secret));
    await expectRefused(hmacToken(goodHeader(), accessClaims(user, { exp: undefined }), signingKey().secret));
    await expectRefused(hmacToken(goodHeader(), accessClaims(user, { exp: String(t + 300) }), signingKey().secret));
  });

  it("clock leeway of 30 s on nbf and exp: 10 s off passes, 60 s off is refused", async () => {
    const t = now();
    const good = async (over: Record<string, unknown>) =>
      expect((await me(hmacToken(goodHeader(), accessClaims(user, over), signingKey().secret))).status).toBe(200);
    await good({ iat: t + 10, nbf: t + 10, exp: t + 310 }); // signed on a machine whose clock is 10 s ahead
    await good({ iat: t - 310, nbf: t - 310, exp: t - 10 }); // expired 10 s ago by our clock
    await expectRefused(hmacToken(goodHeader(), accessClaims(user, { iat: t + 60, nbf: t + 60, exp: t + 360 }), signingKey().secret));
    await expectRefused(hmacToken(goodHeader(), accessClaims(user, { iat: t - 360, nbf: t - 360, exp: t - 60 }), signingKey().secret));
  });

  it("no iat: refused (it is what a sign-out everywhere is compared with)", async () => {
    await expectRefused(hmacToken(goodHeader(), accessClaims(user, { iat: undefined }), signingKey().secret));
    await expectRefused(hmacToken(goodHeader(), accessClaims(user, { iat: String(now()) }), signingKey().secret));
  });

  it("signed out everywhere at second T: a token issued at T or later passes, one of T - 1 is refused (also by /auth/verify)", async () => {
    const { user: u } = await createUser();
    const t = now();
    await prisma.user.update({ where: { id: u.id }, data: { signedOutAt: new Date(t * 1000) } });
    const at = (iat: number) => hmacToken(goodHeader(), accessClaims(u, { iat, nbf: iat, exp: iat + 300 }), signingKey().secret);
    expect((await me(at(t))).status).toBe(200);
    expect((await me(at(t + 1))).status).toBe(200);
    await expectRefused(at(t - 1));
    expect(
      (
        await request(app)
          .post(`${API}/auth/verify`)
          .send({ token: at(t - 1) })
      ).status,
    ).toBe(401);
    expect(
      (
        await request(app)
          .post(`${API}/auth/verify`)
          .send({ token: at(t) })
      ).status,
    ).toBe(200);
  });

  it("wrong or missing audience and issuer", async () => {
    for (const over of [
      { aud: "another-api" },
      { aud: undefined },
      { aud: ["another-api"] },
      { iss: "https://evil.example" },
      { iss: undefined },
      { iss: `${config.SITE_URL}/` },
    ]) {
      await expectRefused(hmacToken(goodHeader(), accessClaims(user, over), signingKey().secret));
    }
  });

  it("a subject that is not a user id", async () => {
    for (const sub of [undefined, 7, "", "0", "-1", "1.5", " 1", "99999999999", "1e3", String(user.id) + "x"]) {
      await expectRefused(hmacToken(goodHeader(), accessClaims(user, { sub }), signingKey().secret));
    }
  });

  it("a tampered payload (role raised to ADMIN, subject switched to an admin), the signature kept", async () => {
    const good = signAccessToken(user);
    const [header, payload, signature] = good.split(".");
    const claims = JSON.parse(Buffer.from(payload!, "base64url").toString());
    await expectRefused(`${header}.${b64({ ...claims, role: "ADMIN" })}.${signature}`);
    await expectRefused(`${header}.${b64({ ...claims, sub: String(admin.id) })}.${signature}`);
    await expectRefused(`${header}.${payload}.${signature!.slice(0, -2)}`);
    await expectRefused(`${header}.${payload}`);
    // the role claim is informational: a correctly signed token claiming ADMIN gets the stored role
    const res = await me(hmacToken(goodHeader(), accessClaims(user, { role: "ADMIN" }), signingKey().secret)).expect(200);
    expect(res.body.role).toBe("READER");
  });
});

describe("token types", () => {
  it("a refresh token is not an access token, and an access token is not a refresh token", async () => {
    const { user: u, password } = await createUser();
    const pair = (await request(app).post(`${API}/auth/token`).send({ username: u.username, password }).expect(200)).body as {
      access: string;
      refresh: string;
    };
    await expectRefused(pair.refresh);
    const asRefresh = expectContract(await request(app).post(`${API}/auth/refresh`).send({ refresh: pair.access }));
    expect(asRefresh.status).toBe(401);
    expect(asRefresh.headers["www-authenticate"]).toBe('Bearer realm="folio", error="invalid_token"');
    // no token_type, or another one
    await expectRefused(hmacToken(goodHeader(), accessClaims(u, { token_type: undefined }), signingKey().secret));
    await expectRefused(hmacToken(goodHeader(), accessClaims(u, { token_type: "refresh" }), signingKey().secret));
    // a refresh token forged for a family (signed with a wrong key) is refused at /auth/refresh
    const forged = hmacToken(
      goodHeader(),
      { ...accessClaims(u), token_type: "refresh", jti: randomUUID(), fam: randomUUID(), exp: now() + 3600 },
      "not-the-secret-but-long-enough-to-look-real",
    );
    expect((await request(app).post(`${API}/auth/refresh`).send({ refresh: forged })).status).toBe(401);
    // correctly signed but naming no stored token (e.g. a leaked key: still no row)
    const unknown = hmacToken(
      goodHeader(),
      { ...accessClaims(u), token_type: "refresh", jti: randomUUID(), fam: randomUUID(), exp: now() + 3600 },
      signingKey().secret,
    );
    expect((await request(app).post(`${API}/auth/refresh`).send({ refresh: unknown })).status).toBe(401);
    // the real refresh token still works
    expect((await request(app).post(`${API}/auth/refresh`).send({ refresh: pair.refresh })).status).toBe(200);
  });
});

describe("the account behind a valid token", () => {
  it("a deactivated user's valid access and refresh tokens are refused; the refresh token stays revoked after reactivation", async () => {
    const { user: u, password } = await createUser({ role: "AUTHOR" });
    const pair = (await request(app).post(`${API}/auth/token`).send({ username: u.username, password }).expect(200)).body as {
      access: string;
      refresh: string;
    };
    await me(pair.access).expect(200);
    await prisma.user.update({ where: { id: u.id }, data: { isActive: false } });
    await expectRefused(pair.access);
    expect((await request(app).post(`${API}/auth/refresh`).send({ refresh: pair.refresh })).status).toBe(401);
    expect((await request(app).post(`${API}/auth/verify`).send({ token: pair.access })).status).toBe(401);
    // the refused refresh revoked its family: reactivating the account does not bring it back
    await prisma.user.update({ where: { id: u.id }, data: { isActive: true } });
    await me(pair.access).expect(200); // access tokens follow the account as stored
    expect((await request(app).post(`${API}/auth/refresh`).send({ refresh: pair.refresh })).status).toBe(401);
  });

  it("a deleted user's tokens are refused", async () => {
    const { user: u, password } = await createUser();
    const pair = (await request(app).post(`${API}/auth/token`).send({ username: u.username, password }).expect(200)).body as {
      access: string;
      refresh: string;
    };
    await prisma.user.delete({ where: { id: u.id } });
    await expectRefused(pair.access);
    const res = expectContract(await request(app).post(`${API}/auth/refresh`).send({ refresh: pair.refresh }));
    expect(res.status).toBe(401);
    expect(res.headers["www-authenticate"]).toMatch(/^Bearer realm="folio"/);
  });
});

describe("malformed tokens", () => {
  it("garbage in the token is a 401, never a 500", async () => {
    const t = signAccessToken(user);
    for (const bad of [
      "a.b.c",
      "....",
      `${t}.${t}`,
      `${b64("not json")}.${b64("{}")}.x`,
      `${b64({ alg: "HS256" })}.${b64("[1,2]")}.x`,
      "e30.e30.e30",
      "%%%.%%%.%%%",
    ]) {
      const res = await me(bad);
      expect(res.status, bad).toBe(401);
      expect(res.headers["www-authenticate"]).toMatch(/^Bearer realm="folio"/);
    }
  });
});
