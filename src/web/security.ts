// Security headers (helmet) and the production Host check (Django's ALLOWED_HOSTS).
import helmet from "helmet";
import type { Request, RequestHandler, Response } from "express";
import { config } from "../config.ts";
import { HttpError } from "./errors.ts";

/**
 * The one rule for cookies' Secure flag (SECURE_COOKIES: unset, true in production): the session cookie
 * (which also holds the CSRF token), the device cookie and the replica's sticky cookie follow it. Read per
 * call (tests change config), a function declaration so modules in an import cycle can use it at load.
 */
export function cookieSecure(): boolean {
  return config.SECURE_COOKIES;
}

/** A cookie's name: "__Host-<name>" when Secure (browsers refuse that prefix without Secure, host-only, path=/). */
export function cookieName(name: string): string {
  return cookieSecure() ? `__Host-${name}` : name;
}

/** The CSP. Typed as plain strings on purpose: securityHeaders computes the headers once, so a
 * per-request directive (a nonce function) would need a middleware of its own. */
const cspDirectives: Record<string, string[]> = {
  defaultSrc: ["'self'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'"],
  imgSrc: ["'self'", "data:", "https:"],
  fontSrc: ["'self'"],
  connectSrc: ["'self'"],
  // Click-to-load video embeds (public/js/embeds.js): these two players only, and only after a click.
  frameSrc: ["https://www.youtube-nocookie.com", "https://player.vimeo.com"],
  objectSrc: ["'none'"],
  baseUri: ["'none'"],
  frameAncestors: ["'none'"],
  formAction: ["'self'"],
  // Not when cookies are not Secure (SECURE_COOKIES=false): that site is meant to be used over plain HTTP.
  ...(config.NODE_ENV === "production" && cookieSecure() ? { upgradeInsecureRequests: [] } : {}),
};

const helmetMiddleware = helmet({
  contentSecurityPolicy: { useDefaults: false, directives: cspDirectives },
  strictTransportSecurity: config.NODE_ENV === "production" ? { maxAge: 31_536_000, includeSubDomains: true } : false,
  referrerPolicy: { policy: "strict-origin-when-cross-origin" },
  crossOriginEmbedderPolicy: false,
});

// helmet's headers, set on every response. With this configuration they are the same for every
// request (no nonces, no per-request directives), so helmet runs once at start-up against a response
// that records what it sets, and each request gets that list: one loop instead of eleven middleware
// calls. The list also serves answers written before Express runs (src/web/client-errors.ts).
/** Headers helmet removes (X-Powered-By). */
const REMOVED: string[] = [];
/** helmet's response headers for this configuration, recorded once (name, value). */
export const SECURITY_HEADERS: readonly (readonly [string, string])[] = (() => {
  const headers: [string, string][] = [];
  const recorder = {
    setHeader: (name: string, value: unknown) => headers.push([name, String(value)]),
    removeHeader: (name: string) => REMOVED.push(name),
  } as unknown as Response;
  let failed: unknown;
  helmetMiddleware({ headers: {} } as Request, recorder, (err?: unknown) => (failed = err));
  if (failed) throw failed instanceof Error ? failed : new Error(String(failed));
  return headers;
})();

export const securityHeaders: RequestHandler = (_req, res, next) => {
  for (const [name, value] of SECURITY_HEADERS) res.setHeader(name, value);
  for (const name of REMOVED) res.removeHeader(name);
  next();
};

/**
 * Probes reach the app by IP (Docker HEALTHCHECK, load balancers): they answer whatever the Host.
 * /metrics is exempt too, by its place: src/app.ts mounts it before this check, so Prometheus scraping
 * an app's address is answered whatever the Host; a client it refuses goes on to this check and the
 * 404 page like any unknown path (it is not listed here: a 404 where others get 400 would tell it exists).
 */
const HOST_CHECK_EXEMPT = new Set(["/healthz", "/readyz"]);

/**
 * In production, a request whose Host is not in ALLOWED_HOSTS gets 400 (DNS rebinding, cache
 * poisoning), except the health probes. Entries: "example.com", ".example.com" (the domain and its
 * subdomains), "*" (any).
 */
export function allowedHosts(hosts: string[]): RequestHandler {
  const exact = new Set(hosts.filter((h) => !h.startsWith(".")).map((h) => h.toLowerCase()));
  const suffixes = hosts.filter((h) => h.startsWith(".")).map((h) => h.toLowerCase());
  return (req, _res, next) => {
    if (HOST_CHECK_EXEMPT.has(req.path)) return next();
    const raw = (req.headers.host ?? "").toLowerCase();
    const host = raw.replace(/:\d+$/, "");
    const ok = hosts.includes("*") || exact.has(host) || suffixes.some((s) => host.endsWith(s) || host === s.slice(1));
    next(ok ? undefined : new HttpError(400, "Invalid Host header."));
  };
}

export function parseTrustProxy(v: string): boolean | number | string {
  if (v === "true") return true;
  if (v === "false" || v === "") return false;
  if (/^\d+$/.test(v)) return Number(v);
  return v;
}
