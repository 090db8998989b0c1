// Password reset by e-mail.
//  - The token is 32 random bytes (base64url) and exists only in the e-mailed link; the table keeps
//    its sha256. It works once, for RESET_TOKEN_TTL_MS, and asking again voids the earlier ones.
//  - The mail is a job (enqueueMail), enqueued in the transaction that writes the token: both or neither.
//  - The link is built from SITE_URL and the named route (never from the request's Host header).
//  - Setting the new password ends every session of the account (and its API refresh tokens) and does
//    not sign anyone in.
import { createHash, randomBytes } from "node:crypto";
import { prisma, type Prisma } from "../db/index.ts";
import { withClient } from "../db/client.ts";
import { absoluteUrl } from "../web/urls.ts";
import { enqueueMail, type Message } from "../mail/index.ts";
import { config } from "../config.ts";
import { hashPassword } from "./passwords.ts";
import { signOutEverywhere } from "./signout.ts";

const RESET_TOKEN_TTL_MS = 60 * 60 * 1000;
const TOKEN_RE = /^[A-Za-z0-9_-]{43}$/;

const hashToken = (token: string) => createHash("sha256").update(token).digest("hex");

/**
 * Creates a token for the user (voiding their unused ones) and returns the plain token. `ttlMs`: how long
 * it works (an invitation's is 7 days: src/accounts/invite.ts); `tx`: inside the caller's transaction.
 */
export async function issueResetToken(userId: number, opts: { ttlMs?: number; tx?: Prisma.TransactionClient } = {}): Promise<string> {
  const token = randomBytes(32).toString("base64url");
  const write = async (db: Prisma.TransactionClient) => {
    await db.passwordResetToken.updateMany({ where: { userId, usedAt: null }, data: { usedAt: new Date() } });
    await db.passwordResetToken.create({
      data: { userId, tokenHash: hashToken(token), expiresAt: new Date(Date.now() + (opts.ttlMs ?? RESET_TOKEN_TTL_MS)) },
    });
  };
  await (opts.tx ? write(opts.tx) : prisma.$transaction(write));
  return token;
}

/**
 * Handles a reset request for `email`: when an active account has that address, a link is mailed.
 * Returns nothing either way (the page says the same thing whether or not the address exists). The
 * token and its mail job are written in one transaction: both or neither (a worker sends the mail).
 */
export async function requestPasswordReset(email: string): Promise<void> {
  await prisma.$transaction(async (tx) => {
    const user = await tx.user.findFirst({
      where: { email: email.toLowerCase(), isActive: true },
      select: { id: true, username: true, email: true },
    });
    if (!user) return;
    const token = await issueResetToken(user.id, { tx });
    await enqueueMail(tx, resetMessage(user, absoluteUrl("accounts:password_reset_confirm", { token })));
  });
}

function resetMessage(user: { username: string; email: string }, link: string): Message {
  return {
    to: user.email,
    subject: `Password reset on ${config.SITE_NAME}`,
    text: [
      `You're receiving this e-mail because you requested a password reset for your account at ${config.SITE_NAME}.`,
      "",
      "Please go to the following page and choose a new password:",
      "",
      link,
      "",
      `Your username, in case you've forgotten: ${user.username}`,
      "",
      "The link works once, for one hour. If you did not ask for this, ignore this e-mail: your password stays as it is.",
      "",
      `The ${config.SITE_NAME} team`,
    ].join("\n"),
  };
}

/** The user a still-valid token belongs to (null: malformed, unknown, used or expired). Does not consume it. */
export async function checkResetToken(token: string): Promise<{ id: number; username: string; email: string; firstName: string; lastName: string } | null> {
  if (!TOKEN_RE.test(token)) return null;
  const row = await prisma.passwordResetToken.findFirst({
    where: { tokenHash: hashToken(token), usedAt: null, expiresAt: { gt: new Date() }, user: { isActive: true } },
    select: { user: { select: { id: true, username: true, email: true, firstName: true, lastName: true } } },
  });
  return row?.user ?? null;
}

/**
 * Consumes the token and sets the password, atomically (two concurrent uses: one wins). Ends all the
 * user's sessions and API refresh tokens. Returns false when the token was not valid any more.
 */
export async function completePasswordReset(token: string, password: string): Promise<boolean> {
  if (!TOKEN_RE.test(token)) return false;
  const passwordHash = await hashPassword(password);
  const userId = await withClient(async (client) => {
    try {
      await client.query("BEGIN");
      const used = await client.query<{ userId: number }>(
        `UPDATE "PasswordResetToken" SET "usedAt" = now()
          WHERE "tokenHash" = $1 AND "usedAt" IS NULL AND "expiresAt" > now() RETURNING "userId"`,
        [hashToken(token)],
      );
      const id = used.rows[0]?.userId;
      if (id === undefined) {
        await client.query("ROLLBACK");
        return undefined;
      }
      await client.query(`UPDATE "PasswordResetToken" SET "usedAt" = now() WHERE "userId" = $1 AND "usedAt" IS NULL`, [id]);
      // The link came to the account's mailbox: the address is verified too (src/accounts/verify.ts).
      await client.query(`UPDATE "User" SET "passwordHash" = $1, "emailVerifiedAt" = coalesce("emailVerifiedAt", now()) WHERE id = $2`, [passwordHash, id]);
      await client.query("COMMIT");
      return id;
    } catch (e) {
      await client.query("ROLLBACK").catch(() => {});
      throw e;
    }
  });
  if (userId === undefined) return false;
  await signOutEverywhere(userId);
  return true;
}
