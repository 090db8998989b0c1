// Who may change what (src/accounts/permissions.ts), per role and per path. The cases are generated
// from POST_FIELDS and RULES: every path says, for every field of POST_FIELDS, how it sets it or that
// it has no such field (a field added to POST_FIELDS fails "every path declares every field" until each
// path says), and the expected answer of every case is the declared rule itself (maySetPostField, can).
// Each case runs against a fresh post through the real app; an allowed case must be saved as asked, a
// refused one must answer 403/404 or a 400 field error and leave the post's row, its tags and the tag
// table exactly as they were.
import { beforeAll, describe, expect, it } from "vitest";
import type { Response } from "supertest";
import { buildApp } from "../../src/app.ts";
import { can, maySetPostField, POST_FIELDS, RULES, type Actor, type PostField } from "../../src/accounts/permissions.ts";
import * as posts from "../../src/posts/service.ts";
import type { Role } from "../../src/generated/prisma/client.ts";
import { url } from "../../src/web/urls.ts";
import { createUser, csrfPost, prisma, signedIn, type Signed } from "../support/fixtures.ts";

const app = buildApp();
const ROLES: Role[] = ["READER", "AUTHOR", "EDITOR", "ADMIN"];
/** What a case tries: a field of POST_FIELDS, or creating a tag by naming it on the post. */
type Change = PostField | "newTag";
const CHANGES: Change[] = [...(Object.keys(POST_FIELDS) as PostField[]), "newTag"];
/** Whose post: a new one (theirs), their own, another author's. */
type Target = "new" | "own" | "other";

const who = {} as Record<Role, Signed>;
let otherAuthor: number; // writes the "other" posts
let third: number; // the author a post is given to
let existingTag: { id: number; name: string };
let n = 0;

beforeAll(async () => {
  for (const r of ROLES) who[r] = await signedIn(app, r);
  otherAuthor = (await createUser({ role: "AUTHOR" })).user.id;
  third = (await createUser({ role: "AUTHOR" })).user.id;
  existingTag = await prisma.tag.create({ data: { name: "Existing", slug: "existing" }, select: { id: true, name: true } });
});

const actorOf = (r: Role): Actor => ({ id: who[r].user.id, role: r, isActive: true });
const PUBLISH_AT = "2026-05-04T10:30";

/** Is this change allowed to `role` on `target`: the declared rule, read directly. */
function allowed(role: Role, change: Change, post: { authorId: number } | null): boolean {
  const actor = actorOf(role);
  if (change === "newTag") return maySetPostField(actor, "tags", post) && can(actor, "tag.create");
  return maySetPostField(actor, change, post);
}

/** A fresh draft (made by the site itself, no rule involved) for a case. */
async function freshPost(authorId: number) {
  n++;
  return posts.createPost({ title: `Case post ${n}`, body: `Body ${n}.`, status: "DRAFT", authorId, categoryId: null }, null);
}

/** Everything a refused save must leave as it was. */
async function snapshot(postId: number | null) {
  const row = postId ? await prisma.post.findUnique({ where: { id: postId }, include: { tags: { select: { tagId: true } } } }) : null;
  return { row, tags: await prisma.tag.count(), posts: await prisma.post.count() };
}

interface Attempt {
  change: Change;
  /** The post (null: the case creates one) and what to send. */
  post: { id: number; authorId: number; version: number; title: string; body: string } | null;
  newTagName: string;
}

interface Path {
  name: string;
  targets: Target[];
  /** How the path sets each change, or "absent" (the path has no such field). */
  sets: Record<Change, ((s: Signed, a: Attempt) => Promise<Response>) | "absent">;
  /** Allowed cases redirect (303) unless said otherwise. */
  ok?: number;
  /** The path never changes a post (it stores a draft copy): every case must leave the row as it was. */
  neverSets?: boolean;
}

const tagsValue = (a: Attempt) => (a.change === "newTag" ? a.newTagName : a.change === "tags" ? existingTag.name : "");

