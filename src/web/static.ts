// Static files under content-hashed URLs (/static/css/site.3f2a9c1b.css) with immutable caching,
// like Django's ManifestStaticFilesStorage. The manifest is built once at start-up. /favicon.ico
// redirects to the hashed icon.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join, relative, resolve } from "node:path";
import type { RequestHandler } from "express";

const PUBLIC_DIR = resolve(import.meta.dirname, "../../public");
const PREFIX = "/static/";

const manifest = new Map<string, string>(); // "css/site.css" -> "/static/css/site.<hash>.css"
const files = new Map<string, string>(); // "/static/css/site.<hash>.css" -> absolute path

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

function buildManifest(): void {
  manifest.clear();
  files.clear();
  for (const abs of walk(PUBLIC_DIR)) {
    const rel = relative(PUBLIC_DIR, abs).split("\\").join("/");
    const hash = createHash("sha256").update(readFileSync(abs)).digest("hex").slice(0, 10);
    const ext = extname(rel);
    const hashed = `${PREFIX}${rel.slice(0, rel.length - ext.length)}.${hash}${ext}`;
    manifest.set(rel, hashed);
    files.set(hashed, abs);
  }
}

/** Template helper: static("css/site.css") -> hashed URL. Unknown files are a programming error. */
export function staticUrl(rel: string): string {
  if (manifest.size === 0) buildManifest();
  const u = manifest.get(rel);
  if (!u) throw new Error(`static file not found: ${rel}`);
  return u;
}

/** Every static file: its hashed URL ("/static/css/site.<hash>.css") -> its file under public/. Nginx serves copies (src/fleet/nginx.ts writeHashedStatic). */
export function hashedStaticFiles(): ReadonlyMap<string, string> {
  if (manifest.size === 0) buildManifest();
  return files;
}

export const serveStatic: RequestHandler = (req, res, next) => {
  if (req.method !== "GET" && req.method !== "HEAD") return next();
  if (req.path === "/favicon.ico") {
    // Browsers and crawlers ask for it without reading the page's <link rel="icon">: send them to
    // the hashed SVG (a temporary redirect, so a new icon is picked up; no session, no database).
    res.set("Cache-Control", "public, max-age=86400");
    return res.redirect(302, staticUrl("img/favicon.svg"));
  }
  if (!req.path.startsWith(PREFIX)) return next();
  if (manifest.size === 0) buildManifest();
  const abs = files.get(req.path);
  if (!abs) return next(); // unknown or stale hash: the site's 404
  res.sendFile(abs, { maxAge: "365d", immutable: true, dotfiles: "deny" });
};
