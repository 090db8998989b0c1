// Data access for accounts: the session user, login look-up, creation and password changes.
import { pool, prisma } from "../db/index.ts";
import type { Role } from "../generated/prisma/client.ts";
import { hashPassword } from "./passwords.ts";

/** What every request knows about the signed-in user (req.user). Loaded by one small query. */
export interface SessionUser {
  id: number;
  username: string;
  email: string;
  firstName: string;
  lastName: string;
  role: Role;
  isActive: boolean;
  /** null (or left out: a stand-in user): the e-mail address is not verified yet (src/accounts/verify.ts); can() reads it. */
  emailVerifiedAt?: Date | null;
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    // eslint-disable-next-line @typescript-eslint/no-empty-object-type
    interface User extends SessionUser {}
  }
}

const SESSION_COLUMNS = `id, username, email, "firstName", "lastName", role, "isActive", "emailVerifiedAt"`;

/** How mail names a person: their full name, else their username. */
export const displayName = (u: { username: string; firstName: string; lastName: string }): string => `${u.firstName} ${u.lastName}`.trim() || u.username;

export async function findSessionUser(id: number): Promise<SessionUser | null> {
  const { rows } = await pool.query<SessionUser>(`SELECT ${SESSION_COLUMNS} FROM "User" WHERE id = $1`, [id]);
  return rows[0] ?? null;
}

/**
 * The session user an API access token names, with when they were last signed out everywhere
 * (src/accounts/signout.ts; tokens issued before it are refused): the same one query.
 */
export async function findTokenUser(id: number): Promise<{ user: SessionUser; signedOutAt: Date | null } | null> {
  const { rows } = await pool.query<SessionUser & { signedOutAt: Date | null }>(`SELECT ${SESSION_COLUMNS}, "signedOutAt" FROM "User" WHERE id = $1`, [id]);
  if (!rows[0]) return null;
  const { signedOutAt, ...user } = rows[0];
  return { user, signedOutAt };
}

/** The account a login name designates: its username or its e-mail address, case-insensitively. */
export async function findForLogin(login: string): Promise<(SessionUser & { passwordHash: string }) | null> {
  const name = login.trim();
  if (!name || name.length > 254) return null;
  const { rows } = await pool.query<SessionUser & { passwordHash: string }>(
    `SELECT ${SESSION_COLUMNS}, "passwordHash" FROM "User"
      WHERE lower(username) = lower($1) OR email = lower($1)
      ORDER BY (lower(username) = lower($1)) DESC LIMIT 1`,
    [name],
  );
  return rows[0] ?? null;
}

/** The id of the account named exactly `username`, when its role is one of `roles` (any role when left out). */
export async function userIdByUsername(username: string, roles?: readonly Role[]): Promise<number | null> {
  const { rows } = await pool.query<{ id: number }>(`SELECT id FROM "User" WHERE username = $1 AND ($2::"Role"[] IS NULL OR role = ANY ($2::"Role"[]))`, [
    username,
    roles ?? null,
  ]);
  return rows[0]?.id ?? null;
}

export async function usernameTaken(username: string, exceptId?: number): Promise<boolean> {
  const { rows } = await pool.query(`SELECT 1 FROM "User" WHERE lower(username) = lower($1) AND id <> $2 LIMIT 1`, [username, exceptId ?? -1]);
  return rows.length > 0;
}

export async function emailTaken(email: string, exceptId?: number): Promise<boolean> {
  const { rows } = await pool.query(`SELECT 1 FROM "User" WHERE email = lower($1) AND id <> $2 LIMIT 1`, [email, exceptId ?? -1]);
  return rows.length > 0;
}

/** The account with this e-mail address (stored lower-cased), active or not. */
export async function findByEmail(email: string): Promise<{ id: number; username: string; email: string; isActive: boolean } | null> {
  const { rows } = await pool.query<{ id: number; username: string; email: string; isActive: boolean }>(
    `SELECT id, username, email, "isActive" FROM "User" WHERE email = lower($1) LIMIT 1`,
    [email],
  );
  return rows[0] ?? null;
}

export interface NewUser {
  username: string;
  email: string;
  role?: Role;
  firstName?: string;
  lastName?: string;
  isActive?: boolean;
  /** Left out: verified now (the CLI, tests); the sign-up form passes null (verified by its link). */
  emailVerifiedAt?: Date | null;
}

type Db = Pick<typeof prisma, "user">;

/**
 * Creates an account (e-mail lower-cased). Validation is the caller's. Given a plain `password`, hashes
 * it (argon2id) and then saves, outside any transaction. Inside a transaction (`db`), pass the
 * `passwordHash` made BEFORE the transaction was opened (hashPassword()): a hash takes a good part of a
 * second, and a transaction held open for it keeps a connection and can pass Prisma's 5 s limit under a
 * burst of sign-ups (the account and its mail then rolled back).
 */
export async function createAccount(input: NewUser & { password: string }): Promise<SessionUser>;
export async function createAccount(input: NewUser & { passwordHash: string }, db?: Db): Promise<SessionUser>;
export async function createAccount(input: NewUser & ({ password: string } | { passwordHash: string }), db: Db = prisma): Promise<SessionUser> {
  const passwordHash = "passwordHash" in input ? input.passwordHash : await hashPassword(input.password);
  return db.user.create({
    data: {
      username: input.username,
      email: input.email.toLowerCase(),
      passwordHash,
      role: input.role ?? "READER",
      firstName: input.firstName ?? "",
      lastName: input.lastName ?? "",
      isActive: input.isActive ?? true,
      emailVerifiedAt: input.emailVerifiedAt === undefined ? new Date() : input.emailVerifiedAt,
    },
    select: { id: true, username: true, email: true, firstName: true, lastName: true, role: true, isActive: true, emailVerifiedAt: true },
  });
}

export async function setPassword(userId: number, password: string): Promise<void> {
  const passwordHash = await hashPassword(password); // before the statement: no connection waits for the hash
  await prisma.user.update({ where: { id: userId }, data: { passwordHash } });
}

export async function passwordHashOf(userId: number): Promise<string | null> {
  const { rows } = await pool.query<{ passwordHash: string }>(`SELECT "passwordHash" FROM "User" WHERE id = $1`, [userId]);
  return rows[0]?.passwordHash ?? null;
}

export async function recordLogin(userId: number, newHash?: string): Promise<void> {
  await prisma.user.update({ where: { id: userId }, data: { lastLogin: new Date(), ...(newHash ? { passwordHash: newHash } : {}) } });
}
