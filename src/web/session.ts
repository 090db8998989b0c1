// Server-side sessions: express-session with the PostgreSQL store (table "session", created by the
// Prisma migration) on the shared pool.
//  - Cookie: HttpOnly, SameSite=Lax, path "/", no Domain; in production Secure and named "__Host-folio.sid"
//    (the __Host- prefix makes browsers refuse it unless Secure, host-only and path=/).
//  - Idle timeout: the cookie's Max-Age and the row's `expire` roll forward on activity (SESSION_IDLE_MINUTES).
//  - Absolute timeout: `authAt` is stamped at login; a signed-in session older than SESSION_ABSOLUTE_HOURS
//    is ended whatever the activity (enforceAbsoluteTimeout).
//  - Readers cost nothing: saveUninitialized is false, so a visitor without a cookie never causes a store
//    read or write (express-session only reads the store when a cookie arrives). A session appears when
//    something is put in it (a CSRF token for a form, a login). Touches (rolling expiry) are written at
//    most once a minute per session.
//  - A request with a session gets two response patches (src/web/response.ts): no session cookie on a
//    `Cache-Control: public` response, and the session stored before a redirect is answered.
import session from "express-session";
import connectPgSimple from "connect-pg-simple";
import type { Request, RequestHandler, Response } from "express";
import { config } from "../config.ts";
import { pool } from "../db/client.ts";
import { logger } from "./logger.ts";
import { saveSessionBeforeRedirect, stripCookieOnPublicResponses } from "./response.ts";

declare module "express-session" {
  interface SessionData {
    /** ms since epoch of the login that created this signed-in session (absolute timeout). */
    authAt?: number;
    /** Set by passport: the signed-in user's id. */
    passport?: { user?: number };
    /** Messages shown once on the next page (Django's messages framework, minimal). */
    flash?: { level: "success" | "info" | "warning" | "error"; text: string }[];
  }
}

const SESSION_COOKIE = config.NODE_ENV === "production" ? "__Host-folio.sid" : "folio.sid";

const idleMs = () => config.SESSION_IDLE_MINUTES * 60_000;
const absoluteMs = () => config.SESSION_ABSOLUTE_HOURS * 3_600_000;

function cookieOptions(): session.CookieOptions {
  return {
    httpOnly: true,
    sameSite: "lax",
    secure: config.NODE_ENV === "production",
    path: "/",
    maxAge: idleMs(),
  };
}

function clearCookieOptions() {
  const { maxAge: _maxAge, ...rest } = cookieOptions();
  return rest as import("express").CookieOptions;
}

const PGStore = connectPgSimple(session);
const TOUCH_EVERY_MS = 60_000;

/** The PostgreSQL store, writing a rolling expiry at most once a minute per session (per process). */
class ThrottledPgStore extends PGStore {
  private lastWrite = new Map<string, number>();

  private remember(sid: string) {
    if (this.lastWrite.size > 50_000) this.lastWrite.clear();
    this.lastWrite.set(sid, Date.now());
  }

  override set(sid: string, sess: session.SessionData, cb?: (err?: unknown) => void): void {
    this.remember(sid);
    super.set(sid, sess, cb);
  }

  override touch(sid: string, sess: session.SessionData, cb?: (err?: unknown) => void): void {
    const last = this.lastWrite.get(sid);
    if (last !== undefined && Date.now() - last < TOUCH_EVERY_MS) {
      cb?.();
      return;
    }
    this.remember(sid);
    super.touch(sid, sess, cb);
  }

  override destroy(sid: string, cb?: (err?: unknown) => void): void {
    this.lastWrite.delete(sid);
    super.destroy(sid, cb);
  }
}

let store: ThrottledPgStore | undefined;

/** The session store (created on first use, on the pool connected at that time). */
function sessionStore(): ThrottledPgStore {
  // Without the app's pool, connect-pg-simple would quietly make its own to localhost:5432.
  if (!pool) throw new Error("the session store was built before the database was connected (connectDb)");
  if (!store) {
    store = new ThrottledPgStore({
      pool,
      tableName: "session",
      createTableIfMissing: false,
      // Expired rows are deleted every 15 minutes (the timer does not keep the process alive).
      pruneSessionInterval: config.NODE_ENV === "test" ? false : 15 * 60,
      errorLog: (...args: unknown[]) => logger.error({ args }, "session store error"),
    });
  }
  return store;
}

