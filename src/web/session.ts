// Server-side sessions: express-session with the PostgreSQL store (table "session", created by the
// Prisma migration) on the shared pool; or, when REDIS_URL is set, in Redis (connect-redis on the
// process's connection, src/cache/redis.ts: keys "<prefix>sess:<id>", expiring with the idle timeout),
// shared by every process and host.
//  - Cookie: HttpOnly, SameSite=Lax, path "/", no Domain; Secure and named "__Host-folio.sid" when
//    cookieSecure() (SECURE_COOKIES, default in production; the __Host- prefix makes browsers refuse it
//    unless Secure, host-only and path=/), "folio.sid" otherwise.
//  - Idle timeout: the cookie's Max-Age and the row's `expire` roll forward on activity (SESSION_IDLE_MINUTES).
//  - Absolute timeout: `authAt` is stamped at login; a signed-in session older than SESSION_ABSOLUTE_HOURS
//    is ended whatever the activity (enforceAbsoluteTimeout).
//  - Readers cost nothing: saveUninitialized is false, so a visitor without a cookie never causes a store
//    read or write (express-session only reads the store when a cookie arrives). A session appears when
//    something is put in it (a CSRF token for a form, a login). Touches (rolling expiry) are written at
//    most once a minute per session.
//  - A request with a session gets two response patches (src/web/response.ts): no session cookie on a
//    `Cache-Control: public` response, and the session stored before a redirect is answered.
//  - Redis unreachable (REDIS_URL set; the store cannot be read): a GET/HEAD/OPTIONS with the session
//    cookie is served as anonymous (no session, no user: a reader never gets an error page, and the
//    cookie is left alone so the session is there again once Redis is); any other method (a signed-in
//    action, a form post, a sign-in) is answered with the site's 503 "briefly unavailable" and
//    Retry-After, before anything is done. A session started meanwhile by a cookie-less page with a
//    form is not stored (its form then gets the 503 too). "Sign out everywhere" (endUserSessions) needs
//    Redis: unreachable, it fails with that 503.
//  - Sessions in Redis live as long as Redis keeps them: a Redis restarted without persistence signs
//    everyone out; with RDB/AOF persistence, what it had saved comes back. Sessions in PostgreSQL are
//    not moved to Redis when REDIS_URL is set (everyone signs in again once), nor back.
import session from "express-session";
import connectPgSimple from "connect-pg-simple";
import { RedisStore } from "connect-redis";
import type { Request, RequestHandler, Response } from "express";
import { config } from "../config.ts";
import { pool } from "../db/client.ts";
import { connectRedis, isRedisUnavailable, redisAvailable, redisClient, redisPrefix, type FolioRedis } from "../cache/redis.ts";
import { HttpError, RETRY_AFTER_SECONDS } from "./errors.ts";
import { logger } from "./logger.ts";
import { saveSessionBeforeRedirect, stripCookieOnPublicResponses } from "./response.ts";
import { cookieName, cookieSecure } from "./security.ts";

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

const SESSION_COOKIE = cookieName("folio.sid");

const idleMs = () => config.SESSION_IDLE_MINUTES * 60_000;
const absoluteMs = () => config.SESSION_ABSOLUTE_HOURS * 3_600_000;

