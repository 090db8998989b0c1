// Sign-up through the real app (a real SMTP server receives its mail), and the shared validators.
// TRUST_PROXY is on so each sign-up comes from its own client address (X-Forwarded-For): every
// attempt counts against the per-address throttle (tests/accounts/throttle.test.ts tests that).
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import argon2 from "argon2";
import request from "supertest";
import { config } from "../../src/config.ts";
import { prisma } from "../../src/db/index.ts";
import { validatePassword } from "../../src/accounts/validation.ts";
import { csrfFrom, login } from "../support/auth.ts";
import { createUser } from "../support/fixtures.ts";
import { startSmtp, type TestSmtp } from "../support/smtp.ts";

config.TRUST_PROXY = "true";
const { buildApp } = await import("../../src/app.ts");
const app = buildApp();
const GOOD = "Quiet-Meadow-Copper-19";
let smtp: TestSmtp;

beforeAll(async () => {
  smtp = await startSmtp();
});
afterAll(async () => {
  await smtp.close();
});

let ipCounter = 1;
async function signup(body: Record<string, unknown> | string) {
  const ip = `198.51.100.${ipCounter++}`;
  const agent = request.agent(app);
  const token = csrfFrom((await agent.get("/accounts/signup/").set("X-Forwarded-For", ip).expect(200)).text);
  const req = agent.post("/accounts/signup/").set("X-Forwarded-For", ip).type("form");
  const res = typeof body === "string" ? await req.send(`${body}&_csrf=${token}`) : await req.send({ _csrf: token, ...body });
  return { agent, res };
}

