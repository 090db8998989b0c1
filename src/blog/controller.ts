// The reader's pages: thin handlers that parse the URL (zod), call src/blog/queries.ts and render.
// Each page sets res.locals.meta (title, description, canonical, Open Graph, JSON-LD) for base.njk.
import type { Request, Response } from "express";
import { config } from "../config.ts";
import { HttpError, notFound } from "../web/errors.ts";
import type { PageMeta } from "../web/locals.ts";
import { absolutePageUrl, makePage, numPages, parsePage, type PageRoute } from "../web/pagination.ts";
import { extendTemplates, truncateWords } from "../web/templates.ts";
import { installMacroGlobals } from "../web/macros.ts";
import { absolute, absoluteUrl } from "../web/urls.ts";
import * as q from "./queries.ts";
import { installPostCardMemo } from "./cards.ts";
import { installPictureGlobals } from "./pictures.ts";
import { mediaUrl, socialImageUrl, type MediaItem } from "../media/index.ts";
import { authorParams, postDetailParams, slugParams } from "./schemas.ts";
import { PAGE_TAGS } from "../cache/index.ts";
import { showsOnPage } from "../cache/pages.ts";
import { movedPostPath } from "../posts/timezone.ts";

// The blog's template globals, in every template environment (src/web/templates.ts): post_url(post)
// -> /blog/YYYY/MM/DD/slug/; post_card_memo(post, heading) and post_cards(posts, heading); and the
// macros of the reader's partials, callable without an import (src/web/macros.ts): post_meta(post),
// tag_list(tags), post_card(post, ...); picture(item, { sizes, lazy }) and avatar(person, px) (./pictures.ts).
extendTemplates((env, memoise) => {
  env.addGlobal("post_url", q.postUrl);
  installPictureGlobals(env);
  installPostCardMemo(env, memoise);
  installMacroGlobals(env, { "partials/post_meta.njk": ["post_meta"], "partials/tags.njk": ["tag_list"], "partials/post_card.njk": ["post_card"] }, memoise);
});

/** A meta description: one line, at most ~160 characters, cut on a word. */
function metaDescription(...candidates: (string | null | undefined)[]): string {
  const text = (candidates.find((c) => c && c.trim()) ?? config.SITE_DESCRIPTION).replace(/\s+/g, " ").trim();
  if (text.length <= 160) return text;
  const cut = text.slice(0, 157);
  return `${cut.slice(0, cut.lastIndexOf(" ") > 100 ? cut.lastIndexOf(" ") : 157)}…`;
}

/**
 * A page's share image (og:image, twitter:image): socialImageUrl's absolute URL of the item's ~1200 px
 * rendition, with that rendition's size (the original's when the URL names no rendition) and the alt text.
 */
function socialImage(item: MediaItem | null): Pick<PageMeta, "image" | "imageWidth" | "imageHeight" | "imageAlt"> {
  if (!item) return {};
  const image = socialImageUrl(item, config.SITE_URL);
  const r = item.renditions.find((x) => image.endsWith(mediaUrl(x.key))) ?? item;
  return { image, imageWidth: r.width, imageHeight: r.height, imageAlt: item.alt || undefined };
}

const publisher = () => ({ "@type": "Organization", name: config.SITE_NAME, url: absoluteUrl("blog:home") });

/** Loads one page of a list: a number past the end answers 404; "last" needs the count first. */
async function loadPage(req: Request, filter: q.ListFilter, r: PageRoute) {
  const perPage = config.POSTS_PER_PAGE;
  const requested = parsePage(req.query.page);
  let number = requested === "last" ? numPages(await q.countPublished(filter), perPage) : requested;
  let { posts, total } = await q.listPublished({ page: number, perPage, ...filter });
  if (posts.length === 0 && number > 1 && requested === "last") {
    // The cached count was high (posts removed meanwhile): count again and retry once.
    number = numPages(await q.refreshCount(filter), perPage);
    ({ posts, total } = await q.listPublished({ page: number, perPage, ...filter }));
  }
  if (posts.length === 0 && number > 1) throw notFound("No such page.");
  const page = makePage(number, total, perPage, r);
  return { posts, page };
}

function listMeta(r: PageRoute, page: ReturnType<typeof makePage>, base: PageMeta & { title?: string }): PageMeta {
  const title = base.title ?? undefined;
  return {
    ogType: "website",
    ...base,
    title: page.number > 1 ? `${title ?? "Blog"} (page ${page.number} of ${page.numPages})` : title,
    // "/" and "/blog/" show the same list: both name /blog/ as canonical (one URL for search engines).
    canonical: absolutePageUrl(r.name === "blog:home" ? { name: "blog:post_list" } : r, page.number),
    prev: page.hasPrevious ? absolutePageUrl(r, page.number - 1) : undefined,
    next: page.hasNext ? absolutePageUrl(r, page.number + 1) : undefined,
  };
}

