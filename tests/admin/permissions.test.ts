// Every admin URL walked as every role: anonymous -> login, READER -> 403, AUTHOR -> own posts
// only (others' -> 404), EDITOR -> posts, categories, tags (users -> 403), ADMIN -> everything.
import request from "supertest";
import { beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../src/app.ts";
import { routeNames, url } from "../../src/web/urls.ts";
import type { Role } from "../../src/generated/prisma/client.ts";
import { csrfPost, makeCategory, makePost, makeTag, prisma, type Signed, signedIn } from "../support/fixtures.ts";

const app = buildApp();
const roles: Role[] = ["READER", "AUTHOR", "EDITOR", "ADMIN"];
const who: Record<string, Signed> = {};
let ownPost: number;
let otherPost: number;
let otherRev: number;
let catId: number;
let tagId: number;
let mediaId: number;

beforeAll(async () => {
  for (const r of roles) who[r] = await signedIn(app, r);
  ownPost = (await makePost({ authorId: who.AUTHOR!.user.id, title: "Author's own post", status: "DRAFT" })).id;
  otherPost = (await makePost({ authorId: who.EDITOR!.user.id, title: "Editor's post", status: "DRAFT" })).id;
  otherRev = (await prisma.postRevision.findFirstOrThrow({ where: { postId: otherPost } })).id;
  catId = (await makeCategory("Cat", "cat")).id;
  tagId = (await makeTag("Tag", "tag")).id;
  const hash = "ab".repeat(32); // a row only (its page reads no file)
  mediaId = (
    await prisma.media.create({ data: { hash, storageKey: `ab/${hash}-100.jpg`, filename: "x.jpg", mime: "image/jpeg", width: 100, height: 80, bytes: 99 } })
  ).id;
});

type Expect = Record<"ANON" | Role, number>;
const ALL_AUTHORS: Expect = { ANON: 302, READER: 403, AUTHOR: 200, EDITOR: 200, ADMIN: 200 };
const EDITORS: Expect = { ANON: 302, READER: 403, AUTHOR: 403, EDITOR: 200, ADMIN: 200 };
const ADMINS: Expect = { ANON: 302, READER: 403, AUTHOR: 403, EDITOR: 403, ADMIN: 200 };
const OTHERS_POST: Expect = { ANON: 302, READER: 403, AUTHOR: 404, EDITOR: 200, ADMIN: 200 };

function pages(): [string, string, Expect][] {
  return [
    ["admin:index", url("admin:index"), ALL_AUTHORS],
    ["admin:blog_post_changelist", url("admin:blog_post_changelist"), ALL_AUTHORS],
    ["admin:blog_post_add", url("admin:blog_post_add"), ALL_AUTHORS],
    ["admin:blog_post_change", url("admin:blog_post_change", { id: ownPost }), ALL_AUTHORS],
    ["admin:blog_post_delete", url("admin:blog_post_delete", { id: ownPost }), ALL_AUTHORS],
    ["admin:blog_post_history", url("admin:blog_post_history", { id: ownPost }), ALL_AUTHORS],
    ["admin:blog_post_change", url("admin:blog_post_change", { id: otherPost }), OTHERS_POST],
    ["admin:blog_post_delete", url("admin:blog_post_delete", { id: otherPost }), OTHERS_POST],
    ["admin:blog_post_history", url("admin:blog_post_history", { id: otherPost }), OTHERS_POST],
    ["admin:blog_post_slug_check", url("admin:blog_post_slug_check", {}, { slug: "x" }), ALL_AUTHORS],
    // the editor's featured-image picker (post.create: every writer; tests/studio/editor.test.ts)
    ["admin:blog_post_media_choices", url("admin:blog_post_media_choices", {}, { q: "x" }), ALL_AUTHORS],
    ["admin:autocomplete", url("admin:autocomplete", {}, { model: "accounts_user", term: "u" }), EDITORS],
    ["admin:tag_autocomplete", url("admin:tag_autocomplete", {}, { term: "t" }), ALL_AUTHORS],
    ["admin:blog_category_changelist", url("admin:blog_category_changelist"), EDITORS],
    ["admin:blog_category_add", url("admin:blog_category_add"), EDITORS],
    ["admin:blog_category_change", url("admin:blog_category_change", { id: catId }), EDITORS],
    ["admin:blog_category_delete", url("admin:blog_category_delete", { id: catId }), EDITORS],
    ["admin:blog_category_history", url("admin:blog_category_history", { id: catId }), EDITORS],
    ["admin:blog_tag_changelist", url("admin:blog_tag_changelist"), EDITORS],
    ["admin:blog_tag_add", url("admin:blog_tag_add"), EDITORS],
    ["admin:blog_tag_change", url("admin:blog_tag_change", { id: tagId }), EDITORS],
    ["admin:blog_tag_delete", url("admin:blog_tag_delete", { id: tagId }), EDITORS],
    ["admin:blog_tag_history", url("admin:blog_tag_history", { id: tagId }), EDITORS],
    ["admin:accounts_user_changelist", url("admin:accounts_user_changelist"), ADMINS],
    ["admin:accounts_user_add", url("admin:accounts_user_add"), ADMINS],
    ["admin:accounts_user_change", url("admin:accounts_user_change", { id: 1 }), ADMINS],
    ["admin:accounts_user_delete", url("admin:accounts_user_delete", { id: 1 }), ADMINS],
    ["admin:accounts_user_history", url("admin:accounts_user_history", { id: 1 }), ADMINS],
    ["admin:accounts_user_password", url("admin:accounts_user_password", { id: 1 }), ADMINS],
    // "Send the invitation again" (user.change: admins only; tests/accounts/invite.test.ts)
    ["admin:accounts_user_invite", url("admin:accounts_user_invite", { id: 1 }), ADMINS],
    // read-only: its change list only (authors see their own entries; tests/admin/auditlog.test.ts)
    ["admin:audit_auditlog_changelist", url("admin:audit_auditlog_changelist"), ALL_AUTHORS],
    // the media library (media.view: writers; tests/media/library.test.ts)
    ["admin:media_library", url("admin:media_library"), ALL_AUTHORS],
    ["admin:media_detail", url("admin:media_detail", { id: mediaId }), ALL_AUTHORS],
    // the caches' hit/miss panel (ops.view; tests/cache/admin-page.test.ts)
    ["admin:caches", url("admin:caches"), EDITORS],
    // the background jobs (jobs.view: admins only; tests/admin/jobs.test.ts)
    ["admin:jobs", url("admin:jobs"), ADMINS],
    ["admin:jobs_queue", url("admin:jobs_queue", { queue: "purge.sessions" }), ADMINS],
  ];
}

// POST-only routes, checked below with their own expectations.
const POST_ONLY = ["admin:preview", "admin:blog_post_restore", "admin:jobs_retry", "admin:jobs_retry_all", "admin:jobs_delete", "admin:media_delete"];

describe("every admin GET URL as every role", () => {
  it("covers every named admin route", () => {
    const covered = new Set([...pages().map((p) => p[0]), ...POST_ONLY]);
    const missing = routeNames().filter((n) => n.startsWith("admin:") && !covered.has(n));
    expect(missing).toEqual([]);
  });

  it("answers as the table says", async () => {
    const firstUser = await prisma.user.findFirstOrThrow({ orderBy: { id: "asc" } });
    expect(firstUser.id).toBe(1);
    const problems: string[] = [];
    for (const [name, path, want] of pages()) {
      const anon = await request(app).get(path);
      if (anon.status !== want.ANON || !String(anon.headers.location).startsWith("/accounts/login/?next="))
        problems.push(`${name} ${path} anon: ${anon.status} ${anon.headers.location}`);
      for (const r of roles) {
        const res = await who[r]!.agent.get(path);
        if (res.status !== want[r]) problems.push(`${name} ${path} ${r}: ${res.status} (want ${want[r]})`);
        if (res.status >= 500) problems.push(`${name} ${path} ${r}: 5xx`);
      }
    }
    expect(problems).toEqual([]);
  });
});

describe("POSTs are checked too", () => {
  it("anonymous POSTs are refused", async () => {
    const res = await request(app).post(url("admin:blog_post_add")).type("form").send({ title: "x" });
    expect(res.status).toBe(403);
  });

  it("readers get 403 on every POST", async () => {
    const r = who.READER!;
    for (const path of [
      url("admin:blog_post_add"),
      url("admin:blog_post_changelist"),
      url("admin:preview"),
      url("admin:blog_post_change", { id: ownPost }),
      url("admin:blog_category_add"),
    ]) {
      await csrfPost(r, path, { title: "x", body: "x" }, 403);
    }
  });

  it("an author cannot touch others' posts through change, delete, restore, bulk actions or inline edit", async () => {
    const a = who.AUTHOR!;
    await csrfPost(a, url("admin:blog_post_change", { id: otherPost }), { title: "hacked", status: "DRAFT", _version: "1" }, 404);
    await csrfPost(a, url("admin:blog_post_delete", { id: otherPost }), {}, 404);
    await csrfPost(a, url("admin:blog_post_restore", { id: otherPost, rev: otherRev }), {}, 404);
    await csrfPost(a, url("admin:blog_post_changelist"), { action: "publish", post: "yes", _selected_action: [String(otherPost)] }, 404);
    await csrfPost(a, url("admin:blog_post_changelist"), { action: "delete", post: "yes", _selected_action: [String(ownPost), String(otherPost)] }, 404);
    await csrfPost(a, url("admin:blog_post_changelist"), { _save: "1", [`form-${otherPost}-status`]: "PUBLISHED" }, 404);
    const p = await prisma.post.findUniqueOrThrow({ where: { id: otherPost } });
    expect(p).toMatchObject({ title: "Editor's post", status: "DRAFT", version: 1 });
    expect(await prisma.post.count({ where: { id: ownPost } })).toBe(1);
  });

  it("an author's list shows only their own posts; an authorId sent by an author is refused (400, nothing saved)", async () => {
    const a = who.AUTHOR!;
    const list = await a.agent.get(url("admin:blog_post_changelist")).expect(200);
    expect(list.text).toContain("Author&#39;s own post");
    expect(list.text).not.toContain("Editor&#39;s post");
    expect(list.text).not.toContain("By author"); // the author filter is for editors
    const form = await a.agent.get(url("admin:blog_post_add")).expect(200);
    expect(form.text).not.toContain('name="authorId"');
    const sneaky = await csrfPost(a, url("admin:blog_post_add"), { title: "Sneaky", authorId: String(who.EDITOR!.user.id), status: "DRAFT", body: "b" }, 400);
    expect(sneaky.text).toContain("You may not set author.");
    expect(await prisma.post.count({ where: { title: "Sneaky" } })).toBe(0);
    // an author cannot reach category/tag/user admin by POST either
    await csrfPost(a, url("admin:blog_category_add"), { name: "x" }, 403);
    await csrfPost(a, url("admin:blog_tag_changelist"), { action: "delete", post: "yes", _selected_action: [String(tagId)] }, 403);
  });

  it("an author publishes their own posts; an editor publishes anyone's", async () => {
    await csrfPost(who.AUTHOR!, url("admin:blog_post_changelist"), { action: "publish", post: "yes", _selected_action: [String(ownPost)] }, 303);
    expect((await prisma.post.findUniqueOrThrow({ where: { id: ownPost } })).status).toBe("PUBLISHED");
    await csrfPost(who.EDITOR!, url("admin:blog_post_changelist"), { action: "unpublish", post: "yes", _selected_action: [String(ownPost)] }, 303);
    expect((await prisma.post.findUniqueOrThrow({ where: { id: ownPost } })).status).toBe("DRAFT");
  });

  it("editors cannot manage users; admins can (role, active, password, reset link) and everything is audited", async () => {
    const target = who.READER!.user.id;
    await csrfPost(who.EDITOR!, url("admin:accounts_user_change", { id: target }), { username: "x", email: "x@example.test", role: "ADMIN" }, 403);
    await csrfPost(who.EDITOR!, url("admin:accounts_user_password", { id: target }), { password1: "x", password2: "x" }, 403);
    await csrfPost(who.EDITOR!, url("admin:accounts_user_invite", { id: target }), {}, 403);
    await csrfPost(who.AUTHOR!, url("admin:accounts_user_invite", { id: target }), {}, 403);
    expect(await prisma.passwordResetToken.count({ where: { userId: target } })).toBe(0); // nothing issued by the refused POSTs
    const adm = who.ADMIN!;
    const u = await prisma.user.findUniqueOrThrow({ where: { id: target } });
    await csrfPost(
      adm,
      url("admin:accounts_user_change", { id: target }),
      { username: u.username, email: u.email, role: "AUTHOR", isActive: "1", firstName: "", lastName: "", bio: "", _version: String(u.version) },
      303,
    );
    expect((await prisma.user.findUniqueOrThrow({ where: { id: target } })).role).toBe("AUTHOR");
    // inline role edit in the user list
    await csrfPost(
      adm,
      url("admin:accounts_user_changelist"),
      { _save: "1", [`form-${target}-role`]: "EDITOR", [`form-${target}-_version`]: String(u.version + 1) },
      303,
    );
    expect((await prisma.user.findUniqueOrThrow({ where: { id: target } })).role).toBe("EDITOR");
    // password: validated, then set
    const weak = await csrfPost(adm, url("admin:accounts_user_password", { id: target }), { password1: "short", password2: "short" }, 400);
    expect(weak.text).toContain("too short");
    const before = (await prisma.user.findUniqueOrThrow({ where: { id: target } })).passwordHash;
    await csrfPost(
      adm,
      url("admin:accounts_user_password", { id: target }),
      { password1: "a-Much-Better-passphrase-42", password2: "a-Much-Better-passphrase-42" },
      303,
    );
    expect((await prisma.user.findUniqueOrThrow({ where: { id: target } })).passwordHash).not.toBe(before);
    const link = await csrfPost(adm, url("admin:accounts_user_password", { id: target }), { _reset_link: "1" }, 200);
    expect(link.text).toMatch(/http:\/\/folio\.test\/accounts\/reset\/[A-Za-z0-9_-]{43}\//);
    const audit = await prisma.auditLog.findMany({ where: { model: "accounts.user", objectId: String(target) }, orderBy: { id: "asc" } });
    expect(audit.map((a) => (a.changes as { changed: string[] }).changed)).toEqual([["role"], ["role"], ["password"], ["password reset link"]]);
    // an admin cannot demote or deactivate themselves
    const me = await prisma.user.findUniqueOrThrow({ where: { id: adm.user.id } });
    const self = await csrfPost(
      adm,
      url("admin:accounts_user_change", { id: me.id }),
      { username: me.username, email: me.email, role: "READER", isActive: "1", _version: String(me.version) },
      400,
    );
    expect(self.text).toContain("You cannot remove your own admin role");
    await csrfPost(
      adm,
      url("admin:accounts_user_change", { id: me.id }),
      { username: me.username, email: me.email, role: "ADMIN", _version: String(me.version) },
      400,
    );
    expect((await prisma.user.findUniqueOrThrow({ where: { id: me.id } })).role).toBe("ADMIN");
    // an admin cannot delete their own account from the admin
    await adm.agent.get(url("admin:accounts_user_delete", { id: adm.user.id })).expect(403);
    await csrfPost(adm, url("admin:accounts_user_changelist"), { action: "delete", post: "yes", _selected_action: [String(adm.user.id)] }, 403);
    expect(await prisma.user.count({ where: { id: adm.user.id } })).toBe(1);
  });
});
