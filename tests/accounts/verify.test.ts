// E-mail verification through the real app, a real SMTP server and the real job workers: sign-up ->
// verification mail -> the link's page (GET: a button only) -> POST verifies; favorites refused before
// (post page: a notice with "send the link again"; API: 403 problem+json) and allowed after; tampered,
// expired and other-address tokens get a clear 400 page; resend (rate-limited); a completed password
// reset verifies the address too.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import request from "supertest";
import { config } from "../../src/config.ts";
import { prisma } from "../../src/db/index.ts";
import { signAccessToken } from "../../src/api/tokens.ts";
import { verificationToken } from "../../src/accounts/verify.ts";
import { can, refusalReason, rolesWith } from "../../src/accounts/permissions.ts";
import { csrfFrom, login } from "../support/auth.ts";
import { createUser, csrfPost, hoursAgo, makePost, signedIn } from "../support/fixtures.ts";
import { url } from "../../src/web/urls.ts";
import { startSmtp, type TestSmtp } from "../support/smtp.ts";

config.TRUST_PROXY = "true";
const { buildApp } = await import("../../src/app.ts");
const app = buildApp();
const GOOD = "Quiet-Meadow-Copper-19";
let smtp: TestSmtp;
let postId = 0;
let postPath = "";

beforeAll(async () => {
  smtp = await startSmtp();
  const { user: author } = await createUser({ role: "AUTHOR" });
  const post = await makePost({ authorId: author.id, title: "Worth keeping", publish: hoursAgo(2) });
  postId = post.id;
  const d = post.publish;
  postPath = `/blog/${d.getUTCFullYear()}/${String(d.getUTCMonth() + 1).padStart(2, "0")}/${String(d.getUTCDate()).padStart(2, "0")}/${post.slug}/`;
});
afterAll(async () => {
  await smtp.close();
});

let ipCounter = 1;
const linkIn = (text: string) => /http:\/\/folio\.test(\/accounts\/verify\/[^/\s]+\/)/.exec(text)?.[1];

async function signUp(username: string, email: string) {
  const ip = `203.0.113.${ipCounter++}`;
  const agent = request.agent(app);
  const token = csrfFrom((await agent.get("/accounts/signup/").set("X-Forwarded-For", ip).expect(200)).text);
  await agent
    .post("/accounts/signup/")
    .set("X-Forwarded-For", ip)
    .type("form")
    .send({ _csrf: token, username, email, password1: GOOD, password2: GOOD })
    .expect(303);
  const mail = await smtp.waitFor((m) => m.to.includes(email) && m.subject.startsWith("Confirm your e-mail address"));
  return { mail, path: linkIn(mail.text)! };
}

const apiFavorite = (user: { id: number; email: string; role: "READER" }) =>
  request(app)
    .post(`/api/v1/posts/${postId}/favorite`)
    .set("Authorization", `Bearer ${signAccessToken(user)}`);

