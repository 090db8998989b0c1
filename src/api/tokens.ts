// The API's JSON Web Tokens (djangorestframework-simplejwt's design, with its blacklist app's rotation):
//  - An access token (5 minutes) authenticates requests (src/api/auth.ts); a refresh token (7 days) is
//    exchanged at POST /auth/refresh for a new pair. Each refresh token works once: the exchange marks
//    it used (ApiRefreshToken.usedAt) and the new one joins its family. Presenting a used one again
//    means it was copied: the whole family is revoked (the thief's and the owner's tokens alike).
//  - HS256 only (an allow-list: "none", RS256, HS384/HS512... are refused before any key is chosen),
//    keys from JWT_KEYS (src/config.ts): the first signs, each verifies; the token's `kid` header picks
//    the key (required), so keys rotate without signing anyone out.
//  - `iss` (SITE_URL), `aud` ("folio-api"), `exp` (required) and `nbf` are set and checked (`iat` set);
//    `token_type` keeps an access token and a refresh token from standing in for each other; `sub` is
//    the user's id and the account is read as stored (a deactivated or deleted user's token is refused).
//    exp and nbf are checked with CLOCK_TOLERANCE_SECONDS of leeway (machines' clocks drift apart).
//  - "Sign out everywhere" (src/accounts/signout.ts: password change or reset, deactivation) sets
//    User.signedOutAt, truncated to the second; an access token whose `iat` (whole seconds) is before it
//    is refused at once, read in the same query as the account (ASVS V3.3). A token issued in that same
//    second, before or after the sign-out, is accepted (a login right after a password change must
//    work; iat cannot tell them apart). Refresh tokens of earlier logins are revoked by family there.
//  - No refresh grace period: reuse detection is strict (simplejwt's blacklist), so a client that
//    retries an exchange whose answer it lost has used its token and must log in again.
//  - Both carry the custom claims `email` and `role` (simplejwt's get_token claims; informational:
//    permissions use the account as stored, and a rotation signs them afresh from it). Refresh tokens
//    carry `jti` (= ApiRefreshToken.id, the row that says whether it is still usable) and `fam` (its
//    family). Access tokens are not stored: they live out their 5 minutes, unless signed out everywhere (above).
import { randomUUID } from "node:crypto";
import jwt from "jsonwebtoken";
import { pool, withClient } from "../db/client.ts";
import { findTokenUser, type SessionUser } from "../accounts/users.ts";
import { config } from "../config.ts";

export const JWT_ALGORITHM = "HS256" as const;
export const JWT_AUDIENCE = "folio-api";
export const ACCESS_TOKEN_SECONDS = 5 * 60;
export const REFRESH_TOKEN_SECONDS = 7 * 24 * 3600;
/** Leeway on exp and nbf for clock skew between the machine that signed a token and the one verifying it. */
export const CLOCK_TOLERANCE_SECONDS = 30;

export type TokenType = "access" | "refresh";

export const jwtIssuer = (): string => config.SITE_URL;

/** The secret for a token's `kid` header, or undefined (an unknown or missing kid is refused). */
function keyFor(kid: unknown): string | undefined {
  return typeof kid === "string" ? config.JWT_KEYS.find((k) => k.kid === kid)?.secret : undefined;
}

/** The secret that may verify this raw token: its header must say HS256 and name a kid of JWT_KEYS. */
export function verificationKey(raw: string): string | undefined {
  const header = jwt.decode(raw, { complete: true })?.header;
  return header?.alg === JWT_ALGORITHM ? keyFor(header.kid) : undefined;
}

/** What jsonwebtoken checks besides the signature: the one algorithm, the issuer, the audience, exp and nbf (with leeway). */
export const verifyOptions = () => ({ algorithms: [JWT_ALGORITHM], issuer: jwtIssuer(), audience: JWT_AUDIENCE, clockTolerance: CLOCK_TOLERANCE_SECONDS });

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SUB_RE = /^[1-9]\d{0,9}$/;
const MAX_INT4 = 2_147_483_647;

export interface TokenClaims {
  type: TokenType;
  userId: number;
  jti: string;
  /** Seconds since the epoch. */
  exp: number;
  /** Issued at, seconds since the epoch. */
  iat: number;
  /** A refresh token's family. */
  family: string;
}

/**
 * The claims this API relies on, from a payload jsonwebtoken has verified: null when the token is not
 * of `type` or a claim is missing or malformed (jsonwebtoken lets a token without `exp` live forever).
 */
