// Named routes, like Django's urls.py + reverse(). Features declare paths with route(name, path)
// where they mount handlers; templates and redirects build URLs with url(name, params).
import { compile, type ParamData } from "path-to-regexp";
import { caches } from "../cache/index.ts";
import { config } from "../config.ts";

type Params = Record<string, string | number>;
const routes = new Map<string, { path: string; toPath: (p?: ParamData) => string }>();

/** Route names by path ("get /api/v1/posts" when several methods of one path have names of their own): for the metrics' labels. */
const namesByPath = new Map<string, string>();

/**
 * Registers `name` for `path` (Express 5 / path-to-regexp syntax) and returns the path. `method` ("get",
 * "post"...): the name is that method's only, where one path has several (the API's operations).
 */
export function route(name: string, path: string, method?: string): string {
  const existing = routes.get(name);
  if (existing && existing.path !== path) throw new Error(`route name ${name} already used for ${existing.path}`);
  routes.set(name, { path, toPath: compile(path, { encode: encodeURIComponent }) });
  const key = method ? `${method.toLowerCase()} ${path}` : path;
  if (!namesByPath.has(key)) namesByPath.set(key, name);
  return path;
}

/** The name of the route Express matched (req.route.path, the request's method), or undefined for an unnamed one. */
export function routeNameOf(path: string, method: string): string | undefined {
  return namesByPath.get(path) ?? namesByPath.get(`${method === "HEAD" ? "get" : method.toLowerCase()} ${path}`);
}

export type Query = Record<string, string | number | undefined | null>;

/** Reverses a named route: url("blog:post_detail", { year: 2026, ... }, { page: 2 }). */
// Reversed paths are memoised (web.reversed-urls in src/cache/index.ts, bounded): list pages reverse
// ~50 URLs per render and path-to-regexp's compiled function + encodeURIComponent was ~20% of a list
// page's render time.
function reverse(r: { toPath: (p?: ParamData) => string }, name: string, params: Params): string {
  let key = name;
  for (const k in params) key += `\u0000${k}\u0000${params[k]}`;
  let out = caches.urls.get(key);
  if (out === undefined) {
    const strParams: ParamData = {};
    for (const [k, v] of Object.entries(params)) strParams[k] = String(v);
    out = r.toPath(strParams);
    caches.urls.set(key, out);
  }
  return out;
}

export function url(name: string, params: Params = {}, query?: Query): string {
  const r = routes.get(name);
  if (!r) throw new Error(`no route named ${name}`);
  let out = reverse(r, name, params);
  if (query) {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== "") qs.set(k, String(v));
    const s = qs.toString();
    if (s) out += `?${s}`;
  }
  return out;
}

/** The same, as an absolute URL on the configured SITE_URL (never the request's Host). */
export function absoluteUrl(name: string, params: Params = {}, query?: Query): string {
  return config.SITE_URL + url(name, params, query);
}

export function absolute(path: string): string {
  return config.SITE_URL + path;
}

export function routeNames(): string[] {
  return [...routes.keys()];
}

/** Every path registered under a name. */
export function routePaths(): Set<string> {
  return new Set([...routes.values()].map((r) => r.path));
}
