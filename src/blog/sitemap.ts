// sitemaps.org sitemaps, built to keep working at 100k+ posts (one sitemap may list 50,000 URLs):
//   /sitemap.xml              a sitemap index naming the files below, with their lastmod;
//   /sitemap-pages.xml        home, blog, category index, categories, tags and authors with published posts;
//   /sitemap-posts-<n>.xml    published posts with id in ((n-1)*SIZE, n*SIZE]: keyset ranges on the primary
//                             key, so a chunk is one index range scan (no OFFSET) and a post stays in the
//                             same chunk for life (stable URLs, cache-friendly). A chunk holds <= SIZE URLs.
// "Published" = status 'PUBLISHED' AND publish <= now(): scheduled posts appear when their time comes.
import { caches } from "../cache/index.ts";
import { readDb } from "../db/replica.ts";
import { absolute, absoluteUrl } from "../web/urls.ts";
import { postUrl } from "./queries.ts";
import { el, XML_DECLARATION } from "./xml.ts";
import { LIVE_SQL } from "../posts/visibility.ts";

const POSTS_PER_SITEMAP = 10_000;
/** The sitemaps.org limit per file; the pages sitemap lists at most this many URLs. */
const MAX_URLS = 50_000;
const NS = "http://www.sitemaps.org/schemas/sitemap/0.9";
const PUBLISHED = LIVE_SQL; // src/posts/visibility.ts
/** A post's last visible change: a scheduled post "changes" when it appears. */
const CHANGED = `GREATEST(p."updatedAt", p.publish)`;

interface UrlEntry {
  loc: string;
  lastmod?: Date | null;
}

const lastmod = (d?: Date | null) => (d ? el("lastmod", d.toISOString()) : "");

function urlset(entries: UrlEntry[]): string {
  const parts = [XML_DECLARATION, `<urlset xmlns="${NS}">\n`];
  for (const e of entries) parts.push(`<url>${el("loc", e.loc)}${lastmod(e.lastmod)}</url>\n`);
  parts.push("</urlset>\n");
  return parts.join("");
}

/** The post chunks that hold at least one published post, with their newest change. */
async function postChunks(): Promise<{ n: number; lastmod: Date }[]> {
  const { rows } = await readDb().pool.query<{ n: number; lastmod: Date }>(
    `SELECT ((p.id - 1) / $1 + 1)::int AS n, max(${CHANGED}) AS lastmod
       FROM "Post" p WHERE ${PUBLISHED} GROUP BY 1 ORDER BY 1`,
    [POSTS_PER_SITEMAP],
  );
  return rows;
}

/**
 * The index reads every published post's dates (one sequential scan: 60-200 ms at 100k posts on
 * this machine), so it is built at most once a minute per process (blog.sitemap-index in
 * src/cache/index.ts), and concurrent requests share the build in flight. Posts sitemaps are single
 * index-range scans and are not cached.
 */
export function sitemapIndex(): Promise<string> {
  return caches.sitemapIndex.fetch("index", buildSitemapIndex);
}

async function buildSitemapIndex(): Promise<string> {
  const chunks = await postChunks();
  const newest = chunks.reduce<Date | null>((m, c) => (!m || c.lastmod > m ? c.lastmod : m), null);
  const entries: UrlEntry[] = [{ loc: absoluteUrl("seo:sitemap_pages"), lastmod: newest }];
  for (const c of chunks) entries.push({ loc: absoluteUrl("seo:sitemap_posts", { n: c.n }), lastmod: c.lastmod });
  const parts = [XML_DECLARATION, `<sitemapindex xmlns="${NS}">\n`];
  for (const e of entries) parts.push(`<sitemap>${el("loc", e.loc)}${lastmod(e.lastmod)}</sitemap>\n`);
  parts.push("</sitemapindex>\n");
  return parts.join("");
}

/** Chunk n of the posts sitemap, or null when it holds no published post (the route answers 404). */
export async function postsSitemap(n: number): Promise<string | null> {
  const { rows } = await readDb().pool.query<{ slug: string; publish: Date; publishDate: string | null; lastmod: Date }>(
    `SELECT p.slug, p.publish, to_char(p."publishDate", 'YYYY-MM-DD') AS "publishDate", ${CHANGED} AS lastmod
       FROM "Post" p
      WHERE p.id > $1 AND p.id <= $2 AND ${PUBLISHED}
      ORDER BY p.id`,
    [(n - 1) * POSTS_PER_SITEMAP, n * POSTS_PER_SITEMAP],
  );
  if (rows.length === 0) return null;
  return urlset(rows.map((r) => ({ loc: absolute(postUrl(r)), lastmod: r.lastmod })));
}

/** Lists and archives: only categories, tags and authors that have a published post. */
export async function pagesSitemap(): Promise<string> {
  const [latest, categories, tags, authors] = await Promise.all([
    readDb().pool.query<{ lastmod: Date | null }>(`SELECT max(p.publish) AS lastmod FROM "Post" p WHERE ${PUBLISHED}`),
    readDb().pool.query<{ slug: string; lastmod: Date }>(
      `SELECT c.slug, (SELECT max(p.publish) FROM "Post" p WHERE p."categoryId" = c.id AND ${PUBLISHED}) AS lastmod
         FROM "Category" c ORDER BY c.slug`,
    ),
    readDb().pool.query<{ slug: string }>(
      `SELECT t.slug FROM "Tag" t
        WHERE EXISTS (SELECT 1 FROM "PostTag" pt JOIN "Post" p ON p.id = pt."postId" WHERE pt."tagId" = t.id AND ${PUBLISHED})
        ORDER BY t.slug LIMIT $1`,
      [MAX_URLS / 2],
    ),
    readDb().pool.query<{ username: string }>(
      `SELECT u.username FROM "User" u
        WHERE EXISTS (SELECT 1 FROM "Post" p WHERE p."authorId" = u.id AND ${PUBLISHED})
        ORDER BY u.username LIMIT $1`,
      [MAX_URLS / 4],
    ),
  ]);
  const newest = latest.rows[0]?.lastmod ?? null;
  const entries: UrlEntry[] = [
    { loc: absoluteUrl("blog:home"), lastmod: newest },
    { loc: absoluteUrl("blog:post_list"), lastmod: newest },
    { loc: absoluteUrl("blog:category_list"), lastmod: newest },
  ];
  for (const c of categories.rows) if (c.lastmod) entries.push({ loc: absoluteUrl("blog:category_detail", { slug: c.slug }), lastmod: c.lastmod });
  for (const t of tags.rows) entries.push({ loc: absoluteUrl("blog:tag_detail", { slug: t.slug }) });
  for (const a of authors.rows) entries.push({ loc: absoluteUrl("blog:author_detail", { username: a.username }) });
  return urlset(entries.slice(0, MAX_URLS));
}

export function robotsTxt(): string {
  return ["User-agent: *", "Allow: /", "Disallow: /admin/", "Disallow: /accounts/", "", `Sitemap: ${absoluteUrl("seo:sitemap")}`, ""].join("\n");
}