/** The admin's post form as the browser sends it: the fields this user's form shows, one of them changed. */
async function adminForm(s: Signed, path: string, a: Attempt) {
  const form = await s.agent.get(path);
  const shown = form.status === 200 && form.text.includes('name="authorId"');
  const body: Record<string, string> = {
    title: a.post?.title ?? `Admin ${a.newTagName}`,
    slug: "",
    categoryId: "",
    tags: tagsValue(a),
    body: a.post?.body ?? "Text.",
    excerpt: "",
    metaDescription: "",
    status: a.change === "status" ? "PUBLISHED" : "DRAFT",
    publish: a.change === "publish" ? PUBLISH_AT : "",
  };
  if (a.post) body._version = String(a.post.version);
  if (a.change === "authorId")
    body.authorId = String(third); // sent even when the form hides it: a crafted request
  else if (shown) body.authorId = String(a.post?.authorId ?? s.user.id);
  return csrfPost(s, path, body);
}

const changelist = url("admin:blog_post_changelist");
const inlineStatus = (s: Signed, a: Attempt) => {
  const id = a.post!.id;
  return csrfPost(s, changelist, {
    _save: "1",
    [`form-${id}-status`]: "PUBLISHED",
    [`initial-form-${id}-status`]: "DRAFT",
    [`form-${id}-_version`]: String(a.post!.version),
  });
};
const bulkPublish = (s: Signed, a: Attempt) => csrfPost(s, changelist, { action: "publish", _selected_action: String(a.post!.id), post: "yes" });

/** The autosave stores what the form holds, whatever it is; it never sets a post's fields. */
const autosave = async (s: Signed, a: Attempt) =>
  s.agent
    .post(url("autosave:save"))
    .set("Accept", "application/json")
    .set("X-CSRF-Token", await s.session.csrf())
    .send({
      post: a.post!.id,
      baseVersion: a.post!.version,
      fields: { title: a.post!.title, status: "PUBLISHED", authorId: String(third), publish: PUBLISH_AT, tags: tagsValue(a) },
    });

const PATHS: Path[] = [
  {
    name: "admin add form",
    targets: ["new"],
    sets: Object.fromEntries(CHANGES.map((c) => [c, (s: Signed, a: Attempt) => adminForm(s, url("admin:blog_post_add"), a)])) as Path["sets"],
  },
  {
    name: "admin change form",
    targets: ["own", "other"],
    sets: Object.fromEntries(
      CHANGES.map((c) => [c, (s: Signed, a: Attempt) => adminForm(s, url("admin:blog_post_change", { id: a.post!.id }), a)]),
    ) as Path["sets"],
  },
  {
    name: "admin change list (inline edit)",
    targets: ["own", "other"],
    sets: { status: inlineStatus, publish: "absent", authorId: "absent", tags: "absent", newTag: "absent" },
  },
  {
    name: "admin change list (bulk publish)",
    targets: ["own", "other"],
    sets: { status: bulkPublish, publish: "absent", authorId: "absent", tags: "absent", newTag: "absent" },
  },
  {
    name: "autosave",
    targets: ["own", "other"],
    sets: { status: autosave, publish: autosave, authorId: autosave, tags: autosave, newTag: autosave },
    ok: 200,
    neverSets: true,
  },
];

/** The roles and targets the issue names: readers, authors on their own and another's post, editors, admins. */
const TARGETS: Record<Role, Target[]> = { READER: ["new", "other"], AUTHOR: ["new", "own", "other"], EDITOR: ["new", "other"], ADMIN: ["new", "other"] };

interface Case {
  path: Path;
  role: Role;
  target: Target;
  change: Change;
}
const cases: Case[] = PATHS.flatMap((path) =>
  ROLES.flatMap((role) =>
    TARGETS[role]
      .filter((t) => path.targets.includes(t))
      .flatMap((target) => CHANGES.filter((change) => path.sets[change] !== "absent").map((change) => ({ path, role, target, change }))),
  ),
);

