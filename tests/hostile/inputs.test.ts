// The input primitives (src/web/inputs.ts) and what they promise through the real app: a NUL in a
// text field is a 400 with the field's message and the typed text kept; a NUL in a search box is
// dropped; an id beyond PostgreSQL's integer is a 404 in a path and a 400 field message in a form
// (re-shown forms included); the admin user form's "Active" checkbox can be unticked; the editor
// answers an author's slug taken in a race with a 400 that keeps the text.
import { describe, expect, it, vi } from "vitest";
import request from "supertest";
import { buildApp } from "../../src/app.ts";
import { pool } from "../../src/db/index.ts";
import { url } from "../../src/web/urls.ts";
import { INT4_MAX, NUL_MESSAGE, pathId, searchText, toId } from "../../src/web/inputs.ts";
import { HttpError } from "../../src/web/errors.ts";
import { csrfFrom, login } from "../support/auth.ts";
import { createUser, csrfPost, makePost, prisma, type Signed, signedIn } from "../support/fixtures.ts";
import { defaultEntries, encodeEntries, parsePage, type Form } from "./site.ts";

const app = buildApp();
const escaped = (s: string) => s.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/'/g, "&#39;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** The page's first form posting to `action`, as the browser would submit it. */
async function formOn(s: Signed, page: string, action = page): Promise<{ form: Form; entries: [string, string][] }> {
  const res = await s.agent.get(page).expect(200);
  const form = parsePage(res.text, page).forms.find((f) => f.method === "post" && f.action.split("?")[0] === action);
  if (!form) throw new Error(`no form posting to ${action} on ${page}`);
  return { form, entries: defaultEntries(form) };
}

const post = (s: Signed, action: string, entries: [string, string][]) => s.agent.post(action).type("form").send(encodeEntries(entries)).redirects(0);
const set = (entries: [string, string][], name: string, value: string): [string, string][] => [...entries.filter(([k]) => k !== name), [name, value]];

describe("src/web/inputs.ts", () => {
  it("an id is a positive integer that fits PostgreSQL's integer", () => {
    expect(toId("1")).toBe(1);
    expect(toId(String(INT4_MAX))).toBe(INT4_MAX);
    for (const bad of [
      "2147483648",
      "9999999999",
      "99999999999999999999",
      "0",
      "-1",
      "01",
      "1.5",
      "1e3",
      " 1",
      "１",
      "",
      "a\u0000",
      undefined,
      null,
      ["1"],
      2 ** 31,
      1.5,
    ])
      expect(toId(bad), JSON.stringify(bad)).toBeNull();
    expect(() => pathId("2147483648")).toThrow(HttpError);
    try {
      pathId("9999999999");
    } catch (e) {
      expect((e as HttpError).status).toBe(404);
    }
  });

  it("search text drops NUL and the other control characters", () => {
    expect(searchText("walrus\u0000facts")).toBe("walrus facts");
    expect(searchText("\u0000")).toBe("");
    expect(searchText("  a\u0001\u007f b\t\nc ")).toBe("a b c");
  });
});

describe("NUL in a text field: 400, the field's message, the text kept, nothing stored", () => {
  it("admin forms", async () => {
    const editor = await signedIn(app, "EDITOR");
    const add = url("admin:blog_category_add");
    const { entries } = await formOn(editor, add);
    const before = await prisma.category.count();
    const res = await post(editor, add, set(set(entries, "name", "Bad\u0000name"), "description", "Kept description"));
    expect(res.status).toBe(400);
    expect(res.text).toContain(escaped(NUL_MESSAGE));
    expect(res.text).toContain("Kept description");
    expect(await prisma.category.count()).toBe(before);
  });

  it("account and editor forms", async () => {
    const author = await signedIn(app, "AUTHOR");
    const profile = await formOn(author, url("accounts:profile"));
    const res = await post(author, url("accounts:profile"), set(profile.entries, "first_name", "Ada\u0000"));
    expect(res.status).toBe(400);
    expect(res.text).toContain(escaped(NUL_MESSAGE));
    const write = await formOn(author, url("admin:blog_post_add"));
    const w = await post(author, url("admin:blog_post_add"), set(set(write.entries, "title", "Nul\u0000title"), "body", "The typed body stays."));
    expect(w.status).toBe(400);
    expect(w.text).toContain(escaped(NUL_MESSAGE));
    expect(w.text).toContain("The typed body stays.");
    expect(await prisma.post.count({ where: { authorId: author.user.id } })).toBe(0);
  });
});

