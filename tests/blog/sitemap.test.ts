import { beforeAll, describe, expect, it } from "vitest";
import request from "supertest";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { buildApp } from "../../src/app.ts";
import { config } from "../../src/config.ts";
import { prisma } from "../../src/db/index.ts";
import { postUrl } from "../../src/blog/queries.ts";
import { createUser, hoursAgo, inHours, makeCategory, makePost, makeTag } from "../support/fixtures.ts";
import { invalidate } from "../../src/cache/index.ts";

const app = buildApp();
// Writes here go around the save paths (straight SQL, or a clock moved) and the checks read the layers
// under the full-page cache (src/cache/pages.ts, tested in tests/cache/page-cache.test.ts): pages uncached.
(config as { PAGE_CACHE: boolean }).PAGE_CACHE = false;
/** Posts are listed in sitemaps of 10,000 ids each: ids 1-10000 in /sitemap-posts-1.xml, and so on. */
const POSTS_PER_SITEMAP = 10_000;
const SITE = "http://folio.test";
const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "@", isArray: (name) => name === "url" || name === "sitemap" });

function parse(xml: string) {
  expect(XMLValidator.validate(xml)).toBe(true);
  return parser.parse(xml);
}

const locs = (doc: { urlset: { url?: { loc: string }[] } }) => (doc.urlset.url ?? []).map((u) => u.loc);

const published: { slug: string; publish: Date }[] = [];
let scheduledId = 0;

beforeAll(async () => {
  const author = (await createUser({ role: "AUTHOR", username: "mapper", firstName: "Ada", lastName: "Lovelace" })).user;
  const lurker = (await createUser({ role: "AUTHOR", username: "draftonly", firstName: "Ada", lastName: "Lovelace" })).user;
  const live = await makeCategory("Live", "live");
  const hidden = await makeCategory("Only drafts", "only-drafts");
  const tag = await makeTag("Visible tag", "visible-tag");
  const hiddenTag = await makeTag("Hidden tag", "hidden-tag");
  for (let i = 0; i < 5; i++)
    published.push(
      await makePost({ title: `Mapped ${i}`, authorId: author.id, categoryId: live.id, tagIds: [tag.id], publish: hoursAgo(i + 1), updatedAt: hoursAgo(0.5) }),
    );
  await makePost({ title: "Mapped draft", status: "DRAFT", authorId: lurker.id, categoryId: hidden.id, tagIds: [hiddenTag.id] });
  scheduledId = (await makePost({ title: "Mapped scheduled", authorId: lurker.id, categoryId: hidden.id, tagIds: [hiddenTag.id], publish: inHours(3) })).id;
  // A post whose id falls in the second chunk (keyset ranges on the id), and a draft in the third.
  const far = await prisma.post.create({
    data: { id: POSTS_PER_SITEMAP + 5, title: "Far away", slug: "far-away", authorId: author.id, status: "PUBLISHED", publish: hoursAgo(10) },
  });
  published.push(far);
  await prisma.post.create({ data: { id: 2 * POSTS_PER_SITEMAP + 7, title: "Far draft", slug: "far-draft", authorId: author.id, status: "DRAFT" } });
});

describe("robots.txt", () => {
  it("allows all, disallows /admin/ and /accounts/, and names the absolute sitemap", async () => {
    const res = await request(app).get("/robots.txt").expect(200);
    expect(res.headers["content-type"]).toBe("text/plain; charset=utf-8");
    const lines = res.text.split("\n");
    expect(lines).toContain("User-agent: *");
    expect(lines).toContain("Allow: /");
    expect(lines).toContain("Disallow: /admin/");
    expect(lines).toContain("Disallow: /accounts/");
    expect(lines).toContain(`Sitemap: ${SITE}/sitemap.xml`);
  });
});

