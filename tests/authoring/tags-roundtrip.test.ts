// /write/'s tag field is comma-separated names: a post edited and saved unchanged keeps exactly its
// tags, whatever their names (C and C++, non-Latin names, two tags named Go, a name with a comma made
// before names lost their commas), and a name added beside them makes one new tag of its own.
import { beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../src/app.ts";
import { makePost, makeTag, prisma, signedIn, type Signed } from "../support/fixtures.ts";
import { formBody, formValues } from "../support/html.ts";

const app = buildApp();
let author: Signed;

beforeAll(async () => {
  author = await signedIn(app, "AUTHOR");
});

const tagsOf = async (postId: number) =>
  (await prisma.postTag.findMany({ where: { postId }, select: { tagId: true }, orderBy: { tagId: "asc" } })).map((t) => t.tagId);
const isWriteForm = (a: Record<string, string>) => a.class === "form";

/** Opens /write/<id>/edit/ and saves it as shown, with `over` changed. */
async function saveAsShown(id: number, over: Record<string, string> = {}) {
  const path = `/write/${id}/edit/`;
  const page = await author.agent.get(path).expect(200);
  const values = formValues(page.text, isWriteForm);
  const res = await author.agent
    .post(path)
    .type("form")
    .send(formBody({ ...values, ...over }));
  expect(res.status, res.text.slice(0, 400)).toBe(303);
  return values;
}

describe("/write/ round trip of a post's tags", () => {
  it("an edit saved unchanged keeps every tag and makes none", async () => {
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
    expect(shown.tags).toBe("C, C++, Go, Hello, world, 中文, 日本");
    expect(await tagsOf(p.id)).toEqual(ids);
    expect(await prisma.tag.count()).toBe(before);
    expect((await prisma.post.findUniqueOrThrow({ where: { id: p.id } })).version).toBe(2);

    // a name added: one new tag of its own slug; C# is not C (slug c), so it gets c-2
    await saveAsShown(p.id, { tags: `${shown.tags}, C#` });
    const added = await prisma.tag.findFirstOrThrow({ where: { name: "C#" } });
    expect(added.slug).toBe("c-2");
    expect(await tagsOf(p.id)).toEqual([...ids, added.id].sort((a, b) => a - b));
    // one taken off: only that one goes
    await saveAsShown(p.id, { tags: "C, C++, Go, Hello, world, 中文, C#" });
    expect(await tagsOf(p.id)).toEqual([...ids.filter((id) => id !== tags[2]!.id), added.id].sort((a, b) => a - b));
  });
});
