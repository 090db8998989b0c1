// An author's post through the one editor (the admin's change form, as an author sees it, without
// JavaScript): saved unchanged, it keeps exactly its tags, whatever their names (C and C++, non-Latin
// names, two tags named Go, a name with a comma made before names lost their commas), since chosen tags
// travel by id; a name typed beside them makes one new tag of its own; a tag unticked goes alone.
import { beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../src/app.ts";
import { url } from "../../src/web/urls.ts";
import { makePost, makeTag, prisma, signedIn, type Signed } from "../support/fixtures.ts";
import { formBody, formValues } from "../support/html.ts";

const app = buildApp();
let author: Signed;

beforeAll(async () => {
  author = await signedIn(app, "AUTHOR");
});

const tagsOf = async (postId: number) =>
  (await prisma.postTag.findMany({ where: { postId }, select: { tagId: true }, orderBy: { tagId: "asc" } })).map((t) => t.tagId);
const isPostForm = (a: Record<string, string>) => a.id === "blog_post_form";
const asList = (v: string | string[] | undefined) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Opens the post in the editor and saves it as shown, with `over` changed. */
async function saveAsShown(id: number, over: Record<string, string | string[]> = {}) {
  const path = url("admin:blog_post_change", { id });
  const page = await author.agent.get(path).expect(200);
  const values = formValues(page.text, isPostForm);
  const res = await author.agent
    .post(path)
    .type("form")
    .send(formBody({ ...values, _csrf: await author.session.csrf(), _continue: "1", ...over }));
  expect(res.status, res.text.slice(0, 400)).toBe(303);
  return values;
}

describe("an author's round trip of a post's tags in the editor", () => {
  it("an edit saved unchanged keeps every tag and makes none; a typed name adds one; an unticked tag goes", async () => {
    await makeTag("Go", "go");
    const tags = [
      await makeTag("C", "c"),
      await makeTag("C++", "cpp"),
      await makeTag("日本", "nihon"),
      await makeTag("中文", "zhongwen"),
      await makeTag("Go", "golang"),
      await makeTag("Hello, world", "hello-world"), // made before tag names lost their commas
    ];
    const ids = tags.map((t) => t.id).sort((a, b) => a - b);
    const p = await makePost({ authorId: author.user.id, title: "Round trip", status: "DRAFT", tagIds: ids });
    const before = await prisma.tag.count();
    const shown = await saveAsShown(p.id);
    expect(
      asList(shown.tagIds)
        .map(Number)
        .sort((a, b) => a - b),
    ).toEqual(ids);
    expect(shown.tags ?? "").toBe(""); // the text field is only for names to add
    expect(await tagsOf(p.id)).toEqual(ids);
    expect(await prisma.tag.count()).toBe(before);
    expect((await prisma.post.findUniqueOrThrow({ where: { id: p.id } })).version).toBe(2);

    // a name added: one new tag of its own slug; C# is not C (slug c), so it gets c-2
    await saveAsShown(p.id, { tags: "C#" });
    const added = await prisma.tag.findFirstOrThrow({ where: { name: "C#" } });
    expect(added.slug).toBe("c-2");
    expect(await tagsOf(p.id)).toEqual([...ids, added.id].sort((a, b) => a - b));
    // one taken off (unticked): only that one goes
    const kept = [...ids.filter((id) => id !== tags[2]!.id), added.id].sort((a, b) => a - b);
    await saveAsShown(p.id, { tagIds: kept.map(String) });
    expect(await tagsOf(p.id)).toEqual(kept);
  });
});