describe("NUL in a search box: dropped, the words around it searched", () => {
  it("the admin's change-list search and author picker", async () => {
    const editor = await signedIn(app, "EDITOR");
    await makePost({ authorId: editor.user.id, title: "Walrus migration notes", status: "DRAFT" });
    const res = await editor.agent.get(`${url("admin:blog_post_changelist")}?q=walrus%00migration`).expect(200);
    expect(res.text).toContain("Walrus migration notes");
    for (const model of ["blog_category", "blog_tag"]) await editor.agent.get(`${url(`admin:${model}_changelist`)}?q=%00`).expect(200);
    const picker = await editor.agent.get(`${url("admin:autocomplete")}?model=accounts_user&term=${encodeURIComponent(editor.user.username)}%00`).expect(200);
    expect(picker.body.results.map((r: { text: string }) => r.text)).toContain(editor.user.username);
  });

  it("the reader's search", async () => {
    expect(
      (
        await request(app)
          .get(`${url("blog:search")}?q=walrus%00`)
          .expect(200)
      ).text,
    ).toContain('name="q"');
  });
});

describe("ids beyond PostgreSQL's integer", () => {
  it("in a path: 404", async () => {
    const admin = await signedIn(app, "ADMIN");
    const author = await signedIn(app, "AUTHOR");
    const post = await makePost({ authorId: admin.user.id, status: "DRAFT" }); // a real post: only the revision id is hostile
    for (const id of ["2147483648", "9999999999", "99999999999999999999"]) {
      for (const path of [url("admin:blog_post_change", { id }), url("admin:accounts_user_password", { id }), `/admin/blog/post/${id}/history/1/restore/`]) {
        expect((await admin.agent.get(path).expect(404)).text, path).toContain("<h1>Page not found</h1>");
      }
      await csrfPost(admin, `/admin/blog/post/${post.id}/history/${id}/restore/`, {}, 404);
      await author.agent.get(url("authoring:edit", { id })).expect(404);
      await author.agent.get(url("previews:post", { id })).expect(404);
      await request(app)
        .get(url("previews:shared", { id, token: "A".repeat(43) }))
        .expect(404);
      await csrfPost(author, url("previews:share_new", { id }), {}, 404);
    }
  });

  it("in a form field or select: 400 with the field's message, and the re-shown form keeps the text", async () => {
    const editor = await signedIn(app, "EDITOR");
    const add = url("admin:blog_post_add");
    const { entries } = await formOn(editor, add);
    const before = await prisma.post.count();
    for (const [field, value] of [
      ["authorId", "2147483648"],
      ["authorId", "9999999999"],
      ["categoryId", "2147483648"],
    ] as const) {
      const res = await post(editor, add, set(set(set(entries, "title", "Typed title"), "body", "Typed body text."), field, value));
      expect(res.status, `${field}=${value}`).toBe(400);
      expect(res.text).toContain("Typed body text.");
      expect(res.text).toMatch(/Enter a valid id\.|Select a valid choice\.|Select valid tags\./);
    }
    // the same with another field invalid too (the form is re-shown with the out-of-range id in it)
    const both = await post(editor, add, set(set(entries, "title", ""), "authorId", "9999999999"));
    expect(both.status).toBe(400);
    expect(await prisma.post.count()).toBe(before);

    const author = await signedIn(app, "AUTHOR");
    const draft = await makePost({ authorId: author.user.id, title: "A draft to edit", status: "DRAFT" });
    const edit = await formOn(author, url("admin:blog_post_change", { id: draft.id }));
    for (const category of ["2147483648", "9999999999"]) {
      const res = await post(
        author,
        url("admin:blog_post_change", { id: draft.id }),
        set(set(edit.entries, "categoryId", category), "body", "Edited text kept."),
      );
      expect(res.status).toBe(400);
      expect(res.text).toContain("Select a valid choice.");
      expect(res.text).toContain("Edited text kept.");
    }
    expect((await prisma.post.findUniqueOrThrow({ where: { id: draft.id } })).version).toBe(draft.version);
  });

  it("in a hidden version field or a script's parameter: 400", async () => {
    const admin = await signedIn(app, "ADMIN");
    const { user } = await createUser({ role: "AUTHOR" });
    const change = url("admin:accounts_user_change", { id: user.id });
    const { entries } = await formOn(admin, change);
    await post(admin, change, set(entries, "_version", "9999999999")).then((r) => expect(r.status).toBe(400));
    const check = await admin.agent.get(`${url("admin:blog_post_slug_check")}?slug=a-slug&id=9999999999`).set("Accept", "application/json");
    expect(check.status).toBe(400);
  });
});

