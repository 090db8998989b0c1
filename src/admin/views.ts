// The generic admin views (index, change list, add, change, delete, history) shared by every
// registered model, plus the few endpoints the change form's JS calls (preview, slug check,
// autocomplete). Thin: parse, authorise with can(), call the registry's hooks, render.
import type { Request, Response } from "express";
import { diffLines, diffWords } from "diff";
import { z } from "zod";
import { can, type Action } from "../accounts/permissions.ts";
import { prisma, pool } from "../db/index.ts";
import { badRequest, forbidden, notFound } from "../web/errors.ts";
import { url } from "../web/urls.ts";
import { formatDate } from "../web/templates.ts";
import { flash, takeFlash } from "../web/session.ts";
import { formatCount, POST_BODY_MAX, tooLongMessage } from "../web/limits.ts";
import { idString, isId, pathId, searchText, toId } from "../web/inputs.ts";
import { editorContext } from "../autosave/editor.ts";
import { renderMarkdown } from "../blog/markdown.ts";
import { ConflictError, listRevisions, slugClash, restoreRevision, PostNotFoundError, SlugTakenError } from "../posts/service.ts";
import { objectHistory, recentActions } from "../audit/index.ts";
import { authorize, authorizeObject, currentUser, type AdminUser } from "./auth.ts";
import { dateHierarchyLinks, fetchChangeList, filterViews, parseChangeListQuery, RANK_CAP } from "./changelist.ts";
import { hiddenFields, keptFormValues, parseAdminForm, parseDatetimeLocal, toFormValues, visibleFields, SLUG_RE } from "./forms.ts";
import { auditModelOf, ConflictErrors, FormErrors, keyOf, resolveChoices, site, type AdminObject, type ModelAdmin } from "./site.ts";

const MAX_SELECTED = 1000;

/** Route ids: only plain positive integers that fit an int4; anything else is the site's 404 (src/web/inputs.ts). */
export const parseId = pathId;

const perm = (m: ModelAdmin, what: "view" | "create" | "change" | "delete") => `${m.perm}.${what}` as Action;

function user(req: Request): AdminUser {
  const u = currentUser(req);
  if (!u) throw forbidden();
  return u;
}

function modelNav(u: AdminUser) {
  const groups = new Map<string, { app: string; models: { name: string; key: string; changelist: string; add: string | null }[] }>();
  for (const m of site.all()) {
    if (!can(u, perm(m, "view"))) continue;
    const g = groups.get(m.app) ?? { app: m.app, models: [] };
    g.models.push({
      name: m.verboseNamePlural,
      key: keyOf(m),
      changelist: url(`admin:${keyOf(m)}_changelist`),
      add: can(u, perm(m, "create")) ? url(`admin:${keyOf(m)}_add`) : null,
    });
    groups.set(m.app, g);
  }
  return [...groups.values()];
}

export function render(req: Request, res: Response, template: string, ctx: Record<string, unknown>, status = 200) {
  const u = user(req);
  const t = performance.now();
  res.status(status).render(`admin/${template}`, { nav: modelNav(u), adminUser: u, messages: takeFlash(req), ...ctx }, (err: Error | null, html?: string) => {
    if (err) return req.next?.(err);
    // Server-Timing (admin pages only): where the time went, visible in the browser's dev tools.
    const timing = { ...(res.locals.serverTiming as Record<string, number> | undefined), render: performance.now() - t };
    res.setHeader("Server-Timing", Object.entries(timing).map(([k, v]) => `${k};dur=${v.toFixed(1)}`).join(", "));
    res.send(html);
  });
}

function objectLink(model: string, objectId: string): string | null {
  const key = model.replace(".", "_");
  const m = site.get(key);
  if (!m || !isId(objectId)) return null;
  return url(`admin:${key}_change`, { id: objectId });
}

// ------------------------------------------------------------------ index

export async function index(req: Request, res: Response) {
  const u = user(req);
  const all = can(u, "post.change", { authorId: -1 }); // editors see everyone's actions
  const recent = await recentActions(12, all ? undefined : u.id);
  render(req, res, "index.njk", {
    title: "Site administration",
    recent: recent.map((r) => ({ ...r, link: r.action === "DELETE" ? null : objectLink(r.model, r.objectId), modelName: site.get(r.model.replace(".", "_"))?.verboseName ?? r.model })),
  });
}

