// Who is calling the API (DRF's authentication classes, in order):
//  1. `Authorization: Bearer <access token>`: a JWT checked by passport-jwt (src/api/tokens.ts). A bad
//     token is a 401 (never silently anonymous); the session cookie is then ignored.
//  2. Folio's session cookie (the site's own pages calling the API): the same session as the pages,
//     and, as DRF's SessionAuthentication, the session's CSRF token is required on unsafe methods
//     (X-CSRF-Token), only when the session has a user.
//  3. Neither: anonymous.
// req.user is the account as stored (role and active flag read on each request).
import type { Request, RequestHandler } from "express";
import { passport } from "../accounts/auth.ts";
import { enforceAbsoluteTimeout, hasSessionCookie, lazySessions } from "../web/session.ts";
import { csrfProtection } from "../web/csrf.ts";
import type { SessionUser } from "../accounts/users.ts";
import type { Via } from "./endpoint.ts";
import { problems } from "./problem.ts";
import { JWT_STRATEGY } from "./tokens.ts";

const VIA = Symbol("folio.api.via");
type WithVia = Request & { [VIA]?: Via };

export const viaOf = (req: Request): Via => (req as WithVia)[VIA] ?? null;

const sessions = lazySessions([enforceAbsoluteTimeout, passport.session()]);
const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);

const bearer: RequestHandler = (req, res, next) =>
  passport.authenticate(JWT_STRATEGY, { session: false }, (err: unknown, user: SessionUser | false) => {
    if (err) return next(err);
    if (!user) return next(problems.unauthenticated("The access token is invalid or expired.", "invalid_token"));
    req.user = user;
    (req as WithVia)[VIA] = "token";
    next();
  })(req, res, next);

export const apiAuthentication: RequestHandler = (req, res, next) => {
  if (req.headers.authorization !== undefined) {
    if (!/^Bearer\s+\S+$/i.test(req.headers.authorization)) return next(problems.unauthenticated("Use Authorization: Bearer <access token>.", "invalid_token"));
    return bearer(req, res, next);
  }
  if (!hasSessionCookie(req)) return next();
  sessions(req, res, (err?: unknown) => {
    if (err) return next(err);
    if (!req.user) return next();
    (req as WithVia)[VIA] = "session";
    if (SAFE.has(req.method)) return next();
    csrfProtection(req, res, next);
  });
};
