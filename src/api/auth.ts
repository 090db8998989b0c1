// Who is calling the API (DRF's authentication classes, in order):
//  1. An Authorization header: it must be `Bearer <access token>`, a JWT checked by passport-jwt's
//     strategy below (src/api/tokens.ts: HS256 only, a known kid, signature, iss, aud, exp, nbf (30 s
//     leeway), token_type "access", the account active as stored and not signed out everywhere since iat). Anything else in that header (another
//     scheme, no token, a bad or expired token) is a 401 with WWW-Authenticate, never silently
//     anonymous; the session cookie is then ignored (a bearer token plus a cookie: the token's user).
//  2. Folio's session cookie (the site's own pages calling the API): the same session as the pages,
//     and, as DRF's SessionAuthentication, the session's CSRF token is required on unsafe methods
//     (X-CSRF-Token), only when the session has a user (an anonymous session needs no token, e.g. to
//     POST /auth/token).
//  3. Neither: anonymous.
// req.user is the account as stored (role and active flag read on each request).
import type { Request, RequestHandler } from "express";
import { ExtractJwt, Strategy as JwtStrategy } from "passport-jwt";
import { passport } from "../accounts/auth.ts";
import { enforceAbsoluteTimeout, hasSessionCookie, lazySessions } from "../web/session.ts";
import { csrfProtection } from "../web/csrf.ts";
import type { SessionUser } from "../accounts/users.ts";
import type { Via } from "./endpoint.ts";
import { problems } from "./problem.ts";
import { activeUserOf, claimsOf, verificationKey, verifyOptions } from "./tokens.ts";

const JWT_STRATEGY = "jwt";

passport.use(
  JWT_STRATEGY,
  new JwtStrategy(
    {
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      // No key (another algorithm, a missing or unknown kid): passport-jwt fails the request, as for a bad signature.
      secretOrKeyProvider: (_req: unknown, raw: string, done: (err: unknown, secret?: string) => void) => {
        const secret = verificationKey(raw);
        done(secret ? null : new Error("no key for this token"), secret);
      },
      // passport-jwt passes algorithms, issuer and audience to jsonwebtoken itself, anything else (the clock leeway) through jsonWebTokenOptions
      ...verifyOptions(),
      jsonWebTokenOptions: { clockTolerance: verifyOptions().clockTolerance },
      ignoreExpiration: false,
    },
    (payload: unknown, done: (err: unknown, user?: SessionUser | false) => void) => {
      const claims = claimsOf(payload, "access");
      if (!claims) return done(null, false);
      activeUserOf(claims).then(
        (user) => done(null, user ?? false),
        (err) => done(err),
      );
    },
  ),
);

const VIA = Symbol("folio.api.via");
type WithVia = Request & { [VIA]?: Via };

export const viaOf = (req: Request): Via => (req as WithVia)[VIA] ?? null;

// Built on first use, not at import: the session store takes the app's pool, which exists only once
// the server has connected to the database (an import-time store got pg's default localhost:5432).
let sessionLayer: RequestHandler | undefined;
const sessions: RequestHandler = (req, res, next) => (sessionLayer ??= lazySessions([enforceAbsoluteTimeout, passport.session()]))(req, res, next);
const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);
const BEARER = /^Bearer +[A-Za-z0-9_.~+/-]+=*$/i;

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
    if (!BEARER.test(req.headers.authorization)) return next(problems.unauthenticated("Use Authorization: Bearer <access token>."));
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