function cookieOptions(): session.CookieOptions {
  return {
    httpOnly: true,
    sameSite: "lax",
    secure: cookieSecure(),
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

type Callback = (err?: unknown) => void;

/**
 * Writes a session's rolling expiry at most once a minute per session (per process): set() and
 * destroy() as the store does them, touch() skipped within TOUCH_EVERY_MS of the last write.
 */
function throttleTouches<S extends session.Store>(store: S): S {
  const lastWrite = new Map<string, number>();
  const remember = (sid: string) => {
    if (lastWrite.size > 50_000) lastWrite.clear();
    lastWrite.set(sid, Date.now());
  };
  // connect-redis's methods return promises (errors also go to the callback): never left rejected.
  const settle = (result: unknown, cb?: Callback) => {
    if (result instanceof Promise) result.catch((err: unknown) => cb?.(err));
  };
  const set = store.set.bind(store);
  const touch = store.touch?.bind(store);
  const destroy = store.destroy.bind(store);
  store.set = (sid: string, sess: session.SessionData, cb?: Callback) => {
    remember(sid);
    settle(set(sid, sess, cb), cb);
  };
  if (touch) {
    store.touch = (sid: string, sess: session.SessionData, cb?: Callback) => {
      const last = lastWrite.get(sid);
      if (last !== undefined && Date.now() - last < TOUCH_EVERY_MS) return cb?.();
      remember(sid);
      settle(touch(sid, sess, cb), cb);
    };
  }
  store.destroy = (sid: string, cb?: Callback) => {
    lastWrite.delete(sid);
    settle(destroy(sid, cb), cb);
  };
  return store;
}

/**
 * The Redis store, plus an index of each user's sessions ("<prefix>user-sessions:<id>", a set of
 * session ids) so that "sign out everywhere" can find them without scanning: a signed-in session is
 * added to it before it is written, and the set lives as long as any of them can (absolute + idle time).
 * A failed touch (the rolling expiry) is not an error: the session just expires a little earlier.
 */
class FolioRedisStore extends RedisStore {
  constructor(
    private readonly redis: FolioRedis,
    private readonly keyPrefix: string,
  ) {
    super({ client: redis, prefix: `${keyPrefix}sess:`, ttl: Math.ceil(idleMs() / 1000) });
  }

  userKey(userId: number | string): string {
    return `${this.keyPrefix}user-sessions:${userId}`;
  }

  override async set(sid: string, sess: session.SessionData, cb?: Callback): Promise<unknown> {
    const user = sess.passport?.user;
    if (user !== undefined) {
      try {
        await this.redis
          .multi()
          .sAdd(this.userKey(user), sid)
          .pExpire(this.userKey(user), absoluteMs() + idleMs())
          .exec();
      } catch (err) {
        if (cb) return cb(err);
        throw err;
      }
    }
    return super.set(sid, sess, cb);
  }

  override async touch(sid: string, sess: session.SessionData, cb?: Callback): Promise<unknown> {
    return super.touch(sid, sess, () => cb?.());
  }

  /** Deletes the user's sessions except `keepSid`; returns how many existed. */
  async endUser(userId: number, keepSid?: string): Promise<number> {
    const key = this.userKey(userId);
    const sids = (await this.redis.sMembers(key)).filter((sid) => sid !== keepSid);
    if (!sids.length) return 0;
    const ended = await this.redis.del(sids.map((sid) => this.prefix + sid));
    await this.redis.sRem(key, sids);
    return Number(ended);
  }
}

let store: session.Store | undefined;
let redisStore: FolioRedisStore | undefined;

/** The session store (created on first use, on the pool or the Redis connection of that time). */
function sessionStore(): session.Store {
  if (store) return store;
  const redis = config.REDIS_URL ? redisClient() : undefined;
  if (config.REDIS_URL && !redis) throw new Error("the session store was built before Redis was connected (connectRedis)");
  if (redis) {
    redisStore = new FolioRedisStore(redis, redisPrefix());
    store = throttleTouches(redisStore);
    return store;
  }
  // Without the app's pool, connect-pg-simple would quietly make its own to localhost:5432.
  if (!pool) throw new Error("the session store was built before the database was connected (connectDb)");
  store = throttleTouches(
    new PGStore({
      pool,
      tableName: "session",
      createTableIfMissing: false,
      // Expired rows are deleted by the recurring purge job (src/jobs/purges.ts), not by a timer in every process.
      pruneSessionInterval: false,
      errorLog: (...args: unknown[]) => logger.error({ args }, "session store error"),
    }),
  );
  return store;
}

/** Sessions are in Redis and Redis cannot be reached right now. */
const redisDown = () => redisStore !== undefined && !redisAvailable();

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** The site's 503 for an action that needs the session while its store is unreachable. */
function sessionsUnavailable(res: Response): HttpError {
  res.setHeader("Retry-After", String(RETRY_AFTER_SECONDS));
  return new HttpError(503, "The site is briefly unavailable. Please try again in a few seconds.");
}

/** Marks a cookie request served without its session (Redis unreachable): the rest of the session chain is skipped. */
const ANONYMOUS = Symbol("folio.sessionUnavailable");
type MaybeAnonymous = Request & { [ANONYMOUS]?: true };

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
  return (req, res, next) => {
    // Redis known to be down: no round trip that would fail anyway.
    if (redisDown() && hasSessionCookie(req)) return unavailable(req, res, next);
    let answered = false;
    middleware(req, res, (err?: unknown) => {
      // When the store cannot load the session (the database is restarting), express-session leaves
      // req.session unset but req.sessionID set, and with unset: "destroy" it then deletes that session
      // when the response ends: a database blip signed people out. Forgetting the id keeps the session.
      if (err && !req.session) delete (req as { sessionID?: string }).sessionID;
      if (answered) {
        // express-session reports a failed save/touch after the response (deferred next(err)): an
        // unreachable Redis is already logged once (src/cache/redis.ts); anything else is logged here.
        if (err && !(redisStore && isRedisUnavailable(err))) req.log?.error({ err }, "storing the session failed");
        return;
      }
      answered = true;
      if (err && redisStore && isRedisUnavailable(err)) return unavailable(req, res, next);
      next(err);
    });
  };
}

/** Redis unreachable: a safe request goes on as anonymous; any other is refused with the 503. */
function unavailable(req: Request, res: Response, next: (err?: unknown) => void): void {
  delete (req as { sessionID?: string }).sessionID;
  if (!SAFE_METHODS.has(req.method)) return next(sessionsUnavailable(res));
  (req as MaybeAnonymous)[ANONYMOUS] = true;
  next();
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
    if (!mw || (req as MaybeAnonymous)[ANONYMOUS]) return next();
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
  if (config.REDIS_URL) {
    if (!redisClient()) await connectRedis(); // a command (changepassword) that has not connected
    if (!redisStore) sessionStore();
    try {
      return await redisStore!.endUser(userId, keepSid);
    } catch (err) {
      if (!isRedisUnavailable(err)) throw err;
      throw new HttpError(503, "Sessions could not be ended: the session store (Redis) is unreachable. Please try again in a few seconds.");
    }
  }
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
