// The API's documentation page, /api/v1/docs/ (src/api/docs.ts, views/api/): generated from the
// OpenAPI document on the server, every operation listed, within the site's CSP (no script, no inline
// style, nothing from another origin), the site's header for whoever is signed in, and in a real
// Chromium at a desktop and a phone width without a CSP report or a page wider than the screen.
// Its accessibility is checked by the crawl in tests/e2e/a11y.test.ts, with the other pages.
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../src/app.ts";
import { config } from "../../src/config.ts";
import { openApiDocument } from "../../src/api/openapi.ts";
import { docsView } from "../../src/api/docs.ts";
import { launchBrowser, screenshot, startServer, type TestServer } from "../support/browser.ts";
import { signedIn } from "../support/fixtures.ts";

const app = buildApp();
const DOCS = "/api/v1/docs/";

interface Op {
  operationId: string;
}
const doc = openApiDocument().doc as unknown as {
  paths: Record<string, Record<string, Op>>;
  components?: { schemas?: Record<string, unknown> };
};
const operations = Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ path, method, id: op.operationId })));

const escape = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

describe("GET /api/v1/docs/", () => {
  it("answers the site's HTML page, listing every operation of the document with an anchor and a table of contents entry", async () => {
    const res = await request(app).get(DOCS).expect(200);
    expect(res.headers["content-type"]).toMatch(/^text\/html/);
    expect(res.headers["content-security-policy"]).toContain("script-src 'self'");
    const html = res.text;
    expect(html).toContain("<h1>API reference</h1>");
    expect(html).toMatch(/<link rel="stylesheet" href="\/static\/css\/site\.[0-9a-f]+\.css">/);
    expect(operations.length).toBeGreaterThan(0);
    for (const op of operations) {
      expect(html, op.id).toContain(
        `<h3 id="op-${op.id}" class="api-op-title"><span class="api-method">${op.method.toUpperCase()}</span> <code class="api-path">${escape(op.path)}</code></h3>`,
      );
      expect(html, op.id).toContain(`href="#op-${op.id}"`);
      expect(html, op.id).toContain(`operationId <code>${op.id}</code>`);
    }
    for (const name of Object.keys(doc.components?.schemas ?? {})) expect(html, name).toContain(`id="schema-${name}"`);
    // The introduction covers what every caller needs.
    for (const id of ["authentication", "errors", "pagination", "concurrency", "rate-limits"]) expect(html).toContain(`<h3 id="${id}">`);
    expect(html).toContain('href="/api/v1/openapi.json"');
  });

  it("stays within the CSP: no script, no inline style, nothing loaded from elsewhere; every in-page link has its target", async () => {
    const html = (await request(app).get(DOCS).expect(200)).text;
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<style/i);
    expect(html).not.toMatch(/\sstyle=/i);
    expect(html).not.toMatch(/\son[a-z]+=/i); // event handler attributes
    for (const m of html.matchAll(/\s(?:src|href)="([^"]*)"/g)) {
      const target = m[1]!.startsWith(config.SITE_URL + "/") ? m[1]!.slice(config.SITE_URL.length) : m[1]!; // canonical, feeds
      expect(target, "this site's resources and links only").toMatch(/^(\/(?!\/)|#)/);
    }
    const ids = new Set([...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]));
    const targets = [...html.matchAll(/href="#([^"]*)"/g)].map((m) => m[1]!);
    expect(targets.length).toBeGreaterThan(operations.length);
    expect(targets.filter((t) => !ids.has(t))).toEqual([]);
    expect([...html.matchAll(/\sid="([^"]+)"/g)].length, "ids are unique").toBe(ids.size);
  });

  it("shows the signed-in user in the site's header, as every page does, around the same reference", async () => {
    const anonymous = (await request(app).get(DOCS).expect(200)).text;
    expect(anonymous).toContain(">Log in</a>");
    const author = await signedIn(app, "AUTHOR");
    const res = await author.agent.get(DOCS).expect(200);
    expect(res.headers["cache-control"]).toContain("private");
    expect(res.text).toContain(`>${author.user.username}</a>`);
    expect(res.text).toContain(">Log out</button>");
    const reference = (html: string) => html.slice(html.indexOf('<header class="page-header">'), html.indexOf('<footer class="site-footer">'));
    expect(reference(res.text)).toBe(reference(anonymous));
  });

  it("ignores what a query string says (nothing of it on the page); other methods get the API's 404 problem, never a 500", async () => {
    const hostile = "<script>alert(1)</script>";
    const res = await request(app)
      .get(`${DOCS}?q=${encodeURIComponent(hostile)}&page=99999999999999999999&fields[]=x`)
      .expect(200);
    expect(res.text).not.toContain(hostile);
    expect(res.text).not.toContain("99999999999999999999");
    await request(app).head(DOCS).expect(200);
    const post = await request(app).post(DOCS).send({ a: 1 });
    expect(post.status).toBe(404);
    expect(post.headers["content-type"]).toMatch(/^application\/problem\+json/);
  });

  it("is linked from the site's footer", async () => {
    const home = await request(app).get("/").expect(200);
    expect(home.text).toContain(`<a href="${DOCS}">API</a>`);
  });
});

