// The site header on a phone and on a desktop, and the cards' meta line, in a real browser (Debian's
// Chromium): at 390 px the header is one row (brand and a Menu button) whose <details> disclosure opens
// the links and the search from the keyboard, without JavaScript; at 1280 px the links show as before
// and there is no Menu button. Screenshots of the home page and a post at 390x844, light and dark, go
// to /tmp/shots-fixd/.
import { mkdirSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { launchBrowser, startServer, type TestServer } from "../support/browser.ts";
import { createUser, makeCategory } from "../support/fixtures.ts";
import { pathFor } from "../support/html.ts";
import { prisma } from "../../src/db/index.ts";
import { invalidate, PAGE_TAGS } from "../../src/cache/index.ts";
import { createPost } from "../../src/posts/service.ts";
import { uploaded, useTempDataDir } from "../media/library-support.ts";

useTempDataDir();
const SHOTS = "/tmp/shots-fixd";
let server: TestServer;
let browser: Browser;
let postPath = "";

beforeAll(async () => {
  const writer = (await createUser({ role: "AUTHOR", username: "maximiliane", firstName: "Maximiliane", lastName: "Oberhollenzer-Wittgenstein" })).user;
  const face = await uploaded("face.jpg", writer.id, "Maximiliane", [400, 400]);
  await prisma.user.update({ where: { id: writer.id }, data: { avatarId: face.id, bio: "Writes about light, lenses and long walks." } });
  const category = await makeCategory("Photography", "photography");
  for (let i = 0; i < 4; i++) {
    const cover = await uploaded(`cover-${i}.jpg`, writer.id, `Cover ${i}`, [1600, 1000]);
    const post = await createPost(
      {
        title: i === 0 ? "A lighthouse at dusk, and what the keeper wrote down" : `Notes from the coast, part ${i}`,
        body: Array.from({ length: 200 }, (_, w) => `word${w}`).join(" "),
        excerpt: "Short walks, long light: a few pictures from the coast.",
        featuredImageId: cover.id,
        status: "PUBLISHED",
        publish: new Date(Date.UTC(2026, 10, 20 - i, 10)),
        authorId: writer.id,
        categoryId: category.id,
        tagIds: [],
      },
      { id: writer.id },
    );
    if (i === 0) postPath = pathFor(post.publish!, post.slug);
  }
  await invalidate("posts", PAGE_TAGS.all);
  server = await startServer();
  browser = await launchBrowser();
  mkdirSync(SHOTS, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

async function open(width: number, height: number, scheme: "light" | "dark", path: string): Promise<Page> {
  const ctx = await browser.newContext({ viewport: { width, height }, colorScheme: scheme, javaScriptEnabled: false });
  const page = await ctx.newPage();
  const res = await page.goto(server.baseUrl + path);
  expect(res!.status()).toBe(200);
  return page;
}

const headerHeight = (page: Page) => page.locator(".site-header").evaluate((e) => e.getBoundingClientRect().height);

describe("the site header", () => {
  it("on a phone: one row, the links and search behind Menu, opened from the keyboard without JavaScript", async () => {
    const page = await open(390, 844, "light", "/");
    expect(await headerHeight(page)).toBeLessThanOrEqual(64);
    const nav = page.getByRole("navigation", { name: "Main" });
    expect(await nav.getByRole("link", { name: "Categories" }).isVisible()).toBe(false);
    expect(await page.locator("#site-search").isVisible()).toBe(false);
    const menu = page.locator("summary.site-menu-toggle");
    expect(await menu.isVisible()).toBe(true);
    // What a screen reader gets (Chromium's accessibility tree): a disclosure button named Menu, collapsed, then expanded.
    const cdp = await page.context().newCDPSession(page);
    const menuNode = async () => {
      const { nodes } = (await cdp.send("Accessibility.getFullAXTree")) as {
        nodes: { role?: { value: string }; name?: { value: string }; properties?: { name: string; value: { value: unknown } }[] }[];
      };
      const n = nodes.find((x) => x.role?.value === "DisclosureTriangle" && x.name?.value === "Menu");
      return { found: Boolean(n), expanded: n?.properties?.find((p) => p.name === "expanded")?.value.value };
    };
    expect(await menuNode()).toEqual({ found: true, expanded: false });
    await page.keyboard.press("Tab"); // the skip link
    await page.keyboard.press("Tab"); // the brand
    await page.keyboard.press("Tab"); // Menu
    expect(await menu.evaluate((e) => e === document.activeElement)).toBe(true);
    await page.keyboard.press("Enter");
    expect(await menuNode()).toEqual({ found: true, expanded: true });
    expect(await nav.getByRole("link", { name: "Categories" }).isVisible()).toBe(true);
    expect(await page.locator("#site-search").isVisible()).toBe(true);
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Blog");
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await page.screenshot({ path: `${SHOTS}/home-390-menu-open-light.png` });
    await page.context().close();
  });

  it("on a desktop: the links and search in the header as before, no Menu button", async () => {
    const page = await open(1280, 800, "light", "/");
    expect(await page.locator("summary.site-menu-toggle").isVisible()).toBe(false);
    const nav = page.getByRole("navigation", { name: "Main" });
    expect(await nav.getByRole("link", { name: "Categories" }).isVisible()).toBe(true);
    expect(await page.locator("#site-search").isVisible()).toBe(true);
    expect(await headerHeight(page)).toBeLessThanOrEqual(80); // one row
    await page.context().close();
  });
});

describe("a card's meta line", () => {
  it("keeps each item on one line at 390 px and never starts a line with a visible separator", async () => {
    const page = await open(390, 844, "light", "/");
    const items = await page.locator(".post-card .post-meta").evaluateAll((metas) =>
      metas.flatMap((m) => {
        const box = m.getBoundingClientRect();
        return Array.from(m.children).map((s) => {
          const r = s.getBoundingClientRect();
          const sep = s.querySelector(".sep")?.getBoundingClientRect();
          return {
            text: s.textContent!.trim(),
            lines: s.getClientRects().length,
            tall: r.height > 1.6 * parseFloat(getComputedStyle(s).lineHeight),
            startsLine: r.left - box.left < 1,
            sepInside: sep ? sep.left >= box.left - 0.5 : false,
          };
        });
      }),
    );
    expect(items.length).toBeGreaterThan(4);
    for (const i of items) {
      expect(i.tall, `"${i.text}" wraps`).toBe(false);
      if (i.startsLine) expect(i.sepInside, `"${i.text}" starts a line with its separator showing`).toBe(false);
    }
    // The long name makes the date or the reading time start a line somewhere: the case that matters.
    expect(items.some((i) => i.startsLine && i.text.startsWith("·"))).toBe(true);
    await page.context().close();
  });
});

describe("screenshots at 390x844", () => {
  it("home page and a post, light and dark", async () => {
    for (const scheme of ["light", "dark"] as const) {
      for (const [name, path] of [
        ["home", "/"],
        ["post", postPath],
      ] as const) {
        const page = await open(390, 844, scheme, path);
        expect(await headerHeight(page)).toBeLessThanOrEqual(64);
        await page.screenshot({ path: `${SHOTS}/${name}-390-${scheme}.png` });
        await page.context().close();
      }
    }
  });
});
