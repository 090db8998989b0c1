// Password reset by e-mail (a real SMTP server in the test), password change, sessions ended.
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import request from "supertest";
import { buildApp } from "../../src/app.ts";
import { pool, prisma } from "../../src/db/index.ts";
import { issueResetToken } from "../../src/accounts/reset.ts";
import { settleAfterResponse } from "../../src/web/after-response.ts";
import { csrfFrom, login, sessionCookie } from "../support/auth.ts";
import { createUser } from "../support/fixtures.ts";
import { startSmtp, type TestSmtp } from "../support/smtp.ts";

const app = buildApp();
let smtp: TestSmtp;

beforeAll(async () => {
  smtp = await startSmtp();
});
afterAll(async () => {
  await smtp.close();
});

const NEW_PASSWORD = "Violet-Harbour-Lantern-42";

async function formToken(agent: ReturnType<typeof request.agent>, path: string) {
  return csrfFrom((await agent.get(path).expect(200)).text);
}

async function requestReset(agent: ReturnType<typeof request.agent>, email: string) {
  const token = await formToken(agent, "/accounts/password/reset/");
  return agent.post("/accounts/password/reset/").type("form").send({ _csrf: token, email });
}

const sessionsOf = async (userId: number) =>
  (await pool.query(`SELECT sid FROM "session" WHERE (sess::jsonb -> 'passport' ->> 'user') = $1`, [String(userId)])).rowCount;

