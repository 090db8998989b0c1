// Accessibility of every page type (real app on a port, real Chromium, axe-core in the page): each
// page a reader, an author or an editor/admin can reach is checked at a desktop (1280x800, light and
// dark colour scheme) and a phone (390x844) width against WCAG 2.0/2.1 A and AA and axe's best practices. A failure lists
// page, width, rule id, impact and the offending elements. The admin's pages are found from its own
// navigation (every model in the nav: change list, filtered and searched list, add form, change form,
// history, delete confirmation, action confirmation), so a newly registered model is checked too.
// Also: the favicon, and no layout shift when the admin change list loads on a phone.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { launchBrowser, screenshot, startServer, type TestServer } from "../support/browser.ts";
import { createUser } from "../support/fixtures.ts";
import { seedPosts } from "../../src/blog/seed.ts";
import { config } from "../../src/config.ts";
import { prisma } from "../../src/db/index.ts";
import { issueResetToken } from "../../src/accounts/reset.ts";
import { createPost, updatePost } from "../../src/posts/service.ts";

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
const TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"];
const WIDTHS = [
  { name: "desktop", width: 1280, height: 800 },
  { name: "phone", width: 390, height: 844 },
] as const;
/** Rules switched off, each with the reason. Keep this empty unless axe is wrong about a page. */
const DISABLED_RULES: Record<string, string> = {};

interface AxeNode {
  target: unknown[];
  failureSummary?: string;
}
interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: AxeNode[];
}

let server: TestServer;
let browser: Browser;
const contexts: BrowserContext[] = [];
const users: Record<"reader" | "author" | "admin", { username: string; password: string; id: number }> = {} as never;
let codePostUrl = "";
let draftId = 0;
let revisedPostId = 0;

/** Fails the test with every violation as one readable line (plus the failing elements). */
function report(found: string[]): void {
  expect(found, `axe-core violations:\n${found.join("\n")}\n`).toEqual([]);
}

/**
 * Opens `path` at each width in `page`, checks the status and that the page has its h1 (content, not
 * only a status), runs axe and returns one line per violation. `prepare` runs after each load
 * (e.g. fill and submit a form whose answer is the page to check).
 */
async function audit(page: Page, label: string, path: string, opts: AuditOptions = {}): Promise<string[]> {
  const out: string[] = [];
  for (const w of WIDTHS) {
    await page.setViewportSize({ width: w.width, height: w.height });
    const res = await page.goto(server.baseUrl + path, { waitUntil: "load" });
    if (opts.prepare) await opts.prepare(page);
    else expect(res?.status(), `${label} ${path}`).toBe(opts.status ?? 200);
    if (opts.check) await opts.check(page);
    await expect.poll(() => page.locator("h1").count(), { message: `${label} (${path}) has a heading` }).toBeGreaterThan(0);
    const where = `${label} [${page.url().replace(server.baseUrl, "")}]`;
    out.push(...(await axe(page, where, w.name)));
    if (process.env.A11Y_SHOTS) await page.screenshot({ path: `${process.env.A11Y_SHOTS}/${label.replace(/\W+/g, "-")}-${w.name}.png`, fullPage: true });
    if (w.name === "desktop") {
      // The dark colour scheme (prefers-color-scheme) of the same page: its contrast is checked too.
      await page.emulateMedia({ colorScheme: "dark" });
      // Colours change with a short transition: measure once it has finished.
      await page.waitForFunction(() => document.getAnimations().every((a) => a.playState !== "running"));
      out.push(...(await axe(page, where, `${w.name}, dark`)));
      if (process.env.A11Y_SHOTS) await page.screenshot({ path: `${process.env.A11Y_SHOTS}/${label.replace(/\W+/g, "-")}-dark.png`, fullPage: true });
      await page.emulateMedia({ colorScheme: "light" });
    }
  }
  return out;
}

