// The audit log's admin: a read-only model made of a registration only (src/admin/models.ts). Change
// list with filters (user, action, model), search (object / changes), date drill-down on the time;
// no add, change or delete pages and no actions; authors see only their own entries.
import { beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../src/app.ts";
import { recordAction } from "../../src/audit/index.ts";
import { csrfPost, prisma, signedIn, type Signed } from "../support/fixtures.ts";

const app = buildApp();
const LIST = "/admin/audit/auditlog/";
let editor: Signed;
let author: Signed;
let other: Signed;
let reader: Signed;
let entryId: number;

/** The "Object" cells of the list, top to bottom. */
const objects = (html: string) => [...html.matchAll(/class="field-objectRepr"[^>]*>([^<]*)</g)].map((m) => m[1]!.trim());
const drillLinks = (html: string) =>
  [...(/<nav class="date-hierarchy"[\s\S]*?<\/nav>/.exec(html)?.[0] ?? "").matchAll(/<a [^>]*>(?:‹ )?([^<]+)<\/a>/g)].map((m) => m[1]!);

async function entry(user: Signed, action: "ADD" | "CHANGE" | "DELETE", model: string, repr: string, changes: Record<string, unknown>, at: string) {
  await recordAction({ userId: user.user.id, action, model, objectId: 1, objectRepr: repr, changes });
  const e = await prisma.auditLog.findFirstOrThrow({ where: { objectRepr: repr, action }, orderBy: { id: "desc" } });
  await prisma.auditLog.update({ where: { id: e.id }, data: { createdAt: new Date(at) } });
  return e.id;
}

beforeAll(async () => {
  editor = await signedIn(app, "EDITOR");
  author = await signedIn(app, "AUTHOR");
  other = await signedIn(app, "AUTHOR");
  reader = await signedIn(app, "READER");
  // only these entries: whatever signing up wrote is not part of the test
  await prisma.auditLog.deleteMany({});
  entryId = await entry(author, "ADD", "blog.post", "Alpha note", { added: true }, "2024-03-05T10:00:00Z");
  await entry(author, "CHANGE", "blog.post", "Alpha note", { changed: ["title"] }, "2025-06-10T10:00:00Z");
  await entry(other, "DELETE", "blog.post", "Beta gone", {}, "2025-06-20T10:00:00Z");
  await entry(editor, "CHANGE", "blog.category", "Databases", { changed: ["slug"] }, "2025-07-01T10:00:00Z");
});

describe("audit log admin", () => {
  it("lists every entry for an editor, newest first, read-only: no add button, no row links, no actions", async () => {
    const res = await editor.agent.get(LIST).expect(200);
    expect(objects(res.text)).toEqual(["Databases", "Beta gone", "Alpha note", "Alpha note"]);
    expect(res.text).toContain("4 audit log entries");
    expect(res.text).toContain(`<td class="field-user" data-label="User">${author.user.username}</td>`);
    // each entry in words, as Django's LogEntry admin shows it, not as stored JSON
    expect(res.text).toMatch(/<td class="field-changes" data-label="Change message">\s*Changed slug\.\s*<\/td>/);
    expect(res.text).toMatch(/<td class="field-changes" data-label="Change message">\s*Added\.\s*<\/td>/);
    expect(res.text).toMatch(/<td class="field-action" data-label="Action">\s*Deletion\s*<\/td>/);
    expect(res.text).not.toContain("{&quot;");
    // fields named as the model's form labels them, in running text
    expect(res.text).toMatch(/data-label="Change message">\s*Changed title\.\s*</);
  });

  it("names changed fields by their form labels (tagIds: tags, categoryId: category)", async () => {
    const id = await entry(editor, "CHANGE", "blog.post", "Labelled", { changed: ["title", "tagIds", "categoryId"] }, "2023-01-01T10:00:00Z");
    const res = await editor.agent.get(`${LIST}?q=Labelled`).expect(200);
    expect(res.text).toMatch(/Changed title, tags and category\./);
    await prisma.auditLog.delete({ where: { id } });
    expect(res.text).not.toContain("Add audit log entry");
    expect(res.text).not.toContain('class="row-link"');
    expect(res.text).not.toContain("/admin/audit/auditlog/add/");
    expect(res.text).not.toContain('id="action-select"');
    expect(res.text).not.toContain('name="_selected_action"');
    // the index lists it with the other models, without an add link
    const index = await editor.agent.get("/admin/").expect(200);
    expect(index.text).toContain(`<a href="${LIST}">Audit log entries</a>`);
    expect(index.text).not.toContain(`${LIST}add/`);
  });

  it("authors see only their own entries, and no filter by user", async () => {
    const res = await author.agent.get(LIST).expect(200);
    expect(objects(res.text)).toEqual(["Alpha note", "Alpha note"]);
    expect(res.text).not.toContain("By user");
    // the user filter is not theirs: its parameter does not widen what they see
    expect(objects((await author.agent.get(`${LIST}?user__id__exact=${other.user.id}`).expect(200)).text)).toEqual(["Alpha note", "Alpha note"]);
    expect(objects((await other.agent.get(LIST).expect(200)).text)).toEqual(["Beta gone"]);
    expect(objects((await author.agent.get(`${LIST}?q=beta`).expect(200)).text)).toEqual([]);
  });

  it("filters by user, action and model, and combines them", async () => {
    const byUser = await editor.agent.get(`${LIST}?user__id__exact=${author.user.id}`).expect(200);
    expect(objects(byUser.text)).toEqual(["Alpha note", "Alpha note"]);
    expect(byUser.text).toContain("By user");
    expect(objects((await editor.agent.get(`${LIST}?action__exact=DELETE`).expect(200)).text)).toEqual(["Beta gone"]);
    expect(objects((await editor.agent.get(`${LIST}?model__exact=blog.category`).expect(200)).text)).toEqual(["Databases"]);
    expect(objects((await editor.agent.get(`${LIST}?model__exact=blog.post&action__exact=CHANGE`).expect(200)).text)).toEqual(["Alpha note"]);
    // the model filter offers the registered models, labelled by name
    expect(byUser.text).toMatch(/model__exact=blog\.category"[^>]*>category</);
    await editor.agent.get(`${LIST}?action__exact=NOPE`).expect(400);
    await editor.agent.get(`${LIST}?model__exact=secret.table`).expect(400);
    await editor.agent.get(`${LIST}?user__id__exact=abc`).expect(400);
  });

  it("searches the object's name and the changes", async () => {
    expect(objects((await editor.agent.get(`${LIST}?q=alpha`).expect(200)).text)).toEqual(["Alpha note", "Alpha note"]);
    expect(objects((await editor.agent.get(`${LIST}?q=slug`).expect(200)).text)).toEqual(["Databases"]);
    expect(objects((await editor.agent.get(`${LIST}?q=${encodeURIComponent("100%_")}`).expect(200)).text)).toEqual([]);
  });

  it("drills down by the entry's time: years -> months -> days", async () => {
    expect(drillLinks((await editor.agent.get(LIST).expect(200)).text)).toEqual(["2025", "2024"]);
    const y = await editor.agent.get(`${LIST}?createdAt__year=2025`).expect(200);
    expect(drillLinks(y.text)).toEqual(["All dates", "June 2025", "July 2025"]);
    expect(objects(y.text)).toEqual(["Databases", "Beta gone", "Alpha note"]);
    const m = await editor.agent.get(`${LIST}?createdAt__year=2025&createdAt__month=6`).expect(200);
    expect(drillLinks(m.text)).toEqual(["2025", "June 10", "June 20"]);
    expect(objects(m.text)).toEqual(["Beta gone", "Alpha note"]);
    expect(objects((await editor.agent.get(`${LIST}?createdAt__year=2025&createdAt__month=6&createdAt__day=20`).expect(200)).text)).toEqual(["Beta gone"]);
    // an author's drill-down only counts their own entries
    expect(drillLinks((await author.agent.get(`${LIST}?createdAt__year=2025&createdAt__month=6`).expect(200)).text)).toEqual(["2025", "June 10"]);
    await editor.agent.get(`${LIST}?createdAt__month=6`).expect(400);
  });

  it("has no add, change or delete pages, and no actions", async () => {
    for (const s of [editor, author]) {
      await s.agent.get(`${LIST}add/`).expect(404);
      await s.agent.get(`${LIST}${entryId}/change/`).expect(404);
      await s.agent.get(`${LIST}${entryId}/delete/`).expect(404);
      await s.agent.get(`${LIST}${entryId}/history/`).expect(404);
      await csrfPost(s, `${LIST}${entryId}/delete/`, {}, 404);
      await csrfPost(s, `${LIST}add/`, { objectRepr: "forged" }, 404);
      const act = await csrfPost(s, LIST, { action: "delete", post: "yes", _selected_action: [String(entryId)] }, 400);
      expect(act.text).toContain("Choose an action.");
      await csrfPost(s, LIST, { _save: "1", [`form-${entryId}-action`]: "DELETE", [`initial-form-${entryId}-action`]: "ADD" }, 303);
    }
    expect(await prisma.auditLog.count()).toBe(4);
    expect((await prisma.auditLog.findUniqueOrThrow({ where: { id: entryId } })).action).toBe("ADD");
  });

  it("is closed to readers and to the anonymous", async () => {
    await reader.agent.get(LIST).expect(403);
    const anon = await (await import("supertest")).default(app).get(LIST);
    expect(anon.status).toBe(302);
  });
});