describe("the admin user form's Active checkbox", () => {
  it("unticked (the browser then omits the field), it deactivates the user, who can no longer log in; ticked again, reactivates", async () => {
    const admin = await signedIn(app, "ADMIN");
    const { user, password } = await createUser({ role: "AUTHOR" });
    const change = url("admin:accounts_user_change", { id: user.id });
    const shown = await formOn(admin, change);
    const box = shown.form.controls.find((c) => c.name === "isActive")!;
    expect(box).toMatchObject({ type: "checkbox", checked: true });
    // what a browser sends with the box unticked: every other field, and no isActive at all
    const unticked = shown.entries.filter(([k]) => k !== "isActive");
    expect(unticked.some(([k]) => k === "isActive")).toBe(false);
    const res = await post(admin, change, unticked);
    expect(res.status, res.text.slice(0, 300)).toBe(303);
    const stored = await prisma.user.findUniqueOrThrow({ where: { id: user.id } });
    expect(stored).toMatchObject({ isActive: false, role: "AUTHOR", username: user.username });
    // the form now shows the box unticked, and the account cannot log in
    const again = await formOn(admin, change);
    expect(again.form.controls.find((c) => c.name === "isActive")!.checked).toBe(false);
    const agent = request.agent(app);
    const page = await agent.get("/accounts/login/").expect(200);
    await agent
      .post("/accounts/login/")
      .type("form")
      .send({ _csrf: csrfFrom(page.text), username: user.username, password })
      .expect(400);
    // ticked again
    expect(again.entries.some(([k]) => k === "isActive")).toBe(false);
    await post(admin, change, [...again.entries, ["isActive", box.value || "on"]]).then((r) => expect(r.status).toBe(303));
    expect((await prisma.user.findUniqueOrThrow({ where: { id: user.id } })).isActive).toBe(true);
    await login(request.agent(app), user.username, password);
  });

  it("unticked on the add form, the new account is inactive; an admin still cannot deactivate themselves", async () => {
    const admin = await signedIn(app, "ADMIN");
    const add = url("admin:accounts_user_add");
    const { entries } = await formOn(admin, add);
    const fields = set(set(entries, "username", "inactive_from_start"), "email", "inactive@example.test").filter(([k]) => k !== "isActive");
    await post(admin, add, fields).then((r) => expect(r.status, r.text.slice(0, 300)).toBe(303));
    expect((await prisma.user.findUniqueOrThrow({ where: { username: "inactive_from_start" } })).isActive).toBe(false);

    const self = url("admin:accounts_user_change", { id: admin.user.id });
    const mine = await formOn(admin, self);
    const res = await post(
      admin,
      self,
      mine.entries.filter(([k]) => k !== "isActive"),
    );
    expect(res.status).toBe(400);
    expect(res.text).toContain("You cannot remove your own admin role or deactivate yourself");
    expect((await prisma.user.findUniqueOrThrow({ where: { id: admin.user.id } })).isActive).toBe(true);
  });
});

describe("the editor: a slug another author takes while an author's draft is being saved", () => {
  it("answers 400 with the form and the typed text, saves nothing; saved again with another slug, it goes through", async () => {
    const author = await signedIn(app, "AUTHOR");
    const other = await signedIn(app, "AUTHOR");
    const day = new Date(Date.UTC(2026, 10, 20, 9));
    const draft = await makePost({ authorId: author.user.id, title: "Race draft", publish: day, status: "DRAFT" });
    const theirs = await makePost({ authorId: other.user.id, title: "Their post", status: "PUBLISHED", publish: day });
    const edit = url("admin:blog_post_change", { id: draft.id });
    const { entries } = await formOn(author, edit);
    // the slug as the editor's script makes it from the new title
    const typed = set(set(set(entries, "title", "Taken soon"), "slug", "taken-soon"), "body", "Words typed while the other author was saving.");

    // The other author's save takes "taken-soon" on that day and is still committing when ours runs:
    // our check sees the slug free, our UPDATE then waits on the unique index and fails when theirs commits.
    const blocker = await pool.connect();
    try {
      await blocker.query("BEGIN");
      await blocker.query(`UPDATE "Post" SET slug = 'taken-soon' WHERE id = $1`, [theirs.id]);
      const pid = (await blocker.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid;
      const pending = post(author, edit, typed);
      const response = pending.then((r) => r); // start the request now
      await vi.waitFor(
        async () => {
          const { rows } = await pool.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> $1`, [
            pid,
          ]);
          expect(rows.length).toBeGreaterThan(0);
        },
        { timeout: 20_000, interval: 20 },
      );
      await blocker.query("COMMIT");
      const res = await response;
      expect(res.status, res.text.slice(0, 500)).toBe(400);
      expect(res.text).toContain("The slug &quot;taken-soon&quot; is already used by another post published on 2026-11-20.");
      expect(res.text).toContain("Words typed while the other author was saving.");
      expect(res.text).toContain('value="Taken soon"');
      const stored = await prisma.post.findUniqueOrThrow({ where: { id: draft.id } });
      expect(stored).toMatchObject({ title: "Race draft", slug: draft.slug, version: draft.version });

      // The re-shown form, with another slug, saves.
      const again = parsePage(res.text, edit).forms.find((f) => f.method === "post" && f.action === edit)!;
      await post(author, edit, set(defaultEntries(again), "slug", "taken-soon-2")).then((r) => expect(r.status).toBe(303));
      expect(await prisma.post.findUniqueOrThrow({ where: { id: draft.id } })).toMatchObject({
        title: "Taken soon",
        slug: "taken-soon-2",
        body: "Words typed while the other author was saving.",
      });
    } finally {
      await blocker.query("ROLLBACK").catch(() => {});
      blocker.release();
    }
  });
});