/** status: the expected answer; prepare: acts on the loaded page (fill, submit) to reach the page to check; check: asserts its content. */
type AuditOptions = { status?: number; prepare?: (p: Page) => Promise<void>; check?: (p: Page) => Promise<void> };

/** audit() for each [label, path, options] in turn. */
async function auditEach(page: Page, pages: [string, string, AuditOptions?][]): Promise<string[]> {
  const out: string[] = [];
  for (const [label, path, opts] of pages) out.push(...(await audit(page, label, path, opts)));
  return out;
}

async function axe(page: Page, label: string, width: string): Promise<string[]> {
  if (!(await page.evaluate("typeof window.axe === 'object'"))) await page.evaluate(AXE_SOURCE);
  const violations = (await page.evaluate(
    ([tags, disabled]) => {
      const a = (window as unknown as { axe: { run(ctx: Document, o: object): Promise<{ violations: unknown[] }> } }).axe;
      const rules = Object.fromEntries(disabled.map((id) => [id, { enabled: false }]));
      return a.run(document, { runOnly: { type: "tag", values: tags }, rules, resultTypes: ["violations"] }).then((r) => r.violations);
    },
    [TAGS, Object.keys(DISABLED_RULES)] as const,
  )) as AxeViolation[];
  return violations.map((v) => {
    const targets = v.nodes.slice(0, 5).map((n) => n.target.map(String).join(" > "));
    const more = v.nodes.length > 5 ? ` (+${v.nodes.length - 5} more)` : "";
    return `${label} @${width}: ${v.id} (${v.impact ?? "?"}): ${v.help} -> ${targets.join(" | ")}${more}`;
  });
}

async function newContext(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: WIDTHS[0].width, height: WIDTHS[0].height } });
  contexts.push(context);
  const page = await context.newPage();
  // The machine may be busy (parallel test files, argon2 logins): generous waits, same assertions.
  page.setDefaultTimeout(60_000);
  return page;
}

async function logIn(page: Page, who: keyof typeof users): Promise<void> {
  await page.goto(`${server.baseUrl}/accounts/login/`);
  await page.getByLabel("Username or e-mail").fill(users[who].username);
  await page.getByLabel("Password", { exact: true }).fill(users[who].password);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith("/accounts/login/")), page.getByRole("button", { name: "Log in", exact: true }).click()]);
}

const CODE_BODY = [
  "A post with a code block that is wider than a phone screen.",
  "",
  "```ts",
  "export function aVeryLongFunctionNameThatDoesNotFitOnAPhone(argumentNumberOne: string, argumentNumberTwo: number): string {",
  "  return `${argumentNumberOne}:${argumentNumberTwo}`;",
  "}",
  "```",
  "",
  "And `inline code` after it.",
].join("\n");

beforeAll(async () => {
  await seedPosts({ posts: 30, seed: 10 });
  const [reader, author, admin] = await Promise.all([
    createUser({ role: "READER" }),
    createUser({ role: "AUTHOR", firstName: "Ada", lastName: "Writer" }),
    createUser({ role: "ADMIN" }),
  ]);
  users.reader = { username: reader.user.username, password: reader.password, id: reader.user.id };
  users.author = { username: author.user.username, password: author.password, id: author.user.id };
  users.admin = { username: admin.user.username, password: admin.password, id: admin.user.id };
  const category = await prisma.category.findFirstOrThrow({ orderBy: { id: "asc" } });
  const actor = { id: author.user.id, role: "AUTHOR" as const };
  const fields = {
    title: "Code on a small screen",
    status: "PUBLISHED" as const,
    authorId: author.user.id,
    categoryId: category.id,
    tagNames: ["accessibility"],
  };
  const code = await createPost({ ...fields, body: CODE_BODY, publish: new Date(Date.now() - 3_600_000) }, actor);
  const d = code.publish;
  codePostUrl = `/blog/${d.getUTCFullYear()}/${String(d.getUTCMonth() + 1).padStart(2, "0")}/${String(d.getUTCDate()).padStart(2, "0")}/${code.slug}/`;
  // Two edits: its history page lists revisions.
  revisedPostId = code.id;
  let version = code.version;
  for (const note of ["First edit", "Second edit"]) {
    version = (await updatePost(code.id, version, { ...fields, body: `${CODE_BODY}\n\n${note}.`, publish: code.publish }, actor, note)).version;
  }
  draftId = (
    await createPost({ title: "An unfinished draft", body: "Work in progress.", status: "DRAFT", authorId: author.user.id, categoryId: category.id }, actor)
  ).id;
  [server, browser] = await Promise.all([startServer(), launchBrowser()]);
}, 120_000);

