// No lost update anywhere in the admin: users, categories and tags have the same optimistic version
// check as posts (src/db/versioned.ts). A form or a change-list row made from a version that another
// admin has since saved over is refused (the change form's conflict page, 409; the list names the row),
// never silently saved over the other admin's change.
import { beforeAll, describe, expect, it } from "vitest";
import request from "supertest";
import { buildApp } from "../../src/app.ts";
import { url } from "../../src/web/urls.ts";
import { createUser, csrfPost, makeCategory, makePost, makeTag, prisma, type Signed, signedIn } from "../support/fixtures.ts";
import { login } from "../support/auth.ts";

const app = buildApp();
let adminA: Signed;
let adminB: Signed;

beforeAll(async () => {
  adminA = await signedIn(app, "ADMIN");
  adminB = await signedIn(app, "ADMIN");
});

const versionIn = (html: string) => /name="_version" value="(\d+)"/.exec(html)?.[1];

async function userForm(s: Signed, id: number) {
  const page = await s.agent.get(url("admin:accounts_user_change", { id })).expect(200);
  const u = await prisma.user.findUniqueOrThrow({ where: { id } });
  return {
    version: versionIn(page.text),
    fields: { username: u.username, email: u.email, firstName: u.firstName, lastName: u.lastName, role: u.role, bio: u.bio },
  };
}

describe("user form", () => {
  it("a stale form cannot re-promote a user another admin just demoted: 409 with both versions, nothing overwritten", async () => {
    const { user } = await createUser({ role: "EDITOR" });
    const a = await userForm(adminA, user.id); // admin A opens the form
    expect(a.version).toBe("1");
    const b = await userForm(adminB, user.id); // admin B opens it too, demotes the user and saves
    await csrfPost(
      adminB,
      url("admin:accounts_user_change", { id: user.id }),
      { ...b.fields, role: "READER", isActive: "1", bio: "Demoted by B", _version: b.version },
      303,
    );
    expect(await prisma.user.findUniqueOrThrow({ where: { id: user.id } })).toMatchObject({ role: "READER", bio: "Demoted by B", version: 2 });

    // A saves the form opened before: refused with the conflict page
    const res = await csrfPost(
      adminA,
      url("admin:accounts_user_change", { id: user.id }),
      { ...a.fields, role: "EDITOR", isActive: "1", firstName: "Typed by A", _version: a.version },
      409,
    );
    expect(res.text).toContain("Edit conflict");
    expect(res.text).toContain("Someone else saved this user while you were editing it. Nothing was overwritten");
    expect(res.text).toContain("Demoted by B"); // their version, in the comparison
    expect(res.text).toContain('value="Typed by A"'); // A's typing is kept in the form
    expect(versionIn(res.text)).toBe("2"); // saving again is a deliberate overwrite of version 2
    expect(await prisma.user.findUniqueOrThrow({ where: { id: user.id } })).toMatchObject({ role: "READER", bio: "Demoted by B", firstName: "", version: 2 });
    expect(await prisma.auditLog.count({ where: { model: "accounts.user", objectId: String(user.id), userId: adminA.user.id } })).toBe(0);

    // A saves again from the conflict page (version 2): now it is a deliberate choice, and it is saved
    await csrfPost(
      adminA,
      url("admin:accounts_user_change", { id: user.id }),
      { ...a.fields, role: "AUTHOR", isActive: "1", firstName: "Typed by A", bio: "Demoted by B", _version: "2" },
      303,
    );
    expect(await prisma.user.findUniqueOrThrow({ where: { id: user.id } })).toMatchObject({ role: "AUTHOR", firstName: "Typed by A", version: 3 });
  });

  it("a user's own name change (profile page) moves the version on: an admin form opened before it is refused", async () => {
    const { user, password } = await createUser({ role: "AUTHOR", firstName: "Old" });
    const a = await userForm(adminA, user.id);
    const agent = request.agent(app);
    const session = await login(agent, user.username, password);
    await agent
      .post(url("accounts:profile"))
      .type("form")
      .send({ _csrf: await session.csrf(), first_name: "New", last_name: "Name" })
      .expect(303);
    expect(await prisma.user.findUniqueOrThrow({ where: { id: user.id } })).toMatchObject({ firstName: "New", version: 2 });
    await csrfPost(adminA, url("admin:accounts_user_change", { id: user.id }), { ...a.fields, isActive: "1", _version: a.version }, 409);
    expect((await prisma.user.findUniqueOrThrow({ where: { id: user.id } })).firstName).toBe("New");
  });

  it("a form without its version, or with a bad one, is a 400, not a silent overwrite", async () => {
    const { user } = await createUser({ role: "AUTHOR" });
    const a = await userForm(adminA, user.id);
    for (const v of [undefined, "", "0", "abc", "-1", "1e3", "2147483648", "9999999999", "99999999999"]) {
      await csrfPost(
        adminA,
        url("admin:accounts_user_change", { id: user.id }),
        { ...a.fields, role: "ADMIN", isActive: "1", ...(v === undefined ? {} : { _version: v }) },
        400,
      );
    }
    expect(await prisma.user.findUniqueOrThrow({ where: { id: user.id } })).toMatchObject({ role: "AUTHOR", version: 1 });
  });
});

