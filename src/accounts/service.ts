// THE save path for user accounts' profile fields (the admin's user form and actions and the API call
// these): the versioned save of src/db/saves.ts (audit entry, version check, unique username and
// e-mail), plus the account rules: a changed e-mail address is not verified any more and is mailed a
// verification link (src/accounts/verify.ts) in the same transaction; an admin cannot lock themself out (demote or deactivate their own
// account: after the change they must still be allowed to manage users), nor delete their own account,
// and a deactivated account is signed out everywhere (its sessions and API refresh tokens end).
import type { Role } from "../generated/prisma/client.ts";
import { forbidden } from "../web/errors.ts";
import { FieldErrors, versionedSaves, type Saved, type Saver } from "../db/saves.ts";
import { rolesWith } from "./permissions.ts";
import { signOutEverywhere } from "./signout.ts";
import { enqueueInvite } from "./invite.ts";
import { enqueueVerification } from "./verify.ts";

export { FieldErrors, NotFoundError, StaleVersionError } from "../db/saves.ts";

const users = versionedSaves({
  model: "user",
  audit: "accounts.user",
  fields: ["username", "email", "firstName", "lastName", "role", "isActive", "bio", "avatarId"],
  repr: (o) => String(o.username),
  prepare: (d) => ({ ...d, email: typeof d.email === "string" ? d.email.toLowerCase() : d.email }),
});

/** The saved columns and label of an account (the admin's form shows these). */
export const USER = users.spec;

export interface UserChange {
  username?: string;
  email?: string;
  firstName?: string;
  lastName?: string;
  role?: Role;
  isActive?: boolean;
  bio?: string;
  /** The avatar: a Media id (the profile page, src/accounts/avatar.ts), null for none. */
  avatarId?: number | null;
}

export const SELF_LOCKOUT_MESSAGE = "You cannot remove your own admin role or deactivate yourself; ask another admin.";

/** Changes the fields given (others keep their values), saved only over `expectedVersion`. */
export async function updateUser(id: number, expectedVersion: number, change: UserChange, actor: Saver): Promise<Saved> {
  const demotes = change.role !== undefined && !rolesWith("user.change").includes(change.role);
  if (id === actor.id && (demotes || change.isActive === false))
    throw new FieldErrors({ [change.role !== undefined ? "role" : "isActive"]: SELF_LOCKOUT_MESSAGE });
  const saved = await users.update(id, expectedVersion, change as Record<string, unknown>, actor, async (tx, { row }, before) => {
    if (row.email === before.email) return;
    // A new address nobody has proved yet: not verified, and its owner is mailed a link (both or neither).
    await tx.user.update({ where: { id }, data: { emailVerifiedAt: null } });
    await enqueueVerification(tx, { id, email: String(row.email), username: String(row.username) });
  });
  if (change.isActive === false) await signOutEverywhere(id);
  return saved;
}

/** Deletes the accounts (with the posts they wrote); never the actor's own. */
export async function deleteUsers(ids: number[], actor: Saver): Promise<number> {
  if (ids.includes(actor.id)) throw forbidden("You cannot delete your own account here.");
  return users.remove(ids, actor);
}

/**
 * An account made from the admin's form: no password yet, its address not verified. In the same
 * transaction, an invitation to choose a password is enqueued (src/accounts/invite.ts); an admin may
 * also set one directly (src/admin/password.ts).
 */
export const createUser = (data: Record<string, unknown>, actor: Saver): Promise<Saved> =>
  users.create(data, actor, async (tx, saved) => void (await enqueueInvite(tx, saved.id, actor.id)));