function blogJsonLd(name: string, pageUrl: string, description: string, posts: q.PostCard[]) {
  return {
    "@context": "https://schema.org",
    "@type": "Blog",
    name,
    url: pageUrl,
    description,
    publisher: publisher(),
    blogPost: posts.map((p) => ({
      "@type": "BlogPosting",
      headline: p.title,
      url: absolute(q.postUrl(p)),
      datePublished: p.publish.toISOString(),
      author: { "@type": "Person", name: p.author.fullName },
    })),
  };
}

const listRoute = (req: Request): PageRoute => ({ name: req.path === "/" ? "blog:home" : "blog:post_list" });

export async function postList(req: Request, res: Response): Promise<void> {
  const r = listRoute(req);
  const { posts, page } = await loadPage(req, {}, r);
  showsOnPage(res, PAGE_TAGS.lists);
  const meta = listMeta(r, page, { description: config.SITE_DESCRIPTION });
  const website = {
    "@context": "https://schema.org",
    "@type": "WebSite",
    name: config.SITE_NAME,
    url: absoluteUrl("blog:home"),
    description: config.SITE_DESCRIPTION,
    // Sitelinks search box: schema.org wants a URL *template*, so the {placeholder} stays unencoded.
    potentialAction: {
      "@type": "SearchAction",
      target: { "@type": "EntryPoint", urlTemplate: `${absoluteUrl("blog:search")}?q={search_term_string}` },
      "query-input": "required name=search_term_string",
    },
  };
  meta.jsonLd = [website, blogJsonLd(config.SITE_NAME, meta.canonical!, config.SITE_DESCRIPTION, posts)];
  res.locals.meta = meta;
  res.render("blog/post_list.njk", { posts, page, heading: null });
}

export async function categoryDetail(req: Request, res: Response): Promise<void> {
  const p = slugParams.safeParse(req.params);
  const category = p.success ? await q.getCategoryBySlug(p.data.slug) : null;
  if (!category) throw notFound("No such category.");
  const r: PageRoute = { name: "blog:category_detail", params: { slug: category.slug } };
  const { posts, page } = await loadPage(req, { categoryId: category.id }, r);
  showsOnPage(res, PAGE_TAGS.category(category.id));
  const description = metaDescription(category.description, `Posts in the category ${category.name}.`);
  const meta = listMeta(r, page, { title: category.name, description });
  meta.jsonLd = blogJsonLd(`${config.SITE_NAME}: ${category.name}`, meta.canonical!, description, posts);
  res.locals.meta = meta;
  res.render("blog/post_list.njk", { posts, page, category, heading: { kind: "Category", name: category.name, description: category.description } });
}

/**
 * A tag's page. Only a tag that a published post carries has one: a tag used only by drafts or
 * scheduled posts answers exactly as an unknown tag (404 "No such tag."), so its name cannot give an
 * unpublished post away. The first page's own rows tell (no extra query on the hot path); a page
 * number past the end asks tagHasPublishedPost() which of the two 404s to give.
 */
export async function tagDetail(req: Request, res: Response): Promise<void> {
  const p = slugParams.safeParse(req.params);
  const tag = p.success ? await q.getTagBySlug(p.data.slug) : null;
  if (!tag) throw notFound("No such tag.");
  const r: PageRoute = { name: "blog:tag_detail", params: { slug: tag.slug } };
  let loaded: Awaited<ReturnType<typeof loadPage>>;
  try {
    loaded = await loadPage(req, { tagId: tag.id }, r);
  } catch (e) {
    if (e instanceof HttpError && e.status === 404 && !(await q.tagHasPublishedPost(tag.id))) throw notFound("No such tag.");
    throw e;
  }
  const { posts, page } = loaded;
  showsOnPage(res, PAGE_TAGS.tag(tag.id));
  if (posts.length === 0) throw notFound("No such tag."); // page 1 without posts: no published post carries it
  const description = metaDescription(`Posts tagged “${tag.name}”.`);
  const meta = listMeta(r, page, { title: `Tagged “${tag.name}”`, description });
  meta.jsonLd = blogJsonLd(`${config.SITE_NAME}: ${tag.name}`, meta.canonical!, description, posts);
  res.locals.meta = meta;
  res.render("blog/post_list.njk", { posts, page, tag, heading: { kind: "Tag", name: tag.name } });
}

