// GET /admin/caches/ (admin:caches): the ops page of the cache layer (src/cache/index.ts). Every
// declared cache with its backend, entries, size against its bound, time to live, hits, misses, hit
// ratio, last invalidation and tags, as counted in THIS process (each worker counts its own); and the
// shared page cache (src/cache/pages.ts): its backend, entries and bytes, this process's hits and misses.
// Editors and admins only (ops.view); the admin index links here for them.
import type { NextFunction, Request, Response } from "express";
import { can } from "../accounts/permissions.ts";
import { cacheStats, TAGS, type CacheStats } from "../cache/index.ts";
import { pageCacheStats } from "../cache/pages.ts";
import { url } from "../web/urls.ts";
import { authorize, currentUser } from "./auth.ts";
import { render } from "./views.ts";

const count = (n: number) => n.toLocaleString("en-US");

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

function row(c: CacheStats) {
  const byBytes = "maxBytes" in c.bound;
  return {
    ...c,
    used: byBytes ? bytes(c.size) : `${count(c.entries)} ${c.entries === 1 ? "entry" : "entries"}`,
    boundText: "maxBytes" in c.bound ? bytes(c.bound.maxBytes) : `${count(c.bound.maxEntries)} ${c.bound.maxEntries === 1 ? "entry" : "entries"}`,
    ttl: c.ttlMs ? (c.ttlMs % 1000 ? `${c.ttlMs} ms` : `${c.ttlMs / 1000} s`) : "none",
    ratio: c.hitRatio === null ? "—" : `${(c.hitRatio * 100).toFixed(1)} %`,
  };
}

export async function cachesPage(req: Request, res: Response): Promise<void> {
  authorize(currentUser(req)!, "ops.view"); // requireAdmin ran: a user with admin access
  const p = await pageCacheStats();
  const uses = p.hits + p.misses;
  const pages = {
    ...p,
    size: p.bytes === undefined ? "—" : bytes(p.bytes),
    bound: p.maxBytes === undefined ? "—" : bytes(p.maxBytes),
    ratio: uses ? `${((p.hits / uses) * 100).toFixed(1)} %` : "—",
  };
  render(req, res, "caches.njk", { title: "Caches", pid: process.pid, caches: cacheStats().map(row), pages, tags: Object.entries(TAGS) });
}

/** Before the admin index: its link to this page, for those who may open it. */
export function cachesLink(req: Request, res: Response, next: NextFunction): void {
  res.locals.cachesUrl = can(currentUser(req), "ops.view") ? url("admin:caches") : null;
  next();
}
