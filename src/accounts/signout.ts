// "Sign this user out everywhere": what a password change or reset, a deactivation and the "log out
// everywhere" button all mean. Every credential that outlives a request ends: the stored sessions
// (src/web/session.ts; all but `keepSid`, the browser that changed its own password) and every API
// refresh token family (src/api/tokens.ts). Access tokens are not stored: they expire within their
// 5 minutes, and one of a deactivated account is refused at once (the account is read on each request).
import { endUserSessions } from "../web/session.ts";
import { revokeUserRefreshTokens } from "../api/tokens.ts";

/** Ends the user's sessions (except `keepSid`) and revokes their API refresh tokens. Returns how many sessions ended. */
export async function signOutEverywhere(userId: number, keepSid?: string): Promise<number> {
  const [sessions] = await Promise.all([endUserSessions(userId, keepSid), revokeUserRefreshTokens(userId)]);
  return sessions;
}
