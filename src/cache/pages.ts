// The full-page cache for anonymous readers (Django's cache_page, with tags): reader pages, feeds,
// sitemaps and robots.txt, kept in the shared cache (src/cache/shared.ts: memory per process, or Redis).
//
// Mounted in src/app.ts before the session pipeline, so a hit costs no database query and no session.
// A request is served from the cache only when all hold: PAGE_CACHE on, GET or HEAD, no session cookie,
// no Authorization header, and a reader path (READER_PATHS). Signed-in users never get a shared page
// and never put one in the cache (they carry the session cookie).
//
// Key: the method-independent path and query as received, keeping only the query parameters a reader
//   page reads (q, page) in their order: ?utm_source=... shares the entry of the bare URL.
// Stored: only a 200 answer with a string body, without Set-Cookie and without private/no-store/no-cache
//   in its Cache-Control; with its content type, Cache-Control, Last-Modified, a strong ETag of the body
//   and the body gzipped once (served as is to clients that accept gzip, the first answer, MISS, too: the
//   compression middleware sees Content-Encoding and leaves it). A strong validator names one
//   representation: the gzip copy's ETag is the body's with "-gzip" before its closing quote, and a 304
//   answers an If-None-Match of the copy the client would get.
// Tags: a controller declares what its page shows (showsOnPage(res, PAGE_TAGS.post(id), ...)); a page
//   that declares nothing gets PAGE_TAGS.lists (cleared by every post write); every page carries
//   PAGE_TAGS.all. A page rendered across an invalidation is not stored (it may show rows from before
//   it): the lookup that missed also read the backend's invalidation generation, and the store hands it
//   back (SharedSetOptions.since; with Redis, checked in Redis: exact whichever process invalidated).
// Purge: a post taken down (src/posts/service.ts) deletes the pages of its tags (PAGE_TAGS.purge): no
//   stale copy of them is served afterwards, even during a database outage.
// Lifetime: PAGE_CACHE_TTL_SECONDS, cut to the next scheduled publish time (./scheduled.ts); then kept
//   STALE_IF_ERROR_HOURS more as a stale copy that only a database outage serves (serveStaleCopy).
// One render per key: concurrent misses of a key in this process wait for the first one's answer.
// Headers: ETag (304 on If-None-Match / If-Modified-Since), Cache-Control "public, max-age=0,
//   must-revalidate" (or the page's own client max-age: feeds 300 s, robots.txt 1 h) plus
//   "s-maxage, stale-while-revalidate" when CDN_S_MAXAGE > 0, Age, X-Cache: HIT | MISS | STALE.
import { gzip } from "node:zlib";
import { promisify } from "node:util";
import etag from "etag";
import type { NextFunction, Request, RequestHandler, Response } from "express";
import { LRUCache } from "lru-cache";
import { config } from "../config.ts";
import { renderForPageCache } from "../db/replica.ts";
import { hasSessionCookie } from "../web/session.ts";
import { PAGE_TAGS, sharedCache } from "./index.ts";
import { nextScheduledAt } from "./scheduled.ts";
import { MemorySharedBackend } from "./shared-memory.ts";
import type { SharedRead } from "./shared.ts";

const gzipAsync = promisify(gzip);

/** The paths whose anonymous GETs are cached: every reader page under /blog/, the home page, sitemaps, robots.txt. */
const READER_PATHS = /^\/(?:$|blog\/|sitemap[a-z0-9-]*\.xml$|robots\.txt$)/;
/** Query parameters a reader page reads; the others do not change the page. */
const PAGE_PARAMS = new Set(["q", "page"]);
/** Bodies under this size are not gzipped (as the compression middleware's threshold). */
const GZIP_MIN_BYTES = 1024;
const KEY_PREFIX = "page:v1:";

/** Hits, misses and stale answers of this process, for /admin/caches/. */
export const pageCacheCounts = { hits: 0, misses: 0, stale: 0, stored: 0 };

/** The tags of what this page shows (PAGE_TAGS): called by the controllers; cheap when the page is not cached. */
export function showsOnPage(res: Response, ...tags: string[]): void {
  const set = (res.locals.pageTags as Set<string> | undefined) ?? new Set<string>();
  for (const t of tags) set.add(t);
  res.locals.pageTags = set;
}

/** Whether this request may be answered from (and stored in) the shared page cache. */
export function cacheable(req: Request): boolean {
  return (
    config.PAGE_CACHE && (req.method === "GET" || req.method === "HEAD") && !req.headers.authorization && !hasSessionCookie(req) && READER_PATHS.test(req.path)
  );
}

