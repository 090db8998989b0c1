// Account pages: thin handlers that parse the form (zod), check throttles, call the service and render.
// Forms with errors are shown again with status 400, the messages next to their fields and the input
// kept (never passwords).
import type { Request, Response } from "express";
import { z } from "zod";
import { config } from "../config.ts";
import { forbidden, notFound } from "../web/errors.ts";
import { afterResponse } from "../web/after-response.ts";
import { pathId, safeRedirect } from "../web/inputs.ts";
import { favorite, FavoriteTargetMissing, unfavorite } from "../favorites/service.ts";
import { url } from "../web/urls.ts";
import { flash, takeFlash } from "../web/session.ts";
import { LOGIN_FAILED, endSession, startSession, throttledLogin } from "./auth.ts";
import { verifyPassword } from "./passwords.ts";
import { checkResetToken, completePasswordReset, requestPasswordReset } from "./reset.ts";
import { signOutEverywhere } from "./signout.ts";
import { rememberDevice } from "./device.ts";
import { completeSignupLater } from "./signup.ts";
import { can, refusalReason } from "./permissions.ts";
import * as verification from "./verify.ts";
import { VERIFY_TOKEN_DAYS } from "./verify.ts";
import { INVITE_DAYS } from "./invite.ts";
import { blockedFor, countAttempt, LOGIN_LANES, loginKeys, RESET_LANES, resetKeys, signupKeys } from "./throttle.ts";
import { passwordHashOf, setPassword, usernameTaken } from "./users.ts";
import { avatarChoice, avatarContext, BIO_MAX_LENGTH, hasAuthorPage, saveOwnAccount, setAvatar } from "./avatar.ts";
import { FieldErrors as SaveRefused } from "./service.ts";
import {
  checkNewPassword,
  emailField,
  keptValues,
  nameField,
  parseForm,
  passwordField,
  PASSWORD_MIN_LENGTH,
  text,
  usernameField,
  type FieldErrors,
} from "./validation.ts";

function page(res: Response, template: string, title: string, ctx: Record<string, unknown> = {}, status = 200) {
  res.locals.meta = { ...(res.locals.meta ?? {}), title, noindex: true };
  res.status(status).render(template, { passwordMinLength: PASSWORD_MIN_LENGTH, ...ctx });
}

function throttled(res: Response, seconds: number) {
  res.setHeader("Retry-After", String(seconds));
  page(res, "accounts/throttled.njk", "Too many attempts", { retryAfter: seconds, minutes: Math.ceil(seconds / 60) }, 429);
}

const ip = (req: Request) => req.ip ?? "unknown";

// --- login / logout -------------------------------------------------------------------------------

const loginSchema = z.object({
  username: text(254, { required: "Enter your username or e-mail address." }),
  password: passwordField("Enter your password."),
});

export const loginForm = (req: Request, res: Response): void => {
  const next = safeRedirect(req.query.next, "");
  page(res, "accounts/login.njk", "Log in", { values: { username: "" }, errors: {}, next, messages: takeFlash(req) });
};

export const login = async (req: Request, res: Response): Promise<void> => {
  const next = safeRedirect((req.body as Record<string, unknown>)?.next ?? req.query.next, "");
  const values = keptValues(req.body, ["username"]);
  const form = parseForm(loginSchema, req.body);
  if (!form.ok) return page(res, "accounts/login.njk", "Log in", { values, errors: form.errors, next }, 400);

  const attempt = await throttledLogin(req, res, form.data.username);
  if (attempt.user === null) {
    if (attempt.retryAfter > 0) return throttled(res, attempt.retryAfter);
    return page(res, "accounts/login.njk", "Log in", { values, errors: { __all__: LOGIN_FAILED }, next }, 400);
  }
  const { user } = attempt;
  rememberDevice(req, res, user.id);
  await startSession(req, res, user);
  res.redirect(303, next || url("blog:home"));
};