describe("category and tag forms", () => {
  it("a stale category form does not revert the description another editor just wrote", async () => {
    const c = await makeCategory("Databases", "databases", "Old text");
    const path = url("admin:blog_category_change", { id: c.id });
    const a = await adminA.agent.get(path).expect(200);
    expect(versionIn(a.text)).toBe("1");
    await csrfPost(adminB, path, { name: "Databases", slug: "databases", description: "B's new text", _version: "1" }, 303);
    const res = await csrfPost(adminA, path, { name: "Databases (A)", slug: "databases", description: "Old text", _version: "1" }, 409);
    expect(res.text).toContain("Someone else saved this category while you were editing it.");
    expect(res.text).toContain("B&#39;s new text");
    expect(await prisma.category.findUniqueOrThrow({ where: { id: c.id } })).toMatchObject({ name: "Databases", description: "B's new text", version: 2 });
  });

  it("a stale tag form is refused the same way", async () => {
    const t = await makeTag("pg", "pg");
    const path = url("admin:blog_tag_change", { id: t.id });
    await csrfPost(adminB, path, { name: "PostgreSQL", slug: "postgresql", _version: "1" }, 303);
    const res = await csrfPost(adminA, path, { name: "pg-renamed", slug: "pg", _version: "1" }, 409);
    expect(res.text).toContain("Someone else saved this tag while you were editing it.");
    expect(await prisma.tag.findUniqueOrThrow({ where: { id: t.id } })).toMatchObject({ name: "PostgreSQL", slug: "postgresql", version: 2 });
    // from the conflict page (their version), a save goes through
    await csrfPost(adminA, path, { name: "pg-renamed", slug: "pg", _version: "2" }, 303);
    expect(await prisma.tag.findUniqueOrThrow({ where: { id: t.id } })).toMatchObject({ name: "pg-renamed", version: 3 });
  });
});

