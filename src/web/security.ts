// Security headers (helmet) and the production Host check (Django's ALLOWED_HOSTS).
import helmet from "helmet";
import type { RequestHandler } from "express";
import { config } from "../config.ts";
import { HttpError } from "./errors.ts";

export const securityHeaders = helmet({
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'"],
      imgSrc: ["'self'", "data:", "https:"],
      fontSrc: ["'self'"],
      connectSrc: ["'self'"],
      objectSrc: ["'none'"],
      baseUri: ["'none'"],
      frameAncestors: ["'none'"],
      formAction: ["'self'"],
      ...(config.NODE_ENV === "production" ? { upgradeInsecureRequests: [] } : {}),
    },
  },
  strictTransportSecurity: config.NODE_ENV === "production" ? { maxAge: 31_536_000, includeSubDomains: true } : false,
  referrerPolicy: { policy: "strict-origin-when-cross-origin" },
  crossOriginEmbedderPolicy: false,
});

/** Probes reach the app by IP (Docker HEALTHCHECK, load balancers): they answer whatever the Host. */
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
