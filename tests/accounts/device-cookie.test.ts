// Device cookies: a user whose username is blocked by failures from many addresses can still sign
// in from a browser they signed in with before. TRUST_PROXY is on for this file so every request
// can come from its own client address (X-Forwarded-For), as a distributed attack would.
import { describe, expect, it } from "vitest";
import request from "supertest";
import { config } from "../../src/config.ts";
import { LOGIN_LANES } from "../../src/accounts/throttle.ts";
import { csrfFrom } from "../support/auth.ts";
import { createUser } from "../support/fixtures.ts";

config.TRUST_PROXY = "true";
// The device cookie as a browser sees it (outside production: no __Host- prefix), good for 180 days.
const DEVICE_COOKIE = "folio.device";
const DEVICE_COOKIE_DAYS = 180;
const { buildApp } = await import("../../src/app.ts");
const app = buildApp();

let ipCounter = 1;
const newIp = () => `192.0.2.${ipCounter++}`;

/** A browser (its own cookie jar); each call may come from another client address. */
function browser() {
  const agent = request.agent(app);
  return {
    agent,
    async login(username: string, password: string, ip = newIp()) {
      const token = csrfFrom((await agent.get("/accounts/login/").set("X-Forwarded-For", ip).expect(200)).text);
      return agent.post("/accounts/login/").set("X-Forwarded-For", ip).type("form").send({ _csrf: token, username, password });
    },
  };
}

const deviceSetCookie = (res: request.Response) => ([] as string[]).concat(res.headers["set-cookie"] ?? []).find((c) => c.startsWith(`${DEVICE_COOKIE}=`));

/** Blocks `username` the way a distributed attack does: one failure each from many addresses. */
async function attack(username: string) {
  for (let i = 0; i < LOGIN_LANES.user.free + 1; i++) expect((await browser().login(username, `guess-${i}`)).status).toBe(400);
}

describe("device cookies", () => {
  it("are issued on a successful login only: HttpOnly, SameSite=Lax, path /, long-lived, naming no username", async () => {
    const { user, password } = await createUser();
    const b = browser();
    const failed = await b.login(user.username, "wrong password");
    expect(failed.status).toBe(400);
    expect(deviceSetCookie(failed)).toBeUndefined();
    const ok = await b.login(user.username, password);
    expect(ok.status).toBe(303);
    const cookie = deviceSetCookie(ok)!;
    expect(cookie).toMatch(new RegExp(`^${DEVICE_COOKIE}=${user.id}\\.[0-9a-z]+\\.[A-Za-z0-9_-]{22}\\.[A-Za-z0-9_-]{43};`));
    expect(cookie).toContain("HttpOnly");
    expect(cookie).toContain("SameSite=Lax");
    expect(cookie).toContain("Path=/");
    expect(cookie).toContain(`Max-Age=${DEVICE_COOKIE_DAYS * 86_400}`);
    expect(cookie).not.toContain(user.username);
  });

  it("a distributed attack blocks the username for new browsers, not for the user's own browser (from any address)", async () => {
    const { user, password } = await createUser();
    const mine = browser();
    expect((await mine.login(user.username, password)).status).toBe(303);
    await attack(user.username);
    // Without a device cookie, even the right password is refused for now.
    const stranger = await browser().login(user.username, password);
    expect(stranger.status).toBe(429);
    expect(Number(stranger.headers["retry-after"])).toBeGreaterThan(0);
    // The user's browser, today on yet another address, signs in (by username or by e-mail).
    expect((await mine.login(user.username, password)).status).toBe(303);
    expect((await mine.login(user.email.toUpperCase(), password)).status).toBe(303);
    await mine.agent.get("/accounts/profile/").expect(200);
  });

  it("holds several users' entries; one user's cookie does not help another", async () => {
    const a = await createUser();
    const b = await createUser();
    const shared = browser();
    expect((await shared.login(a.user.username, a.password)).status).toBe(303);
    expect((await shared.login(b.user.username, b.password)).status).toBe(303);
    const victim = await createUser();
    await attack(a.user.username);
    await attack(b.user.username);
    await attack(victim.user.username);
    expect((await shared.login(a.user.username, a.password)).status).toBe(303);
    expect((await shared.login(b.user.username, b.password)).status).toBe(303);
    // This browser never signed in as the victim: the block applies.
    expect((await shared.login(victim.user.username, victim.password)).status).toBe(429);
  });

  it("a forged or altered cookie counts for nothing", async () => {
    const { user, password } = await createUser();
    const mine = browser();
    const ok = await mine.login(user.username, password);
    const value = deviceSetCookie(ok)!
      .split(";")[0]!
      .slice(DEVICE_COOKIE.length + 1);
    await attack(user.username);
    const [id, issued, nonce, sig] = value.split(".");
    const altered = [
      `${id}.${issued}.${nonce}.${sig!.slice(0, -2)}${sig!.endsWith("AA") ? "BB" : "AA"}`, // signature changed
      `${Number(id) + 1}.${issued}.${nonce}.${sig}`, // another user's id under this signature
      `${id}.${(parseInt(issued!, 36) + 1).toString(36)}.${nonce}.${sig}`, // another date
      "garbage",
    ];
    for (const forged of altered) {
      const res = await request(app)
        .get("/accounts/login/")
        .set("X-Forwarded-For", newIp())
        .then(async (page) => {
          const sid = ([] as string[])
            .concat(page.headers["set-cookie"] ?? [])
            .map((c) => c.split(";")[0])
            .join("; ");
          return request(app)
            .post("/accounts/login/")
            .set("X-Forwarded-For", newIp())
            .set("Cookie", `${sid}; ${DEVICE_COOKIE}=${forged}`)
            .type("form")
            .send({ _csrf: csrfFrom(page.text), username: user.username, password });
        });
      expect(res.status, forged).toBe(429);
    }
  });

  it("has a failure limit of its own, after which the browser is treated like any other", async () => {
    const { user, password } = await createUser();
    const mine = browser();
    expect((await mine.login(user.username, password)).status).toBe(303);
    await attack(user.username);
    // Someone at this browser guesses: its own lane allows 5 failures, from whatever address.
    for (let i = 0; i < LOGIN_LANES.device.free + 1; i++) expect((await mine.login(user.username, `oops-${i}`)).status).toBe(400);
    // Its lane is now blocked, so the username's block applies to it too.
    expect((await mine.login(user.username, password)).status).toBe(429);
  });

  it("a success from the device starts its count afresh", async () => {
    const { user, password } = await createUser();
    const mine = browser();
    expect((await mine.login(user.username, password)).status).toBe(303);
    await attack(user.username);
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < LOGIN_LANES.device.free - 1; i++) expect((await mine.login(user.username, `typo-${i}`)).status).toBe(400);
      expect((await mine.login(user.username, password)).status).toBe(303);
    }
  });
});
