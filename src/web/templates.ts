// The Nunjucks environment: autoescape on, templates from views/, filters and globals defined once.
import { resolve } from "node:path";
import nunjucks from "nunjucks";
import type { Express } from "express";
import { config } from "../config.ts";
import { url, absoluteUrl, absolute } from "./urls.ts";
import { staticUrl } from "./static.ts";
import { installMacroGlobals } from "./macros.ts";
import { wallClock } from "./inputs.ts";

const VIEWS_DIR = resolve(import.meta.dirname, "../../views");

const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];
const MONTHS_AP = ["Jan.", "Feb.", "March", "April", "May", "June", "July", "Aug.", "Sept.", "Oct.", "Nov.", "Dec."];
const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const pad = (n: number) => String(n).padStart(2, "0");

/**
 * One Django date format character of `d`, whose UTC fields are the wall clock in the site's zone
 * (wallClock(), src/web/inputs.ts); `at` is the instant itself (for "c", "T", "O", "e"); any other
 * character is itself. A switch, not a table of closures: the filter runs for every post card on every
 * list page.
 */
function datePart(d: Date, at: Date, ch: string): string {
  switch (ch) {
    case "d":
      return pad(d.getUTCDate());
    case "j":
      return String(d.getUTCDate());
    case "D":
      return DAYS[d.getUTCDay()]!.slice(0, 3);
    case "l":
      return DAYS[d.getUTCDay()]!;
    case "m":
      return pad(d.getUTCMonth() + 1);
    case "n":
      return String(d.getUTCMonth() + 1);
    case "M":
      return MONTHS[d.getUTCMonth()]!.slice(0, 3);
    case "N":
      return MONTHS_AP[d.getUTCMonth()]!;
    case "F":
      return MONTHS[d.getUTCMonth()]!;
    case "Y":
      return String(d.getUTCFullYear());
    case "y":
      return String(d.getUTCFullYear()).slice(-2);
    case "H":
      return pad(d.getUTCHours());
    case "G":
      return String(d.getUTCHours());
    case "h":
      return pad(d.getUTCHours() % 12 || 12);
    case "g":
      return String(d.getUTCHours() % 12 || 12);
    case "i":
      return pad(d.getUTCMinutes());
    case "s":
      return pad(d.getUTCSeconds());
    case "A":
      return d.getUTCHours() < 12 ? "AM" : "PM";
    case "a":
      return d.getUTCHours() < 12 ? "a.m." : "p.m.";
    case "c":
      return at.toISOString();
    case "O": {
      const o = Math.round((d.getTime() - at.getTime()) / 60_000);
      return `${o < 0 ? "-" : "+"}${pad(Math.floor(Math.abs(o) / 60))}${pad(Math.abs(o) % 60)}`;
    }
    case "T":
      return zoneAbbreviation(at);
    case "e":
      return config.TIME_ZONE;
    default:
      return ch;
  }
}

let abbreviations: { zone: string; fmt: Intl.DateTimeFormat } | undefined;
/** The zone's short name at `at` ("EST", "EDT", "UTC"; "GMT+1" where English has no abbreviation), as Django's "T". */
function zoneAbbreviation(at: Date): string {
  const zone = config.TIME_ZONE;
  if (zone === "UTC") return zone;
  if (abbreviations?.zone !== zone) abbreviations = { zone, fmt: new Intl.DateTimeFormat("en-US", { timeZone: zone, timeZoneName: "short" }) };
  // "11/21/2026, EST": the name follows the last ", " (format() is a third of formatToParts' cost).
  const shown = abbreviations.fmt.format(at);
  return shown.slice(shown.lastIndexOf(", ") + 2) || zone;
}

/** The site's zone for a writer, beside a time they read or type: "America/New_York (EST)" at `at` (default now); "UTC". */
export function zoneLabel(at: Date = new Date()): string {
  const abbr = zoneAbbreviation(at);
  return abbr === config.TIME_ZONE ? abbr : `${config.TIME_ZONE} (${abbr})`;
}

