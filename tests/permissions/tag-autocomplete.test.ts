// The tag field's suggestions (admin:tag_autocomplete): every writer may ask (post.create), readers and
// anonymous visitors may not; at most 20 tags whose name or slug begins with the typed text (the text
// taken literally: % and _ are no wildcards); only ids, names and slugs, nothing about posts. A writer
// who cannot see every post is offered only tags on a live post or on their own posts.
import request from "supertest";
import { beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../src/app.ts";
import { url } from "../../src/web/urls.ts";
import { TAG_SUGGESTIONS } from "../../src/admin/widgets.ts";
import { csrfPost, makePost, makeTag, prisma, signedIn, type Signed } from "../support/fixtures.ts";

const app = buildApp();
const path = (term?: string) => url("admin:tag_autocomplete", {}, term === undefined ? {} : { term });
let author: Signed;

beforeAll(async () => {
  author = await signedIn(app, "AUTHOR");
  await prisma.tag.createMany({
    data: [
      ...Array.from({ length: 25 }, (_, i) => ({ name: `Series ${String(i).padStart(2, "0")}`, slug: `series-${String(i).padStart(2, "0")}` })),
      { name: "C++", slug: "cpp" },
      { name: "50% off", slug: "50-off" },
      { name: "500 errors", slug: "500-errors" },
      { name: "snake_case", slug: "snake-case" },
      { name: "snakeXcase", slug: "snakexcase" },
      { name: "Cloud", slug: "cloud" },
    ],
  });
  // all of them on a live post of someone else's: shown on the site, so offered to every writer
  const editor = await signedIn(app, "EDITOR");
  const tagIds = (await prisma.tag.findMany({ select: { id: true } })).map((t) => t.id);
  await makePost({ authorId: editor.user.id, tagIds });
});

const names = async (term: string, who: Signed = author) =>
  ((await who.agent.get(path(term)).expect(200)).body as { results: { name: string }[] }).results.map((r) => r.name);

/** The change form of a new draft of `who`'s, sent back invalid (no title) with these tag ids: the page shown again. */
async function shownAgain(who: Signed, tagIds: number[]) {
  const post = await makePost({ authorId: who.user.id, status: "DRAFT" });
  const body = { title: "", body: "x", status: "DRAFT", _version: "1", tagIds: tagIds.map(String) };
  const res = await csrfPost(who, url("admin:blog_post_change", { id: post.id }), body, 400);
  expect(res.text).toContain("This field is required.");
  return res.text;
}

describe("tag suggestions", () => {
  it("answers writers only: anonymous -> login, a reader -> 403, an author -> the tags", async () => {
    expect((await request(app).get(path("s"))).status).toBe(302);
    const reader = await signedIn(app, "READER");
    await reader.agent.get(path("s")).expect(403);
    const res = await author.agent.get(path("c+")).expect(200).expect("Content-Type", /json/);
    expect(res.body).toEqual({ results: [{ id: expect.any(Number), name: "C++", slug: "cpp" }] });
  });

  it("lists at most 20, by name, matching the beginning of the name or of the slug, case aside", async () => {
    const all = await names("series");
    expect(all).toHaveLength(TAG_SUGGESTIONS);
    expect(all[0]).toBe("Series 00");
    expect(all).toEqual([...all].sort());
    expect(await names("SERIES 2")).toEqual(["Series 20", "Series 21", "Series 22", "Series 23", "Series 24"]);
    expect(await names("cpp")).toEqual(["C++"]); // by slug
    expect(await names("snake case")).toEqual(["snake_case"]); // the slug of what is typed
    expect(await names("eries")).toEqual([]); // a prefix, not a substring
  });

  it("takes % and _ literally; a typed c++ is not the slug c (which would find every tag beginning with c)", async () => {
    expect(await names("c++")).toEqual(["C++"]);
    expect(await names("50%")).toEqual(["50% off"]);
    expect(await names("snake_")).toEqual(["snake_case"]);
  });

  it("offers an author no tag used only on another writer's draft or scheduled post; their own drafts' tags, yes; editors see all", async () => {
    const other = await signedIn(app, "AUTHOR");
    const secret = await makeTag("Zeta merger", "zeta-merger");
    const planned = await makeTag("Zeta launch", "zeta-launch");
    const mine = await makeTag("Zeta notes", "zeta-notes");
    await makePost({ authorId: other.user.id, status: "DRAFT", tagIds: [secret.id] });
    await makePost({ authorId: other.user.id, status: "SCHEDULED", tagIds: [planned.id] });
    await makePost({ authorId: author.user.id, status: "DRAFT", tagIds: [mine.id] });
    expect(await names("zeta")).toEqual(["Zeta notes"]);
    expect(await names("zeta", await signedIn(app, "EDITOR"))).toEqual(["Zeta launch", "Zeta merger", "Zeta notes"]);
  });

  it("a form shown again with its errors names only tags the author may know: sent ids of another's draft tags are not looked up", async () => {
    const other = await signedIn(app, "AUTHOR");
    const secret = await makeTag("Quiet acquisition", "quiet-acquisition");
    await makePost({ authorId: other.user.id, status: "DRAFT", tagIds: [secret.id] });
    expect(await shownAgain(author, [secret.id])).not.toContain("Quiet acquisition");
    expect(await shownAgain(await signedIn(app, "EDITOR"), [secret.id])).toContain("Quiet acquisition"); // editors see every post, and so every tag
  });

  it("answers a bad query with 400, never a 500", async () => {
    await author.agent.get(`${path()}?term=a&term=b`).expect(400);
    await author.agent.get(path("x".repeat(101))).expect(400);
    expect(await names("\u0000 ser")).toEqual(await names("ser")); // control characters dropped, as in every search box
  });
});
