// The input primitives every parser of the site uses (admin forms and change lists, the account
// and editor forms, the reader's URLs, the JSON endpoints). Two facts of PostgreSQL shape them:
//  - a text value cannot hold the NUL character (U+0000): a query carrying one fails as a whole;
//  - every id (and version) column is an `integer` (int4): a number above 2,147,483,647 fails the
//    query, even in a WHERE clause that could never match.
// So each input is checked here, before anything reaches the database, and answered as follows:
//  - an id in a path that is not a positive int4 is the site's 404 (no such object can exist): pathId();
//  - an id in a form field, a select or a query parameter that is not one is a 400 with the field's
//    message (toId() / idString());
//  - a NUL in a text field is a 400 with the field's message NUL_MESSAGE (noNul()): what a writer
//    submits is stored as sent or not at all, never silently altered; no keyboard types a NUL, so
//    the message only ever meets a broken client or a probe;
//  - a NUL in a search box (reader search, the admin's change-list search) is dropped with the
//    other control characters (searchText()): a search is a question, not stored data, and the
//    words around it are still worth answering.
// And the other shapes every parser shares: a slug (SLUG_PATTERN, isSlug, slugString), a day
// ("YYYY-MM-DD": parseIsoDay, isoDay, dayString; in a URL's path: DAY_PATH_PARTS + isRealDay), the
// site's time zone (TIME_ZONE: wallClock, zoneOffset, zonedInstant: the one home of
// zone arithmetic) and a redirect target (`next=`: safeRedirect, a path on this site only).
import { z } from "zod";
import { config } from "../config.ts";
import { caches } from "../cache/index.ts";
import { notFound } from "./errors.ts";

/** PostgreSQL's integer (int4) maximum: every id and version column is one. */
export const INT4_MAX = 2_147_483_647;

/** A plain positive integer of at most 10 digits (the int4 range is then checked by value). */
const ID_PATTERN = /^[1-9]\d{0,9}$/;

/** `v` as an id (a positive int4 given as digits, or as a number), or null. */
export function toId(v: unknown): number | null {
  if (typeof v === "number") return Number.isInteger(v) && v >= 1 && v <= INT4_MAX ? v : null;
  if (typeof v !== "string" || !ID_PATTERN.test(v)) return null;
  const n = Number(v);
  return n <= INT4_MAX ? n : null;
}

export const isId = (v: unknown): boolean => toId(v) !== null;

/** An id from the URL's path: anything but a positive int4 is the site's 404. */
export function pathId(v: unknown): number {
  const id = toId(v);
  if (id === null) throw notFound();
  return id;
}

/** zod: a single form or query value that must be an id (surrounding spaces ignored) -> number; `message` otherwise. */
export const idString = (message = "Enter a valid id.") => z.string({ error: message }).trim().refine(isId, message).transform(Number);

/** The field message for text carrying a NUL character. */
export const NUL_MESSAGE = "This field contains a character that is not allowed (a NUL byte).";

/** For zod's refine(): true when the text can be stored (no NUL). */
export const noNul = (s: string): boolean => !s.includes("\u0000");

/**
 * Search-box text as the database can take it: NUL and the other control characters (tab and
 * newlines aside) become spaces, runs of white space one space, the ends trimmed.
 */
export function searchText(s: string): string {
  return (
    s
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, " ")
      .replace(/\s+/g, " ")
      .trim()
  );
}

// --- slugs ---------------------------------------------------------------------------------------

/** A slug: lowercase ASCII letters and digits, single hyphens between (what slugify() writes). */
export const SLUG_PATTERN = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

/** The field message for a value that is not a slug. */
export const SLUG_MESSAGE = "Use lowercase letters, digits and hyphens (e.g. my-first-post).";

export const isSlug = (v: unknown): v is string => typeof v === "string" && SLUG_PATTERN.test(v);

/** zod: a slug of at most `max` characters (a URL part or a form value already trimmed). */
export const slugString = (max: number, message = SLUG_MESSAGE) => z.string().max(max, message).regex(SLUG_PATTERN, message);

// --- dates ---------------------------------------------------------------------------------------
// A calendar day is written "YYYY-MM-DD" (forms, filters, the admin's date links) or as the parts of a
// post's address (/blog/2026/11/21/slug/). The day of an instant is its day in the site's time zone
// (config.TIME_ZONE, an IANA name): stored instants stay UTC, what a person reads or types is in the zone.

