// Account URLs (named like Django's django.contrib.auth.urls).
import { Router } from "express";
import { route } from "../web/urls.ts";
import { requireLogin } from "./middleware.ts";
import * as c from "./controller.ts";

export const accountsRouter = Router();

// Pages with forms and personal data: never cached anywhere.
accountsRouter.use("/accounts", (_req, res, next) => {
  res.setHeader("Cache-Control", "private, no-store");
  next();
});

const login = route("accounts:login", "/accounts/login/");
accountsRouter.get(login, c.loginForm);
accountsRouter.post(login, c.login);

const logout = route("accounts:logout", "/accounts/logout/");
accountsRouter.get(logout, c.logoutConfirm);
accountsRouter.post(logout, c.logout);

const signup = route("accounts:signup", "/accounts/signup/");
accountsRouter.get(signup, c.signupForm);
accountsRouter.post(signup, c.signup);
accountsRouter.get(route("accounts:signup_done", "/accounts/signup/done/"), c.signupDone);

const change = route("accounts:password_change", "/accounts/password/change/");
accountsRouter.get(change, requireLogin, c.passwordChangeForm);
accountsRouter.post(change, requireLogin, c.passwordChange);

const reset = route("accounts:password_reset", "/accounts/password/reset/");
accountsRouter.get(reset, c.passwordResetForm);
accountsRouter.post(reset, c.passwordReset);
accountsRouter.get(route("accounts:password_reset_done", "/accounts/password/reset/done/"), c.passwordResetDone);
accountsRouter.get(route("accounts:password_reset_complete", "/accounts/password/reset/complete/"), c.passwordResetComplete);

const confirm = route("accounts:password_reset_confirm", "/accounts/reset/:token/");
accountsRouter.get(confirm, c.passwordResetConfirmForm);
accountsRouter.post(confirm, c.passwordResetConfirm);

// E-mail verification (src/accounts/verify.ts): GET shows a button, the POST (with CSRF) verifies.
const verify = route("accounts:verify_email", "/accounts/verify/:token/");
accountsRouter.get(verify, c.verifyEmailForm);
accountsRouter.post(verify, c.verifyEmail);
accountsRouter.post(route("accounts:verify_resend", "/accounts/email/resend/"), requireLogin, c.verifyResend);

// An invitation's "Choose your password" (src/accounts/invite.ts): a password-reset token with its own page.
const invite = route("accounts:invite_accept", "/accounts/invite/:token/");
accountsRouter.get(invite, c.inviteForm);
accountsRouter.post(invite, c.inviteAccept);

// Favoriting from a post's page (the API's POST/DELETE /posts/{id}/favorite, for the browser).
accountsRouter.post(route("accounts:favorite", "/accounts/favorites/:id/"), requireLogin, c.favoritePost);

const profile = route("accounts:profile", "/accounts/profile/");
accountsRouter.get(profile, requireLogin, c.profile);
accountsRouter.post(profile, requireLogin, c.profileUpdate);
accountsRouter.post(route("accounts:avatar", "/accounts/profile/avatar/"), requireLogin, c.avatarUpdate); // writers' avatar (avatar.ts)
accountsRouter.post(route("accounts:logout_everywhere", "/accounts/profile/logout-everywhere/"), requireLogin, c.logoutEverywhere);