// ------------------------------------------------------------------ change list

async function loadOwners(m: ModelAdmin, u: AdminUser, ids: number[]) {
  const scope = m.scope?.(u, 2);
  const owner = m.sql.owner ? `${m.sql.owner}` : "NULL::int";
  const r = await pool.query<{ pk: number; repr: string; owner: number | null }>(
    `SELECT ${m.sql.pk} AS pk, ${m.sql.repr} AS repr, ${owner} AS owner FROM ${m.sql.from} WHERE ${m.sql.pk} = ANY($1::int[]) ${scope ? `AND ${scope.sql}` : ""} ORDER BY ${m.sql.pk}`,
    [ids, ...(scope?.params ?? [])],
  );
  return r.rows.map((x) => ({ id: Number(x.pk), repr: String(x.repr), authorId: x.owner === null ? undefined : Number(x.owner) }));
}

function changeListUrl(m: ModelAdmin, query: Record<string, string> = {}) {
  return url(`admin:${keyOf(m)}_changelist`, {}, query);
}

export function changeList(m: ModelAdmin) {
  return async (req: Request, res: Response) => {
    const u = user(req);
    authorize(u, perm(m, "view"));
    const t0 = performance.now();
    const p = await parseChangeListQuery(m, u, req.query as Record<string, unknown>);
    const [result, filters, drill] = await Promise.all([fetchChangeList(m, u, p), filterViews(m, u, p), dateHierarchyLinks(m, u, p)]);
    const t1 = performance.now();
    if (p.page > 1 && result.rows.length === 0) throw notFound("That page is past the end of the list.");
    const editable = new Set(m.list.editable ?? []);
    const editFields = m.form.fields.filter((f) => editable.has(f.name));
    const editChoices = Object.fromEntries(await Promise.all(editFields.map(async (f) => [f.name, await resolveChoices(f.choices)] as const)));
    const base = { ...p.raw };
    delete base.p;
    const headers = m.list.columns.map((c) => {
      const cur = p.order?.column.name === c.name ? (p.order.desc ? "desc" : "asc") : null;
      return {
        ...c,
        sorted: cur,
        sortUrl: c.sort ? changeListUrl(m, { ...base, o: cur === "asc" ? `-${c.name}` : c.name }) : null,
      };
    });
    // Cells are formatted here, once, so the template is a plain loop (no macro call per cell:
    // at 50 rows x 6 columns those dominated the page's CPU time).
    const now = Date.now();
    const rows = result.rows.map((r) => {
      const changeUrl = url(`admin:${keyOf(m)}_change`, { id: r.pk });
      const mayEdit = editFields.length > 0 && can(u, m.perm === "post" ? "post.publish" : perm(m, "change"), { authorId: r.ownerId ?? undefined });
      return {
        pk: r.pk,
        repr: r.repr,
        // inline edits are saved over the version the row was shown at
        version: mayEdit ? r.version : null,
        cols: m.list.columns.map((c) => {
          const v = r.cells[c.name];
          const cell: Record<string, unknown> = { name: c.name, label: c.label, ...formatCell(v, c.format, now) };
          if (c.link) cell.link = changeUrl;
          if (mayEdit && editable.has(c.name)) {
            cell.options = (editChoices[c.name] ?? []).map((o) => ({ ...o, selected: o.value === String(v) }));
            cell.initial = String(v ?? "");
          }
          return cell;
        }),
      };
    });
    const pageUrl = (n: number) => changeListUrl(m, { ...base, ...(n > 1 ? { p: String(n) } : {}) });
    const pages = pageWindow(result.page, result.pages).map((n) => (n === null ? null : { n, url: pageUrl(n), current: n === result.page }));
    res.locals.meta = { ...res.locals.meta, title: `Select ${m.verboseName} to change` };
    const t2 = performance.now();
    res.locals.serverTiming = { db: t1 - t0, prep: t2 - t1 };
    render(req, res, "change_list.njk", {
      title: `${cap(m.verboseNamePlural)}`,
      m: { key: keyOf(m), verboseName: m.verboseName, verboseNamePlural: m.verboseNamePlural, searchHelp: m.list.search?.help, hasSearch: !!m.list.search, fullText: !!m.list.search?.fullText },
      headers,
      rows,
      result,
      pages,
      prevUrl: result.page > 1 ? pageUrl(result.page - 1) : null,
      nextUrl: result.page < result.pages || (result.countKind !== "exact" && result.rows.length === result.perPage) ? pageUrl(result.page + 1) : null,
      filters,
      drill: { ...drill, back: drill.back ? { label: drill.back.label, url: changeListUrl(m, drill.back.query) } : null, links: drill.links.map((l) => ({ label: l.label, url: changeListUrl(m, l.query) })) },
      q: p.q,
      searchMode: p.searchMode,
      rankCap: RANK_CAP,
      hidden: Object.entries(base).filter(([k]) => k !== "q"),
      clearUrl: changeListUrl(m),
      filtered: Object.keys(base).some((k) => k !== "o"),
      actions: m.actions.filter((a) => can(u, a.permission, null) || m.perm === "post").map((a) => ({ name: a.name, label: a.label })),
      editChoices,
      editFields: editFields.map((f) => f.name),
      addUrl: can(u, perm(m, "create")) ? url(`admin:${keyOf(m)}_add`) : null,
      selfUrl: req.originalUrl,
    });
  };
}

