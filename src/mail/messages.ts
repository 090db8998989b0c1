// The text of the account e-mails (sign-up, verification, invitation, "your post was published").
// Each function returns a Message for enqueueMail(); links are absolute, built from SITE_URL and named
// routes (never from the request's Host header). Sign-up answers every valid form with the same "check
// your e-mail" page, so these messages are where the two cases part: a new address gets the
// verification link, an address that already has an account gets a notice that someone tried to sign
// up with it (Django-allauth's and Ghost's approach).
import { config } from "../config.ts";
import { absoluteUrl } from "../web/urls.ts";
import type { Message } from "./index.ts";

const signature = () => `The ${config.SITE_NAME} team`;

/** To a new account's address: confirm it by following the link (src/accounts/verify.ts). */
export function verificationMessage(to: string, username: string, link: string, days: number): Message {
  return {
    to,
    subject: `Confirm your e-mail address on ${config.SITE_NAME}`,
    text: [
      `Your account on ${config.SITE_NAME} is ready. Your username is ${username}.`,
      "",
      "Please confirm that this is your e-mail address by opening this link and pressing the button on its page:",
      "",
      link,
      "",
      `The link works for ${days} days. You can sign in already; favorites wait until the address is confirmed.`,
      "",
      `If you did not sign up on ${config.SITE_NAME}, someone else used your e-mail address: ignore this message and the address stays unconfirmed.`,
      "",
      signature(),
    ].join("\n"),
  };
}

/** To a user an admin created: choose a password through the link (src/accounts/invite.ts). */
export function inviteMessage(to: string, opts: { username: string; inviter: string; link: string; days: number }): Message {
  return {
    to,
    subject: `${opts.inviter} invited you to ${config.SITE_NAME}`,
    text: [
      `${opts.inviter} invited you to ${config.SITE_NAME}. Your username is ${opts.username}.`,
      "",
      "Choose your password here:",
      "",
      opts.link,
      "",
      `The link works once, for ${opts.days} days. If it has expired, ask ${opts.inviter} to send the invitation again, or choose a password through "Forgot your password?" on the sign-in page:`,
      "",
      absoluteUrl("accounts:password_reset"),
      "",
      signature(),
    ].join("\n"),
  };
}

/** To a post's author: an editor published (or scheduled) it (the job of src/posts/hooks.ts builds it when it runs). */
export function postPublishedMessage(to: string, opts: { title: string; publisher: string; link: string; scheduledFor: Date | null }): Message {
  const when = opts.scheduledFor ? `scheduled for ${opts.scheduledFor.toUTCString()}` : "published";
  return {
    to,
    subject: opts.scheduledFor ? `Your post “${opts.title}” is scheduled` : `Your post “${opts.title}” was published`,
    text: [
      `${opts.publisher} ${opts.scheduledFor ? "scheduled" : "published"} your post “${opts.title}” on ${config.SITE_NAME}: it is ${when}.`,
      "",
      opts.scheduledFor ? "It will be at this address from then on:" : "Read it here:",
      "",
      opts.link,
      "",
      signature(),
    ].join("\n"),
  };
}

/** To the owner of an existing account: someone tried to sign up with their address. */
export function signupExistingAccountMessage(to: string, username: string): Message {
  return {
    to,
    subject: `Sign-up attempt on ${config.SITE_NAME}`,
    text: [
      `Someone tried to create an account on ${config.SITE_NAME} with this e-mail address, which already belongs to your account (username: ${username}). No new account was created.`,
      "",
      "If it was you, you already have an account. Sign in here:",
      "",
      absoluteUrl("accounts:login"),
      "",
      "Forgot your password? Choose a new one here:",
      "",
      absoluteUrl("accounts:password_reset"),
      "",
      "If it was not you, you can ignore this message: your account is unchanged.",
      "",
      signature(),
    ].join("\n"),
  };
}

/** To a new address whose sign-up lost its username to another sign-up in the same moment. */
export function signupNotCompletedMessage(to: string, username: string): Message {
  return {
    to,
    subject: `Your sign-up on ${config.SITE_NAME} was not completed`,
    text: [
      `You asked for an account on ${config.SITE_NAME} with the username ${username}, but someone took that username at the same moment. No account was created.`,
      "",
      "Please sign up again with another username:",
      "",
      absoluteUrl("accounts:signup"),
      "",
      signature(),
    ].join("\n"),
  };
}
