import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Request, RequestHandler, Response } from "express";
import pino from "pino";
import { pinoHttp } from "pino-http";
import { match, type MatchFunction } from "path-to-regexp";
import { config } from "../config.ts";

// ---- secrets never reach the log ------------------------------------------------------------------
// A URL is logged with its secrets masked (maskUrl): a path segment that a named route takes as a
// secret parameter (":token" in /accounts/reset/:token/, and any future route whose parameter is
// named like a secret), any other path segment or query value shaped like a random token (32+
// base64url characters mixing upper case, lower case and digits: never a slug, which is lower case),
// and the value of a query parameter named like a secret (?token=, ?password=, ?api_key= ...).
// The serializers below apply it to every URL-like field any log line carries (req.url, path, url,
// links), so a caller logging `{ path: req.path }` cannot leak a token. Headers are not logged at
// all (the req serializer picks id, method and url); the redact list is the second line of defence
// for a line that carries them anyway.
const REDACTED = "[REDACTED]";
const SECRET_NAME = /token|secret|passw|pwd|key|signature|^sig$|^code$|^otp$|csrf|session|^sid$|auth|credential/i;
const TOKEN_SHAPED = /^[A-Za-z0-9_-]{32,}$/;
const looksLikeToken = (s: string) => s.length >= 32 && TOKEN_SHAPED.test(s) && /[A-Z]/.test(s) && /[a-z]/.test(s) && /[0-9]/.test(s);

let secretRoutes: { count: number; at: number; matchers: MatchFunction<Partial<Record<string, string | string[]>>>[] } | undefined;
let routePaths: () => Set<string> = () => new Set();

/**
 * Where the registered routes come from (src/web/urls.ts routePaths): given by the app (buildApp), not
 * imported here, so that a process which only logs (the cluster primary) does not load the routes'
 * module and, through it, the caches and the database client.
 */
export function maskRoutesOf(paths: () => Set<string>): void {
  routePaths = paths;
  secretRoutes = undefined;
}
/**
 * Matchers for the registered routes with a secret parameter. Routes are declared as the feature
 * modules load, so the list is looked at again at most once a second (rebuilt if it grew): listing
 * the routes on every logged URL cost ~4 µs, more than the rest of the masking. Matched without the
 * trailing slash, as a prefix and case-insensitively, as Express routes them.
 */
function secretRouteMatchers() {
  const now = Date.now();
  if (secretRoutes && now - secretRoutes.at < 1000) return secretRoutes.matchers;
  const paths = routePaths();
  if (secretRoutes?.count !== paths.size) {
    const matchers = [];
    for (const path of paths) {
      if (![...path.matchAll(/[:*](\w+)/g)].some((m) => SECRET_NAME.test(m[1]!))) continue;
      matchers.push(match(path.replace(/\/+$/, "") || "/", { end: false, decode: false, sensitive: false }));
    }
    secretRoutes = { count: paths.size, at: now, matchers };
  }
  secretRoutes.at = now;
  return secretRoutes.matchers;
}

/** `raw` (a path with an optional query) with its secrets replaced by [REDACTED]. */
function maskUrl(raw: unknown): unknown {
  if (typeof raw !== "string") return raw;
  const q = raw.indexOf("?");
  const path = q < 0 ? raw : raw.slice(0, q);
  let segments: string[] | undefined;
  for (const m of secretRouteMatchers()) {
    const hit = m(path);
    if (!hit) continue;
    for (const [name, value] of Object.entries(hit.params)) {
      if (!SECRET_NAME.test(name) || value === undefined) continue;
      const secret = new Set(Array.isArray(value) ? value : [value]);
      segments = (segments ?? path.split("/")).map((s) => (secret.has(s) ? REDACTED : s));
    }
  }
  if (path.length >= 32) segments = (segments ?? path.split("/")).map((s) => (looksLikeToken(s) ? REDACTED : s));
  let out = segments ? segments.join("/") : path;
  if (q >= 0) {
    const query = raw
      .slice(q + 1)
      .split("&")
      .map((pair) => {
        const eq = pair.indexOf("=");
        if (eq < 0) return pair;
        let name = pair.slice(0, eq);
        try {
          name = decodeURIComponent(name.replace(/\+/g, " "));
        } catch {
          // a malformed name is judged as written
        }
        const value = pair.slice(eq + 1);
        return SECRET_NAME.test(name) || looksLikeToken(value) ? `${pair.slice(0, eq)}=${REDACTED}` : pair;
      });
    out += `?${query.join("&")}`;
  }
  return out;
}

