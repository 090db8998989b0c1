// What differs per model is a ModelAdmin hook or option (src/admin/models.ts), seen through the generic
// views: object links (the user's "Set password", a live post's "View on site"), the delete permission
// hook (an admin's own account), the add form's initial data, the form's sidebar, autocomplete.
import { beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../src/app.ts";
import { url } from "../../src/web/urls.ts";
import { makePost, signedIn, type Signed } from "../support/fixtures.ts";

const app = buildApp();
let editor: Signed;
let admin: Signed;
let live: { id: number; slug: string };
let draft: number;

beforeAll(async () => {
  editor = await signedIn(app, "EDITOR");
  admin = await signedIn(app, "ADMIN");
  const p = await makePost({ authorId: editor.user.id, title: "Live one", publish: new Date("2026-01-15T09:00:00Z") });
  live = { id: p.id, slug: p.slug };
  draft = (await makePost({ authorId: editor.user.id, title: "Still a draft", status: "DRAFT" })).id;
});

const objectTools = (html: string) => /<ul class="object-tools">([\s\S]*?)<\/ul>/.exec(html)?.[1] ?? "";

describe("ModelAdmin hooks through the generic views", () => {
  it("a live post's change form links to it on the site; a draft's does not; neither has Set password", async () => {
    const res = await editor.agent.get(url("admin:blog_post_change", { id: live.id })).expect(200);
    expect(objectTools(res.text)).toContain(`<a class="button" href="/blog/2026/01/15/${live.slug}/">View on site</a>`);
    expect(objectTools(res.text)).not.toContain("Set password");
    const d = await editor.agent.get(url("admin:blog_post_change", { id: draft })).expect(200);
    expect(objectTools(d.text)).not.toContain("View on site");
    expect(objectTools(d.text)).toContain("History");
  });

  it("a user's change form has Set password; an admin's own has no Delete (the delete hook refuses it)", async () => {
    const other = await admin.agent.get(url("admin:accounts_user_change", { id: editor.user.id })).expect(200);
    expect(objectTools(other.text)).toContain(`<a class="button" href="${url("admin:accounts_user_password", { id: editor.user.id })}">Set password</a>`);
    expect(other.text).toContain(`href="${url("admin:accounts_user_delete", { id: editor.user.id })}"`);
    const own = await admin.agent.get(url("admin:accounts_user_change", { id: admin.user.id })).expect(200);
    expect(objectTools(own.text)).toContain("Set password");
    expect(own.text).not.toContain(url("admin:accounts_user_delete", { id: admin.user.id }));
    const refused = await admin.agent.get(url("admin:accounts_user_delete", { id: admin.user.id })).expect(403);
    expect(refused.text).toContain(`You may not delete “${admin.user.username}”.`);
    await admin.agent.get(url("admin:accounts_user_delete", { id: editor.user.id })).expect(200);
  });

  it("the add forms start from each model's initial data", async () => {
    const post = await editor.agent.get(url("admin:blog_post_add")).expect(200);
    expect(post.text).toContain('<option value="DRAFT" selected>Draft</option>');
    expect(post.text).toMatch(/<h2>Publishing<\/h2>/);
    const user = await admin.agent.get(url("admin:accounts_user_add")).expect(200);
    expect(user.text).toContain('<option value="READER" selected>Reader</option>');
    expect(user.text).toMatch(/name="isActive" value="1" checked/);
    expect(user.text).not.toContain("<h2>Publishing</h2>");
    const cat = await editor.agent.get(url("admin:blog_category_add")).expect(200);
    expect(cat.text).not.toContain("<h2>Publishing</h2>");
  });

  it("autocomplete answers for a model that declares it, to those shown its picker", async () => {
    const res = await editor.agent.get(url("admin:autocomplete", {}, { model: "accounts_user", term: editor.user.username })).expect(200);
    expect((res.body as { results: { id: number; text: string }[] }).results).toEqual([
      expect.objectContaining({ id: editor.user.id, text: editor.user.username }),
    ]);
    await editor.agent.get(url("admin:autocomplete", {}, { model: "blog_category", term: "a" })).expect(400);
    await editor.agent.get(url("admin:autocomplete", {}, { model: "audit_auditlog", term: "a" })).expect(400);
  });
});
