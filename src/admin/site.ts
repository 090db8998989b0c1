// The admin registry, like django.contrib.admin's AdminSite + ModelAdmin: each model registers a
// declarative config (list columns, filters, search, ordering, date hierarchy, list-editable
// columns, form fields, read-only fields, prepopulated fields, FK pickers, bulk actions, hooks).
// The generic views in views.ts and the templates in views/admin/ serve every registered model.
import type { Request, Response } from "express";
import { can, type Action } from "../accounts/permissions.ts";
import type { AdminUser } from "./auth.ts";
import { fieldSql, fromSql, joinsSql, resolveField, TABLES, type TableName } from "./fields.ts";

export type Widget = "text" | "slug" | "email" | "textarea" | "markdown" | "select" | "fk" | "tags" | "datetime" | "checkbox" | "image";

export interface Choice {
  value: string;
  label: string;
}
export type Choices = Choice[] | (() => Promise<Choice[]>);

export interface FormField {
  name: string;
  label: string;
  widget: Widget;
  required?: boolean;
  maxLength?: number;
  help?: string;
  /** select / tags */
  choices?: Choices;
  /** fk: the registered model it points to and how it is picked (Django's autocomplete_fields / raw_id_fields). */
  fk?: { model: string; picker: "autocomplete" | "rawId" };
  /** prepopulated_fields: filled from this field as you type (slug from title). */
  prepopulateFrom?: string;
  /** Only shown/accepted when this returns true for the current user (e.g. author picker for editors). */
  visible?: (user: AdminUser) => boolean;
  /** text and markdown widgets: the placeholder (what to write there). */
  placeholder?: string;
  /** Shown beside the widget (and as its placeholder) while the value is empty: what empty means. */
  emptyText?: string;
  /** slug widgets: the named route its JS asks whether the slug is free (the post's slug check). */
  slugCheck?: string;
  /** markdown and image widgets: the named route an image is uploaded to (POST multipart `file`; JSON { id, url, markdown, ... }). */
  upload?: string;
  /**
   * image widgets (an optional Media id): the named route its picker lists the library from (GET ?q=&page=,
   * JSON { results: ImageChoice[], hasMore }) and how the chosen image is shown (its thumbnail).
   */
  image?: { choices: string; describe: (id: number) => Promise<ImageChoice | null> };
}

/** An image as the picker lists and shows it (the image widget's value: its id). */
export interface ImageChoice {
  id: number;
  thumbnail: string;
  alt: string;
  filename: string;
  width: number;
  height: number;
}

/**
 * A submit button of the change form that also sets fields (the post's Publish / Schedule / Unpublish):
 * sent with the form as `name`, its `values` replace the submitted ones before the form is parsed, so one
 * click both sets and saves; `check` refuses the save with field messages (Schedule without a future time).
 * The form then stays open (as _continue).
 */
export interface FormButton {
  name: string;
  label: string;
  values: Record<string, string>;
  check?: (data: Record<string, unknown>) => Record<string, string> | null;
  /** Offered on this object's form (the stored object; null: the add form). */
  shown?: (obj: AdminObject | null, user: AdminUser) => boolean;
}

export interface ReadOnlyField {
  name: string;
  label: string;
  format?: "datetime" | "text";
}

export type CellFormat = "text" | "datetime" | "date" | "status" | "bool" | "number";

/**
 * list_display: a column names a model field (`{ field: "title" }`, or a related one: "author__username");
 * `sql` only where the value is genuinely computed (say which), in the field map's aliases (fields.ts).
 */
export interface ListColumn {
  /** The ?o= sort key and the cell's CSS class; defaults to the field. */
  name?: string;
  label: string;
  field?: string;
  /** A computed cell (no single field holds it). */
  sql?: string;
  /** Sortable: true sorts by the column's field; a field name sorts by that field. */
  sort?: true | string;
  format?: CellFormat;
  /** The cell links to the change form (list_display_links). */
  link?: boolean;
  /** The cell's text from its value and the row's other cells (Django's list_display callables). */
  display?: (value: unknown, row: Record<string, unknown>) => string;
}

/** list_filter: a choice or date filter on a field ("status", "category__id", "createdAt"). */
export interface ListFilter {
  field: string;
  /** Query parameter (Django style); defaults to `${field}__exact` (choice) or the field (date). */
  param?: string;
  label: string;
  kind: "choice" | "date";
  /** choice filters: allowed values and labels. Values are validated against this list. */
  choices?: Choices;
  /** choice filters: value type. */
  type?: "int" | "string" | "bool";
  /** Shown only for users that pass (e.g. the author filter only for editors). */
  visible?: (user: AdminUser) => boolean;
}

