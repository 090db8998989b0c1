// Errors as HTTP answers: HttpError carries a status (and field messages for 400s); the handlers
// at the end of the middleware chain render the site's 404/400/500 pages, or problem+json for a
// client that asks for JSON (the editor script's autosave and session check).
// An error that says the database is unreachable (a restart, an outage: isDatabaseUnavailable) is a
// 503 with Retry-After and the site's "back soon" page, not a 500: nothing is wrong with the request.
// A reader page the page cache holds a copy of is answered with that copy instead (stale-if-error).
import type { ErrorRequestHandler, RequestHandler } from "express";
import { config } from "../config.ts";
import { isDatabaseUnavailable } from "../db/client.ts";
import { serveStaleCopy } from "../cache/pages.ts";
import { renderKeptForm } from "./kept-form.ts";
import { markRendering } from "./response.ts";

/** Seconds a client is asked to wait before trying again while the database is unavailable (also /readyz). */
export const RETRY_AFTER_SECONDS = 5;

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly fields: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const notFound = (message = "Page not found") => new HttpError(404, message);
export const badRequest = (message = "Bad request", fields: Record<string, string> = {}) => new HttpError(400, message, fields);
export const forbidden = (message = "You do not have permission to do that.") => new HttpError(403, message);

const TITLES: Record<number, string> = {
  400: "Bad request",
  403: "Forbidden",
  404: "Page not found",
  405: "Method not allowed",
  413: "Request too large",
  500: "Server error",
  503: "Service unavailable",
};

/** The client prefers JSON to HTML (Accept): errors are answered as application/problem+json. */
export function wantsJson(req: Parameters<RequestHandler>[0]): boolean {
  return req.accepts(["html", "json"]) === "json";
}

export const notFoundHandler: RequestHandler = (req, _res, next) => next(notFound());

export const errorHandler: ErrorRequestHandler = async (err, req, res, _next) => {
  let status = 500;
  let message = "Something went wrong on our side. It has been logged; please try again later.";
  let fields: Record<string, string> = {};
  if (err instanceof HttpError) {
    ({ status, message, fields } = err);
  } else if (typeof err?.status === "number" && err.status >= 400 && err.status < 500) {
    // body-parser, URIError from malformed paths, csrf-sync and friends
    status = err.status;
    message = err.expose && err.message ? err.message : (TITLES[status] ?? "Bad request");
  } else if (err instanceof URIError) {
    status = 400;
    message = "Malformed URL.";
  } else if (isDatabaseUnavailable(err)) {
    // stale-if-error: a reader gets the last good copy of a cached page (src/cache/pages.ts), marked X-Cache: STALE.
    if (await serveStaleCopy(req, res)) {
      req.log?.warn({ err: err instanceof Error ? err.message : String(err) }, "database unavailable: served a stale copy");
      return;
    }
    status = 503;
    message = "The site is briefly unavailable. Please try again in a few seconds.";
    res.setHeader("Retry-After", String(RETRY_AFTER_SECONDS));
    // A form (a post save) sent by this site's page: its text comes back in the kept form, not lost.
    // Only with a session read (its CSRF token is in the page); sessions in PostgreSQL are not then.
    // markRendering: the outage may have stopped the request before the CSRF check set it up (passport's user lookup).
    if (req.session && !res.headersSent) markRendering(req, res);
    if (req.session && !res.headersSent && renderKeptForm(req, res, "unavailable", 503)) {
      res.err = err instanceof Error ? err : new Error(String(err));
      return;
    }
  }
  // The access log writes the one error line for this request, with the error and its stack.
  if (status >= 500) res.err = err instanceof Error ? err : new Error(String(err));
  if (res.headersSent) return res.end();
  res.status(status);
  if (wantsJson(req)) {
    res.type("application/problem+json").send(JSON.stringify({ status, title: TITLES[status] ?? "Error", detail: message, errors: fields }));
    return;
  }
  const template = status === 404 ? "404.njk" : status === 503 ? "503.njk" : status >= 500 ? "500.njk" : "error.njk";
  const stack = config.NODE_ENV === "development" && status >= 500 && err instanceof Error ? err.stack : undefined;
  res.render(template, { status, title: TITLES[status] ?? "Error", message, fields, stack }, (renderErr: Error | null, html?: string) => {
    if (renderErr) {
      req.log?.error({ err: renderErr }, "error page failed to render");
      res.type("text/plain").send(`${status} ${TITLES[status] ?? "Error"}`);
    } else res.send(html);
  });
};
