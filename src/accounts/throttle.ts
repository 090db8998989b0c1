// Brute-force throttling for login and password reset (rate-limiter-flexible on PostgreSQL, table
// "rate_limit" from the migration, on the shared pool).
//
// Each attempt is counted along several dimensions; after a dimension's free allowance, every further
// counted attempt blocks that dimension for a growing time: 15 s, 30 s, 60 s ... capped at 15 minutes.
//   login, per username + IP:  5 free failures (a success resets it)      -> the attacker's own lane
//   login, per username:      20 free failures (from any address)         -> distributed guessing
//   login, per IP:            50 free failures (any usernames)            -> credential stuffing
//   login, per device cookie:  5 free failures (a success resets it)      -> instead of all three above,
//                             for a browser that signed in as that user before (src/accounts/device.ts)
//   reset, per e-mail:         3 free requests / per IP: 10 free requests
//   sign-up, per IP:          20 attempts, valid or not (mass account creation, username probing)
//   sign-up, per e-mail:       3 valid forms (each sends that address a message)
// Counts are forgotten 24 h after the first counted attempt. The per-username lane is deliberately
// looser than username+IP and its blocks are short, so someone hammering a real user's name cannot
// keep that user out for long; the real user's own lane (their IP) is unaffected until then, and the
// browsers the user has signed in with before (a device cookie) are not subject to it at all.
import { createHash } from "node:crypto";
import { RateLimiterPostgres, type RateLimiterRes } from "rate-limiter-flexible";
import { pool } from "../db/client.ts";

const MAX_BLOCK_SECONDS = 15 * 60;
const FIRST_BLOCK_SECONDS = 15;
const WINDOW_SECONDS = 24 * 3600;

export interface Lane {
  name: string;
  free: number;
}

export const LOGIN_LANES = {
  userIp: { name: "login_user_ip", free: 5 },
  user: { name: "login_user", free: 20 },
  ip: { name: "login_ip", free: 50 },
  device: { name: "login_device", free: 5 },
} satisfies Record<string, Lane>;

const SIGNUP_LANES = {
  ip: { name: "signup_ip", free: 20 },
  email: { name: "signup_email", free: 3 },
} satisfies Record<string, Lane>;

export const RESET_LANES = {
  email: { name: "reset_email", free: 3 },
  ip: { name: "reset_ip", free: 10 },
} satisfies Record<string, Lane>;

let limiters: { counts: RateLimiterPostgres; blocks: RateLimiterPostgres } | undefined;

function store() {
  if (!limiters) {
    const common = { storeClient: pool, storeType: "pool", tableName: "rate_limit", tableCreated: true } as const;
    limiters = {
      counts: new RateLimiterPostgres({ ...common, keyPrefix: "cnt", points: 1_000_000, duration: WINDOW_SECONDS }),
      blocks: new RateLimiterPostgres({ ...common, keyPrefix: "blk", points: 1, duration: MAX_BLOCK_SECONDS }),
    };
  }
  return limiters;
}

/** Keys are hashed: bounded length whatever was typed, and no usernames in the table. */
function laneKey(lane: Lane, ...parts: string[]): string {
  const h = createHash("sha256")
    .update(parts.map((p) => p.toLowerCase()).join("\u0000"))
    .digest("hex")
    .slice(0, 40);
  return `${lane.name}:${h}`;
}

/** Block length after `n` counted attempts in a lane with `free` allowed: 15 s doubling, capped. */
function blockSeconds(n: number, free: number): number {
  if (n <= free) return 0;
  return Math.min(MAX_BLOCK_SECONDS, FIRST_BLOCK_SECONDS * 2 ** (n - free - 1));
}

/** Seconds until every given key is unblocked (0 = go ahead). */
export async function blockedFor(keys: string[]): Promise<number> {
  const { blocks } = store();
  const res = await Promise.all(keys.map((k) => blocks.get(k)));
  let ms = 0;
  for (const r of res) if (r && r.consumedPoints > 1) ms = Math.max(ms, r.msBeforeNext);
  return Math.ceil(ms / 1000);
}

export interface LaneEntry {
  lane: Lane;
  key: string;
}

/** Counts an attempt in each lane; lanes past their allowance are blocked for a growing time. */
export async function countAttempt(entries: LaneEntry[]): Promise<void> {
  const { counts, blocks } = store();
  await Promise.all(
    entries.map(async ({ lane, key }) => {
      const r: RateLimiterRes = await counts.penalty(key, 1);
      const secs = blockSeconds(r.consumedPoints, lane.free);
      if (secs > 0) await blocks.block(key, secs);
    }),
  );
}

/** Forgets a lane (a successful login clears its username+IP lane). */
export async function resetLane(key: string): Promise<void> {
  const { counts, blocks } = store();
  await Promise.all([counts.delete(key), blocks.delete(key)]);
}

export function loginKeys(username: string, ip: string) {
  return {
    userIp: laneKey(LOGIN_LANES.userIp, username, ip),
    user: laneKey(LOGIN_LANES.user, username),
    ip: laneKey(LOGIN_LANES.ip, ip),
  };
}

/** The lanes of a sign-up: its client address (every attempt) and its e-mail (each valid form). */
export function signupKeys(ip: string, email?: string): { ip: LaneEntry; email?: LaneEntry } {
  return {
    ip: { lane: SIGNUP_LANES.ip, key: laneKey(SIGNUP_LANES.ip, ip) },
    ...(email === undefined ? {} : { email: { lane: SIGNUP_LANES.email, key: laneKey(SIGNUP_LANES.email, email) } }),
  };
}

/** The lane of one device cookie entry (named by its nonce). */
export function deviceLane(nonce: string): LaneEntry {
  return { lane: LOGIN_LANES.device, key: laneKey(LOGIN_LANES.device, nonce) };
}

export function resetKeys(email: string, ip: string) {
  return { email: laneKey(RESET_LANES.email, email), ip: laneKey(RESET_LANES.ip, ip) };
}
