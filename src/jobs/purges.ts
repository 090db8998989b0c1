// Recurring purges: rows that can never be used again, deleted by scheduled jobs (pg-boss cron, UTC)
// instead of timers in each web process. Each purge is ONE home for its table's clean-up:
//   purge.sessions        "session" rows past their expiry (connect-pg-simple's own timer is off)  every 15 min
//   purge.rate-limits     "rate_limit" rows past their expiry (rate-limiter-flexible's layout;
//                         its own clearExpiredByTimeout is not used)                               every 15 min
//   purge.reset-tokens    password-reset tokens that expired or were used                        hourly
//   purge.refresh-tokens  API refresh tokens that expired or were revoked (a used, unexpired
//                         token stays: presenting it again is how a stolen copy is detected)     hourly
//   purge.autosaves       autosaves of a post saved since (never offered again: autosaveOffer
//                         offers only one newer than the post) and older than AUTOSAVE_KEEP_DAYS   daily
// The minutes are spread so that no two purges start together. Every purge deletes in batches of
// PURGE_BATCH rows through an index (one short transaction each, SKIP LOCKED: it never waits for a
// request holding a row), at most PURGE_MAX_BATCHES per run (the rest goes on the next run), and logs
// how many rows went. "Now" is the database's clock, the one the rows' times were written with.
import { pool } from "../db/index.ts";
import { logger } from "../web/logger.ts";
import { defineJob, type Job } from "./index.ts";
import { mediaStorage } from "../media/storage.ts";

/** A media temporary file older than this is a crash's leftover (a write takes seconds). */
export const MEDIA_TEMP_MAX_AGE_MS = 60 * 60 * 1000;

export const PURGE_BATCH = 1000;
export const PURGE_MAX_BATCHES = 100;
/** An autosave superseded by a save is kept this long (a week to fish out text by hand if a save went wrong), then purged. */
export const AUTOSAVE_KEEP_DAYS = 7;

/**
 * Each statement deletes at most $1 rows and returns how many went. The inner SELECT picks the rows
 * through the table's index (session: IDX_session_expire; ApiRefreshToken: expiresAt; Autosave:
 * updatedAt). "rate_limit" has no index on expire: its rows live at most a day (src/accounts/throttle.ts)
 * and each key has one row, so it stays small; "PasswordResetToken" is small the same way.
 */
const PURGES = {
  sessions: {
    what: "expired sessions",
    sql: `DELETE FROM "session" WHERE sid IN (
            SELECT sid FROM "session" WHERE expire < now() LIMIT $1 FOR UPDATE SKIP LOCKED)`,
  },
  rateLimits: {
    what: "expired rate-limit rows",
    // expire: milliseconds since the epoch (null: never expires)
    sql: `DELETE FROM "rate_limit" WHERE key IN (
            SELECT key FROM "rate_limit" WHERE expire < (extract(epoch FROM now()) * 1000)::bigint LIMIT $1 FOR UPDATE SKIP LOCKED)`,
  },
  resetTokens: {
    what: "expired or used password-reset tokens",
    sql: `DELETE FROM "PasswordResetToken" WHERE id IN (
            SELECT id FROM "PasswordResetToken" WHERE "expiresAt" < now() OR "usedAt" IS NOT NULL LIMIT $1 FOR UPDATE SKIP LOCKED)`,
  },
  refreshTokens: {
    what: "expired or revoked API refresh tokens",
    sql: `DELETE FROM "ApiRefreshToken" WHERE id IN (
            SELECT id FROM "ApiRefreshToken" WHERE "expiresAt" < now() OR "revokedAt" IS NOT NULL LIMIT $1 FOR UPDATE SKIP LOCKED)`,
  },
  autosaves: {
    what: `autosaves older than ${AUTOSAVE_KEEP_DAYS} days of posts saved since`,
    sql: `DELETE FROM "Autosave" WHERE id IN (
            SELECT a.id FROM "Autosave" a JOIN "Post" p ON p.id = a."postId"
             WHERE a."updatedAt" < now() - make_interval(days => ${AUTOSAVE_KEEP_DAYS}) AND p."updatedAt" >= a."updatedAt"
             LIMIT $1 FOR UPDATE OF a SKIP LOCKED)`,
  },
} as const;

type PurgeName = keyof typeof PURGES;

/** Runs one purge to the end (or PURGE_MAX_BATCHES batches); returns how many rows went. */
export async function runPurge(name: PurgeName): Promise<number> {
  const { what, sql } = PURGES[name];
  let deleted = 0;
  for (let batch = 0; batch < PURGE_MAX_BATCHES; batch++) {
    const n = (await pool.query(sql, [PURGE_BATCH])).rowCount ?? 0;
    deleted += n;
    if (n < PURGE_BATCH) {
      logger.info({ purge: name, deleted }, `purge: ${deleted} ${what} deleted`);
      return deleted;
    }
  }
  logger.warn({ purge: name, deleted }, `purge: ${deleted} ${what} deleted, more left for the next run`);
  return deleted;
}

function purgeJob(name: PurgeName, queue: string, cron: string): Job<object> {
  return defineJob<object>({
    name: queue,
    cron,
    // A failed run is retried twice; the next scheduled run would catch up anyway.
    retryLimit: 2,
    retryDelaySeconds: 60,
    retryBackoff: true,
    expireInSeconds: 15 * 60,
    async handle() {
      await runPurge(name);
    },
  });
}

export const purgeSessions = purgeJob("sessions", "purge.sessions", "7,22,37,52 * * * *");
export const purgeRateLimits = purgeJob("rateLimits", "purge.rate-limits", "2,17,32,47 * * * *");
export const purgeResetTokens = purgeJob("resetTokens", "purge.reset-tokens", "11 * * * *");
export const purgeRefreshTokens = purgeJob("refreshTokens", "purge.refresh-tokens", "26 * * * *");
export const purgeAutosaves = purgeJob("autosaves", "purge.autosaves", "41 3 * * *");

/** The media storage's temporaries left by a crash mid-write (src/media/storage.ts), older than an hour: hourly. */
export const purgeMediaTemp = defineJob<object>({
  name: "purge.media-temp",
  cron: "56 * * * *",
  retryLimit: 2,
  retryDelaySeconds: 60,
  retryBackoff: true,
  expireInSeconds: 15 * 60,
  async handle() {
    const deleted = (await mediaStorage().purgeTemp?.(MEDIA_TEMP_MAX_AGE_MS)) ?? 0;
    logger.info({ purge: "mediaTemp", deleted }, `purge: ${deleted} media temporary files deleted`);
  },
});