describe("the declaration", () => {
  it("every path declares every field of POST_FIELDS (how it sets it, or that it has none)", () => {
    for (const p of PATHS) for (const f of Object.keys(POST_FIELDS)) expect(p.sets[f as PostField], `${p.name}: ${f}`).toBeDefined();
  });

  it("every field of POST_FIELDS can be set on some path, and the cases cover each role", () => {
    for (const f of CHANGES)
      expect(
        PATHS.some((p) => p.sets[f] !== "absent" && !p.neverSets),
        f,
      ).toBe(true);
    for (const r of ROLES) expect(cases.some((c) => c.role === r)).toBe(true);
  });

  it("says in words what the README says: authors on their own posts only, no author change; editors everywhere", () => {
    const author = actorOf("AUTHOR");
    const mine = { authorId: author.id };
    const theirs = { authorId: author.id + 1000 };
    expect(CHANGES.filter((c) => allowed("AUTHOR", c, mine))).toEqual(["status", "publish", "tags", "newTag"]);
    expect(CHANGES.filter((c) => allowed("AUTHOR", c, theirs))).toEqual([]);
    expect(CHANGES.filter((c) => allowed("EDITOR", c, theirs))).toEqual(CHANGES);
    expect(CHANGES.filter((c) => allowed("READER", c, null))).toEqual([]);
    expect(RULES.category.create.any).toBe("EDITOR");
    expect(ROLES.filter((r) => can(actorOf(r), "category.create"))).toEqual(["EDITOR", "ADMIN"]);
  });
});

describe.each(PATHS.map((p) => [p.name, p] as const))("%s", (_name, path) => {
  const mine = cases.filter((c) => c.path === path);
  it.each(mine.map((c) => [c.role, c.target, c.change, c] as const))("%s on %s post: %s", async (_r, _t, _c, c) => {
    const s = who[c.role];
    const authorId = c.target === "own" ? s.user.id : otherAuthor;
    const stored = c.target === "new" ? null : await freshPost(authorId);
    const attempt: Attempt = { change: c.change, post: stored, newTagName: `fresh tag ${++n}` };
    const before = await snapshot(stored?.id ?? null);
    const expected = !path.neverSets && allowed(c.role, c.change, stored ? { authorId } : null);
    const setter = path.sets[c.change] as (s: Signed, a: Attempt) => Promise<Response>;
    const res = await setter(s, attempt);
    const label = `${path.name}, ${c.role} on ${c.target} post, ${c.change}: ${res.status} ${res.text.slice(0, 300)}`;

    if (path.neverSets) {
      // the autosave answers (200 for a post they may change, else 403/404) and the post stays as it was
      const mayChange = can(actorOf(c.role), "post.change", { authorId });
      if (mayChange) expect(res.status, label).toBe(200);
      else expect([403, 404], label).toContain(res.status);
      expect(await snapshot(stored!.id), label).toEqual(before);
      return;
    }
    if (!expected) {
      expect([400, 403, 404], label).toContain(res.status);
      if (res.status === 400) expect(res.text, label).toMatch(/You may not|You cannot/);
      expect(await snapshot(stored?.id ?? null), label).toEqual(before);
      expect(await prisma.tag.count({ where: { name: attempt.newTagName } }), label).toBe(0);
      return;
    }
    expect(res.status, label).toBe(path.ok ?? 303);
    // the change was saved as asked
    const saved = stored
      ? await prisma.post.findUniqueOrThrow({ where: { id: stored.id }, include: { tags: { include: { tag: true } } } })
      : await prisma.post.findFirstOrThrow({
          where: { title: { in: [`Written ${attempt.newTagName}`, `Admin ${attempt.newTagName}`] } },
          include: { tags: { include: { tag: true } } },
        });
    if (c.change === "status") expect(saved.status, label).toBe("PUBLISHED");
    if (c.change === "publish") expect(saved.publish.toISOString(), label).toBe(`${PUBLISH_AT}:00.000Z`);
    if (c.change === "authorId") expect(saved.authorId, label).toBe(third);
    if (c.change === "tags")
      expect(
        saved.tags.map((t) => t.tagId),
        label,
      ).toEqual([existingTag.id]);
    if (c.change === "newTag")
      expect(
        saved.tags.map((t) => t.tag.name),
        label,
      ).toEqual([attempt.newTagName]);
  });
});

