// The generic admin views (index, change list, add, change, delete, history) shared by every
// registered model, plus the endpoints the change form's widgets call (Markdown preview, FK
// autocomplete). Thin: parse, authorise (the ModelAdmin's has_*_permission), call its hooks, render.
// Nothing here knows a particular model: what differs per model is a hook or option in site.ts
// (tests/admin/generic.test.ts fails if a model's name appears here).
import type { Request, Response } from "express";
import { diffWords } from "diff";
import { z } from "zod";
import { can } from "../accounts/permissions.ts";
import { pool } from "../db/index.ts";
import { badRequest, forbidden, notFound } from "../web/errors.ts";
import { routeNames, url } from "../web/urls.ts";
import { formatDate } from "../web/templates.ts";
import { flash, takeFlash } from "../web/session.ts";
import { formatCount, POST_BODY_MAX, tooLongMessage } from "../web/limits.ts";
import { idString, isId, pathId, safeRedirect, searchText, toId } from "../web/inputs.ts";
import { readingMinutes, renderBody } from "../blog/markdown.ts";
import { changeMessage, objectHistory, recentActionsFor } from "../audit/index.ts";
import { currentUser, type AdminUser } from "./auth.ts";
import { chosenTags, tagsText } from "./widgets.ts";
import { dateHierarchyLinks, fetchChangeList, filterViews, parseChangeListQuery, RANK_CAP } from "./changelist.ts";
import { hiddenFields, keptFormValues, parseAdminForm, submittedValues, toFormValues, visibleFields } from "./forms.ts";
import {
  type SaveResult,
  auditModelOf,
  fieldLabelOf,
  tagIdsKey,
  compiled,
  ConflictErrors,
  FormErrors,
  hasAddPermission,
  hasChangePermission,
  hasDeletePermission,
  hasViewPermission,
  keyOf,
  mayEditField,
  resolveChoices,
  site,
  type AdminObject,
  type FormField,
  type ModelAdmin,
} from "./site.ts";

const MAX_SELECTED = 1000;

/** Route ids: only plain positive integers that fit an int4; anything else is the site's 404 (src/web/inputs.ts). */
export const parseId = pathId;

/** The model's pages need its view permission (no access to the model at all: 403). */
function authorizeModel(m: ModelAdmin, u: AdminUser): void {
  if (!hasViewPermission(m, u)) throw forbidden();
}

function user(req: Request): AdminUser {
  const u = currentUser(req);
  if (!u) throw forbidden();
  return u;
}

function modelNav(u: AdminUser) {
  const groups = new Map<string, { app: string; models: { name: string; key: string; changelist: string; add: string | null; readOnly: boolean }[] }>();
  for (const m of site.all()) {
    if (!hasViewPermission(m, u)) continue;
    const g = groups.get(m.app) ?? { app: m.app, models: [] };
    g.models.push({
      name: m.verboseNamePlural,
      key: keyOf(m),
      changelist: url(`admin:${keyOf(m)}_changelist`),
      add: hasAddPermission(m, u) ? url(`admin:${keyOf(m)}_add`) : null,
      readOnly: !hasChangePermission(m, u), // the index says "View" (Django: a view-only model)
    });
    groups.set(m.app, g);
  }
  return [...groups.values()];
}

export function render(req: Request, res: Response, template: string, ctx: Record<string, unknown>, status = 200) {
  const u = user(req);
  const t = performance.now();
  // a bare name is the admin's own template; a path ("studio/editor.njk") a registration's form.template
  const view = template.includes("/") ? template : `admin/${template}`;
  res.status(status).render(view, { nav: modelNav(u), adminUser: u, messages: takeFlash(req), ...ctx }, (err: Error | null, html?: string) => {
    if (err) return req.next?.(err);
    // Server-Timing (admin pages only): where the time went, visible in the browser's dev tools.
    const timing = { ...(res.locals.serverTiming as Record<string, number> | undefined), render: performance.now() - t };
    res.setHeader(
      "Server-Timing",
      Object.entries(timing)
        .map(([k, v]) => `${k};dur=${v.toFixed(1)}`)
        .join(", "),
    );
    res.send(html);
  });
}

