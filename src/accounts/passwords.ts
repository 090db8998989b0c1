// Password hashing: argon2id with at least OWASP's minimum (19 MiB memory, 2 iterations, 1 lane).
import argon2 from "argon2";

export const HASH_OPTIONS = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export function hashPassword(password: string): Promise<string> {
  return argon2.hash(password, HASH_OPTIONS);
}

/** False for a wrong password or an unusable hash (never throws for a bad hash). */
export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  if (!hash.startsWith("$argon2")) return false;
  try {
    return await argon2.verify(hash, password);
  } catch {
    return false;
  }
}

/** True when a hash was made with weaker or different parameters and should be re-made at login. */
export function needsRehash(hash: string): boolean {
  return argon2.needsRehash(hash, HASH_OPTIONS);
}
