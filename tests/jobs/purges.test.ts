// The recurring purges (src/jobs/purges.ts) against the real database: each deletes exactly the rows
// that can never be used again and leaves the rest. Times are set in the database (never slept for);
// the handlers are called directly for the logic, and one test checks that startJobs registers every
// schedule with pg-boss.
import { afterAll, describe, expect, it } from "vitest";
import { pool } from "../../src/db/index.ts";
import { startJobs, stopJobs } from "../../src/jobs/index.ts";
import {
  AUTOSAVE_KEEP_DAYS,
  PURGE_BATCH,
  purgeAutosaves,
  purgeRateLimits,
  purgeRefreshTokens,
  purgeResetTokens,
  purgeSessions,
} from "../../src/jobs/purges.ts";
import { createUser, makePost } from "../support/fixtures.ts";

const ids = async (sql: string): Promise<string[]> => (await pool.query<{ id: string }>(sql)).rows.map((r) => String(r.id)).sort();

afterAll(async () => {
  await stopJobs();
});

describe("purges", () => {
  it("sessions: the expired ones go, in batches; live ones stay", async () => {
    await pool.query(`INSERT INTO "session" (sid, sess, expire) VALUES
      ('live', '{}', now() + interval '1 hour'), ('just-live', '{}', now() + interval '2 seconds'), ('expired', '{}', now() - interval '1 second')`);
    // more than two batches of expired rows: the purge goes on until none is left
    await pool.query(`INSERT INTO "session" (sid, sess, expire) SELECT 'old-' || g, '{}', now() - g * interval '1 minute' FROM generate_series(1, $1) g`, [
      PURGE_BATCH * 2 + 5,
    ]);
    await purgeSessions.handle({});
    expect(await ids(`SELECT sid AS id FROM "session"`)).toEqual(["just-live", "live"]);
  });

  it("rate limits: rows past their expiry go; unexpired and never-expiring rows stay", async () => {
    await pool.query(`INSERT INTO "rate_limit" (key, points, expire) VALUES
      ('live', 3, (extract(epoch FROM now() + interval '1 hour') * 1000)::bigint),
      ('expired', 9, (extract(epoch FROM now() - interval '1 second') * 1000)::bigint),
      ('long-expired', 1, (extract(epoch FROM now() - interval '3 days') * 1000)::bigint),
      ('forever', 1, NULL)`);
    await purgeRateLimits.handle({});
    expect(await ids(`SELECT key AS id FROM "rate_limit"`)).toEqual(["forever", "live"]);
  });

  it("password-reset tokens: expired or used ones go; an unused, unexpired one stays", async () => {
    const { user } = await createUser();
    await pool.query(
      `INSERT INTO "PasswordResetToken" ("userId", "tokenHash", "expiresAt", "usedAt") VALUES
        ($1, 'usable', now() + interval '30 minutes', NULL),
        ($1, 'expired', now() - interval '1 second', NULL),
        ($1, 'used', now() + interval '30 minutes', now() - interval '1 minute'),
        ($1, 'used-and-expired', now() - interval '1 day', now() - interval '2 days')`,
      [user.id],
    );
    await purgeResetTokens.handle({});
    expect(await ids(`SELECT "tokenHash" AS id FROM "PasswordResetToken"`)).toEqual(["usable"]);
  });

  it("API refresh tokens: expired or revoked ones go; a live one and a used (rotated) unexpired one stay", async () => {
    const { user } = await createUser();
    const rows = {
      live: ["now() + interval '1 day'", "NULL", "NULL"],
      rotated: ["now() + interval '1 day'", "now() - interval '1 minute'", "NULL"], // kept: presenting it again reveals a stolen copy
      expired: ["now() - interval '1 second'", "NULL", "NULL"],
      revoked: ["now() + interval '1 day'", "NULL", "now() - interval '1 minute'"],
    };
    const uuid = (i: number) => `00000000-0000-4000-8000-00000000000${i}`;
    const names = Object.keys(rows);
    for (const [i, [expires, used, revoked]] of Object.values(rows).entries())
      await pool.query(
        `INSERT INTO "ApiRefreshToken" (id, "familyId", "userId", "expiresAt", "usedAt", "revokedAt") VALUES ($1, $1, $2, ${expires}, ${used}, ${revoked})`,
        [uuid(i), user.id],
      );
    await purgeRefreshTokens.handle({});
    const left = await ids(`SELECT id FROM "ApiRefreshToken"`);
    expect(left.map((id) => names[Number(id.slice(-1))])).toEqual(["live", "rotated"]);
  });

  it(`autosaves: one older than ${AUTOSAVE_KEEP_DAYS} days whose post was saved since goes; newer ones, unsaved posts' and new posts' stay`, async () => {
    const { user } = await createUser({ role: "AUTHOR" });
    const saved = await makePost({ authorId: user.id, title: "Saved since" });
    const notSaved = await makePost({ authorId: user.id, title: "Not saved since" });
    const recent = await makePost({ authorId: user.id, title: "Recent autosave" });
    const insert = (slot: string, postId: number | null, age: string) =>
      pool.query(`INSERT INTO "Autosave" ("userId", "postId", slot, fields, "updatedAt") VALUES ($1, $2, $3, '{"title":"x"}', now() - $4::interval)`, [
        user.id,
        postId,
        slot,
        age,
      ]);
    const old = `${AUTOSAVE_KEEP_DAYS + 1} days`;
    await insert(`post:${saved.id}`, saved.id, old); // the post was saved (now) after it: dead weight
    await insert(`post:${notSaved.id}`, notSaved.id, old); // newer than the post: still offered when the form opens
    await pool.query(`UPDATE "Post" SET "updatedAt" = now() - interval '60 days' WHERE id = $1`, [notSaved.id]);
    await insert(`post:${recent.id}`, recent.id, `${AUTOSAVE_KEEP_DAYS - 1} days`); // superseded, but not old enough yet
    await insert("new", null, "90 days"); // a post never saved: one per user, the only copy of its text
    await purgeAutosaves.handle({});
    expect(await ids(`SELECT slot AS id FROM "Autosave"`)).toEqual(["new", `post:${notSaved.id}`, `post:${recent.id}`].sort());
  });

  it("startJobs registers every purge's schedule with pg-boss (a working process: cron runs where jobs are worked)", async () => {
    await startJobs({ work: true });
    const { rows } = await pool.query<{ name: string; cron: string }>(`SELECT name, cron FROM pgboss.schedule`);
    const schedules = Object.fromEntries(rows.map((r) => [r.name, r.cron]));
    for (const job of [purgeSessions, purgeRateLimits, purgeResetTokens, purgeRefreshTokens, purgeAutosaves]) expect(schedules[job.name]).toBe(job.cron);
  });
});
