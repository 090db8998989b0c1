import { beforeAll, describe, expect, it } from "vitest";
import request from "supertest";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { buildApp } from "../../src/app.ts";
import { prisma } from "../../src/db/index.ts";
import { createUser, hoursAgo, inHours, makeCategory, makePost, makeTag } from "../support/fixtures.ts";
import { invalidate } from "../../src/cache/index.ts";

const app = buildApp();
const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@",
  isArray: (name, jpath) => ["item", "entry", "category"].includes(name) || (name === "link" && String(jpath).startsWith("feed")),
});
const SITE = "http://folio.test";

/** Parses a feed after checking it is well-formed XML. */
function parse(xml: string) {
  expect(XMLValidator.validate(xml)).toBe(true);
  return parser.parse(xml);
}

beforeAll(async () => {
  const author = (await createUser({ role: "AUTHOR", username: "feeder", firstName: "Ada", lastName: "Lovelace" })).user;
  const python = await makeCategory("Python & Django", "python");
  const other = await makeCategory("Other", "other");
  await makeCategory("Empty", "empty");
  const tag = await makeTag("orm", "orm");
  // 25 published posts, hour i ago: newest first is post 0. Even ones in "python".
  for (let i = 0; i < 25; i++) {
    await makePost({
      title: `Feed post ${i}`,
      excerpt: `Summary of post ${i}`,
      body: `Body of **post ${i}** with a [relative link](/blog/) and <script>alert(${i})</script>.`,
      authorId: author.id,
      categoryId: i % 2 === 0 ? python.id : other.id,
      tagIds: i === 0 ? [tag.id] : [],
      publish: hoursAgo(i + 1),
    });
  }
  // Special characters in a title, odd control characters in the body.
  await makePost({
    title: `Ampersands & <angles> "quotes" ]]> 'apostrophes'`,
    body: "Control \u0001\u0008 chars \uFFFE here",
    excerpt: "x < y & z",
    authorId: author.id,
    categoryId: python.id,
    publish: hoursAgo(0.5),
  });
  // Never in feeds.
  await makePost({ title: "Draft in feed", status: "DRAFT", authorId: author.id, categoryId: python.id, publish: hoursAgo(0.1) });
  await makePost({ title: "Scheduled in feed", authorId: author.id, categoryId: python.id, publish: inHours(2) });
});

describe("RSS 2.0 feed", () => {
  it("serves the 20 newest published posts, newest first, as valid RSS with absolute links", async () => {
    const res = await request(app).get("/blog/feed/rss/").expect(200);
    expect(res.headers["content-type"]).toBe("application/rss+xml; charset=utf-8");
    const doc = parse(res.text);
    expect(doc.rss["@version"]).toBe("2.0");
    const ch = doc.rss.channel;
    expect(ch.title).toBe("Folio");
    expect(ch.link).toBe(`${SITE}/blog/`);
    expect(ch["atom:link"]["@href"]).toBe(`${SITE}/blog/feed/rss/`);
    expect(ch["atom:link"]["@rel"]).toBe("self");
    const items = ch.item;
    expect(items).toHaveLength(20);
    expect(items[0].title).toBe(`Ampersands & <angles> "quotes" ]]> 'apostrophes'`);
    expect(items.slice(1).map((i: { title: string }) => i.title)).toEqual(Array.from({ length: 19 }, (_, i) => `Feed post ${i}`));
    for (const item of items) {
      expect(item.link).toMatch(/^http:\/\/folio\.test\/blog\/\d{4}\/\d{2}\/\d{2}\/[a-z0-9-]+\/$/);
      expect(item.guid["#text"]).toBe(item.link);
      // RFC 822 dates
      expect(item.pubDate).toMatch(/^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
      expect(item["dc:creator"]).toBe("Ada Lovelace");
    }
    const dates = items.map((i: { pubDate: string }) => Date.parse(i.pubDate));
    expect([...dates].sort((a, b) => b - a)).toEqual(dates);
    expect(res.text).not.toContain("Draft in feed");
    expect(res.text).not.toContain("Scheduled in feed");
  });

  it("carries the full sanitised HTML (links made absolute) and the summary", async () => {
    const doc = parse((await request(app).get("/blog/feed/rss/").expect(200)).text);
    const first = doc.rss.channel.item.find((i: { title: string }) => i.title === "Feed post 0");
    expect(first.description).toBe("Summary of post 0");
    expect(first["content:encoded"]).toContain("<strong>post 0</strong>");
    expect(first["content:encoded"]).toContain(`href="${SITE}/blog/"`);
    expect(first["content:encoded"]).not.toContain("<script");
    expect(first.category).toEqual(["Python & Django", "orm"]);
    // Control characters that XML cannot carry are dropped, not sent.
    expect(doc.rss.channel.item[0]["content:encoded"]).toContain("Control  chars  here");
  });

  it("answers 304 to a matching If-None-Match and sets Last-Modified", async () => {
    const res = await request(app).get("/blog/feed/rss/").expect(200);
    expect(res.headers.etag).toBeTruthy();
    expect(new Date(res.headers["last-modified"]!).getTime()).toBeGreaterThan(Date.now() - 3_600_000);
    await request(app).get("/blog/feed/rss/").set("If-None-Match", res.headers.etag!).expect(304);
    await request(app).get("/blog/feed/rss/").set("If-Modified-Since", res.headers["last-modified"]!).expect(304);
    await request(app).get("/blog/feed/rss/").set("If-None-Match", '"something-else"').expect(200);
  });
});

describe("Atom feed", () => {
  it("serves valid Atom with RFC 3339 dates, self link and full content", async () => {
    const res = await request(app).get("/blog/feed/atom/").expect(200);
    expect(res.headers["content-type"]).toBe("application/atom+xml; charset=utf-8");
    const feed = parse(res.text).feed;
    expect(feed["@xmlns"]).toBe("http://www.w3.org/2005/Atom");
    expect(feed.link.find((l: Record<string, string>) => l["@rel"] === "self")["@href"]).toBe(`${SITE}/blog/feed/atom/`);
    expect(feed.updated).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);
    expect(feed.entry).toHaveLength(20);
    const e = feed.entry[1];
    expect(e.title["#text"]).toBe("Feed post 0");
    expect(e.id).toMatch(/^http:\/\/folio\.test\/blog\/\d{4}\/\d{2}\/\d{2}\/feed-post-0\/$/);
    expect(e.link[0]["@href"]).toBe(e.id);
    expect(e.published).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(e.author.name).toBe("Ada Lovelace");
    expect(e.summary["#text"]).toBe("Summary of post 0");
    expect(e.content["@type"]).toBe("html");
    expect(e.content["#text"]).toContain("<strong>post 0</strong>");
    expect(res.text).not.toContain("Scheduled in feed");
  });
});