function pageWindow(page: number, pages: number): (number | null)[] {
  const want = new Set([1, 2, pages - 1, pages, page - 2, page - 1, page, page + 1, page + 2].filter((n) => n >= 1 && n <= pages));
  const sorted = [...want].sort((a, b) => a - b);
  const out: (number | null)[] = [];
  for (const n of sorted) {
    if (out.length && (out[out.length - 1] as number) < n - 1) out.push(null);
    out.push(n);
  }
  return out;
}

/** Long unchanged stretches of a line diff shrink to 2 lines of context each side and a "N unchanged lines" marker. */
function collapseUnchanged(parts: { value: string; added?: boolean; removed?: boolean }[], context = 2) {
  const out: { value: string; added?: boolean; removed?: boolean; skipped?: number }[] = [];
  parts.forEach((p, i) => {
    if (p.added || p.removed) return out.push(p);
    const lines = p.value.split("\n");
    if (lines[lines.length - 1] === "") lines.pop();
    const head = i === 0 ? 0 : context;
    const tail = i === parts.length - 1 ? 0 : context;
    if (lines.length <= head + tail + 1) return out.push(p);
    if (head) out.push({ value: lines.slice(0, head).join("\n") + "\n" });
    out.push({ value: "", skipped: lines.length - head - tail });
    if (tail) out.push({ value: lines.slice(-tail).join("\n") + "\n" });
  });
  return out;
}

/** Display form of a list cell: text plus what the template needs to mark it up. */
function formatCell(v: unknown, format: string | undefined, now: number): { text: string; kind: string; iso?: string; time?: string; future?: boolean } {
  if (v === null || v === undefined || v === "") return { text: "—", kind: "empty" };
  switch (format) {
    case "datetime":
    case "date": {
      const d = v instanceof Date ? v : new Date(String(v));
      return { text: formatDate(d, "M j, Y"), kind: "date", iso: d.toISOString(), time: format === "datetime" ? formatDate(d, "H:i") : undefined, future: d.getTime() > now };
    }
    case "status":
      return { text: v === "PUBLISHED" ? "Published" : v === "DRAFT" ? "Draft" : String(v), kind: `status ${String(v).toLowerCase()}` };
    case "bool":
      return { text: v ? "Yes" : "No", kind: v ? "yes" : "no" };
    case "number":
      return { text: Number(v).toLocaleString("en-US"), kind: "number" };
    default:
      return { text: String(v), kind: "text" };
  }
}

const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

const idList = z
  .union([z.string(), z.array(z.string()).max(MAX_SELECTED, `Select at most ${MAX_SELECTED} items.`)])
  .optional()
  .transform((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]))
  .pipe(z.array(idString("Invalid selection.")));

