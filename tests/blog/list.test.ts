// The post list (/ and /blog/): ordering, "Page X of Y", pagination edges and hostile ?page values.
import { beforeAll, describe, expect, it } from "vitest";
import request from "supertest";
import { buildApp } from "../../src/app.ts";
import { config } from "../../src/config.ts";
import { deletePosts } from "../../src/posts/service.ts";
import { createUser, makeCategory, makePost, makeTag } from "../support/fixtures.ts";
import { canonical, jsonLd } from "../support/html.ts";
import { invalidate } from "../../src/cache/index.ts";

const app = buildApp();
const TOTAL = 23; // 3 pages of 10
const base = Date.UTC(2026, 0, 1, 12, 0, 0);

beforeAll(async () => {
  const author = (await createUser({ role: "AUTHOR", username: "ada", firstName: "Ada", lastName: "Lovelace" })).user;
  const cat = await makeCategory("Databases");
  const tag = await makeTag("SQL");
  for (let i = 0; i < TOTAL; i++) {
    await makePost({
      title: `Post number ${String(i).padStart(2, "0")}`,
      authorId: author.id,
      categoryId: cat.id,
      tagIds: [tag.id],
      publish: new Date(base + i * 86_400_000),
    });
  }
  // Never listed: a draft, a scheduled post, and both at the newest dates.
  await makePost({ title: "Secret draft", authorId: author.id, status: "DRAFT", publish: new Date(base + 100 * 86_400_000) });
  await makePost({ title: "Scheduled future", authorId: author.id, publish: new Date(Date.now() + 86_400_000 * 30) });
  await invalidate();
});