/** The cache key: path plus the page-reading query parameters as received (raw, in order). */
export function pageKey(req: Request): string {
  const url = req.originalUrl;
  const q = url.indexOf("?");
  if (q < 0) return KEY_PREFIX + url;
  const kept = url
    .slice(q + 1)
    .split("&")
    .filter((pair) => {
      if (!pair) return false;
      const eq = pair.indexOf("=");
      const rawName = eq < 0 ? pair : pair.slice(0, eq);
      try {
        return PAGE_PARAMS.has(decodeURIComponent(rawName.replace(/\+/g, " ")));
      } catch {
        return true; // undecodable: keep it in the key rather than guess what the parser made of it
      }
    });
  return KEY_PREFIX + url.slice(0, q) + (kept.length ? `?${kept.join("&")}` : "");
}

// ---- stored form ---------------------------------------------------------------------------------
// One string: a JSON line of metadata, then the body, then the gzipped body as Latin-1 (one character
// per byte: lossless in memory and through Redis, which stores the string's UTF-8).

interface Meta {
  /** Content-Type. */
  t: string;
  /** The page's own Cache-Control, if it set one (feeds, robots.txt). */
  c: string | null;
  /** Last-Modified. */
  l: string | null;
  /** Strong ETag of the body. */
  e: string;
  /** Body length in UTF-16 code units. */
  n: number;
}
interface Page {
  meta: Meta;
  body: string;
  gz: Buffer | null;
}

function encode(meta: Meta, body: string, gz: Buffer | null): string {
  return `${JSON.stringify(meta)}\n${body}${gz ? gz.toString("latin1") : ""}`;
}

// Decoded pages by stored value: a hit of the memory backend returns the very string stored, so the
// decode (JSON line, gzip bytes) happens once per entry, not once per hit.
const decoded = new LRUCache<string, { value: string; page: Page }>({ max: 500 });

function decode(key: string, value: string): Page | null {
  const memo = decoded.get(key);
  if (memo && memo.value === value) return memo.page;
  const nl = value.indexOf("\n");
  if (nl < 0) return null;
  try {
    const meta = JSON.parse(value.slice(0, nl)) as Meta;
    const start = nl + 1;
    const body = value.slice(start, start + meta.n);
    const rest = value.slice(start + meta.n);
    const page = { meta, body, gz: rest ? Buffer.from(rest, "latin1") : null };
    decoded.set(key, { value, page });
    return page;
  } catch {
    return null;
  }
}

// ---- answering -----------------------------------------------------------------------------------

type State = "HIT" | "MISS" | "STALE";

function cacheControl(own: string | null, state: State): string {
  const base = own && /max-age=[1-9]/.test(own) ? own : "public, max-age=0, must-revalidate";
  if (state === "STALE" || config.CDN_S_MAXAGE <= 0) return base;
  return `${base}, s-maxage=${config.CDN_S_MAXAGE}, stale-while-revalidate=${config.CDN_STALE_WHILE_REVALIDATE}`;
}

