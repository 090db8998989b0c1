// API rate limits (src/api/ratelimit.ts) through the real app: per client address and per user, the
// RateLimit-Policy / RateLimit headers, 429 problem+json with Retry-After. The limits are lowered for
// this file (the limiter reads them on each request) and TRUST_PROXY is on, so each test speaks from
// addresses of its own (X-Forwarded-For) and starts with fresh counts.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import request from "supertest";
import { config } from "../../src/config.ts";
import { signAccessToken } from "../../src/api/tokens.ts";
import { clientKey } from "../../src/api/ratelimit.ts";
import { prisma } from "../../src/db/index.ts";
import { createUser, signedIn } from "../support/fixtures.ts";
import { expectContract } from "./support/contract.ts";

const saved = { ip: config.API_RATE_LIMIT_IP, user: config.API_RATE_LIMIT_USER, proxy: config.TRUST_PROXY };
config.TRUST_PROXY = "true";
const { buildApp } = await import("../../src/app.ts");
const app = buildApp();

const IP_LIMIT = 5;
const USER_LIMIT = 3;
beforeAll(() => {
  config.API_RATE_LIMIT_IP = IP_LIMIT;
  config.API_RATE_LIMIT_USER = USER_LIMIT;
});
afterAll(() => {
  config.API_RATE_LIMIT_IP = saved.ip;
  config.API_RATE_LIMIT_USER = saved.user;
  config.TRUST_PROXY = saved.proxy;
});

let ipCounter = 1;
const newIp = () => `198.51.100.${ipCounter++}`;

const OPENAPI = "/api/v1/openapi.json";
const ME = "/api/v1/me";

/** GET /api/v1/me from `ip`, with a fresh access token of `user`. */
const meAs = (user: Parameters<typeof signAccessToken>[0], ip: string) =>
  request(app)
    .get(ME)
    .set("X-Forwarded-For", ip)
    .set("Authorization", `Bearer ${signAccessToken(user)}`);

/** The RateLimit header as { policy, r, t } (draft syntax: "policy";r=N;t=S). */
function rateLimit(res: request.Response): { policy: string; r: number; t: number } {
  const m = /^"(ip|user)";r=(\d+);t=(\d+)$/.exec(String(res.headers["ratelimit"]));
  expect(m, `RateLimit header: ${String(res.headers["ratelimit"])}`).not.toBeNull();
  return { policy: m![1]!, r: Number(m![2]), t: Number(m![3]) };
}

function expectTooMany(res: request.Response, who: RegExp) {
  expect(res.status).toBe(429);
  expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ type: "https://folio.dev/problems/rate-limited", title: "Too many requests", status: 429, errors: {} });
  expect(res.body.detail).toMatch(who);
  // an operation documents its 429 (the OpenAPI document's common responses)
  const path = (res as unknown as { req: { path: string } }).req.path; // superagent's request, untyped by @types/supertest
  if (path.startsWith(ME)) expectContract(res);
  expect(res.body.instance).toBe(path.split("?")[0]);
  const retryAfter = res.headers["retry-after"];
  expect(retryAfter).toMatch(/^\d+$/);
  expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
  expect(Number(retryAfter)).toBeLessThanOrEqual(60);
  // the RateLimit header names the same moment: nothing left until then
  const rl = rateLimit(res);
  expect(rl.r).toBe(0);
  expect(rl.t).toBe(Number(retryAfter));
  return rl;
}