/** POST to the change list: a bulk action (with a confirmation step) or the list-editable Save. */
export function changeListPost(m: ModelAdmin) {
  return async (req: Request, res: Response) => {
    const u = user(req);
    authorize(u, perm(m, "view"));
    const body = (req.body ?? {}) as Record<string, unknown>;
    const back = safeBack(body.next, changeListUrl(m));
    if (body._save !== undefined) return saveEditable(m, u, body, req, res, back);

    const actionName = typeof body.action === "string" ? body.action : "";
    const action = m.actions.find((a) => a.name === actionName);
    if (!action) throw badRequest("Choose an action.", { action: "Choose one of the listed actions." });
    const parsed = idList.safeParse(body._selected_action);
    if (!parsed.success) throw badRequest("Invalid selection.", { _selected_action: parsed.error.issues[0]?.message ?? "Invalid selection." });
    const ids = [...new Set(parsed.data)];
    if (ids.length === 0) {
      flash(req, "warning", "Items must be selected in order to perform actions on them. No items have been changed.");
      return res.redirect(303, back);
    }
    const objects = await loadOwners(m, u, ids);
    if (objects.length !== ids.length) throw notFound("Some of the selected items no longer exist or are not yours.");
    for (const o of objects) if (!can(u, action.permission, o)) throw forbidden(`You may not ${action.name} “${o.repr}”.`);

    if (body.post !== "yes") {
      const cascades = action.danger && m.hooks.cascades ? await m.hooks.cascades(ids) : [];
      return render(req, res, "action_confirmation.njk", {
        title: "Are you sure?",
        m: { key: keyOf(m), verboseName: m.verboseName, verboseNamePlural: m.verboseNamePlural },
        action: { name: action.name, label: action.label, describe: action.describe, danger: !!action.danger },
        objects,
        cascades,
        back,
        postUrl: changeListUrl(m),
      });
    }
    const outcome = await action.run(ids, u);
    const n = typeof outcome === "number" ? outcome : outcome.count;
    flash(req, "success", `Successfully ${action.done} ${n} ${n === 1 ? m.verboseName : m.verboseNamePlural}.`);
    if (typeof outcome !== "number") for (const why of outcome.refused) flash(req, "error", `Not ${action.done}: ${why}`);
    res.redirect(303, back);
  };
}

function safeBack(v: unknown, fallback: string): string {
  return typeof v === "string" && v.startsWith(fallback.split("?")[0]!) && !v.includes("//") && v.length < 2000 && !/[\s\\]/.test(v) ? v : fallback;
}

/**
 * The list-editable Save. Each row carries the value it showed (initial-form-<id>-<field>) and, for
 * versioned models, the version it was shown at (form-<id>-_version). Only what the admin changed on
 * this page is saved, over that version (the one version check, as in the change form): a row someone
 * else saved since the list was shown is refused and named, never overwritten with the list's stale value.
 */