/** The day `year`-`month`-`day` as "YYYY-MM-DD" when it is a real calendar date (years 1-9999), or null (2026-02-30, month 13...). */
export function isoDay(year: number, month: number, day: number): string | null {
  if (![year, month, day].every(Number.isInteger) || year < 1 || year > 9999 || month < 1 || month > 12 || day < 1 || day > 31) return null;
  const t = new Date(0);
  t.setUTCFullYear(year, month - 1, day); // not Date.UTC, which reads years 0-99 as 1900-1999
  if (t.getUTCFullYear() !== year || t.getUTCMonth() !== month - 1 || t.getUTCDate() !== day) return null;
  return `${String(year).padStart(4, "0")}-${String(month).padStart(2, "0")}-${String(day).padStart(2, "0")}`;
}

const ISO_DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** "YYYY-MM-DD" naming a real day -> that day at 00:00 UTC (the calendar day as a Date, zone-free); anything else -> null. */
export function parseIsoDay(v: unknown): Date | null {
  const m = typeof v === "string" ? ISO_DAY.exec(v) : null;
  if (!m || isoDay(Number(m[1]), Number(m[2]), Number(m[3])) === null) return null;
  return new Date(`${m[0]}T00:00:00Z`);
}

/** The day of `d` in the site's time zone (or `zone`), as "YYYY-MM-DD" (a post's URL date, slug clashes). */
export function dayString(d: Date, zone = config.TIME_ZONE): string {
  const w = wallClock(d, zone);
  return `${String(w.getUTCFullYear()).padStart(4, "0")}-${pad2(w.getUTCMonth() + 1)}-${pad2(w.getUTCDate())}`;
}

const pad2 = (n: number) => (n < 10 ? `0${n}` : String(n));

// The zone's offset at an instant comes from one Intl.DateTimeFormat (made once per zone: making one
// costs tens of µs, using it about 1 µs), read with format() and a regular expression (formatToParts is
// three times slower). With TIME_ZONE=UTC no Intl call is made at all.
let zoneFormat: { zone: string; fmt: Intl.DateTimeFormat } | undefined;
function wallFormat(zone: string): Intl.DateTimeFormat {
  if (zoneFormat?.zone !== zone) {
    const fmt = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      era: "short",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    zoneFormat = { zone, fmt };
  }
  return zoneFormat.fmt;
}
/** What wallFormat() writes: "11/21/2026 AD, 21:00:00" (the era tells years before 1 apart). */
const WALL = /^(\d+)\/(\d+)\/(\d+) (A|B)[^,]*, (\d+):(\d+):(\d+)$/;

/** True when the site's zone is UTC (or an alias of it): offsets are 0, nothing to compute. */
const isUtc = (zone: string) => zone === "UTC" || zone === "Etc/UTC";

const DAY_MS = 86_400_000;

/**
 * The offset of the site's zone (or `zone`) from UTC at instant `t` (ms since the epoch), in ms: New York
 * in winter -18,000,000, Kolkata +19,800,000. Memoised per UTC day (caches.zoneOffsets: about 0.1 µs
 * instead of 2-5 µs of Intl): a day whose first and last second have the same offset has no change of
 * clocks in it (two changes that cancel out within 24 hours do not occur); a day with one is computed
 * at each call.
 */
export function zoneOffset(t: number, zone = config.TIME_ZONE): number {
  if (isUtc(zone) || !Number.isFinite(t)) return 0;
  const day = Math.floor(t / DAY_MS);
  const key = `${zone} ${day}`;
  let steady = caches.zoneOffsets.get(key);
  if (steady === undefined) {
    const first = offsetNow(day * DAY_MS, zone);
    steady = first === offsetNow(day * DAY_MS + DAY_MS - 1000, zone) ? first : NaN;
    caches.zoneOffsets.set(key, steady);
  }
  return Number.isNaN(steady) ? offsetNow(t, zone) : steady;
}

/** zoneOffset() from Intl, unmemoised. */
function offsetNow(t: number, zone: string): number {
  const whole = Math.floor(t / 1000) * 1000; // the wall clock is shown to the second
  const shown = wallFormat(zone).format(whole);
  const m = WALL.exec(shown);
  if (!m) throw new Error(`unexpected wall clock format for ${zone}: ${shown}`);
  const year = m[4] === "B" ? 1 - Number(m[3]) : Number(m[3]);
  const wall = new Date(0);
  wall.setUTCFullYear(year, Number(m[1]) - 1, Number(m[2]));
  wall.setUTCHours(Number(m[5]), Number(m[6]), Number(m[7]), 0);
  return wall.getTime() - whole;
}