export function claimsOf(payload: unknown, type: TokenType): TokenClaims | null {
  if (!payload || typeof payload !== "object") return null;
  const p = payload as Record<string, unknown>;
  if (
    p.token_type !== type ||
    typeof p.exp !== "number" ||
    typeof p.iat !== "number" ||
    typeof p.sub !== "string" ||
    !SUB_RE.test(p.sub) ||
    typeof p.jti !== "string"
  )
    return null;
  const userId = Number(p.sub);
  if (userId > MAX_INT4) return null;
  if (type === "refresh" && (!UUID_RE.test(p.jti) || typeof p.fam !== "string" || !UUID_RE.test(p.fam))) return null;
  return { type, userId, jti: p.jti, exp: p.exp, iat: p.iat, family: type === "refresh" ? (p.fam as string) : "" };
}

/** Verifies a raw token of `type` (key, algorithm, signature, iss, aud, exp, nbf, claims): its claims, or null. */
function verifyToken(raw: string, type: TokenType, opts: { ignoreExpiration?: boolean } = {}): TokenClaims | null {
  const key = verificationKey(raw);
  if (!key) return null;
  try {
    return claimsOf(jwt.verify(raw, key, { ...verifyOptions(), ignoreExpiration: opts.ignoreExpiration ?? false }), type);
  } catch {
    return null;
  }
}

/**
 * The account a verified token names, if it still exists, is active (as stored now) and was not signed
 * out everywhere after the token was issued (one query).
 */
export async function activeUserOf(claims: TokenClaims): Promise<SessionUser | null> {
  const found = await findTokenUser(claims.userId);
  if (!found?.user.isActive) return null;
  // signedOutAt is stored truncated to the second: a token of that second (iat) still counts
  if (found.signedOutAt && claims.iat * 1000 < found.signedOutAt.getTime()) return null;
  return found.user;
}

function sign(claims: Record<string, unknown>, userId: number, expiresIn?: number): string {
  const key = config.JWT_KEYS[0]!;
  return jwt.sign(claims, key.secret, {
    algorithm: JWT_ALGORITHM,
    keyid: key.kid,
    subject: String(userId),
    issuer: jwtIssuer(),
    audience: JWT_AUDIENCE,
    ...(expiresIn === undefined ? {} : { expiresIn }),
    notBefore: 0,
  });
}

/** What a token says about its user (`email` and `role` are informational claims, as of signing). */
type TokenUser = Pick<SessionUser, "id" | "email" | "role">;

/** A signed access token for `user` (5 minutes). */
export function signAccessToken(user: TokenUser): string {
  return sign({ token_type: "access", email: user.email, role: user.role, jti: randomUUID() }, user.id, ACCESS_TOKEN_SECONDS);
}

/** What POST /auth/token and POST /auth/refresh answer. */
export interface TokenPair {
  access: string;
  refresh: string;
  tokenType: "Bearer";
  /** The access token's lifetime in seconds. */
  expiresIn: number;
}

type Query = (text: string, values: unknown[]) => Promise<{ rows: Record<string, unknown>[] }>;

/** Stores a new refresh token of `familyId` (its row is what makes it usable) and signs it. */
async function newRefreshToken(query: Query, user: TokenUser, familyId: string): Promise<string> {
  const jti = randomUUID();
  const exp = Math.floor(Date.now() / 1000) + REFRESH_TOKEN_SECONDS;
  await query(`INSERT INTO "ApiRefreshToken" (id, "familyId", "userId", "expiresAt") VALUES ($1, $2, $3, $4)`, [jti, familyId, user.id, new Date(exp * 1000)]);
  return sign({ token_type: "refresh", email: user.email, role: user.role, jti, fam: familyId, exp }, user.id);
}

const pair = (user: TokenUser, refresh: string): TokenPair => ({
  access: signAccessToken(user),
  refresh,
  tokenType: "Bearer",
  expiresIn: ACCESS_TOKEN_SECONDS,
});

/** A new token pair for `user` after a login (POST /auth/token): a new refresh family. */
export async function issueTokenPair(user: TokenUser): Promise<TokenPair> {
  return pair(user, await newRefreshToken((t, v) => pool.query(t, v), user, randomUUID()));
}

export type Rotation = { ok: true; tokens: TokenPair; userId: number } | { ok: false; reason: "invalid" | "reused"; userId?: number };

