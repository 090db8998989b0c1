// What the soak asks for: the site's own URLs, found by reading its pages (list pages spread over the
// whole archive, the posts, categories, tags and authors they link to, the admin's change list and
// change forms), and a weighted mix of page kinds over them.
import { PROXIED, type Browser } from "./http.ts";
import type { Target } from "./load.ts";

export interface Site {
  /** Kind -> paths. */
  paths: Record<Kind, string[]>;
  /** The post pages' admin ids (the admin's change forms). */
  postIds: number[];
  /** The number of list pages (/blog/?page=N). */
  listPages: number;
}

export const KINDS = ["home", "post", "taxonomy", "search", "feed", "api", "admin"] as const;
export type Kind = (typeof KINDS)[number];

/** Share of each kind in the mix (sums to 100). */
export const WEIGHTS: Record<Kind, number> = { home: 18, post: 30, taxonomy: 12, search: 10, feed: 6, api: 16, admin: 8 };

/** Words of the seed's vocabulary: common ones, rare ones, and typos (the title fallback). */
const SEARCH_WORDS = ["measure", "concurrently", "postgresql", "index", "deploy", "cache", "testing", "migration", "postgrsql", "deplyo", "template", "query"];

const POST_LINK = /href="(\/blog\/\d{4}\/\d{2}\/\d{2}\/[a-z0-9-]+\/)"/g;
const unique = <T>(xs: T[]) => [...new Set(xs)];
const match = (html: string, re: RegExp) => [...html.matchAll(re)].map((m) => m[1]!);

/**
 * Reads the site through `reader` (anonymous) and `editor` (signed in): `listPages` list pages spread
 * over the archive (the first ten, then evenly), the posts on them, and their categories, tags, authors.
 */
export async function discover(reader: Browser, editor: Browser, opts: { listPages?: number } = {}): Promise<Site> {
  const first = await reader.get("/blog/");
  if (first.status !== 200) throw new Error(`/blog/ answered ${first.status}`);
  // The list links its neighbours only: the last page from the API's count and the list's page size.
  const perPage = Math.max(1, unique(match(first.body, POST_LINK)).length);
  const api = await reader.get("/api/v1/posts");
  const count = api.status === 200 ? Number((JSON.parse(api.body) as { count?: number }).count ?? 0) : 0;
  const last = Math.max(1, Math.ceil(count / perPage), ...match(first.body, /[?&]page=(\d+)/g).map(Number));
  const wanted = opts.listPages ?? 60;
  const pages = unique([
    ...Array.from({ length: Math.min(10, last) }, (_, i) => i + 1),
    ...Array.from({ length: wanted }, (_, i) => 1 + Math.floor((i * (last - 1)) / Math.max(1, wanted - 1))),
  ]);
  const posts: string[] = [];
  const taxonomy: string[] = [];
  for (const n of pages) {
    const page = n === 1 ? first : await reader.get(`/blog/?page=${n}`);
    if (page.status !== 200) throw new Error(`/blog/?page=${n} answered ${page.status}`);
    posts.push(...match(page.body, POST_LINK));
    taxonomy.push(...match(page.body, /href="(\/blog\/(?:category|tag|author)\/[^"/]+\/)"/g));
  }
  const categories = unique(taxonomy.filter((p) => p.startsWith("/blog/category/")));
  const changelist = await editor.get("/admin/blog/post/");
  if (changelist.status !== 200) throw new Error(`the editor's /admin/blog/post/ answered ${changelist.status}`);
  const adminLast = Math.max(1, ...match(changelist.body, /[?&](?:amp;)?p=(\d+)/g).map(Number));
  const postIds = unique(match(changelist.body, /href="\/admin\/blog\/post\/(\d+)\/change\/"/g).map(Number));
  const uniquePosts = unique(posts);
  const paths: Record<Kind, string[]> = {
    home: ["/", ...pages.map((n) => `/blog/?page=${n}`)],
    post: uniquePosts,
    taxonomy: unique([...unique(taxonomy), ...categories.map((c) => `${c}?page=2`), "/blog/categories/"]),
    search: SEARCH_WORDS.flatMap((w) => [`/blog/search/?q=${w}`, `/blog/search/?q=${w}&page=2`]),
    feed: ["/blog/feed/rss/", "/blog/feed/atom/", ...categories.map((c) => `${c}feed/rss/`)],
    api: [
      // The API refuses deep page numbers (400: use the cursor), so its pages are the first hundred.
      ...pages.filter((n) => n <= 100).map((n) => `/api/v1/posts?page=${n}`),
      `/api/v1/posts?search=measure`,
      ...uniquePosts.slice(0, 200).map((p) => p.replace(/^\/blog\//, "/api/v1/posts/").replace(/\/$/, "")),
    ],
    admin: [
      ...[1, 2, 3, Math.max(1, Math.floor(adminLast / 2)), adminLast].map((n) => `/admin/blog/post/?p=${n}`),
      ...postIds.slice(0, 20).map((id) => `/admin/blog/post/${id}/change/`),
    ],
  };
  for (const k of KINDS) if (!paths[k].length) throw new Error(`found no ${k} pages to ask for`);
  return { paths, postIds, listPages: last };
}

/** Picks the next request: a kind by WEIGHTS, then a path of that kind at random; admin requests carry the editor's cookie. */
export function mix(site: Site, editorCookie: () => string, weights: Record<Kind, number> = WEIGHTS): () => Target {
  const wheel: Kind[] = KINDS.flatMap((k) => Array<Kind>(weights[k]).fill(k));
  return () => {
    const kind = wheel[Math.floor(Math.random() * wheel.length)]!;
    const list = site.paths[kind];
    const path = list[Math.floor(Math.random() * list.length)]!;
    return kind === "admin" ? { kind, path, headers: { ...PROXIED, cookie: editorCookie() } } : { kind, path };
  };
}
