// The writers' editor in a real Chromium (real app on a port): an author types a post and sees the
// server's preview update beside the text with the word count; pastes and drops images (uploaded to
// media:upload, the Markdown inserted where the "Uploading…" placeholder stood; a refused file leaves no
// placeholder and says why); hides and shows the preview with Ctrl+Shift+P; enters and leaves focus mode
// (Esc); saves with Ctrl+S and stays in the editor with the text saved; picks a featured image from the
// library. Screenshots of the editor at 1280x800 and 390x844, light and dark, go to /tmp/shots-editor/.
import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { launchBrowser, startServer, type TestServer } from "../support/browser.ts";
import { createUser } from "../support/fixtures.ts";
import { prisma } from "../../src/db/index.ts";

const SHOTS = "/tmp/shots-editor";
let server: TestServer;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let author: { id: number; username: string; password: string };
let png: string; // base64
let jpeg: string;
let postId = 0;

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  server = await startServer();
  browser = await launchBrowser();
  const a = await createUser({ role: "AUTHOR" });
  author = { id: a.user.id, username: a.user.username, password: a.password };
  const img = (r: number, g: number, b: number) => sharp({ create: { width: 960, height: 600, channels: 3, background: { r, g, b } } });
  png = (await img(40, 110, 200).png().toBuffer()).toString("base64");
  jpeg = (await img(220, 140, 60).jpeg().toBuffer()).toString("base64");
  context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  page = await context.newPage();
  page.setDefaultTimeout(60_000); // a busy machine: generous waits, same assertions
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

/** Hands the textarea a file as a paste or a drop (what the browser does with a real clipboard or drag). */
async function give(p: Page, how: "paste" | "drop", file: { b64: string; name: string; type: string }) {
  await p.evaluate(
    ({ how, file }) => {
      const bytes = Uint8Array.from(atob(file.b64), (c) => c.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([bytes], file.name, { type: file.type }));
      const ta = document.querySelector<HTMLTextAreaElement>("#id_body")!;
      ta.focus();
      ta.setSelectionRange(ta.value.length, ta.value.length);
      const init = { bubbles: true, cancelable: true };
      ta.dispatchEvent(how === "paste" ? new ClipboardEvent("paste", { ...init, clipboardData: dt }) : new DragEvent("drop", { ...init, dataTransfer: dt }));
    },
    { how, file },
  );
}

const body = (p: Page) => p.inputValue("#id_body");

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
type AxeRun = { run(ctx: string, o: object): Promise<{ violations: { id: string; nodes: { target: string[] }[] }[] }> };
/** axe-core's violations on the page as it stands. */
async function axe(p: Page): Promise<string[]> {
  await p.evaluate(AXE_SOURCE);
  return p.evaluate(async () => {
    const { violations } = await (window as unknown as { axe: AxeRun }).axe.run("main", { resultTypes: ["violations"] });
    return violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  });
}
const IMAGE_MD = /!\[[^\]]*\]\(\/media\/[^)]+\)/g;

async function shoot(name: string, scheme: "light" | "dark", viewport: { width: number; height: number }, path: string, prepare?: (p: Page) => Promise<void>) {
  const ctx = await browser.newContext({ viewport, colorScheme: scheme, deviceScaleFactor: viewport.width < 500 ? 2 : 1 });
  await ctx.addCookies(await context.cookies());
  const p = await ctx.newPage();
  p.setDefaultTimeout(60_000);
  await p.goto(server.baseUrl + path);
  await p.locator(".md-count").filter({ hasText: "words" }).waitFor(); // the first preview is in
  if (prepare) await prepare(p);
  await p.screenshot({ path: `${SHOTS}/${name}-${viewport.width}-${scheme}.png` });
  await ctx.close();
}