function objectLink(model: string, objectId: string): string | null {
  const key = model.replace(".", "_");
  const m = site.get(key);
  if (!m || !isId(objectId) || !m.hooks.update) return null;
  return url(`admin:${key}_change`, { id: objectId });
}

// ------------------------------------------------------------------ index

export async function index(req: Request, res: Response) {
  const u = user(req);
  const recent = await recentActionsFor(u, 12);
  render(req, res, "index.njk", {
    title: "Site administration",
    recent: recent.map((r) => ({
      ...r,
      link: r.action === "DELETE" ? null : objectLink(r.model, r.objectId),
      modelName: site.get(r.model.replace(".", "_"))?.verboseName ?? r.model,
    })),
  });
}

// ------------------------------------------------------------------ change list

async function loadOwners(m: ModelAdmin, u: AdminUser, ids: number[]) {
  const c = compiled(m);
  const scope = c.scope(u, 2);
  const owner = c.owner ?? "NULL::int";
  const r = await pool.query<{ pk: number; repr: string; owner: number | null }>(
    `SELECT ${c.pk} AS pk, ${c.repr} AS repr, ${owner} AS owner FROM ${c.from} WHERE ${c.pk} = ANY($1::int[]) ${scope ? `AND ${scope.sql}` : ""} ORDER BY ${c.pk}`,
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
    authorizeModel(m, u);
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
    const headers = compiled(m).columns.map((c) => {
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
      const changeUrl = m.hooks.update ? url(`admin:${keyOf(m)}_change`, { id: r.pk }) : null;
      const owned: AdminObject = { id: r.pk, repr: r.repr, authorId: r.ownerId ?? undefined, version: r.version ?? undefined, values: {}, readOnly: {} };
      const mayEditCol = new Set(editFields.filter((f) => mayEditField(m, u, f.name, owned)).map((f) => f.name));
      const mayEdit = mayEditCol.size > 0;
      return {
        pk: r.pk,
        repr: r.repr,
        // inline edits are saved over the version the row was shown at
        version: mayEdit ? r.version : null,
        cols: compiled(m).columns.map((c) => {
          const v = r.cells[c.name];
          const cell: Record<string, unknown> = { name: c.name, label: c.label, ...formatCell(c.display ? c.display(v, r.cells) : v, c.format, now) };
          if (c.link && changeUrl) cell.link = changeUrl;
          if (mayEditCol.has(c.name)) {
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
      m: {
        key: keyOf(m),
        verboseName: m.verboseName,
        verboseNamePlural: m.verboseNamePlural,
        searchHelp: m.list.search?.help,
        hasSearch: !!m.list.search,
        fullText: !!m.list.search?.fullText,
      },
      headers,
      rows,
      result,
      pages,
      prevUrl: result.page > 1 ? pageUrl(result.page - 1) : null,
      nextUrl: result.page < result.pages || (result.countKind !== "exact" && result.rows.length === result.perPage) ? pageUrl(result.page + 1) : null,
      filters,
      drill: {
        ...drill,
        back: drill.back ? { label: drill.back.label, url: changeListUrl(m, drill.back.query) } : null,
        links: drill.links.map((l) => ({ label: l.label, url: changeListUrl(m, l.query) })),
      },
      q: p.q,
      searchMode: p.searchMode,
      rankCap: RANK_CAP,
      hidden: Object.entries(base).filter(([k]) => k !== "q"),
      clearUrl: changeListUrl(m),
      filtered: Object.keys(base).some((k) => k !== "o"),
      // offered when the user may do it to some object; each selected object is checked on submit
      actions: m.actions.filter((a) => can(u, a.permission, null)).map((a) => ({ name: a.name, label: a.label })),
      editChoices,
      editFields: editFields.map((f) => f.name),
      addUrl: hasAddPermission(m, u) ? url(`admin:${keyOf(m)}_add`) : null,
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

/** Display form of a list cell: text plus what the template needs to mark it up. */
function formatCell(v: unknown, format: string | undefined, now: number): { text: string; kind: string; iso?: string; time?: string; future?: boolean } {
  if (v === null || v === undefined || v === "") return { text: "—", kind: "empty" };
  switch (format) {
    case "datetime":
    case "date": {
      const d = v instanceof Date ? v : new Date(String(v));
      return {
        text: formatDate(d, "M j, Y"),
        kind: "date",
        iso: d.toISOString(),
        time: format === "datetime" ? formatDate(d, "H:i T") : undefined,
        future: d.getTime() > now,
      };
    }
    case "status":
      // an enum's value as a badge: PUBLISHED -> "Published"
      return { text: cap(String(v).toLowerCase()), kind: `status ${String(v).toLowerCase()}` };
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
    authorizeModel(m, u);
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

/** The `next` the change list sent (its filters and page kept), when it is a path under the list; else the list. */
const safeBack = (v: unknown, fallback: string): string => safeRedirect(v, fallback, fallback.split("?")[0]!);

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
  if (m.version) for (const id of changes.keys()) if (!versions.has(id)) throw badRequest("The list is missing its row versions; reload the page.");
  let n = 0;
  for (const o of owners) {
    const obj = await m.hooks.load(o.id);
    if (!obj) continue;
    const wanted = changes.get(o.id)!;
    if (!Object.entries(wanted).some(([f, v]) => String(obj.values[f] ?? "") !== v)) continue;
    if (!Object.keys(wanted).every((f) => mayEditField(m, u, f, obj))) throw forbidden(`You may not change “${obj.repr}”.`);
    try {
      await m.hooks.update!(obj, { ...obj.values, ...wanted }, u, versions.get(o.id) ?? obj.version);
    } catch (e) {
      if (e instanceof ConflictErrors) {
        flash(
          req,
          "error",
          `“${obj.repr}” was not saved: someone else changed it after this list was shown. Nothing was overwritten; the list below shows their version.`,
        );
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

async function loadObject(m: ModelAdmin, u: AdminUser, rawId: unknown, need: "view" | "change" | "delete"): Promise<AdminObject> {
  authorizeModel(m, u); // model level first: no access to the model at all -> 403
  const id = parseId(rawId);
  const obj = await m.hooks.load(id);
  // an object the user may not even view is a 404 (does not reveal it exists)
  if (!obj || !hasViewPermission(m, u, obj)) throw notFound();
  if (need === "change" && !hasChangePermission(m, u, obj)) throw forbidden();
  if (need === "delete" && !hasDeletePermission(m, u, obj)) throw forbidden(`You may not delete “${obj.repr}”.`);
  return obj;
}

async function formContext(m: ModelAdmin, u: AdminUser, obj: AdminObject | null, values: Record<string, unknown>, errors: Record<string, string>) {
  const fields = await Promise.all(
    visibleFields(m, u).map(async (f) => ({
      ...f,
      choices: await resolveChoices(f.choices),
      value: values[f.name],
      error: errors[f.name],
      fkLabel: f.fk && values[f.name] ? await fkLabel(f.fk.model, values[f.name]) : "",
      fkUrl: f.fk ? url("admin:autocomplete", {}, { model: f.fk.model }) : null,
      // the tag field: its chosen tags (ids, with their names) as checkboxes / chips
      chosenTags: f.widget === "tags" ? await chosenTags((values[f.name] as { ids?: string[] } | undefined)?.ids ?? [], u) : [],
      idsName: f.widget === "tags" ? tagIdsKey(f) : null,
      // macros do not see the page's variables: what the widgets' JS needs travels with the field
      previewUrl: f.widget === "markdown" ? url("admin:preview") : null,
      slugCheckUrl: f.widget === "slug" && f.slugCheck ? url(f.slugCheck) : null,
      // the image picker: the library's list, the upload (until its route exists: choose only), the chosen image
      imageUrls: f.image ? { choices: url(f.image.choices), upload: uploadUrl(f) } : null,
      uploadUrl: f.widget === "markdown" ? uploadUrl(f) : null,
      imageChosen: f.image && toId(values[f.name]) !== null ? await f.image.describe(toId(values[f.name])!) : null,
      objectId: obj?.id ?? null,
      side: !!m.form.sidebar?.fields.includes(f.name),
    })),
  );
  const readOnly = obj ? (m.form.readOnly ?? []).map((r) => ({ ...r, value: obj.readOnly[r.name] })) : [];
  return {
    m: { key: keyOf(m), verboseName: m.verboseName, verboseNamePlural: m.verboseNamePlural, revisions: !!m.revisions },
    sidebar: m.form.sidebar?.heading ?? null,
    fields,
    readOnly,
    errors,
    obj,
    changeListUrl: changeListUrl(m),
    historyUrl: obj ? url(`admin:${keyOf(m)}_history`, { id: obj.id }) : null,
    deleteUrl: obj && hasDeletePermission(m, u, obj) ? url(`admin:${keyOf(m)}_delete`, { id: obj.id }) : null,
    objectLinks: obj && m.objectLinks ? m.objectLinks(obj, u) : [],
    buttons: (m.form.buttons ?? []).filter((b) => b.shown?.(obj, u) ?? true).map((b) => ({ name: b.name, label: b.label })),
    previewUrl: url("admin:preview"),
    // the model's own context (posts: the editor's autosave; "fresh": not a form shown again with errors)
    // (the values keyed as the form submits them: what an autosave of it holds)
    ...(m.formContext ? await m.formContext(u, obj, submittedValues(m.form.fields, values), !Object.keys(errors).length) : {}),
  };
}

/** Where a widget uploads images (FormField.upload), once that route is mounted; null: no uploads. */
const uploadUrl = (f: FormField) => (f.upload && routeNames().includes(f.upload) ? url(f.upload) : null);

/** The repr of the object a foreign-key field points to, shown beside its raw id. */
async function fkLabel(model: string, id: unknown): Promise<string> {
  const target = site.get(model);
  const pk = toId(id); // the re-shown form keeps what was typed, an out-of-range id included
  if (!target || pk === null) return "";
  const c = compiled(target);
  const r = await pool.query<{ repr: string }>(`SELECT ${c.repr} AS repr FROM ${c.from} WHERE ${c.pk} = $1`, [pk]);
  return r.rows[0]?.repr ?? "";
}

/** The add/change form's template: the registration's own (form.template) or the generic one. */
const formTemplate = (m: ModelAdmin) => m.form.template ?? "change_form.njk";

/**
 * The body as the form's hooks see it: a FormButton pressed (Publish, Schedule...) sets its fields and keeps
 * the form open (as _continue). `kept` (the form shown again) stays the body as sent.
 */
function pressed(m: ModelAdmin, body: Record<string, unknown>) {
  const button = (m.form.buttons ?? []).find((b) => body[b.name] !== undefined);
  return { button, body: button ? { ...body, ...button.values, _continue: "1" } : body };
}

export function addView(m: ModelAdmin) {
  return async (req: Request, res: Response) => {
    const u = user(req);
    authorizeModel(m, u); // the model's pages are for those who may see its list (authors create tags on posts, not here)
    if (!hasAddPermission(m, u)) throw forbidden();
    const fields = visibleFields(m, u);
    const defaults = m.initialData?.(u) ?? {};
    if (req.method === "GET") {
      return render(req, res, formTemplate(m), {
        title: `Add ${m.verboseName}`,
        adding: true,
        ...(await formContext(m, u, null, toFormValues(fields, defaults), {})),
      });
    }
    const sent = (req.body ?? {}) as Record<string, unknown>;
    const { button, body } = pressed(m, sent);
    const parsed = await parseAdminForm(fields, body, hiddenFields(m, u));
    const kept = keptFormValues(fields, sent);
    const errors = parsed.ok ? button?.check?.(parsed.data) : parsed.errors;
    if (!parsed.ok || errors)
      return render(req, res, formTemplate(m), { title: `Add ${m.verboseName}`, adding: true, ...(await formContext(m, u, null, kept, errors ?? {})) }, 400);
    try {
      const saved = await m.hooks.create!(parsed.data, u);
      return afterSave(m, req, res, body, saved, "added");
    } catch (e) {
      if (e instanceof FormErrors)
        return render(req, res, formTemplate(m), { title: `Add ${m.verboseName}`, adding: true, ...(await formContext(m, u, null, kept, e.fields)) }, 400);
      throw e;
    }
  };
}

function afterSave(m: ModelAdmin, req: Request, res: Response, body: Record<string, unknown>, saved: SaveResult, verb: "added" | "changed") {
  const link = url(`admin:${keyOf(m)}_change`, { id: saved.id });
  const note = saved.note ? ` ${saved.note}` : "";
  if (body._continue !== undefined) {
    flash(req, "success", `The ${m.verboseName} “${saved.repr}” was ${verb} successfully.${note} You may edit it again below.`);
    return res.redirect(303, link);
  }
  if (body._addanother !== undefined) {
    flash(req, "success", `The ${m.verboseName} “${saved.repr}” was ${verb} successfully.${note} You may add another ${m.verboseName} below.`);
    return res.redirect(303, url(`admin:${keyOf(m)}_add`));
  }
  flash(req, "success", `The ${m.verboseName} “${saved.repr}” was ${verb} successfully.${note}`);
  return res.redirect(303, changeListUrl(m));
}

export function changeView(m: ModelAdmin) {
  return async (req: Request, res: Response) => {
    const u = user(req);
    const obj = await loadObject(m, u, req.params.id, "change");
    const fields = visibleFields(m, u);
    const title = `Change ${m.verboseName}`;
    if (req.method === "GET") {
      return render(req, res, formTemplate(m), { title, ...(await formContext(m, u, obj, toFormValues(fields, obj.values), {})) });
    }
    const sent = (req.body ?? {}) as Record<string, unknown>;
    const { button, body } = pressed(m, sent);
    const kept = keptFormValues(fields, sent);
    // a version is a positive int4 (anything else, e.g. 9999999999, is a bad form: 400, never a database error)
    const versionRaw = toId(body._version) ?? undefined;
    if (obj.version !== undefined && versionRaw === undefined) throw badRequest("The form is missing its version; reload the page.");
    const parsed = await parseAdminForm(fields, body, hiddenFields(m, u));
    if (!parsed.ok) return render(req, res, formTemplate(m), { title, version: versionRaw, ...(await formContext(m, u, obj, kept, parsed.errors)) }, 400);
    // A datetime shown at minute precision and sent back unchanged keeps its stored value (seconds and all).
    const shown = toFormValues(fields, obj.values);
    for (const f of fields) if (f.widget === "datetime" && kept[f.name] === shown[f.name]) parsed.data[f.name] = obj.values[f.name];
    const data = { ...obj.values, ...parsed.data };
    const refused = button?.check?.(data);
    if (refused) return render(req, res, formTemplate(m), { title, version: versionRaw, ...(await formContext(m, u, obj, kept, refused)) }, 400);
    try {
      const saved = await m.hooks.update!(obj, data, u, versionRaw);
      return afterSave(m, req, res, body, saved, "changed");
    } catch (e) {
      if (e instanceof FormErrors)
        return render(req, res, formTemplate(m), { title, version: versionRaw, ...(await formContext(m, u, obj, kept, e.fields)) }, 400);
      if (e instanceof ConflictErrors) {
        const theirs = toFormValues(fields, e.theirs);
        const changed = fields.filter((f) => JSON.stringify(theirs[f.name]) !== JSON.stringify(kept[f.name]));
        // the tag field as text: tag names, not ids
        const yours: Record<string, unknown> = { ...kept };
        for (const f of changed.filter((f) => f.widget === "tags"))
          [theirs[f.name], yours[f.name]] = await Promise.all([tagsText(theirs[f.name] as never, u), tagsText(kept[f.name] as never, u)]);
        const diffs = changed.map((f) => ({
          label: f.label,
          theirs: theirs[f.name],
          yours: yours[f.name],
          parts: typeof theirs[f.name] === "string" ? diffWords(String(theirs[f.name]), String(yours[f.name] ?? "")) : null,
        }));
        // The form keeps YOUR text and now carries THEIR version: saving again is a deliberate overwrite.
        return render(
          req,
          res,
          formTemplate(m),
          { title, version: e.version, conflict: { message: e.message, diffs }, ...(await formContext(m, u, obj, kept, {})) },
          409,
        );
      }
      throw e;
    }
  };
}

// ------------------------------------------------------------------ delete / history

export function deleteView(m: ModelAdmin) {
  return async (req: Request, res: Response) => {
    const u = user(req);
    const obj = await loadObject(m, u, req.params.id, "delete");
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
    await m.hooks.remove!([obj.id], u);
    flash(req, "success", `The ${m.verboseName} “${obj.repr}” was deleted successfully.`);
    res.redirect(303, changeListUrl(m));
  };
}

export function historyView(m: ModelAdmin) {
  return async (req: Request, res: Response) => {
    const u = user(req);
    const obj = await loadObject(m, u, req.params.id, "view");
    const entries = (await objectHistory(auditModelOf(m), obj.id)).map((e) => ({ ...e, message: changeMessage(e.action, e.changes, fieldLabelOf(m)) }));
    const revs = m.revisions ? await m.revisions.list(obj.id, obj.values) : [];
    const revisions = revs.map((r) => ({ ...r, restoreUrl: url(`admin:${keyOf(m)}_restore`, { id: obj.id, rev: r.id }) }));
    render(req, res, "object_history.njk", {
      title: `Change history: ${obj.repr}`,
      m: { key: keyOf(m), verboseName: m.verboseName, verboseNamePlural: m.verboseNamePlural },
      obj,
      entries,
      revisions,
      canRestore: mayRestore(m, u, obj),
      changeUrl: url(`admin:${keyOf(m)}_change`, { id: obj.id }),
    });
  };
}

export function restoreView(m: ModelAdmin) {
  return async (req: Request, res: Response) => {
    const u = user(req);
    const obj = await loadObject(m, u, req.params.id, "change");
    const revId = parseId(req.params.rev);
    if (!mayRestore(m, u, obj)) throw forbidden();
    await m.revisions!.restore(obj.id, revId, u);
    flash(req, "success", `Revision restored. “${obj.repr}” now has the restored text (as a new revision).`);
    res.redirect(303, url(`admin:${keyOf(m)}_history`, { id: obj.id }));
  };
}

// ------------------------------------------------------------------ endpoints for the form's JS

/** Restoring a revision sets its fields: the user must be allowed to set each of them. */
const mayRestore = (m: ModelAdmin, u: AdminUser, obj: AdminObject) => !!m.revisions && m.revisions.fields.every((f) => mayEditField(m, u, f, obj));

/** The Markdown widget's preview: for anyone who may add or change a model that has a Markdown field. */
export async function preview(req: Request, res: Response) {
  const u = user(req);
  const writes = site.all().some((m) => m.form.fields.some((f) => f.widget === "markdown") && (hasAddPermission(m, u) || hasChangePermission(m, u)));
  if (!writes) throw forbidden();
  const body = (req.body ?? {}) as Record<string, unknown>;
  const text = body.body;
  if (typeof text !== "string") throw badRequest("body: give the Markdown text once.", { body: "Required." });
  if (text.length > POST_BODY_MAX)
    throw badRequest(`body: at most ${formatCount(POST_BODY_MAX)} characters.`, { body: tooLongMessage(POST_BODY_MAX, text.length) });
  // what a save stores (renderBody), with the words it counts: the editor's word count and reading time
  const { html, wordCount } = await renderBody(text);
  res.json({ html, wordCount, readingMinutes: readingMinutes(wordCount) });
}

const autocompleteQuery = z.object({ model: z.string().max(100), term: z.string().max(100).optional() });

/**
 * Foreign-key pickers (Django's autocomplete_fields): ?model= names the registered model picked from,
 * which answers through its autocomplete hook. Allowed to those shown a picker for it: a form field
 * pointing at the model, visible to them, on a model they may add or change.
 */
export async function autocomplete(req: Request, res: Response) {
  const u = user(req);
  const r = autocompleteQuery.safeParse(req.query);
  const target = r.success ? site.get(r.data.model) : undefined;
  if (!r.success || !target?.autocomplete) throw badRequest("Invalid autocomplete query.");
  const key = keyOf(target);
  const picks = site
    .all()
    .some((m) => (hasAddPermission(m, u) || hasChangePermission(m, u)) && m.form.fields.some((f) => f.fk?.model === key && (!f.visible || f.visible(u))));
  if (!picks) throw forbidden();
  const term = searchText(r.data.term ?? ""); // a search box: NUL and control characters dropped
  res.json({ results: await target.autocomplete(term) });
}
