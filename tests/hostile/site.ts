// The hostile-input sweep's view of the site, generated from what the site declares: the named
// routes (src/web/urls.ts), the forms and links its pages render (crawled as each role), and the
// parameter names its scripts send (public/js). Nothing here lists a form or a parameter by hand,
// so a form added tomorrow is swept the day it renders.
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Parser } from "htmlparser2";
import { compile, match } from "path-to-regexp";
import { config } from "../../src/config.ts";
import { pool } from "../../src/db/index.ts";
import { routePaths } from "../../src/web/urls.ts";

// ------------------------------------------------------------------ hostile values

/** A value as it travels: `raw` is already URL-encoded (so malformed escapes can be sent as such). */
export interface Hostile {
  label: string;
  raw: string;
}

const enc = (label: string, value: string): Hostile => ({ label, raw: encodeURIComponent(value) });
const raw = (label: string, r: string): Hostile => ({ label, raw: r });

/** Ids one past PostgreSQL's int4, past int8, and 10 digits (what a \d{1,10} check lets through). */
export const OUT_OF_RANGE_IDS = ["2147483648", "9999999999", "99999999999999999999"];

/**
 * The two classes of the issue (NUL bytes, ids beyond PostgreSQL's integer range) and the hostile
 * values the project's tests already send somewhere (huge pages, malformed and odd encodings, long
 * strings, markup, SQL, numbers that are not ids).
 */
export const HOSTILE: Hostile[] = [
  raw("NUL inside text", "a%00b"),
  raw("NUL alone", "%00"),
  ...OUT_OF_RANGE_IDS.map((v) => enc(`id ${v}`, v)),
  enc("-1", "-1"),
  enc("0", "0"),
  enc("1e30", "1e30"),
  enc("1.5", "1.5"),
  enc("abc", "abc"),
  enc("empty", ""),
  enc("5000 characters", "x".repeat(5000)),
  enc("huge page number", "9".repeat(300)),
  enc("markup", "<script>alert(1)</script>"),
  enc("SQL", "' OR 1=1 --"),
  raw("malformed %-escape", "%E0%A4%A"),
  raw("invalid UTF-8 (a surrogate)", "%ED%A0%80"),
  raw("lone %", "%"),
  raw("control characters", "%01%1F%7F"),
  enc("emoji", "🙂"),
  enc("full-width digit", "１"),
];

/** Path segments get the values above plus what only a path can carry. */
export const HOSTILE_SEGMENTS: Hostile[] = [
  ...HOSTILE.filter((h) => h.raw !== "" && h.raw !== "%"),
  raw("encoded slash", "a%2Fb"),
  raw("dot-dot", "..%2F..%2Fetc%2Fpasswd"),
  raw("%ff", "%ff"),
];

// ------------------------------------------------------------------ HTML: forms and URLs

export interface Control {
  name: string;
  tag: "input" | "select" | "textarea" | "button";
  type: string;
  value: string;
  checked: boolean;
  disabled: boolean;
  multiple: boolean;
  options: { value: string; selected: boolean }[];
}

export interface Form {
  method: "get" | "post";
  /** The action as a site path (with its query), resolved against the page. */
  action: string;
  controls: Control[];
}

export interface ParsedPage {
  forms: Form[];
  /** Every site path the page names (links, form actions, data-* URLs for its scripts). */
  urls: string[];
  /** The site paths named in data-* attributes: endpoints the page's scripts call. */
  scriptUrls: string[];
}

/** A site-relative path for an attribute value, or null (other sites, static files, fragments). */
function sitePath(v: string, base: string): string | null {
  let p = v.trim();
  if (p.startsWith(config.SITE_URL)) p = p.slice(config.SITE_URL.length) || "/";
  if (p === "") return base;
  if (p.startsWith("?")) return base.split("?")[0] + p;
  if (!p.startsWith("/") || p.startsWith("//") || p.startsWith("/static/")) return null;
  return p.split("#")[0]!;
}

