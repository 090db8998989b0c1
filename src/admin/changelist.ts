// The change list: parses ?q=&o=&p= and the filter / date-hierarchy parameters against the model's
// whitelist, then runs ONE query for the page's rows (joins included) and ONE (capped or estimated)
// count. Values always travel as bind parameters; SQL text only ever comes from the registry's
// field names, resolved through the field map (fields.ts, via compiled() in site.ts).
import { z } from "zod";
import { pool } from "../db/index.ts";
import { badRequest } from "../web/errors.ts";
import { config } from "../config.ts";
import { isoDay, parseZoneDay, searchText, toId, wallClock, zonedInstant } from "../web/inputs.ts";
import type { AdminUser } from "./auth.ts";
import { compiled, resolveChoices, type Choice, type CompiledColumn, type ModelAdmin } from "./site.ts";

/** Counts above this are shown as "10,000+" (Django's show_full_result_count=False, made cheap). */
const COUNT_CAP = 10_000;
const MAX_PAGE = 100_000;
/** Full-text matches ranked by relevance up to this many; more are listed newest first. */
export const RANK_CAP = 1_000;

export interface ChangeListParams {
  q: string;
  order: { column: CompiledColumn; desc: boolean } | null;
  page: number;
  /** filter param -> validated value */
  filters: Map<string, string | number | boolean>;
  /** date filter -> {gte, lt} as Date */
  ranges: Map<string, { gte?: Date; lt?: Date; gteRaw?: string; ltRaw?: string }>;
  drill: { year?: number; month?: number; day?: number };
  /** How q is matched: ranked full text, or (no full-text hit / no full-text config) substring. */
  searchMode: "fulltext" | "fulltext-newest" | "substring" | null;
  /** The validated query, for building links that keep the current state. */
  raw: Record<string, string>;
}

const one = (v: unknown, name: string): string | undefined => {
  if (v === undefined) return undefined;
  if (typeof v !== "string") throw badRequest(`The parameter "${name}" was given more than once.`, { [name]: "Give this parameter once." });
  return v;
};

/** A date filter's bound: the day's first instant in the site's zone (TIME_ZONE). */
function parseDay(v: string, name: string): Date {
  const d = parseZoneDay(v);
  if (!d) throw badRequest(`"${name}" must be a date like 2026-11-21.`, { [name]: "Enter a valid date (YYYY-MM-DD)." });
  return d;
}

const intParam = (name: string, min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,9}$/, `${name} must be a whole number`)
    .transform(Number)
    .refine((n) => n >= min && n <= max, `${name} must be between ${min} and ${max}`);

function parseInt_(v: string | undefined, name: string, min: number, max: number): number | undefined {
  if (v === undefined || v === "") return undefined;
  const r = intParam(name, min, max).safeParse(v);
  if (!r.success) throw badRequest(`Invalid value for "${name}".`, { [name]: r.error.issues[0]?.message ?? "Invalid value." });
  return r.data;
}

function sortableColumns(m: ModelAdmin): CompiledColumn[] {
  return compiled(m).columns.filter((c) => c.sort);
}

function visibleFilters(m: ModelAdmin, user: AdminUser) {
  return compiled(m).filters.filter((f) => !f.visible || f.visible(user));
}