function sessionMiddleware(): RequestHandler {
  const middleware = session({
    name: SESSION_COOKIE,
    secret: config.SESSION_SECRET,
    store: sessionStore(),
    resave: false,
    saveUninitialized: false,
    rolling: true,
    unset: "destroy",
    proxy: undefined, // follows Express "trust proxy"
    cookie: cookieOptions(),
  });
  // When the store cannot load the session (the database is restarting), express-session leaves
  // req.session unset but req.sessionID set, and with unset: "destroy" it then deletes that session
  // when the response ends: a database blip signed people out. Forgetting the id keeps the session.
  return (req, res, next) =>
    middleware(req, res, (err?: unknown) => {
      if (err && !req.session) delete (req as { sessionID?: string }).sessionID;
      next(err);
    });
}

/** True when the request carries our session cookie (by name; its signature is checked later). */
export function hasSessionCookie(req: Request): boolean {
  const c = req.headers.cookie;
  return typeof c === "string" && c.includes(`${SESSION_COOKIE}=`);
}

const ENSURE = Symbol("folio.ensureSession");
type WithEnsure = Request & { [ENSURE]?: () => void };

/**
 * The session layer with a fast path. A request with the session cookie goes through express-session
 * (store read), `withCookie` (absolute timeout, passport.session...). A request without it skips all
 * of that (no id generated, no objects, no hooks): most reader page views. If such a request does
 * need a session after all (a page with a form asks for a CSRF token), ensureSession() starts one
 * on the spot: express-session is synchronous when no cookie came in.
 */
export function lazySessions(withCookie: RequestHandler[]): RequestHandler {
  const session = sessionMiddleware();
  // The response patches of a request with a session (src/web/response.ts): the cookie hook goes in
  // before express-session's, the redirect waits for the session to be stored.
  const patch = (req: Request, res: Response) => {
    stripCookieOnPublicResponses(res, SESSION_COOKIE);
    saveSessionBeforeRedirect(req, res);
  };
  const chain = [session, ...withCookie];
  const run = (i: number, req: Request, res: Response, next: (err?: unknown) => void): void => {
    const mw = chain[i];
    if (!mw) return next();
    mw(req, res, (err?: unknown) => (err ? next(err) : run(i + 1, req, res, next)));
  };
  return (req, res, next) => {
    if (hasSessionCookie(req)) {
      patch(req, res);
      return run(0, req, res, next);
    }
    (req as WithEnsure)[ENSURE] = () => {
      let failed: unknown;
      patch(req, res);
      void session(req, res, (err?: unknown) => {
        failed = err;
      });
      if (failed) throw failed;
    };
    next();
  };
}

/** Makes sure req.session exists (starting a new, empty one for a cookie-less request). */
export function ensureSession(req: Request): void {
  if (req.session) return;
  (req as WithEnsure)[ENSURE]?.();
}

/** Ends a signed-in session once SESSION_ABSOLUTE_HOURS have passed since its login. */
export const enforceAbsoluteTimeout: RequestHandler = (req, _res, next) => {
  const s = req.session;
  if (!s?.passport?.user) return next();
  if (typeof s.authAt === "number" && Date.now() - s.authAt < absoluteMs()) return next();
  // Expired (or a signed-in session without a stamp): start over with a fresh, empty session.
  s.regenerate((err) => next(err));
};

/** Destroys the current session (row and cookie). */
export function destroySession(req: Request, res: Response): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!req.session) {
      res.clearCookie(SESSION_COOKIE, clearCookieOptions());
      resolve();
      return;
    }
    req.session.destroy((err) => {
      if (err) return reject(err);
      res.clearCookie(SESSION_COOKIE, clearCookieOptions());
      resolve();
    });
  });
}

/** Deletes every stored session of a user, except `keepSid` when given. Returns how many ended. */
export async function endUserSessions(userId: number, keepSid?: string): Promise<number> {
  const res = await pool.query(`DELETE FROM "session" WHERE (sess::jsonb -> 'passport' ->> 'user') = $1 AND ($2::text IS NULL OR sid <> $2)`, [
    String(userId),
    keepSid ?? null,
  ]);
  return res.rowCount ?? 0;
}

/** Adds a one-time message for the next rendered page. */
export function flash(req: Request, level: "success" | "info" | "warning" | "error", text: string): void {
  if (!req.session) return;
  (req.session.flash ??= []).push({ level, text });
}

/** Reads and clears the pending messages (only touches the session when there are some). */
export function takeFlash(req: Request): { level: string; text: string }[] {
  const f = req.session?.flash;
  if (!f?.length) return [];
  delete req.session.flash;
  return f;
}
