// A post's tags survive every admin path that does not mean to change them, whatever their names:
// the change list's inline status edit, bulk actions and revision restores pass the stored tag ids;
// the change form sends its chosen tags by id (checkboxes without JavaScript, chips with it) and only
// tags typed to add by name. New names never merge into another tag (a clashing or empty slug gets a
// unique one), and a tag name holds no comma (the no-JS field separates names with them).
import request from "supertest";
import { beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../src/app.ts";
import * as posts from "../../src/posts/service.ts";
import { url } from "../../src/web/urls.ts";
import { csrfPost, makePost, makeTag, prisma, signedIn, type Signed } from "../support/fixtures.ts";
import { formBody, formValues } from "../support/html.ts";

const app = buildApp();
let editor: Signed;

beforeAll(async () => {
  editor = await signedIn(app, "EDITOR");
});

const tagsOf = async (postId: number) =>
  (await prisma.postTag.findMany({ where: { postId }, select: { tagId: true }, orderBy: { tagId: "asc" } })).map((t) => t.tagId);
const changeUrl = (id: number) => url("admin:blog_post_change", { id });
const isPostForm = (a: Record<string, string>) => a.id === "blog_post_form";

/** Opens the post's change form and saves it as shown (no JavaScript), with `over` changed. */
async function saveAsShown(id: number, over: Record<string, string | string[]> = {}, status = 303) {
  const page = await editor.agent.get(changeUrl(id)).expect(200);
  const values = { ...formValues(page.text, isPostForm), _csrf: await editor.session.csrf(), ...over };
  const res = await editor.agent.post(changeUrl(id)).type("form").send(formBody(values));
  expect(res.status, res.text.slice(0, 400)).toBe(status);
  return res;
}

describe("a post's tags through the admin", () => {
  it("(a) an inline status edit, a bulk action and a restore keep C, C++, 日本 and 中文", async () => {
    const tags = [await makeTag("C", "c"), await makeTag("C++", "cpp"), await makeTag("日本", "nihon"), await makeTag("中文", "zhongwen")];
    const ids = tags.map((t) => t.id).sort((a, b) => a - b);
    const p = await makePost({ authorId: editor.user.id, title: "Languages", status: "DRAFT", tagIds: ids });
    const before = await prisma.tag.count();

    await csrfPost(
      editor,
      url("admin:blog_post_changelist"),
      { _save: "1", [`form-${p.id}-status`]: "PUBLISHED", [`initial-form-${p.id}-status`]: "DRAFT", [`form-${p.id}-_version`]: "1" },
      303,
    );
    expect(await prisma.post.findUniqueOrThrow({ where: { id: p.id } })).toMatchObject({ status: "PUBLISHED", version: 2 });
    expect(await tagsOf(p.id)).toEqual(ids);

    await csrfPost(editor, url("admin:blog_post_changelist"), { action: "unpublish", post: "yes", _selected_action: [String(p.id)] }, 303);
    expect(await prisma.post.findUniqueOrThrow({ where: { id: p.id } })).toMatchObject({ status: "DRAFT", version: 3 });
    expect(await tagsOf(p.id)).toEqual(ids);

    const first = await prisma.postRevision.findFirstOrThrow({ where: { postId: p.id }, orderBy: { id: "asc" } });
    await csrfPost(editor, url("admin:blog_post_restore", { id: p.id, rev: first.id }), {}, 303);
    expect((await prisma.post.findUniqueOrThrow({ where: { id: p.id } })).version).toBe(4);
    expect(await tagsOf(p.id)).toEqual(ids);
    // ... and the change form saved as shown
    await saveAsShown(p.id);
    expect(await tagsOf(p.id)).toEqual(ids);
    expect(await prisma.tag.count()).toBe(before);
  });

  it("(b) a post tagged “Hello, world” saved unchanged in the change form keeps that tag and gains none", async () => {
    const hello = await makeTag("Hello, world", "hello-world"); // made before names lost their commas
    const p = await makePost({ authorId: editor.user.id, title: "Greeting", tagIds: [hello.id] });
    const page = await editor.agent.get(changeUrl(p.id)).expect(200);
    // without JavaScript: the chosen tag is a ticked checkbox carrying its id; the text field is for new names
    expect(formValues(page.text, isPostForm)).toMatchObject({ tagIds: String(hello.id), tags: "" });
    expect(page.text).toContain("Hello, world");
    const before = await prisma.tag.count();
    await saveAsShown(p.id, { title: "Greeting!" });
    expect(await tagsOf(p.id)).toEqual([hello.id]);
    expect(await prisma.tag.count()).toBe(before);
    expect(await prisma.tag.findMany({ where: { name: { in: ["Hello", "world"] } } })).toEqual([]);
  });

  it("(c) of two tags named Go, a post tagged golang keeps golang (saved as shown, and with Go typed again)", async () => {
    const go = await makeTag("Go", "go");
    const golang = await makeTag("Go", "golang");
    const p = await makePost({ authorId: editor.user.id, title: "Gophers", tagIds: [golang.id] });
    await saveAsShown(p.id);
    expect(await tagsOf(p.id)).toEqual([golang.id]);
    // a name typed matches the tag of that name the post already has
    await saveAsShown(p.id, { tags: "go" });
    expect(await tagsOf(p.id)).toEqual([golang.id]);
    // unticked (not sent), it is taken off; typed on a post without either, the older one is meant
    await saveAsShown(p.id, { tagIds: [], tags: "" });
    expect(await tagsOf(p.id)).toEqual([]);
    await saveAsShown(p.id, { tags: "Go" });
    expect(await tagsOf(p.id)).toEqual([go.id]);
  });

  it("new names: deduplicated case aside, matched by name, never merged into another tag by slug", async () => {
    const c = await makeTag("Cee", "c-lang");
    const plain = await makeTag("F plain", "f");
    const cafe = await makeTag("Café", "cafe");
    const p = await makePost({ authorId: editor.user.id, title: "Mixed", tagIds: [c.id] });
    await saveAsShown(p.id, { tags: "F#, f#, cafe, 한국어, 日本語, cee" });
    const after = await prisma.tag.findMany({ where: { posts: { some: { postId: p.id } } }, orderBy: { id: "asc" } });
    const created = after.filter((t) => ![c.id, cafe.id].includes(t.id));
    // "cee" is Cee (by name), "cafe" is Café (a real slug); F# is new beside "F plain" (slug f): f-2;
    // the two names slugify() keeps nothing of get tag and tag-2 (new tags are made in name order)
    expect(after.map((t) => t.id)).toEqual(expect.arrayContaining([c.id, cafe.id]));
    expect(after.map((t) => t.id)).not.toContain(plain.id);
    expect(created.map((t) => [t.name, t.slug])).toEqual([
      ["F#", "f-2"],
      ["日本語", "tag"],
      ["한국어", "tag-2"],
    ]);
  });

  it("a comma in a tag name is a field error in the Tag admin (add and change)", async () => {
    const res = await csrfPost(editor, url("admin:blog_tag_add"), { name: "Hello, again", slug: "" }, 400);
    expect(res.text).toContain("A tag name may not contain a comma");
    expect(await prisma.tag.findFirst({ where: { name: "Hello, again" } })).toBeNull();
    const t = await makeTag("Plain name", "plain-name");
    const edit = await csrfPost(editor, url("admin:blog_tag_change", { id: t.id }), { name: "Plain, name", slug: "plain-name", _version: "1" }, 400);
    expect(edit.text).toContain("A tag name may not contain a comma");
    expect((await prisma.tag.findUniqueOrThrow({ where: { id: t.id } })).name).toBe("Plain name");
  });

  it("an autosave of the change form with the tags as shown is not offered; one with a tag unticked is", async () => {
    const [a, b] = [await makeTag("Autosaved A", "autosaved-a"), await makeTag("Autosaved B", "autosaved-b")];
    const p = await makePost({ authorId: editor.user.id, title: "Autosaved", status: "DRAFT", tagIds: [a.id, b.id] });
    const shown = formValues((await editor.agent.get(changeUrl(p.id)).expect(200)).text, isPostForm);
    expect(shown.tagIds).toEqual([String(a.id), String(b.id)]);
    const { _csrf: _, _version: __, ...fields } = shown;
    const offered = async (typed: Record<string, unknown>) => {
      const r = editor.agent
        .post("/autosave/")
        .set("Accept", "application/json")
        .set("Content-Type", "application/json")
        .set("X-CSRF-Token", await editor.session.csrf());
      await r.send(JSON.stringify({ post: p.id, baseVersion: 1, fields: typed })).expect(200);
      return (await editor.agent.get(changeUrl(p.id)).expect(200)).text.includes("data-autosave-offer");
    };
    expect(await offered(fields)).toBe(false);
    expect(await offered({ ...fields, tagIds: String(a.id) })).toBe(true);
  });

  it("a tag id that is not an id is a field error; one of a deleted tag is not put back", async () => {
    const p = await makePost({ authorId: editor.user.id, title: "Ids", status: "DRAFT" });
    const bad = await saveAsShown(p.id, { tagIds: "abc" }, 400);
    expect(bad.text).toContain("Choose tags from the list.");
    const gone = await makeTag("Gone soon", "gone-soon");
    await prisma.tag.delete({ where: { id: gone.id } });
    await saveAsShown(p.id, { tagIds: String(gone.id) });
    expect(await tagsOf(p.id)).toEqual([]);
  });

  describe("new tag names", () => {
    const create = (title: string, tagNames: string[], status: "DRAFT" | "PUBLISHED" = "DRAFT") =>
      posts.createPost({ title, body: "Text.", status, authorId: editor.user.id, categoryId: null, tagNames }, editor.user);
    const tagsNamed = (name: string) => prisma.tag.findMany({ where: { name: { equals: name, mode: "insensitive" } } });

    it("concurrent saves naming the same new tag end with one tag, on all posts", async () => {
      // a race: some rounds, so that one save's lookup comes before, and its insert after, another's commit
      for (const name of ["Zebra", "Okapi", "Quokka", "Numbat", "Tapir", "Dugong", "Kakapo", "Axolotl"]) {
        const saved = await Promise.all([1, 2, 3].map((i) => create(`${name} ${i}`, [i === 2 ? name.toLowerCase() : name])));
        const tags = await tagsNamed(name);
        expect(tags.map((t) => t.slug)).toEqual([name.toLowerCase()]);
        for (const p of saved) expect(await tagsOf(p.id)).toEqual([tags[0]!.id]);
      }
    });

    it("a name slugify() keeps only part of (中文 Rust) is a new tag, not Rust; Crème is still found as creme", async () => {
      const rust = await makeTag("Rust", "rust");
      const creme = await makeTag("Creme", "creme");
      const p = await create("Mixed scripts", ["中文 Rust", "Crème"]);
      const mixed = await prisma.tag.findFirstOrThrow({ where: { name: "中文 Rust" } });
      expect(mixed.id).not.toBe(rust.id);
      expect(mixed.slug).toBe("rust-2");
      expect(await tagsOf(p.id)).toEqual([creme.id, mixed.id].sort((a, b) => a - b));
      expect(await tagsNamed("Crème")).toEqual([]);
    });

    it("a tag named with two spaces in a row survives an unchanged save", async () => {
      const primer = await makeTag("C++  Primer", "cpp-primer"); // the Tag admin trims only the ends
      const p = await makePost({ authorId: editor.user.id, title: "Primer", status: "DRAFT", tagIds: [primer.id] });
      const before = await prisma.tag.count();
      const page = await editor.agent.get(changeUrl(p.id)).expect(200);
      expect(formValues(page.text, isPostForm).tagIds).toBe(String(primer.id));
      expect(page.text).toContain("C++  Primer");
      await saveAsShown(p.id);
      expect((await prisma.post.findUniqueOrThrow({ where: { id: p.id } })).version).toBe(2);
      expect(await tagsOf(p.id)).toEqual([primer.id]);
      expect(await prisma.tag.count()).toBe(before);
    });

    it("a long name cut at the length limit gets a slug without a trailing hyphen, and its tag page", async () => {
      const slugPattern = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
      for (const name of ["x".repeat(95) + " y!", "ä".repeat(49) + "a bcd"]) {
        const p = await create(`Long cut ${name.length}`, [name], "PUBLISHED");
        const tag = await prisma.tag.findFirstOrThrow({ where: { name } });
        expect(tag.slug).toMatch(slugPattern);
        expect(await tagsOf(p.id)).toEqual([tag.id]);
        await request(app)
          .get(url("blog:tag_detail", { slug: tag.slug }))
          .expect(200);
      }
      // a second name cut to the same slug gets slug-2, also matching the pattern
      const again = await create("Long again", ["x".repeat(95) + " z!"]);
      const [second] = await prisma.tag.findMany({ where: { posts: { some: { postId: again.id } } } });
      expect(second!.slug).toBe(`${"x".repeat(95)}-2`);
    });
  });
});
