// The Nunjucks environment: autoescape on, templates from views/, filters and globals defined once.
import { resolve } from "node:path";
import nunjucks from "nunjucks";
import type { Express } from "express";
import { config } from "../config.ts";
import { url, absoluteUrl, absolute } from "./urls.ts";
import { staticUrl } from "./static.ts";
import { postUrl } from "../blog/queries.ts";

export const VIEWS_DIR = resolve(import.meta.dirname, "../../views");

const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];
const MONTHS_AP = ["Jan.", "Feb.", "March", "April", "May", "June", "July", "Aug.", "Sept.", "Oct.", "Nov.", "Dec."];
const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const pad = (n: number) => String(n).padStart(2, "0");

/** Django's date filter (a useful subset of its format characters), in UTC. "F j, Y" -> "November 21, 2026". */
export function formatDate(value: Date | string | null | undefined, format = "F j, Y"): string {
  if (value === null || value === undefined || value === "") return "";
  const d = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(d.getTime())) return "";
  const h = d.getUTCHours();
  const map: Record<string, () => string> = {
    d: () => pad(d.getUTCDate()),
    j: () => String(d.getUTCDate()),
    D: () => DAYS[d.getUTCDay()]!.slice(0, 3),
    l: () => DAYS[d.getUTCDay()]!,
    m: () => pad(d.getUTCMonth() + 1),
    n: () => String(d.getUTCMonth() + 1),
    M: () => MONTHS[d.getUTCMonth()]!.slice(0, 3),
    N: () => MONTHS_AP[d.getUTCMonth()]!,
    F: () => MONTHS[d.getUTCMonth()]!,
    Y: () => String(d.getUTCFullYear()),
    y: () => String(d.getUTCFullYear()).slice(-2),
    H: () => pad(h),
    G: () => String(h),
    i: () => pad(d.getUTCMinutes()),
    s: () => pad(d.getUTCSeconds()),
    A: () => (h < 12 ? "AM" : "PM"),
    a: () => (h < 12 ? "a.m." : "p.m."),
    c: () => d.toISOString(),
  };
  let out = "";
  for (let i = 0; i < format.length; i++) {
    const ch = format[i]!;
    if (ch === "\\" && i + 1 < format.length) out += format[++i];
    else out += map[ch]?.() ?? ch;
  }
  return out;
}

/** Django's truncatewords: at most n words, "…" appended when cut. */
export function truncateWords(value: unknown, n: number): string {
  const words = String(value ?? "").trim().split(/\s+/).filter(Boolean);
  return words.length <= n ? words.join(" ") : `${words.slice(0, n).join(" ")} …`;
}

/** JSON for a <script type="application/ld+json"> block: "<" escaped so it cannot close the tag. */
export function jsonScript(value: unknown): nunjucks.runtime.SafeString {
  const s = JSON.stringify(value).replace(/</g, "\\u003c").replace(/>/g, "\\u003e").replace(/&/g, "\\u0026");
  return new nunjucks.runtime.SafeString(s);
}

export function createTemplateEnv(app?: Express): nunjucks.Environment {
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(VIEWS_DIR, { noCache: config.NODE_ENV === "development", watch: false }), {
    autoescape: true,
    throwOnUndefined: false,
    trimBlocks: true,
    lstripBlocks: true,
  });
  env.addFilter("date", formatDate);
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
  env.addGlobal("post_url", postUrl); // post_url(post) -> /blog/YYYY/MM/DD/slug/
  if (app) {
    env.express(app);
    app.set("view engine", "njk");
    app.set("views", VIEWS_DIR);
  }
  return env;
}
