// Invitations: a user created in the admin (or anywhere on the admin's path: the account service's
// createUser) has no password. In the same transaction as the new account, an invitation mail is
// enqueued: "<admin> invited you to <site>; choose your password", with a link to
// /accounts/invite/<token>/ that works once, for INVITE_DAYS. The token is a password-reset token
// (src/accounts/reset.ts: hashed in its table, single use, a new one voids the earlier ones) with a
// longer life; its page says "Choose your password". Setting the password verifies the address (the
// link came to it). The admin's change form of a user who never set a password offers "Send the
// invitation again" (src/admin/user-invite.ts).
import { prisma } from "../db/index.ts";
import type { Tx } from "../jobs/index.ts";
import { enqueueMail } from "../mail/index.ts";
import { inviteMessage } from "../mail/messages.ts";
import { recordAction } from "../audit/index.ts";
import { absoluteUrl } from "../web/urls.ts";
import { displayName } from "./users.ts";
import { issueResetToken } from "./reset.ts";

export const INVITE_DAYS = 7;

/**
 * Issues a set-password token for `userId` and enqueues the invitation mail from `inviterId`, both in
 * `tx` (the transaction that created the account, or the resend's own). Returns the address mailed.
 */
export async function enqueueInvite(tx: Tx, userId: number, inviterId: number): Promise<string> {
  const names = { username: true, firstName: true, lastName: true } as const;
  const [user, inviter] = await Promise.all([
    tx.user.findUniqueOrThrow({ where: { id: userId }, select: { email: true, ...names } }),
    tx.user.findUnique({ where: { id: inviterId }, select: names }),
  ]);
  const token = await issueResetToken(userId, { ttlMs: INVITE_DAYS * 86_400_000, tx });
  const link = absoluteUrl("accounts:invite_accept", { token });
  await enqueueMail(
    tx,
    inviteMessage(user.email, { username: user.username, inviter: inviter ? displayName(inviter) : "An administrator", link, days: INVITE_DAYS }),
  );
  return user.email;
}

/** Has the account never had a password (an invited user who has not chosen one yet)? */
export async function awaitsPassword(userId: number): Promise<boolean> {
  const u = await prisma.user.findUnique({ where: { id: userId }, select: { passwordHash: true } });
  return !!u && u.passwordHash === "";
}

export class InviteNotNeeded extends Error {}

/**
 * "Send the invitation again": a new link (the earlier ones stop working) and an audit entry, one
 * transaction. InviteNotNeeded when the account is gone, inactive or has a password already.
 */
export async function resendInvite(userId: number, actor: { id: number }): Promise<string> {
  return prisma.$transaction(async (tx) => {
    const u = await tx.user.findUnique({ where: { id: userId }, select: { passwordHash: true, isActive: true, username: true } });
    if (!u || !u.isActive || u.passwordHash !== "")
      throw new InviteNotNeeded("This account does not wait for an invitation (it has a password, or is inactive).");
    const email = await enqueueInvite(tx, userId, actor.id);
    await recordAction(
      { userId: actor.id, action: "CHANGE", model: "accounts.user", objectId: userId, objectRepr: u.username, changes: { changed: ["invitation"] } },
      tx,
    );
    return email;
  });
}