export async function authorDetail(req: Request, res: Response): Promise<void> {
  const p = authorParams.safeParse(req.params);
  const author = p.success ? await q.getAuthorByUsername(p.data.username) : null;
  if (!author) throw notFound("No such author.");
  const r: PageRoute = { name: "blog:author_detail", params: { username: author.username } };
  const { posts, page } = await loadPage(req, { authorId: author.id }, r);
  showsOnPage(res, PAGE_TAGS.author(author.id));
  const description = metaDescription(author.bio, `Posts by ${author.fullName}.`);
  const meta = listMeta(r, page, { title: `Posts by ${author.fullName}`, description });
  meta.jsonLd = blogJsonLd(`${config.SITE_NAME}: ${author.fullName}`, meta.canonical!, description, posts);
  res.locals.meta = meta;
  res.render("blog/post_list.njk", { posts, page, author, heading: { kind: "Author", name: author.fullName, description: author.bio } });
}

export async function categoryList(_req: Request, res: Response): Promise<void> {
  const categories = await q.categoriesWithCounts();
  showsOnPage(res, PAGE_TAGS.lists); // counts change with any post
  const canonical = absoluteUrl("blog:category_list");
  res.locals.meta = {
    title: "Categories",
    description: metaDescription(`All categories of ${config.SITE_NAME}.`),
    canonical,
    ogType: "website",
    jsonLd: {
      "@context": "https://schema.org",
      "@type": "CollectionPage",
      name: `${config.SITE_NAME}: categories`,
      url: canonical,
      publisher: publisher(),
      mainEntity: {
        "@type": "ItemList",
        numberOfItems: categories.length,
        itemListElement: categories.map((c, i) => ({
          "@type": "ListItem",
          position: i + 1,
          name: c.name,
          url: absoluteUrl("blog:category_detail", { slug: c.slug }),
        })),
      },
    },
  } satisfies PageMeta;
  res.render("blog/category_list.njk", { categories });
}

export async function postDetail(req: Request, res: Response): Promise<void> {
  const p = postDetailParams.safeParse(req.params);
  const post = p.success ? await q.getPublishedPost(p.data, p.data.slug) : null;
  if (!post) {
    // The post's address under another TIME_ZONE (its date moved): 301 to where it is now.
    const moved = p.success ? await movedPostPath(p.data, p.data.slug) : null;
    if (moved) return res.redirect(301, moved);
    throw notFound("No such post.");
  }
  await renderPostDetail(res, post);
}

/**
 * The post's page: the reader's (above) and the preview of a draft or scheduled post (src/previews,
 * which passes its own template, extending this one, and context) render it alike.
 */
export async function renderPostDetail(res: Response, post: q.PostPage, view = "blog/post_detail.njk", extra: Record<string, unknown> = {}): Promise<void> {
  const similar = await q.similarPosts(post.id, 4);
  // The post, the posts shown as similar, and its tags (a post saved with one of them may become similar).
  showsOnPage(res, PAGE_TAGS.post(post.id), ...similar.map((s) => PAGE_TAGS.post(s.id)), ...post.tagIds.map(PAGE_TAGS.tag));
  const canonical = absolute(q.postUrl(post));
  const description = metaDescription(post.metaDescription, truncateWords(post.excerpt, 30));
  const authorUrl = absoluteUrl("blog:author_detail", { username: post.author.username });
  const share = socialImage(post.image);
  res.locals.meta = {
    // The meta title, when the writer set one, is the whole <title> and og:title (as Ghost's meta_title); the h1 stays the title.
    title: post.metaTitle || post.title,
    fullTitle: post.metaTitle || undefined,
    description,
    canonical,
    ogType: "article",
    ...share,
    article: {
      publishedTime: post.publish.toISOString(),
      modifiedTime: post.updatedAt.toISOString(),
      author: authorUrl,
      section: post.category?.name,
      tags: post.tags.map((t) => t.name),
    },
    jsonLd: {
      "@context": "https://schema.org",
      "@type": "BlogPosting",
      headline: post.title,
      description,
      url: canonical,
      mainEntityOfPage: { "@type": "WebPage", "@id": canonical },
      datePublished: post.publish.toISOString(),
      dateModified: post.updatedAt.toISOString(),
      author: { "@type": "Person", name: post.author.fullName, url: authorUrl },
      ...(share.image ? { image: { "@type": "ImageObject", url: share.image, width: share.imageWidth, height: share.imageHeight } } : {}),
      publisher: publisher(),
      ...(post.category ? { articleSection: post.category.name } : {}),
      ...(post.tags.length ? { keywords: post.tags.map((t) => t.name).join(", ") } : {}),
    },
  } satisfies PageMeta;
  res.render(view, { post, similar, ...extra });
}
