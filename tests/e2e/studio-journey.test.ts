// The issue's journey in a real Chromium against the real app on a port: "An author uploads an image,
// writes a post with code and an embed, previews it, schedules it, and sees it go live; an editor sets
// alt text in the media library."
//
// One story, step after step (each `it` builds on the one before): the author signs in and finds the
// editor from the site header (Write), types a title, uploads a real image (made by sharp now) with
// "Insert image", writes a fenced code block and a YouTube URL on its own line, and sees the server's
// preview show the highlighted code, the picture and the video's placeholder; Publish is refused (the
// image has no alt text) and the form says what to do; the post is saved as a draft. An editor, in a
// browser context of their own, opens the media library, finds the image and saves its alt text. The
// author opens the preview, makes a share link that works in a context without a session (noindex),
// picks the featured image from the library, schedules the post a few seconds ahead (the publish time in
// the site's zone) and finds it under "Scheduled" in My posts. Then anonymous requests are polled until
// the post answers 200 and the home page (cached before the publish time) lists it: the page cache's
// bound on scheduled posts (src/cache/scheduled.ts). The public page shows the picture (srcset, width,
// height), the highlighted code, the placeholder and an absolute og:image.
// Screenshots of each main step go to /tmp/shots-journey/.
import { mkdirSync } from "node:fs";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { launchBrowser, startServer, type TestServer } from "../support/browser.ts";
import { createUser } from "../support/fixtures.ts";
import { until } from "../support/poll.ts";
import { useTempDataDir } from "../media/library-support.ts";
import { prisma } from "../../src/db/index.ts";
import { config } from "../../src/config.ts";
import { wallClock } from "../../src/web/inputs.ts";
import { postUrl } from "../../src/blog/queries.ts";

useTempDataDir(); // uploads land in a DATA_DIR of this file's own

const SHOTS = "/tmp/shots-journey";
const TITLE = "Tide tables in TypeScript";
const FILENAME = "harbour-at-dawn.png";
const ALT = "Fishing boats moored in a harbour at dawn";
const YOUTUBE_ID = "dQw4w9WgXcQ";
const LEAD_SECONDS = 30; // how far ahead the post is scheduled: time enough for the save on a busy machine

let server: TestServer;
let browser: Browser;
let authorCtx: BrowserContext;
let page: Page;
let author: { username: string; password: string };
let editor: { username: string; password: string };
let image: Buffer;
let postId = 0;
let publishAt = 0; // ms

const shot = (p: Page, name: string) => p.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });

async function signIn(p: Page, who: { username: string; password: string }) {
  await p.goto(server.baseUrl + "/");
  await p.getByRole("link", { name: "Log in" }).click();
  await p.getByLabel("Username or e-mail").fill(who.username);
  await p.getByLabel("Password").fill(who.password);
  await Promise.all([p.waitForURL((u) => !u.pathname.startsWith("/accounts/login/")), p.getByRole("button", { name: "Log in" }).click()]);
}