describe("the editor in a browser", { timeout: 240_000 }, () => {
  it("signs in as an author and opens a new post", async () => {
    const next = "/admin/blog/post/add/";
    await page.goto(`${server.baseUrl}/accounts/login/?next=${encodeURIComponent(next)}`);
    await page.fill("input[name=username]", author.username);
    await page.fill("input[name=password]", author.password);
    await Promise.all([page.waitForURL(server.baseUrl + next), page.click("main form button[type=submit]")]);
    expect(await page.locator("form[data-studio]").count()).toBe(1);
  });

  it("shows the server's preview beside the text as it is typed, with the word count and reading time", async () => {
    await page.locator("#id_title").fill("Notes from the harbour");
    const ta = page.locator("#id_body");
    await ta.focus();
    await page.keyboard.type("## Morning\n\nThe boats come in **early** and leave late.");
    await page.waitForFunction(() => document.querySelector(".md-preview strong")?.textContent === "early");
    expect(await page.locator(".md-preview h2").textContent()).toContain("Morning");
    // side by side on a wide screen
    expect(await ta.isVisible()).toBe(true);
    expect(await page.locator(".md-preview").isVisible()).toBe(true);
    const a = await ta.boundingBox();
    const b = await page.locator(".md-preview").boundingBox();
    expect(b!.x).toBeGreaterThan(a!.x + a!.width - 2);
    await page.locator(".md-count", { hasText: /^9 words · 1 min read$/ }).waitFor();
    expect(await page.locator(".md-preview").getAttribute("aria-live")).toBe("polite");
    // the autosave (editor.js) still runs in this form
    await page.locator(".autosave-status", { hasText: "Autosaved at" }).waitFor();
    expect(await axe(page)).toEqual([]);
  });

  it("a preview the server refuses leaves the text and the last preview as they were, and says so", async () => {
    const kept = await body(page);
    await page.locator("#id_body").fill(kept + "x".repeat(200_001)); // over the body's limit: the preview answers 400
    await page.locator(".md-status", { hasText: "Preview not updated" }).waitFor();
    expect(await page.locator(".md-preview strong").textContent()).toBe("early");
    await page.locator("#id_body").fill(kept);
    await page.waitForFunction(() => !document.querySelector(".md-status")?.textContent);
    expect(await body(page)).toBe(kept);
  });

  it("Ctrl+Shift+P hides and shows the preview; focus mode hides the chrome and Esc leaves it", async () => {
    await page.keyboard.press("Control+Shift+P");
    expect(await page.locator(".md-preview").isHidden()).toBe(true);
    expect(await page.getByRole("button", { name: "Preview", exact: true }).getAttribute("aria-pressed")).toBe("false");
    await page.keyboard.press("Control+Shift+P");
    expect(await page.locator(".md-preview").isVisible()).toBe(true);

    await page.getByRole("button", { name: "Focus mode" }).click();
    expect(await page.locator(".admin-header").isHidden()).toBe(true);
    expect(await page.locator(".studio-side").isHidden()).toBe(true);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("id_body");
    await page.screenshot({ path: `${SHOTS}/focus-mode-1280-light.png` });
    await page.keyboard.press("Escape");
    expect(await page.locator(".admin-header").isVisible()).toBe(true);
    expect(await page.locator(".studio-side").isVisible()).toBe(true);
    await page.keyboard.press("Control+Shift+F");
    expect(await page.locator(".studio-side").isHidden()).toBe(true);
    await page.keyboard.press("Escape");
    expect(await page.locator(".studio-side").isVisible()).toBe(true);
  });

  it("a pasted and a dropped image are uploaded and their Markdown inserted; a refused file leaves no placeholder and says why", async () => {
    await give(page, "paste", { b64: png, name: "blue-harbour.png", type: "image/png" });
    await page.waitForFunction(() => /!\[[^\]]*\]\(\/media\//.test((document.querySelector("#id_body") as HTMLTextAreaElement).value));
    expect(await body(page)).not.toContain("Uploading");
    await give(page, "drop", { b64: jpeg, name: "orange-sunset.jpg", type: "image/jpeg" });
    await page.waitForFunction(() => ((document.querySelector("#id_body") as HTMLTextAreaElement).value.match(/\]\(\/media\//g) ?? []).length === 2);
    expect((await body(page)).match(IMAGE_MD)).toHaveLength(2);
    expect(await body(page)).not.toContain("Uploading");
    // the preview shows them (served from /media/)
    await page.waitForFunction(() => document.querySelectorAll(".md-preview img").length === 2);
    expect(await prisma.media.count({ where: { filename: { in: ["blue-harbour.png", "orange-sunset.jpg"] } } })).toBe(2);

    // a PHP script named .png: refused by the server, the placeholder goes, the message shows
    const before = await body(page);
    await give(page, "paste", { b64: Buffer.from("<?php system($_GET['c']); ?>").toString("base64"), name: "shell.png", type: "image/png" });
    await page.locator(".md-status--error", { hasText: "“shell.png” was not uploaded" }).waitFor();
    expect(await body(page)).toBe(before);
  });

  it("Ctrl+S saves the post and keeps the editor open with the text", async () => {
    await page.locator("#id_body").focus();
    await page.keyboard.press("End");
    await page.keyboard.type("\n\nSaved with the keyboard.");
    const typed = await body(page);
    await Promise.all([page.waitForURL(/\/admin\/blog\/post\/\d+\/change\/$/), page.keyboard.press("Control+S")]);
    postId = Number(/\/post\/(\d+)\/change\/$/.exec(page.url())![1]);
    const post = await prisma.post.findUniqueOrThrow({ where: { id: postId } });
    expect(post).toMatchObject({ title: "Notes from the harbour", status: "DRAFT", authorId: author.id });
    expect(post.body.replace(/\r\n/g, "\n")).toBe(typed.replace(/\r\n/g, "\n"));
    expect(await page.locator(".message-success").textContent()).toContain("was added successfully");
    expect((await body(page)).replace(/\r\n/g, "\n")).toBe(typed.replace(/\r\n/g, "\n"));
  });

  it("picks a featured image from the library and saves it", async () => {
    await page.getByRole("button", { name: "Choose from library" }).click();
    const tile = page.locator(".image-library .image-tile", { hasText: "orange-sunset.jpg" });
    await tile.waitFor();
    await page.screenshot({ path: `${SHOTS}/image-library-1280-light.png` });
    await tile.click();
    expect(await page.locator(".image-library").isHidden()).toBe(true);
    expect(await page.locator(".image-chosen figcaption").textContent()).toBe("orange-sunset.jpg");
    const chosen = await prisma.media.findFirstOrThrow({ where: { filename: "orange-sunset.jpg" } });
    expect(await page.inputValue("input[name=featuredImageId]")).toBe(String(chosen.id));
    await Promise.all([page.waitForURL(/\/change\/$/), page.keyboard.press("Control+S")]);
    await page.getByText("was changed successfully").waitFor();
    expect((await prisma.post.findUniqueOrThrow({ where: { id: postId } })).featuredImageId).toBe(chosen.id);
    expect(await page.locator(".image-chosen img").getAttribute("src")).toMatch(/^\/media\//);
  });

  it("warns of images without alt text, explains the publish time as it is typed, checks Schedule's time before sending, and shows a restored featured image", async () => {
    // the saved draft's body images and featured image have no alt text: warned (a draft saves), not refused
    const warnings = page.getByRole("status").filter({ hasText: "Before publishing, add alt text" });
    expect(await warnings.count()).toBe(2);
    expect(await page.locator("#alt_warning_body").textContent()).toContain("![what it shows]");
    expect(await page.locator("#alt_warning_featured").textContent()).toContain("orange-sunset.jpg");
    expect(await axe(page)).toEqual([]);

    // the publish time's note says what the chosen time means
    const note = page.locator("#id_publish_empty");
    expect(await note.textContent()).toBe("Not set: the post takes the moment it is published.");
    await page.fill("#id_publish", "2099-06-01T09:30");
    expect(await note.textContent()).toBe("Scheduled for Mon, 1 Jun 2099, 09:30 (UTC) when you press Schedule.");
    await page.fill("#id_publish", "2001-06-01T09:30");
    expect(await note.textContent()).toBe("Published at Fri, 1 Jun 2001, 09:30 (UTC) when you press Publish.");

    // Schedule with a past time: the server's message under the field, nothing sent, the focus on the time
    const saves: string[] = [];
    page.on("request", (r) => {
      if (r.method() === "POST" && r.url().includes("/change/")) saves.push(r.url());
    });
    await page.getByRole("button", { name: "Schedule", exact: true }).click();
    await page.locator("#id_publish_error", { hasText: "To schedule the post, choose a publish time in the future." }).waitFor();
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("id_publish");
    expect(await page.getAttribute("#id_publish", "aria-invalid")).toBe("true");
    expect(saves).toEqual([]);
    await page.locator("#id_publish").evaluate((el) => el.scrollIntoView({ block: "center" }));
    await page.screenshot({ path: `${SHOTS}/schedule-refused-1280-light.png` });
    await page.fill("#id_publish", "");
    expect(await note.textContent()).toBe("Not set: the post takes the moment it is published.");

    // to the second, as the server compares: with the browser's clock at 09:30:10, 09:30:40 is in the
    // future (Schedule sends it) and 09:30:05 is not (a tab of its own, so the fixed clock stays there)
    const clocked = await page.context().newPage();
    await clocked.clock.setFixedTime(new Date("2099-06-01T09:30:10Z"));
    await clocked.goto(page.url());
    await clocked.fill("#id_publish", "2099-06-01T09:30:40");
    expect(await clocked.locator("#id_publish_empty").textContent()).toBe("Scheduled for Mon, 1 Jun 2099, 09:30 (UTC) when you press Schedule.");
    await clocked.fill("#id_publish", "2099-06-01T09:30:05");
    expect(await clocked.locator("#id_publish_empty").textContent()).toBe("Published at Mon, 1 Jun 2099, 09:30 (UTC) when you press Publish.");
    await clocked.close();

    // an autosave restoring a featured image (editor.js sets the hidden id): its thumbnail and name are fetched
    const other = await prisma.media.findFirstOrThrow({ where: { filename: "blue-harbour.png" } });
    await page.evaluate((id) => {
      const input = document.querySelector<HTMLInputElement>("input[name=featuredImageId]")!;
      input.value = String(id);
      input.dispatchEvent(new Event("input", { bubbles: true }));
    }, other.id);
    await page.locator(".image-chosen figcaption", { hasText: "blue-harbour.png" }).waitFor();
    expect(await page.locator(".image-chosen img").getAttribute("src")).toMatch(/^\/media\/.+\.webp$/);
    // back to the saved image (the form as saved)
    const saved = await prisma.post.findUniqueOrThrow({ where: { id: postId } });
    await page.evaluate((id) => {
      const input = document.querySelector<HTMLInputElement>("input[name=featuredImageId]")!;
      input.value = String(id);
      input.dispatchEvent(new Event("input", { bubbles: true }));
    }, saved.featuredImageId);
    await page.locator(".image-chosen figcaption", { hasText: "orange-sunset.jpg" }).waitFor();
  });

  it("on a phone the text and the preview take turns (Write / Preview)", async () => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 } });
    await phone.addCookies(await context.cookies());
    const p = await phone.newPage();
    p.setDefaultTimeout(60_000);
    await p.goto(`${server.baseUrl}/admin/blog/post/${postId}/change/`);
    expect(await p.locator("#id_body").isVisible()).toBe(true);
    expect(await p.locator(".md-preview").isHidden()).toBe(true);
    await p.getByRole("button", { name: "Preview", exact: true }).click();
    await p.waitForFunction(() => document.querySelectorAll(".md-preview img").length === 2);
    expect(await p.locator("#id_body").isHidden()).toBe(true);
    await p.getByRole("button", { name: "Write", exact: true }).click();
    expect(await p.locator("#id_body").isVisible()).toBe(true);
    // nothing wider than the screen
    expect(await p.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await phone.close();
  });

  it("screenshots: 1280x800 and 390x844, light and dark", async () => {
    const path = `/admin/blog/post/${postId}/change/`;
    for (const scheme of ["light", "dark"] as const) {
      await shoot("editor", scheme, { width: 1280, height: 800 }, path);
      await shoot("editor", scheme, { width: 390, height: 844 }, path);
      await shoot("editor-preview", scheme, { width: 390, height: 844 }, path, async (p) => {
        await p.getByRole("button", { name: "Preview", exact: true }).click();
        await p.waitForFunction(() => document.querySelectorAll(".md-preview img").length === 2);
      });
      await shoot("editor-side", scheme, { width: 1280, height: 800 }, path, async (p) => {
        await p.locator(".studio-side").evaluate((el) => el.scrollIntoView());
      });
      await shoot("editor-side-end", scheme, { width: 1280, height: 800 }, path, async (p) => {
        await p.locator(".studio-side").evaluate((el) => el.scrollTo(0, el.scrollHeight));
      });
      await shoot("editor-new", scheme, { width: 1280, height: 800 }, "/admin/blog/post/add/");
      await shoot("editor-help", scheme, { width: 390, height: 844 }, path, async (p) => {
        await p.locator(".studio-help summary").click();
        await p.getByRole("heading", { name: "Keyboard shortcuts" }).waitFor();
      });
    }
  });
});