export async function parseChangeListQuery(m: ModelAdmin, user: AdminUser, query: Record<string, unknown>): Promise<ChangeListParams> {
  const raw: Record<string, string> = {};
  const q = searchText(one(query.q, "q") ?? ""); // NUL and control characters dropped (src/web/inputs.ts)
  if (q.length > 200) throw badRequest("The search text is too long (200 characters at most).", { q: "At most 200 characters." });
  if (q) raw.q = q;

  let order: ChangeListParams["order"] = null;
  const o = one(query.o, "o");
  if (o) {
    const desc = o.startsWith("-");
    const column = sortableColumns(m).find((c) => c.name === (desc ? o.slice(1) : o));
    if (!column) throw badRequest("Unknown sort column.", { o: "Choose one of the sortable columns." });
    order = { column, desc };
    raw.o = o;
  }
  const page = parseInt_(one(query.p, "p"), "p", 1, MAX_PAGE) ?? 1;

  const filters = new Map<string, string | number | boolean>();
  const ranges: ChangeListParams["ranges"] = new Map();
  for (const f of visibleFilters(m, user)) {
    if (f.kind === "choice") {
      const v = one(query[f.param], f.param);
      if (v === undefined || v === "") continue;
      if (f.type === "int") {
        const id = toId(v); // the id primitive (src/web/inputs.ts): a positive int4
        if (id === null) throw badRequest(`Invalid value for "${f.param}".`, { [f.param]: "Enter a valid id." });
        filters.set(f.param, id);
      } else if (f.type === "bool") {
        if (v !== "1" && v !== "0") throw badRequest(`Invalid value for "${f.param}".`, { [f.param]: "Use 1 or 0." });
        filters.set(f.param, v === "1");
      } else {
        const allowed = await resolveChoices(f.choices);
        if (!allowed.some((c) => c.value === v)) throw badRequest(`Invalid value for "${f.param}".`, { [f.param]: "Choose one of the listed values." });
        filters.set(f.param, v);
      }
      raw[f.param] = v;
    } else {
      const gteRaw = one(query[`${f.param}__gte`], `${f.param}__gte`);
      const ltRaw = one(query[`${f.param}__lt`], `${f.param}__lt`);
      const r: { gte?: Date; lt?: Date; gteRaw?: string; ltRaw?: string } = {};
      if (gteRaw) {
        r.gte = parseDay(gteRaw, `${f.param}__gte`);
        r.gteRaw = raw[`${f.param}__gte`] = gteRaw;
      }
      if (ltRaw) {
        r.lt = parseDay(ltRaw, `${f.param}__lt`);
        r.ltRaw = raw[`${f.param}__lt`] = ltRaw;
      }
      if (r.gte || r.lt) ranges.set(f.param, r);
    }
  }

  const drill: ChangeListParams["drill"] = {};
  const dh = compiled(m).dateHierarchy;
  if (dh) {
    drill.year = parseInt_(one(query[`${dh.param}__year`], `${dh.param}__year`), `${dh.param}__year`, 1, 9999);
    drill.month = parseInt_(one(query[`${dh.param}__month`], `${dh.param}__month`), `${dh.param}__month`, 1, 12);
    drill.day = parseInt_(one(query[`${dh.param}__day`], `${dh.param}__day`), `${dh.param}__day`, 1, 31);
    if ((drill.month && !drill.year) || (drill.day && !drill.month)) throw badRequest("A month needs a year, a day needs a month.");
    if (drill.day && !isoDay(drill.year!, drill.month!, drill.day)) throw badRequest("No such day.");
    if (drill.year) raw[`${dh.param}__year`] = String(drill.year);
    if (drill.month) raw[`${dh.param}__month`] = String(drill.month);
    if (drill.day) raw[`${dh.param}__day`] = String(drill.day);
  }
  let searchMode: ChangeListParams["searchMode"] = null;
  const c = compiled(m);
  const ft = c.search?.fullText;
  if (q && c.search) {
    searchMode = "substring";
    if (ft) {
      // Ranked full text when the words match anything the user can see; otherwise a substring match
      // on the search fields ("postgres" does not stem to "postgresql"). Deciding first keeps each query
      // on one index instead of ranking every substring hit.
      const scope = c.scope(user, 2);
      // Ranking reads every match's vector: beyond RANK_CAP matches (a common word) the hits are
      // listed newest first instead (the filter still uses the GIN index; the order uses the publish index).
      const r = await pool.query<{ n: number }>(
        `SELECT count(*) AS n FROM (SELECT 1 FROM ${c.from} WHERE ${ft.vector} @@ websearch_to_tsquery('${ft.config}', $1)${scope ? ` AND ${scope.sql}` : ""} LIMIT ${RANK_CAP + 1}) s`,
        [q, ...(scope?.params ?? [])],
      );
      const n = Number(r.rows[0]?.n ?? 0);
      if (n > RANK_CAP) searchMode = "fulltext-newest";
      else if (n > 0) searchMode = "fulltext";
    }
  }
  return { q, order, page, filters, ranges, drill, raw, searchMode };
}