export const logoutConfirm = (req: Request, res: Response): void => {
  if (!req.user) return res.redirect(302, url("accounts:login"));
  page(res, "accounts/logout.njk", "Log out");
};

export const logout = async (req: Request, res: Response): Promise<void> => {
  await endSession(req, res);
  page(res, "accounts/logged_out.njk", "Logged out");
};

// --- sign-up --------------------------------------------------------------------------------------

const signupSchema = z.object({
  username: usernameField,
  email: emailField,
  password1: passwordField("Enter a password."),
  password2: passwordField("Enter the same password again."),
});

export const signupForm = (req: Request, res: Response): void => {
  if (!config.SIGNUP_ENABLED) throw notFound();
  page(res, "accounts/signup.njk", "Sign up", { values: { username: "", email: "" }, errors: {} });
};

/**
 * Sign-up never says whether the e-mail address has an account (see src/accounts/signup.ts): a
 * valid form is answered with the same "check your e-mail" page before the address is looked up,
 * and its owner learns the outcome by e-mail. A taken username is reported (usernames are public).
 * Every attempt counts against the per-address throttle, valid or not (the username check is an
 * oracle too); a valid one also counts against its e-mail address (bounding the mail one address
 * can be sent).
 */
export const signup = async (req: Request, res: Response): Promise<void> => {
  if (!config.SIGNUP_ENABLED) throw notFound();
  const values = keptValues(req.body, ["username", "email"]);
  const form = parseForm(signupSchema, req.body);
  const keys = signupKeys(ip(req), form.ok ? form.data.email : undefined);
  const wait = await blockedFor(keys.email ? [keys.ip.key, keys.email.key] : [keys.ip.key]);
  if (wait > 0) return throttled(res, wait);
  await countAttempt([keys.ip]);
  let errors: FieldErrors = form.ok ? {} : form.errors;
  if (form.ok) {
    const d = form.data;
    if (await usernameTaken(d.username)) errors.username = "A user with that username already exists.";
    errors = { ...checkNewPassword(d, { username: d.username, email: d.email }), ...errors };
  }
  if (!form.ok || Object.keys(errors).length) return page(res, "accounts/signup.njk", "Sign up", { values, errors }, 400);
  if (keys.email) await countAttempt([keys.email]);
  completeSignupLater({ username: form.data.username, email: form.data.email, password: form.data.password1 }, req.log);
  res.redirect(303, url("accounts:signup_done"));
};

export const signupDone = (_req: Request, res: Response): void => {
  if (!config.SIGNUP_ENABLED) throw notFound();
  page(res, "accounts/signup_done.njk", "Check your e-mail");
};

// --- password change (signed in) ------------------------------------------------------------------

const changeSchema = z.object({
  old_password: passwordField("Enter your current password."),
  new_password1: passwordField("Enter a new password."),
  new_password2: passwordField("Enter the same password again."),
});

export const passwordChangeForm = (_req: Request, res: Response): void => {
  page(res, "accounts/password_change.njk", "Change password", { errors: {} });
};

export const passwordChange = async (req: Request, res: Response): Promise<void> => {
  const user = req.user!;
  const form = parseForm(changeSchema, req.body);
  if (!form.ok) return page(res, "accounts/password_change.njk", "Change password", { errors: form.errors }, 400);
  const keys = loginKeys(user.username, ip(req));
  const wait = await blockedFor([keys.userIp]);
  if (wait > 0) return throttled(res, wait);
  const hash = await passwordHashOf(user.id);
  if (!hash || !(await verifyPassword(hash, form.data.old_password))) {
    await countAttempt([{ lane: LOGIN_LANES.userIp, key: keys.userIp }]);
    return page(
      res,
      "accounts/password_change.njk",
      "Change password",
      {
        errors: { old_password: "Your old password was entered incorrectly. Please enter it again." },
      },
      400,
    );
  }
  const errors = checkNewPassword(
    { password1: form.data.new_password1, password2: form.data.new_password2 },
    { username: user.username, email: user.email, firstName: user.firstName, lastName: user.lastName },
  );
  if (errors.password1) errors.new_password1 = errors.password1;
  if (errors.password2) errors.new_password2 = errors.password2;
  delete errors.password1;
  delete errors.password2;
  if (Object.keys(errors).length) return page(res, "accounts/password_change.njk", "Change password", { errors }, 400);

  await setPassword(user.id, form.data.new_password1);
  // Every other session of this account ends (and its API refresh tokens); this one continues under a new id.
  await signOutEverywhere(user.id, req.sessionID);
  await startSession(req, res, user);
  flash(req, "success", "Your password was changed. You were signed out everywhere else.");
  res.redirect(303, url("accounts:profile"));
};

