// GET /admin/caches/ (admin:caches): per-cache counts of this process after real page views, for
// editors and admins only; the admin index links to it for them.
import { beforeAll, describe, expect, it } from "vitest";
import request from "supertest";
import { buildApp } from "../../src/app.ts";
import { config } from "../../src/config.ts";
import { caches } from "../../src/cache/index.ts";
import { url } from "../../src/web/urls.ts";
import { createUser, makePost, signedIn } from "../support/fixtures.ts";

const app = buildApp();
// Writes here go around the save paths (straight SQL, or a clock moved) and the checks read the layers
// under the full-page cache (src/cache/pages.ts, tested in tests/cache/page-cache.test.ts): pages uncached.
(config as { PAGE_CACHE: boolean }).PAGE_CACHE = false;

/** The cells of one cache's row on the page. */
function row(html: string, name: string): Record<string, string> {
  const m = new RegExp(`<tr data-cache="${name.replace(".", "\\.")}">([\\s\\S]*?)</tr>`).exec(html);
  if (!m) throw new Error(`no row for ${name}`);
  const cells: Record<string, string> = {};
  for (const c of m[1]!.matchAll(/<td data-label="([^"]+)"[^>]*>([\s\S]*?)<\/td>/g)) cells[c[1]!] = c[2]!.replace(/<[^>]+>/g, "").trim();
  return cells;
}

beforeAll(async () => {
  const { user } = await createUser({ role: "AUTHOR" });
  for (let i = 0; i < 3; i++) await makePost({ authorId: user.id, title: `Viewed post ${i}`, publish: new Date(Date.UTC(2026, 2, 1 + i)) });
});

describe("the caches page", () => {
  it("is named admin:caches", () => {
    expect(url("admin:caches")).toBe("/admin/caches/");
  });

  it("shows each cache's counts in this process after real page views", async () => {
    caches.counts.clear();
    const hits = caches.counts.hits;
    const misses = caches.counts.misses;
    for (let i = 0; i < 3; i++) expect((await request(app).get("/blog/").expect(200)).text).toContain("Viewed post 2");
    // the first view loaded the count, the next two found it
    expect(caches.counts.misses).toBe(misses + 1);
    expect(caches.counts.hits).toBe(hits + 2);

    const editor = await signedIn(app, "EDITOR");
    const res = await editor.agent.get("/admin/caches/").expect(200);
    expect(res.text).toContain("<h1>Caches</h1>");
    expect(res.text).toContain(`pid <strong class="pid">${process.pid}</strong>`);
    const counts = row(res.text, "blog.counts");
    expect(counts).toMatchObject({
      Backend: "memory",
      Entries: "1",
      "Size / bound": "1 entry / 5,000 entries",
      TTL: "5 s",
      Hits: String(caches.counts.hits),
      Misses: String(caches.counts.misses),
      Tags: "posts, taxonomy",
    });
    expect(counts["Hit ratio"]).toBe(`${((caches.counts.hits / (caches.counts.hits + caches.counts.misses)) * 100).toFixed(1)} %`);
    expect(counts["Last invalidation"]).not.toBe("never"); // cleared above
    const feeds = row(res.text, "blog.feeds");
    expect(feeds["Size / bound"]).toMatch(/ \/ 8\.0 MB$/); // its declared bound (src/cache/index.ts)
    expect(feeds.TTL).toBe("30 s");
    expect(row(res.text, "web.reversed-urls").Tags).toBe("none (never stale)");
    expect(res.text).toContain("<code>taxonomy</code>");
  });

  it("shows the page cache: backend, entries, bytes against its bound, hits and misses of this process", async () => {
    (config as { PAGE_CACHE: boolean }).PAGE_CACHE = true;
    try {
      await request(app).get("/blog/").expect(200); // a miss, stored
      let state: string | undefined;
      for (let i = 0; i < 200 && state !== "HIT"; i++) state = (await request(app).get("/blog/")).headers["x-cache"]; // the store is async
      expect(state).toBe("HIT");
    } finally {
      (config as { PAGE_CACHE: boolean }).PAGE_CACHE = false;
    }
    const editor = await signedIn(app, "EDITOR");
    const html = (await editor.agent.get("/admin/caches/").expect(200)).text;
    const section = /<section class="module page-cache">([\s\S]*?)<\/section>/.exec(html)?.[1] ?? "";
    const dd = (cls: string) => new RegExp(`<dd class="${cls}">([^<]*)</dd>`).exec(section)?.[1];
    expect(dd("backend")).toBe("memory");
    expect(Number(dd("entries"))).toBeGreaterThanOrEqual(1);
    expect(dd("size")).toMatch(new RegExp(`^[\\d.]+ (B|KB|MB) / ${config.CACHE_MAX_MB.toFixed(1).replace(".", "\\.")} MB$`)); // CACHE_MAX_MB
    expect(Number(dd("hits"))).toBeGreaterThanOrEqual(1);
    expect(Number(dd("misses"))).toBeGreaterThanOrEqual(1);
  });

  it("is linked from the admin index for editors and admins only", async () => {
    const editor = await signedIn(app, "EDITOR");
    expect((await editor.agent.get("/admin/").expect(200)).text).toContain('<a href="/admin/caches/">Caches</a>');
    const admin = await signedIn(app, "ADMIN");
    await admin.agent.get("/admin/caches/").expect(200);
    expect((await admin.agent.get("/admin/").expect(200)).text).toContain('<a href="/admin/caches/">Caches</a>');
    const author = await signedIn(app, "AUTHOR");
    const index = await author.agent.get("/admin/").expect(200);
    expect(index.text).toContain("Site administration");
    expect(index.text).not.toContain("/admin/caches/");
  });

  it("is refused to authors (403), readers (403) and anonymous users (to the login page)", async () => {
    const author = await signedIn(app, "AUTHOR");
    const refused = await author.agent.get("/admin/caches/").expect(403);
    expect(refused.text).not.toContain("blog.counts");
    const reader = await signedIn(app, "READER");
    expect((await reader.agent.get("/admin/caches/").expect(403)).text).not.toContain("blog.counts");
    const anon = await request(app).get("/admin/caches/").expect(302);
    expect(anon.headers.location).toMatch(/^\/accounts\/login\/\?next=%2Fadmin%2Fcaches%2F$/);
  });
});