const titles = (html: string) => [...html.matchAll(/class="post-card-title"><a href="[^"]*">([^<]*)</g)].map((m) => m[1]);

describe("post list", () => {
  it("lists the newest published posts first, 10 per page, on /blog/ and /", async () => {
    expect(config.POSTS_PER_PAGE).toBe(10);
    for (const path of ["/blog/", "/"]) {
      const res = await request(app).get(path).expect(200);
      expect(res.headers["content-type"]).toMatch(/text\/html/);
      const t = titles(res.text);
      expect(t).toHaveLength(10);
      expect(t[0]).toBe("Post number 22");
      expect(t[9]).toBe("Post number 13");
      expect(res.text).toContain("Page 1 of 3");
      expect(res.text).not.toContain("Secret draft");
      expect(res.text).not.toContain("Scheduled future");
    }
  });

  it("shows author full name, date, category, tags and excerpt on each card", async () => {
    const res = await request(app).get("/blog/").expect(200);
    expect(res.text).toContain(">Ada Lovelace</a>");
    expect(res.text).toContain("January 23, 2026");
    expect(res.text).toContain('href="/blog/category/databases/"');
    expect(res.text).toContain('href="/blog/tag/sql/"');
    expect(res.text).toContain("Body of Post number 22.");
    expect(res.text).toContain('href="/blog/2026/01/23/post-number-22/"');
  });

  it("pages through with Previous/Next links, rel=prev/next and canonical with ?page", async () => {
    const p2 = await request(app).get("/blog/?page=2").expect(200);
    expect(titles(p2.text)[0]).toBe("Post number 12");
    expect(p2.text).toContain("Page 2 of 3");
    expect(p2.text).toContain('href="/blog/"'); // previous = page 1 without ?page
    expect(p2.text).toContain('href="/blog/?page=3"');
    expect(canonical(p2.text)).toBe("http://folio.test/blog/?page=2");
    expect(p2.text).toContain('<link rel="prev" href="http://folio.test/blog/">');
    expect(p2.text).toContain('<link rel="next" href="http://folio.test/blog/?page=3">');

    const p1 = await request(app).get("/blog/").expect(200);
    expect(canonical(p1.text)).toBe("http://folio.test/blog/");
    expect(p1.text).not.toContain('rel="prev"');

    const p3 = await request(app).get("/blog/?page=3").expect(200);
    expect(titles(p3.text)).toEqual(["Post number 02", "Post number 01", "Post number 00"]);
    expect(p3.text).toContain("Page 3 of 3");
    expect(p3.text).not.toContain('<link rel="next"');

    const home2 = await request(app).get("/?page=2").expect(200);
    expect(home2.text).toContain('href="/?page=3"');
    // / and /blog/ show the same list: one canonical URL for both (no duplicate content)
    expect(canonical(home2.text)).toBe("http://folio.test/blog/?page=2");
    expect(canonical((await request(app).get("/").expect(200)).text)).toBe("http://folio.test/blog/");
  });

  it("accepts page=last like Django", async () => {
    const res = await request(app).get("/blog/?page=last").expect(200);
    expect(res.text).toContain("Page 3 of 3");
    expect(titles(res.text)).toHaveLength(3);
  });

  it.each(["4", "0", "-1", "1.5", "1e20", "100000000000000000000", "abc", "", " 1", "0x2", '1;DROP TABLE "Post"', "%E0%A4%A", "<script>"])(
    "answers ?page=%s with the site's 404",
    async (value) => {
      const res = await request(app).get(`/blog/?page=${encodeURIComponent(value)}`);
      expect(res.status).toBe(404);
      expect(res.text).toContain("Page not found");
      expect(res.text).not.toContain("<script>");
    },
  );

  it("answers repeated, nested and raw-garbage page parameters with 404", async () => {
    for (const qs of ["page=1&page=2", "page=2&page=2", "page=%E0%A4%A", "page=%", "page=1%00"]) {
      const res = await request(app).get(`/blog/?${qs}`);
      expect(res.status, qs).toBe(404);
      expect(res.text).toContain("Page not found");
    }
    // "page[]" and "page[a]" are other parameters (no nested query parsing): the list's first page.
    for (const qs of ["page[]=2", "page[a]=2"]) {
      const res = await request(app).get(`/blog/?${qs}`).expect(200);
      expect(res.text, qs).toContain("Page 1 of 3");
    }
  });

  it("has the site header (nav + search form) and footer feed links on every page", async () => {
    for (const path of ["/blog/", "/blog/categories/", "/blog/nope/"]) {
      const res = await request(app).get(path);
      expect(res.text).toContain('<form class="search-form" role="search" action="/blog/search/" method="get">');
      expect(res.text).toContain('name="q"');
      expect(res.text).toContain('href="/blog/categories/"');
      expect(res.text).toContain('href="/blog/feed/rss/"');
      expect(res.text).toMatch(/<link rel="stylesheet" href="\/static\/css\/site\.[0-9a-f]{10}\.css">/);
    }
  });

  it("puts WebSite and Blog JSON-LD on the list", async () => {
    const res = await request(app).get("/blog/").expect(200);
    const ld = jsonLd(res.text)[0] as Record<string, unknown>[];
    expect(ld.map((x) => x["@type"])).toEqual(["WebSite", "Blog"]);
    expect(ld[0]).toMatchObject({
      url: "http://folio.test/",
      potentialAction: { target: { urlTemplate: "http://folio.test/blog/search/?q={search_term_string}" } },
    });
    const blog = ld[1] as { blogPost: { headline: string; url: string }[] };
    expect(blog.blogPost[0]).toMatchObject({ headline: "Post number 22", url: "http://folio.test/blog/2026/01/23/post-number-22/" });
  });

  // Its post is deleted again afterwards: it would shift the lists the other tests expect.
  it("truncates a card's excerpt to 30 words", async () => {
    const words = Array.from({ length: 50 }, (_, i) => `word${i + 1}`);
    const author = (await createUser({ role: "AUTHOR", username: "longwinded" })).user;
    const post = await makePost({ title: "Long excerpt", authorId: author.id, excerpt: words.join(" "), publish: new Date(base + 50 * 86_400_000) });
    try {
      const res = await request(app).get("/blog/author/longwinded/").expect(200);
      const excerpt = /<p class="post-card-excerpt">([^<]*)<\/p>/.exec(res.text)![1]!;
      expect(excerpt).toBe(`${words.slice(0, 30).join(" ")} …`);
    } finally {
      await deletePosts([post.id], null);
    }
  });
});