// --- password reset by e-mail ---------------------------------------------------------------------

const resetSchema = z.object({ email: emailField });

export const passwordResetForm = (_req: Request, res: Response): void => {
  page(res, "accounts/password_reset.njk", "Password reset", { values: { email: "" }, errors: {} });
};

export const passwordReset = async (req: Request, res: Response): Promise<void> => {
  const values = keptValues(req.body, ["email"]);
  const form = parseForm(resetSchema, req.body);
  if (!form.ok) return page(res, "accounts/password_reset.njk", "Password reset", { values, errors: form.errors }, 400);
  const keys = resetKeys(form.data.email, ip(req));
  const wait = await blockedFor([keys.email, keys.ip]);
  if (wait > 0) return throttled(res, wait);
  await countAttempt([
    { lane: RESET_LANES.email, key: keys.email },
    { lane: RESET_LANES.ip, key: keys.ip },
  ]);
  // Looked up and mailed after the answer: same page, same timing, whether or not the address exists.
  const email = form.data.email;
  afterResponse("password reset mail failed", () => requestPasswordReset(email), req.log);
  res.redirect(303, url("accounts:password_reset_done"));
};

export const passwordResetDone = (_req: Request, res: Response): void => {
  page(res, "accounts/password_reset_done.njk", "Password reset sent");
};

const resetConfirmSchema = z.object({
  new_password1: passwordField("Enter a new password."),
  new_password2: passwordField("Enter the same password again."),
});

/** The new password of a reset or invitation form, or null with the field errors. */
function newPasswordForm(body: unknown, user: Parameters<typeof checkNewPassword>[1]): { password: string | null; errors: FieldErrors } {
  const form = parseForm(resetConfirmSchema, body);
  if (!form.ok) return { password: null, errors: form.errors };
  const e = checkNewPassword({ password1: form.data.new_password1, password2: form.data.new_password2 }, user);
  const errors: FieldErrors = {};
  if (e.password1) errors.new_password1 = e.password1;
  if (e.password2) errors.new_password2 = e.password2;
  return Object.keys(errors).length ? { password: null, errors } : { password: form.data.new_password1, errors };
}

const tokenParam = (req: Request) => (typeof req.params.token === "string" ? req.params.token : "");

export const passwordResetConfirmForm = async (req: Request, res: Response): Promise<void> => {
  // The page's URL holds the live token: never sent on as a Referer (the log masks it: src/web/logger.ts).
  res.setHeader("Referrer-Policy", "no-referrer");
  const user = await checkResetToken(tokenParam(req));
  if (!user) return page(res, "accounts/password_reset_confirm.njk", "Password reset unsuccessful", { validlink: false }, 400);
  page(res, "accounts/password_reset_confirm.njk", "Enter new password", { validlink: true, errors: {}, token: tokenParam(req) });
};