async function saveEditable(m: ModelAdmin, u: AdminUser, body: Record<string, unknown>, req: Request, res: Response, back: string) {
  const fields = m.form.fields.filter((f) => (m.list.editable ?? []).includes(f.name));
  const changes = new Map<number, Record<string, string>>();
  const initial = new Map<number, Record<string, string>>();
  const versions = new Map<number, number>();
  const rowId = (raw: string) => {
    const id = toId(raw);
    if (id === null) throw badRequest("Invalid row.");
    return id;
  };
  for (const [k, v] of Object.entries(body)) {
    const mv = /^form-(\d{1,10})-_version$/.exec(k);
    if (mv) {
      if (typeof v !== "string" || !isId(v)) throw badRequest("Invalid row version; reload the page.");
      versions.set(rowId(mv[1]!), Number(v));
      continue;
    }
    const mm = /^(initial-)?form-(\d{1,10})-(\w{1,50})$/.exec(k);
    if (!mm) continue;
    const field = fields.find((f) => f.name === mm[3]);
    if (!field) continue;
    const id = rowId(mm[2]!);
    if (typeof v !== "string") throw badRequest("Each row's value must be given once.");
    if (mm[1]) {
      initial.set(id, { ...(initial.get(id) ?? {}), [field.name]: v });
      continue;
    }
    const allowed = (await resolveChoices(field.choices)).map((c) => c.value);
    if (!allowed.includes(v)) throw badRequest(`Invalid value for ${field.label}.`, { [k]: "Select a valid choice." });
    changes.set(id, { ...(changes.get(id) ?? {}), [field.name]: v });
    if (changes.size > MAX_SELECTED) throw badRequest("Too many rows.");
  }
  // Rows left as they were shown are not saved (their stored value may have moved on meanwhile).
  for (const [id, wanted] of changes) {
    const shown = initial.get(id) ?? {};
    const touched = Object.fromEntries(Object.entries(wanted).filter(([f, v]) => shown[f] !== v));
    if (Object.keys(touched).length) changes.set(id, touched);
    else changes.delete(id);
  }
  const owners = await loadOwners(m, u, [...changes.keys()]);
  if (owners.length !== changes.size) throw notFound("Some rows no longer exist or are not yours.");
  if (m.sql.version) for (const id of changes.keys()) if (!versions.has(id)) throw badRequest("The list is missing its row versions; reload the page.");
  let n = 0;
  for (const o of owners) {
    const obj = await m.hooks.load(o.id);
    if (!obj) continue;
    const wanted = changes.get(o.id)!;
    if (!Object.entries(wanted).some(([f, v]) => String(obj.values[f] ?? "") !== v)) continue;
    if (!can(u, m.perm === "post" ? "post.publish" : perm(m, "change"), obj)) throw forbidden(`You may not change “${obj.repr}”.`);
    try {
      await m.hooks.update(obj, { ...obj.values, ...wanted }, u, versions.get(o.id) ?? obj.version);
    } catch (e) {
      if (e instanceof ConflictErrors) {
        flash(req, "error", `“${obj.repr}” was not saved: someone else changed it after this list was shown. Nothing was overwritten; the list below shows their version.`);
        continue;
      }
      if (e instanceof FormErrors) {
        flash(req, "error", `“${obj.repr}” was not saved: ${Object.values(e.fields).join(" ") || e.message}`);
        continue;
      }
      throw e;
    }
    n++;
  }
  flash(req, "success", n ? `${n} ${n === 1 ? m.verboseName : m.verboseNamePlural} changed successfully.` : "No changes to save.");
  res.redirect(303, back);
}

// ------------------------------------------------------------------ add / change

async function loadObject(m: ModelAdmin, u: AdminUser, rawId: unknown, action: Action): Promise<AdminObject> {
  authorize(u, perm(m, "view")); // model level first: no access to the model at all -> 403
  const id = parseId(rawId);
  const obj = await m.hooks.load(id);
  authorizeObject(u, action, obj ? { authorId: obj.authorId } : null);
  return obj!;
}

async function formContext(m: ModelAdmin, u: AdminUser, obj: AdminObject | null, values: Record<string, unknown>, errors: Record<string, string>) {
  const fields = await Promise.all(
    visibleFields(m, u).map(async (f) => ({
      ...f,
      choices: await resolveChoices(f.choices),
      value: values[f.name],
      error: errors[f.name],
      fkLabel: f.widget === "fk" && values[f.name] ? await fkLabel(f.fk!.model, values[f.name]) : "",
      fkUrl: f.fk ? url("admin:autocomplete", {}, { model: f.fk.model }) : null,
      // macros do not see the page's variables: what the widgets' JS needs travels with the field
      previewUrl: f.widget === "markdown" ? url("admin:preview") : null,
      slugCheckUrl: f.widget === "slug" && m.perm === "post" ? url("admin:blog_post_slug_check") : null,
      objectId: obj?.id ?? null,
    })),
  );
  const readOnly = obj ? (m.form.readOnly ?? []).map((r) => ({ ...r, value: obj.readOnly[r.name] })) : [];
  return {
    m: { key: keyOf(m), verboseName: m.verboseName, verboseNamePlural: m.verboseNamePlural, revisions: !!m.revisions },
    fields,
    readOnly,
    errors,
    obj,
    changeListUrl: changeListUrl(m),
    historyUrl: obj ? url(`admin:${keyOf(m)}_history`, { id: obj.id }) : null,
    deleteUrl: obj && can(u, perm(m, "delete"), obj) ? url(`admin:${keyOf(m)}_delete`, { id: obj.id }) : null,
    passwordUrl: obj && m.perm === "user" ? url("admin:accounts_user_password", { id: obj.id }) : null,
    previewUrl: url("admin:preview"),
    slugCheckUrl: m.perm === "post" ? url("admin:blog_post_slug_check") : null,
    // Posts: autosave, the offer of a newer autosave (not on a form shown again with errors), sign-in dialog.
    editor: m.perm === "post" ? await editorContext(u.id, obj ? postOf(obj) : null, values, !Object.keys(errors).length) : null,
  };
}

