// The reader's pages with images (issue 11): a post's featured image on its card and page (a <picture>
// with srcset, width and height), og:image / Twitter / JSON-LD with its absolute URL, the meta title as
// the page's <title>, reading time, the author's avatar and bio on the post page and the author's
// archive, initials for an author without an avatar, and posts without a featured image still fine.
// Images are real: sharp makes them, saveUpload stores them (renditions) in a throwaway DATA_DIR.
import { beforeAll, describe, expect, it } from "vitest";
import request from "supertest";
import { buildApp } from "../../src/app.ts";
import { config } from "../../src/config.ts";
import { prisma } from "../../src/db/index.ts";
import { invalidate, PAGE_TAGS } from "../../src/cache/index.ts";
import { createPost } from "../../src/posts/service.ts";
import { mediaUrl, socialImageUrl, type MediaItem } from "../../src/media/index.ts";
import { createUser, makeCategory, makePost } from "../support/fixtures.ts";
import { jsonLd, metaContent, pathFor } from "../support/html.ts";
import { uploaded, useTempDataDir } from "../media/library-support.ts";

useTempDataDir();
const app = buildApp();
(config as { PAGE_CACHE: boolean }).PAGE_CACHE = false; // the pages' own rendering (the page cache has its tests)

let cover: MediaItem;
let face: MediaItem;
let withImage = "";
let plain = "";
const WORDS = 920; // 920 / 230 words a minute: "4 min read"

beforeAll(async () => {
  const writer = (await createUser({ role: "AUTHOR", username: "pictured", firstName: "Pia", lastName: "Pictured" })).user;
  const other = (await createUser({ role: "AUTHOR", username: "faceless", firstName: "Fay", lastName: "Less" })).user;
  cover = await uploaded("cover.jpg", writer.id, "A lighthouse at dusk", [1600, 900]);
  face = await uploaded("face.jpg", writer.id, "Pia's face", [400, 400]);
  await prisma.user.update({ where: { id: writer.id }, data: { avatarId: face.id, bio: "Pia writes about <light> & lenses." } });
  const category = await makeCategory("Photography", "photography");
  const body = `${Array.from({ length: WORDS }, (_, i) => `word${i}`).join(" ")}\n\n\`\`\`js\nconst x = 1;\n\`\`\``;
  const post = await createPost(
    {
      title: "The visible title",
      metaTitle: "Search title for the lighthouse",
      body,
      excerpt: "A post with a picture.",
      featuredImageId: cover.id,
      status: "PUBLISHED",
      publish: new Date("2026-05-04T10:00:00Z"),
      authorId: writer.id,
      categoryId: category.id,
      tagIds: [],
    },
    { id: writer.id },
  );
  withImage = pathFor(post.publish!, post.slug);
  const bare = await makePost({ title: "No picture here", authorId: other.id, publish: new Date("2026-05-03T10:00:00Z") });
  plain = pathFor(bare.publish!, bare.slug);
  await invalidate("posts", PAGE_TAGS.all);
});

/** The <picture> whose <img> has `alt` (the first one). */
function pictureWith(html: string, alt: string): string {
  const m = new RegExp(`<picture>(?:(?!</picture>).)*?alt="${alt.replace(/'/g, "&#39;")}"(?:(?!</picture>).)*?</picture>`, "s").exec(html);
  expect(m, `a <picture> with alt "${alt}"`).not.toBeNull();
  return m![0];
}

describe("cards", () => {
  it("show the featured image as a responsive <picture> with width, height and srcset; the first card's is eager, the rest lazy", async () => {
    const html = (await request(app).get("/blog/").expect(200)).text;
    const pic = pictureWith(html, "A lighthouse at dusk");
    expect(pic).toContain(`width="${cover.width}" height="${cover.height}"`);
    expect(pic).toMatch(/<img [^>]*srcset="[^"]*\d+w[^"]*"/);
    expect(pic).toMatch(/<source type="image\/(avif|webp)" srcset="/);
    expect(pic).toMatch(/sizes="[^"]+"/);
    // The newest post is the first card (the lead): its image is the page's main image, loaded at once.
    expect(pic).toContain('loading="eager"');
    expect(html).toContain('class="post-card post-card--lead has-image"');
    // A card offers the files a card needs (up to 1280 px for the lead), not the 1600 px original.
    expect(pic).toContain(" 1280w");
    expect(pic).not.toContain(" 1600w");
    // Reading time from the stored word count (no body read on a list).
    expect(html).toContain("4 min read");
    // The post without an image: a card all the same, without a picture.
    const card = /<article class="post-card[^"]*">(?:(?!<\/article>)[\s\S])*?No picture here[\s\S]*?<\/article>/.exec(html)![0];
    expect(card).not.toContain("<picture");
    expect(card).toContain("1 min read");
  });

  it("lazy-load images below the first card", async () => {
    // A second image on an older post: not the first card, so lazy.
    const second = await uploaded("second.jpg", null, "Second picture", [1200, 800]);
    await prisma.post.updateMany({ where: { title: "No picture here" }, data: { featuredImageId: second.id } });
    await invalidate("posts", PAGE_TAGS.all);
    const html = (await request(app).get("/blog/").expect(200)).text;
    expect(pictureWith(html, "Second picture")).toContain('loading="lazy"');
    expect(pictureWith(html, "A lighthouse at dusk")).toContain('loading="eager"');
    await prisma.post.updateMany({ where: { title: "No picture here" }, data: { featuredImageId: null } });
    await invalidate("posts", PAGE_TAGS.all);
    expect((await request(app).get("/blog/").expect(200)).text).not.toContain("Second picture"); // the card memo saw the change
  });

  it("show a changed alt text at once (the card memo compares the image)", async () => {
    await prisma.media.update({ where: { id: cover.id }, data: { alt: "A lighthouse at night", version: { increment: 1 } } });
    const html = (await request(app).get("/blog/").expect(200)).text;
    expect(html).toContain('alt="A lighthouse at night"');
    expect(html).not.toContain('alt="A lighthouse at dusk"');
    await prisma.media.update({ where: { id: cover.id }, data: { alt: "A lighthouse at dusk", version: { increment: 1 } } });
  });
});