/**
 * Exchanges a refresh token for a new pair of the same family, atomically: the token is marked used by
 * a conditional UPDATE (unused, unrevoked, unexpired), so of two concurrent exchanges only one
 * succeeds (the other is then a reuse, as a copy would be). A token that was already used revokes
 * its whole family ("reused"); a forged, expired, revoked or unknown token, or one whose user is
 * inactive or gone, is "invalid" (an inactive user's family is revoked too).
 */
export async function rotateRefreshToken(raw: string): Promise<Rotation> {
  const claims = verifyToken(raw, "refresh");
  if (!claims) return { ok: false, reason: "invalid" };
  return withClient(async (client) => {
    const query: Query = (t, v) => client.query(t, v);
    try {
      await client.query("BEGIN");
      const used = await client.query<{ id: number; email: string; role: SessionUser["role"]; isActive: boolean }>(
        `UPDATE "ApiRefreshToken" t SET "usedAt" = now() FROM "User" u
          WHERE t.id = $1 AND t."familyId" = $2 AND t."userId" = $3 AND u.id = t."userId"
            AND t."usedAt" IS NULL AND t."revokedAt" IS NULL AND t."expiresAt" > now()
          RETURNING u.id, u.email, u.role, u."isActive"`,
        [claims.jti, claims.family, claims.userId],
      );
      const user = used.rows[0];
      if (!user || !user.isActive) {
        // Reuse of an exchanged token (or a token of a deactivated user): the family ends here.
        const revoked = await client.query(
          `UPDATE "ApiRefreshToken" SET "revokedAt" = now()
            WHERE "familyId" = $1 AND "userId" = $2 AND "revokedAt" IS NULL
              AND ($4 OR EXISTS (SELECT 1 FROM "ApiRefreshToken" WHERE id = $3 AND "usedAt" IS NOT NULL))`,
          [claims.family, claims.userId, claims.jti, !!user],
        );
        await client.query("COMMIT");
        return { ok: false, reason: !user && (revoked.rowCount ?? 0) > 0 ? "reused" : "invalid", userId: claims.userId };
      }
      const refresh = await newRefreshToken(query, user, claims.family);
      await client.query("COMMIT");
      return { ok: true, tokens: pair(user, refresh), userId: user.id };
    } catch (e) {
      await client.query("ROLLBACK").catch(() => {});
      throw e;
    }
  });
}

/**
 * Revokes the family of a refresh token (POST /auth/revoke, a client's logout). Idempotent; an expired
 * token still names its family. False when the token is not a refresh token signed by us.
 */
export async function revokeRefreshFamily(raw: string): Promise<boolean> {
  const claims = verifyToken(raw, "refresh", { ignoreExpiration: true });
  if (!claims) return false;
  await pool.query(`UPDATE "ApiRefreshToken" SET "revokedAt" = now() WHERE "familyId" = $1 AND "userId" = $2 AND "revokedAt" IS NULL`, [
    claims.family,
    claims.userId,
  ]);
  return true;
}

/** Revokes every refresh token of a user (password change or reset, deactivation). Returns how many families ended. */
export async function revokeUserRefreshTokens(userId: number): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    `WITH r AS (UPDATE "ApiRefreshToken" SET "revokedAt" = now() WHERE "userId" = $1 AND "revokedAt" IS NULL RETURNING "familyId")
     SELECT count(DISTINCT "familyId")::int AS n FROM r`,
    [userId],
  );
  return rows[0]?.n ?? 0;
}

/**
 * POST /auth/verify: the type and expiry of a token this API would accept right now (an access token
 * of an active user; a refresh token that is still unused and unrevoked), or null.
 */
export async function inspectToken(raw: string): Promise<{ tokenType: TokenType; exp: number } | null> {
  const claims = verifyToken(raw, "access") ?? verifyToken(raw, "refresh");
  if (!claims) return null;
  if (claims.type === "access") return (await activeUserOf(claims)) ? { tokenType: "access", exp: claims.exp } : null;
  const { rows } = await pool.query(
    `SELECT 1 FROM "ApiRefreshToken" t JOIN "User" u ON u.id = t."userId"
      WHERE t.id = $1 AND t."familyId" = $2 AND t."userId" = $3
        AND t."usedAt" IS NULL AND t."revokedAt" IS NULL AND t."expiresAt" > now() AND u."isActive"`,
    [claims.jti, claims.family, claims.userId],
  );
  return rows.length ? { tokenType: "refresh", exp: claims.exp } : null;
}
