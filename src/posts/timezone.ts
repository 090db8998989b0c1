// The site's time zone (TIME_ZONE) and the dates in post URLs.
//
// Stored instants stay UTC. A post's URL date is the day of its `publish` in the site's zone, kept in
// "Post"."publishDate" by the trigger post_publish_date (migration 20261202051357_studio_media) from
// the zone recorded in "SiteState" (key "time_zone"). This module moves the recorded zone to TIME_ZONE
// and re-dates every post when they differ (redateToZone: once per start, by the process that prepares
// the database: src/server.ts), recording the zone it leaves (key "previous_time_zones"), and finds
// where an old date URL went (movedPostPath: the post page's not-found branch answers 301 with it).
//
// Commands (seed, loaddata, createsuperuser, the job worker) do not re-date: a post they write takes the
// recorded zone's date through the trigger, and the next server start re-dates if TIME_ZONE differs.
// A command run with another TIME_ZONE than the server's must not move every URL under it.
import type pg from "pg";
import { config } from "../config.ts";
import { caches, invalidate, PAGE_TAGS } from "../cache/index.ts";
import { pool, withClient } from "../db/client.ts";
import { StartupError } from "../db/embedded.ts";
import { readQuery } from "../db/prepared.ts";
import { isoDay } from "../web/inputs.ts";
import { logger } from "../web/logger.ts";
import { LIVE_SQL } from "./visibility.ts";
import { postUrl } from "../blog/queries.ts";

/** Serialises re-dates of one database (two servers starting at once: the second finds nothing to do). */
const REDATE_LOCK = "folio:time_zone";

/** A post that kept its old date: another post with its slug already has (or also wanted) the new one. */
export interface KeptPost {
  id: number;
  slug: string;
  /** Its date, kept ("YYYY-MM-DD"). */
  date: string;
  /** The date it would have in the new zone. */
  wanted: string;
}

export interface Redate {
  from: string;
  to: string;
  /** Posts whose URL date changed. */
  moved: number;
  /** Posts that kept their date (slug clash on the new one). */
  kept: KeptPost[];
}

/** The zone "SiteState" records (the zone of every "publishDate"); 'UTC' when the row is missing. */
export async function recordedZone(db: Pick<pg.PoolClient, "query"> = pool): Promise<string> {
  const { rows } = await db.query<{ value: string }>(`SELECT "value" FROM "SiteState" WHERE "key" = 'time_zone'`);
  return rows[0]?.value ?? "UTC";
}

/**
 * Makes the database's dates follow `zone` (default TIME_ZONE): when "SiteState" records another
 * zone, in ONE transaction under an advisory lock, with the posts table locked against writes (a post
 * saved meanwhile waits, then takes the new zone's date through the trigger):
 *   1. checks that PostgreSQL knows the zone (the trigger will use it on every insert);
 *   2. records it;
 *   3. re-dates every post whose day in the new zone differs from its "publishDate", except those whose
 *      new (date, slug) is taken by a post that stays, or wanted by another moving post (the unique index
 *      (publishDate, slug)): those keep their old date (repeated until no more are blocked: one kept
 *      may block another) and are named in a warning. Posts whose old place another moving post wants
 *      step aside first (to a far-away date), so no row meets another on its way.
 * Then clears every cache (in-process, every other process through NOTIFY, Redis; pages purged, not
 * made stale: a stale page would link to the old URLs) and logs one line. Returns null when nothing
 * was to be done. Never fails for a clash; fails (start-up stops, nothing changed) for a zone
 * PostgreSQL does not know or a database error.
 */