describe("sitemap index", () => {
  it("points at the pages sitemap and at every post chunk that has a published post", async () => {
    const res = await request(app).get("/sitemap.xml").expect(200);
    expect(res.headers["content-type"]).toBe("application/xml; charset=utf-8");
    const doc = parse(res.text);
    expect(doc.sitemapindex["@xmlns"]).toBe("http://www.sitemaps.org/schemas/sitemap/0.9");
    const entries = doc.sitemapindex.sitemap as { loc: string; lastmod?: string }[];
    expect(entries.map((s) => s.loc)).toEqual([`${SITE}/sitemap-pages.xml`, `${SITE}/sitemap-posts-1.xml`, `${SITE}/sitemap-posts-2.xml`]);
    for (const e of entries) expect(e.lastmod).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  });

  it("is cached briefly, and rebuilt after invalidation with new chunks", async () => {
    const author = await prisma.user.findUniqueOrThrow({ where: { username: "mapper" } });
    const before = (await request(app).get("/sitemap.xml").expect(200)).text;
    await prisma.post.create({
      data: { id: 3 * POSTS_PER_SITEMAP + 1, title: "Fourth chunk", slug: "fourth-chunk", authorId: author.id, status: "PUBLISHED", publish: hoursAgo(1) },
    });
    expect((await request(app).get("/sitemap.xml").expect(200)).text).toBe(before);
    await invalidate();
    const after = (await request(app).get("/sitemap.xml").expect(200)).text;
    expect(after).toContain(`${SITE}/sitemap-posts-4.xml`);
    expect(after).not.toContain("sitemap-posts-3.xml");
    await prisma.post.delete({ where: { id: 3 * POSTS_PER_SITEMAP + 1 } });
    await invalidate();
  });
});

describe("posts sitemaps", () => {
  it("list each published post once, in its id chunk, with lastmod and absolute URLs", async () => {
    const one = locs(parse((await request(app).get("/sitemap-posts-1.xml").expect(200)).text));
    const two = locs(parse((await request(app).get("/sitemap-posts-2.xml").expect(200)).text));
    expect(two).toEqual([SITE + postUrl(published.at(-1)!)]);
    expect(two[0]).toMatch(/\/far-away\/$/);
    expect([...one, ...two].sort()).toEqual(published.map((p) => SITE + postUrl(p)).sort());
    const doc = parse((await request(app).get("/sitemap-posts-1.xml")).text);
    for (const u of doc.urlset.url) expect(new Date(u.lastmod).getTime()).toBeGreaterThan(Date.now() - 3 * 3_600_000);
    const all = [...one, ...two].join(" ");
    expect(all).not.toContain("draft");
    expect(all).not.toContain("scheduled");
  });

  it("answers 404 for an empty chunk and for malformed chunk numbers", async () => {
    await request(app).get("/sitemap-posts-3.xml").expect(404); // only a draft there
    for (const n of ["0", "-1", "abc", "1.5", "01", "9999999", "99999999999999999999", "%00", "1%20OR%201=1"]) {
      const res = await request(app).get(`/sitemap-posts-${n}.xml`);
      expect([400, 404], n).toContain(res.status);
    }
  });

  it("includes a scheduled post once its time has come", async () => {
    const before = locs(parse((await request(app).get("/sitemap-posts-1.xml")).text));
    expect(before.some((l) => l.includes("mapped-scheduled"))).toBe(false);
    await prisma.post.update({ where: { id: scheduledId }, data: { publish: hoursAgo(0.01) } });
    const after = locs(parse((await request(app).get("/sitemap-posts-1.xml")).text));
    expect(after.some((l) => l.includes("mapped-scheduled"))).toBe(true);
    await prisma.post.update({ where: { id: scheduledId }, data: { publish: inHours(3) } });
  });
});

describe("pages sitemap", () => {
  it("lists home, blog, categories and the archives that have published posts", async () => {
    const res = await request(app).get("/sitemap-pages.xml").expect(200);
    const l = locs(parse(res.text));
    expect(l).toEqual(
      expect.arrayContaining([
        `${SITE}/`,
        `${SITE}/blog/`,
        `${SITE}/blog/categories/`,
        `${SITE}/blog/category/live/`,
        `${SITE}/blog/tag/visible-tag/`,
        `${SITE}/blog/author/mapper/`,
      ]),
    );
    expect(l).not.toContain(`${SITE}/blog/category/only-drafts/`);
    expect(l).not.toContain(`${SITE}/blog/tag/hidden-tag/`);
    expect(l).not.toContain(`${SITE}/blog/author/draftonly/`);
    expect(new Set(l).size).toBe(l.length);
    // Every listed page exists.
    for (const loc of l) await request(app).get(loc.slice(SITE.length)).expect(200);
  });
});