export interface BulkAction {
  name: string;
  label: string;
  /** The permission asked of can() for every selected object (and, on no object, to offer the action at all). */
  permission: Action;
  /** Past-tense verb for the message: "published". */
  done: string;
  /** Short description of the effect for the confirmation page. */
  describe: string;
  danger?: boolean;
  /** The number of objects changed, or that plus the ones left as they were and why ("“X”: reason"). */
  run(ids: number[], user: AdminUser): Promise<number | ActionOutcome>;
}

export interface ActionOutcome {
  count: number;
  refused: string[];
}

/** A loaded object as the form sees it: field values plus metadata. */
export interface AdminObject {
  id: number;
  repr: string;
  /** For can(user, action, object): whose it is. */
  authorId?: number;
  /** Optimistic-locking version, when the model has one. */
  version?: number;
  values: Record<string, unknown>;
  readOnly: Record<string, unknown>;
}

export interface SaveResult {
  id: number;
  repr: string;
  /** Said after the success message ("An invitation was sent to ..."). */
  note?: string;
}

/** Raised by hooks: field errors (400 with the form redisplayed) or a conflict (form with both versions). */
export class FormErrors extends Error {
  constructor(
    readonly fields: Record<string, string>,
    message = "Please correct the errors below.",
  ) {
    super(message);
  }
}
export class ConflictErrors extends Error {
  constructor(
    readonly theirs: Record<string, unknown>,
    readonly version: number,
    message: string,
  ) {
    super(message);
  }
}

/** save_model and friends: a model without create/update/remove has no add/change/delete (a read-only model). */
export interface ModelHooks {
  load(id: number): Promise<AdminObject | null>;
  create?(data: Record<string, unknown>, user: AdminUser): Promise<SaveResult>;
  update?(obj: AdminObject, data: Record<string, unknown>, user: AdminUser, version: number | undefined): Promise<SaveResult>;
  remove?(ids: number[], user: AdminUser): Promise<number>;
  /** Objects a delete would take with it (Django's "deleted objects" summary). */
  cascades?(ids: number[]): Promise<string[]>;
}

/** A model's own page or endpoint beside the generic ones (Django's ModelAdmin.get_urls()). */
export interface AdminUrl {
  name: string;
  path: string;
  methods: ("get" | "post")[];
  handler: (req: Request, res: Response) => Promise<unknown> | unknown;
}

export type PermModel = Action extends `${infer M}.${string}` ? M : never;

export interface ModelAdmin {
  app: string;
  model: string;
  verboseName: string;
  verboseNamePlural: string;
  /** Permission prefix: can(user, `${perm}.view`) ... (RULES in src/accounts/permissions.ts). */
  perm: PermModel;
  /** The model's table in the field map (fields.ts); every option below names its fields. */
  table: TableName;
  /** The field shown as the object's name (Django's __str__). */
  repr: string;
  /** The field naming whose object it is, for per-row permission checks (posts: authorId). */
  owner?: string;
  /**
   * Optimistic-locking version field (src/db/versioned.ts). Declared, the change list's inline
   * edits carry each row's version and a row changed since the list was shown is refused.
   */
  version?: string;
  list: {
    columns: ListColumn[];
    filters: ListFilter[];
    /** search_fields (substring); fullText: a tsvector field searched first, ranked. */
    search?: { fields: string[]; fullText?: { vector: string; config: "english" | "simple" }; help: string };
    /** Default ordering: a field, "-" for descending. */
    ordering: string;
    /** date_hierarchy: a date field; its query parameters are `${field}__year` ... */
    dateHierarchy?: string;
    /** list_editable: column names editable in the list; must be select fields in the form. */
    editable?: string[];
    perPage: number;
  };
  /** get_queryset: the rows a user may see at all, as field = value conditions (authors: their own posts); null: all. */
  queryset?: (user: AdminUser) => Record<string, number | string> | null;
  form: {
    fields: FormField[];
    readOnly?: ReadOnlyField[];
    /** Fields shown in a side column under this heading (the post's "Publishing" box). */
    sidebar?: { heading: string; fields: string[] };
    /** The add/change form's template instead of admin/change_form.njk (the post's editor: "studio/editor.njk"). */
    template?: string;
    /** Submit buttons that set fields as they save (FormButton). */
    buttons?: FormButton[];
  };
  actions: BulkAction[];
  hooks: ModelHooks;
  /**
   * has_view/add/change/delete_permission: each further restricts the default, can() with the model's
   * action (and the object, when there is one). E.g. an admin may not delete their own account.
   */
  hasViewPermission?: (user: AdminUser, obj: AdminObject | null) => boolean;
  hasAddPermission?: (user: AdminUser) => boolean;
  hasChangePermission?: (user: AdminUser, obj: AdminObject | null) => boolean;
  hasDeletePermission?: (user: AdminUser, obj: AdminObject | null) => boolean;
  /** Per-field permission on an object (posts: who may set the status), for list_editable and restores. */
  canEditField?: (user: AdminUser, field: string, obj: AdminObject | null) => boolean;
  /** get_changeform_initial_data: the add form's starting values. */
  initialData?: (user: AdminUser) => Record<string, unknown>;
  /** Extra buttons on the change form (the user's "Set password"). */
  objectLinks?: (obj: AdminObject, user: AdminUser) => { label: string; url: string }[];
  /** Extra context for the change form's template (the post editor's autosave panel); `values` keyed as the form submits them (submittedValues). */
  formContext?: (user: AdminUser, obj: AdminObject | null, values: Record<string, unknown>, fresh: boolean) => Promise<Record<string, unknown>>;
  /** Objects with revisions: the history page lists them and may restore one (posts). */
  revisions?: {
    list(id: number, current: Record<string, unknown>): Promise<({ id: number } & Record<string, unknown>)[]>;
    /** Restores a revision (as a new one); fields: the ones a restore sets, each needing canEditField. */
    restore(id: number, rev: number, user: AdminUser): Promise<void>;
    fields: string[];
  };
  /** Autocomplete for foreign-key pickers pointing at this model (Django's autocomplete_fields + search). */
  autocomplete?: (term: string) => Promise<{ id: number; text: string; name?: string }[]>;
  urls?: AdminUrl[];
}

