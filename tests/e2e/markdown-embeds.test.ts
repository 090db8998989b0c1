// A rendered post body in a real Chromium (issue 11): the click-to-load video placeholder sends
// nothing to the video's host until Play is clicked, then shows the privacy-friendly player (the CSP
// lets it in); without JavaScript it is a link. The body's extras (highlighted code, footnotes,
// heading links, a scrolling table, a task list, the placeholder) pass axe (WCAG 2.1 AA) at desktop
// and phone widths, light and dark.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page, Request } from "playwright-core";
import { launchBrowser, screenshot, startServer, type TestServer } from "../support/browser.ts";
import { createUser, makePost } from "../support/fixtures.ts";
import { postUrl } from "../../src/blog/queries.ts";

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

const BODY = [
  "Intro with a note[^1].",
  "",
  "## Code",
  "",
  "```ts",
  "export const answer: number = 42; // the answer",
  "```",
  "",
  "```sql",
  "SELECT id, title FROM \"Post\" WHERE status = 'PUBLISHED' LIMIT 10;",
  "```",
  "",
  "## Table",
  "",
  "| Column one | Column two | Column three | Column four | Column five | Column six |",
  "| --- | --- | --- | --- | --- | --- |",
  "| a fairly long cell | another long cell | yet another cell | and one more | still more | the last |",
  "",
  "## Tasks",
  "",
  "- [x] done",
  "- [ ] to do",
  "",
  "## Videos",
  "",
  "https://www.youtube.com/watch?v=jNQXAC9IVRw&t=5",
  "",
  "https://vimeo.com/76979871",
  "",
  "[^1]: The note.",
].join("\n");

let server: TestServer;
let browser: Browser;
let path = "";

beforeAll(async () => {
  const { user } = await createUser({ role: "AUTHOR" });
  path = postUrl(await makePost({ authorId: user.id, title: "Embeds and extras", body: BODY }));
  server = await startServer();
  browser = await launchBrowser();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

const VIDEO_HOSTS = /(^|\.)(youtube\.com|youtube-nocookie\.com|youtu\.be|ytimg\.com|googlevideo\.com|vimeo\.com|vimeocdn\.com)$/;

/** A page whose requests to other hosts are recorded and answered with an empty page (no network here). */
async function openPage(opts: { javaScriptEnabled?: boolean; width?: number } = {}): Promise<{ page: Page; external: string[] }> {
  const context = await browser.newContext({ viewport: { width: opts.width ?? 1280, height: 900 }, javaScriptEnabled: opts.javaScriptEnabled ?? true });
  const page = await context.newPage();
  const external: string[] = [];
  page.on("request", (r: Request) => {
    const host = new URL(r.url()).hostname;
    if (host !== "127.0.0.1") external.push(r.url());
  });
  await context.route(
    (u) => u.hostname !== "127.0.0.1",
    (route) => route.fulfill({ status: 200, contentType: "text/html", body: "<!doctype html><title>player</title>" }),
  );
  await page.goto(server.baseUrl + path, { waitUntil: "load" });
  return { page, external };
}

describe("click-to-load video", () => {
  it("requests nothing from the video hosts until Play, then loads the nocookie / dnt player", async () => {
    const { page, external } = await openPage();
    const yt = page.locator("figure[data-embed=youtube]");
    const play = yt.getByRole("button", { name: "Play video on YouTube" });
    await expect.poll(() => play.isVisible()).toBe(true);
    expect(await page.locator("iframe").count()).toBe(0);
    expect(external.filter((u) => VIDEO_HOSTS.test(new URL(u).hostname))).toEqual([]);

    await play.click();
    const frame = yt.locator("iframe");
    await expect.poll(() => frame.count()).toBe(1);
    expect(await frame.getAttribute("src")).toBe("https://www.youtube-nocookie.com/embed/jNQXAC9IVRw?autoplay=1&rel=0&start=5");
    expect(await frame.getAttribute("title")).toBe("Video on YouTube");
    expect(await frame.getAttribute("referrerpolicy")).toBe("strict-origin-when-cross-origin");
    expect(await frame.getAttribute("allow")).toContain("encrypted-media");
    // The CSP let it load: the request went out (answered by the test's route).
    await expect.poll(() => external.some((u) => u.startsWith("https://www.youtube-nocookie.com/embed/jNQXAC9IVRw"))).toBe(true);
    // The Vimeo placeholder is still untouched.
    expect(external.some((u) => /vimeo/.test(u))).toBe(false);

    await page.locator("figure[data-embed=vimeo]").getByRole("button", { name: "Play video on Vimeo" }).click();
    await expect
      .poll(() => page.locator("figure[data-embed=vimeo] iframe").getAttribute("src"))
      .toBe("https://player.vimeo.com/video/76979871?dnt=1&autoplay=1");
    await screenshot(page, "markdown-embeds-playing");
    await page.context().close();
  });

  it("without JavaScript: no button, a link to the video's page, still no request to its host", async () => {
    const { page, external } = await openPage({ javaScriptEnabled: false });
    expect(await page.locator(".embed-play:visible").count()).toBe(0);
    const link = page.getByRole("link", { name: "Watch the video on YouTube" });
    expect(await link.getAttribute("href")).toBe("https://www.youtube.com/watch?v=jNQXAC9IVRw&t=5s");
    expect(external.filter((u) => VIDEO_HOSTS.test(new URL(u).hostname))).toEqual([]);
    await page.context().close();
  });
});

describe("the body's extras in the page", () => {
  it("footnote and heading links land on their targets; a wide table scrolls inside its wrapper on a phone", async () => {
    const { page } = await openPage({ width: 390 });
    await page.locator("a[data-footnote-ref]").first().click();
    await expect.poll(() => page.evaluate(() => location.hash)).toBe("#fn-1");
    expect(await page.locator("li#fn-1").count()).toBe(1);
    await page.locator("a[data-footnote-backref]").first().click();
    await expect.poll(() => page.evaluate(() => location.hash)).toBe("#fn-ref-1");
    expect(await page.locator('h2#h-code a.heading-anchor[href="#h-code"]').count()).toBe(1);
    const sizes = await page.evaluate(() => {
      const wrap = document.querySelector(".table-wrap")!;
      return { wrap: wrap.clientWidth, table: wrap.scrollWidth, page: document.documentElement.scrollWidth, viewport: window.innerWidth };
    });
    expect(sizes.table).toBeGreaterThan(sizes.wrap); // the table scrolls in its wrapper...
    expect(sizes.page).toBeLessThanOrEqual(sizes.viewport); // ...not the page
    await screenshot(page, "markdown-body-phone");
    await page.context().close();
  });

  it("passes axe (WCAG 2.1 A/AA and best practices) at desktop and phone widths, light and dark", async () => {
    const found: string[] = [];
    for (const [width, scheme] of [
      [1280, "light"],
      [1280, "dark"],
      [390, "light"],
      [390, "dark"],
    ] as const) {
      const { page } = await openPage({ width });
      await page.emulateMedia({ colorScheme: scheme });
      await page.waitForFunction(() => document.getAnimations().every((a) => a.playState !== "running"));
      await page.evaluate(AXE_SOURCE);
      const violations = (await page.evaluate(() =>
        (window as unknown as { axe: { run(ctx: Element, o: object): Promise<{ violations: { id: string; nodes: { target: unknown[] }[] }[] }> } }).axe
          .run(document.querySelector(".prose")!, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] } })
          .then((r) => r.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(" | ")}`)),
      )) as string[];
      found.push(...violations.map((v) => `${width}px ${scheme}: ${v}`));
      await page.context().close();
    }
    expect(found).toEqual([]);
  });
});
