// Publishing as writers expect, on every path that publishes (the admin's change form, its bulk
// publish action, its inline status edit, an author in the editor): a draft whose publish time the writer
// never set takes the moment of publishing; a time the writer chose stays as chosen (past or future).
// And the excerpt: an automatic one follows the body on every save; a hand-written one stays until
// cleared. Both rules live in the posts service's one save path (publishTime, excerptFor).
import { beforeAll, describe, expect, it } from "vitest";
import request from "supertest";
import { buildApp } from "../../src/app.ts";
import { excerptFrom } from "../../src/blog/markdown.ts";
import { createPost, EXCERPT_RULE, PUBLISH_RULE, publishTime } from "../../src/posts/service.ts";
import { url } from "../../src/web/urls.ts";
import { csrfPost, makePost, prisma, type Signed, signedIn } from "../support/fixtures.ts";
import { formBody, formValues } from "../support/html.ts";

const app = buildApp();
let editor: Signed;
let author: Signed;

const OCTOBER = new Date("2026-10-02T08:00:00Z");
const escaped = (s: string) => s.replace(/&/g, "&amp;").replace(/'/g, "&#39;").replace(/"/g, "&quot;");

beforeAll(async () => {
  editor = await signedIn(app, "EDITOR");
  author = await signedIn(app, "AUTHOR");
});

/** A draft written in October whose publish time nobody set (created through the save path, then aged). */
async function octoberDraft(title: string, authorId = editor.user.id) {
  const p = await createPost({ title, body: `Body of ${title}.`, status: "DRAFT", authorId, categoryId: null }, { id: authorId });
  expect(p.publishPinned).toBe(false);
  await prisma.post.update({ where: { id: p.id }, data: { publish: OCTOBER, createdAt: OCTOBER } });
  return p;
}

/** Runs `fn`, then expects the post's publish time to be a moment during it, and pinned. */
async function expectPublishedNow(id: number, fn: () => Promise<unknown>) {
  const t0 = Date.now();
  await fn();
  const t1 = Date.now();
  const p = await prisma.post.findUniqueOrThrow({ where: { id } });
  expect(p.status).toBe("PUBLISHED");
  expect(p.publishPinned).toBe(true);
  expect(p.publish.getTime()).toBeGreaterThanOrEqual(t0 - 1);
  expect(p.publish.getTime()).toBeLessThanOrEqual(t1 + 1);
  return p;
}

const stored = async (id: number) => prisma.post.findUniqueOrThrow({ where: { id } });

function changeForm(p: { id: number; title: string; slug: string; body: string; authorId: number; version: number }, over: Record<string, unknown> = {}) {
  return {
    title: p.title,
    slug: p.slug,
    authorId: String(p.authorId),
    categoryId: "",
    body: p.body,
    excerpt: "",
    metaDescription: "",
    status: "DRAFT",
    publish: "",
    _version: String(p.version),
    ...over,
  };
}

describe("the rule (publishTime)", () => {
  const now = new Date("2026-12-01T12:00:00Z");
  const draft = { status: "DRAFT" as const, publish: OCTOBER, publishPinned: false };
  it.each([
    ["new draft, no time chosen: now as a placeholder, not pinned", null, null, "DRAFT", now, false],
    ["new post published at once: now, pinned", null, undefined, "PUBLISHED", now, true],
    ["unpinned draft saved as a draft: keeps its placeholder, not pinned", draft, null, "DRAFT", OCTOBER, false],
    ["unpinned draft published (no field on this path): now", draft, undefined, "PUBLISHED", now, true],
    ["unpinned draft published (field left empty): now", draft, null, "PUBLISHED", now, true],
    ["a chosen past time stays", draft, new Date("2026-09-09T09:00:00Z"), "PUBLISHED", new Date("2026-09-09T09:00:00Z"), true],
    ["a chosen future time stays (scheduled)", draft, new Date("2027-01-01T00:00:00Z"), "PUBLISHED", new Date("2027-01-01T00:00:00Z"), true],
    ["a pinned draft published on a path without the field keeps its time", { ...draft, publishPinned: true }, undefined, "PUBLISHED", OCTOBER, true],
    ["a published post (even one never pinned) keeps its time", { ...draft, status: "PUBLISHED" as const }, undefined, "DRAFT", OCTOBER, true],
    [
      "emptying the field of a published post re-dates it to now",
      { ...draft, status: "PUBLISHED" as const, publishPinned: true },
      null,
      "PUBLISHED",
      now,
      true,
    ],
  ] as const)("%s", (_label, before, chosen, status, publish, pinned) => {
    expect(publishTime(before, chosen, status, now)).toEqual({ publish, publishPinned: pinned });
  });
});

describe("admin change form", () => {
  it("states the rule next to the field; a new post's time starts empty and saving it does not choose one", async () => {
    const add = await editor.agent.get(url("admin:blog_post_add")).expect(200);
    expect(add.text).toContain(escaped(PUBLISH_RULE));
    expect(add.text).toMatch(/<input type="datetime-local" id="id_publish" name="publish" value=""/);
    expect(add.text).toContain("Not set: the post takes the moment it is published.");
    await csrfPost(
      editor,
      url("admin:blog_post_add"),
      { title: "Added as draft", slug: "", authorId: String(editor.user.id), body: "Text.", excerpt: "", metaDescription: "", status: "DRAFT", publish: "" },
      303,
    );
    const p = await prisma.post.findFirstOrThrow({ where: { title: "Added as draft" } });
    expect(p.publishPinned).toBe(false);
    // the change form shows it empty too, and saving it unchanged keeps it unset
    const form = await editor.agent.get(url("admin:blog_post_change", { id: p.id })).expect(200);
    expect(form.text).toMatch(/name="publish" value=""/);
    await csrfPost(editor, url("admin:blog_post_change", { id: p.id }), changeForm(p, { body: "More text." }), 303);
    expect((await stored(p.id)).publishPinned).toBe(false);
  });

  it("publishing a draft from October whose time was never set gives it the moment of publishing (and today's URL)", async () => {
    const p = await octoberDraft("Old October draft");
    const after = await expectPublishedNow(p.id, () =>
      csrfPost(editor, url("admin:blog_post_change", { id: p.id }), changeForm(p, { status: "PUBLISHED" }), 303),
    );
    const d = after.publish;
    const path = `/blog/${d.getUTCFullYear()}/${String(d.getUTCMonth() + 1).padStart(2, "0")}/${String(d.getUTCDate()).padStart(2, "0")}/${after.slug}/`;
    expect((await request(app).get(path).expect(200)).text).toContain('<h1 class="post-title">Old October draft</h1>');
    // the form now shows the time it got
    const form = await editor.agent.get(url("admin:blog_post_change", { id: p.id })).expect(200);
    expect(form.text).toContain(`name="publish" value="${d.toISOString().slice(0, 16)}"`);
  });

  it("a time the writer entered stays as entered when the post is published: past or future", async () => {
    const past = await octoberDraft("Dated in the past");
    await csrfPost(editor, url("admin:blog_post_change", { id: past.id }), changeForm(past, { publish: "2026-10-05T09:00" }), 303);
    expect(await stored(past.id)).toMatchObject({ publishPinned: true, status: "DRAFT" });
    const form = await editor.agent.get(url("admin:blog_post_change", { id: past.id })).expect(200);
    expect(form.text).toContain('name="publish" value="2026-10-05T09:00"');
    // published with the pre-filled value sent back unchanged: the chosen time stays
    await csrfPost(
      editor,
      url("admin:blog_post_change", { id: past.id }),
      changeForm(past, { status: "PUBLISHED", publish: "2026-10-05T09:00", _version: "2" }),
      303,
    );
    expect((await stored(past.id)).publish.toISOString()).toBe("2026-10-05T09:00:00.000Z");

    const future = await octoberDraft("Scheduled for later");
    await csrfPost(editor, url("admin:blog_post_change", { id: future.id }), changeForm(future, { status: "PUBLISHED", publish: "2030-01-01T10:00" }), 303);
    expect(await stored(future.id)).toMatchObject({ status: "PUBLISHED", publishPinned: true, publish: new Date("2030-01-01T10:00:00Z") });
  });
});

describe("admin bulk publish", () => {
  it("unset times become the moment of publishing, chosen times stay; a post whose slug is taken on today's date is reported, not published", async () => {
    const unset = await octoberDraft("Bulk unset");
    const past = await makePost({ authorId: editor.user.id, title: "Bulk past", publish: new Date("2026-10-07T07:00:00Z"), status: "DRAFT" });
    const future = await makePost({ authorId: editor.user.id, title: "Bulk future", publish: new Date("2031-05-05T05:00:00Z"), status: "DRAFT" });
    const clash = await octoberDraft("Bulk clash");
    await makePost({ authorId: editor.user.id, title: "Already here today", slug: clash.slug, status: "PUBLISHED", publish: new Date() });
    const ids = [unset, past, future, clash].map((p) => String(p.id));
    const confirm = await csrfPost(editor, url("admin:blog_post_changelist"), { action: "publish", _selected_action: ids }, 200);
    expect(confirm.text).toContain("A draft whose publish time was never set takes the current time; a time the writer chose stays");
    let res: Awaited<ReturnType<typeof csrfPost>> | undefined;
    await expectPublishedNow(
      unset.id,
      async () => (res = await csrfPost(editor, url("admin:blog_post_changelist"), { action: "publish", post: "yes", _selected_action: ids }, 303)),
    );
    expect(await stored(past.id)).toMatchObject({ status: "PUBLISHED", publish: new Date("2026-10-07T07:00:00Z") });
    expect(await stored(future.id)).toMatchObject({ status: "PUBLISHED", publish: new Date("2031-05-05T05:00:00Z") });
    expect(await stored(clash.id)).toMatchObject({ status: "DRAFT", publish: OCTOBER, publishPinned: false, version: 1 });
    const page = await editor.agent.get(String(res!.headers.location)).expect(200);
    expect(page.text).toContain("Successfully published 3 posts.");
    expect(page.text).toContain(`Not published: “Bulk clash”: The slug &quot;${clash.slug}&quot; is already used by another post published on`);
  });
});

describe("admin inline status edit", () => {
  it("publishing from the list: an unset time becomes now, a chosen one stays", async () => {
    const unset = await octoberDraft("Inline unset");
    const chosen = await makePost({ authorId: editor.user.id, title: "Inline chosen", publish: new Date("2026-10-09T09:09:00Z"), status: "DRAFT" });
    const list = await editor.agent.get(url("admin:blog_post_changelist", {}, { q: "Inline" })).expect(200);
    expect(list.text).toContain(`name="initial-form-${unset.id}-status" value="DRAFT"`);
    const row = (p: { id: number }) => ({ [`form-${p.id}-status`]: "PUBLISHED", [`initial-form-${p.id}-status`]: "DRAFT", [`form-${p.id}-_version`]: "1" });
    await expectPublishedNow(unset.id, () => csrfPost(editor, url("admin:blog_post_changelist"), { _save: "1", ...row(unset), ...row(chosen) }, 303));
    expect(await stored(chosen.id)).toMatchObject({ status: "PUBLISHED", publish: new Date("2026-10-09T09:09:00Z") });
  });
});

describe("the editor, as an author (the admin's form: the one editor)", () => {
  const isPostForm = (a: Record<string, string>) => a.id === "blog_post_form";
  /** Opens the editor (a new post, or post `id`) and saves it as shown, with `over` changed. */
  async function save(id: number | null, over: Record<string, string>) {
    const path = id === null ? url("admin:blog_post_add") : url("admin:blog_post_change", { id });
    const values = formValues((await author.agent.get(path).expect(200)).text, isPostForm);
    return author.agent
      .post(path)
      .type("form")
      .send(formBody({ ...values, _csrf: await author.session.csrf(), _continue: "1", ...over }));
  }

  it("states the rule next to the publish time; a draft written in October and published now gets now and today's URL", async () => {
    const page = await author.agent.get(url("admin:blog_post_add")).expect(200);
    expect(page.text).toContain(escaped(PUBLISH_RULE));
    await save(null, { title: "Author's October draft", body: "Draft text.", status: "DRAFT" }).then((r) => expect(r.status).toBe(303));
    const p = await prisma.post.findFirstOrThrow({ where: { title: "Author's October draft" } });
    expect(p.publishPinned).toBe(false);
    await prisma.post.update({ where: { id: p.id }, data: { publish: OCTOBER } });
    let res: request.Response | undefined;
    const after = await expectPublishedNow(p.id, async () => (res = await save(p.id, { body: "Final text.", status: "PUBLISHED", publish: "" })));
    expect(res!.status).toBe(303);
    expect(after.publishDate!.toISOString().slice(0, 10)).toBe(after.publish.toISOString().slice(0, 10)); // today's URL (UTC site)
  });

  it("a time set in the admin stays when the author publishes", async () => {
    const p = await makePost({ authorId: author.user.id, title: "Author's dated draft", publish: new Date("2026-10-03T03:00:00Z"), status: "DRAFT" });
    await save(p.id, { body: "Done.", status: "PUBLISHED" }).then((r) => expect(r.status).toBe(303));
    expect(await stored(p.id)).toMatchObject({ status: "PUBLISHED", publish: new Date("2026-10-03T03:00:00Z") });
  });

  it("publishing a draft whose slug is taken on today's date: a clear message, the text kept, nothing saved", async () => {
    const p = await octoberDraft("Taken today", author.user.id);
    await makePost({ authorId: editor.user.id, title: "Taken today", slug: p.slug, status: "PUBLISHED", publish: new Date() });
    const res = await save(p.id, { body: "My final text.", status: "PUBLISHED" });
    expect(res.status).toBe(400);
    expect(res.text).toContain(`The slug &quot;${p.slug}&quot; is already used by another post published on`);
    expect(res.text).toContain("My final text.");
    expect(await stored(p.id)).toMatchObject({ status: "DRAFT", version: 1 });
  });
});

describe("excerpt", () => {
  it("admin: the rule is stated; an automatic excerpt follows the body on every save, a hand-written one stays until cleared", async () => {
    const add = await editor.agent.get(url("admin:blog_post_add")).expect(200);
    expect(add.text).toContain(escaped(EXCERPT_RULE));
    await csrfPost(
      editor,
      url("admin:blog_post_add"),
      {
        title: "Excerpt post",
        slug: "",
        authorId: String(editor.user.id),
        body: "First body text.",
        excerpt: "",
        metaDescription: "",
        status: "DRAFT",
        publish: "",
      },
      303,
    );
    let p = await prisma.post.findFirstOrThrow({ where: { title: "Excerpt post" } });
    expect(p.excerpt).toBe("First body text.");
    // the form shows the automatic excerpt; sent back as shown with a new body, it follows the body
    const form = await editor.agent.get(url("admin:blog_post_change", { id: p.id })).expect(200);
    expect(form.text).toContain(">First body text.</textarea>");
    await csrfPost(editor, url("admin:blog_post_change", { id: p.id }), changeForm(p, { body: "Second body text.", excerpt: "First body text." }), 303);
    p = await stored(p.id);
    expect(p.excerpt).toBe("Second body text.");
    // a hand-written excerpt stays through body changes
    await csrfPost(editor, url("admin:blog_post_change", { id: p.id }), changeForm(p, { body: "Third body text.", excerpt: "Written by hand." }), 303);
    p = await stored(p.id);
    await csrfPost(editor, url("admin:blog_post_change", { id: p.id }), changeForm(p, { body: "Fourth body text.", excerpt: "Written by hand." }), 303);
    p = await stored(p.id);
    expect(p.excerpt).toBe("Written by hand.");
    // stored as written: its line breaks survive a save that does not touch it (bulk publish below)
    await csrfPost(editor, url("admin:blog_post_change", { id: p.id }), changeForm(p, { excerpt: "Line one.\n\nLine  two." }), 303);
    p = await stored(p.id);
    expect(p.excerpt).toBe("Line one.\n\nLine  two.");
    await csrfPost(editor, url("admin:blog_post_change", { id: p.id }), changeForm(p, { body: "Body again.", excerpt: p.excerpt }), 303);
    p = await stored(p.id);
    expect(p.excerpt).toBe("Line one.\n\nLine  two.");
    // cleared: automatic again
    await csrfPost(editor, url("admin:blog_post_change", { id: p.id }), changeForm(p, { body: "Fifth body text.", excerpt: "" }), 303);
    expect((await stored(p.id)).excerpt).toBe("Fifth body text.");
  });

  it("bulk and inline status changes and an author's save in the editor keep the same rule", async () => {
    const isPostForm = (a: Record<string, string>) => a.id === "blog_post_form";
    const saveAsAuthor = async (id: number, over: Record<string, string>) => {
      const path = url("admin:blog_post_change", { id });
      const values = formValues((await author.agent.get(path).expect(200)).text, isPostForm);
      await author.agent
        .post(path)
        .type("form")
        .send(formBody({ ...values, _csrf: await author.session.csrf(), _continue: "1", ...over }))
        .expect(303);
    };
    const auto = await makePost({ authorId: author.user.id, title: "Auto excerpt", body: "Alpha words here.", status: "DRAFT" });
    await saveAsAuthor(auto.id, { body: "Beta words now." }); // the excerpt field as shown: the automatic one
    expect((await stored(auto.id)).excerpt).toBe(excerptFrom("Beta words now.", 40));
    const hand = await makePost({ authorId: author.user.id, title: "Hand excerpt", body: "Gamma.", status: "DRAFT" });
    await prisma.post.update({ where: { id: hand.id }, data: { excerpt: "By hand." } });
    await saveAsAuthor(hand.id, { body: "Delta." });
    expect((await stored(hand.id)).excerpt).toBe("By hand.");
    await csrfPost(editor, url("admin:blog_post_changelist"), { action: "publish", post: "yes", _selected_action: [String(hand.id)] }, 303);
    expect(await stored(hand.id)).toMatchObject({ status: "PUBLISHED", excerpt: "By hand." });
  });
});
