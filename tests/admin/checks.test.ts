// The admin's system checks (Django's admin.E1xx): every option that names a field is checked at
// start-up against the field map, and a misnamed one stops the app naming the model and the option.
// Also: the generic views name no model (what differs per model is a ModelAdmin hook or option).
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import "../../src/admin/routes.ts";
import { AdminCheckError, AdminSite, checkModelAdmin, site, type ModelAdmin } from "../../src/admin/site.ts";

const post = () => site.get("blog_post")!;
/** A copy of a real registration with one option changed (the registry itself is left alone). */
const variant = (m: ModelAdmin, change: (c: ModelAdmin) => void): ModelAdmin => {
  const c: ModelAdmin = { ...m, list: { ...m.list, columns: [...m.list.columns], filters: [...m.list.filters] }, form: { ...m.form } };
  change(c);
  return c;
};

describe("admin system checks", () => {
  it("the real registrations pass (the admin routes module ran them at import)", () => {
    expect(site.all().map((m) => `${m.app}_${m.model}`)).toEqual(["blog_post", "blog_category", "blog_tag", "accounts_user", "audit_auditlog"]);
    for (const m of site.all()) expect(checkModelAdmin(m), `${m.app}.${m.model}`).toEqual([]);
    expect(() => site.check()).not.toThrow();
  });

  it("an unknown field in list_display stops start-up with the model, the option and the field named", () => {
    const bad = variant(post(), (c) => (c.list.columns[3] = { field: "titel", label: "Title" }));
    const s = new AdminSite();
    s.register(bad);
    expect(() => s.check()).toThrow(AdminCheckError);
    expect(() => s.check()).toThrow('admin.E108: blog.Post list_display[3] "titel" is not a field of Post');
  });

  it("names each misnamed option: list_filter, search_fields, list_editable, ordering, date_hierarchy, a sort field", () => {
    const cases: [(c: ModelAdmin) => void, string][] = [
      [
        (c) => (c.list.filters[1] = { field: "category__nmae", label: "Category", kind: "choice" }),
        'admin.E116: blog.Post list_filter[1] "category__nmae" is not a field of Post',
      ],
      [(c) => (c.list.search = { fields: ["title", "bdy"], help: "" }), 'admin.E126: blog.Post search_fields[1] "bdy" is not a field of Post'],
      [(c) => (c.list.editable = ["statu"]), 'admin.E122: blog.Post list_editable[0] "statu" is not in list_display'],
      [(c) => (c.list.editable = ["title"]), 'admin.E122: blog.Post list_editable[0] "title" is not a select field of the form'],
      [(c) => (c.list.ordering = "-published"), 'admin.E033: blog.Post ordering "published" is not a field of Post'],
      [(c) => (c.list.dateHierarchy = "publsh"), 'admin.E127: blog.Post date_hierarchy "publsh" is not a field of Post'],
      [
        (c) => (c.list.columns[0] = { field: "title", label: "Title", sort: "titel" }),
        'admin.E108: blog.Post list_display[0] sort "titel" is not a field of Post',
      ],
      [
        (c) => (c.list.columns[1] = { name: "author", field: "author__usrname", label: "Author" }),
        'admin.E108: blog.Post list_display[1] "author__usrname" is not a field of Post',
      ],
      [(c) => (c.repr = "name"), 'admin.E000: blog.Post repr "name" is not a field of Post'],
    ];
    for (const [change, message] of cases) expect(checkModelAdmin(variant(post(), change))).toEqual([message]);
  });

  it("names a misnamed queryset field, an fk to no registered model, a prepopulateFrom that is not a form field, a filter parameter used twice", () => {
    const createdAt = post().list.filters.findIndex((f) => f.param === "created");
    const cases: [(c: ModelAdmin) => void, string[]][] = [
      // the queryset hook is asked for every role: a typo in the authors' scope is caught though editors see all
      [(c) => (c.queryset = (u) => (u.role === "AUTHOR" ? { authorID: u.id } : null)), ['admin.E000: blog.Post queryset "authorID" is not a field of Post']],
      [
        (c) => (c.form = { ...c.form, fields: c.form.fields.map((f) => (f.fk ? { ...f, fk: { ...f.fk, model: "accounts_users" } } : f)) }),
        ['admin.E039: blog.Post form field[2] "authorId" fk.model "accounts_users" is not a registered model'],
      ],
      [
        (c) => (c.form = { ...c.form, fields: c.form.fields.map((f) => (f.name === "slug" ? { ...f, prepopulateFrom: "titel" } : f)) }),
        ['admin.E030: blog.Post form field[1] "slug" prepopulateFrom "titel" is not a form field'],
      ],
      [
        (c) => c.list.filters.push({ field: "createdAt", param: "created", label: "Created again", kind: "date" }),
        [`admin.E116: blog.Post list_filter[${post().list.filters.length}] parameter "created" is list_filter[${createdAt}]'s too`],
      ],
    ];
    for (const [change, messages] of cases) expect(checkModelAdmin(variant(post(), change))).toEqual(messages);
    // the registry asked is the one checked: alone on a site, the post's author picker points nowhere
    const s = new AdminSite();
    s.register(post());
    expect(() => s.check()).toThrow('admin.E039: blog.Post form field[2] "authorId" fk.model "accounts_user" is not a registered model');
  });

  it("a read-only model may not link its rows to a change form it does not have", () => {
    const audit = site.get("audit_auditlog")!;
    const bad = variant(audit, (c) => (c.list.columns[4] = { field: "objectRepr", label: "Object", link: true }));
    expect(checkModelAdmin(bad)).toEqual([
      'admin.E111: audit.Auditlog list_display[4] "objectRepr" links to a change form the model does not have (hooks.update)',
    ]);
  });
});

describe("the generic views name no model", () => {
  it.each(["src/admin/views.ts", "src/admin/changelist.ts"])("%s has no model name, route or model-specific import", (file) => {
    const src = readFileSync(new URL(`../../${file}`, import.meta.url), "utf8");
    // a model's permission prefix or name as a string ("post", 'user', `post.publish` ...)
    expect(src).not.toMatch(/["'`](post|user|category|tag|auditlog)["'`.]/);
    // a registered model's key or route name
    expect(src).not.toMatch(/\b(blog|accounts|audit)_(post|category|tag|user|auditlog)\b/);
    // the post's service, editor or a Prisma model delegate
    expect(src).not.toMatch(/posts\/service|autosave\/editor|prisma\.(post|user|category|tag|auditLog)\b/);
    expect(src).not.toMatch(/m\.perm\s*===|m\.model\s*===|m\.app\s*===/);
  });
});