export function parsePage(html: string, pageUrl: string): ParsedPage {
  const forms: Form[] = [];
  const urls = new Set<string>();
  const scriptUrls = new Set<string>();
  let form: Form | null = null;
  let select: Control | null = null;
  let option: { value: string | null; text: string; selected: boolean } | null = null;
  let textarea: Control | null = null;
  const parser = new Parser(
    {
      onopentag(tag, attrs) {
        for (const [k, v] of Object.entries(attrs)) {
          if (k === "href" || k === "action" || k === "formaction" || k.startsWith("data-")) {
            const p = sitePath(v, pageUrl);
            if (p && (k !== "href" || tag === "a")) urls.add(p);
            if (p && k.startsWith("data-")) scriptUrls.add(p);
          }
        }
        if (tag === "form") {
          form = {
            method: (attrs.method ?? "get").toLowerCase() === "post" ? "post" : "get",
            action: sitePath(attrs.action ?? "", pageUrl) ?? pageUrl,
            controls: [],
          };
          return;
        }
        if (!form || !["input", "select", "textarea", "button", "option"].includes(tag)) return;
        if (tag === "option") {
          if (select) option = { value: attrs.value ?? null, text: "", selected: "selected" in attrs };
          return;
        }
        if (!attrs.name) return;
        const c: Control = {
          name: attrs.name,
          tag: tag as Control["tag"],
          type: (attrs.type ?? (tag === "button" ? "submit" : tag === "input" ? "text" : tag)).toLowerCase(),
          value: attrs.value ?? "",
          checked: "checked" in attrs,
          disabled: "disabled" in attrs,
          multiple: "multiple" in attrs,
          options: [],
        };
        (form as Form).controls.push(c);
        if (tag === "select") select = c;
        if (tag === "textarea") textarea = c;
      },
      ontext(text) {
        if (option) option.text += text;
        else if (textarea) textarea.value += text;
      },
      onclosetag(tag) {
        if (tag === "option" && option && select) {
          select.options.push({ value: option.value ?? option.text.trim(), selected: option.selected });
          option = null;
        } else if (tag === "select") select = null;
        else if (tag === "textarea" && textarea) {
          textarea.value = textarea.value.replace(/^\r?\n/, ""); // as browsers do
          textarea = null;
        } else if (tag === "form" && form) {
          forms.push(form);
          form = null;
        }
      },
    },
    { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true },
  );
  parser.write(html);
  parser.end();
  return { forms, urls: [...urls], scriptUrls: [...scriptUrls] };
}

/** Site paths in an XML document (sitemaps' <loc>, feeds' links). */
export function xmlUrls(xml: string): string[] {
  const out = new Set<string>();
  for (const m of xml.matchAll(/(?:<loc>|href=")([^<"]+)/g)) {
    const p = sitePath(m[1]!.replace(/&amp;/g, "&"), "/");
    if (p) out.add(p);
  }
  return [...out];
}

/** What a browser submits for `form` when its first named submit button is pressed: [name, value] pairs. */
export function defaultEntries(form: Form): [string, string][] {
  const out: [string, string][] = [];
  let submitter = false;
  for (const c of form.controls) {
    if (c.disabled) continue;
    if (c.type === "submit" || c.type === "image") {
      if (!submitter) out.push([c.name, c.value]);
      submitter = true;
    } else if (c.type === "button" || c.type === "reset" || c.type === "file") continue;
    else if (c.type === "checkbox" || c.type === "radio") {
      if (c.checked) out.push([c.name, c.value || "on"]);
    } else if (c.tag === "select") {
      const sel = c.options.filter((o) => o.selected);
      if (c.multiple) for (const o of sel) out.push([c.name, o.value]);
      else {
        const o = sel.at(-1) ?? c.options[0];
        if (o) out.push([c.name, o.value]);
      }
    } else out.push([c.name, c.value]);
  }
  return out;
}

/** URL-encodes entries the way a browser does for application/x-www-form-urlencoded. */
export function encodeEntries(entries: [string, string][]): string {
  return entries.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&");
}

/** Control names, with row numbers folded ("form-12-status" and "form-13-status" are one field). */
export const shapeOf = (name: string) => name.replace(/\d+/g, "#");

// ------------------------------------------------------------------ routes

export interface RouteMatch {
  pattern: string;
  params: Record<string, string>;
}

/** Every named route (src/web/urls.ts), with a matcher; literal routes before ones with more parameters. */
export function namedRoutes() {
  return [...routePaths()]
    .map((pattern) => ({ pattern, params: paramNames(pattern), test: match(pattern, { decode: false }), build: compile(pattern, { encode: false }) }))
    .sort((a, b) => a.params.length - b.params.length);
}
export type NamedRoute = ReturnType<typeof namedRoutes>[number];

export function paramNames(pattern: string): string[] {
  return [...pattern.matchAll(/:(\w+)/g)].map((m) => m[1]!);
}

export function matchRoute(routes: NamedRoute[], path: string): RouteMatch | null {
  const pathname = path.split("?")[0]!;
  for (const r of routes) {
    const m = r.test(pathname);
    if (m) return { pattern: r.pattern, params: m.params as Record<string, string> };
  }
  return null;
}

/** Query parameter names and values of a site path (raw, as written in the page). */
export function queryOf(path: string): [string, string][] {
  const q = path.split("?")[1];
  if (!q) return [];
  return q
    .split("&")
    .filter(Boolean)
    .map((kv) => {
      const i = kv.indexOf("=");
      return i < 0 ? [kv, ""] : [kv.slice(0, i), kv.slice(i + 1)];
    });
}

