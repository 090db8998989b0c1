// Bulk actions (with their confirmation page) and list-editable status, through the real app.
import { beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../src/app.ts";
import { csrfPost, makePost, makeTag, prisma, type Signed, signedIn } from "../support/fixtures.ts";

const app = buildApp();
let editor: Signed;
beforeAll(async () => {
  editor = await signedIn(app, "EDITOR");
});

describe("bulk actions", () => {
  it("publish: confirmation page lists the posts, then publishes them with revisions and audit entries", async () => {
    const a = await makePost({ authorId: editor.user.id, title: "Draft one", status: "DRAFT" });
    const b = await makePost({ authorId: editor.user.id, title: "Draft two", status: "DRAFT" });
    const c = await makePost({ authorId: editor.user.id, title: "Draft three", status: "DRAFT" });
    const confirm = await csrfPost(editor, "/admin/blog/post/", { action: "publish", _selected_action: [String(a.id), String(b.id)] }, 200);
    expect(confirm.text).toContain("Are you sure?");
    expect(confirm.text).toContain("Draft one");
    expect(confirm.text).toContain("Draft two");
    expect(confirm.text).not.toContain("Draft three");
    expect(confirm.text).toContain("2 posts");
    expect((await prisma.post.findUniqueOrThrow({ where: { id: a.id } })).status).toBe("DRAFT"); // nothing yet
    const done = await csrfPost(editor, "/admin/blog/post/", { action: "publish", post: "yes", _selected_action: [String(a.id), String(b.id)] }, 303);
    expect(done.headers.location).toBe("/admin/blog/post/");
    const rows = await prisma.post.findMany({ where: { id: { in: [a.id, b.id, c.id] } }, orderBy: { id: "asc" } });
    expect(rows.map((r) => [r.status, r.version])).toEqual([
      ["PUBLISHED", 2],
      ["PUBLISHED", 2],
      ["DRAFT", 1],
    ]);
    expect(await prisma.postRevision.count({ where: { postId: a.id } })).toBe(2);
    expect(await prisma.auditLog.count({ where: { model: "blog.post", objectId: String(a.id), action: "CHANGE" } })).toBe(1);
    expect((await editor.agent.get("/admin/blog/post/").expect(200)).text).toContain("Successfully published 2 posts.");
  });

  it("unpublish and delete (the delete confirmation lists what goes with it)", async () => {
    const a = await makePost({ authorId: editor.user.id, title: "Live A", status: "PUBLISHED" });
    const b = await makePost({ authorId: editor.user.id, title: "Live B", status: "PUBLISHED" });
    await csrfPost(editor, "/admin/blog/post/", { action: "unpublish", post: "yes", _selected_action: [String(a.id)] }, 303);
    expect((await prisma.post.findUniqueOrThrow({ where: { id: a.id } })).status).toBe("DRAFT");
    const confirm = await csrfPost(editor, "/admin/blog/post/", { action: "delete", _selected_action: [String(a.id), String(b.id)] }, 200);
    expect(confirm.text).toContain("cannot be undone");
    expect(confirm.text).toMatch(/3 revisions/);
    await csrfPost(editor, "/admin/blog/post/", { action: "delete", post: "yes", _selected_action: [String(a.id), String(b.id)] }, 303);
    expect(await prisma.post.count({ where: { id: { in: [a.id, b.id] } } })).toBe(0);
    expect(await prisma.auditLog.count({ where: { model: "blog.post", objectId: { in: [String(a.id), String(b.id)] }, action: "DELETE" } })).toBe(2);
  });

  it("no selection: a message and nothing changed; unknown action / hostile ids: 400/404", async () => {
    const r = await csrfPost(editor, "/admin/blog/post/", { action: "publish" }, 303);
    expect((await editor.agent.get(String(r.headers.location)).expect(200)).text).toContain("Items must be selected");
    await csrfPost(editor, "/admin/blog/post/", { action: "drop_table", _selected_action: ["1"] }, 400);
    await csrfPost(editor, "/admin/blog/post/", { action: ["publish", "delete"], _selected_action: ["1"] }, 400);
    for (const bad of ["abc", "-1", "1e30", "0", "99999999999", "1 OR 1=1"])
      await csrfPost(editor, "/admin/blog/post/", { action: "publish", _selected_action: [bad] }, 400);
    await csrfPost(editor, "/admin/blog/post/", { action: "publish", _selected_action: ["999999"] }, 404);
    const many = Array.from({ length: 1001 }, (_, i) => String(i + 1));
    const tooMany = await csrfPost(editor, "/admin/blog/post/", { action: "publish", _selected_action: many });
    expect([400, 413]).toContain(tooMany.status); // the form parser's parameter limit may answer first
  });

  it("works for categories and tags too", async () => {
    const t = await makeTag("tmp", "tmp");
    await csrfPost(editor, "/admin/blog/tag/", { action: "delete", post: "yes", _selected_action: [String(t.id)] }, 303);
    expect(await prisma.tag.findUnique({ where: { id: t.id } })).toBeNull();
  });
});

describe("list-editable status", () => {
  it("saves the status of many rows with one Save, only the changed ones", async () => {
    const a = await makePost({ authorId: editor.user.id, title: "Inline A", status: "DRAFT" });
    const b = await makePost({ authorId: editor.user.id, title: "Inline B", status: "DRAFT" });
    const c = await makePost({ authorId: editor.user.id, title: "Inline C", status: "DRAFT" });
    const list = await editor.agent.get("/admin/blog/post/?q=Inline").expect(200);
    expect(list.text).toContain(`name="form-${a.id}-status"`);
    expect(list.text).toContain(`name="form-${a.id}-_version" value="1"`);
    expect(list.text).toContain(`name="initial-form-${a.id}-status" value="DRAFT"`);
    const v = (p: { id: number }) => ({ [`form-${p.id}-_version`]: "1", [`initial-form-${p.id}-status`]: "DRAFT" });
    await csrfPost(
      editor,
      "/admin/blog/post/?q=Inline",
      {
        _save: "1",
        next: "/admin/blog/post/?q=Inline",
        [`form-${a.id}-status`]: "PUBLISHED",
        [`form-${b.id}-status`]: "PUBLISHED",
        [`form-${c.id}-status`]: "DRAFT",
        ...v(a),
        ...v(b),
        ...v(c),
      },
      303,
    );
    const rows = await prisma.post.findMany({ where: { id: { in: [a.id, b.id, c.id] } }, orderBy: { id: "asc" } });
    expect(rows.map((r) => [r.status, r.version])).toEqual([
      ["PUBLISHED", 2],
      ["PUBLISHED", 2],
      ["DRAFT", 1],
    ]);
    expect((await editor.agent.get("/admin/blog/post/?q=Inline").expect(200)).text).toContain("2 posts changed successfully.");
  });

  it("rejects bad values and hostile row ids", async () => {
    const a = await makePost({ authorId: editor.user.id, title: "Inline bad", status: "DRAFT" });
    await csrfPost(editor, "/admin/blog/post/", { _save: "1", [`form-${a.id}-status`]: "ARCHIVED" }, 400);
    await csrfPost(editor, "/admin/blog/post/", { _save: "1", [`form-${a.id}-status`]: ["DRAFT", "PUBLISHED"] }, 400);
    await csrfPost(editor, "/admin/blog/post/", { _save: "1", "form-9999999999-status": "DRAFT" }, 400);
    await csrfPost(editor, "/admin/blog/post/", { _save: "1", "form-999999-status": "DRAFT" }, 404);
    // other fields are not list-editable: ignored, nothing changes
    await csrfPost(editor, "/admin/blog/post/", { _save: "1", [`form-${a.id}-title`]: "hacked" }, 303);
    expect((await prisma.post.findUniqueOrThrow({ where: { id: a.id } })).title).toBe("Inline bad");
    // `next` cannot redirect off the list
    const r = await csrfPost(editor, "/admin/blog/post/", { _save: "1", next: "https://evil.example/" }, 303);
    expect(r.headers.location).toBe("/admin/blog/post/");
    const r2 = await csrfPost(editor, "/admin/blog/post/", { _save: "1", next: "/admin/blog/post//evil.example" }, 303);
    expect(r2.headers.location).toBe("/admin/blog/post/");
  });
});
