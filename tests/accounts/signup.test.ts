// Sign-up through the real app, and the shared validators.
import { describe, expect, it } from "vitest";
import request from "supertest";
import { buildApp } from "../../src/app.ts";
import { config } from "../../src/config.ts";
import { prisma } from "../../src/db/index.ts";
import { validatePassword } from "../../src/accounts/validation.ts";
import { createUser, csrfFrom } from "../support/auth.ts";

const app = buildApp();
const GOOD = "Quiet-Meadow-Copper-19";

async function signup(body: Record<string, unknown> | string) {
  const agent = request.agent(app);
  const token = csrfFrom((await agent.get("/accounts/signup/").expect(200)).text);
  const req = agent.post("/accounts/signup/").type("form");
  const res = typeof body === "string" ? await req.send(`${body}&_csrf=${token}`) : await req.send({ _csrf: token, ...body });
  return { agent, res };
}

describe("sign-up", () => {
  it("creates a READER with a lower-cased e-mail, signs in and shows the profile", async () => {
    const { agent, res } = await signup({ username: "new.Reader+1", email: "New.Reader@Example.TEST", password1: GOOD, password2: GOOD });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe("/accounts/profile/");
    const u = await prisma.user.findUniqueOrThrow({ where: { username: "new.Reader+1" } });
    expect(u.email).toBe("new.reader@example.test");
    expect(u.role).toBe("READER");
    expect(u.passwordHash).toMatch(/^\$argon2id\$v=19\$m=19456,p=1,t=2\$/);
    const page = await agent.get("/accounts/profile/").expect(200);
    expect(page.text).toContain("Welcome, new.Reader+1!");
  });

  it("refuses taken usernames and e-mails case-insensitively, keeping the input (not passwords)", async () => {
    await createUser({ username: "Taken", email: "taken@example.test" });
    const { res } = await signup({ username: "taken", email: "TAKEN@example.test", password1: GOOD, password2: GOOD });
    expect(res.status).toBe(400);
    expect(res.text).toContain("A user with that username already exists.");
    expect(res.text).toContain("A user with that e-mail address already exists.");
    expect(res.text).toContain('value="taken"');
    expect(res.text).toContain('value="TAKEN@example.test"');
    expect(res.text).not.toContain(GOOD);
    // Errors are tied to their fields for assistive technology.
    expect(res.text).toMatch(/id="id_username"[^>]*aria-describedby="id_username_help id_username_error"[^>]*aria-invalid="true"/);
    expect(res.text).toContain('id="id_username_error"');
    // Fields without an error are not marked invalid.
    expect(res.text).toMatch(/<input type="password" id="id_password2" name="password2" aria-describedby="id_password2_help" autocomplete/);
    expect(res.text.match(/aria-invalid="true"/g)?.length).toBe(2);
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
    expect(validatePassword("1234", {})).toEqual([
      "This password is too short. It must contain at least 12 characters.",
      "This password is entirely numeric.",
    ]);
    expect(validatePassword("qwertyqwerty", {})).toContain("This password is too common.");
  });
});