/** An anonymous GET (no cookie): status, body and the page cache's verdict. */
async function anonymous(path: string) {
  const res = await fetch(server.baseUrl + path, { redirect: "manual" });
  return { status: res.status, text: await res.text(), cache: res.headers.get("x-cache") };
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  server = await startServer();
  browser = await launchBrowser();
  const a = await createUser({ role: "AUTHOR" });
  const e = await createUser({ role: "EDITOR" });
  author = { username: a.user.username, password: a.password };
  editor = { username: e.user.username, password: e.password };
  // a real picture: a sky gradient over a sea, with a boat (not a flat colour)
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="1600" height="1000">
    <defs><linearGradient id="sky" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#f6b26b"/><stop offset="1" stop-color="#fde9c9"/></linearGradient></defs>
    <rect width="1600" height="620" fill="url(#sky)"/><rect y="620" width="1600" height="380" fill="#2b5d8a"/>
    <circle cx="1180" cy="560" r="90" fill="#ffd966"/><path d="M500 700 L900 700 L840 780 L560 780 Z" fill="#6b3f1f"/><rect x="690" y="520" width="12" height="180" fill="#3b2412"/>
  </svg>`;
  image = await sharp(Buffer.from(svg)).png().toBuffer();
  authorCtx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  page = await authorCtx.newPage();
  page.setDefaultTimeout(45_000); // a busy machine: generous waits, same assertions
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe("the author's studio, from the first word to the live post", { timeout: 240_000 }, () => {
  it("the author signs in and finds the editor from the site header", async () => {
    await signIn(page, author);
    const header = page.getByRole("banner");
    await expect(header.getByRole("link", { name: "My posts" }).isVisible()).resolves.toBe(true);
    await header.getByRole("link", { name: "Write" }).click();
    await page.getByRole("heading", { name: "Add post", level: 1 }).waitFor();
    expect(new URL(page.url()).pathname).toBe("/admin/blog/post/add/");
    await shot(page, "01-new-post");
  });

  it("types a title, uploads an image with Insert image, writes code and a video, and sees them in the preview", async () => {
    await page.getByRole("textbox", { name: /^Title/ }).fill(TITLE);
    const body = page.getByRole("textbox", { name: /^Body/ });
    await body.focus();
    await page.keyboard.type("High water comes twice a day.\n\n");
    const [chooser] = await Promise.all([page.waitForEvent("filechooser"), page.getByRole("button", { name: "Insert image" }).click()]);
    await chooser.setFiles({ name: FILENAME, mimeType: "image/png", buffer: image });
    await page.getByText(`Inserted ${FILENAME}: give it alt text in the media library before publishing.`).waitFor();
    const md = await body.inputValue();
    expect(md).toMatch(/!\[\]\(\/media\/[^)]+\)/); // no alt of its own: the library's counts
    expect(md).not.toContain("Uploading");
    await body.press("End");
    await page.keyboard.type(
      [
        "",
        "",
        "The next tide, computed:",
        "",
        "```ts",
        "const next = (last: Date): Date => new Date(last.getTime() + 745 * 60_000);",
        "```",
        "",
        `https://www.youtube.com/watch?v=${YOUTUBE_ID}`,
        "",
        "Fair winds.",
      ].join("\n"),
    );
    const preview = page.getByRole("region", { name: "Preview" });
    await preview.locator("pre code.hljs .hljs-keyword", { hasText: "const" }).first().waitFor();
    await preview.locator(`figure[data-embed="youtube"][data-embed-id="${YOUTUBE_ID}"]`).waitFor();
    const img = preview.locator("picture img");
    await img.waitFor();
    expect(await img.getAttribute("src")).toMatch(/^\/media\//);
    await page.waitForFunction(() => {
      const i = document.querySelector<HTMLImageElement>(".md-preview picture img");
      return !!i && i.complete && i.naturalWidth > 0; // the picture really loads from /media/
    });
    expect(await preview.locator(".embed-play").isVisible()).toBe(true); // embeds.js shows the Play button
    expect(await preview.locator("iframe").count()).toBe(0); // nothing from YouTube before Play
    await shot(page, "02-editor-preview");
  });

  it("Publish is refused while the image has no alt text, and the form says what to do", async () => {
    await page.getByRole("button", { name: "Publish", exact: true }).click();
    await page.getByRole("alert").filter({ hasText: "Please correct" }).waitFor();
    const body = page.getByRole("textbox", { name: /^Body/ });
    expect(await body.getAttribute("aria-invalid")).toBe("true");
    const message = await page.locator(`#${await body.getAttribute("aria-describedby")}`).textContent();
    expect(message).toContain(FILENAME);
    expect(message).toMatch(/alt text/i);
    expect(message).toMatch(/media library/i);
    expect(await body.inputValue()).toContain("```ts"); // the text is kept
    expect(await prisma.post.count({ where: { title: TITLE } })).toBe(0); // nothing written
    await shot(page, "03-publish-refused");
    // saved as a draft instead
    await Promise.all([page.waitForURL(/\/admin\/blog\/post\/\d+\/change\/$/), page.getByRole("button", { name: "Save", exact: true }).click()]);
    postId = Number(/\/post\/(\d+)\/change\/$/.exec(page.url())![1]);
    expect(await prisma.post.findUniqueOrThrow({ where: { id: postId } })).toMatchObject({ title: TITLE, status: "DRAFT" });
  });

  it("an editor finds the image in the media library and sets its alt text", async () => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const p = await ctx.newPage();
    p.setDefaultTimeout(45_000);
    await signIn(p, editor);
    await p.getByRole("banner").getByRole("link", { name: "Admin" }).click();
    await p.getByRole("link", { name: "Media library" }).first().click();
    await p.getByRole("heading", { name: "Media library" }).waitFor();
    await p.getByRole("searchbox", { name: "Search images by file name or alt text" }).fill("harbour");
    await p.getByRole("button", { name: "Search" }).click();
    const tile = p.getByRole("listitem").filter({ has: p.getByRole("link", { name: FILENAME }) });
    await tile.getByText("No alt text").waitFor();
    expect(await tile.getByText("Used in 1 post").isVisible()).toBe(true);
    await shot(p, "04-library-no-alt");
    await tile.getByRole("link", { name: FILENAME }).click();
    await p.getByLabel("Describe what the image shows").fill(ALT);
    await p.getByRole("button", { name: "Save alt text" }).click();
    await p.getByText(`The alt text of “${FILENAME}” was saved.`).waitFor();
    expect((await prisma.media.findFirstOrThrow({ where: { filename: FILENAME } })).alt).toBe(ALT);
    expect(await p.getByLabel("Describe what the image shows").inputValue()).toBe(ALT);
    await shot(p, "05-alt-saved");
    // the library's tile shows it instead of the warning
    await p.getByRole("link", { name: "Media library" }).first().click();
    const saved = p.getByRole("listitem").filter({ has: p.getByRole("link", { name: FILENAME }) });
    await saved.getByText(ALT).waitFor();
    expect(await saved.getByText("No alt text").count()).toBe(0);
    await ctx.close();
  });

  it("the author previews the post, and a share link works without an account (noindex)", async () => {
    const [preview] = await Promise.all([authorCtx.waitForEvent("page"), page.getByRole("link", { name: "Preview", exact: true }).click()]);
    preview.setDefaultTimeout(45_000);
    await preview.getByRole("heading", { name: TITLE }).waitFor();
    expect(await preview.locator('meta[name="robots"]').getAttribute("content")).toBe("noindex");
    expect(await preview.locator("article pre code.hljs").count()).toBeGreaterThan(0);
    expect(await preview.locator(`article figure[data-embed="youtube"]`).count()).toBe(1);
    expect(await preview.locator("article picture img").count()).toBe(1);
    expect(await preview.locator('meta[property="og:image"]').count()).toBe(0); // no featured image yet
    await shot(preview, "06-preview");
    await preview.close();

    await page.getByRole("button", { name: "Make a preview link" }).click();
    const link = page.getByRole("textbox", { name: "Preview link" });
    await until(async () => (await link.inputValue()).includes("/s/"), { label: "the share link is shown", accept: Boolean, timeout: 30_000 });
    const shareUrl = new URL(await link.inputValue());
    const stranger = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const s = await stranger.newPage();
    s.setDefaultTimeout(45_000);
    const res = await s.goto(server.baseUrl + shareUrl.pathname);
    expect(res!.status()).toBe(200);
    expect(res!.headers()["x-robots-tag"]).toContain("noindex");
    expect(await s.locator('meta[name="robots"]').getAttribute("content")).toBe("noindex");
    await s.getByRole("heading", { name: TITLE }).waitFor();
    expect(await s.getByRole("link", { name: "Log in" }).isVisible()).toBe(true); // no session here
    await shot(s, "07-shared-preview");
    await stranger.close();
  });

  it("picks the featured image and schedules the post a few seconds ahead in the site's zone; My posts lists it as scheduled", async () => {
    await page.getByRole("button", { name: "Choose from library" }).click();
    const library = page.getByRole("dialog", { name: "Choose a featured image" });
    await library.getByRole("button", { name: `Choose ${FILENAME}: ${ALT}` }).click();
    await library.waitFor({ state: "hidden" });
    const chosen = page.getByRole("figure", { name: FILENAME }); // the picker shows the chosen image
    expect(await chosen.getByRole("img", { name: ALT }).getAttribute("src")).toMatch(/^\/media\//);

    publishAt = Math.floor(Date.now() / 1000 + LEAD_SECONDS) * 1000; // the field's precision: seconds
    const wall = wallClock(new Date(publishAt)).toISOString().slice(0, 19); // the clock on the site's wall
    await page.getByLabel(`Publish (${config.TIME_ZONE})`).fill(wall);
    await shot(page, "08-before-schedule");
    // the form is sent (not refused in the browser) and the change page comes back
    const [sent] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === "POST" && new URL(r.url()).pathname.endsWith("/change/")),
      page.getByRole("button", { name: "Schedule", exact: true }).click(),
    ]);
    expect(sent.status()).toBe(303); // saved: not the form again with its errors (200)
    await page.waitForURL(/\/change\/$/);
    await page.locator(".badge-scheduled", { hasText: "Scheduled" }).waitFor();
    const post = await prisma.post.findUniqueOrThrow({ where: { id: postId } });
    expect(post.status).toBe("PUBLISHED");
    expect(post.publish.getTime()).toBe(publishAt);
    expect(post.featuredImageId).not.toBeNull();
    // before it goes live: its page is not found, and the home page (cached now) does not list it
    expect((await anonymous(postUrl(post))).status).toBe(404);
    const home = await anonymous("/");
    expect(home.status).toBe(200);
    expect(home.text).not.toContain(TITLE);
    const cached = await until(() => anonymous("/"), {
      label: "the home page is served from the page cache",
      accept: (r) => r.cache === "HIT",
      timeout: 10_000,
    });
    expect(cached.text).not.toContain(TITLE);
    expect(Date.now()).toBeLessThan(publishAt); // all of that before the publish time: what follows sees it go live

    // from the editor (the admin's header) to the site, then My posts from the site's header
    await page.getByRole("banner").getByRole("link", { name: "View site" }).click();
    await page.getByRole("banner").getByRole("link", { name: "My posts" }).click();
    await page.getByRole("link", { name: /^Scheduled/ }).click();
    const row = page.getByRole("listitem").filter({ has: page.getByRole("heading", { name: TITLE }) });
    await row.getByText("Scheduled").waitFor();
    expect(await row.locator("time").getAttribute("datetime")).toBe(post.publish.toISOString());
    await shot(page, "09-my-posts-scheduled");
  });

  it("goes live by the clock: anonymous requests get it (no stale cached page) with its picture, code, video and og:image", async () => {
    const post = await prisma.post.findUniqueOrThrow({ where: { id: postId } });
    const path = postUrl(post);
    const timeout = LEAD_SECONDS * 1000 + 60_000;
    await until(() => anonymous(path), { label: `${path} answers 200`, accept: (r) => r.status === 200, timeout, interval: 250 });
    expect(Date.now()).toBeGreaterThanOrEqual(publishAt);
    // the home page cached before the publish time lists it now (its lifetime ended at that time)
    const home = await until(() => anonymous("/"), {
      label: "the home page lists the post",
      accept: (r) => r.text.includes(TITLE),
      timeout: 30_000,
      interval: 250,
    });
    expect(home.status).toBe(200);

    const reader = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const p = await reader.newPage();
    p.setDefaultTimeout(45_000);
    const res = await p.goto(server.baseUrl + path);
    expect(res!.status()).toBe(200);
    await p.getByRole("heading", { name: TITLE, level: 1 }).waitFor();
    expect(await p.locator('meta[name="robots"]').count()).toBe(0);

    // the featured image under the title and the picture in the body, both with the alt text the editor set
    expect(await p.getByRole("img", { name: ALT }).count()).toBe(2);
    const body = p.locator("article .prose");
    const pic = body.getByRole("img", { name: ALT });
    expect(await body.locator("picture source[type='image/webp'][srcset]").count()).toBe(1);
    expect(await pic.getAttribute("srcset")).toMatch(/\/media\/\S+ \d+w/);
    expect(Number(await pic.getAttribute("width"))).toBe(1600);
    expect(Number(await pic.getAttribute("height"))).toBe(1000);
    await pic.scrollIntoViewIfNeeded();
    await pic.evaluate((i: HTMLImageElement) => i.decode()); // it loads (rejects when it cannot)
    await shot(p, "10-live-post");
    expect(await body.locator("pre code.hljs .hljs-keyword", { hasText: "const" }).count()).toBeGreaterThan(0);
    const embed = body.locator(`figure[data-embed="youtube"][data-embed-id="${YOUTUBE_ID}"]`);
    expect(await embed.count()).toBe(1);
    expect(await embed.getByRole("button", { name: /Play video/ }).isVisible()).toBe(true);
    expect(await p.locator("iframe").count()).toBe(0);

    const og = await p.locator('meta[property="og:image"]').getAttribute("content");
    expect(og).toMatch(new RegExp(`^${config.SITE_URL.replace(/[.]/g, "\\.")}/media/\\S+\\.(jpe?g|png)$`));
    expect(new URL(og!).protocol).toMatch(/^https?:$/);
    await reader.close();
  });
});
