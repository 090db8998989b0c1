// CSRF protection: synchronizer tokens (csrf-sync) kept in the session.
//  - Every POST/PUT/PATCH/DELETE must carry the session's token in the `_csrf` form field or the
//    `X-CSRF-Token` header; this includes anonymous forms (login, sign-up, password reset): a request
//    without a session has no token and is refused.
//  - Tokens are made lazily: templates call `csrf_token()` (or the `csrf_field()` macro in
//    views/partials/forms.njk, or `csrfToken()` from res.locals) and only then is a token created and
//    stored, so blog pages without a form never create a session.
//  - A refused request gets a 403 page explaining what happened (views/accounts/csrf_failure.njk); a
//    form this site's own page sent (a writer's post whose session expired) comes back instead with
//    everything typed and a way to sign in again and save (src/web/kept-form.ts).
//  - Production over plain HTTP (Secure cookies cannot be set, so every POST would fail here): each
//    form says so (csrf_warning(), shown by the csrf_field macros), the log says so once, and the
//    refusal page names the cause.
import { csrfSync } from "csrf-sync";
import type { ErrorRequestHandler, Request, RequestHandler } from "express";
import { ensureSession, hasSessionCookie } from "./session.ts";
import { wantsJson } from "./errors.ts";
import { markRendering, renderingRequest } from "./response.ts";
import { INSECURE_MESSAGE, insecureTransport, renderKeptForm, warnInsecureOnce, type RefusalReason } from "./kept-form.ts";

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
  errorConfig: { statusCode: 403, message: "CSRF verification failed.", code: "EBADCSRFTOKEN" },
});

/** Checks the token on unsafe methods and makes the request available to csrf_token() while rendering. */
export const csrfProtection: RequestHandler = (req, res, next) => {
  // Lazy on purpose: a function, so merely rendering a template does not create a token/session.
  res.locals.csrfToken = () => csrfTokenFor(req);
  if (insecureTransport(req)) warnInsecureOnce(req);
  markRendering(req, res); // csrf_token() in templates finds this request (src/web/response.ts)
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
  const rendering = renderingRequest();
  if (!rendering) throw new Error("csrf_token() used outside a synchronous res.render of a request");
  return csrfTokenFor(rendering);
}

/**
 * Template global (used by the csrf_field macros, so every form shows it): the warning that this
 * form cannot work because a production site is reached over plain HTTP, or "".
 */
export function csrfWarningGlobal(): string {
  const rendering = renderingRequest();
  return rendering && insecureTransport(rendering) ? INSECURE_MESSAGE : "";
}

/** Why a request has no valid token, as the writer can act on it. */
function refusalReason(req: Request): RefusalReason {
  if (insecureTransport(req)) return "insecure";
  if (req.session?.csrfToken) return "mismatch"; // a token, not this one: the form is from an earlier session
  return hasSessionCookie(req) ? "expired" : "nosession"; // a cookie whose session is gone, or no cookie at all
}

const REASON_DETAIL: Record<RefusalReason, string> = {
  expired: "CSRF verification failed: your session has expired. Sign in again, then retry.",
  nosession: "CSRF verification failed: no session cookie came with the request (are cookies blocked?).",
  mismatch: "CSRF verification failed: the token is from an earlier session. Reload the page and try again.",
  signedout: "You are not signed in any more. Sign in again, then retry.",
  insecure: INSECURE_MESSAGE,
  unavailable: "The database could not be reached just now, so nothing was saved. Try again in a few seconds.",
};

/** Renders the 403 page for a missing or wrong token (or the kept form); other errors pass through. */
export const csrfErrorHandler: ErrorRequestHandler = (err, req, res, next) => {
  if (err?.code !== "EBADCSRFTOKEN") return next(err);
  const reason = refusalReason(req);
  req.log?.info({ path: req.path, reason }, "CSRF verification failed");
  res.status(403);
  if (wantsJson(req)) {
    res.type("application/problem+json").send(JSON.stringify({ status: 403, title: "Forbidden", detail: REASON_DETAIL[reason], reason }));
    return;
  }
  if (renderKeptForm(req, res, reason)) return;
  res.render("accounts/csrf_failure.njk", { reason, insecureMessage: reason === "insecure" ? INSECURE_MESSAGE : null });
};
