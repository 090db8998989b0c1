// Browser journeys (real Chromium, the app on a real port, a real SMTP server in the test):
// sign up -> log in -> write a post in the editor (via /write/) -> My posts -> log out; and a password reset followed from the
// e-mail. Screenshots of the account pages, desktop and phone.
import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import { basename, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { Browser, Page } from "playwright-core";
import { prisma } from "../../src/db/index.ts";
import { launchBrowser, screenshot, startServer, type TestServer } from "../support/browser.ts";
import { startSmtp, type TestSmtp } from "../support/smtp.ts";
import { createUser } from "../support/fixtures.ts";

const SHOTS = "/work/notes/shots/D";
const PASSWORD = "Harbor-Lights-Tangerine-73";
const NEW_PASSWORD = "Cobalt-Fern-Whistle-2049";

vi.setConfig({ testTimeout: 90_000 });

let server: TestServer;
let browser: Browser;
let smtp: TestSmtp;

async function shot(page: Page, name: string) {
  const path = await screenshot(page, `accounts-${name}`);
  if (existsSync("/work/notes")) {
    mkdirSync(SHOTS, { recursive: true });
    copyFileSync(path, join(SHOTS, basename(path)));
  }
}

beforeAll(async () => {
  [server, browser, smtp] = await Promise.all([startServer(), launchBrowser(), startSmtp()]);
  await prisma.category.create({ data: { name: "Django", slug: "django" } });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await smtp?.close();
});

/** Fills and submits the login form; resolves once the answer (form again, or redirect target) has loaded. */
async function logIn(page: Page, username: string, password: string) {
  await page.getByLabel("Username or e-mail").fill(username);
  await page.getByLabel("Password", { exact: true }).fill(password);
  const posted = page.waitForResponse((r) => r.url().includes("/accounts/login/") && r.request().method() === "POST");
  await page.getByRole("button", { name: "Log in", exact: true }).click();
  await posted;
  await page.waitForLoadState("domcontentloaded");
}

describe("accounts journey", () => {
  it("sign up, log in, write a post, log out", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const u = server.baseUrl;

    // Sign up (a first try with a weak password shows the error next to the field).
    await page.goto(`${u}/accounts/signup/`);
    await page.getByLabel("Username").fill("journey");
    await page.getByLabel("E-mail address").fill("journey@example.test");
    await page.getByLabel("Password", { exact: true }).fill("password1234");
    await page.getByLabel("Password confirmation").fill("password1234");
    await page.getByRole("button", { name: "Sign up" }).click();
    await expect.poll(() => page.locator("#id_password1_error").textContent()).toContain("too common");
    expect(await page.getByLabel("Username").inputValue()).toBe("journey");
    expect(await page.getByLabel("Password", { exact: true }).getAttribute("aria-invalid")).toBe("true");
    await shot(page, "signup-errors-desktop");
    await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
    await page.getByLabel("Password confirmation").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign up" }).click();
    // Sign-up answers "check your e-mail" (the same for a taken address); the mail (a job) asks to
    // confirm the address: its link shows a button, which confirms and leads to the login page.
    await page.waitForURL(`${u}/accounts/signup/done/`);
    expect(await page.locator("h1").textContent()).toBe("Check your e-mail");
    await shot(page, "signup-done-desktop");
    const welcome = await smtp.waitFor((m) => m.to.includes("journey@example.test"));
    expect(welcome.text).toContain("Your username is journey.");
    await page.goto(`${u}${new URL(/https?:\/\/\S+\/accounts\/verify\/\S+/.exec(welcome.text)![0]).pathname}`);
    expect(await page.locator("h1").textContent()).toBe("Confirm your e-mail address");
    await page.getByRole("button", { name: "Confirm my e-mail address" }).click();
    await page.waitForURL(/\/accounts\/login\/$/);
    await expect.poll(() => page.locator("body").textContent()).toContain("Your e-mail address is confirmed.");
    await page.goto(`${u}/accounts/login/?next=/accounts/profile/`);
    await logIn(page, "journey", PASSWORD);
    await page.waitForURL(`${u}/accounts/profile/`);
    expect(await prisma.user.findUniqueOrThrow({ where: { username: "journey" }, select: { emailVerifiedAt: true } })).toMatchObject({
      emailVerifiedAt: expect.any(Date),
    });
    await shot(page, "profile-desktop");

    // A reader cannot write; an admin makes them an author.
    await prisma.user.update({ where: { username: "journey" }, data: { role: "AUTHOR" } });

    // Log out from the header, then /write/ sends us to the login page and back, on to the editor.
    await page.getByRole("button", { name: "Log out", exact: true }).click();
    await page.waitForURL(`${u}/accounts/logout/`);
    expect(await page.locator("h1").textContent()).toBe("Logged out");
    await page.goto(`${u}/write/`);
    await page.waitForURL(/\/accounts\/login\/\?next=%2Fwrite%2F$/);
    await shot(page, "login-desktop");
    await logIn(page, "JOURNEY@example.test", PASSWORD);
    await page.waitForURL(`${u}/admin/blog/post/add/`);

    await page.getByRole("textbox", { name: /^Title/ }).fill("My first <post>");
    await page.getByLabel("Category", { exact: true }).selectOption({ label: "Django" });
    await page.getByLabel("Tags", { exact: true }).fill("python, web dev");
    await page.getByLabel("Body", { exact: true }).fill("Hello **world**.\n\n- one\n- two\n");
    await shot(page, "write-desktop");
    await page.getByRole("button", { name: "Publish", exact: true }).click();
    await page.waitForURL(/\/admin\/blog\/post\/(\d+\/change\/)?$/); // saved: the change form or the list
    // My posts (from the header): the post is published; View opens its page
    await page.goto(`${u}/`);
    await page.locator(".site-header").getByRole("link", { name: "My posts" }).click();
    await page.waitForURL(`${u}/write/posts/`);
    await page.getByRole("link", { name: /^Published/ }).click();
    await page.waitForURL(`${u}/write/posts/published/`);
    await shot(page, "my-posts-desktop");
    await page.getByRole("link", { name: "View “My first <post>”" }).click();
    await page.waitForURL(/\/blog\/\d{4}\/\d{2}\/\d{2}\/my-first-post\/$/);
    expect(await page.locator("h1").first().textContent()).toContain("My first <post>");
    expect(await page.locator("strong", { hasText: "world" }).count()).toBeGreaterThan(0);

    await page.getByRole("button", { name: "Log out", exact: true }).click();
    await page.waitForURL(`${u}/accounts/logout/`);
    await page.goto(`${u}/accounts/profile/`);
    await page.waitForURL(/\/accounts\/login\//);
    await context.close();
  });

  it("password reset followed from the e-mail", async () => {
    await createUser({ username: "forgetful", email: "forgetful@example.test", password: PASSWORD });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const u = server.baseUrl;
    await page.goto(`${u}/accounts/login/`);
    await page.getByRole("link", { name: "Forgotten your password?" }).click();
    await page.getByLabel("E-mail address").fill("forgetful@example.test");
    await page.getByRole("button", { name: "Reset my password" }).click();
    await page.waitForURL(`${u}/accounts/password/reset/done/`);

    const mail = await smtp.waitFor((m) => m.to.includes("forgetful@example.test"));
    const link = /https?:\/\/\S+/.exec(mail.text)![0];
    // The link is built from SITE_URL (http://folio.test); open its path on the test server.
    await page.goto(u + new URL(link).pathname);
    await page.getByLabel("New password").fill(NEW_PASSWORD);
    await page.getByLabel("Confirm password").fill(NEW_PASSWORD);
    await shot(page, "reset-confirm-desktop");
    await page.getByRole("button", { name: "Change my password" }).click();
    await page.waitForURL(`${u}/accounts/password/reset/complete/`);
    await page.locator("main").getByRole("link", { name: "Log in" }).click();
    await page.waitForURL(`${u}/accounts/login/`);
    await logIn(page, "forgetful", PASSWORD);
    expect(await page.locator(".form-errors").textContent()).toContain("Please enter a correct username");
    await logIn(page, "forgetful", NEW_PASSWORD);
    await page.waitForURL(`${u}/`, { waitUntil: "domcontentloaded" });
    expect(await page.locator(".site-header").textContent()).toContain("forgetful");
    await context.close();
  });

  it("phone screenshots of login, sign-up, profile and write", async () => {
    const { user, password } = await createUser({ role: "AUTHOR", username: "phoneuser" });
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    const u = server.baseUrl;
    await page.goto(`${u}/accounts/signup/`);
    await shot(page, "signup-phone");
    await page.goto(`${u}/accounts/login/?next=/accounts/profile/`);
    await shot(page, "login-phone");
    await logIn(page, user.username, password);
    await page.waitForURL(`${u}/accounts/profile/`, { waitUntil: "domcontentloaded" });
    await shot(page, "profile-phone");
    await page.goto(`${u}/write/posts/`);
    await shot(page, "my-posts-phone");
    await page.goto(`${u}/write/`);
    await page.waitForURL(`${u}/admin/blog/post/add/`);
    await page.getByRole("button", { name: "Save", exact: true }).click();
    await page.waitForSelector("#id_title_error");
    await shot(page, "write-errors-phone");
    // Nothing overflows horizontally on a phone.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await context.close();
  });
});