export const passwordResetConfirm = async (req: Request, res: Response): Promise<void> => {
  res.setHeader("Referrer-Policy", "no-referrer");
  const token = tokenParam(req);
  const user = await checkResetToken(token);
  if (!user) return page(res, "accounts/password_reset_confirm.njk", "Password reset unsuccessful", { validlink: false }, 400);
  const { password, errors } = newPasswordForm(req.body, user);
  if (password === null) return page(res, "accounts/password_reset_confirm.njk", "Enter new password", { validlink: true, errors, token }, 400);
  const done = await completePasswordReset(token, password);
  if (!done) return page(res, "accounts/password_reset_confirm.njk", "Password reset unsuccessful", { validlink: false }, 400);
  res.redirect(303, url("accounts:password_reset_complete"));
};

export const passwordResetComplete = (_req: Request, res: Response): void => {
  page(res, "accounts/password_reset_complete.njk", "Password reset complete");
};

// --- e-mail verification ------------------------------------------------------------------------

/** The page of a verification link: a button (GET: link scanners prefetch), or why the link does not work (400). */
export const verifyEmailForm = async (req: Request, res: Response): Promise<void> => {
  res.setHeader("Referrer-Policy", "no-referrer");
  const token = tokenParam(req);
  const check = await verification.checkVerificationToken(token);
  if (!check.ok) return page(res, "accounts/verify_email.njk", "Link not valid", { valid: false, reason: check.reason, days: VERIFY_TOKEN_DAYS }, 400);
  page(res, "accounts/verify_email.njk", "Confirm your e-mail address", { valid: true, token });
};

export const verifyEmail = async (req: Request, res: Response): Promise<void> => {
  res.setHeader("Referrer-Policy", "no-referrer");
  const check = await verification.verifyEmail(tokenParam(req));
  if (!check.ok) return page(res, "accounts/verify_email.njk", "Link not valid", { valid: false, reason: check.reason, days: VERIFY_TOKEN_DAYS }, 400);
  flash(req, "success", "Your e-mail address is confirmed. Thank you!");
  res.redirect(303, req.user ? url("accounts:profile") : url("accounts:login"));
};

/** "Send the link again" (profile page, favorite notice): rate-limited per account. */
export const verifyResend = async (req: Request, res: Response): Promise<void> => {
  const back = safeRedirect((req.body as Record<string, unknown>)?.next, url("accounts:profile"));
  const r = await verification.resendVerification(req.user!.id);
  if (r.sent) flash(req, "success", `We sent a new confirmation link to ${r.email}. It works for ${VERIFY_TOKEN_DAYS} days.`);
  else if (r.reason === "throttled") return throttled(res, r.retryAfter);
  else if (r.reason === "verified") flash(req, "info", "Your e-mail address is already confirmed.");
  res.redirect(303, back);
};

// --- invitation: choose your password -------------------------------------------------------------

const INVITE_TEMPLATE = "accounts/invite_accept.njk";

export const inviteForm = async (req: Request, res: Response): Promise<void> => {
  res.setHeader("Referrer-Policy", "no-referrer");
  const user = await checkResetToken(tokenParam(req));
  if (!user) return page(res, INVITE_TEMPLATE, "Invitation link not valid", { validlink: false, days: INVITE_DAYS }, 400);
  page(res, INVITE_TEMPLATE, "Choose your password", { validlink: true, errors: {}, token: tokenParam(req), username: user.username });
};

export const inviteAccept = async (req: Request, res: Response): Promise<void> => {
  res.setHeader("Referrer-Policy", "no-referrer");
  const token = tokenParam(req);
  const user = await checkResetToken(token);
  if (!user) return page(res, INVITE_TEMPLATE, "Invitation link not valid", { validlink: false, days: INVITE_DAYS }, 400);
  const { password, errors } = newPasswordForm(req.body, user);
  if (password === null) return page(res, INVITE_TEMPLATE, "Choose your password", { validlink: true, errors, token, username: user.username }, 400);
  // The reset machinery: the token used once, the password set, the address verified.
  if (!(await completePasswordReset(token, password)))
    return page(res, INVITE_TEMPLATE, "Invitation link not valid", { validlink: false, days: INVITE_DAYS }, 400);
  flash(req, "success", `Your password is set. Sign in as ${user.username}.`);
  res.redirect(303, url("accounts:login"));
};

