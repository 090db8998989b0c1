// E-mail address verification (Django-allauth's mandatory verification, lite): a new account made by
// the sign-up form is unverified (User.emailVerifiedAt null) and is mailed a link to
// /accounts/verify/<token>/. An unverified user may sign in but not favorite (permissions.ts: the
// `verified` grant). Completing a password reset or an invitation verifies the address too (the user
// read a link sent to it).
//
// The token is stateless and signed: "<user id>-<expiry>-<HMAC-SHA256>" (base 36 numbers), the HMAC
// over the user id, the expiry AND the e-mail address, under a key derived from SESSION_SECRET for
// this one purpose. So it needs no table, expires after VERIFY_TOKEN_DAYS, and stops working when the
// address changes (the mail went to the old one). Verifying twice is harmless (the first time is kept).
// The GET page only shows a button (link scanners prefetch GETs); the POST, with its CSRF token, verifies.
import { createHmac, timingSafeEqual } from "node:crypto";
import { prisma } from "../db/index.ts";
import type { Tx } from "../jobs/index.ts";
import { enqueueMail } from "../mail/index.ts";
import { verificationMessage } from "../mail/messages.ts";
import { absoluteUrl } from "../web/urls.ts";
import { purposeKey } from "../web/keys.ts";
import { blockedFor, countAttempt, type LaneEntry } from "./throttle.ts";

export const VERIFY_TOKEN_DAYS = 3;
const TOKEN_RE = /^([1-9][0-9a-z]{0,9})-([0-9a-z]{1,10})-([A-Za-z0-9_-]{43})$/;

/** SESSION_SECRET, derived for this one purpose (src/web/keys.ts). */
const hmacKey = (): Buffer => purposeKey("email verification");

const sign = (userId: number, expires: string, email: string) =>
  createHmac("sha256", hmacKey()).update(`${userId}\u0000${expires}\u0000${email.toLowerCase()}`).digest("base64url");

/** A verification token for `user`'s current address, good for VERIFY_TOKEN_DAYS from `now`. */
export function verificationToken(user: { id: number; email: string }, now = Date.now()): string {
  const expires = Math.floor(now / 1000 + VERIFY_TOKEN_DAYS * 86_400).toString(36);
  return `${user.id.toString(36)}-${expires}-${sign(user.id, expires, user.email)}`;
}

export type TokenCheck = { ok: true; userId: number } | { ok: false; reason: "invalid" | "expired" };

/**
 * Checks `token` against the account it names: well-formed, signed for that account's CURRENT address,
 * unexpired. An unknown account, a tampered token and another address's token are all "invalid".
 */
export async function checkVerificationToken(token: string, now = Date.now()): Promise<TokenCheck> {
  const m = TOKEN_RE.exec(token);
  if (!m) return { ok: false, reason: "invalid" };
  const userId = parseInt(m[1]!, 36);
  if (!Number.isSafeInteger(userId) || userId > 2_147_483_647) return { ok: false, reason: "invalid" };
  const user = await prisma.user.findUnique({ where: { id: userId }, select: { email: true, isActive: true } });
  if (!user || !user.isActive) return { ok: false, reason: "invalid" };
  const expected = Buffer.from(sign(userId, m[2]!, user.email));
  const given = Buffer.from(m[3]!);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: "invalid" };
  if (parseInt(m[2]!, 36) * 1000 <= now) return { ok: false, reason: "expired" };
  return { ok: true, userId };
}

/** Verifies the address `token` was made for. Already verified: unchanged (and still ok). */
export async function verifyEmail(token: string): Promise<TokenCheck> {
  const check = await checkVerificationToken(token);
  if (check.ok) await markVerified(prisma, check.userId);
  return check;
}

/** Marks the user's address verified now, unless it already was (in `db`: the reset's or invite's transaction). */
export async function markVerified(db: Pick<typeof prisma, "user">, userId: number): Promise<void> {
  await db.user.updateMany({ where: { id: userId, emailVerifiedAt: null }, data: { emailVerifiedAt: new Date() } });
}

/** Enqueues the verification mail for `user` in `tx` (the transaction that made the account; null: on its own). */
export async function enqueueVerification(tx: Tx | null, user: { id: number; email: string; username: string }): Promise<void> {
  const link = absoluteUrl("accounts:verify_email", { token: verificationToken(user) });
  await enqueueMail(tx, verificationMessage(user.email, user.username, link, VERIFY_TOKEN_DAYS));
}

// "Send the link again": 3 links per account, then growing waits (15 s doubling, capped at 15 minutes;
// counts forgotten after 24 h: src/accounts/throttle.ts's lanes). A lane blocks after the attempt that
// passes its allowance, so `free: 2` lets the third through and refuses the fourth.
const RESEND_LANE = { name: "verify_resend", free: 2 };
const resendLane = (userId: number): LaneEntry => ({ lane: RESEND_LANE, key: `${RESEND_LANE.name}:${userId}` });

export type ResendResult =
  { sent: true; email: string } | { sent: false; reason: "verified" | "gone" } | { sent: false; reason: "throttled"; retryAfter: number };

/** Mails a new link to the signed-in, unverified user `userId`, within the resend lane's limit. */
export async function resendVerification(userId: number): Promise<ResendResult> {
  const user = await prisma.user.findUnique({
    where: { id: userId },
    select: { id: true, email: true, username: true, isActive: true, emailVerifiedAt: true },
  });
  if (!user || !user.isActive) return { sent: false, reason: "gone" };
  if (user.emailVerifiedAt) return { sent: false, reason: "verified" };
  const lane = resendLane(userId);
  const wait = await blockedFor([lane.key]);
  if (wait > 0) return { sent: false, reason: "throttled", retryAfter: wait };
  await countAttempt([lane]);
  await enqueueVerification(null, user);
  return { sent: true, email: user.email };
}
