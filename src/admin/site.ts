// The admin registry, like django.contrib.admin's AdminSite + ModelAdmin: each model registers a
// declarative config (list columns, filters, search, ordering, date hierarchy, list-editable
// columns, form fields, read-only fields, prepopulated fields, FK pickers, bulk actions, hooks).
// The generic views in views.ts and the templates in views/admin/ serve every registered model.
import type { Action } from "../accounts/permissions.ts";
import type { AdminUser } from "./auth.ts";

export type Widget = "text" | "slug" | "email" | "textarea" | "markdown" | "select" | "fk" | "tags" | "datetime" | "checkbox";

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
  /** Shown beside the widget (and as its placeholder) while the value is empty: what empty means. */
  emptyText?: string;
}

export interface ReadOnlyField {
  name: string;
  label: string;
  format?: "datetime" | "text";
}

export type CellFormat = "text" | "datetime" | "date" | "status" | "bool" | "number";

export interface ListColumn {
  name: string;
  label: string;
  /** SQL expression selected for the cell (aliases of `from`/`joins`). */
  sql: string;
  /** Sortable when set: the SQL expression to ORDER BY (whitelisted by column name in ?o=). */
  sort?: string;
  /** The sort expression reads a joined table (the page query then keeps the joins in its inner part). */
  joined?: boolean;
  format?: CellFormat;
  /** The cell links to the change form (list_display_links). */
  link?: boolean;
}

export interface ListFilter {
  /** Query parameter (Django style): status__exact, category__id__exact, publish__range ... */
  param: string;
  label: string;
  kind: "choice" | "date";
  /** SQL expression compared with the value. */
  sql: string;
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
  /** The permission asked of can() for every selected object. */
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
}

/** Raised by hooks: field errors (400 with the form redisplayed) or a conflict (form with both versions). */
export class FormErrors extends Error {
  constructor(readonly fields: Record<string, string>, message = "Please correct the errors below.") {
    super(message);
  }
}
export class ConflictErrors extends Error {
  constructor(readonly theirs: Record<string, unknown>, readonly version: number, message: string) {
    super(message);
  }
}

export interface ModelHooks {
  load(id: number): Promise<AdminObject | null>;
  create(data: Record<string, unknown>, user: AdminUser): Promise<SaveResult>;
  update(obj: AdminObject, data: Record<string, unknown>, user: AdminUser, version: number | undefined): Promise<SaveResult>;
  remove(ids: number[], user: AdminUser): Promise<number>;
  /** Objects a delete would take with it (Django's "deleted objects" summary). */
  cascades?(ids: number[]): Promise<string[]>;
}

export interface ModelAdmin {
  app: string;
  model: string;
  verboseName: string;
  verboseNamePlural: string;
  /** Permission prefix: can(user, `${perm}.view`) ... */
  perm: "post" | "category" | "tag" | "user";
  sql: {
    /** `"Post" p` */
    from: string;
    joins?: string;
    pk: string;
    repr: string;
    /** Owner column for per-row permission checks (posts: p."authorId"). */
    owner?: string;
    /**
     * Optimistic-locking version column (src/db/versioned.ts). Declared, the change list's inline
     * edits carry each row's version and a row changed since the list was shown is refused.
     */
    version?: string;
  };
  list: {
    columns: ListColumn[];
    filters: ListFilter[];
    search?: { fields: string[]; fullText?: { vector: string; config: string }; help: string };
    /** Default ordering: column name, "-" for descending. */
    ordering: string;
    dateHierarchy?: { param: string; sql: string; label: string };
    /** list_editable: column names editable in the list; must be select fields in the form. */
    editable?: string[];
    perPage: number;
  };
  /** Rows a user may see at all (authors: their own posts). Returns SQL + params, $n numbered from `start`. */
  scope?: (user: AdminUser, start: number) => { sql: string; params: unknown[] } | null;
  form: {
    fields: FormField[];
    readOnly?: ReadOnlyField[];
  };
  actions: BulkAction[];
  hooks: ModelHooks;
  /** Extra per-object permission: e.g. only editors may change the status of others' posts. */
  canEditField?: (user: AdminUser, field: string, obj: AdminObject | null) => boolean;
  /** Posts have revisions: the history page shows them. */
  revisions?: boolean;
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
}

export const keyOf = (m: ModelAdmin) => `${m.app}_${m.model}`;
export const auditModelOf = (m: ModelAdmin) => `${m.app}.${m.model}`;

export async function resolveChoices(c: Choices | undefined): Promise<Choice[]> {
  if (!c) return [];
  return typeof c === "function" ? c() : c;
}

export const site = new AdminSite();
