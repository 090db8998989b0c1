// Invitations through the real app, a real SMTP server and the real job workers: an admin creates a
// user in the admin -> the invitation mail (in the same transaction) -> "Choose your password" -> the
// user signs in, verified. "Send the invitation again" on the change form of a user without a
// password (a new link; the old one stops working); a refused create sends nothing.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import request from "supertest";
import { buildApp } from "../../src/app.ts";
import { prisma } from "../../src/db/index.ts";
import { pool } from "../../src/db/client.ts";
import { csrfFrom, login } from "../support/auth.ts";
import { csrfPost, signedIn, type Signed } from "../support/fixtures.ts";
import { startSmtp, type TestSmtp } from "../support/smtp.ts";

const app = buildApp();
const GOOD = "Amber-Harbor-Lantern-42";
let smtp: TestSmtp;
let admin: Signed;

beforeAll(async () => {
  smtp = await startSmtp();
  admin = await signedIn(app, "ADMIN", { firstName: "Ada", lastName: "Admin" });
});
afterAll(async () => {
  await smtp.close();
});

const userForm = (username: string, email: string, extra: Record<string, unknown> = {}) => ({
  username,
  email,
  firstName: "",
  lastName: "",
  role: "AUTHOR",
  isActive: "on",
  bio: "",
  ...extra,
});
const inviteLink = (text: string) => /http:\/\/folio\.test(\/accounts\/invite\/[A-Za-z0-9_-]{43}\/)/.exec(text)?.[1];
const mailJobsCount = async () => Number((await pool.query("SELECT count(*) AS n FROM pgboss.job WHERE name = 'mail.send'")).rows[0].n);

describe("invitations", () => {
  it("admin creates a user -> invitation mail -> 'Choose your password' -> signs in, verified", async () => {
    const res = await csrfPost(admin, "/admin/accounts/user/add/", userForm("ivy", "Ivy@Example.test", { _continue: "1" }), 303);
    const ivy = await prisma.user.findUniqueOrThrow({ where: { username: "ivy" } });
    expect(ivy.passwordHash).toBe("");
    expect(ivy.emailVerifiedAt).toBeNull();
    // The success message names the address.
    const change = await admin.agent.get(res.headers.location!).expect(200);
    expect(change.text).toContain("An invitation to choose a password is on its way to ivy@example.test.");
    expect(change.text).toContain("Send the invitation again");

    const mail = await smtp.waitFor((m) => m.to.includes("ivy@example.test"));
    expect(mail.subject).toBe("Ada Admin invited you to Folio");
    expect(mail.text).toContain("Ada Admin invited you to Folio. Your username is ivy.");
    expect(mail.text).toContain("for 7 days");
    const path = inviteLink(mail.text)!;
    expect(path).toBeTruthy();

    const agent = request.agent(app);
    const page = await agent.get(path).expect(200);
    expect(page.text).toContain("Choose your password");
    expect(page.text).not.toMatch(/reset/i);
    expect(page.headers["referrer-policy"]).toBe("no-referrer");
    // A bad password is refused on the form (400), the link still works.
    const weak = await agent
      .post(path)
      .type("form")
      .send({ _csrf: csrfFrom(page.text), new_password1: "short", new_password2: "short" });
    expect(weak.status).toBe(400);
    expect(weak.text).toContain("too short");
    const done = await agent
      .post(path)
      .type("form")
      .send({ _csrf: csrfFrom(page.text), new_password1: GOOD, new_password2: GOOD })
      .expect(303);
    expect(done.headers.location).toBe("/accounts/login/");
    const after = await prisma.user.findUniqueOrThrow({ where: { id: ivy.id } });
    expect(after.emailVerifiedAt).toBeInstanceOf(Date);
    await login(request.agent(app), "ivy", GOOD);
    // Used once: the link now says it does not work (400, not a 500), and how to go on.
    const used = await request(app).get(path);
    expect(used.status).toBe(400);
    expect(used.text).toContain("This invitation link does not work");
    // With a password, the change form no longer offers an invitation.
    expect((await admin.agent.get(`/admin/accounts/user/${ivy.id}/change/`).expect(200)).text).not.toContain("Send the invitation again");
  });

  it("'Send the invitation again': a new link, the old one stops working, the address named", async () => {
    await csrfPost(admin, "/admin/accounts/user/add/", userForm("otto", "otto@example.test"), 303);
    const otto = await prisma.user.findUniqueOrThrow({ where: { username: "otto" } });
    const first = inviteLink((await smtp.waitFor((m) => m.to.includes("otto@example.test"))).text)!;
    const confirm = await admin.agent.get(`/admin/accounts/user/${otto.id}/invite/`).expect(200);
    expect(confirm.text).toContain("otto@example.test");
    const res = await csrfPost(admin, `/admin/accounts/user/${otto.id}/invite/`, {}, 303);
    expect(res.headers.location).toBe(`/admin/accounts/user/${otto.id}/change/`);
    expect((await admin.agent.get(res.headers.location!)).text).toContain("The invitation was sent again to otto@example.test.");
    await smtp.waitFor((m) => m.to.includes("otto@example.test") && inviteLink(m.text) !== first);
    const second = smtp.messages.filter((m) => m.to.includes("otto@example.test")).map((m) => inviteLink(m.text)!);
    expect(second).toHaveLength(2);
    expect(second[1]).not.toBe(first);
    expect((await request(app).get(first)).status).toBe(400);
    expect((await request(app).get(second[1]!)).status).toBe(200);
  });

  it("a create refused (taken e-mail) enqueues nothing; someone who is not an admin cannot send invitations", async () => {
    const before = await mailJobsCount();
    const res = await csrfPost(admin, "/admin/accounts/user/add/", userForm("copycat", admin.user.username.toLowerCase() + "@example.test"), 400);
    expect(res.text).toContain("already used");
    expect(await prisma.user.count({ where: { username: "copycat" } })).toBe(0);
    expect(await mailJobsCount()).toBe(before);
    const editor = await signedIn(app, "EDITOR");
    const target = await prisma.user.findFirstOrThrow({ where: { username: "otto" } });
    await csrfPost(editor, `/admin/accounts/user/${target.id}/invite/`, {}, 403);
    expect(await mailJobsCount()).toBe(before);
  });
});