afterAll(async () => {
  for (const c of contexts) await c.close();
  await browser?.close();
  await server?.close();
});

describe("no axe-core violation, desktop and phone", { timeout: 180_000 }, () => {
  it("on the reader's pages", async () => {
    const page = await newContext();
    const published = await prisma.post.count({ where: { status: "PUBLISHED", publish: { lte: new Date() } } });
    const pages = Math.ceil(published / config.POSTS_PER_PAGE);
    expect(pages).toBeGreaterThanOrEqual(3);
    const post = await prisma.post.findFirstOrThrow({
      where: { id: revisedPostId },
      include: { category: true, author: true, tags: { include: { tag: true } } },
    });
    report(
      await auditEach(page, [
        ["home, page 1", "/"],
        ["post list, middle page", `/blog/?page=${Math.ceil(pages / 2)}`],
        ["post list, last page", `/blog/?page=${pages}`],
        ["post with a code block", codePostUrl, { check: async (p) => expect(await p.locator(".prose pre[tabindex='0'] code").count()).toBe(1) }],
        ["categories", "/blog/categories/"],
        ["category", `/blog/category/${post.category!.slug}/`],
        ["tag", `/blog/tag/${post.tags[0]!.tag.slug}/`],
        ["author", `/blog/author/${post.author.username}/`],
        [
          "search with results",
          `/blog/search/?q=${encodeURIComponent("small screen")}`,
          { check: async (p) => expect(await p.locator("article.post-card").count()).toBeGreaterThan(0) },
        ],
        ["search without results", "/blog/search/?q=zzyzxnothing", { check: async (p) => expect(await p.locator("article.post-card").count()).toBe(0) }],
        ["search form", "/blog/search/"],
        ["API reference", "/api/v1/docs/", { check: async (p) => expect(await p.locator("article.api-op").count()).toBeGreaterThan(0) }],
        ["not found", "/blog/no-such-page/here/", { status: 404 }],
      ]),
    );
  });

  it("on the account pages", async () => {
    const page = await newContext();
    const token = await issueResetToken(users.reader.id);
    const signUpWithErrors = async (p: Page) => {
      await p.getByLabel("Username").fill("x");
      await p.getByLabel("E-mail address").fill("not-an-address");
      await Promise.all([p.waitForResponse((r) => r.request().method() === "POST"), p.getByRole("button", { name: "Sign up" }).click()]);
      await p.waitForLoadState("load");
      expect(await p.locator("[aria-invalid=true]").count()).toBeGreaterThan(0);
    };
    const badCsrfToken = async (p: Page) => {
      await p.locator("main input[name=_csrf]").evaluate((i) => ((i as HTMLInputElement).value = "not-the-token"));
      await p.getByLabel("Username or e-mail").fill(users.reader.username);
      await p.getByLabel("Password", { exact: true }).fill("wrong");
      const [res] = await Promise.all([
        p.waitForResponse((r) => r.request().method() === "POST"),
        p.getByRole("button", { name: "Log in", exact: true }).click(),
      ]);
      expect(res.status()).toBe(403);
      await p.waitForLoadState("load");
    };
    const found = await auditEach(page, [
      ["login", "/accounts/login/"],
      ["sign-up", "/accounts/signup/"],
      ["sign-up with errors", "/accounts/signup/", { prepare: signUpWithErrors }],
      ["sign-up done", "/accounts/signup/done/"],
      ["password reset request", "/accounts/password/reset/"],
      ["password reset sent", "/accounts/password/reset/done/"],
      ["password reset: set a new one", `/accounts/reset/${token}/`, { check: async (p) => expect(await p.getByLabel("New password").count()).toBe(1) }],
      ["password reset: bad link", "/accounts/reset/not-a-valid-token/", { status: 400 }],
      ["CSRF failure", "/accounts/login/", { prepare: badCsrfToken }],
    ]);

    await logIn(page, "reader");
    found.push(
      ...(await auditEach(page, [
        ["profile", "/accounts/profile/"],
        ["password change", "/accounts/password/change/"],
        ["home, signed in", "/"],
        ["forbidden (a reader at My posts)", "/write/posts/", { status: 403 }],
        ["log out?", "/accounts/logout/"],
      ])),
    );
    await page.setViewportSize({ width: WIDTHS[1].width, height: WIDTHS[1].height });
    await Promise.all([page.waitForURL(`${server.baseUrl}/accounts/logout/`), page.getByRole("button", { name: "Log out", exact: true }).first().click()]);
    expect(await page.locator("h1").textContent()).toBe("Logged out");
    found.push(...(await axe(page, "logged out [/accounts/logout/]", "phone")));
    report(found);
  });

  it("on the author's pages", async () => {
    const page = await newContext();
    await logIn(page, "author");
    report(
      await auditEach(page, [
        ["my posts: drafts", "/write/posts/"],
        ["my posts: published", "/write/posts/published/"],
        ["the editor: new post (author)", "/admin/blog/post/add/"],
        ["preview of a draft", `/preview/${draftId}/`],
        ["share a preview (no-JS page)", `/preview/${draftId}/share/`],
        ["profile (author)", "/accounts/profile/"],
        ["admin index (author)", "/admin/"],
        ["admin posts (author)", "/admin/blog/post/"],
        ["admin post change form (author)", `/admin/blog/post/${draftId}/change/`],
      ]),
    );
  });

  it("on every admin page reachable from the admin's navigation", async () => {
    const page = await newContext();
    await logIn(page, "admin");
    const found: string[] = [];
    found.push(...(await audit(page, "admin index", "/admin/")));
    expect(await page.locator("link[rel=icon]").getAttribute("href")).toMatch(/^\/static\/img\/favicon\.[0-9a-f]+\.svg$/);
    const covered: string[] = []; // "<change list> history", "<change list> delete", "<change list> action"
    const nav = await page.locator(".admin-nav a").evaluateAll((as) => as.map((a) => ({ href: a.getAttribute("href")!, text: a.textContent!.trim() })));
    const lists = nav.filter((a) => !a.href.endsWith("/add/"));
    const adds = nav.filter((a) => a.href.endsWith("/add/"));
    expect(lists.map((l) => l.href)).toEqual(
      expect.arrayContaining(["/admin/blog/post/", "/admin/blog/category/", "/admin/blog/tag/", "/admin/accounts/user/"]),
    );
    // Other admin pages the index links to (an ops page...), not the objects of recent actions.
    await page.setViewportSize({ width: WIDTHS[0].width, height: WIDTHS[0].height });
    await page.goto(`${server.baseUrl}/admin/`);
    const listed = new Set(nav.map((a) => a.href.replace(/\?.*/, "")));
    const extra = (await page.locator("main a[href^='/admin/']").evaluateAll((as) => as.map((a) => a.getAttribute("href")!))).filter(
      (h, i, all) => all.indexOf(h) === i && !listed.has(h.replace(/\?.*/, "")) && !/\/\d+\/(change|delete|history)\/$/.test(h),
    );
    for (const href of extra) found.push(...(await audit(page, `linked from the admin index: ${href}`, href)));
    for (const add of adds) found.push(...(await audit(page, `add ${add.href}`, add.href)));

    for (const list of lists) {
      found.push(...(await audit(page, `change list ${list.text}`, list.href)));
      await page.setViewportSize({ width: WIDTHS[0].width, height: WIDTHS[0].height });
      await page.goto(server.baseUrl + list.href);
      // A filter, a search, a date drill-down, the first row's change form: whatever this list offers.
      const offered = await page.evaluate(() => {
        const href = (selector: string) => document.querySelector(selector)?.getAttribute("href") ?? null;
        return {
          filter: href(".changelist-filter li:not(.selected) a"),
          search: document.querySelector("#searchbar") !== null,
          drill: href(".date-hierarchy a"),
          row: href(".result-list .row-link"),
        };
      });
      const { filter, drill, row } = offered;
      if (list.href === "/admin/blog/post/")
        expect(offered).toEqual({ filter: expect.any(String), search: true, drill: expect.any(String), row: expect.any(String) });
      if (filter) found.push(...(await audit(page, `change list ${list.text}, filtered`, filter)));
      if (offered.search) found.push(...(await audit(page, `change list ${list.text}, searched`, `${list.href}?q=a`)));
      if (drill) found.push(...(await audit(page, `change list ${list.text}, by date`, drill)));

      // The change form of the first row, then its history and delete confirmation.
      if (row) {
        found.push(...(await audit(page, `change form ${list.text}`, row)));
        const links = await page
          .locator("main a.button, main a.deletelink")
          .evaluateAll((as) => as.map((a) => ({ href: a.getAttribute("href")!, text: a.textContent!.trim() })));
        for (const l of links) found.push(...(await audit(page, `${l.text} (${list.text})`, l.href)));
        covered.push(...links.map((l) => `${list.href} ${l.href.replace(/^.*\/(\w+)\/$/, "$1")}`));
      }

      // An action's confirmation page (nothing is done until it is confirmed).
      await page.goto(server.baseUrl + list.href);
      const actions = await page.locator("#action-select option").evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value).filter(Boolean));
      if (actions.length > 0 && (await page.locator(".action-select").count()) > 0) {
        const action = actions.find((a) => a.startsWith("delete")) ?? actions[0]!;
        found.push(
          ...(await audit(page, `action confirmation ${list.text} (${action})`, list.href, {
            prepare: async (p) => {
              await p.locator(".action-select").first().check();
              await p.locator("#action-select").selectOption(action);
              await Promise.all([p.waitForResponse((r) => r.request().method() === "POST"), p.getByRole("button", { name: "Go", exact: true }).click()]);
              await p.waitForLoadState("load");
              expect(await p.locator("h1").textContent()).toBe("Are you sure?");
            },
          })),
        );
        covered.push(`${list.href} action`);
      }
    }
    const showPreview = async (p: Page) => {
      await Promise.all([p.waitForResponse((r) => r.url().endsWith("/admin/preview/")), p.getByRole("button", { name: "Preview", exact: true }).click()]);
      await expect.poll(() => p.locator(".md-preview pre code").count()).toBe(1);
    };
    found.push(
      ...(await auditEach(page, [
        ["post change form, Markdown preview shown", `/admin/blog/post/${revisedPostId}/change/`, { check: showPreview }],
        [
          "post history with revisions",
          `/admin/blog/post/${revisedPostId}/history/`,
          { check: async (p) => expect(await p.getByText("Second edit").count()).toBeGreaterThan(0) },
        ],
        ["user password", `/admin/accounts/user/${users.reader.id}/password/`],
      ])),
    );
    for (const model of ["/admin/blog/post/", "/admin/blog/category/", "/admin/blog/tag/", "/admin/accounts/user/"]) {
      expect(covered).toEqual(expect.arrayContaining([`${model} history`, `${model} delete`, `${model} action`]));
    }
    expect(covered).toContain("/admin/accounts/user/ password");
    report(found);
  });
});