const postOf = (obj: AdminObject) => ({ id: obj.id, updatedAt: obj.readOnly.updatedAt as Date, version: obj.version ?? 1 });

async function fkLabel(model: string, id: unknown): Promise<string> {
  const userId = toId(id); // the re-shown form keeps what was typed, an out-of-range id included
  if (model !== "accounts_user" || userId === null) return "";
  const u = await prisma.user.findUnique({ where: { id: userId }, select: { username: true } });
  return u?.username ?? "";
}

export function addView(m: ModelAdmin) {
  return async (req: Request, res: Response) => {
    const u = user(req);
    authorize(u, perm(m, "view")); // the model's pages are for those who may see its list (authors create tags on posts, not here)
    authorize(u, perm(m, "create"));
    const fields = visibleFields(m, u);
    // A new post's publish time starts empty ("set when published"): a time is only fixed when the writer enters one.
    const defaults: Record<string, unknown> = m.perm === "post" ? { status: "DRAFT", authorId: u.id, publish: null } : m.perm === "user" ? { role: "READER", isActive: true } : {};
    if (req.method === "GET") {
      return render(req, res, "change_form.njk", { title: `Add ${m.verboseName}`, adding: true, ...(await formContext(m, u, null, toFormValues(fields, defaults), {})) });
    }
    const body = (req.body ?? {}) as Record<string, unknown>;
    const parsed = await parseAdminForm(fields, body, hiddenFields(m, u));
    const kept = keptFormValues(fields, body);
    if (!parsed.ok) return render(req, res, "change_form.njk", { title: `Add ${m.verboseName}`, adding: true, ...(await formContext(m, u, null, kept, parsed.errors)) }, 400);
    try {
      const saved = await m.hooks.create(parsed.data, u);
      return afterSave(m, req, res, body, saved, "added");
    } catch (e) {
      if (e instanceof FormErrors) return render(req, res, "change_form.njk", { title: `Add ${m.verboseName}`, adding: true, ...(await formContext(m, u, null, kept, e.fields)) }, 400);
      throw e;
    }
  };
}

function afterSave(m: ModelAdmin, req: Request, res: Response, body: Record<string, unknown>, saved: { id: number; repr: string }, verb: "added" | "changed") {
  const link = url(`admin:${keyOf(m)}_change`, { id: saved.id });
  if (body._continue !== undefined) {
    flash(req, "success", `The ${m.verboseName} “${saved.repr}” was ${verb} successfully. You may edit it again below.`);
    return res.redirect(303, link);
  }
  if (body._addanother !== undefined) {
    flash(req, "success", `The ${m.verboseName} “${saved.repr}” was ${verb} successfully. You may add another ${m.verboseName} below.`);
    return res.redirect(303, url(`admin:${keyOf(m)}_add`));
  }
  flash(req, "success", `The ${m.verboseName} “${saved.repr}” was ${verb} successfully.`);
  return res.redirect(303, changeListUrl(m));
}

