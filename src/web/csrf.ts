// CSRF protection: synchronizer tokens (csrf-sync) kept in the session.
//  - Every POST/PUT/PATCH/DELETE must carry the session's token in the `_csrf` form field or the
//    `X-CSRF-Token` header; this includes anonymous forms (login, sign-up, password reset): a request
//    without a session has no token and is refused. Only API requests that authenticate with a
//    Bearer token (no cookies involved) are exempt.
//  - Tokens are made lazily: templates call `csrf_token()` (or the `csrf_field()` macro in
//    views/partials/forms.njk, or `csrfToken()` from res.locals) and only then is a token created and
//    stored, so blog pages without a form never create a session.
//  - A refused request gets a 403 page explaining what happened (views/accounts/csrf_failure.njk).
import { csrfSync } from "csrf-sync";
import type { ErrorRequestHandler, Request, RequestHandler } from "express";
import { ensureSession } from "./session.ts";

// The request whose template is being rendered. Nunjucks runs a template's code synchronously inside
// res.render (sync file loader, no async tags), so csrf_token() -- called from macros in imported
// templates, which do not see the page's context -- can find its request here without
// AsyncLocalStorage (whose promise hooks would tax every await in the process on Node 20).
let rendering: Request | null = null;

const isBearerApi = (req: Request) =>
  req.path.startsWith("/api/") && /^Bearer\s/i.test(req.headers.authorization ?? "") && !req.headers.cookie;

const { csrfSynchronisedProtection, generateToken } = csrfSync({
  getTokenFromRequest: (req) => {
    const body = req.body as Record<string, unknown> | undefined;
    const fromBody = body && typeof body === "object" ? body._csrf : undefined;
    if (typeof fromBody === "string") return fromBody;
    const header = req.headers["x-csrf-token"];
    return typeof header === "string" ? header : undefined;
  },
  // A request without a session (no cookie, or an expired one) has no stored token.
  getTokenFromState: (req) => (req.session ? req.session.csrfToken : undefined),
  storeTokenInState: (req, token) => {
    if (req.session) req.session.csrfToken = token;
  },
  size: 32,
  skipCsrfProtection: isBearerApi,
  errorConfig: { statusCode: 403, message: "CSRF verification failed.", code: "EBADCSRFTOKEN" },
});

/** Checks the token on unsafe methods and makes the request available to csrf_token() while rendering. */
export const csrfProtection: RequestHandler = (req, res, next) => {
  // Lazy on purpose: a function, so merely rendering a template does not create a token/session.
  res.locals.csrfToken = () => csrfTokenFor(req);
  const render = res.render;
  res.render = function (this: typeof res, ...args: unknown[]) {
    const outer = rendering;
    rendering = req;
    try {
      return (render as (...a: unknown[]) => void).apply(this, args);
    } finally {
      rendering = outer;
    }
  } as typeof res.render;
  csrfSynchronisedProtection(req, res, next);
};

/** The session's CSRF token, created (and the session with it) on first use. */
export function csrfTokenFor(req: Request): string {
  ensureSession(req);
  return generateToken(req);
}

/** A new token, replacing the old one (after login/logout the session is regenerated). */
export function rotateCsrfToken(req: Request): string {
  ensureSession(req);
  return generateToken(req, true);
}

/** Template global: the token of the request being rendered. */
export function csrfTokenGlobal(): string {
  if (!rendering) throw new Error("csrf_token() used outside a synchronous res.render of a request");
  return csrfTokenFor(rendering);
}

/** Renders the 403 page for a missing or wrong token; other errors pass through. */
export const csrfErrorHandler: ErrorRequestHandler = (err, req, res, next) => {
  if (err?.code !== "EBADCSRFTOKEN") return next(err);
  req.log?.info({ path: req.path, hasSession: !!req.session?.csrfToken }, "CSRF verification failed");
  res.status(403);
  if (req.path.startsWith("/api/") || req.accepts(["html", "json"]) === "json") {
    res.type("application/problem+json").send(
      JSON.stringify({ status: 403, title: "Forbidden", detail: "CSRF verification failed. Reload the page and try again." }),
    );
    return;
  }
  res.render("accounts/csrf_failure.njk", { reason: req.session?.csrfToken ? "mismatch" : "nosession" });
};