/** WHERE clause pieces + params for the current scope, filters, search and drill-down. */
function whereClause(m: ModelAdmin, user: AdminUser, p: ChangeListParams, opts: { skipDrill?: boolean } = {}) {
  const conds: string[] = [];
  const params: unknown[] = [];
  const bind = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  const c = compiled(m);
  const scope = c.scope(user, params.length + 1);
  if (scope) {
    conds.push(scope.sql);
    params.push(...scope.params);
  }
  for (const f of c.filters) {
    if (f.kind === "choice" && p.filters.has(f.param)) conds.push(`${f.sql} = ${bind(p.filters.get(f.param))}`);
    const r = p.ranges.get(f.param);
    if (r?.gte) conds.push(`${f.sql} >= ${bind(r.gte)}`);
    if (r?.lt) conds.push(`${f.sql} < ${bind(r.lt)}`);
  }
  const s = c.search;
  let rank: string | null = null;
  if (p.q && s && (p.searchMode === "fulltext" || p.searchMode === "fulltext-newest") && s.fullText) {
    const tsq = `websearch_to_tsquery('${s.fullText.config}', ${bind(p.q)})`;
    conds.push(`${s.fullText.vector} @@ ${tsq}`);
    if (p.searchMode === "fulltext") rank = `ts_rank(${s.fullText.vector}, ${tsq})`;
  } else if (p.q && s) {
    const like = bind(`%${p.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    conds.push(`(${s.fields.map((field) => `${field} ILIKE ${like}`).join(" OR ")})`);
  }
  const dh = c.dateHierarchy;
  if (dh && !opts.skipDrill && p.drill.year) {
    const { year, month, day } = p.drill;
    // The period's bounds in the site's zone (the day after: Date.UTC rolls a 32nd day or 13th month over).
    const next = new Date(day ? Date.UTC(year, month! - 1, day + 1) : month ? Date.UTC(year, month, 1) : Date.UTC(year + 1, 0, 1));
    const start = zonedInstant(year, month ?? 1, day ?? 1)!;
    const end = zonedInstant(next.getUTCFullYear(), next.getUTCMonth() + 1, next.getUTCDate())!;
    conds.push(`${dh.sql} >= ${bind(start)}`, `${dh.sql} < ${bind(end)}`);
  }
  return { where: conds.length ? `WHERE ${conds.join(" AND ")}` : "", params, rank, filtered: conds.length > (scope ? 1 : 0), scoped: !!scope };
}

export interface ChangeListRow {
  pk: number;
  repr: string;
  ownerId: number | null;
  /** The row's optimistic-locking version, when the model declares one (sql.version). */
  version: number | null;
  cells: Record<string, unknown>;
}

export interface ChangeListResult {
  rows: ChangeListRow[];
  count: number;
  /** count is a lower bound (capped) or an estimate. */
  countKind: "exact" | "capped" | "estimate";
  pages: number;
  page: number;
  perPage: number;
}

/** Rows of one page: a single SELECT with the registry's joins. */
export async function fetchChangeList(m: ModelAdmin, user: AdminUser, p: ChangeListParams): Promise<ChangeListResult> {
  const { where, params, rank, filtered, scoped } = whereClause(m, user, p);
  const perPage = m.list.perPage;
  const c = compiled(m);
  const defaultDesc = c.ordering.desc;
  const orderBy: string[] = [];
  if (p.order) orderBy.push(`${p.order.column.sort} ${p.order.desc ? "DESC" : "ASC"} NULLS LAST`);
  else if (rank) orderBy.push(`${rank} DESC`);
  else if (c.ordering.sql !== c.pk) orderBy.push(`${c.ordering.sql} ${defaultDesc ? "DESC" : "ASC"}`);
  orderBy.push(`${c.pk} ${p.order ? (p.order.desc ? "DESC" : "ASC") : defaultDesc ? "DESC" : "ASC"}`);

  const cols = c.columns.map((col, i) => `${col.sql} AS "c${i}"`).join(", ");
  const owner = c.owner ? `${c.owner} AS "ownerId"` : `NULL::int AS "ownerId"`;
  const version = c.version ? `${c.version} AS "rowVersion"` : `NULL::int AS "rowVersion"`;
  // Deferred join: the inner query finds the page's keys (an index-only scan for the default order,
  // so page 1,000 costs ~20 ms instead of a 250 ms sort of the table); the outer one joins the
  // display columns for just those rows.
  const innerJoins = p.q || p.order?.column.joined ? c.joins : "";
  const sql = `SELECT ${c.pk} AS pk, ${c.repr} AS repr, ${owner}, ${version}, ${cols}
    FROM (SELECT ${c.pk} AS __pk FROM ${c.from} ${innerJoins} ${where}
          ORDER BY ${orderBy.join(", ")} LIMIT ${perPage} OFFSET $${params.length + 1}) page
    JOIN ${c.from} ON ${c.pk} = page.__pk ${c.joins}
    ORDER BY ${orderBy.join(", ")}`;

  const countJoins = p.q ? c.joins : "";
  const countPromise = (async (): Promise<{ count: number; kind: ChangeListResult["countKind"] }> => {
    // The search probe already knows there are more than RANK_CAP: counting every match of a common
    // word would read each one's tsvector (0.6 s at 100k posts) for a number nobody needs exactly.
    if (p.searchMode === "fulltext-newest") return { count: RANK_CAP, kind: "capped" };
    if (!filtered && !scoped) {
      // Unfiltered: the planner's estimate once the table is big (Django's show_full_result_count=False).
      const est = await pool.query<{ n: number }>(`SELECT reltuples::bigint AS n FROM pg_class WHERE oid = to_regclass($1)`, [`"${c.table}"`]);
      const n = Number(est.rows[0]?.n ?? -1);
      if (n > COUNT_CAP) return { count: n, kind: "estimate" };
    }
    const r = await pool.query<{ n: number }>(`SELECT count(*) AS n FROM (SELECT 1 FROM ${c.from} ${countJoins} ${where} LIMIT ${COUNT_CAP + 1}) s`, params);
    const n = Number(r.rows[0]?.n ?? 0);
    return n > COUNT_CAP ? { count: COUNT_CAP, kind: "capped" } : { count: n, kind: "exact" };
  })();
  const [rowsRes, cnt] = await Promise.all([pool.query(sql, [...params, (p.page - 1) * perPage]), countPromise]);
  const rows: ChangeListRow[] = rowsRes.rows.map((r: Record<string, unknown>) => ({
    pk: Number(r.pk),
    repr: String(r.repr ?? ""),
    ownerId: r.ownerId === null || r.ownerId === undefined ? null : Number(r.ownerId),
    version: r.rowVersion === null || r.rowVersion === undefined ? null : Number(r.rowVersion),
    cells: Object.fromEntries(c.columns.map((col, i) => [col.name, r[`c${i}`]])),
  }));
  const pages = Math.max(1, Math.ceil(cnt.count / perPage));
  return { rows, count: cnt.count, countKind: cnt.kind, pages, page: p.page, perPage };
}

export interface DrillLink {
  label: string;
  query: Record<string, string>;
}

/** Date hierarchy (year -> month -> day): which periods have rows under the current filters. */
export async function dateHierarchyLinks(
  m: ModelAdmin,
  user: AdminUser,
  p: ChangeListParams,
): Promise<{ back: DrillLink | null; links: DrillLink[]; current: string }> {
  const { dateHierarchy: dh, from } = compiled(m);
  if (!dh) return { back: null, links: [], current: "" };
  const base = { ...p.raw };
  delete base[`${dh.param}__year`];
  delete base[`${dh.param}__month`];
  delete base[`${dh.param}__day`];
  delete base.p;
  const { year, month, day } = p.drill;
  const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];
  const { where, params } = whereClause(m, user, p, { skipDrill: true });
  const and = where ? `${where} AND` : "WHERE";
  const b = (v: unknown) => (params.push(v), `$${params.length}`);
  // Probing each period with EXISTS walks the (status, publish) index (PostgreSQL 18 skip scan)
  // instead of reading every row for DISTINCT date_trunc(...). Periods are the site zone's: a wall
  // clock (make_timestamp, plus whole months or days) read AT TIME ZONE TIME_ZONE.
  const at = (wall: string) => `(${wall}) AT TIME ZONE ${b(config.TIME_ZONE)}`;
  if (!year) {
    const nowY = wallClock(new Date()).getUTCFullYear();
    const r = await pool.query<{ y: number }>(
      `SELECT y FROM generate_series(${b(nowY - 40)}::int, ${b(nowY + 10)}::int) y
       WHERE EXISTS (SELECT 1 FROM ${from} ${and} ${dh.sql} >= ${at("make_timestamp(y, 1, 1, 0, 0, 0)")} AND ${dh.sql} < ${at("make_timestamp(y + 1, 1, 1, 0, 0, 0)")})
       ORDER BY y DESC`,
      params,
    );
    return { back: null, current: "", links: r.rows.map((x) => ({ label: String(x.y), query: { ...base, [`${dh.param}__year`]: String(x.y) } })) };
  }
  const yq = { ...base, [`${dh.param}__year`]: String(year) };
  if (!month) {
    const r = await pool.query<{ mo: number }>(
      `SELECT mo FROM generate_series(1, 12) mo
       WHERE EXISTS (SELECT 1 FROM ${from} ${and} ${dh.sql} >= ${at(`make_timestamp(${b(year)}::int, mo, 1, 0, 0, 0)`)} AND ${dh.sql} < ${at(`make_timestamp(${b(year)}::int, mo, 1, 0, 0, 0) + interval '1 month'`)})
       ORDER BY mo`,
      params,
    );
    return {
      back: { label: "All dates", query: base },
      current: String(year),
      links: r.rows.map((x) => ({ label: `${MONTHS[x.mo - 1]} ${year}`, query: { ...yq, [`${dh.param}__month`]: String(x.mo) } })),
    };
  }
  const mq = { ...yq, [`${dh.param}__month`]: String(month) };
  const daysIn = new Date(Date.UTC(year, month, 0)).getUTCDate();
  const r = day
    ? { rows: [] as { d: number }[] }
    : await pool.query<{ d: number }>(
        `SELECT d FROM generate_series(1, ${b(daysIn)}::int) d
         WHERE EXISTS (SELECT 1 FROM ${from} ${and} ${dh.sql} >= ${at(`make_timestamp(${b(year)}::int, ${b(month)}::int, d, 0, 0, 0)`)} AND ${dh.sql} < ${at(`make_timestamp(${b(year)}::int, ${b(month)}::int, d, 0, 0, 0) + interval '1 day'`)})
         ORDER BY d`,
        params,
      );
  return {
    back: day ? { label: `${MONTHS[month - 1]} ${year}`, query: mq } : { label: String(year), query: yq },
    current: day ? `${MONTHS[month - 1]} ${day}, ${year}` : `${MONTHS[month - 1]} ${year}`,
    links: r.rows.map((x) => ({ label: `${MONTHS[month - 1]} ${x.d}`, query: { ...mq, [`${dh.param}__day`]: String(x.d) } })),
  };
}

export interface FilterView {
  label: string;
  param: string;
  kind: "choice" | "date";
  options: { label: string; query: Record<string, string>; selected: boolean }[];
  gte?: string;
  lt?: string;
}

/** Sidebar filters with links that keep the rest of the state (like Django's list_filter). */
export async function filterViews(m: ModelAdmin, user: AdminUser, p: ChangeListParams): Promise<FilterView[]> {
  const out: FilterView[] = [];
  for (const f of visibleFilters(m, user)) {
    const base = { ...p.raw };
    delete base.p;
    if (f.kind === "choice") {
      delete base[f.param];
      const choices: Choice[] = await resolveChoices(f.choices);
      const cur = p.raw[f.param];
      out.push({
        label: f.label,
        param: f.param,
        kind: "choice",
        options: [
          { label: "All", query: base, selected: cur === undefined },
          ...choices.map((c) => ({ label: c.label, query: { ...base, [f.param]: c.value }, selected: cur === c.value })),
        ],
      });
    } else {
      delete base[`${f.param}__gte`];
      delete base[`${f.param}__lt`];
      // Calendar days of the site's zone, as dates at 00:00 UTC (day arithmetic in UTC, then written as they are).
      const now = wallClock(new Date());
      const today = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
      const tomorrow = new Date(today.getTime() + 86_400_000);
      const iso = (d: Date | null) => (d ? d.toISOString().slice(0, 10) : null);
      const opt = (label: string, gte: Date | null, lt: Date | null) => {
        const query = { ...base, ...(gte ? { [`${f.param}__gte`]: iso(gte)! } : {}), ...(lt ? { [`${f.param}__lt`]: iso(lt)! } : {}) };
        return {
          label,
          query,
          selected: (p.raw[`${f.param}__gte`] ?? null) === iso(gte) && (p.raw[`${f.param}__lt`] ?? null) === iso(lt),
        };
      };
      out.push({
        label: f.label,
        param: f.param,
        kind: "date",
        options: [
          opt("Any date", null, null),
          opt("Today", today, tomorrow),
          opt("Past 7 days", new Date(today.getTime() - 6 * 86_400_000), tomorrow),
          opt("This month", new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)), new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1))),
          opt("This year", new Date(Date.UTC(now.getUTCFullYear(), 0, 1)), new Date(Date.UTC(now.getUTCFullYear() + 1, 0, 1))),
          opt("In the future", tomorrow, null),
        ],
        gte: p.raw[`${f.param}__gte`],
        lt: p.raw[`${f.param}__lt`],
      });
    }
  }
  return out;
}
