// Device cookies (OWASP, "Slow Down Online Guessing Attacks with Device Cookies"): a browser that
// has signed in successfully as a user carries a signed cookie naming that user. Failures from
// anywhere else count against the username and can block it for a while (src/accounts/throttle.ts);
// a login from a browser with a valid device cookie for that user is not subject to that block,
// only to a limit of its own per device cookie. So an attacker guessing a user's password from many
// addresses cannot lock the user out of the browsers they already use.
//
// The cookie holds up to MAX_ENTRIES entries (several people may share a browser), newest first,
// each "<userId>.<issued, base36 seconds>.<nonce>.<HMAC-SHA256>", joined by "~". The HMAC key is
// derived from SESSION_SECRET; an entry is good for DEVICE_COOKIE_DAYS. The nonce names the entry's
// own throttle lane. HttpOnly, SameSite=Lax, path "/", and Secure with the __Host- prefix when cookieSecure().
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { Request, Response } from "express";
import { purposeKey } from "../web/keys.ts";
import { cookieName, cookieSecure } from "../web/security.ts";

const DEVICE_COOKIE = cookieName("folio.device");
const DEVICE_COOKIE_DAYS = 180;
const MAX_ENTRIES = 5;
const ENTRY = /^([1-9]\d{0,9})\.([0-9a-z]{1,10})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;

export interface DeviceEntry {
  userId: number;
  /** The entry's random part: the key of its throttle lane. */
  nonce: string;
  issuedAt: number;
  raw: string;
}

/** SESSION_SECRET, derived for this one purpose (src/web/keys.ts). */
const hmacKey = (): Buffer => purposeKey("device cookie");

const sign = (payload: string) => createHmac("sha256", hmacKey()).update(payload).digest("base64url");

function makeEntry(userId: number, now = Date.now()): string {
  const payload = `${userId}.${Math.floor(now / 1000).toString(36)}.${randomBytes(16).toString("base64url")}`;
  return `${payload}.${sign(payload)}`;
}

/** The entries of the request's device cookie that are well-formed, correctly signed and unexpired. */
export function deviceEntries(req: Request, now = Date.now()): DeviceEntry[] {
  const header = req.headers.cookie;
  if (!header || !header.includes(DEVICE_COOKIE)) return [];
  const m = new RegExp(`(?:^|;\\s*)${DEVICE_COOKIE.replace(/\./g, "\\.")}=([^;]{1,1200})`).exec(header);
  if (!m) return [];
  const out: DeviceEntry[] = [];
  for (const raw of m[1]!.split("~").slice(0, MAX_ENTRIES)) {
    const e = ENTRY.exec(raw);
    if (!e) continue;
    const expected = Buffer.from(sign(`${e[1]}.${e[2]}.${e[3]}`));
    const given = Buffer.from(e[4]!);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) continue;
    const issuedAt = parseInt(e[2]!, 36) * 1000;
    if (!(issuedAt <= now + 60_000 && now - issuedAt < DEVICE_COOKIE_DAYS * 86_400_000)) continue;
    out.push({ userId: Number(e[1]), nonce: e[3]!, issuedAt, raw });
  }
  return out;
}

/** The valid entry naming `userId`, if the request has one. */
export function deviceEntryFor(req: Request, userId: number): DeviceEntry | undefined {
  return deviceEntries(req).find((e) => e.userId === userId);
}

/**
 * After a successful login: a fresh entry for `userId` first (replacing its old one), the browser's
 * other valid entries after it, at most MAX_ENTRIES. Returns the new entry's nonce.
 */
export function rememberDevice(req: Request, res: Response, userId: number): string {
  const entry = makeEntry(userId);
  const others = deviceEntries(req)
    .filter((e) => e.userId !== userId)
    .map((e) => e.raw);
  res.cookie(DEVICE_COOKIE, [entry, ...others].slice(0, MAX_ENTRIES).join("~"), {
    httpOnly: true,
    sameSite: "lax",
    secure: cookieSecure(),
    path: "/",
    maxAge: DEVICE_COOKIE_DAYS * 86_400_000,
    encode: String, // the value is already cookie-safe (base64url, digits, "." and "~")
  });
  return ENTRY.exec(entry)![3]!;
}
