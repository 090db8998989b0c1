// Browser journey through the media library (real app on a port, real Chromium): an author uploads an
// image from the library's form (the page's script, the CSRF token in a header), lands on its page;
// an editor finds it by name, sees "No alt text", sets the alt text, and the grid shows it. The library
// and an image's page at desktop and phone widths: no sideways scrolling, thumbnails with their sizes
// (screenshots in test-results/).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { launchBrowser, screenshot, startServer, type TestServer } from "../support/browser.ts";
import { createUser } from "../support/fixtures.ts";
import { prisma } from "../../src/db/index.ts";
import { jpeg, uploaded, useTempDataDir } from "../media/library-support.ts";

useTempDataDir();
let server: TestServer;
let browser: Browser;
const dir = mkdtempSync(join(tmpdir(), "folio-e2e-media-"));
const users: Record<"author" | "editor", { username: string; password: string; id: number }> = {} as never;

async function logIn(page: Page, who: "author" | "editor"): Promise<void> {
  await page.goto(`${server.baseUrl}/accounts/login/?next=%2Fadmin%2Fmedia%2F`);
  await page.fill("input[name=username]", users[who].username);
  await page.fill("input[name=password]", users[who].password);
  await Promise.all([page.waitForURL(`${server.baseUrl}/admin/media/`), page.click("main form button[type=submit]")]);
}

/** Whether the page scrolls sideways (wider content than the viewport). */
const overflows = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);

beforeAll(async () => {
  server = await startServer();
  browser = await launchBrowser();
  for (const role of ["author", "editor"] as const) {
    const u = await createUser({ role: role === "author" ? "AUTHOR" : "EDITOR" });
    users[role] = { username: u.user.username, password: u.password, id: u.user.id };
  }
  // a library with some images already (different sizes and shapes), one used by a post
  const names = ["harbour-at-dawn.jpg", "team-photo.jpg", "diagram.jpg", "portrait.jpg", "skyline-panorama.jpg"];
  const sizes: [number, number][] = [
    [1600, 1067],
    [1200, 800],
    [900, 900],
    [800, 1200],
    [2400, 800],
  ];
  for (const [i, name] of names.entries()) await uploaded(name, users.editor.id, i % 2 ? "" : `Photo ${i + 1}: ${name.replace(/[-.]/g, " ")}`, sizes[i]);
  writeFileSync(join(dir, "new-upload.jpg"), await jpeg(1400, 933));
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("media library journey", { timeout: 180_000 }, () => {
  it("an author uploads an image from the library and lands on its page", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(60_000);
    await logIn(page, "author");
    await page.setInputFiles("#media-file", join(dir, "new-upload.jpg"));
    await Promise.all([page.waitForURL(/\/admin\/media\/\d+\/$/), page.click("form[data-media-upload] button[type=submit]")]);
    await expect(page.locator("h1").textContent()).resolves.toBe("new-upload.jpg");
    await expect(page.locator(".media-figure").textContent()).resolves.toContain("No alt text");
    const item = await prisma.media.findFirstOrThrow({ where: { filename: "new-upload.jpg" } });
    expect(item.uploadedById).toBe(users.author.id);
    await page.close();
  });

  it("an editor finds it, sets its alt text, and the grid shows it", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(60_000);
    await logIn(page, "editor");
    await expect(page.locator(".media-tile").count()).resolves.toBe(6);
    await screenshot(page, "media-library-1280");
    expect(await overflows(page)).toBe(false);
    // every thumbnail has its size (no layout shift) and is lazy
    const imgs = await page
      .locator(".media-tile img")
      .evaluateAll((els) => els.map((e) => ({ w: e.getAttribute("width"), h: e.getAttribute("height"), lazy: e.getAttribute("loading") })));
    expect(imgs.every((i) => Number(i.w) > 0 && Number(i.h) > 0 && i.lazy === "lazy")).toBe(true);

    await page.fill("#media-q", "new-upload");
    await Promise.all([page.waitForURL(/q=new-upload/), page.click(".media-search button")]);
    await expect(page.locator(".media-tile").count()).resolves.toBe(1);
    await expect(page.locator(".media-tile").textContent()).resolves.toContain("No alt text");
    await Promise.all([page.waitForURL(/\/admin\/media\/\d+\/$/), page.click(".media-tile .media-name")]);
    await page.fill("#id_alt", "Fishing boats in a harbour at dawn");
    await Promise.all([page.waitForURL(/\/admin\/media\/\d+\/$/), page.click(".media-alt-form button[type=submit]")]);
    await expect(page.locator(".message-success").textContent()).resolves.toContain("The alt text of “new-upload.jpg” was saved.");
    await screenshot(page, "media-detail-1280");
    await page.goto(`${server.baseUrl}/admin/media/?q=harbour`);
    const tile = page.locator(".media-tile", { hasText: "new-upload.jpg" });
    await expect(tile.textContent()).resolves.toContain("Fishing boats in a harbour at dawn");
    expect(await tile.locator(".badge-warning").count()).toBe(0);
    await page.close();
  });

  it("an author uploads an avatar on their profile page (the same upload script), then the page shows it", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(60_000);
    await logIn(page, "author");
    await page.goto(`${server.baseUrl}/accounts/profile/`);
    await page.setInputFiles("#id_avatar_file", join(dir, "new-upload.jpg"));
    await Promise.all([
      page.waitForResponse((r) => r.url().endsWith("/accounts/profile/avatar/") && r.status() === 303),
      page.click("form[data-media-upload] button[type=submit]"),
    ]);
    await page.waitForURL(`${server.baseUrl}/accounts/profile/`);
    await expect(page.locator(".messages, [role=status]").first().textContent()).resolves.toContain("Your avatar was saved.");
    expect(await page.locator(".profile-avatar img").count()).toBe(1);
    const u = await prisma.user.findUniqueOrThrow({ where: { id: users.author.id }, include: { avatar: true } });
    expect(u.avatar?.filename).toBe("new-upload.jpg");
    await screenshot(page, "profile-avatar-1280");
    await page.close();
  });

  it("reads well on a phone: two columns, no sideways scrolling", async () => {
    const page = await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });
    page.setDefaultTimeout(60_000);
    await logIn(page, "editor");
    await screenshot(page, "media-library-390");
    expect(await overflows(page)).toBe(false);
    const columns = await page.locator(".media-tile").evaluateAll((els) => new Set(els.map((e) => Math.round(e.getBoundingClientRect().left))).size);
    expect(columns).toBe(2);
    await page.click(".media-tile .media-name >> nth=0");
    await page.waitForURL(/\/admin\/media\/\d+\/$/);
    await screenshot(page, "media-detail-390");
    expect(await overflows(page)).toBe(false);
    await page.close();
  });
});