describe("per-category feeds", () => {
  it("lists only the category's published posts", async () => {
    const rss = parse((await request(app).get("/blog/category/python/feed/rss/").expect(200)).text);
    expect(rss.rss.channel.title).toBe("Folio: Python & Django");
    expect(rss.rss.channel.link).toBe(`${SITE}/blog/category/python/`);
    expect(rss.rss.channel["atom:link"]["@href"]).toBe(`${SITE}/blog/category/python/feed/rss/`);
    const titles = rss.rss.channel.item.map((i: { title: string }) => i.title);
    // 13 even posts + the special one; drafts and scheduled excluded
    expect(titles).toHaveLength(14);
    expect(titles.filter((t: string) => /Feed post \d*[13579]$/.test(t))).toEqual([]);
    const atom = parse((await request(app).get("/blog/category/python/feed/atom/").expect(200)).text);
    expect(atom.feed.entry).toHaveLength(14);
    expect(atom.feed.link.find((l: Record<string, string>) => l["@rel"] === "self")["@href"]).toBe(`${SITE}/blog/category/python/feed/atom/`);
  });

  it("is an empty but valid feed for a category without posts", async () => {
    const doc = parse((await request(app).get("/blog/category/empty/feed/atom/").expect(200)).text);
    expect(doc.feed.entry).toBeUndefined();
    expect(doc.feed.updated).toBeTruthy();
  });

  it("answers 404 for an unknown or hostile category", async () => {
    for (const slug of ["nope", "%E0%A4%A", "x".repeat(300), "' OR 1=1 --", "%00"]) {
      const res = await request(app).get(`/blog/category/${slug}/feed/rss/`);
      expect([400, 404], slug).toContain(res.status);
    }
    await request(app).get("/blog/category/nope/feed/atom/").expect(404);
  });

  it("shows a scheduled post once its time has come", async () => {
    // Its own category and post (older than the 20 newest): the feeds the other tests read stay as beforeAll made them.
    const author = (await createUser({ role: "AUTHOR" })).user;
    const soon = await makeCategory("Due soon", "due-soon");
    const p = await makePost({ title: "Due in feed", authorId: author.id, categoryId: soon.id, status: "SCHEDULED" });
    const FEED = "/blog/category/due-soon/feed/rss/";
    expect(parse((await request(app).get(FEED).expect(200)).text).rss.channel.item ?? []).toEqual([]);
    // Its time comes (the database clock, not a wait).
    await prisma.post.update({ where: { id: p.id }, data: { publish: hoursAgo(48) } });
    // Built feeds are reused for FEED_TTL_MS; the post appears once that has passed (here: cleared).
    expect(parse((await request(app).get(FEED).expect(200)).text).rss.channel.item ?? []).toEqual([]);
    await invalidate();
    const doc = parse((await request(app).get(FEED).expect(200)).text);
    expect(doc.rss.channel.item.map((i: { title: string }) => i.title)).toEqual(["Due in feed"]);
  });
});

describe("feed discovery links", () => {
  it("advertises the RSS and Atom feeds in the page head", async () => {
    const res = await request(app).get("/blog/").expect(200);
    expect(res.text).toMatch(/<link rel="alternate" type="application\/rss\+xml"[^>]*href="http:\/\/folio\.test\/blog\/feed\/rss\/"/);
    expect(res.text).toMatch(/<link rel="alternate" type="application\/atom\+xml"[^>]*href="http:\/\/folio\.test\/blog\/feed\/atom\/"/);
  });
});
