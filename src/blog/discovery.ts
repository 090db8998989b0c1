// How readers and robots find posts: search, RSS/Atom feeds, sitemaps and robots.txt.
// Thin handlers: parse the input (zod), call search.ts / feeds.ts / sitemap.ts, answer.
import etag from "etag";
import { Router, type Request, type Response } from "express";
import { z } from "zod";
import { config } from "../config.ts";
import { notFound } from "../web/errors.ts";
import type { PageMeta } from "../web/locals.ts";
import { makePage, numPages, parsePage, type Page } from "../web/pagination.ts";
import { absoluteUrl, route, url } from "../web/urls.ts";
import { buildFeed, type FeedChannel } from "./feeds.ts";
import { getCategoryBySlug } from "./queries.ts";
import { slugParams } from "./schemas.ts";
import { searchText } from "../web/inputs.ts";
import { MAX_QUERY_LENGTH, MAX_TERMS, normalizeQuery, SEARCH_PER_PAGE, searchPosts, SearchTimeoutError, type SearchResult } from "./search.ts";
import { pagesSitemap, postsSitemap, robotsTxt, sitemapIndex } from "./sitemap.ts";
import { PAGE_TAGS } from "../cache/index.ts";
import { showsOnPage } from "../cache/pages.ts";

// ---- search -------------------------------------------------------------------------------------

/**
 * ?q: a string; repeated (?q=a&q=b) the last one wins, like Django's QueryDict.get. Anything the
 * query-string parser hands over (malformed %-escapes arrive as replacement characters) is text.
 */
const searchInput = z.object({
  q: z
    .union([z.string(), z.array(z.string())])
    .optional()
    .transform((v) => (Array.isArray(v) ? (v.at(-1) ?? "") : (v ?? ""))),
});

/** The Page of a search, with links that keep ?q. */
function searchPage(number: number, total: number, q: string): Page {
  const page = makePage(number, total, SEARCH_PER_PAGE, { name: "blog:search" });
  const link = (n: number) => url("blog:search", {}, { q, page: n > 1 ? n : undefined });
  return {
    ...page,
    previousUrl: page.hasPrevious ? link(number - 1) : null,
    nextUrl: page.hasNext ? link(number + 1) : null,
    firstUrl: link(1),
    lastUrl: link(page.numPages),
  };
}

async function search(req: Request, res: Response): Promise<void> {
  const input = searchInput.safeParse(req.query);
  const raw = input.success ? input.data.q : "";
  const q = searchText(raw); // NUL and control characters dropped (src/web/inputs.ts)
  const canonical = absoluteUrl("blog:search");
  const meta: PageMeta = {
    title: "Search",
    description: `Search the posts of ${config.SITE_NAME}.`,
    noindex: true,
    canonical,
    jsonLd: { "@context": "https://schema.org", "@type": "SearchResultsPage", name: `Search ${config.SITE_NAME}`, url: canonical },
  };
  res.locals.meta = meta;
  if (!q) {
    res.render("blog/search.njk", { q: "" });
    return;
  }
  if ([...q].length > MAX_QUERY_LENGTH) {
    // Documented choice: a 400 page that keeps the form, with a message naming the limit.
    meta.title = "Search";
    res.status(400).render("blog/search.njk", {
      q: [...q].slice(0, MAX_QUERY_LENGTH).join(""),
      error: `Search terms can be at most ${MAX_QUERY_LENGTH} characters long. Please shorten your search.`,
    });
    return;
  }
  const requested = parsePage(req.query.page);
  const { query, truncated, hasPositiveTerm } = normalizeQuery(q);
  if (!hasPositiveTerm) {
    res.render("blog/search.njk", { q, error: "Add at least one word to look for (a leading minus leaves a word out)." });
    return;
  }
  const note = truncated ? `Only the first ${MAX_TERMS} different words or phrases (and 8 words per phrase) were used.` : null;
  let result: SearchResult;
  let number = requested === "last" ? 1 : requested;
  try {
    result = await searchPosts(query, number);
    if (requested === "last" && result.total > SEARCH_PER_PAGE) {
      number = numPages(result.total, SEARCH_PER_PAGE);
      result = await searchPosts(query, number);
    }
  } catch (e) {
    if (!(e instanceof SearchTimeoutError)) throw e;
    meta.title = `Search results for “${q}”`;
    res.status(503).render("blog/search.njk", { q, error: "That search took too long. Please try fewer or more specific words." });
    return;
  }
  const page = searchPage(number, result.total, q);
  meta.title = page.number > 1 ? `Search results for “${q}” (page ${page.number} of ${page.numPages})` : `Search results for “${q}”`;
  res.render("blog/search.njk", { q, result, page, note });
}