/** A full URL (e-mailed links in the development mail log): the same masking on its path and query. */
function maskAbsolute(raw: unknown): unknown {
  if (typeof raw !== "string") return raw;
  const m = /^([a-z][a-z0-9+.-]*:\/\/[^/?#]*)(.*)$/i.exec(raw);
  return m ? m[1]! + String(maskUrl(m[2] || "/")) : maskUrl(raw);
}
const maskUrls = (v: unknown) => (Array.isArray(v) ? v.map(maskAbsolute) : maskAbsolute(v));

/** The request as logged: id, method and the URL with its secrets masked (never headers or body). */
const reqSerializer = (req: { id?: unknown; method?: string; url?: string; originalUrl?: string }) => ({
  id: req.id,
  method: req.method,
  url: maskUrl(req.originalUrl ?? req.url),
});

export const logger = pino({
  level: config.NODE_ENV === "test" && config.LOG_LEVEL === "info" ? "warn" : config.LOG_LEVEL,
  serializers: { req: reqSerializer, url: maskUrls, path: maskUrl, links: maskUrls, link: maskUrls },
  redact: {
    paths: [
      "req.headers.cookie",
      "req.headers.authorization",
      'req.headers["proxy-authorization"]',
      'req.headers["x-csrf-token"]',
      'res.headers["set-cookie"]',
      "req.body",
      "body",
      "password",
      "token",
    ],
    censor: REDACTED,
  },
});

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** The request's id: a sane incoming X-Request-Id, else a new UUID; echoed in the response. */
function requestId(req: IncomingMessage, res: ServerResponse): string {
  const incoming = req.headers["x-request-id"];
  const id = typeof incoming === "string" && REQUEST_ID.test(incoming) ? incoming : randomUUID();
  res.setHeader("X-Request-Id", id);
  return id;
}

/** Access log (one line per request at info) with the request id, echoed in the response. */
const accessLog = pinoHttp({
  logger,
  genReqId: requestId,
  customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? "error" : "info"),
  serializers: {
    req: reqSerializer,
    res: (res) => ({ statusCode: res.statusCode }),
  },
});

/**
 * Above info (production usually runs at warn) no access line is written for a request that does not
 * fail, yet pino-http still builds two child loggers per request (serialising the request each time).
 * This does the same job for that case: the request id, a req.log made only when something logs
 * (a getter on the app's request prototype, installed on its first request, instead of a property
 * defined on every request), and an error line for a 5xx response.
 */
const CHILD = Symbol("folio.requestLog");
type LazyLogRequest = Request & { [CHILD]?: pino.Logger };

/** req.log for the quiet logger: a child logger with the request id, created on first use. */
function installLazyRequestLog(proto: object): void {
  Object.defineProperty(proto, "log", {
    configurable: true,
    get(this: LazyLogRequest) {
      return (this[CHILD] ??= logger.child({ req: { id: this.id, method: this.method, url: maskUrl(this.originalUrl) } }));
    },
    set(this: LazyLogRequest, v: pino.Logger) {
      this[CHILD] = v;
    },
  });
}

const STARTED = Symbol("folio.startedAt");
type TimedResponse = Response & { [STARTED]?: number };

function logServerError(this: TimedResponse): void {
  if (this.statusCode >= 500) {
    const responseTime = Date.now() - (this[STARTED] ?? Date.now());
    this.req.log.error({ err: this.err, res: { statusCode: this.statusCode }, responseTime }, "request errored");
  }
}

const withLazyLog = new WeakSet<object>();

const quietRequestLog: RequestHandler = (req, res, next) => {
  const proto = Object.getPrototypeOf(req) as object;
  if (!withLazyLog.has(proto)) {
    installLazyRequestLog(proto);
    withLazyLog.add(proto);
  }
  req.id = requestId(req, res);
  (res as TimedResponse)[STARTED] = Date.now();
  res.once("finish", logServerError);
  next();
};

/** Request logging middleware: full access log at info and below, the quiet variant above. */
export const requestLogger: RequestHandler = logger.isLevelEnabled("info") ? accessLog : quietRequestLog;
