// "Sign this user out everywhere": what a password change or reset, a deactivation and the "log out
// everywhere" button all mean. Every credential that outlives a request ends: the stored sessions
// (src/web/session.ts; all but `keepSid`, the browser that changed its own password), every API
// refresh token family (src/api/tokens.ts), and the API access tokens already issued: User.signedOutAt
// is set to now, truncated to the second (a token's iat is in whole seconds), and the API refuses an
// access token issued before it (src/api/tokens.ts, activeUserOf). A token issued in this same second
// stays valid, so a login right after a password change works.
import { pool } from "../db/client.ts";
import { endUserSessions } from "../web/session.ts";
import { revokeUserRefreshTokens } from "../api/tokens.ts";

/** Marks every API access token of the user issued before this second as signed out. */
async function markSignedOut(userId: number): Promise<void> {
  // The signing process's clock (iat is Node's Date.now()), not the database's.
  const second = new Date(Math.floor(Date.now() / 1000) * 1000);
  await pool.query(`UPDATE "User" SET "signedOutAt" = GREATEST("signedOutAt", $2) WHERE id = $1`, [userId, second]);
}

/** Ends the user's sessions (except `keepSid`), revokes their API refresh tokens and signs out their access tokens. Returns how many sessions ended. */
export async function signOutEverywhere(userId: number, keepSid?: string): Promise<number> {
  const [sessions] = await Promise.all([endUserSessions(userId, keepSid), revokeUserRefreshTokens(userId), markSignedOut(userId)]);
  return sessions;
}