export class AdminSite {
  private models = new Map<string, ModelAdmin>();

  register(admin: ModelAdmin): void {
    const key = `${admin.app}_${admin.model}`;
    if (this.models.has(key)) throw new Error(`admin: ${key} registered twice`);
    this.models.set(key, admin);
  }

  get(key: string): ModelAdmin | undefined {
    return this.models.get(key);
  }

  all(): ModelAdmin[] {
    return [...this.models.values()];
  }

  /** Django's system checks, run once at start-up (routes.ts): a misnamed option stops the app with its name. */
  check(): void {
    const errors = this.all().flatMap((m) => checkModelAdmin(m, this));
    if (errors.length) throw new AdminCheckError(errors);
  }
}

export class AdminCheckError extends Error {
  constructor(readonly errors: string[]) {
    super(`The admin registrations have ${errors.length} error${errors.length === 1 ? "" : "s"}:\n${errors.join("\n")}`);
  }
}

/** A choice or date filter's query parameter: its own, or the one made from its field. */
const filterParam = (x: ListFilter) => x.param ?? (x.kind === "choice" ? `${x.field}__exact` : x.field);

/** A stand-in user of each role, to ask the queryset hook which fields it names. */
const ROLE_USERS: AdminUser[] = (["READER", "AUTHOR", "EDITOR", "ADMIN"] as const).map((role, i) => ({
  id: i + 1,
  username: "",
  email: "",
  firstName: "",
  lastName: "",
  role,
  isActive: true,
}));

/**
 * Every option that names a field, checked against the model's field map (codes as in Django's admin
 * checks); a form field's fk.model against the models registered on `registry`.
 */