/** The strong ETag of the gzip copy: the body's, suffixed (a different representation, a different validator). */
export const gzipEtag = (e: string): string => e.replace(/"$/, '-gzip"');

function setCacheHeaders(res: Response, meta: Pick<Meta, "c" | "e" | "l">, etagSent: string, state: State, storedAt: number | null): void {
  res.setHeader("ETag", etagSent);
  res.setHeader("Cache-Control", cacheControl(meta.c, state));
  if (meta.l) res.setHeader("Last-Modified", meta.l);
  if (storedAt !== null) res.setHeader("Age", String(Math.max(0, Math.floor((Date.now() - storedAt) / 1000))));
  res.setHeader("X-Cache", state);
  res.vary("Accept-Encoding");
}

function answer(req: Request, res: Response, page: Page, storedAt: number | null, state: State): void {
  res.setHeader("Content-Type", page.meta.t);
  const gzipped = page.gz !== null && !!req.headers["accept-encoding"] && req.acceptsEncodings("gzip", "identity") === "gzip";
  setCacheHeaders(res, page.meta, gzipped ? gzipEtag(page.meta.e) : page.meta.e, state, storedAt);
  if (gzipped) res.setHeader("Content-Encoding", "gzip"); // on the 304 too: it describes the copy validated
  if (req.fresh) {
    res.statusCode = 304;
    res.end();
    return;
  }
  const body: string | Buffer = gzipped ? page.gz! : page.body;
  res.setHeader("Content-Length", typeof body === "string" ? Buffer.byteLength(body) : body.length);
  if (req.method === "HEAD") res.end();
  else res.end(body);
}

async function lookup(key: string): Promise<SharedRead> {
  const shared = sharedCache();
  return shared instanceof MemorySharedBackend ? shared.readNow(key) : shared.read(key);
}

// ---- the middleware ------------------------------------------------------------------------------

/** Renders in flight per key in this process: later misses wait for the first. */
const inflight = new Map<string, Promise<void>>();

export const pageCache: RequestHandler = (req, res, next) => {
  // Synchronous for the requests it leaves alone (no promise for the API's, the admin's, a signed-in user's).
  if (!cacheable(req)) return next();
  return fromCache(req, res, next);
};

async function fromCache(req: Request, res: Response, next: NextFunction): Promise<void> {
  const key = pageKey(req);
  const read = await lookup(key);
  let hit = read.hit;
  let page = hit && decode(key, hit.value);
  if (hit && page && hit.fresh) {
    pageCacheCounts.hits++;
    return answer(req, res, page, hit.storedAt, "HIT");
  }
  const running = inflight.get(key);
  if (running) {
    await running;
    hit = (await lookup(key)).hit;
    page = hit && decode(key, hit.value);
    if (hit && page && hit.fresh) {
      pageCacheCounts.hits++;
      return answer(req, res, page, hit.storedAt, "HIT");
    }
    pageCacheCounts.misses++;
    return next(); // the first render was not stored (not a 200...): render this one uncached too
  }
  pageCacheCounts.misses++;
  let done!: () => void;
  inflight.set(key, new Promise<void>((r) => (done = r)));
  const flight = { storing: false };
  const finish = () => {
    inflight.delete(key);
    done();
  };
  // Not stored (an error, a 404, the client gone): the waiters render themselves once it is over.
  res.on("close", () => {
    if (!flight.storing) finish();
  });
  capture(res, key, read.gen, flight, finish);
  return renderForPageCache(next); // from the replica only when it is not behind this miss (src/db/replica.ts)
}

/** Wraps res.send to store a cacheable answer (and mark it MISS) on its way out. */
function capture(res: Response, key: string, since: string | undefined, flight: { storing: boolean }, finish: () => void): void {
  const bound = nextScheduledAt().catch(() => undefined); // started now: usually already known
  const send = res.send;
  res.send = function (this: Response, body?: unknown) {
    res.send = send;
    if (res.statusCode !== 200 || typeof body !== "string" || !storable(res)) return send.call(this, body);
    const meta: Meta = {
      t: String(res.getHeader("Content-Type") ?? "text/html; charset=utf-8"),
      c: (res.getHeader("Cache-Control") as string | undefined) ?? null,
      l: (res.getHeader("Last-Modified") as string | undefined) ?? null,
      e: etag(body),
      n: body.length,
    };
    const tags = [...((res.locals.pageTags as Set<string> | undefined) ?? [PAGE_TAGS.lists]), PAGE_TAGS.all];
    flight.storing = true;
    // Gzipped once, here: the client of this first answer gets the very copy (and ETag) later hits get.
    void (async () => {
      const gz = Buffer.byteLength(body) >= GZIP_MIN_BYTES ? await gzipAsync(body) : null;
      answer(res.req, res, { meta, body, gz }, null, "MISS");
      await store(key, meta, body, gz, tags, since, bound);
    })()
      .catch(() => {}) // a backend never throws; gzip cannot fail on a string
      .finally(finish);
    return this;
  } as Response["send"];
}

function storable(res: Response): boolean {
  // A session started for this answer (a form's CSRF token: ensureSession) sets its cookie only at
  // writeHead, after this check: the session object tells now.
  if (res.getHeader("Set-Cookie") !== undefined || (res.req as { session?: unknown }).session) return false;
  const cc = res.getHeader("Cache-Control");
  return !(typeof cc === "string" && /private|no-store|no-cache/i.test(cc));
}

async function store(
  key: string,
  meta: Meta,
  body: string,
  gz: Buffer | null,
  tags: string[],
  since: string | undefined,
  bound: Promise<number | null | undefined>,
): Promise<void> {
  const next = await bound;
  if (next === undefined) return; // the lookup failed: no safe lifetime
  const ttlMs = Math.min(config.PAGE_CACHE_TTL_SECONDS * 1000, next === null ? Infinity : next - Date.now());
  if (ttlMs <= 0) return;
  if (since === undefined) return; // the lookup could not reach the store: no generation to store against
  // Refused (not stored) when an invalidation reached the backend since the lookup: the page may predate it.
  if (await sharedCache().set(key, encode(meta, body, gz), { ttlMs, staleMs: config.STALE_IF_ERROR_HOURS * 3_600_000, tags, since })) pageCacheCounts.stored++;
}

/**
 * The database is unreachable (src/web/errors.ts): answers a reader with the last good copy of the page,
 * however old (within STALE_IF_ERROR_HOURS), marked X-Cache: STALE. False when there is none.
 */
export async function serveStaleCopy(req: Request, res: Response): Promise<boolean> {
  if (res.headersSent || !cacheable(req)) return false;
  const key = pageKey(req);
  const hit = (await lookup(key)).hit;
  const page = hit && decode(key, hit.value);
  if (!hit || !page) return false;
  pageCacheCounts.stale++;
  res.status(200);
  res.removeHeader("Retry-After");
  answer(req, res, page, hit.storedAt, "STALE");
  return true;
}

/** For /admin/caches/: the shared backend's figures and this process's counts. */
export async function pageCacheStats() {
  const shared = sharedCache();
  return { enabled: config.PAGE_CACHE, backend: shared.name, ...(await shared.stats()), ...pageCacheCounts };
}
