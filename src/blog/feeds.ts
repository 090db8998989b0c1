// RSS 2.0 and Atom 1.0 feeds of the newest published posts (site-wide or per category), with the
// full sanitised HTML of each post and its summary. Posts come from queries.latestPublished, the
// same query the pages use; links are absolute on SITE_URL, never the request's Host.
import { caches } from "../cache/index.ts";
import { config } from "../config.ts";
import { absolute } from "../web/urls.ts";
import { latestPublished, postUrl, type PostDetail } from "./queries.ts";
import { el, XML_DECLARATION, xmlEscape } from "./xml.ts";

const FEED_SIZE = 20;

export interface FeedChannel {
  title: string;
  description: string;
  /** Absolute URL of the HTML page the feed mirrors. */
  homeUrl: string;
  /** Absolute URL of the feed itself (rel=self). */
  selfUrl: string;
}

export interface Feed {
  xml: string;
  /** Newest change among the items (publish or update), for Last-Modified. */
  lastModified: Date;
}

async function feedPosts(categoryId?: number): Promise<PostDetail[]> {
  return latestPublished(FEED_SIZE, categoryId === undefined ? {} : { categoryId });
}

/** A post's last change as readers see it: a scheduled post "changes" when it appears. */
function changedAt(p: PostDetail): Date {
  return p.updatedAt > p.publish ? p.updatedAt : p.publish;
}

function lastModified(posts: PostDetail[]): Date {
  let t = new Date(0);
  for (const p of posts) if (changedAt(p) > t) t = changedAt(p);
  // An empty feed: whole seconds, so it matches If-Modified-Since round trips.
  return posts.length ? t : new Date(Math.floor(Date.now() / 1000) * 1000);
}

/**
 * A library image's <picture> (src/media/html.ts pictureHtml) as its plain <img>: feed readers show
 * one src best (most ignore <source> and srcset, and rewrite or proxy images); the <img>'s src is the
 * base-format file chosen for a post's column. Its srcset, sizes and loading hints go with it.
 */
function flattenPictures(html: string): string {
  return html.replace(/<picture\b[^>]*>[\s\S]*?(<img\b[^>]*>)[\s\S]*?<\/picture>/g, (_m, img: string) =>
    img.replace(/\s(?:srcset|sizes|loading|decoding|fetchpriority)="[^"]*"/g, ""),
  );
}

/** Root-relative href/src in post HTML made absolute (pictures flattened first), so they work inside feed readers. */
function absolutizeHtml(html: string): string {
  return flattenPictures(html).replace(/\b(href|src)="\/(?!\/)/g, (_m, attr: string) => `${attr}="${config.SITE_URL}/`);
}

function summary(p: PostDetail): string {
  return p.excerpt || p.metaDescription;
}

function renderRss(channel: FeedChannel, posts: PostDetail[]): Feed {
  const updated = lastModified(posts);
  const items = posts.map((p) => {
    const link = absolute(postUrl(p));
    return [
      "<item>",
      el("title", p.title),
      el("link", link),
      el("guid", link, { isPermaLink: "true" }),
      el("pubDate", p.publish.toUTCString()),
      el("dc:creator", p.author.fullName),
      p.category ? el("category", p.category.name) : "",
      ...p.tags.map((t) => el("category", t.name)),
      el("description", summary(p)),
      el("content:encoded", absolutizeHtml(p.bodyHtml)),
      "</item>",
    ].join("");
  });
  const xml =
    XML_DECLARATION +
    '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/">' +
    "<channel>" +
    el("title", channel.title) +
    el("link", channel.homeUrl) +
    el("description", channel.description) +
    el("language", "en") +
    el("lastBuildDate", updated.toUTCString()) +
    el("generator", "Folio") +
    el("atom:link", undefined, { href: channel.selfUrl, rel: "self", type: "application/rss+xml" }) +
    items.join("\n") +
    "</channel></rss>\n";
  return { xml, lastModified: updated };
}

function renderAtom(channel: FeedChannel, posts: PostDetail[]): Feed {
  const updated = lastModified(posts);
  const entries = posts.map((p) => {
    const link = absolute(postUrl(p));
    return [
      "<entry>",
      el("title", p.title, { type: "text" }),
      el("link", undefined, { href: link, rel: "alternate", type: "text/html" }),
      el("id", link),
      el("published", p.publish.toISOString()),
      el("updated", changedAt(p).toISOString()),
      `<author>${el("name", p.author.fullName)}</author>`,
      p.category ? el("category", undefined, { term: p.category.slug, label: p.category.name }) : "",
      ...p.tags.map((t) => el("category", undefined, { term: t.slug, label: t.name })),
      summary(p) ? el("summary", summary(p), { type: "text" }) : "",
      el("content", absolutizeHtml(p.bodyHtml), { type: "html" }),
      "</entry>",
    ].join("");
  });
  const xml =
    XML_DECLARATION +
    '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">' +
    el("title", channel.title) +
    el("subtitle", channel.description) +
    el("link", undefined, { href: channel.homeUrl, rel: "alternate", type: "text/html" }) +
    el("link", undefined, { href: channel.selfUrl, rel: "self", type: "application/atom+xml" }) +
    el("id", channel.selfUrl) +
    el("updated", updated.toISOString()) +
    `<generator>${xmlEscape("Folio")}</generator>` +
    entries.join("\n") +
    "</feed>\n";
  return { xml, lastModified: updated };
}

/**
 * Feed readers poll: a built feed is reused per process (blog.feeds in src/cache/index.ts: 30 s, per
 * kind and category), so polling, and the 304 answers Express derives from the body's ETag, cost no
 * database work. A post write clears it (invalidate("posts")); Cache-Control allows clients 5 minutes.
 */
export function buildFeed(kind: "rss" | "atom", channel: FeedChannel, categoryId?: number): Promise<Feed> {
  return caches.feeds.fetch(`${kind}:${categoryId ?? ""}`, async () => {
    const posts = await feedPosts(categoryId);
    return kind === "rss" ? renderRss(channel, posts) : renderAtom(channel, posts);
  });
}