// --- favorites from the post page -----------------------------------------------------------------

/**
 * POST /accounts/favorites/<post id>/ (remove=1 to remove): the same rule as the API (post.favorite).
 * An unverified user gets a notice (403) with a "send the link again" button instead.
 */
export const favoritePost = async (req: Request, res: Response): Promise<void> => {
  const user = req.user!;
  const body = (req.body ?? {}) as Record<string, unknown>;
  const back = safeRedirect(body.next, url("blog:home"));
  const id = pathId(req.params.id); // no such post can exist (404), whoever asks
  if (!can(user, "post.favorite")) {
    const unverified = refusalReason(user, "post.favorite") === "unverified";
    return page(res, "accounts/favorite_refused.njk", "Confirm your e-mail address first", { unverified, next: back }, 403);
  }
  try {
    if (body.remove === "1") await unfavorite(user.id, id);
    else await favorite(user.id, id);
  } catch (e) {
    if (e instanceof FavoriteTargetMissing) throw notFound();
    throw e;
  }
  res.redirect(303, back);
};

// --- profile --------------------------------------------------------------------------------------
// Names for everyone; writers (post.create) also set the bio and avatar their author pages show
// (src/accounts/avatar.ts). Saved through the one user save path (updateUser: audit entry, version).

const profileSchema = z.object({ first_name: nameField, last_name: nameField, bio: text(BIO_MAX_LENGTH, { allowNewlines: true }) });

async function profilePage(req: Request, res: Response, ctx: Record<string, unknown> = {}, status = 200): Promise<void> {
  const u = req.user!;
  const avatar = await avatarContext(u);
  page(
    res,
    "accounts/profile.njk",
    "Your profile",
    {
      values: { first_name: u.firstName, last_name: u.lastName, bio: avatar.bio ?? "" },
      errors: {},
      messages: takeFlash(req),
      unverified: !u.emailVerifiedAt,
      bioMax: BIO_MAX_LENGTH,
      ...avatar,
      ...ctx,
    },
    status,
  );
}

export const profile = (req: Request, res: Response): Promise<void> => profilePage(req, res);

export const profileUpdate = async (req: Request, res: Response): Promise<void> => {
  const form = parseForm(profileSchema, req.body);
  if (!form.ok) return profilePage(req, res, { values: keptValues(req.body, ["first_name", "last_name", "bio"]), errors: form.errors }, 400);
  const u = req.user!;
  const change = { firstName: form.data.first_name, lastName: form.data.last_name, ...(hasAuthorPage(u) ? { bio: form.data.bio } : {}) };
  await saveOwnAccount(u, change);
  flash(req, "success", "Your profile was saved.");
  res.redirect(303, url("accounts:profile"));
};

/** POST /accounts/profile/avatar/ (writers): `avatar_id` of an image uploaded by the page's script, or `remove=1`. */
export const avatarUpdate = async (req: Request, res: Response): Promise<void> => {
  const u = req.user!;
  if (!hasAuthorPage(u)) throw forbidden("Only writers have an avatar.");
  const choice = avatarChoice(req.body);
  if (!choice) return profilePage(req, res, { avatarError: "Choose an image to upload first." }, 400);
  try {
    await setAvatar(u, choice.mediaId);
  } catch (e) {
    if (e instanceof SaveRefused) return profilePage(req, res, { avatarError: Object.values(e.fields)[0] ?? e.message }, 400);
    throw e;
  }
  flash(req, "success", choice.mediaId === null ? "Your avatar was removed." : "Your avatar was saved.");
  res.redirect(303, url("accounts:profile"));
};

export const logoutEverywhere = async (req: Request, res: Response): Promise<void> => {
  await signOutEverywhere(req.user!.id);
  await endSession(req, res);
  page(res, "accounts/logged_out.njk", "Logged out", { everywhere: true });
};
