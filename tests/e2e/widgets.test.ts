// The admin's comboboxes driven with the keyboard alone (real app on a port, real Chromium):
//  - the tag field: type, ArrowDown, Enter picks a suggestion (a chip appears); a name no tag has yet is
//    offered as a new tag; Backspace in the empty box and the chip's × (Enter on it) remove a tag; Escape
//    closes the list; aria-expanded / aria-activedescendant / aria-selected follow;
//  - the author picker: type, ArrowDown, Enter fills the author; Escape closes the list;
//  - the saved post has the tags and the author chosen; a new tag typed by an author is created.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Locator, Page } from "playwright-core";
import { launchBrowser, screenshot, startServer, type TestServer } from "../support/browser.ts";
import { createUser } from "../support/fixtures.ts";
import { prisma } from "../../src/db/index.ts";

let server: TestServer;
let browser: Browser;
let editor: { id: number; username: string; password: string };
let author: { id: number; username: string; password: string };

beforeAll(async () => {
  server = await startServer();
  browser = await launchBrowser();
  const e = await createUser({ role: "EDITOR" });
  editor = { id: e.user.id, username: e.user.username, password: e.password };
  const a = await createUser({ role: "AUTHOR", username: "zelda_writes", firstName: "Zelda", lastName: "Fitzgerald" });
  author = { id: a.user.id, username: a.user.username, password: a.password };
  await prisma.tag.createMany({
    data: [
      { name: "Python", slug: "python" },
      { name: "PostgreSQL", slug: "postgresql" },
      { name: "Rust", slug: "rust" },
    ],
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

async function signIn(who: { username: string; password: string }, next: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  page.setDefaultTimeout(60_000); // a busy machine: generous waits, same assertions
  await page.goto(`${server.baseUrl}/accounts/login/?next=${encodeURIComponent(next)}`);
  await page.fill("input[name=username]", who.username);
  await page.fill("input[name=password]", who.password);
  await Promise.all([page.waitForURL(`${server.baseUrl}${next}`), page.click("main form button[type=submit]")]);
  return page;
}

const chipNames = async (page: Page) => (await page.locator(".tag-chip span").allTextContents()).map((s) => s.trim());
/** The tag field's fields as the form submits them: ticked tag ids (existing tags), typed names (new ones). */
const tagFields = async (page: Page) => ({
  ids: await page.locator('.tag-current input[name="tagIds"]:checked').evaluateAll((els) => els.map((e) => (e as HTMLInputElement).value)),
  names: await page.inputValue("#id_tags"),
});
const tagId = async (name: string) => String((await prisma.tag.findFirstOrThrow({ where: { name } })).id);

/** Waits until the combobox's list shows an option with this text, and returns the options' texts. */
async function optionsShown(box: Locator, page: Page, text: string): Promise<string[]> {
  const list = page.locator(`#${await box.getAttribute("aria-controls")}`);
  await list.locator('[role="option"]', { hasText: text }).first().waitFor();
  expect(await box.getAttribute("aria-expanded")).toBe("true");
  return list.locator('[role="option"]').allTextContents();
}

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
type AxeRun = { run(ctx: string, o: object): Promise<{ violations: { id: string; nodes: { target: string[] }[] }[] }> };

/** axe-core's violations inside `selector`, as the widget stands now (its list open, chips shown). */
async function axeOn(page: Page, selector: string): Promise<string[]> {
  await page.evaluate(AXE_SOURCE);
  return page.evaluate(async (sel) => {
    const { violations } = await (window as unknown as { axe: AxeRun }).axe.run(sel, { resultTypes: ["violations"] });
    return violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  }, selector);
}

/** A PNG of a field with its open list below it (the list is laid over what follows). */
async function fieldShot(page: Page, selector: string, path: string): Promise<void> {
  const box = await page.locator(selector).boundingBox();
  if (box) await page.screenshot({ path, clip: { x: box.x, y: box.y, width: box.width, height: box.height + 220 } });
}

async function activeOption(box: Locator, page: Page): Promise<string> {
  const id = await box.getAttribute("aria-activedescendant");
  expect(id).toBeTruthy();
  const option = page.locator(`#${id}`);
  expect(await option.getAttribute("aria-selected")).toBe("true");
  return (await option.textContent()) ?? "";
}

describe("the tag field and the author picker, keyboard only", { timeout: 180_000 }, () => {
  it("an editor picks tags and an author with arrow keys and Enter, adds a new tag, removes one; the saved post has them", async () => {
    const page = await signIn(editor, "/admin/blog/post/add/");
    await page.locator("#id_title").focus();
    await page.keyboard.type("Keyboard tags");
    await page.locator("#id_body").focus();
    await page.keyboard.type("Typed without a mouse.");

    // the tag field: its no-JS fields (checkboxes of tag ids, a text field of new names) are hidden, the combobox is labelled by the field's label
    const tags = page.locator("#id_tags_input");
    expect(await page.locator("#id_tags").isHidden()).toBe(true);
    expect(await page.locator('label[for="id_tags_input"]').textContent()).toContain("Tags");
    expect(await tags.getAttribute("role")).toBe("combobox");
    await tags.focus();
    await page.keyboard.type("p");
    expect(await optionsShown(tags, page, "Python")).toEqual(["PostgreSQL", "Python", "New tag “p”"]);
    await page.keyboard.press("ArrowDown");
    expect(await activeOption(tags, page)).toBe("PostgreSQL");
    await page.keyboard.press("ArrowDown");
    expect(await activeOption(tags, page)).toBe("Python");
    await fieldShot(page, ".field-tags", "/tmp/perm10/tag-field-open.png");
    expect(await axeOn(page, ".field-tags")).toEqual([]);
    await page.keyboard.press("Enter");
    await page.locator(".tag-chip", { hasText: "Python" }).waitFor();
    expect(await tags.getAttribute("aria-expanded")).toBe("false");
    expect(await tags.getAttribute("aria-activedescendant")).toBeNull();
    expect(await tagFields(page)).toEqual({ ids: [await tagId("Python")], names: "" }); // an existing tag travels by id

    // a chosen tag is no longer offered; Escape closes the list without picking
    await page.keyboard.type("p");
    expect(await optionsShown(tags, page, "PostgreSQL")).toEqual(["PostgreSQL", "New tag “p”"]);
    await page.keyboard.press("Escape");
    expect(await tags.getAttribute("aria-expanded")).toBe("false");
    expect(await page.locator("#id_tags_listbox").isHidden()).toBe(true);
    await page.keyboard.press("Backspace"); // the typed "p"

    // a new tag: typed, offered as new, picked with ArrowDown + Enter
    await page.keyboard.type("Keyboard Life");
    expect(await optionsShown(tags, page, "New tag")).toEqual(["New tag “Keyboard Life”"]);
    await page.keyboard.press("ArrowDown");
    await page.keyboard.press("Enter");
    await page.locator(".tag-chip", { hasText: "Keyboard Life" }).waitFor();
    // and one more, then Backspace in the empty box removes the last chip
    await page.keyboard.type("Rust");
    await optionsShown(tags, page, "Rust");
    await page.keyboard.press("ArrowDown");
    await page.keyboard.press("Enter");
    await page.locator(".tag-chip", { hasText: "Rust" }).waitFor();
    expect(await chipNames(page)).toEqual(["Python", "Keyboard Life", "Rust"]);
    await page.keyboard.press("Backspace");
    await page.waitForFunction(() => document.querySelectorAll(".tag-chip").length === 2);
    expect(await tagFields(page)).toEqual({ ids: [await tagId("Python")], names: "Keyboard Life" }); // a new one by name
    await fieldShot(page, ".field-tags", "/tmp/perm10/tag-field.png");
    expect(await axeOn(page, ".field-tags")).toEqual([]); // the chips and their × buttons

    // the author picker: type, ArrowDown, Enter; Escape closes
    const search = page.locator("#id_authorId_search");
    expect(await search.getAttribute("role")).toBe("combobox");
    await search.focus();
    await search.selectText();
    await page.keyboard.type("zel");
    expect(await optionsShown(search, page, "zelda_writes")).toEqual(["zelda_writes — Zelda Fitzgerald"]);
    await page.keyboard.press("Escape");
    expect(await search.getAttribute("aria-expanded")).toBe("false");
    await page.keyboard.press("ArrowDown"); // opens the list again on the first suggestion
    await page.locator("#id_authorId_results").waitFor();
    expect(await activeOption(search, page)).toBe("zelda_writes — Zelda Fitzgerald");
    await fieldShot(page, ".field-fk", "/tmp/perm10/author-picker.png");
    expect(await axeOn(page, ".field-fk")).toEqual([]);
    await page.keyboard.press("Enter");
    expect(await page.inputValue("#id_authorId")).toBe(String(author.id));
    expect(await page.locator(".fk-label").textContent()).toBe(`zelda_writes (id ${author.id})`);
    await screenshot(page, "admin-widgets-keyboard");

    // save with the keyboard: Enter on the Save button
    await page.locator("button[name=_save]").focus();
    await Promise.all([page.waitForURL(`${server.baseUrl}/admin/blog/post/`), page.keyboard.press("Enter")]);
    const post = await prisma.post.findFirstOrThrow({ where: { title: "Keyboard tags" }, include: { tags: { include: { tag: true } } } });
    expect(post.authorId).toBe(author.id);
    expect(post.tags.map((t) => t.tag.name).sort()).toEqual(["Keyboard Life", "Python"]);
    expect(await prisma.tag.findUnique({ where: { slug: "keyboard-life" } })).toMatchObject({ name: "Keyboard Life" });

    // the change form shows the chips again; the × of a chip (Enter on it) removes that tag
    await page.goto(`${server.baseUrl}/admin/blog/post/${post.id}/change/`);
    expect((await chipNames(page)).sort()).toEqual(["Keyboard Life", "Python"]);
    await page.locator('button[aria-label="Remove tag Python"]').focus();
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => document.querySelectorAll(".tag-chip").length === 1);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("id_tags_input");
    await page.locator("button[name=_continue]").focus();
    await page.keyboard.press("Enter"); // the same URL again: the flash message says it was saved
    await page.getByText("was changed successfully").waitFor();
    const after = await prisma.post.findUniqueOrThrow({ where: { id: post.id }, include: { tags: { include: { tag: true } } } });
    expect(after.tags.map((t) => t.tag.name)).toEqual(["Keyboard Life"]);
    await page.close();
  });

  it("an author creates a new tag by typing it on their post (Enter on the typed name)", async () => {
    const page = await signIn(author, "/admin/blog/post/add/");
    expect(await page.locator("#id_authorId").count()).toBe(0); // authors do not choose the author
    await page.locator("#id_title").focus();
    await page.keyboard.type("An author's tags");
    await page.locator("#id_body").focus();
    await page.keyboard.type("Words.");
    await page.locator("#id_tags_input").focus();
    await page.keyboard.type("Brand New Author Tag");
    await page.keyboard.press("Enter"); // no suggestion chosen: the typed name is added
    await page.locator(".tag-chip", { hasText: "Brand New Author Tag" }).waitFor();
    await page.keyboard.type("Rust");
    await optionsShown(page.locator("#id_tags_input"), page, "Rust");
    await page.keyboard.press("ArrowDown");
    await page.keyboard.press("Enter");
    await page.locator(".tag-chip", { hasText: "Rust" }).waitFor();
    await page.locator("button[name=_save]").focus();
    await Promise.all([page.waitForURL(`${server.baseUrl}/admin/blog/post/`), page.keyboard.press("Enter")]);
    const post = await prisma.post.findFirstOrThrow({ where: { title: "An author's tags" }, include: { tags: { include: { tag: true } } } });
    expect(post.authorId).toBe(author.id);
    expect(post.tags.map((t) => t.tag.name).sort()).toEqual(["Brand New Author Tag", "Rust"]);
    await page.close();
  });

  it("without JavaScript the tag field is a comma-separated text field of new names, and the chosen tags ticked checkboxes", async () => {
    const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    page.setDefaultTimeout(60_000);
    await page.goto(`${server.baseUrl}/accounts/login/?next=${encodeURIComponent("/admin/blog/post/add/")}`);
    await page.fill("input[name=username]", author.username);
    await page.fill("input[name=password]", author.password);
    await Promise.all([page.waitForURL(`${server.baseUrl}/admin/blog/post/add/`), page.click("main form button[type=submit]")]);
    expect(await page.locator("#id_tags").isVisible()).toBe(true);
    await page.fill("#id_title", "No script tags");
    await page.fill("#id_body", "Plain form.");
    await page.fill("#id_tags", "python, Plain Typed");
    await Promise.all([page.waitForURL(`${server.baseUrl}/admin/blog/post/`), page.click("button[name=_save]")]);
    const post = await prisma.post.findFirstOrThrow({ where: { title: "No script tags" }, include: { tags: { include: { tag: true } } } });
    expect(post.tags.map((t) => t.tag.name).sort()).toEqual(["Plain Typed", "Python"]);

    // the change form: the post's tags are ticked checkboxes (their ids); untick one, type a new name
    await page.goto(`${server.baseUrl}/admin/blog/post/${post.id}/change/`);
    const boxes = page.locator('.tag-current input[name="tagIds"]');
    expect(await boxes.count()).toBe(2);
    expect(await page.getByLabel("Python", { exact: true }).isChecked()).toBe(true);
    expect(await page.inputValue("#id_tags")).toBe("");
    await fieldShot(page, ".field-tags", "/tmp/perm10/tag-field-nojs.png");
    await page.getByLabel("Python", { exact: true }).uncheck();
    await page.fill("#id_tags", "Rust");
    await Promise.all([page.waitForURL(`${server.baseUrl}/admin/blog/post/`), page.click("button[name=_save]")]);
    const after = await prisma.post.findUniqueOrThrow({ where: { id: post.id }, include: { tags: { include: { tag: true } } } });
    expect(after.tags.map((t) => t.tag.name).sort()).toEqual(["Plain Typed", "Rust"]);
    await context.close();
  });
});