export async function redateToZone(zone: string = config.TIME_ZONE): Promise<Redate | null> {
  const recorded = await recordedZone();
  if (recorded === zone) return null; // the common start: one indexed read
  // About 1 ms per post that moves (PostgreSQL rewrites each row: its stored searchVector is recomputed).
  logger.info(`time zone changing from ${recorded} to ${zone}: re-dating posts (saves of posts wait until it is done)`);
  const started = performance.now();
  const result = await withClient(async (client) => {
    await client.query("BEGIN");
    try {
      const done = await redateIn(client, zone);
      await client.query("COMMIT");
      return done;
    } catch (e) {
      await client.query("ROLLBACK").catch(() => {});
      throw e;
    }
  });
  if (!result) return null;
  await invalidate("posts", "taxonomy", PAGE_TAGS.all, PAGE_TAGS.purge(PAGE_TAGS.all));
  const ms = Math.round(performance.now() - started);
  if (result.kept.length) {
    const shown = result.kept.slice(0, 20).map((k) => `#${k.id} ${k.slug} (${k.date}, not ${k.wanted})`);
    logger.warn(
      { kept: result.kept.slice(0, 100) },
      `time zone change: ${result.kept.length} posts keep their old date (another post with the same slug has the new one): ${shown.join(", ")}${result.kept.length > 20 ? ", ..." : ""}`,
    );
  }
  logger.info({ ms }, `time zone changed from ${result.from} to ${result.to}: ${result.moved} posts re-dated`);
  return result;
}

async function redateIn(client: pg.PoolClient, zone: string): Promise<Redate | null> {
  await client.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [REDATE_LOCK]);
  const from = await recordedZone(client);
  if (from === zone) return null; // another process did it while we waited for the lock
  try {
    await client.query("SAVEPOINT zone_probe");
    await client.query(`SELECT now() AT TIME ZONE $1`, [zone]);
    await client.query("RELEASE SAVEPOINT zone_probe");
  } catch {
    await client.query("ROLLBACK TO SAVEPOINT zone_probe");
    throw new StartupError(`TIME_ZONE=${zone}: PostgreSQL does not know this time zone (its time zone data may be older): choose another name for it`);
  }
  // Writes of posts wait until this commits (reads go on).
  await client.query(`LOCK TABLE "Post" IN SHARE ROW EXCLUSIVE MODE`);
  await client.query(
    `INSERT INTO "SiteState" ("key", "value", "updatedAt") VALUES ('time_zone', $1, now())
     ON CONFLICT ("key") DO UPDATE SET "value" = EXCLUDED."value", "updatedAt" = now()`,
    [zone],
  );
  // The zone left joins the previous ones (old date URLs in it answer 301: movedPostPath).
  const previous = [...new Set([...(await readPreviousZones(client)), from])].filter((z) => z !== zone);
  await client.query(
    `INSERT INTO "SiteState" ("key", "value", "updatedAt") VALUES ($1, $2, now())
     ON CONFLICT ("key") DO UPDATE SET "value" = EXCLUDED."value", "updatedAt" = now()`,
    [PREVIOUS_KEY, JSON.stringify(previous)],
  );
  await client.query(
    `CREATE TEMP TABLE folio_redate ON COMMIT DROP AS
       SELECT id, slug, "publishDate" AS old, (publish AT TIME ZONE $1)::date AS new
         FROM "Post" WHERE "publishDate" IS DISTINCT FROM (publish AT TIME ZONE $1)::date`,
    [zone],
  );
  await client.query(`CREATE INDEX ON folio_redate (new, slug)`);
  await client.query(`CREATE INDEX ON folio_redate (id)`);
  await client.query(`ANALYZE folio_redate`);
  // Blocked: the new (date, slug) is held by a post that stays, or wanted by another mover. Each post
  // blocked stays, and may block another: repeat until none is.
  const kept: KeptPost[] = [];
  for (;;) {
    const { rows } = await client.query<{ id: number; slug: string; old: string; new: string }>(
      `DELETE FROM folio_redate m
        WHERE EXISTS (SELECT 1 FROM "Post" p WHERE p."publishDate" = m.new AND p.slug = m.slug
                        AND NOT EXISTS (SELECT 1 FROM folio_redate s WHERE s.id = p.id))
           OR EXISTS (SELECT 1 FROM folio_redate o WHERE o.new = m.new AND o.slug = m.slug AND o.id <> m.id)
        RETURNING m.id, m.slug, to_char(m.old, 'YYYY-MM-DD') AS old, to_char(m.new, 'YYYY-MM-DD') AS new`,
    );
    if (!rows.length) break;
    for (const r of rows) kept.push({ id: r.id, slug: r.slug, date: r.old, wanted: r.new });
  }
  kept.sort((a, b) => a.id - b.id);
  // The unique index is checked row by row: a mover whose old place another mover wants steps aside
  // first, to its old date a million days earlier (some 2,700 years: no post is dated there).
  await client.query(
    `UPDATE "Post" p SET "publishDate" = p."publishDate" - 1000000
       FROM folio_redate m
      WHERE p.id = m.id AND EXISTS (SELECT 1 FROM folio_redate o WHERE o.new = m.old AND o.slug = m.slug)`,
  );
  // publish is unchanged and the date not NULL: the trigger keeps the value set here.
  const moved = await client.query(`UPDATE "Post" p SET "publishDate" = m.new FROM folio_redate m WHERE p.id = m.id`);
  return { from, to: zone, moved: moved.rowCount ?? 0, kept };
}

