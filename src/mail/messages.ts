// The text of the account e-mails a sign-up sends. Each function returns a Message for sendMail();
// links are absolute, built from SITE_URL and named routes (never from the request's Host header).
// Sign-up answers every valid form with the same "check your e-mail" page, so these messages are
// where the two cases part: a new address gets the welcome, an address that already has an account
// gets a notice that someone tried to sign up with it (Django-allauth's and Ghost's approach).
import { config } from "../config.ts";
import { absoluteUrl } from "../web/urls.ts";
import type { Message } from "./index.ts";

const signature = () => `The ${config.SITE_NAME} team`;

/** To a new account's address: the account exists and how to sign in. */
export function welcomeMessage(to: string, username: string): Message {
  return {
    to,
    subject: `Welcome to ${config.SITE_NAME}`,
    text: [
      `Your account on ${config.SITE_NAME} is ready. Your username is ${username}.`,
      "",
      "Sign in with it and the password you chose:",
      "",
      absoluteUrl("accounts:login"),
      "",
      `If you did not sign up on ${config.SITE_NAME}, someone else used your e-mail address. The account is tied to this address: you can take it over by choosing a new password here:`,
      "",
      absoluteUrl("accounts:password_reset"),
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
