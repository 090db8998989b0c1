// Authentication: passport's local strategy (username or e-mail, case-insensitive, + password),
// the session (de)serialisation of the user, the throttled login attempt (one for the login form and the
// API's POST /auth/token), and login/logout helpers that get the session right.
import { randomBytes } from "node:crypto";
import type { Request, Response } from "express";
import passport from "passport";
import { Strategy as LocalStrategy } from "passport-local";
import { hashPassword, needsRehash, verifyPassword } from "./passwords.ts";
import { findForLogin, findSessionUser, recordLogin, type SessionUser } from "./users.ts";
import { deviceEntries, deviceEntryFor } from "./device.ts";
import { blockedFor, countAttempt, deviceLane, LOGIN_LANES, loginKeys, resetLane, type LaneEntry } from "./throttle.ts";
import { destroySession } from "../web/session.ts";
import { rotateCsrfToken } from "../web/csrf.ts";

/** The one message for an unknown account, a wrong password and an inactive account. */
export const LOGIN_FAILED = "Please enter a correct username (or e-mail) and password. Note that both fields may be case-sensitive.";

// Verified against when the account does not exist, so a miss costs as much as a wrong password.
let dummyHash: Promise<string> | undefined;
const getDummyHash = () => (dummyHash ??= hashPassword(randomBytes(24).toString("base64url")));

/**
 * The account for these credentials, or null. Always runs one argon2 verification (against a dummy
 * hash when the account is unknown), so timing does not reveal which usernames exist. Inactive
 * accounts fail like wrong passwords. A hash made with older parameters is re-made.
 */
async function authenticate(login: string, password: string): Promise<SessionUser | null> {
  const row = await findForLogin(login);
  // Unknown account or unusable hash (e.g. set-password-later accounts): still one full verification.
  const usable = !!row?.passwordHash.startsWith("$argon2");
  const ok = (await verifyPassword(usable ? row!.passwordHash : await getDummyHash(), password)) && usable;
  if (!row || !ok || !row.isActive) return null;
  const { passwordHash, ...user } = row;
  await recordLogin(user.id, needsRehash(passwordHash) ? await hashPassword(password) : undefined);
  return user;
}

passport.use(
  new LocalStrategy({ usernameField: "username", passwordField: "password", session: true }, (username, password, done) => {
    if (typeof username !== "string" || typeof password !== "string") return done(null, false, { message: LOGIN_FAILED });
    authenticate(username, password).then(
      (user) => done(null, user ?? false, user ? undefined : { message: LOGIN_FAILED }),
      (err) => done(err),
    );
  }),
);

passport.serializeUser((user, done) => done(null, (user as SessionUser).id));

passport.deserializeUser((id: unknown, done) => {
  if (typeof id !== "number") return done(null, false);
  findSessionUser(id).then(
    // A deleted or deactivated account is signed out on its next request.
    (user) => done(null, user && user.isActive ? user : false),
    (err) => done(err),
  );
});

export { passport };

/** passport's per-request set-up (req.login...): not run app-wide, see authPipeline(). */
const initialize = passport.initialize();

/** Runs the local strategy on this request's body: the user, or null with passport's message. */
function runLocalStrategy(req: Request, res: Response): Promise<SessionUser | null> {
  return new Promise((resolve, reject) => {
    passport.authenticate("local", { session: false }, (err: unknown, user: SessionUser | false) => {
      if (err) reject(err);
      else resolve(user || null);
    })(req, res, (err: unknown) => reject(err));
  });
}

/**
 * The lanes a login attempt is checked and counted in. A browser holding a valid device cookie for
 * the account named (src/accounts/device.ts) is judged by that cookie's own lane only, so failures
 * from elsewhere that block the username do not lock it out; once that lane is blocked itself, the
 * browser is treated like any other (OWASP's device cookie protocol).
 */
async function loginLanes(req: Request, login: string): Promise<{ lanes: LaneEntry[]; device: boolean }> {
  const keys = loginKeys(login, req.ip ?? "unknown");
  const untrusted = {
    lanes: [
      { lane: LOGIN_LANES.userIp, key: keys.userIp },
      { lane: LOGIN_LANES.user, key: keys.user },
      { lane: LOGIN_LANES.ip, key: keys.ip },
    ],
    device: false,
  };
  if (deviceEntries(req).length === 0) return untrusted;
  const account = await findForLogin(login);
  const entry = account ? deviceEntryFor(req, account.id) : undefined;
  if (!entry) return untrusted;
  const lane = deviceLane(entry.nonce);
  return (await blockedFor([lane.key])) > 0 ? untrusted : { lanes: [lane], device: true };
}

/** A throttled login attempt: the account, or why not (`retryAfter` > 0: throttled, seconds to wait; 0: LOGIN_FAILED). */
export type LoginAttempt = { user: SessionUser } | { user: null; retryAfter: number };

/**
 * One login attempt with `login` (username or e-mail) and the password in req.body, as the login form
 * and the API's POST /auth/token both make it (the same lanes, so failures through either count
 * toward both): refused while a lane is blocked, checked by the local strategy (one argon2
 * verification whatever the account), counted in each lane on failure, the username+IP lane (and the
 * device lane) reset on success. Starts no session: the caller does what a success means to it.
 */
export async function throttledLogin(req: Request, res: Response, login: string): Promise<LoginAttempt> {
  const { lanes, device } = await loginLanes(req, login);
  const wait = await blockedFor(lanes.map((l) => l.key));
  if (wait > 0) return { user: null, retryAfter: wait };
  const user = await runLocalStrategy(req, res);
  if (!user) {
    await countAttempt(lanes);
    return { user: null, retryAfter: 0 };
  }
  await resetLane(loginKeys(login, req.ip ?? "unknown").userIp);
  if (device) await resetLane(lanes[0]!.key);
  return { user };
}

/**
 * Signs `user` in on this request: a new session id (passport 0.7 regenerates the session, dropping
 * anything stored under the old id), the login time for the absolute timeout, and a fresh CSRF token.
 */
export function startSession(req: Request, res: Response, user: SessionUser): Promise<void> {
  // req.login comes from passport.session()/authenticate(), which ran on every request that reaches
  // here today (they all carry the session cookie their CSRF token needs); set it up if one did not.
  if (typeof req.logIn !== "function") initialize(req, res, () => undefined);
  return new Promise((resolve, reject) => {
    req.login(user, (err) => {
      if (err) return reject(err);
      req.session.authAt = Date.now();
      rotateCsrfToken(req);
      // Saved here, not only by the redirect that follows (saveSessionBeforeRedirect, src/web/response.ts,
      // which logs a failed save and redirects anyway): a sign-in the store did not take must fail
      // the request, not send the user on signed out. The redirect's save writes a second time.
      req.session.save((saveErr) => (saveErr ? reject(saveErr) : resolve()));
    });
  });
}

/** Signs out: the session row is deleted and the cookie cleared. */
export async function endSession(req: Request, res: Response): Promise<void> {
  await destroySession(req, res);
  req.user = undefined;
  res.locals.user = null;
}