describe("password reset", () => {
  it("mails a single-use link (built from SITE_URL), sets the password, ends all sessions, no auto-login", async () => {
    const { user, password } = await createUser({ email: "reset.me@example.test" });
    // Two signed-in browsers before the reset.
    const a = request.agent(app);
    const b = request.agent(app);
    await login(a, user.username, password);
    await login(b, user.email, password);
    expect(await sessionsOf(user.id)).toBe(2);

    const anon = request.agent(app);
    // Upper-case address and a hostile Host header: the link still uses SITE_URL.
    const token = await formToken(anon, "/accounts/password/reset/");
    const res = await anon
      .post("/accounts/password/reset/")
      .set("Host", "evil.example")
      .type("form")
      .send({ _csrf: token, email: "Reset.Me@Example.TEST" })
      .expect(303);
    expect(res.headers.location).toBe("/accounts/password/reset/done/");

    const mail = await smtp.waitFor((m) => m.to.includes("reset.me@example.test"));
    expect(mail.subject).toContain("Password reset");
    expect(mail.text).toContain(user.username);
    const link = /https?:\/\/\S+/.exec(mail.text)![0];
    expect(link).toMatch(/^http:\/\/folio\.test\/accounts\/reset\/[A-Za-z0-9_-]{43}\/$/);
    expect(link).not.toContain("evil.example");
    const path = new URL(link).pathname;
    const plain = path.split("/")[3]!;
    // Only the sha256 is stored.
    const stored = await prisma.passwordResetToken.findFirstOrThrow({ where: { userId: user.id } });
    expect(stored.tokenHash).toBe(createHash("sha256").update(plain).digest("hex"));
    expect(stored.tokenHash).not.toContain(plain);
    expect(stored.expiresAt.getTime() - Date.now()).toBeGreaterThan(59 * 60_000);
    expect(stored.expiresAt.getTime() - Date.now()).toBeLessThanOrEqual(60 * 60_000);

    const form = await anon.get(path).expect(200);
    expect(form.headers["cache-control"]).toContain("no-store");
    // Weak password refused, error next to the field.
    const weak = await anon
      .post(path)
      .type("form")
      .send({ _csrf: csrfFrom(form.text), new_password1: "password1234", new_password2: "password1234" })
      .expect(400);
    expect(weak.text).toContain("This password is too common.");
    expect(weak.text).toMatch(/aria-invalid="true"/);
    const done = await anon
      .post(path)
      .type("form")
      .send({ _csrf: csrfFrom(form.text), new_password1: NEW_PASSWORD, new_password2: NEW_PASSWORD })
      .expect(303);
    expect(done.headers.location).toBe("/accounts/password/reset/complete/");
    // Not signed in by the reset.
    await anon.get("/accounts/profile/").expect(302);
    // Both earlier sessions are gone.
    expect(await sessionsOf(user.id)).toBe(0);
    await a.get("/accounts/profile/").expect(302);
    await b.get("/accounts/profile/").expect(302);
    // Single use.
    const again = await anon.get(path).expect(400);
    expect(again.text).toContain("invalid");
    const reuse = await anon
      .post(path)
      .type("form")
      .send({ _csrf: csrfFrom(form.text), new_password1: "Another-Good-Pass-77", new_password2: "Another-Good-Pass-77" })
      .expect(400);
    expect(reuse.text).toContain("invalid");
    // Old password dead, new one works.
    const c = request.agent(app);
    const lp = await formToken(c, "/accounts/login/");
    await c.post("/accounts/login/").type("form").send({ _csrf: lp, username: user.username, password }).expect(400);
    await login(c, user.username, NEW_PASSWORD);
  });

  it("answers the same for unknown addresses and sends nothing", async () => {
    const known = await createUser({ email: "known@example.test" });
    const agent = request.agent(app);
    const r1 = await requestReset(agent, "nobody@example.test");
    const r2 = await requestReset(agent, "known@example.test");
    expect(r1.status).toBe(303);
    expect(r2.status).toBe(303);
    expect(r1.headers.location).toBe(r2.headers.location);
    await smtp.waitFor((m) => m.to.includes("known@example.test"));
    // Both requests' mail work (after the response) has finished: had it sent anything for "nobody", it would be here.
    expect(await settleAfterResponse(10_000)).toBe(0);
    expect(smtp.messages.some((m) => m.to.includes("nobody@example.test"))).toBe(false);
    expect(await prisma.passwordResetToken.count({ where: { userId: known.user.id } })).toBe(1);
  });

  it("an expired token is refused", async () => {
    const { user } = await createUser();
    const before = (await prisma.user.findUniqueOrThrow({ where: { id: user.id } })).passwordHash;
    const token = await issueResetToken(user.id);
    await prisma.passwordResetToken.updateMany({ where: { userId: user.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    const agent = request.agent(app);
    const page = await agent.get(`/accounts/reset/${token}/`).expect(400);
    expect(page.text).toContain("Password reset unsuccessful");
    const login = await formToken(agent, "/accounts/login/");
    await agent.post(`/accounts/reset/${token}/`).type("form").send({ _csrf: login, new_password1: NEW_PASSWORD, new_password2: NEW_PASSWORD }).expect(400);
    expect((await prisma.user.findUniqueOrThrow({ where: { id: user.id } })).passwordHash).toBe(before);
  });

  it("a new request voids the earlier unused token", async () => {
    const { user } = await createUser();
    const first = await issueResetToken(user.id);
    const second = await issueResetToken(user.id);
    await request(app).get(`/accounts/reset/${first}/`).expect(400);
    await request(app).get(`/accounts/reset/${second}/`).expect(200);
  });

  it("malformed tokens are a 400 page, never a 500", async () => {
    for (const t of ["x", "a".repeat(500), "%00", "..%2F..%2Fetc", "<script>alert(1)</script>", "%E0%A4%A"]) {
      const res = await request(app).get(`/accounts/reset/${t}/`);
      expect([400, 404]).toContain(res.status);
    }
  });

  it("refuses a reset POST without the CSRF token", async () => {
    const { user } = await createUser();
    const token = await issueResetToken(user.id);
    await request(app).post(`/accounts/reset/${token}/`).type("form").send({ new_password1: NEW_PASSWORD, new_password2: NEW_PASSWORD }).expect(403);
    await request(app).post("/accounts/password/reset/").type("form").send({ email: user.email }).expect(403);
  });

  it("hostile input on the reset forms -> 400", async () => {
    const agent = request.agent(app);
    const token = await formToken(agent, "/accounts/password/reset/");
    for (const body of [
      `_csrf=${token}&email=a@b.c&email=d@e.f`,
      `_csrf=${token}`,
      `_csrf=${token}&email=${"a".repeat(5000)}@x.y`,
      `_csrf=${token}&email=a%00@b.c`,
      `_csrf=${token}&email=not-an-email`,
    ]) {
      const res = await agent.post("/accounts/password/reset/").type("form").send(body);
      expect(res.status, body.slice(0, 80)).toBe(400);
    }
  });
});

describe("password change", () => {
  it("asks the current password, then ends the other sessions and keeps this one under a new id", async () => {
    const { user, password } = await createUser({ username: "changer" });
    const other = request.agent(app);
    await login(other, user.username, password);
    const agent = request.agent(app);
    await login(agent, user.username, password);
    expect(await sessionsOf(user.id)).toBe(2);

    const page = await agent.get("/accounts/password/change/").expect(200);
    const token = csrfFrom(page.text);
    const wrong = await agent
      .post("/accounts/password/change/")
      .type("form")
      .send({ _csrf: token, old_password: "nope", new_password1: NEW_PASSWORD, new_password2: NEW_PASSWORD })
      .expect(400);
    expect(wrong.text).toContain("Your old password was entered incorrectly");
    const mismatch = await agent
      .post("/accounts/password/change/")
      .type("form")
      .send({ _csrf: token, old_password: password, new_password1: NEW_PASSWORD, new_password2: "different" })
      .expect(400);
    expect(mismatch.text).toContain("didn&#39;t match");
    const similar = await agent
      .post("/accounts/password/change/")
      .type("form")
      .send({ _csrf: token, old_password: password, new_password1: "changer-changer", new_password2: "changer-changer" })
      .expect(400);
    expect(similar.text).toContain("too similar to the username");

    const ok = await agent
      .post("/accounts/password/change/")
      .type("form")
      .send({ _csrf: token, old_password: password, new_password1: NEW_PASSWORD, new_password2: NEW_PASSWORD })
      .expect(303);
    expect(sessionCookie(ok)).toBeDefined(); // regenerated
    expect(await sessionsOf(user.id)).toBe(1);
    await other.get("/accounts/profile/").expect(302);
    const profile = await agent.get("/accounts/profile/").expect(200);
    expect(profile.text).toContain("Your password was changed");
  });

  it("requires login", async () => {
    const res = await request(app).get("/accounts/password/change/").expect(302);
    expect(res.headers.location).toContain("/accounts/login/?next=");
  });
});

describe("profile", () => {
  it("edits names (escaped on output) and 'log out everywhere' ends every session", async () => {
    const { user, password } = await createUser();
    const other = request.agent(app);
    await login(other, user.username, password);
    const agent = request.agent(app);
    const s = await login(agent, user.username, password);
    const xss = `<script>alert("x")</script><img src=x onerror=alert(1)>`;
    await agent
      .post("/accounts/profile/")
      .type("form")
      .send({ _csrf: await s.csrf(), first_name: xss, last_name: "O'Brien" })
      .expect(303);
    const page = await agent.get("/accounts/profile/").expect(200);
    expect(page.text).not.toContain("<script>alert");
    expect(page.text).not.toContain("<img src=x");
    expect(page.text).toContain("&lt;script&gt;");
    expect((await prisma.user.findUniqueOrThrow({ where: { id: user.id } })).firstName).toBe(xss);

    for (const body of [{ first_name: ["a", "b"] }, { first_name: "x".repeat(151) }, { last_name: "a\u0000b" }]) {
      const res = await agent
        .post("/accounts/profile/")
        .type("form")
        .send({ _csrf: await s.csrf(), ...body });
      expect(res.status).toBe(400);
    }

    const out = await agent
      .post("/accounts/profile/logout-everywhere/")
      .type("form")
      .send({ _csrf: await s.csrf() })
      .expect(200);
    expect(out.text).toContain("every device");
    expect(await sessionsOf(user.id)).toBe(0);
    await agent.get("/accounts/profile/").expect(302);
    await other.get("/accounts/profile/").expect(302);
  });
});