export function changeView(m: ModelAdmin) {
  return async (req: Request, res: Response) => {
    const u = user(req);
    const obj = await loadObject(m, u, req.params.id, perm(m, "change"));
    const fields = visibleFields(m, u);
    const title = `Change ${m.verboseName}`;
    if (req.method === "GET") {
      return render(req, res, "change_form.njk", { title, ...(await formContext(m, u, obj, toFormValues(fields, obj.values), {})) });
    }
    const body = (req.body ?? {}) as Record<string, unknown>;
    const kept = keptFormValues(fields, body);
    // a version is a positive int4 (anything else, e.g. 9999999999, is a bad form: 400, never a database error)
    const versionRaw = toId(body._version) ?? undefined;
    if (obj.version !== undefined && versionRaw === undefined) throw badRequest("The form is missing its version; reload the page.");
    const parsed = await parseAdminForm(fields, body, hiddenFields(m, u));
    if (!parsed.ok) return render(req, res, "change_form.njk", { title, version: versionRaw, ...(await formContext(m, u, obj, kept, parsed.errors)) }, 400);
    // A datetime shown at minute precision and sent back unchanged keeps its stored value (seconds and all).
    const shown = toFormValues(fields, obj.values);
    for (const f of fields) if (f.widget === "datetime" && kept[f.name] === shown[f.name]) parsed.data[f.name] = obj.values[f.name];
    try {
      const saved = await m.hooks.update(obj, { ...obj.values, ...parsed.data }, u, versionRaw);
      return afterSave(m, req, res, body, saved, "changed");
    } catch (e) {
      if (e instanceof FormErrors) return render(req, res, "change_form.njk", { title, version: versionRaw, ...(await formContext(m, u, obj, kept, e.fields)) }, 400);
      if (e instanceof ConflictErrors) {
        const theirs = toFormValues(fields, e.theirs);
        const diffs = fields
          .filter((f) => JSON.stringify(theirs[f.name]) !== JSON.stringify(kept[f.name]))
          .map((f) => ({ label: f.label, theirs: theirs[f.name], yours: kept[f.name], parts: typeof theirs[f.name] === "string" ? diffWords(String(theirs[f.name]), String(kept[f.name] ?? "")) : null }));
        // The form keeps YOUR text and now carries THEIR version: saving again is a deliberate overwrite.
        return render(req, res, "change_form.njk", { title, version: e.version, conflict: { message: e.message, diffs }, ...(await formContext(m, u, obj, kept, {})) }, 409);
      }
      throw e;
    }
  };
}

// ------------------------------------------------------------------ delete / history

export function deleteView(m: ModelAdmin) {
  return async (req: Request, res: Response) => {
    const u = user(req);
    const obj = await loadObject(m, u, req.params.id, perm(m, "delete"));
    if (m.perm === "user" && obj.id === u.id) throw forbidden("You cannot delete your own account here.");
    if (req.method === "GET") {
      const cascades = m.hooks.cascades ? await m.hooks.cascades([obj.id]) : [];
      return render(req, res, "delete_confirmation.njk", {
        title: "Are you sure?",
        m: { key: keyOf(m), verboseName: m.verboseName, verboseNamePlural: m.verboseNamePlural },
        obj,
        cascades,
        changeUrl: url(`admin:${keyOf(m)}_change`, { id: obj.id }),
      });
    }
    await m.hooks.remove([obj.id], u);
    flash(req, "success", `The ${m.verboseName} “${obj.repr}” was deleted successfully.`);
    res.redirect(303, changeListUrl(m));
  };
}

export function historyView(m: ModelAdmin) {
  return async (req: Request, res: Response) => {
    const u = user(req);
    const obj = await loadObject(m, u, req.params.id, perm(m, "view"));
    const entries = await objectHistory(auditModelOf(m), obj.id);
    let revisions: unknown[] = [];
    if (m.revisions) {
      const current = obj.values;
      const revs = await listRevisions(obj.id);
      revisions = revs.map((r, i) => ({
        id: r.id,
        createdAt: r.createdAt,
        username: r.user?.username ?? "—",
        status: r.status,
        title: r.title,
        isCurrent: i === 0 && r.body === current.body && r.title === current.title && r.status === current.status,
        titleParts: diffWords(r.title, String(current.title ?? "")),
        bodyParts: collapseUnchanged(diffLines(r.body, String(current.body ?? ""))),
        restoreUrl: url(`admin:${keyOf(m)}_restore`, { id: obj.id, rev: r.id }),
      }));
    }
    render(req, res, "object_history.njk", {
      title: `Change history: ${obj.repr}`,
      m: { key: keyOf(m), verboseName: m.verboseName, verboseNamePlural: m.verboseNamePlural },
      obj,
      entries,
      revisions,
      canRestore: can(u, perm(m, "change"), obj),
      changeUrl: url(`admin:${keyOf(m)}_change`, { id: obj.id }),
    });
  };
}

