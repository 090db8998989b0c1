// Every change this app makes to how Express's response object behaves, in one place. Each patch is
// applied per request (never to Express's prototypes), only on the requests that need it, and wraps
// the method it changes (the original still does the work):
//
//  1. markRendering(req, res): res.render makes `req` the request being rendered while it runs, so a
//     template global can find it: csrf_token(), called from macros in imported templates that do not
//     see the page's context (src/web/csrf.ts). Nunjucks renders synchronously inside res.render (sync
//     file loader, no async tags), so a variable suffices; AsyncLocalStorage would tax every await in
//     the process (its promise hooks, Node 20). Applied by the CSRF middleware to every request after
//     the session layer.
//
//  2. saveSessionBeforeRedirect(req, res): res.redirect stores the session before answering.
//     express-session stores a changed session while the response goes out: it sends the status line,
//     the headers and all but the last byte of the body, and the last byte once the store has the
//     session. A browser follows a redirect as soon as it has the headers, so the next page could read
//     the session from before this request (its flash message missing, a change not seen yet: it
//     happened under load in CI). Applied by the session layer (src/web/session.ts) to every request
//     that has a session (a cookie came in, or one was started during the request).
//
//  3. stripCookieOnPublicResponses(res, name): a response marked `Cache-Control: public` (feeds,
//     sitemaps...) may be stored by shared caches, so it never carries the cookie `name` (the session
//     cookie: a CDN would hand that session to everyone). A header hook (on-headers): it runs when the
//     headers are written, after every handler has set Cache-Control. Registered before
//     express-session's own hook, so it runs after that one has added its cookie (on-headers calls the
//     last registered hook first). Applied by the session layer with the session middleware.
import type { Request, Response } from "express";
import onHeaders from "on-headers";

let rendering: Request | null = null;

/** The request whose res.render is running (patch 1), or null outside one. */
export function renderingRequest(): Request | null {
  return rendering;
}

/** Patch 1: while res.render runs, renderingRequest() is `req`. */
export function markRendering(req: Request, res: Response): void {
  const render = res.render;
  res.render = function (this: Response, ...args: unknown[]) {
    const outer = rendering;
    rendering = req;
    try {
      return (render as (...a: unknown[]) => void).apply(this, args);
    } finally {
      rendering = outer;
    }
  } as typeof res.render;
}

/** Patch 2: res.redirect answers once the request's session (if it has one by then) is stored. */
export function saveSessionBeforeRedirect(req: Request, res: Response): void {
  const redirect = res.redirect;
  res.redirect = function (this: Response, ...args: unknown[]) {
    const s = req.session;
    const send = () => (redirect as (...a: unknown[]) => void).apply(this, args);
    if (!s) return send();
    s.save((err) => {
      // Redirect anyway: the change is lost, as it would have been at the end of the response.
      if (err) req.log?.error({ err }, "saving the session before a redirect failed");
      send();
    });
  } as typeof res.redirect;
}

/** Patch 3: a `Cache-Control: public` response goes out without the cookie `name`. */
export function stripCookieOnPublicResponses(res: Response, name: string): void {
  onHeaders(res, () => {
    if (!/\bpublic\b/i.test(String(res.getHeader("Cache-Control") ?? ""))) return;
    const cookies = res.getHeader("Set-Cookie");
    const list = Array.isArray(cookies) ? cookies : typeof cookies === "string" ? [cookies] : [];
    const kept = list.filter((c) => !c.startsWith(`${name}=`));
    if (kept.length === list.length) return;
    if (kept.length) res.setHeader("Set-Cookie", kept);
    else res.removeHeader("Set-Cookie");
  });
}