describe("favicon", () => {
  it("is linked from the reader's and the admin's pages under a hashed name, and /favicon.ico answers without a 404", async () => {
    const home = await fetch(server.baseUrl + "/");
    const icon = /<link rel="icon" type="image\/svg\+xml" href="(\/static\/img\/favicon\.[0-9a-f]+\.svg)">/.exec(await home.text())?.[1];
    expect(icon).toBeDefined();
    const svg = await fetch(server.baseUrl + icon!);
    expect(svg.status).toBe(200);
    expect(svg.headers.get("content-type")).toContain("image/svg+xml");
    expect(await svg.text()).toContain("<svg");
    const ico = await fetch(server.baseUrl + "/favicon.ico", { redirect: "manual" });
    expect([200, 301, 302, 308]).toContain(ico.status);
    if (ico.status !== 200) expect(ico.headers.get("location")).toBe(icon);
    // Answered before the session and the database (no cookie), like the static files.
    expect(ico.headers.get("set-cookie")).toBeNull();
  });
});

describe("the admin change list on a phone", () => {
  it("loads without layout shift (CLS below 0.01; also at tablet and desktop widths, and the writer's and reader's first pages)", async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(60_000);
    await logIn(page, "admin");
    // As on a slow phone network: the page's scripts arrive after its first paint, so anything they
    // move or hide after load shows up as a layout shift (with a fast local server they may run
    // before the first paint and hide the shift).
    await page.route(/\/static\/js\/[^/]+\.js$/, async (route) => {
      await expect.poll(() => page.evaluate(() => performance.getEntriesByName("first-contentful-paint").length).catch(() => 0), { timeout: 30_000 }).toBe(1);
      await route.continue();
    });
    for (const [path, w] of [
      ["/admin/blog/post/", 390],
      ["/admin/blog/post/?status__exact=DRAFT", 390],
      ["/admin/", 390],
      ["/admin/blog/post/", 1280],
      ["/admin/blog/post/", 900],
      ["/write/posts/", 390],
      ["/", 390],
    ] as const) {
      await page.setViewportSize({ width: w, height: 844 });
      const res = await page.goto(server.baseUrl + path, { waitUntil: "load" });
      expect(res?.status(), path).toBe(200);
      expect(await page.locator("h1").count()).toBe(1);
      // Two animation frames after load: the deferred scripts have run and the page is laid out
      // again. Then every layout-shift entry of this page load (buffered), without recent input.
      const shifts = await page.evaluate(
        () =>
          new Promise<{ value: number; sources: string[] }[]>((done) => {
            requestAnimationFrame(() =>
              requestAnimationFrame(() => {
                const observer = new PerformanceObserver(() => {});
                observer.observe({ type: "layout-shift", buffered: true });
                const entries = observer.takeRecords() as (PerformanceEntry & { value: number; hadRecentInput: boolean; sources?: { node?: Node | null }[] })[];
                observer.disconnect();
                const describe = (n: Node | null | undefined) =>
                  n instanceof Element
                    ? `${n.tagName.toLowerCase()}${n.className ? "." + String(n.className).trim().split(/\s+/).join(".") : ""}`
                    : String(n?.nodeName);
                done(entries.filter((e) => !e.hadRecentInput).map((e) => ({ value: e.value, sources: (e.sources ?? []).map((s) => describe(s.node)) })));
              }),
            );
          }),
      );
      const cls = shifts.reduce((sum, e) => sum + e.value, 0);
      expect(cls, `${path} at ${w}px: layout shifts ${JSON.stringify(shifts)}`).toBeLessThan(0.01);
      await screenshot(page, `a11y-cls-${path}-${w}`);
    }
  });
});