describe("verification at sign-up", () => {
  it("sign-up -> mail -> link page (GET verifies nothing) -> POST verifies; favorites refused before, allowed after (page and API)", async () => {
    const { mail, path } = await signUp("vera", "vera@example.test");
    expect(mail.text).toContain("Your username is vera.");
    expect(path).toBeTruthy();
    const user = await prisma.user.findUniqueOrThrow({ where: { username: "vera" } });
    expect(user.emailVerifiedAt).toBeNull();

    // Signed in (allowed before verification) and refused favorites, on the page and in the API.
    const agent = request.agent(app);
    const session = await login(agent, "vera", GOOD);
    const profile = await agent.get("/accounts/profile/").expect(200);
    expect(profile.text).toContain("Please confirm your e-mail address");
    expect(profile.text).toContain("Send the link again");
    const detail = await agent.get(postPath).expect(200);
    expect(detail.text).toContain(`/accounts/favorites/${postId}/`);
    const refused = await agent
      .post(`/accounts/favorites/${postId}/`)
      .type("form")
      .send({ _csrf: await session.csrf(), next: postPath })
      .expect(403);
    expect(refused.text).toContain("Please confirm your e-mail address");
    expect(refused.text).toContain("/accounts/email/resend/");
    const api = await apiFavorite({ id: user.id, email: user.email, role: "READER" }).expect(403);
    expect(api.headers["content-type"]).toContain("application/problem+json");
    expect(api.body.detail).toMatch(/Confirm your e-mail address first/);
    expect(await prisma.favorite.count({ where: { userId: user.id } })).toBe(0);

    // The link's GET page shows a button and changes nothing (link scanners prefetch GETs).
    const anon = request.agent(app);
    const page = await anon.get(path).expect(200);
    expect(page.headers["referrer-policy"]).toBe("no-referrer");
    expect(page.text).toContain("Confirm my e-mail address");
    expect((await prisma.user.findUniqueOrThrow({ where: { id: user.id } })).emailVerifiedAt).toBeNull();
    // Without the page's CSRF token the POST is refused, and verifies nothing.
    const noCsrf = await request(app).post(path).type("form").send({});
    expect(noCsrf.status).toBe(403);
    expect((await prisma.user.findUniqueOrThrow({ where: { id: user.id } })).emailVerifiedAt).toBeNull();
    const done = await anon
      .post(path)
      .type("form")
      .send({ _csrf: csrfFrom(page.text) })
      .expect(303);
    expect(done.headers.location).toBe("/accounts/login/");
    const verifiedAt = (await prisma.user.findUniqueOrThrow({ where: { id: user.id } })).emailVerifiedAt;
    expect(verifiedAt).toBeInstanceOf(Date);

    // Twice is harmless: still verified, at the first time.
    const again = await anon.get(path).expect(200);
    await anon
      .post(path)
      .type("form")
      .send({ _csrf: csrfFrom(again.text) })
      .expect(303);
    expect((await prisma.user.findUniqueOrThrow({ where: { id: user.id } })).emailVerifiedAt).toEqual(verifiedAt);

    // Now favorites work: the page's button and the API.
    await agent
      .post(`/accounts/favorites/${postId}/`)
      .type("form")
      .send({ _csrf: await session.csrf(), next: postPath })
      .expect(303)
      .expect("Location", postPath);
    expect(await prisma.favorite.count({ where: { userId: user.id, postId } })).toBe(1);
    const ok = await apiFavorite({ id: user.id, email: user.email, role: "READER" }).expect(200);
    expect(ok.body).toEqual({ favorited: true, favorites: 1 });
    expect((await agent.get("/accounts/profile/").expect(200)).text).not.toContain("Please confirm your e-mail address");
  });

  it("tampered, expired, other-address and malformed tokens get a clear 400 page (never a 500), and verify nothing", async () => {
    const { user } = await createUser({ email: "tom@example.test" });
    await prisma.user.update({ where: { id: user.id }, data: { emailVerifiedAt: null } });
    const good = verificationToken(user);
    const sig = good.slice(-43);
    const tampered = good.slice(0, -43) + (sig[0] === "A" ? "B" : "A") + sig.slice(1);
    const otherUser = `${(user.id + 1).toString(36)}${good.slice(good.indexOf("-"))}`;
    const expired = verificationToken(user, Date.now() - 4 * 86_400_000);
    for (const [token, says] of [
      [tampered, "This link is not valid"],
      [otherUser, "This link is not valid"],
      [expired, "This link has expired"],
      ["nonsense", "This link is not valid"],
      ["0-0-" + "x".repeat(43), "This link is not valid"],
      ["zzzzzzzzzz-zzzzzzzzzz-" + "A".repeat(43), "This link is not valid"],
    ] as const) {
      const res = await request(app).get(`/accounts/verify/${token}/`);
      expect(res.status, token).toBe(400);
      expect(res.text).toContain(says);
      expect(res.text).toContain("Send the link again"); // how to get a new one
    }
    // A POST of a bad token (with a valid CSRF token) is the same page.
    const agent = request.agent(app);
    const form = await agent.get(`/accounts/verify/${good}/`).expect(200);
    const bad = await agent
      .post(`/accounts/verify/${tampered}/`)
      .type("form")
      .send({ _csrf: csrfFrom(form.text) });
    expect(bad.status).toBe(400);
    // The address changes: the token made for the old one stops working.
    await prisma.user.update({ where: { id: user.id }, data: { email: "tom.new@example.test" } });
    const moved = await agent.get(`/accounts/verify/${good}/`);
    expect(moved.status).toBe(400);
    expect(moved.text).toContain("another e-mail address");
    await agent
      .post(`/accounts/verify/${good}/`)
      .type("form")
      .send({ _csrf: csrfFrom(form.text) })
      .expect(400);
    expect((await prisma.user.findUniqueOrThrow({ where: { id: user.id } })).emailVerifiedAt).toBeNull();
  });

  it("'send the link again' mails a new working link, within a limit (then 429 with Retry-After)", async () => {
    const { user, password } = await createUser({ email: "rita@example.test" });
    await prisma.user.update({ where: { id: user.id }, data: { emailVerifiedAt: null } });
    const agent = request.agent(app);
    const session = await login(agent, user.username, password);
    for (let i = 1; i <= 3; i++) {
      const res = await agent
        .post("/accounts/email/resend/")
        .type("form")
        .send({ _csrf: await session.csrf(), next: "/accounts/profile/" })
        .expect(303);
      expect(res.headers.location).toBe("/accounts/profile/");
      expect((await agent.get("/accounts/profile/")).text).toContain("We sent a new confirmation link to rita@example.test");
    }
    const throttled = await agent
      .post("/accounts/email/resend/")
      .type("form")
      .send({ _csrf: await session.csrf() });
    expect(throttled.status).toBe(429);
    expect(Number(throttled.headers["retry-after"])).toBeGreaterThan(0);
    const mails = await (async () => {
      await smtp.waitFor((m) => m.to.includes("rita@example.test") && smtp.messages.filter((x) => x.to.includes("rita@example.test")).length >= 3);
      return smtp.messages.filter((m) => m.to.includes("rita@example.test"));
    })();
    expect(mails).toHaveLength(3);
    const path = linkIn(mails[2]!.text)!;
    const page = await agent.get(path).expect(200);
    await agent
      .post(path)
      .type("form")
      .send({ _csrf: csrfFrom(page.text) })
      .expect(303)
      .expect("Location", "/accounts/profile/");
    expect((await prisma.user.findUniqueOrThrow({ where: { id: user.id } })).emailVerifiedAt).toBeInstanceOf(Date);
    // Verified: the button says so and sends nothing.
    await agent
      .post("/accounts/email/resend/")
      .type("form")
      .send({ _csrf: await session.csrf() })
      .expect(303);
  });

  it("a completed password reset verifies the address (the link came to the mailbox)", async () => {
    const { user } = await createUser({ email: "pat@example.test" });
    await prisma.user.update({ where: { id: user.id }, data: { emailVerifiedAt: null } });
    const agent = request.agent(app);
    const form = await agent.get("/accounts/password/reset/").expect(200);
    await agent
      .post("/accounts/password/reset/")
      .set("X-Forwarded-For", "203.0.113.250")
      .type("form")
      .send({ _csrf: csrfFrom(form.text), email: "pat@example.test" })
      .expect(303);
    const mail = await smtp.waitFor((m) => m.to.includes("pat@example.test"));
    const path = /http:\/\/folio\.test(\/accounts\/reset\/[^/\s]+\/)/.exec(mail.text)![1]!;
    const page = await agent.get(path).expect(200);
    await agent
      .post(path)
      .type("form")
      .send({ _csrf: csrfFrom(page.text), new_password1: GOOD, new_password2: GOOD })
      .expect(303);
    expect((await prisma.user.findUniqueOrThrow({ where: { id: user.id } })).emailVerifiedAt).toBeInstanceOf(Date);
  });
});

