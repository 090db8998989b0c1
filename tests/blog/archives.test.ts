// Category, tag and author archives, the category list, and hostile URLs anywhere under /blog/.
import { beforeAll, describe, expect, it } from "vitest";
import request from "supertest";
import { buildApp } from "../../src/app.ts";
import { createUser, makeCategory, makePost, makeTag } from "../support/fixtures.ts";
import { canonical } from "../support/html.ts";
import { invalidate } from "../../src/cache/index.ts";

const app = buildApp();
const t0 = Date.UTC(2026, 4, 1, 8, 0, 0);
const titles = (html: string) => [...html.matchAll(/class="post-card-title"><a href="[^"]*">([^<]*)</g)].map((m) => m[1]);

beforeAll(async () => {
  const linus = (await createUser({ role: "AUTHOR", username: "linus", firstName: "Linus", lastName: "T." })).user;
  const other = (await createUser({ role: "AUTHOR", username: "other" })).user;
  await createUser({ username: "quietreader", role: "READER" });
  const kernel = await makeCategory("Kernel", "kernel", "Posts about kernels.");
  const web = await makeCategory("Web", "web");
  await makeCategory("Empty", "empty");
  const c = await makeTag("C", "c");
  const rust = await makeTag("Rust", "rust");
  for (let i = 0; i < 12; i++) {
    await makePost({
      title: `Kernel ${i}`,
      authorId: linus.id,
      categoryId: kernel.id,
      tagIds: i % 2 ? [c.id] : [c.id, rust.id],
      publish: new Date(t0 + i * 3_600_000),
    });
  }
  await makePost({ title: "Web one", authorId: other.id, categoryId: web.id, tagIds: [rust.id], publish: new Date(t0) });
  await makePost({ title: "Web draft", authorId: other.id, categoryId: web.id, tagIds: [rust.id], status: "DRAFT", publish: new Date(t0) });
  await makePost({ title: "Web future", authorId: other.id, categoryId: web.id, tagIds: [rust.id], publish: new Date(Date.now() + 86_400_000) });
  await invalidate();
});

describe("category archive", () => {
  it("lists the category's published posts with a heading and pagination", async () => {
    const res = await request(app).get("/blog/category/kernel/").expect(200);
    expect(res.text).toContain("<h1>Kernel</h1>");
    expect(res.text).toContain("Posts about kernels.");
    expect(titles(res.text)).toHaveLength(10);
    expect(titles(res.text)[0]).toBe("Kernel 11");
    expect(res.text).toContain("Page 1 of 2");
    expect(res.text).toContain('href="/blog/category/kernel/?page=2"');
    const p2 = await request(app).get("/blog/category/kernel/?page=2").expect(200);
    expect(titles(p2.text)).toEqual(["Kernel 1", "Kernel 0"]);
    expect(canonical(p2.text)).toBe("http://folio.test/blog/category/kernel/?page=2");
    await request(app).get("/blog/category/kernel/?page=3").expect(404);
    const last = await request(app).get("/blog/category/kernel/?page=last").expect(200);
    expect(last.text).toContain("Page 2 of 2");
  });

  it("hides drafts and scheduled posts; shows 'No posts yet' for an empty category", async () => {
    const web = await request(app).get("/blog/category/web/").expect(200);
    expect(titles(web.text)).toEqual(["Web one"]);
    const empty = await request(app).get("/blog/category/empty/").expect(200);
    expect(empty.text).toContain("No posts yet");
    await request(app).get("/blog/category/empty/?page=2").expect(404);
  });

  it("answers unknown or hostile slugs with 404", async () => {
    for (const slug of ["nope", "Kernel", "x".repeat(101), "%27%20OR%201%3D1--", "%3Cscript%3E"]) {
      const res = await request(app).get(`/blog/category/${slug}/`);
      expect(res.status, slug).toBe(404);
      expect(res.text).toContain("Page not found");
    }
  });
});

describe("tag archive", () => {
  it("lists posts with the tag, newest first", async () => {
    const res = await request(app).get("/blog/tag/rust/").expect(200);
    expect(res.text).toContain("<h1>Rust</h1>");
    expect(titles(res.text)).toEqual(["Kernel 10", "Kernel 8", "Kernel 6", "Kernel 4", "Kernel 2", "Web one", "Kernel 0"]); // same publish time: higher id first
    expect(res.text).toContain("Page 1 of 1");
    await request(app).get("/blog/tag/rust/?page=2").expect(404);
    await request(app).get("/blog/tag/unknown/").expect(404);
  });
});

describe("author archive", () => {
  it("lists the author's posts under their full name", async () => {
    const res = await request(app).get("/blog/author/linus/").expect(200);
    expect(res.text).toContain("<h1>Linus T.</h1>");
    expect(res.text).toContain("Page 1 of 2");
    const other = await request(app).get("/blog/author/other/").expect(200);
    expect(titles(other.text)).toEqual(["Web one"]);
  });

  it("does not expose readers' accounts or unknown names", async () => {
    await request(app).get("/blog/author/quietreader/").expect(404);
    await request(app).get("/blog/author/nobody/").expect(404);
    await request(app)
      .get(`/blog/author/${"a".repeat(151)}/`)
      .expect(404);
  });
});

describe("category list", () => {
  it("shows every category with its published post count", async () => {
    const res = await request(app).get("/blog/categories/").expect(200);
    expect(res.text).toContain("<h1>Categories</h1>");
    expect(res.text).toMatch(/>Kernel<\/a>\s*<span class="count">12 posts<\/span>/);
    expect(res.text).toMatch(/>Web<\/a>\s*<span class="count">1 post<\/span>/);
    expect(res.text).toMatch(/>Empty<\/a>\s*<span class="count">0 posts<\/span>/);
    expect(canonical(res.text)).toBe("http://folio.test/blog/categories/");
  });
});

describe("hostile URLs", () => {
  it("answers 5,000-character paths with the site's 404", async () => {
    for (const path of [
      `/blog/${"a".repeat(5000)}/`,
      `/blog/category/${"a".repeat(5000)}/`,
      `/blog/2026/01/01/${"a".repeat(5000)}/`,
      `/blog/tag/${"%E0".repeat(1700)}/`,
    ]) {
      const res = await request(app).get(path);
      expect([400, 404]).toContain(res.status);
      expect(res.text).toContain('class="error-page"');
    }
  });

  it.each(["/blog/category/kernel/", "/blog/tag/c/", "/blog/author/linus/"])("%s answers hostile ?page values with the site's 404", async (path) => {
    for (const value of ["0", "-1", "1.5", "1e20", "100000000000000000000", "abc", "0x2", "%E0%A4%A", "%00", "<script>", "99"]) {
      const res = await request(app).get(`${path}?page=${value.startsWith("%") ? value : encodeURIComponent(value)}`);
      expect(res.status, value).toBe(404);
      expect(res.text, value).toContain('class="error-page"');
      expect(res.text, value).not.toContain("<script>");
    }
    for (const qs of ["page=1&page=2", "page[]=2"]) {
      // repeated: ambiguous, 404 as on the list; "page[]" is another parameter: the first page
      const res = await request(app).get(`${path}?${qs}`);
      expect(res.status, qs).toBe(qs.startsWith("page[]") ? 200 : 404);
    }
  });

  it.each([
    "/blog/9999999999999999999/01/01/x/",
    "/blog/2026/02/30/x/",
    "/blog/abc/01/01/x/",
    "/blog/category/%E0%A4%A/",
    "/blog/tag/%/",
    "/blog/author/%C0%AF/",
    "/blog/2026/01/01/%E0%A4%A/",
    "/blog/tag/x%00/",
    "/blog/author/%01%02/",
    "/blog/category/%7F/",
    "/blog/category/..%2F..%2Fetc%2Fpasswd/",
    "/blog/2026/01/01/x%00/",
  ])("%s answers 400 or 404 with the site's page, never 500", async (path) => {
    const res = await request(app).get(path);
    expect([400, 404]).toContain(res.status);
    expect(res.headers["content-type"]).toMatch(/text\/html/);
    expect(res.text).toContain('class="error-page"');
  });
});