describe("per client address", () => {
  it("every answer carries the policy and the requests left, decreasing; over the limit: 429 with Retry-After", async () => {
    const ip = newIp();
    for (let i = 1; i <= IP_LIMIT; i++) {
      const res = await request(app).get(OPENAPI).set("X-Forwarded-For", ip).expect(200);
      expect(res.headers["ratelimit-policy"]).toBe(`"ip";q=${IP_LIMIT};w=60`);
      const rl = rateLimit(res);
      expect(rl).toMatchObject({ policy: "ip", r: IP_LIMIT - i });
      expect(rl.t).toBeGreaterThanOrEqual(1);
      expect(rl.t).toBeLessThanOrEqual(60);
    }
    const over = await request(app).get(OPENAPI).set("X-Forwarded-For", ip);
    expectTooMany(over, /from your address/);
    expect(over.headers["ratelimit-policy"]).toBe(`"ip";q=${IP_LIMIT};w=60`);
    expect(over.headers["cache-control"]).toBe("no-store");
    // every path under /api/ is limited, not only one operation: another operation, an unknown path
    expectTooMany(await request(app).get(ME).set("X-Forwarded-For", ip), /from your address/);
    expectTooMany(await request(app).get("/api/v1/no-such-thing").set("X-Forwarded-For", ip), /from your address/);
    // the site's pages are not the API's business
    await request(app).get("/blog/").set("X-Forwarded-For", ip).expect(200);
  });

  it("another address is unaffected by one that is over its limit", async () => {
    const busy = newIp();
    for (let i = 0; i < IP_LIMIT; i++) await request(app).get(OPENAPI).set("X-Forwarded-For", busy).expect(200);
    expectTooMany(await request(app).get(OPENAPI).set("X-Forwarded-For", busy), /from your address/);
    const other = await request(app).get(OPENAPI).set("X-Forwarded-For", newIp()).expect(200);
    expect(rateLimit(other)).toMatchObject({ policy: "ip", r: IP_LIMIT - 1 });
  });

  it("error answers count and carry the headers too (401, 404, 405)", async () => {
    const ip = newIp();
    const answers = [
      await request(app).get(ME).set("X-Forwarded-For", ip).expect(401),
      await request(app).get("/api/v1/nothing-here").set("X-Forwarded-For", ip).expect(404),
      await request(app).delete(ME).set("X-Forwarded-For", ip).expect(405),
    ];
    expect(answers.map((a) => rateLimit(a).r)).toEqual([IP_LIMIT - 1, IP_LIMIT - 2, IP_LIMIT - 3]);
    for (const a of answers) expect(a.headers["ratelimit-policy"]).toBe(`"ip";q=${IP_LIMIT};w=60`);
  });

  it("a failed authentication (a bad bearer token) counts against the address; over the limit the 429 replaces the 401", async () => {
    const ip = newIp();
    for (let i = 1; i <= IP_LIMIT; i++) {
      const res = await request(app).get(ME).set("X-Forwarded-For", ip).set("Authorization", `Bearer not.a.token${i}`).expect(401);
      expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
      expect(rateLimit(res)).toMatchObject({ policy: "ip", r: IP_LIMIT - i });
    }
    expectTooMany(await request(app).get(ME).set("X-Forwarded-For", ip).set("Authorization", "Bearer guess.number.six"), /from your address/);
    // and a valid token from that address is over the address's limit as well
    const { user } = await createUser();
    expectTooMany(await meAs(user, ip), /from your address/);
  });

  it("IPv4-mapped IPv6 addresses count as their IPv4 address, in either notation", async () => {
    const a = await request(app).get(OPENAPI).set("X-Forwarded-For", "198.51.100.200").expect(200);
    const b = await request(app).get(OPENAPI).set("X-Forwarded-For", "::ffff:c633:64c8").expect(200); // 198.51.100.200
    const c = await request(app).get(OPENAPI).set("X-Forwarded-For", "::ffff:198.51.100.200").expect(200);
    const other = await request(app).get(OPENAPI).set("X-Forwarded-For", "::ffff:c633:64c9").expect(200); // .201
    expect([rateLimit(a).r, rateLimit(b).r, rateLimit(c).r, rateLimit(other).r]).toEqual([IP_LIMIT - 1, IP_LIMIT - 2, IP_LIMIT - 3, IP_LIMIT - 1]);
  });

  it("over the address's limit, a bearer token is not even verified (no database read): a deleted user's token gets 429, not 401", async () => {
    const ip = newIp();
    const { user } = await createUser();
    await prisma.user.delete({ where: { id: user.id } });
    // under the limit the token is verified (and refused: its user is gone)
    expect((await meAs(user, ip).expect(401)).headers["www-authenticate"]).toMatch(/^Bearer/);
    for (let i = 2; i <= IP_LIMIT; i++) await request(app).get(OPENAPI).set("X-Forwarded-For", ip).expect(200);
    const res = await meAs(user, ip);
    expectTooMany(res, /from your address/);
    expect(res.headers["www-authenticate"]).toBeUndefined();
    expect(res.headers["ratelimit-policy"]).toBe(`"ip";q=${IP_LIMIT};w=60`);
  });

  it("an IPv6 client counts as its /64 network", async () => {
    const a = await request(app).get(OPENAPI).set("X-Forwarded-For", "2001:db8:a:1::1").expect(200);
    const b = await request(app).get(OPENAPI).set("X-Forwarded-For", "2001:db8:a:1:ffff:ffff:ffff:2").expect(200);
    const other = await request(app).get(OPENAPI).set("X-Forwarded-For", "2001:db8:a:2::1").expect(200);
    expect([rateLimit(a).r, rateLimit(b).r, rateLimit(other).r]).toEqual([IP_LIMIT - 1, IP_LIMIT - 2, IP_LIMIT - 1]);
    expect(clientKey("2001:0db8:000a:0001:0000:0000:0000:0001")).toBe("2001:db8:a:1::/64");
    expect(clientKey("::1")).toBe("0:0:0:0::/64");
    expect(clientKey("fe80::1%eth0")).toBe("fe80:0:0:0::/64");
    expect(clientKey("::ffff:192.0.2.7")).toBe("192.0.2.7");
    // IPv4-mapped in hex (and spelled out): the IPv4 address, not one /64 shared by every IPv4 client
    expect(clientKey("::ffff:c000:207")).toBe("192.0.2.7");
    expect(clientKey("::FFFF:C000:0207")).toBe("192.0.2.7");
    expect(clientKey("0:0:0:0:0:ffff:c000:208")).toBe("192.0.2.8");
    expect(clientKey("0000:0000:0000:0000:0000:ffff:192.0.2.9")).toBe("192.0.2.9");
    expect(clientKey("::ffff:0:c000:207")).toBe("0:0:0:0::/64"); // not IPv4-mapped (::ffff:0:0:0/96)
    expect(clientKey("192.0.2.7")).toBe("192.0.2.7");
    expect(clientKey(undefined)).toBe("unknown");
  });
});