describe("a changed e-mail address is verified again", () => {
  it("an admin changing a verified user's address: not verified any more, favorites refused, a link mailed to the new address verifies it", async () => {
    const admin = await signedIn(app, "ADMIN");
    const { user } = await createUser({ username: "mover", email: "mover.old@example.test" });
    expect((await prisma.user.findUniqueOrThrow({ where: { id: user.id } })).emailVerifiedAt).toBeInstanceOf(Date);
    const form = (u: { username: string; email: string; version: number }, change: Record<string, string>) => ({
      username: u.username,
      email: u.email,
      role: "READER",
      isActive: "1",
      firstName: "",
      lastName: "",
      bio: "",
      _version: String(u.version),
      ...change,
    });
    // A names-only change keeps the verification and mails nothing.
    let row = await prisma.user.findUniqueOrThrow({ where: { id: user.id } });
    await csrfPost(admin, url("admin:accounts_user_change", { id: user.id }), form(row, { firstName: "Mo" }), 303);
    row = await prisma.user.findUniqueOrThrow({ where: { id: user.id } });
    expect(row.emailVerifiedAt).toBeInstanceOf(Date);
    // A taken address: refused (400), nothing changed, nothing mailed.
    await createUser({ email: "taken.addr@example.test" });
    await csrfPost(admin, url("admin:accounts_user_change", { id: user.id }), form(row, { email: "taken.addr@example.test" }), 400);
    expect((await prisma.user.findUniqueOrThrow({ where: { id: user.id } })).emailVerifiedAt).toEqual(row.emailVerifiedAt);

    await csrfPost(admin, url("admin:accounts_user_change", { id: user.id }), form(row, { email: "Mover.New@example.test" }), 303);
    const moved = await prisma.user.findUniqueOrThrow({ where: { id: user.id } });
    expect(moved.email).toBe("mover.new@example.test");
    expect(moved.emailVerifiedAt).toBeNull();
    await apiFavorite({ id: user.id, email: moved.email, role: "READER" }).expect(403);
    const mail = await smtp.waitFor((m) => m.to.includes("mover.new@example.test") && m.subject.startsWith("Confirm your e-mail address"));
    expect(mail.text).toContain("Your username is mover.");
    expect(smtp.messages.some((m) => m.to.includes("mover.old@example.test") || m.to.includes("taken.addr@example.test"))).toBe(false);
    // A link made for the old address does not verify the new one; the mailed link does.
    const oldPath = `/accounts/verify/${verificationToken({ id: user.id, email: "mover.old@example.test" })}/`;
    expect((await request(app).get(oldPath)).status).toBe(400);
    const path = linkIn(mail.text)!;
    const anon = request.agent(app);
    const page = await anon.get(path).expect(200);
    await anon
      .post(path)
      .type("form")
      .send({ _csrf: csrfFrom(page.text) })
      .expect(303);
    expect((await prisma.user.findUniqueOrThrow({ where: { id: user.id } })).emailVerifiedAt).toBeInstanceOf(Date);
    await apiFavorite({ id: user.id, email: moved.email, role: "READER" }).expect(200);
  });
});

describe("the one rule: post.favorite needs a verified address", () => {
  it("every role may favorite once verified; unverified is refused with the reason; inactive or anonymous without one", () => {
    const at = new Date();
    for (const role of ["READER", "AUTHOR", "EDITOR", "ADMIN"] as const) {
      expect(can({ id: 1, role, isActive: true, emailVerifiedAt: at }, "post.favorite")).toBe(true);
      expect(can({ id: 1, role, isActive: true, emailVerifiedAt: null }, "post.favorite")).toBe(false);
      expect(can({ id: 1, role, isActive: true }, "post.favorite")).toBe(false); // not known: not verified
      expect(refusalReason({ id: 1, role, isActive: true, emailVerifiedAt: null }, "post.favorite")).toBe("unverified");
    }
    expect(refusalReason({ id: 1, role: "READER", isActive: false, emailVerifiedAt: null }, "post.favorite")).toBeNull();
    expect(refusalReason(null, "post.favorite")).toBeNull();
    expect(refusalReason({ id: 1, role: "READER", isActive: true, emailVerifiedAt: null }, "post.create")).toBeNull();
    expect(rolesWith("post.favorite")).toEqual(["READER", "AUTHOR", "EDITOR", "ADMIN"]);
  });
});