/** What a sign-up answer shows whoever sent it: status, redirect, cookies set, and the page it leads to. */
async function observable(agent: ReturnType<typeof request.agent>, res: request.Response) {
  const done = await agent.get(res.headers.location ?? "/accounts/signup/");
  // Values and expiry times masked: two answers a second apart set the same cookie with different Expires.
  const cookies = ([] as string[]).concat(res.headers["set-cookie"] ?? []).map((c) => c.replace(/=[^;]*/, "=…").replace(/; Expires=[^;]*/i, "; Expires=…"));
  return { status: res.status, location: res.headers.location, cookies, page: done.status, body: done.text.replace(/value="[^"]+"/g, 'value="…"') };
}

describe("sign-up", () => {
  it("a new address: the account is created (a READER, lower-cased e-mail, not verified), nobody is signed in, a mail carries the verification link", async () => {
    const { agent, res } = await signup({ username: "new.Reader+1", email: "New.Reader@Example.TEST", password1: GOOD, password2: GOOD });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe("/accounts/signup/done/");
    const done = await agent.get("/accounts/signup/done/").expect(200);
    expect(done.text).toContain("Check your e-mail");
    expect(done.headers["cache-control"]).toContain("no-store");
    await agent.get("/accounts/profile/").expect(302); // not signed in by the form
    const mail = await smtp.waitFor((m) => m.to.includes("new.reader@example.test"));
    expect(mail.subject).toBe("Confirm your e-mail address on Folio");
    expect(mail.text).toContain("Your username is new.Reader+1.");
    expect(mail.text).toMatch(/http:\/\/folio\.test\/accounts\/verify\/[0-9a-z]+-[0-9a-z]+-[A-Za-z0-9_-]{43}\//);
    expect(mail.text).not.toContain(GOOD);
    const u = await prisma.user.findUniqueOrThrow({ where: { username: "new.Reader+1" } });
    expect(u.email).toBe("new.reader@example.test");
    expect(u.role).toBe("READER");
    expect(u.isActive).toBe(true);
    expect(u.emailVerifiedAt).toBeNull();
    expect(u.passwordHash).toMatch(/^\$argon2id\$v=19\$m=19456,p=1,t=2\$/);
    // The password chosen on the form signs in.
    await login(request.agent(app), "new.Reader+1", GOOD);
  });

  it("a taken address answers exactly as a new one; its owner is told by e-mail and nothing changes", async () => {
    const { user, password } = await createUser({ username: "Owner", email: "owner@example.test" });
    const fresh = await signup({ username: "fresh_one", email: "fresh.one@example.test", password1: GOOD, password2: GOOD });
    const taken = await signup({ username: "someone_else", email: "OWNER@example.test", password1: GOOD, password2: GOOD });
    expect(await observable(taken.agent, taken.res)).toEqual(await observable(fresh.agent, fresh.res));
    expect(taken.res.text).not.toMatch(/exists|already/i);

    const notice = await smtp.waitFor((m) => m.to.includes("owner@example.test"));
    expect(notice.subject).toBe("Sign-up attempt on Folio");
    expect(notice.text).toContain("Someone tried to create an account");
    expect(notice.text).toContain("username: Owner");
    expect(notice.text).toContain("http://folio.test/accounts/login/");
    expect(notice.text).toContain("http://folio.test/accounts/password/reset/");
    await smtp.waitFor((m) => m.to.includes("fresh.one@example.test"));
    expect(await prisma.user.count({ where: { username: "someone_else" } })).toBe(0);
    expect(await prisma.user.count({ where: { email: "owner@example.test" } })).toBe(1);
    await login(request.agent(app), user.username, password); // the owner's password is unchanged
    expect(smtp.messages.filter((m) => m.to.includes("owner@example.test"))).toHaveLength(1);
  });

  it("the password is hashed before the sign-up's transaction opens: no argon2 hash runs while it holds a connection", async () => {
    let open = 0;
    const hashes: boolean[] = []; // per hash: was a transaction open?
    const realTx = prisma.$transaction.bind(prisma) as (...args: unknown[]) => Promise<unknown>;
    const realHash = argon2.hash.bind(argon2) as (...args: unknown[]) => Promise<string>;
    vi.spyOn(prisma, "$transaction").mockImplementation(((fn: unknown, ...rest: unknown[]) =>
      typeof fn === "function"
        ? realTx(
            async (tx: unknown) => {
              open++;
              try {
                return await (fn as (tx: unknown) => Promise<unknown>)(tx);
              } finally {
                open--;
              }
            },
            ...rest,
          )
        : realTx(fn, ...rest)) as never);
    vi.spyOn(argon2, "hash").mockImplementation(((...args: unknown[]) => {
      hashes.push(open > 0);
      return realHash(...args);
    }) as never);
    try {
      const { res } = await signup({ username: "hash_first", email: "hash.first@example.test", password1: GOOD, password2: GOOD });
      expect(res.status).toBe(303);
      await smtp.waitFor((m) => m.to.includes("hash.first@example.test"));
      expect(prisma.$transaction).toHaveBeenCalled();
      expect(hashes).toEqual([false]);
    } finally {
      vi.restoreAllMocks();
    }
    // The account has the password chosen on the form.
    await login(request.agent(app), "hash_first", GOOD);
  });

  it("a deactivated account's address gets the same answer and no mail", async () => {
    await createUser({ username: "Gone", email: "gone@example.test", isActive: false });
    const { res } = await signup({ username: "gone_again", email: "gone@example.test", password1: GOOD, password2: GOOD });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe("/accounts/signup/done/");
    // A later sign-up's mail arrives; by then the first has been handled (one queue, in order).
    await signup({ username: "after_gone", email: "after.gone@example.test", password1: GOOD, password2: GOOD });
    await smtp.waitFor((m) => m.to.includes("after.gone@example.test"));
    expect(smtp.messages.some((m) => m.to.includes("gone@example.test"))).toBe(false);
    expect(await prisma.user.count({ where: { username: "gone_again" } })).toBe(0);
  });

  it("refuses a taken username case-insensitively (usernames are public), keeping the input (not passwords); never a word about the e-mail", async () => {
    await createUser({ username: "Taken", email: "taken@example.test" });
    const { res } = await signup({ username: "taken", email: "TAKEN@example.test", password1: GOOD, password2: GOOD });
    expect(res.status).toBe(400);
    expect(res.text).toContain("A user with that username already exists.");
    expect(res.text).not.toContain("e-mail address already exists");
    expect(res.text).toContain('value="taken"');
    expect(res.text).toContain('value="TAKEN@example.test"');
    expect(res.text).not.toContain(GOOD);
    // Errors are tied to their fields for assistive technology.
    expect(res.text).toMatch(/id="id_username"[^>]*aria-describedby="id_username_help id_username_error"[^>]*aria-invalid="true"/);
    expect(res.text).toContain('id="id_username_error"');
    // Fields without an error are not marked invalid.
    expect(res.text).toMatch(/<input type="password" id="id_password2" name="password2" aria-describedby="id_password2_help" autocomplete/);
    expect(res.text.match(/aria-invalid="true"/g)?.length).toBe(1);
    // The same form with a free username and the taken address goes through like any other.
    const other = await signup({ username: "not_taken", email: "TAKEN@example.test", password1: GOOD, password2: GOOD });
    expect(other.res.status).toBe(303);
    const notice = await smtp.waitFor((m) => m.to.includes("taken@example.test"));
    expect(notice.subject).toBe("Sign-up attempt on Folio");
  });

  it.each([
    [{ username: "bad name!", email: "a@example.test" }, "Enter a valid username"],
    [{ username: "u".repeat(151), email: "a@example.test" }, "at most 150 characters"],
    [{ username: "okname", email: "not-an-email" }, "Enter a valid e-mail address."],
    [{ username: "okname", email: "" }, "Enter an e-mail address."],
    [{ username: "", email: "a@example.test" }, "Enter a username."],
  ])("field rules: %o", async (fields, message) => {
    const { res } = await signup({ ...fields, password1: GOOD, password2: GOOD });
    expect(res.status).toBe(400);
    expect(res.text).toContain(message);
  });

  it.each([
    ["short1!", "too short"],
    ["123456789012345", "entirely numeric"],
    ["Password1234!", "too common"],
    ["qwertyuiop123", "too common"],
    ["alice-wonderland", "too similar to the username"],
    ["wonderland@example", "too similar to the e-mail address"],
  ])("password rules: %s", async (pw, message) => {
    const { res } = await signup({ username: "alice", email: "wonderland@example.test", password1: pw, password2: pw });
    expect(res.status).toBe(400);
    expect(res.text).toContain(message);
  });

  it("passwords must match", async () => {
    const { res } = await signup({ username: "matcher", email: "m@example.test", password1: GOOD, password2: GOOD + "x" });
    expect(res.status).toBe(400);
    expect(res.text).toContain("The two password fields didn&#39;t match.");
  });

  it("escapes XSS in the kept username", async () => {
    const { res } = await signup({ username: `"><script>alert(1)</script>`, email: "x@example.test", password1: GOOD, password2: GOOD });
    expect(res.status).toBe(400);
    expect(res.text).not.toContain("<script>alert(1)</script>");
    expect(res.text).toContain("&quot;&gt;&lt;script&gt;");
  });

  it.each([
    ["arrays", `username=a&username=b&email=a@b.co&password1=${GOOD}&password2=${GOOD}`],
    ["missing everything", "x=1"],
    ["huge values", `username=${"u".repeat(60_000)}&email=e@x.co&password1=p&password2=p`],
    ["NUL bytes", `username=nul%00name&email=a%00@b.co&password1=${GOOD}%00&password2=${GOOD}%00`],
    ["malformed encoding", "username=%E0%A4%A&email=%ZZ&password1=%&password2=%"],
  ])("hostile input (%s) -> 400", async (_l, body) => {
    const { res } = await signup(body);
    expect(res.status).toBe(400);
    expect(await prisma.user.count({ where: { username: { startsWith: "nul" } } })).toBe(0);
  });

  it("is a 404 when SIGNUP_ENABLED is false", async () => {
    const prev = config.SIGNUP_ENABLED;
    config.SIGNUP_ENABLED = false;
    try {
      await request(app).get("/accounts/signup/").expect(404);
      await request(app).get("/accounts/signup/done/").expect(404);
      const page = await request(app).get("/accounts/login/").expect(200);
      expect(page.text).not.toContain("/accounts/signup/");
    } finally {
      config.SIGNUP_ENABLED = prev;
    }
  });
});

describe("password validators (shared with the CLI)", () => {
  it("accepts a decent passphrase and lists every problem of a bad one", () => {
    expect(validatePassword(GOOD, { username: "bob", email: "bob@example.test" })).toEqual([]);
    expect(validatePassword("1234", {})).toEqual(["This password is too short. It must contain at least 12 characters.", "This password is entirely numeric."]);
    expect(validatePassword("qwertyqwerty", {})).toContain("This password is too common.");
  });
});
