// Browser journey through the admin (real app on a port, real Chromium): an editor filters the
// posts, edits one with the live Markdown preview, schedules it, and bulk-publishes two drafts.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { launchBrowser, screenshot, startServer, type TestServer } from "../support/browser.ts";
import { createUser } from "../support/fixtures.ts";
import { prisma } from "../../src/db/index.ts";
import { createPost } from "../../src/posts/service.ts";

let server: TestServer;
let browser: Browser;
let page: Page;
let editor: { id: number; username: string };
let password: string;
const ids: Record<string, number> = {};

beforeAll(async () => {
  server = await startServer();
  browser = await launchBrowser();
  const u = await createUser({ role: "EDITOR" });
  editor = { id: u.user.id, username: u.user.username };
  password = u.password;
  const cat = await prisma.category.create({ data: { name: "Engineering", slug: "engineering" } });
  const mk = async (title: string, status: "DRAFT" | "PUBLISHED", day: number) =>
    (ids[title] = (
      await createPost(
        { title, body: `Body of ${title}.`, status, publish: new Date(Date.UTC(2026, 9, day, 9)), authorId: editor.id, categoryId: cat.id },
        { id: editor.id },
      )
    ).id);
  await mk("Published already", "PUBLISHED", 1);
  await mk("Draft to schedule", "DRAFT", 2);
  await mk("Draft alpha", "DRAFT", 3);
  await mk("Draft beta", "DRAFT", 4);
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  // The machine may be busy (parallel test files, argon2 logins): generous waits, same assertions.
  page.setDefaultTimeout(60_000);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe("editor journey in the admin", { timeout: 120_000 }, () => {
  it("logs in and lands on the admin index", async () => {
    await page.goto(`${server.baseUrl}/admin/`);
    expect(page.url()).toContain("/accounts/login/?next=%2Fadmin%2F");
    await page.fill("input[name=username]", editor.username);
    await page.fill("input[name=password]", password);
    await Promise.all([page.waitForURL(`${server.baseUrl}/admin/`), page.click("main form button[type=submit]")]);
    await expect(page.locator("h1").textContent()).resolves.toBe("Site administration");
    await expect(page.locator(".recent-actions").textContent()).resolves.toContain("Recent actions");
  });

  it("filters the change list to drafts", async () => {
    await page.goto(`${server.baseUrl}/admin/blog/post/`);
    await expect(page.locator(".result-list tbody tr").count()).resolves.toBe(4);
    await Promise.all([page.waitForURL(/status__exact=DRAFT/), page.click(".changelist-filter a:text-is('Draft')")]);
    const titles = await page.locator(".result-list .row-link").allTextContents();
    expect(titles.map((t) => t.trim())).toEqual(["Draft beta", "Draft alpha", "Draft to schedule"]);
    await screenshot(page, "admin-changelist-filtered");
  });

  it("edits a post with the live Markdown preview and schedules it", async () => {
    await Promise.all([page.waitForURL(/\/change\/$/), page.click(".row-link:text-is('Draft to schedule')")]);
    const body = page.locator("#id_body");
    await body.fill("## Scheduled heading\n\nThis is **bold** and <script>alert(1)</script> gone.");
    // the server renders the preview (POST with the CSRF token)
    await page.waitForFunction(() => document.querySelector(".md-preview strong")?.textContent === "bold");
    expect(await page.locator(".md-preview h2").textContent()).toContain("Scheduled heading"); // and its "#" anchor link
    expect(await page.locator(".md-preview script").count()).toBe(0);
    await page.selectOption("#id_status", "PUBLISHED");
    const future = new Date(Date.now() + 2 * 86_400_000);
    const local = future.toISOString().slice(0, 16);
    await page.fill("#id_publish", local);
    await screenshot(page, "admin-change-form-preview");
    await Promise.all([page.waitForURL(/\/change\/$/), page.click("button[name=_continue]")]);
    expect(await page.locator(".message-success").textContent()).toContain("was changed successfully");
    const saved = await prisma.post.findUniqueOrThrow({ where: { id: ids["Draft to schedule"] } });
    expect(saved.status).toBe("PUBLISHED");
    expect(saved.publish.toISOString().slice(0, 16)).toBe(local);
    expect(saved.bodyHtml).toContain("<strong>bold</strong>");
    expect(saved.bodyHtml).not.toContain("<script");
    // scheduled: not on the site yet
    const reader = await browser.newPage(); // an anonymous reader
    await reader.goto(`${server.baseUrl}/blog/`);
    expect(await reader.content()).not.toContain("Draft to schedule");
    await reader.close();
  });

  it("fills the slug from the title and checks it as you type", async () => {
    await page.goto(`${server.baseUrl}/admin/blog/post/add/`);
    await page.locator("#id_title").pressSequentially("Hello Wörld & Friends");
    await expect(page.locator("#id_slug").inputValue()).resolves.toBe("hello-world-and-friends");
    await page.waitForFunction(() => /Available on/.test(document.querySelector("#id_slug_status")?.textContent ?? ""));
  });

  it("bulk-publishes two drafts after the confirmation page", async () => {
    await page.goto(`${server.baseUrl}/admin/blog/post/?status__exact=DRAFT`);
    await page.check(`input.action-select[value="${ids["Draft alpha"]}"]`);
    await page.check(`input.action-select[value="${ids["Draft beta"]}"]`);
    expect(await page.locator(".selected-count").textContent()).toBe("2");
    await page.selectOption("#action-select", "publish");
    await Promise.all([page.waitForLoadState("load"), page.click("button[name=index]")]);
    expect(await page.locator("h1").textContent()).toBe("Are you sure?");
    const listed = await page.locator(".deleted-objects li").allTextContents();
    expect(listed.map((s) => s.trim()).sort()).toEqual(["Post: Draft alpha", "Post: Draft beta"]);
    await screenshot(page, "admin-action-confirmation");
    await Promise.all([page.waitForURL(/status__exact=DRAFT/), page.click("button:text('Yes, I’m sure')")]);
    expect(await page.locator(".message-success").textContent()).toContain("Successfully published 2 posts.");
    const rows = await prisma.post.findMany({ where: { id: { in: [ids["Draft alpha"]!, ids["Draft beta"]!] } } });
    expect(rows.map((r) => r.status)).toEqual(["PUBLISHED", "PUBLISHED"]);
    expect(await page.locator(".result-list tbody tr").count()).toBe(0);
  });

  it("is usable on a phone: filters collapse, the table becomes cards", async () => {
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 } });
    await phone.context().addCookies(await page.context().cookies());
    await phone.goto(`${server.baseUrl}/admin/blog/post/`);
    expect(await phone.locator(".filter-details").getAttribute("open")).toBeNull();
    expect(await phone.locator(".result-list thead").isVisible()).toBe(false);
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await screenshot(phone, "admin-changelist-phone");
    await phone.close();
  });
});