export function checkModelAdmin(m: ModelAdmin, registry: Pick<AdminSite, "get"> = site): string[] {
  const name = `${m.app}.${m.model[0]!.toUpperCase()}${m.model.slice(1)}`;
  const model = TABLES[m.table] ? TABLES[m.table].table : null;
  if (!model) return [`admin.E001: ${name} table "${m.table}" is not in the admin's field map (src/admin/fields.ts)`];
  const out: string[] = [];
  const field = (code: string, option: string, f: string | undefined) => {
    if (f === undefined || !resolveField(m.table, f)) out.push(`${code}: ${name} ${option} "${f ?? ""}" is not a field of ${model}`);
  };
  field("admin.E000", "repr", m.repr);
  if (m.owner) field("admin.E000", "owner", m.owner);
  if (m.version) field("admin.E000", "version", m.version);
  const names = new Set<string>();
  m.list.columns.forEach((c, i) => {
    const n = c.name ?? c.field;
    if (!n) out.push(`admin.E108: ${name} list_display[${i}] names no field (give field, or name and sql for a computed column)`);
    else if (names.has(n)) out.push(`admin.E108: ${name} list_display[${i}] "${n}" is listed twice`);
    if (n) names.add(n);
    if (c.field !== undefined || c.sql === undefined) field("admin.E108", `list_display[${i}]`, c.field);
    if (c.link && !m.hooks.update) out.push(`admin.E111: ${name} list_display[${i}] "${n}" links to a change form the model does not have (hooks.update)`);
    if (typeof c.sort === "string") field("admin.E108", `list_display[${i}] sort`, c.sort);
    else if (c.sort && c.field === undefined) out.push(`admin.E108: ${name} list_display[${i}] "${n}" is sortable but names no field to sort by`);
  });
  m.list.filters.forEach((f, i) => field("admin.E116", `list_filter[${i}]`, f.field));
  m.list.filters.forEach((f, i) => {
    const param = filterParam(f);
    const first = m.list.filters.findIndex((x) => filterParam(x) === param);
    if (first !== i) out.push(`admin.E116: ${name} list_filter[${i}] parameter "${param}" is list_filter[${first}]'s too`);
  });
  // get_queryset: the fields it names for any role (a typo would otherwise fail only when the page is asked for)
  const scoped = new Set(ROLE_USERS.flatMap((u) => Object.keys(m.queryset?.(u) ?? {})));
  for (const f of scoped) field("admin.E000", "queryset", f);
  m.list.search?.fields.forEach((f, i) => field("admin.E126", `search_fields[${i}]`, f));
  if (m.list.search?.fullText) field("admin.E126", "search_fields full text", m.list.search.fullText.vector);
  field("admin.E033", "ordering", m.list.ordering.replace(/^-/, ""));
  if (m.list.dateHierarchy !== undefined) field("admin.E127", "date_hierarchy", m.list.dateHierarchy);
  (m.list.editable ?? []).forEach((e, i) => {
    if (!names.has(e)) out.push(`admin.E122: ${name} list_editable[${i}] "${e}" is not in list_display`);
    else if (m.form.fields.find((f) => f.name === e)?.widget !== "select")
      out.push(`admin.E122: ${name} list_editable[${i}] "${e}" is not a select field of the form`);
    if (!m.hooks.update) out.push(`admin.E122: ${name} list_editable[${i}] "${e}" on a model without change (hooks.update)`);
  });
  m.form.fields.forEach((f, i) => {
    if (f.fk && !registry.get(f.fk.model)) out.push(`admin.E039: ${name} form field[${i}] "${f.name}" fk.model "${f.fk.model}" is not a registered model`);
    if (f.prepopulateFrom !== undefined && !m.form.fields.some((x) => x.name === f.prepopulateFrom))
      out.push(`admin.E030: ${name} form field[${i}] "${f.name}" prepopulateFrom "${f.prepopulateFrom}" is not a form field`);
  });
  (m.form.sidebar?.fields ?? []).forEach((f, i) => {
    if (!m.form.fields.some((x) => x.name === f)) out.push(`admin.E012: ${name} form sidebar[${i}] "${f}" is not a form field`);
  });
  (m.form.buttons ?? []).forEach((b, i) => {
    if (!b.name.startsWith("_")) out.push(`admin.E013: ${name} form button[${i}] "${b.name}" must start with "_" (it is not a field)`);
    for (const f of Object.keys(b.values))
      if (!m.form.fields.some((x) => x.name === f)) out.push(`admin.E013: ${name} form button[${i}] "${b.name}" sets "${f}", which is not a form field`);
  });
  m.form.fields.forEach((f, i) => {
    if (f.widget === "image" && !f.image)
      out.push(`admin.E014: ${name} form field[${i}] "${f.name}" is an image field without image (its choices route and describe)`);
  });
  return out;
}

/** The SQL a registration's field names stand for, derived once per model from the field map. */
export interface CompiledColumn {
  name: string;
  label: string;
  sql: string;
  /** The ORDER BY expression when sortable (whitelisted by column name in ?o=). */
  sort?: string;
  /** The sort expression reads a joined table (the page query then keeps the joins in its inner part). */
  joined: boolean;
  format?: CellFormat;
  link?: boolean;
  display?: ListColumn["display"];
}
export interface CompiledFilter extends ListFilter {
  param: string;
  sql: string;
}
export interface Compiled {
  from: string;
  joins: string;
  table: string;
  pk: string;
  repr: string;
  owner?: string;
  version?: string;
  columns: CompiledColumn[];
  filters: CompiledFilter[];
  search?: { fields: string[]; fullText?: { vector: string; config: string }; help: string };
  ordering: { sql: string; desc: boolean };
  dateHierarchy?: { param: string; sql: string };
  /** The queryset hook as SQL, $n numbered from `start`. */
  scope(user: AdminUser, start: number): { sql: string; params: unknown[] } | null;
}