/**
 * The wall clock of `d` in the site's zone (or `zone`), as a Date whose UTC fields (getUTCFullYear() ... getUTCSeconds(),
 * getUTCDay()) are the zone's: read it with the getUTC* methods only (it is not the same instant).
 */
export function wallClock(d: Date, zone = config.TIME_ZONE): Date {
  const t = d.getTime();
  return isUtc(zone) ? d : new Date(t + zoneOffset(t, zone));
}

/**
 * The instant at which the site's zone shows `year`-`month`-`day` `hour`:`minute`:`second` (month 1-12),
 * or null when the fields do not name a real date and time. A time the zone skips (clocks moved
 * forward: 02:30 on a spring-forward day in New York) is moved forward by the gap (03:30 EDT), as
 * browsers and Temporal ("compatible") do; a time the zone shows twice (clocks moved back: 01:30 on
 * the autumn day) is the first of the two (01:30 EDT).
 */
export function zonedInstant(year: number, month: number, day: number, hour = 0, minute = 0, second = 0): Date | null {
  if (isoDay(year, month, day) === null) return null;
  if (![hour, minute, second].every(Number.isInteger) || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) return null;
  const w = new Date(0);
  w.setUTCFullYear(year, month - 1, day);
  w.setUTCHours(hour, minute, second, 0);
  const wall = w.getTime(); // the wall clock read as if it were UTC
  if (isUtc(config.TIME_ZONE)) return w;
  // The offsets in force a day either side: a transition between them is the only way to be ambiguous or skipped.
  const before = zoneOffset(wall - 86_400_000);
  const after = zoneOffset(wall + 86_400_000);
  const fits = [before, after].map((o) => wall - o).filter((t) => zoneOffset(t) === wall - t);
  if (fits.length) return new Date(Math.min(...fits)); // the earlier of two readings (or the only one)
  return new Date(wall - before); // in a gap: the offset before the transition, i.e. moved forward by the gap
}

/** "YYYY-MM-DD" naming a real day -> the instant that day begins in the site's zone (a date filter's bound); anything else -> null. */
export function parseZoneDay(v: unknown): Date | null {
  const d = parseIsoDay(v);
  return d && zonedInstant(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate());
}

/**
 * zod shape of a day in a URL's path (/blog/2026/11/21/): a 4-digit year, 2-digit month and day ->
 * numbers. Whether they name a real day is checked on the whole object: isRealDay.
 */
export const DAY_PATH_PARTS = {
  year: z
    .string()
    .regex(/^\d{4}$/)
    .transform(Number),
  month: z
    .string()
    .regex(/^\d{2}$/)
    .transform(Number),
  day: z
    .string()
    .regex(/^\d{2}$/)
    .transform(Number),
};

export const isRealDay = (d: { year: number; month: number; day: number }): boolean => isoDay(d.year, d.month, d.day) !== null;

// --- redirect targets ----------------------------------------------------------------------------

/**
 * Where to go next (a `next=` field or parameter, the admin's "back to the list"): followed only when
 * it is a path on this site: starts with exactly one "/", no "//" or backslash anywhere, no scheme, no
 * control characters or spaces, at most 2,000 characters, and, with `within`, under that path.
 * Anything else -> `fallback`.
 */
export function safeRedirect(next: unknown, fallback = "/", within = "/"): string {
  if (typeof next !== "string" || next.length === 0 || next.length > 2000) return fallback;
  if (!next.startsWith("/") || next.startsWith("//") || !next.startsWith(within)) return fallback;
  if (next.includes("\\") || next.includes("//")) return fallback;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\s]/.test(next)) return fallback;
  try {
    // Resolved against a dummy origin, it must stay on that origin (catches encoded tricks too).
    const base = "http://folio.invalid";
    const u = new URL(next, base);
    if (u.origin !== base) return fallback;
    const decoded = decodeURIComponent(u.pathname);
    if (decoded.startsWith("//") || decoded.includes("\\")) return fallback;
    // "/admin/x/../../accounts/logout/" starts with `within` but a browser resolves it elsewhere: the
    // resolved path must stay under `within` too, and it is what is returned.
    if (!u.pathname.startsWith(within)) return fallback;
    return u.pathname + u.search + u.hash;
  } catch {
    return fallback;
  }
}
