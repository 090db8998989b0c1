// Request-level access control and the template context for the signed-in user.
import type { NextFunction, Request, RequestHandler, Response } from "express";
import { can, type Action } from "./permissions.ts";
import { forbidden } from "../web/errors.ts";
import { url } from "../web/urls.ts";
import { config } from "../config.ts";
import { renderKeptForm } from "../web/kept-form.ts";
import { safeRedirect } from "../web/inputs.ts";

/** The login page URL that comes back to this request's page after signing in. */
function loginUrlFor(req: Request): string {
  return url("accounts:login", {}, { next: safeRedirect(req.originalUrl, "") || undefined });
}

/**
 * Anonymous users are sent to the login page (GET) or refused (other methods). A refused form that
 * this site's page sent (a writer signed out in another tab, then pressed Save) comes back with
 * everything typed and a way to sign in again and save it (src/web/kept-form.ts).
 */
export const requireLogin: RequestHandler = (req, res, next) => {
  if (req.user) {
    res.setHeader("Cache-Control", "private, no-store");
    return next();
  }
  refuseAnonymous(req, res, next, "Please log in first.");
};

/** The answer to an anonymous request on a signed-in page: login page (GET), kept form or 403 (others). */
export function refuseAnonymous(req: Request, res: Response, next: NextFunction, message: string): void {
  if (req.method === "GET" || req.method === "HEAD") return res.redirect(302, loginUrlFor(req));
  if (renderKeptForm(req, res, "signedout")) return;
  next(forbidden(message));
}

/** Signed in and can(user, action): anonymous -> login page, others without the permission -> 403. */
export function requirePermission(action: Action): RequestHandler {
  return (req, res, next) => {
    requireLogin(req, res, (err?: unknown) => {
      if (err) return next(err);
      if (!can(req.user, action)) return next(forbidden());
      next();
    });
  };
}

/** res.locals.user (null when anonymous) and can() for templates. */
export const userLocals: RequestHandler = (req, res, next) => {
  res.locals.user = req.user ?? null;
  // Pages for a signed-in user show their name: not for shared caches (a handler may still override).
  if (req.user) res.setHeader("Cache-Control", "private");
  res.locals.signupEnabled = config.SIGNUP_ENABLED;
  res.locals.can = (action: Action, obj?: { authorId?: number } | null) => can(req.user, action, obj);
  next();
};