// ---- old URLs -----------------------------------------------------------------------------------

/** "SiteState" key of the zones post URLs were dated in before the current one (a JSON list, oldest first). */
const PREVIOUS_KEY = "previous_time_zones";

async function readPreviousZones(db: Pick<pg.PoolClient, "query"> = pool): Promise<string[]> {
  const { rows } = await db.query<{ value: string }>(`SELECT "value" FROM "SiteState" WHERE "key" = $1`, [PREVIOUS_KEY]);
  try {
    const list: unknown = JSON.parse(rows[0]?.value ?? "[]");
    return Array.isArray(list) ? list.filter((z): z is string => typeof z === "string") : [];
  } catch {
    return [];
  }
}

/** The zones post URLs were dated in before TIME_ZONE (redateToZone records them); [] for a site that never changed zone. */
export function previousZones(): Promise<string[]> {
  return caches.previousZones.fetch("all", () => readPreviousZones());
}

/** How far a calendar day reaches in UTC across all zones: from UTC+14 (Kiribati) to UTC-12. */
const EARLIEST_ZONE_MS = 14 * 3_600_000;
const LATEST_ZONE_MS = 12 * 3_600_000;

/**
 * Where an old post URL went: /blog/Y/M/D/slug/ names no post (the page found none on that date), but
 * a live post with that slug has that date in one of the site's previous zones (previousZones): the URL
 * was its address before a change of TIME_ZONE. Answers that post's canonical path (its "publishDate"),
 * the earliest published when several are; null when none is. No query at all for a site that never
 * changed zone (the list is cached); else one probe of the (status, publish) index over the 50 hours
 * a calendar day spans across zones.
 */
export async function movedPostPath(date: { year: number; month: number; day: number }, slug: string): Promise<string | null> {
  const iso = isoDay(date.year, date.month, date.day);
  if (!iso) return null;
  const zones = await previousZones();
  if (!zones.length) return null;
  const dayStart = Date.parse(`${iso}T00:00:00Z`);
  const from = new Date(dayStart - EARLIEST_ZONE_MS);
  const to = new Date(dayStart + 86_400_000 + LATEST_ZONE_MS);
  const { rows } = await readQuery<{ day: string; slug: string; publish: Date }>(
    `SELECT to_char(p."publishDate", 'YYYY-MM-DD') AS day, p.slug, p.publish FROM "Post" p
      WHERE p.slug = $1 AND ${LIVE_SQL} AND p.publish >= $2 AND p.publish < $3 AND p."publishDate" <> $4::date
        AND EXISTS (SELECT 1 FROM unnest($5::text[]) AS z(name) WHERE (p.publish AT TIME ZONE z.name)::date = $4::date)
      ORDER BY p.publish, p.id LIMIT 1`,
    [slug, from, to, iso, zones],
  );
  const r = rows[0];
  return r ? postUrl({ publish: r.publish, slug: r.slug, publishDate: r.day }) : null;
}