export function restoreView(m: ModelAdmin) {
  return async (req: Request, res: Response) => {
    const u = user(req);
    const obj = await loadObject(m, u, req.params.id, perm(m, "change"));
    const revId = parseId(req.params.rev);
    if (obj.values.status !== undefined && !can(u, "post.publish", obj)) throw forbidden();
    try {
      await restoreRevision(obj.id, revId, u);
    } catch (e) {
      if (e instanceof PostNotFoundError) throw notFound("No such revision.");
      if (e instanceof SlugTakenError || e instanceof ConflictError) throw badRequest(e.message);
      throw e;
    }
    flash(req, "success", `Revision restored. “${obj.repr}” now has the restored text (as a new revision).`);
    res.redirect(303, url(`admin:${keyOf(m)}_history`, { id: obj.id }));
  };
}

// ------------------------------------------------------------------ endpoints for the form's JS

export async function preview(req: Request, res: Response) {
  const u = user(req);
  authorize(u, "post.create");
  const body = (req.body ?? {}) as Record<string, unknown>;
  const text = body.body;
  if (typeof text !== "string") throw badRequest("body: give the Markdown text once.", { body: "Required." });
  if (text.length > POST_BODY_MAX) throw badRequest(`body: at most ${formatCount(POST_BODY_MAX)} characters.`, { body: tooLongMessage(POST_BODY_MAX, text.length) });
  res.json({ html: renderMarkdown(text) });
}

const slugCheckQuery = z.object({
  slug: z.string().max(250),
  publish: z.string().max(40).optional(),
  id: idString().optional(),
});

export async function slugCheck(req: Request, res: Response) {
  const u = user(req);
  authorize(u, "post.create");
  const r = slugCheckQuery.safeParse(req.query);
  if (!r.success) throw badRequest("Invalid slug check.", { slug: "Invalid input." });
  const { slug, publish, id } = r.data;
  if (!SLUG_RE.test(slug)) return res.json({ ok: false, message: "Use lowercase letters, digits and hyphens." });
  const when = (publish && parseDatetimeLocal(publish)) || new Date();
  const clash = await slugClash(prisma, slug, when, id);
  const day = when.toISOString().slice(0, 10);
  // Another author's draft or scheduled post is not the asker's to know about: for someone who
  // cannot see every post, such a clash answers exactly like a free slug (issue 9, privacy).
  const seesAll = can(u, "post.view", { authorId: -1 });
  const visible = clash && ((clash.status === "PUBLISHED" && clash.publish <= new Date()) || can(u, "post.view", clash));
  if (visible) return res.json({ ok: false, message: `Already used by another post published on ${day}.` });
  res.json({ ok: true, message: seesAll ? `Available on ${day}.` : `No post you can see uses it on ${day}.` });
}

const autocompleteQuery = z.object({ model: z.literal("accounts_user"), term: z.string().max(100).optional() });

/** Author picker: users who can write, matched by username or name (Django's autocomplete_fields). */
export async function autocomplete(req: Request, res: Response) {
  const u = user(req);
  if (!can(u, "post.change", { authorId: -1 })) throw forbidden();
  const r = autocompleteQuery.safeParse(req.query);
  if (!r.success) throw badRequest("Invalid autocomplete query.");
  const term = searchText(r.data.term ?? ""); // a search box: NUL and control characters dropped
  const rows = await prisma.user.findMany({
    where: {
      role: { in: ["AUTHOR", "EDITOR", "ADMIN"] },
      isActive: true,
      ...(term ? { OR: [{ username: { contains: term, mode: "insensitive" } }, { firstName: { contains: term, mode: "insensitive" } }, { lastName: { contains: term, mode: "insensitive" } }] } : {}),
    },
    select: { id: true, username: true, firstName: true, lastName: true },
    orderBy: { username: "asc" },
    take: 20,
  });
  res.json({ results: rows.map((x) => ({ id: x.id, text: x.username, name: `${x.firstName} ${x.lastName}`.trim() })) });
}