// ---- feeds --------------------------------------------------------------------------------------

type FeedKind = "rss" | "atom";
const FEED_TYPES: Record<FeedKind, string> = { rss: "application/rss+xml; charset=utf-8", atom: "application/atom+xml; charset=utf-8" };

/** Sends XML with validators (a weak ETag of the body): Express answers 304 to a matching If-None-Match / If-Modified-Since. */
function sendXml(res: Response, type: string, body: string, lastModified?: Date): void {
  res.set("Content-Type", type);
  res.set("ETag", etag(body, { weak: true }));
  res.set("Cache-Control", "public, max-age=300");
  if (lastModified) res.set("Last-Modified", lastModified.toUTCString());
  res.send(body);
}

async function answerFeed(res: Response, kind: FeedKind, channel: FeedChannel, categoryId?: number): Promise<void> {
  const { xml, lastModified } = await buildFeed(kind, channel, categoryId);
  sendXml(res, FEED_TYPES[kind], xml, lastModified);
}

function siteFeed(kind: FeedKind) {
  return async (_req: Request, res: Response): Promise<void> => {
    const channel: FeedChannel = {
      title: config.SITE_NAME,
      description: config.SITE_DESCRIPTION,
      homeUrl: absoluteUrl("blog:post_list"),
      selfUrl: absoluteUrl(kind === "rss" ? "blog:feed_rss" : "blog:feed_atom"),
    };
    showsOnPage(res, PAGE_TAGS.lists);
    await answerFeed(res, kind, channel);
  };
}

function categoryFeed(kind: FeedKind) {
  return async (req: Request, res: Response): Promise<void> => {
    const p = slugParams.safeParse(req.params);
    const category = p.success ? await getCategoryBySlug(p.data.slug) : null;
    if (!category) throw notFound("No such category.");
    const channel: FeedChannel = {
      title: `${config.SITE_NAME}: ${category.name}`,
      description: category.description || `Posts in the category ${category.name}.`,
      homeUrl: absoluteUrl("blog:category_detail", { slug: category.slug }),
      selfUrl: absoluteUrl(kind === "rss" ? "blog:category_feed_rss" : "blog:category_feed_atom", { slug: category.slug }),
    };
    showsOnPage(res, PAGE_TAGS.category(category.id));
    await answerFeed(res, kind, channel, category.id);
  };
}

// ---- sitemaps and robots.txt --------------------------------------------------------------------

const XML_TYPE = "application/xml; charset=utf-8";
const chunkParams = z.object({
  n: z
    .string()
    .regex(/^[1-9]\d{0,5}$/)
    .transform(Number),
});

async function sitemapIndexView(_req: Request, res: Response): Promise<void> {
  sendXml(res, XML_TYPE, await sitemapIndex());
}

async function sitemapPagesView(_req: Request, res: Response): Promise<void> {
  sendXml(res, XML_TYPE, await pagesSitemap());
}

async function sitemapPostsView(req: Request, res: Response): Promise<void> {
  const p = chunkParams.safeParse(req.params);
  const xml = p.success ? await postsSitemap(p.data.n) : null;
  if (!xml) throw notFound("No such sitemap.");
  sendXml(res, XML_TYPE, xml);
}

function robotsView(_req: Request, res: Response): void {
  res.set("Content-Type", "text/plain; charset=utf-8");
  res.set("Cache-Control", "public, max-age=3600");
  res.send(robotsTxt());
}

// ---- routes -------------------------------------------------------------------------------------

export const discoveryRouter = Router();
discoveryRouter.get(route("blog:search", "/blog/search/"), search);
discoveryRouter.get(route("blog:feed_rss", "/blog/feed/rss/"), siteFeed("rss"));
discoveryRouter.get(route("blog:feed_atom", "/blog/feed/atom/"), siteFeed("atom"));
discoveryRouter.get(route("blog:category_feed_rss", "/blog/category/:slug/feed/rss/"), categoryFeed("rss"));
discoveryRouter.get(route("blog:category_feed_atom", "/blog/category/:slug/feed/atom/"), categoryFeed("atom"));
discoveryRouter.get(route("seo:sitemap", "/sitemap.xml"), sitemapIndexView);
discoveryRouter.get(route("seo:sitemap_pages", "/sitemap-pages.xml"), sitemapPagesView);
discoveryRouter.get(route("seo:sitemap_posts", "/sitemap-posts-:n.xml"), sitemapPostsView);
discoveryRouter.get(route("seo:robots", "/robots.txt"), robotsView);