describe("per user", () => {
  it("a token's user is limited across addresses; the addresses' other clients are not", async () => {
    const { user } = await createUser({ role: "AUTHOR" });
    const ips = [newIp(), newIp(), newIp(), newIp()];
    for (let i = 1; i <= USER_LIMIT; i++) {
      const res = await meAs(user, ips[i - 1]!).expect(200);
      expect(res.body.id).toBe(user.id);
      expect(res.headers["ratelimit-policy"]).toBe(`"ip";q=${IP_LIMIT};w=60, "user";q=${USER_LIMIT};w=60`);
      // the user's lane is the most restrictive (each address has IP_LIMIT - 1 left)
      expect(rateLimit(res)).toMatchObject({ policy: "user", r: USER_LIMIT - i });
    }
    // a fresh token, a fresh address: the same user, over its limit
    expectTooMany(await meAs(user, ips[3]!), /for your account/);
    // an anonymous client at that address, and another user there, go on
    const anon = await request(app).get(OPENAPI).set("X-Forwarded-For", ips[3]!).expect(200);
    expect(rateLimit(anon)).toMatchObject({ policy: "ip", r: IP_LIMIT - 2 });
    const { user: other } = await createUser();
    const res = await meAs(other, ips[3]!).expect(200);
    expect(res.body.id).toBe(other.id);
    expect(rateLimit(res)).toMatchObject({ policy: "user", r: USER_LIMIT - 1 });
  });

  it("the session cookie counts against the same user as its tokens", async () => {
    const editor = await signedIn(app, "EDITOR");
    const ip = newIp();
    const viaSession = await editor.agent.get(ME).set("X-Forwarded-For", ip).expect(200);
    expect(viaSession.body.id).toBe(editor.user.id);
    expect(viaSession.headers["ratelimit-policy"]).toBe(`"ip";q=${IP_LIMIT};w=60, "user";q=${USER_LIMIT};w=60`);
    expect(rateLimit(viaSession)).toMatchObject({ policy: "user", r: USER_LIMIT - 1 });
    const token = signAccessToken({ id: editor.user.id, email: `${editor.user.username.toLowerCase()}@example.test`, role: "EDITOR" });
    const viaToken = await request(app).get(ME).set("X-Forwarded-For", newIp()).set("Authorization", `Bearer ${token}`).expect(200);
    expect(rateLimit(viaToken)).toMatchObject({ policy: "user", r: USER_LIMIT - 2 });
    await editor.agent.get(ME).set("X-Forwarded-For", ip).expect(200);
    expectTooMany(await editor.agent.get(ME).set("X-Forwarded-For", ip), /for your account/);
  });

  it("when the address has fewer requests left than the user, the address's lane is reported", async () => {
    const ip = newIp();
    for (let i = 0; i < IP_LIMIT - 1; i++) await request(app).get(OPENAPI).set("X-Forwarded-For", ip).expect(200);
    const { user } = await createUser();
    const res = await meAs(user, ip).expect(200);
    expect(rateLimit(res)).toMatchObject({ policy: "ip", r: 0 });
    expectTooMany(await meAs(user, ip), /from your address/);
  });
});
