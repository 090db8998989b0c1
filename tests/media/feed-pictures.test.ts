// Library pictures in the feeds (src/blog/feeds.ts): a post's <picture> becomes one plain <img> whose src is
// absolute on SITE_URL (no <source>, srcset or sizes left with relative URLs), in RSS and Atom.
import request from "supertest";
import { beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../src/app.ts";
import { config } from "../../src/config.ts";
import { createPost } from "../../src/posts/service.ts";
import { displayUrl } from "../../src/media/index.ts";
import { signedIn, type Signed } from "../support/fixtures.ts";
import { uploaded, useTempDataDir } from "./library-support.ts";

useTempDataDir();
const app = buildApp();
let author: Signed;

beforeAll(async () => {
  author = await signedIn(app, "AUTHOR");
});

describe("feeds", () => {
  it("show a library image as a plain <img> with an absolute src", async () => {
    const m = await uploaded("feed.jpg", author.user.id, "A feed picture", [1600, 1200]);
    const post = await createPost(
      { title: "Pictured in feeds", body: `Before.\n\n![](${displayUrl(m)})\n\nAfter.`, status: "PUBLISHED", authorId: author.user.id, categoryId: null },
      author.user,
    );
    expect(post.bodyHtml).toContain("<picture");
    for (const path of ["/blog/feed/rss/", "/blog/feed/atom/"]) {
      const xml = (await request(app).get(path).expect(200)).text;
      const item = xml.slice(xml.indexOf("Pictured in feeds"));
      const html = item
        .replace(/&lt;/g, "<")
        .replace(/&gt;/g, ">")
        .replace(/&quot;/g, '"')
        .replace(/&amp;/g, "&");
      const img = /<img\b[^>]*>/.exec(html)?.[0] ?? "";
      expect(img).toContain(`src="${config.SITE_URL}/media/`);
      expect(img).toContain('alt="A feed picture"');
      expect(html).not.toMatch(/<picture|<source|srcset=|sizes=/);
      expect(html).not.toMatch(/(?:src|href)="\/(?!\/)/);
    }
  });
});