describe("list-editable rows", () => {
  it("a row changed by another admin since the list was shown is refused and named; an untouched row is left alone", async () => {
    const { user: x } = await createUser({ role: "AUTHOR" });
    const { user: y } = await createUser({ role: "AUTHOR" });
    const list = await adminA.agent.get(url("admin:accounts_user_changelist", {}, { q: x.username })).expect(200);
    expect(list.text).toContain(`name="form-${x.id}-_version" value="1"`);
    expect(list.text).toContain(`name="initial-form-${x.id}-role" value="AUTHOR"`);
    // B promotes both meanwhile
    for (const u of [x, y]) {
      const b = await userForm(adminB, u.id);
      await csrfPost(adminB, url("admin:accounts_user_change", { id: u.id }), { ...b.fields, role: "EDITOR", isActive: "1", _version: b.version }, 303);
    }
    // A's list (shown before): x changed to READER by A (stale: refused), y left as shown (AUTHOR): not touched
    const row = (u: { id: number }, role: string) => ({ [`form-${u.id}-role`]: role, [`initial-form-${u.id}-role`]: "AUTHOR", [`form-${u.id}-_version`]: "1" });
    const res = await csrfPost(adminA, url("admin:accounts_user_changelist"), { _save: "1", ...row(x, "READER"), ...row(y, "AUTHOR") }, 303);
    const page = await adminA.agent.get(String(res.headers.location)).expect(200);
    expect(page.text).toContain(`“${x.username}” was not saved: someone else changed it after this list was shown.`);
    expect(page.text).toContain("No changes to save.");
    expect((await prisma.user.findMany({ where: { id: { in: [x.id, y.id] } }, orderBy: { id: "asc" } })).map((u) => [u.role, u.version])).toEqual([
      ["EDITOR", 2],
      ["EDITOR", 2],
    ]);
    // with the current version, A's change is saved
    await csrfPost(
      adminA,
      url("admin:accounts_user_changelist"),
      { _save: "1", [`form-${x.id}-role`]: "READER", [`initial-form-${x.id}-role`]: "EDITOR", [`form-${x.id}-_version`]: "2" },
      303,
    );
    expect(await prisma.user.findUniqueOrThrow({ where: { id: x.id } })).toMatchObject({ role: "READER", version: 3 });
  });

  it("a changed row without its version, or with a bad one, is a 400 and nothing changes", async () => {
    const { user: x } = await createUser({ role: "AUTHOR" });
    await csrfPost(adminA, url("admin:accounts_user_changelist"), { _save: "1", [`form-${x.id}-role`]: "EDITOR" }, 400);
    for (const bad of ["0", "abc", "2147483648", "9999999999", "99999999999", ["1", "2"]]) {
      await csrfPost(adminA, url("admin:accounts_user_changelist"), { _save: "1", [`form-${x.id}-role`]: "EDITOR", [`form-${x.id}-_version`]: bad }, 400);
    }
    expect(await prisma.user.findUniqueOrThrow({ where: { id: x.id } })).toMatchObject({ role: "AUTHOR", version: 1 });
  });

  it("posts' inline status edit is checked the same way", async () => {
    const p = await makePost({ authorId: adminA.user.id, title: "Inline stale", status: "DRAFT" });
    await prisma.post.update({ where: { id: p.id }, data: { title: "Inline stale (edited)", version: 2 } }); // another save meanwhile
    const res = await csrfPost(
      adminA,
      url("admin:blog_post_changelist"),
      { _save: "1", [`form-${p.id}-status`]: "PUBLISHED", [`initial-form-${p.id}-status`]: "DRAFT", [`form-${p.id}-_version`]: "1" },
      303,
    );
    expect((await adminA.agent.get(String(res.headers.location)).expect(200)).text).toContain("was not saved: someone else changed it");
    expect(await prisma.post.findUniqueOrThrow({ where: { id: p.id } })).toMatchObject({ status: "DRAFT", version: 2 });
  });
});

describe("bulk actions", () => {
  it("bulk publish moves each post's version on, so a change form opened before it is refused", async () => {
    const p = await makePost({ authorId: adminA.user.id, title: "Opened then published", status: "DRAFT" });
    const form = await adminA.agent.get(url("admin:blog_post_change", { id: p.id })).expect(200);
    expect(versionIn(form.text)).toBe("1");
    await csrfPost(adminB, url("admin:blog_post_changelist"), { action: "publish", post: "yes", _selected_action: [String(p.id)] }, 303);
    const res = await csrfPost(
      adminA,
      url("admin:blog_post_change", { id: p.id }),
      {
        title: "Opened then published",
        slug: p.slug,
        authorId: String(adminA.user.id),
        body: p.body,
        excerpt: "",
        metaDescription: "",
        status: "DRAFT",
        publish: "",
        _version: "1",
      },
      409,
    );
    expect(res.text).toContain("Edit conflict");
    expect(await prisma.post.findUniqueOrThrow({ where: { id: p.id } })).toMatchObject({ status: "PUBLISHED", version: 2 });
  });
});