/**
 * Django's date filter (a subset of its format characters), in the site's time zone (TIME_ZONE).
 * "F j, Y" -> "November 21, 2026"; "N j, Y" -> "Nov. 21, 2026"; "g:i a T" -> "9:00 p.m. EST". A backslash
 * makes the next character literal.
 */
export function formatDate(value: Date | string | null | undefined, format = "F j, Y"): string {
  if (value === null || value === undefined || value === "") return "";
  const at = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(at.getTime())) return "";
  const d = wallClock(at);
  let out = "";
  for (let i = 0; i < format.length; i++) {
    const ch = format[i]!;
    if (ch === "\\" && i + 1 < format.length) out += format[++i];
    else out += datePart(d, at, ch);
  }
  return out;
}

/** Django's truncatewords: at most n words, "…" appended when cut. */
export function truncateWords(value: unknown, n: number): string {
  const words = String(value ?? "")
    .trim()
    .split(/\s+/)
    .filter(Boolean);
  return words.length <= n ? words.join(" ") : `${words.slice(0, n).join(" ")} …`;
}

const SCRIPT_UNSAFE = /[<>&]/g;
const SCRIPT_ESCAPES: Record<string, string> = { "<": "\\u003c", ">": "\\u003e", "&": "\\u0026" };
/** JSON for a <script type="application/ld+json"> block: "<" escaped so it cannot close the tag. */
function jsonScript(value: unknown): nunjucks.runtime.SafeString {
  const s = JSON.stringify(value);
  return new nunjucks.runtime.SafeString(s.search(SCRIPT_UNSAFE) === -1 ? s : s.replace(SCRIPT_UNSAFE, (c) => SCRIPT_ESCAPES[c]!));
}

/**
 * What a feature adds to every template environment (globals, filters), given the environment and
 * whether rendered output may be memoised (not in development, where templates reload). src/web knows
 * no feature: each registers its extension when its module loads (as its routes register their names
 * with route()), e.g. the blog's post_url() and post cards (src/blog/controller.ts).
 */
export type TemplateExtension = (env: nunjucks.Environment, memoise: boolean) => void;
const extensions: TemplateExtension[] = [];

/** Adds `extension` to every environment createTemplateEnv() makes from now on. */
export function extendTemplates(extension: TemplateExtension): void {
  extensions.push(extension);
}

export function createTemplateEnv(app?: Express): nunjucks.Environment {
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(VIEWS_DIR, { noCache: config.NODE_ENV === "development", watch: false }), {
    autoescape: true,
    throwOnUndefined: false,
    trimBlocks: true,
    lstripBlocks: true,
  });
  env.addFilter("date", formatDate);
  env.addGlobal("zone_label", zoneLabel);
  env.addFilter("truncatewords", truncateWords);
  env.addFilter("isoformat", (d: Date | string) => (d ? new Date(d).toISOString() : ""));
  env.addFilter("json_script", jsonScript);
  env.addFilter("pluralize", (n: number, suffix = "s") => (n === 1 ? "" : suffix));
  env.addFilter("intcomma", (n: number) => Number(n ?? 0).toLocaleString("en-US"));
  env.addGlobal("url", url);
  env.addGlobal("absolute_url", absoluteUrl);
  env.addGlobal("absolute", absolute);
  env.addGlobal("static", staticUrl);
  env.addGlobal("site", { name: config.SITE_NAME, url: config.SITE_URL, description: config.SITE_DESCRIPTION });
  env.addGlobal("now", () => new Date());
  const memoise = config.NODE_ENV !== "development"; // development reloads templates on every request
  // The pagination partial's macro, callable without an import: pagination(page) (see src/web/macros.ts).
  installMacroGlobals(env, { "partials/pagination.njk": ["pagination"] }, memoise);
  for (const extend of extensions) extend(env, memoise);
  if (app) {
    env.express(app);
    app.set("view engine", "njk");
    app.set("views", VIEWS_DIR);
  }
  return env;
}