describe("creating a category (the admin's category form)", () => {
  it.each(ROLES)("%s", async (role) => {
    const name = `Category by ${role}`;
    const res = await csrfPost(who[role], url("admin:blog_category_add"), { name, slug: "", description: "" });
    if (can(actorOf(role), "category.create")) expect(res.status).toBe(303);
    else expect(res.status).toBe(403);
    expect(await prisma.category.count({ where: { name } })).toBe(can(actorOf(role), "category.create") ? 1 : 0);
  });
});

describe("the posts service applies the rule itself (no caller can bypass it)", () => {
  const input = (p: Awaited<ReturnType<typeof freshPost>>, change: Change, tagName: string): posts.PostInput => ({
    title: p.title,
    slug: p.slug,
    body: p.body,
    status: change === "status" ? "PUBLISHED" : p.status,
    publish: change === "publish" ? new Date(`${PUBLISH_AT}:00Z`) : undefined,
    authorId: change === "authorId" ? third : p.authorId,
    categoryId: null,
    tagNames: change === "newTag" ? [tagName] : change === "tags" ? [existingTag.name] : [],
  });
  const combos = ROLES.flatMap((role) =>
    (["own", "other"] as const).filter((t) => TARGETS[role].includes(t)).flatMap((t) => CHANGES.map((c) => [role, t, c] as const)),
  );

  it.each(combos)("updatePost as %s on %s post: %s", async (role, target, change) => {
    const authorId = target === "own" ? who[role].user.id : otherAuthor;
    const p = await freshPost(authorId);
    const tagName = `service tag ${++n}`;
    const before = await snapshot(p.id);
    const save = posts.updatePost(p.id, p.version, input(p, change, tagName), { id: who[role].user.id });
    if (allowed(role, change, { authorId })) {
      await save;
      return expect((await prisma.post.findUniqueOrThrow({ where: { id: p.id } })).version).toBe(2);
    }
    const err = await save.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(posts.PostPermissionError);
    const refusal = err as posts.PostPermissionError;
    // a post they may not change at all is refused as a whole (403); otherwise the field is named
    expect(refusal.field).toBe(can(actorOf(role), "post.change", { authorId }) ? (change === "newTag" ? "tags" : change) : null);
    expect(await snapshot(p.id)).toEqual(before);
    expect(await prisma.tag.count({ where: { name: tagName } })).toBe(0);
  });

  it("an account deactivated since it signed in may save nothing (the stored account decides)", async () => {
    const { user } = await createUser({ role: "EDITOR", isActive: false });
    const p = await freshPost(otherAuthor);
    await expect(posts.updatePost(p.id, p.version, input(p, "status", "x"), { id: user.id })).rejects.toBeInstanceOf(posts.PostPermissionError);
    await expect(posts.createPost({ title: "Nope", body: "x", status: "DRAFT", authorId: user.id, categoryId: null }, { id: user.id })).rejects.toBeInstanceOf(
      posts.PostPermissionError,
    );
    expect(await prisma.post.count({ where: { title: "Nope" } })).toBe(0);
  });

  it("bulk status changes check every post first: one refused post changes none", async () => {
    const author = who.AUTHOR;
    const mine = await freshPost(author.user.id);
    const theirs = await freshPost(otherAuthor);
    const before = [await snapshot(mine.id), await snapshot(theirs.id)];
    await expect(
      posts.setPostsStatus(
        [
          { id: mine.id, status: "PUBLISHED" },
          { id: theirs.id, status: "PUBLISHED" },
        ],
        { id: author.user.id },
      ),
    ).rejects.toBeInstanceOf(posts.PostPermissionError);
    expect([await snapshot(mine.id), await snapshot(theirs.id)]).toEqual(before);
  });

  it("deleting: an author's own post yes, another's no (nothing deleted)", async () => {
    const mine = await freshPost(who.AUTHOR.user.id);
    const theirs = await freshPost(otherAuthor);
    await expect(posts.deletePosts([mine.id, theirs.id], { id: who.AUTHOR.user.id })).rejects.toBeInstanceOf(posts.PostPermissionError);
    expect(await prisma.post.count({ where: { id: { in: [mine.id, theirs.id] } } })).toBe(2);
    expect(await posts.deletePosts([mine.id], { id: who.AUTHOR.user.id })).toBe(1);
  });
});
