// Browser journeys of a writer (real app on a port, real Chromium): nothing typed is lost.
//  - The editor (the admin's post form), as an author: autosaves after typing stops; the session row
//    expires; Save opens the sign-in dialog; signing in there saves the typed text.
//  - Previews from the editor: Preview opens the post as readers will see it, marked as a preview; a
//    share link made in the panel opens it for someone without an account; Revoke stops it.
//  - The admin's change form: the session expires, Save, sign in in a second tab, then save from the
//    dialog: the typed text is saved.
//  - Leaving with unsaved changes asks first; reopening offers the newer autosave; restoring and
//    saving keeps it and leaving after the save does not ask.
//  - Without JavaScript, a save refused for an expired session comes back with the text, and saves
//    after signing in again.
//  - A long post (84,000 characters with punctuation) saves; one over 200,000 characters is stopped
//    in the browser with a message naming the limit.
//  - A production site reached over plain HTTP says so on its forms.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { launchBrowser, screenshot, startServer, type TestServer } from "../support/browser.ts";
import { createUser } from "../support/fixtures.ts";
import { config } from "../../src/config.ts";
import { pool, prisma } from "../../src/db/index.ts";
import { createPost, updatePost } from "../../src/posts/service.ts";

let server: TestServer;
let browser: Browser;
let author: { id: number; username: string; password: string };
let editor: { id: number; username: string; password: string };