describe("docsView: the page's reading of an OpenAPI document", () => {
  // A small document with what generated documents contain: $ref components (one nullable, one in an
  // array, one referring to itself), enums, maps, constraints, parameters, a body and problem answers.
  const view = docsView({
    info: { title: "T", version: "1" },
    paths: {
      "/api/v1/things/{id}": {
        patch: {
          operationId: "updateThing",
          summary: "Change a thing",
          tags: ["things"],
          security: [{ bearerAuth: [] }],
          parameters: [
            { name: "id", in: "path", required: true, schema: { type: "integer", minimum: 1, maximum: 2147483647 } },
            { name: "fields", in: "query", schema: { type: "string", description: "Comma-separated names." } },
          ],
          requestBody: {
            required: true,
            content: { "application/json": { schema: { type: "object", properties: { status: { $ref: "#/components/schemas/Status" } }, required: [] } } },
          },
          responses: {
            "200": {
              description: "The thing.",
              content: { "application/json": { schema: { $ref: "#/components/schemas/Thing" } } },
              headers: { ETag: { description: "Version." } },
            },
            "403": { description: "Not yours.", content: { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } } },
          },
        },
      },
      "/api/v1/things": {
        get: {
          operationId: "listThings",
          summary: "Things",
          tags: ["things"],
          security: [{}, { bearerAuth: [] }],
          responses: { "200": { description: "A page." } },
        },
      },
    },
    components: {
      schemas: {
        Status: { type: "string", enum: ["draft", "published"] },
        Owner: { type: "object", properties: { username: { type: "string" } }, required: ["username"] },
        Thing: {
          type: "object",
          properties: {
            id: { type: "integer", minimum: -9007199254740991, maximum: 9007199254740991 },
            owner: { anyOf: [{ $ref: "#/components/schemas/Owner" }, { type: "null" }] },
            parts: { type: "array", items: { $ref: "#/components/schemas/Thing" } },
            owners: { type: "array", items: { $ref: "#/components/schemas/Owner" } },
            labels: { type: "object", additionalProperties: { type: "string" } },
            title: { type: "string", minLength: 1, maxLength: 200, default: "Untitled" },
          },
          required: ["id"],
        },
        Problem: { type: "object", properties: { status: { type: "integer" } } },
      },
    },
  });
  const [tag] = view.tags;
  const update = tag!.operations.find((o) => o.operationId === "updateThing")!;
  const text = (t: (string | { ref: string })[]) => t.map((p) => (typeof p === "string" ? p : `<${p.ref}>`)).join("");

  it("groups operations by tag, says who may call each, and reads parameters with their constraints", () => {
    expect(view.operationCount).toBe(2);
    expect(view.tags.map((t) => [t.name, t.operations.map((o) => o.operationId)])).toEqual([["things", ["updateThing", "listThings"]]]);
    expect(update.access).toMatch(/^Signed-in users .* anonymous callers get 401\.$/);
    expect(tag!.operations[1]!.access).toMatch(/^Anyone/);
    expect(update.parameters.map((p) => [p.name, p.in, text(p.type), p.required, p.notes.join(" ")])).toEqual([
      ["id", "path", "integer", true, "1 to 2147483647."],
      ["fields", "query", "string", false, "Comma-separated names."],
    ]);
  });

  it("flattens nested objects, nullable and array $refs into dotted rows, stopping where a component refers to itself", () => {
    expect(update.body!.fields.map((f) => [f.name, text(f.type)])).toEqual([["status", "<Status>"]]);
    const [ok] = update.responses;
    expect(ok!.headers).toEqual([{ name: "ETag", description: "Version." }]);
    expect(ok!.fields.map((f) => [f.name, text(f.type), f.required, f.notes.join(" ")])).toEqual([
      ["id", "integer", true, ""],
      ["owner", "<Owner> or null", false, ""],
      ["owner.username", "string", true, ""],
      ["parts", "array of <Thing>", false, ""],
      ["owners", "array of <Owner>", false, ""],
      ["owners[].username", "string", true, ""],
      ["labels", "map of string", false, ""],
      ["title", "string", false, '1 to 200 characters. Default: "Untitled".'],
    ]);
    expect(update.errors).toEqual([{ status: "403", description: "Not yours.", schema: { ref: "Problem", anchor: "schema-Problem" } }]);
    expect(view.schemas.map((s) => [s.name, text(s.type)])).toEqual([
      ["Status", '"draft" | "published"'],
      ["Owner", "object"],
      ["Thing", "object"],
      ["Problem", "object"],
    ]);
  });
});

describe("in Chromium", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  it("renders at 1280 and 390 px without a CSP report, a console error or a page wider than the screen", { timeout: 120_000 }, async () => {
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      page.setDefaultTimeout(60_000);
      const problems: string[] = [];
      page.on("console", (m) => {
        if (m.type() === "error" || /Content Security Policy/i.test(m.text())) problems.push(m.text());
      });
      page.on("pageerror", (e) => problems.push(e.message));
      for (const width of [1280, 390]) {
        await page.setViewportSize({ width, height: 900 });
        const res = await page.goto(server.baseUrl + DOCS, { waitUntil: "load" });
        expect(res?.status()).toBe(200);
        expect(await page.locator("h1").textContent()).toBe("API reference");
        expect(await page.locator("article.api-op").count()).toBe(operations.length);
        // The site's stylesheet and the page's own were applied (not refused by the CSP).
        // (Code run in the page is given as text: this project's tsconfig has no DOM types; tests/e2e's has.)
        expect(await page.evaluate("getComputedStyle(document.querySelector('.api-toc')).borderTopStyle")).toBe("solid");
        const overflow = (await page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")) as number;
        expect(overflow, `page wider than ${width}px`).toBeLessThanOrEqual(0);
        // An operation's anchor scrolls to it.
        const first = operations[0]!;
        await page.goto(`${server.baseUrl}${DOCS}#op-${first.id}`);
        await expect.poll(() => page.locator(`#op-${first.id}`).evaluate((e) => Math.round(e.getBoundingClientRect().top))).toBeLessThan(100);
        await page.evaluate("window.scrollTo(0, 0)");
        await screenshot(page, `api-docs-${width}`);
      }
      expect(problems).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