const compiledCache = new WeakMap<ModelAdmin, Compiled>();

export function compiled(m: ModelAdmin): Compiled {
  const hit = compiledCache.get(m);
  if (hit) return hit;
  const f = (field: string) => fieldSql(m.table, field).sql;
  const columns = m.list.columns.map((c): CompiledColumn => {
    const own = c.sql ?? f(c.field!);
    const sortField = c.sort === true ? c.field : c.sort;
    const sort = sortField ? fieldSql(m.table, sortField) : undefined;
    return {
      name: (c.name ?? c.field)!,
      label: c.label,
      sql: own,
      sort: sort?.sql,
      joined: !!sort?.joined,
      format: c.format,
      link: c.link,
      display: c.display,
    };
  });
  const filters = m.list.filters.map((x): CompiledFilter => ({ ...x, param: filterParam(x), sql: f(x.field) }));
  const s = m.list.search;
  const dh = m.list.dateHierarchy;
  const c: Compiled = {
    from: fromSql(m.table),
    joins: joinsSql(m.table),
    table: TABLES[m.table].table,
    pk: f("id"),
    repr: f(m.repr),
    owner: m.owner ? f(m.owner) : undefined,
    version: m.version ? f(m.version) : undefined,
    columns,
    filters,
    search: s
      ? { fields: s.fields.map(f), fullText: s.fullText ? { vector: f(s.fullText.vector), config: s.fullText.config } : undefined, help: s.help }
      : undefined,
    ordering: { sql: f(m.list.ordering.replace(/^-/, "")), desc: m.list.ordering.startsWith("-") },
    dateHierarchy: dh ? { param: dh, sql: f(dh) } : undefined,
    scope(user, start) {
      const q = m.queryset?.(user);
      if (!q) return null;
      const entries = Object.entries(q);
      return { sql: entries.map(([k], i) => `${f(k)} = $${start + i}`).join(" AND "), params: entries.map(([, v]) => v) };
    },
  };
  compiledCache.set(m, c);
  return c;
}

// ------------------------------------------------ has_*_permission: can() with the model's action, then the model's hook

type PermObj = AdminObject | null;
const action = (m: ModelAdmin, verb: string) => `${m.perm}.${verb}` as Action;

export const hasViewPermission = (m: ModelAdmin, u: AdminUser, obj: PermObj = null) =>
  can(u, action(m, "view"), obj) && (m.hasViewPermission?.(u, obj) ?? true);
export const hasAddPermission = (m: ModelAdmin, u: AdminUser) => !!m.hooks.create && can(u, action(m, "create")) && (m.hasAddPermission?.(u) ?? true);
export const hasChangePermission = (m: ModelAdmin, u: AdminUser, obj: PermObj = null) =>
  !!m.hooks.update && can(u, action(m, "change"), obj) && (m.hasChangePermission?.(u, obj) ?? true);
export const hasDeletePermission = (m: ModelAdmin, u: AdminUser, obj: PermObj = null) =>
  !!m.hooks.remove && can(u, action(m, "delete"), obj) && (m.hasDeletePermission?.(u, obj) ?? true);
/** May `u` set `field` of `obj` (list_editable, restoring a revision)? */
export const mayEditField = (m: ModelAdmin, u: AdminUser, field: string, obj: PermObj) =>
  hasChangePermission(m, u, obj) && (m.canEditField?.(u, field, obj) ?? true);

export const keyOf = (m: ModelAdmin) => `${m.app}_${m.model}`;
export const auditModelOf = (m: ModelAdmin) => `${m.app}.${m.model}`;

/** The body key of a tag field's ids: "tags" -> "tagIds". */
export const tagIdsKey = (f: Pick<FormField, "name">) => `${f.name.replace(/s$/, "")}Ids`;

/** A field of the model as its form labels it, in running text ("tagIds" -> "tags"); unknown names as they are. */
export const fieldLabelOf = (m: ModelAdmin | undefined) => (field: string) =>
  m?.form.fields.find((f) => f.name === field || (f.widget === "tags" && tagIdsKey(f) === field))?.label.toLowerCase() ?? field;

export async function resolveChoices(c: Choices | undefined): Promise<Choice[]> {
  if (!c) return [];
  return typeof c === "function" ? c() : c;
}

export const site = new AdminSite();
