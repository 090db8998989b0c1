// The reader's journey in a real browser (Debian's Chromium): home page -> page 2 -> a post ->
// search for a word of its title -> one of its tags. What each page shows is checked against the
// database; the browser must see no script errors or CSP violations. Screenshots land in
// test-results/reader-*.png.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { launchBrowser, screenshot, startServer, type TestServer } from "../support/browser.ts";
import { seedPosts } from "../../src/blog/seed.ts";
import { config } from "../../src/config.ts";
import { PostStatus, prisma } from "../../src/db/index.ts";

let server: TestServer;
let browser: Browser;
let page: Page;
const problems: string[] = [];

/** Published, visible posts in the order the site lists them. */
async function listed(where: object = {}) {
  return prisma.post.findMany({
    where: { status: PostStatus.PUBLISHED, publish: { lte: new Date() }, ...where },
    orderBy: [{ publish: "desc" }, { id: "desc" }],
    include: { tags: { include: { tag: true } } },
  });
}

const cardTitles = () => page.locator("article.post-card .post-card-title a").allTextContents();

beforeAll(async () => {
  await seedPosts({ posts: 40, seed: 2026 });
  server = await startServer();
  browser = await launchBrowser();
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console: ${m.text()} (${m.location().url})`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("response", (r) => {
    if (r.status() >= 400) problems.push(`${r.status()} ${r.url()}`);
  });
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe("a reader", () => {
  let all: Awaited<ReturnType<typeof listed>>;
  let numPages = 0;
  let post: Awaited<ReturnType<typeof listed>>[number];
  const perPage = config.POSTS_PER_PAGE;

  it("opens the home page: the newest posts, Page 1 of N", async () => {
    all = await listed();
    numPages = Math.ceil(all.length / perPage);
    expect(numPages).toBeGreaterThanOrEqual(2);

    const res = await page.goto(server.baseUrl + "/");
    expect(res?.status()).toBe(200);
    expect(await page.title()).toContain(config.SITE_NAME);
    expect(await page.locator("main h1").first().textContent()).toBe(config.SITE_NAME);
    expect(await cardTitles()).toEqual(all.slice(0, perPage).map((p) => p.title));
    await expect(page.locator("nav.pagination .current").textContent()).resolves.toBe(`Page 1 of ${numPages}`);
    expect(await page.locator("nav.pagination a[rel=prev]").count()).toBe(0);
    // The stylesheet loaded (hashed URL, allowed by the CSP): the layout is styled.
    const font = String(await page.evaluate("getComputedStyle(document.body).fontFamily"));
    expect(font).not.toMatch(/^"?Times/);
    await screenshot(page, "reader-1-home");
  });

  it("goes to page 2 with the Next link", async () => {
    await page.locator("nav.pagination a[rel=next]").click();
    await page.waitForURL(/[?&]page=2\b/);
    expect(await page.locator("nav.pagination .current").textContent()).toBe(`Page 2 of ${numPages}`);
    const titles = await cardTitles();
    expect(titles).toEqual(all.slice(perPage, 2 * perPage).map((p) => p.title));
    expect(await page.locator("nav.pagination a[rel=prev]").count()).toBe(1);
    await screenshot(page, "reader-2-page2");
  });

  it("opens the first post of page 2: its title, date URL, body and tags", async () => {
    post = all.find((p) => p.tags.length > 0 && all.indexOf(p) >= perPage)!;
    expect(post).toBeDefined();
    await page.locator("article.post-card .post-card-title a", { hasText: post.title }).first().click();
    const d = post.publish;
    const datePath = `/blog/${d.getUTCFullYear()}/${String(d.getUTCMonth() + 1).padStart(2, "0")}/${String(d.getUTCDate()).padStart(2, "0")}/${post.slug}/`;
    await page.waitForURL((u) => u.pathname === datePath);
    expect(await page.locator("h1.post-title").textContent()).toBe(post.title);
    expect((await page.locator(".prose").innerText()).trim().length).toBeGreaterThan(50);
    const tagNames = (await page.locator(".post-footer .tag-list a").allTextContents()).map((t) => t.replace(/^#/, ""));
    expect(tagNames.sort()).toEqual(post.tags.map((t) => t.tag.name).sort());
    await screenshot(page, "reader-3-post");
  });

  it("searches for a word of the post's title and finds the post", async () => {
    const word = post.title
      .split(/[^A-Za-z]+/)
      .filter((w) => w.length >= 5)
      .sort((a, b) => b.length - a.length)[0]!;
    expect(word).toBeDefined();
    await page.locator("#site-search").fill(word);
    await page.locator("#site-search").press("Enter");
    await page.waitForURL((u) => u.pathname === "/blog/search/" && u.searchParams.get("q") === word);
    expect(await page.locator("main h1").textContent()).toBe(`Search results for “${word}”`);
    expect(await page.locator("#site-search").inputValue()).toBe(word);
    await expect(page.locator(".search-summary").textContent()).resolves.toMatch(/\d+ results?/);
    const titles = await cardTitles();
    expect(titles).toContain(post.title);
    // The match is highlighted in the title.
    expect((await page.locator("article.post-card .post-card-title mark").allTextContents()).map((m) => m.toLowerCase())).toContain(word.toLowerCase());
    await screenshot(page, "reader-4-search");
  });

  it("follows one of the post's tags: the tag page lists exactly the posts with that tag", async () => {
    await page.locator("article.post-card .post-card-title a", { hasText: post.title }).first().click();
    await page.waitForURL((u) => u.pathname.endsWith(`/${post.slug}/`));
    const tag = post.tags.map((t) => t.tag).sort((a, b) => a.name.localeCompare(b.name))[0]!;
    await page.locator(".post-footer .tag-list a", { hasText: tag.name }).click();
    await page.waitForURL((u) => u.pathname === `/blog/tag/${tag.slug}/`);
    expect(await page.locator("main h1").textContent()).toBe(tag.name);
    expect(await page.locator("main .eyebrow").first().textContent()).toBe("Tag");
    const tagged = await listed({ tags: { some: { tagId: tag.id } } });
    expect(await cardTitles()).toEqual(tagged.slice(0, perPage).map((p) => p.title));
    if (tagged.length > perPage) {
      expect(await page.locator("nav.pagination .current").textContent()).toBe(`Page 1 of ${Math.ceil(tagged.length / perPage)}`);
    }
    await screenshot(page, "reader-5-tag");
  });

  it("saw no script errors, CSP violations or server errors on the way", () => {
    expect(problems).toEqual([]);
  });
});
