// Keys derived from SESSION_SECRET, one per purpose: sha256("folio <purpose>\0" + SESSION_SECRET).
// A token signed for one purpose (an e-mail verification link, a device cookie, a preview link) never
// verifies for another, and rotating SESSION_SECRET voids them all. Re-derived if the setting changes
// (tests change it); one home for the derivation, so every signer uses the same rule.
import { createHash } from "node:crypto";
import { config } from "../config.ts";

const derived = new Map<string, { secret: string; key: Buffer }>();

/** The HMAC key for `purpose` ("email verification", "device cookie", "preview link"). */
export function purposeKey(purpose: string): Buffer {
  const memo = derived.get(purpose);
  if (memo?.secret === config.SESSION_SECRET) return memo.key;
  const key = createHash("sha256").update(`folio ${purpose}\u0000${config.SESSION_SECRET}`).digest();
  derived.set(purpose, { secret: config.SESSION_SECRET, key });
  return key;
}