beforeAll(async () => {
  server = await startServer();
  browser = await launchBrowser();
  const a = await createUser({ role: "AUTHOR" });
  author = { id: a.user.id, username: a.user.username, password: a.password };
  const e = await createUser({ role: "EDITOR" });
  editor = { id: e.user.id, username: e.user.username, password: e.password };
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

async function newPage(context?: BrowserContext): Promise<Page> {
  const page = context ? await context.newPage() : await browser.newPage({ viewport: { width: 1280, height: 900 } });
  // The machine may be busy (parallel test files, argon2 logins): generous waits, same assertions.
  page.setDefaultTimeout(60_000);
  return page;
}

async function signIn(page: Page, who: { username: string; password: string }, next: string) {
  await page.goto(`${server.baseUrl}/accounts/login/?next=${encodeURIComponent(next)}`);
  await page.fill("input[name=username]", who.username);
  await page.fill("input[name=password]", who.password);
  await Promise.all([page.waitForURL(`${server.baseUrl}${next}`), page.click("main form button[type=submit]")]);
}

/** Expires the user's session rows in the database (as the idle timeout would). */
async function expireSessions(userId: number): Promise<number> {
  const r = await pool.query(`UPDATE "session" SET expire = now() - interval '1 minute' WHERE (sess::jsonb -> 'passport' ->> 'user') = $1`, [String(userId)]);
  return r.rowCount ?? 0;
}

const autosaveOf = (userId: number, slot: string) => prisma.autosave.findUnique({ where: { userId_slot: { userId, slot } } });

const ADD = "/admin/blog/post/add/";
const CHANGED = /\/admin\/blog\/post\/\d+\/change\/$/;

describe("the editor, as an author", { timeout: 180_000 }, () => {
  it("autosaves, then a save after the session expired signs in inline and keeps the typed text", async () => {
    const page = await newPage();
    await signIn(page, author, ADD);
    await page.fill("#id_title", "Written while the session ran out");
    await page.locator("#id_body").pressSequentially("First paragraph, typed by hand.");
    // autosaved a few seconds after typing stops
    await page.waitForFunction(() => /Autosaved at/.test(document.querySelector("[data-autosave-status]")?.textContent ?? ""));
    const saved = await autosaveOf(author.id, "new");
    expect((saved?.fields as Record<string, string>).body).toBe("First paragraph, typed by hand.");
    expect(await prisma.post.count({ where: { title: "Written while the session ran out" } })).toBe(0); // nothing readers see

    await page.locator("#id_body").pressSequentially("\n\nSecond paragraph, typed after the session ended.");
    expect(await expireSessions(author.id)).toBeGreaterThan(0);
    await page.click("button[name=_continue]");
    const dialog = page.locator("dialog.signin-dialog");
    await dialog.waitFor({ state: "visible" });
    expect(await dialog.locator("h2").textContent()).toBe("Your session has expired");
    await dialog.locator("input[name=username]").fill(author.username);
    await dialog.locator("input[name=password]").fill("not the password");
    await dialog.locator("[data-signin-submit]").click();
    await page.waitForFunction(() => (document.querySelector("[data-signin-error]")?.textContent ?? "").includes("correct username"));
    await screenshot(page, "writer-signin-dialog");
    await dialog.locator("input[name=password]").fill(author.password);
    await Promise.all([page.waitForURL(CHANGED), dialog.locator("[data-signin-submit]").click()]);
    const post = await prisma.post.findFirstOrThrow({ where: { title: "Written while the session ran out" } });
    expect(post.body).toBe("First paragraph, typed by hand.\n\nSecond paragraph, typed after the session ended.");
    expect(post.authorId).toBe(author.id);
    expect(await autosaveOf(author.id, "new")).toBeNull(); // pruned by the save
    await page.close();
  });

  it("saves a long post (84,000 characters with punctuation) and stops one over the limit in the browser", async () => {
    const page = await newPage();
    await signIn(page, author, ADD);
    const para = "“Quotes,” (parens), & ampersands: 100% fine? Yes — it’s ordinary punctuation; sure!\n";
    const long = para.repeat(Math.ceil(84_000 / para.length)).slice(0, 84_000);
    expect(Buffer.byteLength(new URLSearchParams({ body: long }).toString())).toBeGreaterThan(120_000);
    await page.fill("#id_title", "A long post");
    await page.fill("#id_body", long);
    await Promise.all([page.waitForURL(CHANGED), page.click("button[name=_continue]")]);
    const post = await prisma.post.findFirstOrThrow({ where: { title: "A long post" } });
    expect(post.body).toBe(long.replace(/\r\n/g, "\n"));

    await page.goto(`${server.baseUrl}${ADD}`);
    await page.fill("#id_title", "Too long");
    await page.fill("#id_body", "x".repeat(200_001));
    await page.click("button[name=_continue]");
    const note = page.locator(".char-count--over");
    await note.waitFor({ state: "visible" });
    expect(await note.textContent()).toContain("at most 200,000 can be saved");
    expect(page.url()).toBe(`${server.baseUrl}${ADD}`); // nothing was sent; the text is still there
    expect((await page.inputValue("#id_body")).length).toBe(200_001);
    expect(await prisma.post.count({ where: { title: "Too long" } })).toBe(0);

    // a pasted title over its 250 characters is kept whole (no maxlength cutting it short), and Save says why not
    await page.goto(`${server.baseUrl}${ADD}`);
    const title = "A title pasted from elsewhere, much too long. ".repeat(7);
    await page.fill("#id_title", title);
    await page.fill("#id_body", "Short body.");
    expect(await page.inputValue("#id_title")).toBe(title);
    await page.click("button[name=_continue]");
    await page.locator(".char-count--over").waitFor({ state: "visible" });
    expect(await page.locator(".char-count--over").textContent()).toContain("at most 250 can be saved");
    expect(await prisma.post.count({ where: { title } })).toBe(0);
    await page.close();
  });
});

describe("previews from the editor", { timeout: 180_000 }, () => {
  it("Preview shows the draft as readers will see it; a share link opens it without an account until revoked", async () => {
    const post = await createPost(
      { title: "A draft for review", body: "Words **worth** a second look.", status: "DRAFT", authorId: author.id, categoryId: null },
      { id: author.id },
    );
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await newPage(context);
    await signIn(page, author, `/admin/blog/post/${post.id}/change/`);
    const panel = page.locator("[data-preview-panel]");
    // Preview: a new tab with the post page, marked as a preview
    const [preview] = await Promise.all([context.waitForEvent("page"), panel.getByRole("link", { name: "Preview" }).click()]);
    await preview.waitForLoadState();
    expect(await preview.locator(".preview-banner").textContent()).toContain("this draft is not public");
    expect(await preview.getByRole("heading", { level: 1 }).textContent()).toBe("A draft for review");
    expect(await preview.locator(".prose strong").textContent()).toBe("worth");
    await screenshot(preview, "preview-draft");
    await preview.close();
    // a share link, made in the panel without leaving the editor
    await panel.getByRole("button", { name: "Make a preview link" }).click();
    const link = panel.getByLabel("Preview link");
    await expect.poll(() => link.inputValue()).toMatch(/\/preview\/\d+\/s\/[A-Za-z0-9_-]{43}\/$/);
    expect(await panel.locator("[data-share-status]").textContent()).toContain("New preview link made");
    await screenshot(page, "editor-preview-panel");
    const shared = (await link.inputValue()).replace(/^https?:\/\/[^/]+/, server.baseUrl); // SITE_URL's host: this server
    const reviewer = await browser.newContext({ viewport: { width: 390, height: 844 } });
    const r = await newPage(reviewer);
    expect((await r.goto(shared))?.status()).toBe(200);
    expect(await r.locator(".preview-banner").textContent()).toContain("Shared with you through a preview link");
    await screenshot(r, "preview-shared-phone");
    // Revoke: the link stops working
    await panel.getByRole("button", { name: "Revoke" }).click();
    await expect.poll(() => panel.locator("[data-share-status]").textContent()).toContain("revoked");
    expect((await r.goto(shared))?.status()).toBe(404);
    expect(await r.locator("main").textContent()).toContain("This preview link does not work.");
    await reviewer.close();
    await context.close();
  });
});

describe("the admin's change form", { timeout: 180_000 }, () => {
  it("after the session expired: Save, sign in in a second tab, save from the dialog", async () => {
    const post = await createPost(
      { title: "Admin post", body: "Saved body.", status: "DRAFT", publish: new Date(Date.UTC(2026, 9, 5, 9)), authorId: editor.id, categoryId: null },
      { id: editor.id },
    );
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await newPage(context);
    const change = `/admin/blog/post/${post.id}/change/`;
    await signIn(page, editor, change);
    await page.fill("#id_body", "Saved body.\n\nAn edit made in the admin, kept through a second sign-in.");
    await expireSessions(editor.id);
    await page.click("button[name=_continue]");
    const dialog = page.locator("dialog.signin-dialog");
    await dialog.waitFor({ state: "visible" });
    // a second tab of the same browser signs in
    const tab = await newPage(context);
    await signIn(tab, editor, "/admin/");
    await tab.close();
    await dialog.locator("[data-signin-retry]").click();
    await page.locator(".message-success").waitFor(); // the same URL after the save: wait for its message
    expect(page.url()).toBe(`${server.baseUrl}${change}`);
    expect(await page.locator(".message-success").textContent()).toContain("was changed successfully");
    const stored = await prisma.post.findUniqueOrThrow({ where: { id: post.id } });
    expect(stored.body).toBe("Saved body.\n\nAn edit made in the admin, kept through a second sign-in.");
    expect(stored.version).toBe(post.version + 1);
    await context.close();
  });

  it("asks before leaving unsaved changes, offers the newer autosave on reopening, and does not ask after saving", async () => {
    const post = await createPost(
      { title: "Autosave me", body: "The stored text.", status: "DRAFT", publish: new Date(Date.UTC(2026, 9, 6, 9)), authorId: editor.id, categoryId: null },
      { id: editor.id },
    );
    const page = await newPage();
    const change = `${server.baseUrl}/admin/blog/post/${post.id}/change/`;
    await signIn(page, editor, `/admin/blog/post/${post.id}/change/`);
    await page.locator("#id_body").click();
    await page.keyboard.press("End");
    await page.locator("#id_body").pressSequentially(" And words the tab lost.");
    await page.waitForFunction(() => /Autosaved at/.test(document.querySelector("[data-autosave-status]")?.textContent ?? ""));
    expect(((await autosaveOf(editor.id, `post:${post.id}`))?.fields as Record<string, string>).body).toBe("The stored text. And words the tab lost.");
    await screenshot(page, "admin-autosaved");

    // leaving asks first (the browser's "Leave site?" prompt); dismissing it stays on the page
    const asked: string[] = [];
    page.on("dialog", (d) => {
      asked.push(d.type());
      void (asked.length === 1 ? d.dismiss() : d.accept());
    });
    await page.click("a.admin-brand"); // a link to the admin's index
    await expect.poll(() => asked.length).toBe(1);
    expect(asked).toEqual(["beforeunload"]);
    expect(page.url()).toBe(change);
    expect(await page.inputValue("#id_body")).toBe("The stored text. And words the tab lost.");
    // leaving anyway (accepted), then reopening: the newer autosave is offered
    await Promise.all([page.waitForURL(`${server.baseUrl}/admin/`), page.click("a.admin-brand")]);
    expect(asked).toEqual(["beforeunload", "beforeunload"]);
    await page.goto(change);
    const offer = page.locator("[data-autosave-offer]");
    await offer.waitFor({ state: "visible" });
    expect(await offer.textContent()).toContain("There is an autosave of this post that is more recent than the version below. ");
    expect(await page.inputValue("#id_body")).toBe("The stored text.");
    await screenshot(page, "admin-autosave-offer");
    await offer.locator("[data-autosave-restore]").click();
    expect(await page.inputValue("#id_body")).toBe("The stored text. And words the tab lost.");
    await page.click("button[name=_continue]");
    await page.locator(".message-success").waitFor(); // the same URL after the save: wait for its message
    expect((await prisma.post.findUniqueOrThrow({ where: { id: post.id } })).body).toBe("The stored text. And words the tab lost.");
    expect(await autosaveOf(editor.id, `post:${post.id}`)).toBeNull();
    // saved: leaving does not ask
    await Promise.all([page.waitForURL(`${server.baseUrl}/admin/`), page.click("a.admin-brand")]);
    expect(asked).toHaveLength(2);
    await page.close();
  });
});

describe("an autosave made from an older version", { timeout: 180_000 }, () => {
  it("restoring it and saving shows the conflict page (their save and the restored text), never a silent overwrite", async () => {
    const post = await createPost(
      { title: "Two writers", body: "Version one.", status: "DRAFT", publish: new Date(Date.UTC(2026, 9, 7, 9)), authorId: editor.id, categoryId: null },
      { id: editor.id },
    );
    const page = await newPage();
    await signIn(page, editor, `/admin/blog/post/${post.id}/change/`);
    // someone else (another editor: an author may not change an editor's post) saves while this form is open (version 2)...
    const other = (await createUser({ role: "EDITOR" })).user;
    await updatePost(
      post.id,
      post.version,
      { title: "Two writers", body: "Their version two.", status: "DRAFT", authorId: editor.id, categoryId: null },
      { id: other.id },
    );
    // ...then this writer types (autosaved from version 1) and the tab goes away
    await page.fill("#id_body", "My words from version one.");
    await page.waitForFunction(() => /Autosaved at/.test(document.querySelector("[data-autosave-status]")?.textContent ?? ""));
    page.on("dialog", (d) => void d.accept()); // "Leave site?": yes
    await Promise.all([page.waitForURL(`${server.baseUrl}/admin/`), page.click("a.admin-brand")]);
    await page.goto(`${server.baseUrl}/admin/blog/post/${post.id}/change/`);
    expect(await page.inputValue("#id_body")).toBe("Their version two.");
    await page.locator("[data-autosave-restore]").click();
    expect(await page.inputValue("#id_body")).toBe("My words from version one.");
    await page.click("button[name=_continue]");
    await page.locator(".conflict").waitFor();
    expect(await page.locator(".conflict").textContent()).toContain("Their version two.");
    expect(await page.inputValue("#id_body")).toBe("My words from version one.");
    expect((await prisma.post.findUniqueOrThrow({ where: { id: post.id } })).body).toBe("Their version two.");
    await page.close();
  });
});

describe("without JavaScript", { timeout: 180_000 }, () => {
  it("a save refused for an expired session comes back with the text and saves after signing in again", async () => {
    const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 1280, height: 900 } });
    const page = await newPage(context);
    await signIn(page, author, ADD);
    await page.fill("#id_title", "Saved without scripts");
    await page.fill("#id_body", "Typed with scripts off.\nSecond line.");
    await expireSessions(author.id);
    await page.click("button[name=_continue]");
    await page.waitForSelector("h1:text('Your changes are not saved yet')");
    expect(await page.locator(".kept-notice").textContent()).toContain("Your session has expired");
    expect(await page.inputValue("#kept_body")).toBe("Typed with scripts off.\nSecond line.");
    expect(await page.inputValue("#kept_title")).toBe("Saved without scripts");
    await screenshot(page, "writer-kept-form");
    // sign in again in a second tab, come back, Save: the first Save carries the old token and comes back once more, signed in now
    const tab = await newPage(context);
    await signIn(tab, author, "/write/posts/");
    await tab.close();
    // (signing in gave the session a new token, which a page without scripts cannot fetch)
    await page.click("form.kept-fields button[type=submit]");
    await page.waitForSelector(".kept-notice:has-text('earlier session')");
    expect(await page.inputValue("#kept_body")).toBe("Typed with scripts off.\nSecond line.");
    await Promise.all([page.waitForURL(CHANGED), page.click("form.kept-fields button[type=submit]")]);
    const post = await prisma.post.findFirstOrThrow({ where: { title: "Saved without scripts" } });
    expect(post.body).toBe("Typed with scripts off.\nSecond line.");
    await context.close();
  });
});

describe("a production site reached over plain HTTP", { timeout: 120_000 }, () => {
  it("says on the sign-in form why it cannot work, instead of a bare CSRF failure", async () => {
    const saved = config.NODE_ENV;
    const savedSecure = config.SECURE_COOKIES;
    config.NODE_ENV = "production"; // read per request: this server now judges its requests as production would
    config.SECURE_COOKIES = true; // production's default
    try {
      const page = await newPage();
      await page.goto(`${server.baseUrl}/accounts/login/`);
      const notice = page.locator("form .insecure-transport");
      expect(await notice.isVisible()).toBe(true);
      expect(await notice.textContent()).toContain("reached over plain HTTP");
      await screenshot(page, "login-plain-http-production");
      await page.close();
    } finally {
      config.NODE_ENV = saved;
      config.SECURE_COOKIES = savedSecure;
    }
  });
});