describe("the post page", () => {
  it("shows the featured image large under the title, eager with fetchpriority high", async () => {
    const html = (await request(app).get(withImage).expect(200)).text;
    expect(html.indexOf('<h1 class="post-title">The visible title</h1>')).toBeGreaterThan(0);
    const figure = /<figure class="post-image">([\s\S]*?)<\/figure>/.exec(html)?.[1] ?? "";
    expect(html.indexOf('<figure class="post-image">')).toBeGreaterThan(html.indexOf('<h1 class="post-title">'));
    expect(figure).toContain('alt="A lighthouse at dusk"');
    expect(figure).toContain(`width="${cover.width}" height="${cover.height}"`);
    expect(figure).toContain('fetchpriority="high"');
    expect(figure).toMatch(/srcset="[^"]*\d+w/);
    expect(figure).toContain(" 1600w"); // the large image: every width
    expect(html).toContain("4 min read");
  });

  it("uses the meta title as <title> and og:title; the h1 stays the title", async () => {
    const html = (await request(app).get(withImage).expect(200)).text;
    expect(/<title>([^<]*)<\/title>/.exec(html)?.[1]).toBe("Search title for the lighthouse");
    expect(metaContent(html, "property", "og:title")).toEqual(["Search title for the lighthouse"]);
    expect(html).toContain('<h1 class="post-title">The visible title</h1>');
    // Without a meta title: the title and the site's name.
    const other = (await request(app).get(plain).expect(200)).text;
    expect(/<title>([^<]*)<\/title>/.exec(other)?.[1]).toBe(`No picture here · ${config.SITE_NAME}`);
  });

  it("names the image for link previews: og:image, its size and alt, Twitter's large card, JSON-LD image (absolute URLs)", async () => {
    const html = (await request(app).get(withImage).expect(200)).text;
    const url = socialImageUrl(cover, config.SITE_URL);
    expect(url.startsWith(`${config.SITE_URL}/media/`)).toBe(true);
    expect(metaContent(html, "property", "og:image")).toEqual([url]);
    const rendition = cover.renditions.find((r) => url.endsWith(mediaUrl(r.key)));
    expect(rendition).toBeDefined();
    expect(metaContent(html, "property", "og:image:width")).toEqual([String(rendition!.width)]);
    expect(metaContent(html, "property", "og:image:height")).toEqual([String(rendition!.height)]);
    expect(metaContent(html, "property", "og:image:alt")).toEqual(["A lighthouse at dusk"]);
    expect(metaContent(html, "name", "twitter:card")).toEqual(["summary_large_image"]);
    expect(metaContent(html, "name", "twitter:image")).toEqual([url]);
    const posting = jsonLd(html).find((j) => (j as { "@type": string })["@type"] === "BlogPosting") as { image?: { url: string; width: number } };
    expect(posting.image).toEqual({ "@type": "ImageObject", url, width: rendition!.width, height: rendition!.height });
  });

  it("ends with the author box: avatar, bio (escaped) and a link to the author's archive", async () => {
    const html = (await request(app).get(withImage).expect(200)).text;
    const box = /<section class="author-box"[\s\S]*?<\/section>/.exec(html)?.[0] ?? "";
    expect(box).toContain("Pia writes about &lt;light&gt; &amp; lenses.");
    expect(box).toContain('href="/blog/author/pictured/"');
    expect(box).toMatch(/<picture>[\s\S]*?<img [^>]*class="avatar-img"[^>]*>/);
    expect(face.renditions.some((r) => box.includes(mediaUrl(r.key)))).toBe(true); // the avatar's own files
  });

  it("is fine without a featured image: no figure, no og:image, Twitter's summary card, initials for an author without avatar", async () => {
    const html = (await request(app).get(plain).expect(200)).text;
    expect(html).not.toContain('<figure class="post-image">');
    expect(metaContent(html, "property", "og:image")).toEqual([]);
    expect(metaContent(html, "name", "twitter:card")).toEqual(["summary"]);
    const posting = jsonLd(html).find((j) => (j as { "@type": string })["@type"] === "BlogPosting") as Record<string, unknown>;
    expect(posting.image).toBeUndefined();
    expect(html).toMatch(/<span class="avatar avatar--72 avatar--c\d" aria-hidden="true">FL<\/span>/);
    expect(html).toContain("1 min read");
  });
});

describe("the author's archive", () => {
  it("starts with the avatar, name, bio and number of posts", async () => {
    const html = (await request(app).get("/blog/author/pictured/").expect(200)).text;
    const header = /<header class="page-header author-header">[\s\S]*?<\/header>/.exec(html)?.[0] ?? "";
    expect(header).toContain("<h1>Pia Pictured</h1>");
    expect(header).toContain("Pia writes about &lt;light&gt; &amp; lenses.");
    expect(header).toContain("1 post</p>");
    expect(header).toMatch(/<span class="avatar avatar--96"><picture>/);
  });

  it("shows initials when the author has no avatar", async () => {
    const html = (await request(app).get("/blog/author/faceless/").expect(200)).text;
    expect(html).toMatch(/<span class="avatar avatar--96 avatar--c\d" aria-hidden="true">FL<\/span>/);
    expect(html).toContain("1 post</p>");
  });
});