/** Parameter names the site's scripts send to its JSON endpoints (URLSearchParams({...}) keys, .set("name", ...)). */
export function scriptParamNames(): string[] {
  const dir = resolve(import.meta.dirname, "../../public/js");
  const names = new Set<string>();
  for (const f of readdirSync(dir).filter((n) => n.endsWith(".js"))) {
    const js = readFileSync(join(dir, f), "utf8");
    for (const m of js.matchAll(/URLSearchParams\(\{([^}]*)\}/g)) for (const k of m[1]!.matchAll(/(\w+)\s*:/g)) names.add(k[1]!);
    for (const m of js.matchAll(/\.(?:set|append)\(\s*["'](\w+)["']/g)) names.add(m[1]!);
    for (const m of js.matchAll(/JSON\.stringify\(\{([^}]*)\}/g)) for (const k of m[1]!.matchAll(/(\w+)\s*:/g)) names.add(k[1]!);
  }
  return [...names];
}

// ------------------------------------------------------------------ the database: digest, snapshot, restore

const SKIP_TABLES = new Set(["session", "rate_limit", "_prisma_migrations"]);

async function contentTables(): Promise<{ name: string; cols: string[]; serial: string | null }[]> {
  const { rows } = await pool.query<{ name: string; cols: string[]; serial: string | null }>(
    `SELECT c.relname AS name,
            array_agg(quote_ident(a.attname) ORDER BY a.attnum) FILTER (WHERE a.attgenerated = '') AS cols,
            max(a.attname) FILTER (WHERE pg_get_serial_sequence(quote_ident(c.relname), a.attname) IS NOT NULL) AS serial
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_attribute a ON a.attrelid = c.oid
      WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
      GROUP BY c.relname ORDER BY c.relname`,
  );
  return rows.filter((r) => !SKIP_TABLES.has(r.name));
}

let tables: Awaited<ReturnType<typeof contentTables>> | undefined;

/** One fingerprint of every content table (sessions and throttle counters aside). */
export async function digest(): Promise<string> {
  tables ??= await contentTables();
  const sql = tables
    .map((t) => `SELECT '${t.name}' AS t, md5(coalesce(string_agg(md5(x::text), '' ORDER BY md5(x::text)), '')) AS h FROM public."${t.name}" x`)
    .join(" UNION ALL ");
  const { rows } = await pool.query<{ t: string; h: string }>(sql);
  return rows
    .map((r) => `${r.t}:${r.h}`)
    .sort()
    .join(" ");
}

/**
 * Copies every content table into the schema hostile_snapshot, and from then on counts every row
 * written to them (a trigger per table): writes() tells whether a request stored anything, without
 * reading the tables. A rolled-back transaction leaves the count as it was.
 */
export async function takeSnapshot(): Promise<void> {
  tables ??= await contentTables();
  await pool.query(`DROP SCHEMA IF EXISTS hostile_snapshot CASCADE; CREATE SCHEMA hostile_snapshot`);
  for (const t of tables) await pool.query(`CREATE TABLE hostile_snapshot."${t.name}" AS SELECT ${t.cols.join(", ")} FROM public."${t.name}"`);
  await pool.query(`CREATE TABLE hostile_snapshot.writes (n bigint NOT NULL); INSERT INTO hostile_snapshot.writes VALUES (0);
    CREATE FUNCTION hostile_snapshot.count_write() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN UPDATE hostile_snapshot.writes SET n = n + 1; RETURN NULL; END $$`);
  for (const t of tables)
    await pool.query(
      `CREATE TRIGGER hostile_count_write AFTER INSERT OR UPDATE OR DELETE ON public."${t.name}" FOR EACH ROW EXECUTE FUNCTION hostile_snapshot.count_write()`,
    );
}

/** Rows written to the content tables since the snapshot was taken or last restored. */
export async function writes(): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(`SELECT n FROM hostile_snapshot.writes`);
  return Number(rows[0]!.n);
}

/** Puts every content table back as it was at takeSnapshot() (sequences too; the triggers do not fire); throttle counters are cleared. */
export async function restoreSnapshot(): Promise<void> {
  tables ??= await contentTables();
  const c = await pool.connect();
  try {
    await c.query("BEGIN");
    await c.query("SET LOCAL session_replication_role = replica"); // foreign keys are re-satisfied by the copy
    for (const t of tables) await c.query(`DELETE FROM public."${t.name}"`);
    for (const t of tables)
      await c.query(`INSERT INTO public."${t.name}" (${t.cols.join(", ")}) SELECT ${t.cols.join(", ")} FROM hostile_snapshot."${t.name}"`);
    for (const t of tables.filter((x) => x.serial))
      await c.query(
        `SELECT setval(pg_get_serial_sequence('public."${t.name}"', '${t.serial}'), coalesce((SELECT max("${t.serial}") FROM public."${t.name}"), 0) + 1, false)`,
      );
    await c.query(`DELETE FROM rate_limit`);
    await c.query(`UPDATE hostile_snapshot.writes SET n = 0`);
    await c.query("COMMIT");
  } catch (e) {
    await c.query("ROLLBACK").catch(() => {});
    throw e;
  } finally {
    c.release();
  }
}
