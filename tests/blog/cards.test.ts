// post_card_memo: the memoised post card renders exactly what the macro renders, and is never stale.
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import request from "supertest";
import { buildApp } from "../../src/app.ts";
import { config } from "../../src/config.ts";
import { prisma } from "../../src/db/index.ts";
import { createTemplateEnv } from "../../src/web/templates.ts";
import { installPostCardMemo } from "../../src/blog/cards.ts";
import { listPublished } from "../../src/blog/queries.ts";
import { createUser, csrfPost, makeCategory, makePost, makeTag, signedIn } from "../support/fixtures.ts";

const app = buildApp();
// Writes here go around the save paths (straight SQL, or a clock moved) and the checks read the layers
// under the full-page cache (src/cache/pages.ts, tested in tests/cache/page-cache.test.ts): pages uncached.
(config as { PAGE_CACHE: boolean }).PAGE_CACHE = false;
let categoryId = 0;
let tagId = 0;
let userId = 0;

beforeAll(async () => {
  userId = (await createUser({ role: "AUTHOR", username: "carder", firstName: "Card", lastName: "Writer" })).user.id;
  categoryId = (await makeCategory("Old category", "cat-memo")).id;
  tagId = (await makeTag("oldtag", "tag-memo")).id;
  await makePost({ title: "Memo post", authorId: userId, categoryId, tagIds: [tagId], publish: new Date("2026-03-01T10:00:00Z") });
  await makePost({ title: "Second <b>post</b>", authorId: userId, publish: new Date("2026-03-02T10:00:00Z"), excerpt: "An & excerpt" });
});

describe("post_card_memo", () => {
  it("renders the same HTML as the post_card macro", async () => {
    const { posts } = await listPublished({ page: 1, perPage: 10 });
    const plain = createTemplateEnv();
    installPostCardMemo(plain, false);
    const memo = createTemplateEnv();
    installPostCardMemo(memo, true);
    for (const heading of ["h2", "h3"]) {
      const tpl = `{% for p in posts %}{{ post_card_memo(p, "${heading}") }}{% endfor %}`;
      const direct = plain.renderString(tpl, { posts });
      expect(direct).toContain(`<${heading} class="post-card-title">`);
      expect(direct).toContain("Second &lt;b&gt;post&lt;/b&gt;");
      expect(memo.renderString(tpl, { posts })).toBe(direct);
      expect(memo.renderString(tpl, { posts })).toBe(direct); // from the memo
      // post_cards(posts, heading): the same cards, without a template loop
      expect(memo.renderString(`{{ post_cards(posts, "${heading}") }}`, { posts })).toBe(direct);
      expect(plain.renderString(`{{ post_cards(posts, "${heading}") }}`, { posts })).toBe(direct);
    }
  });

  it("shows renamed categories, authors and edited titles at once, even when changed outside Folio", async () => {
    expect((await request(app).get("/blog/").expect(200)).text).toContain(">Old category</a>");
    await prisma.category.update({ where: { id: categoryId }, data: { name: "New category" } });
    await prisma.user.update({ where: { id: userId }, data: { firstName: "Renamed" } });
    await prisma.post.updateMany({ where: { title: "Memo post" }, data: { title: "Memo post edited" } });
    const res = await request(app).get("/blog/").expect(200);
    expect(res.text).toContain(">New category</a>");
    expect(res.text).toContain(">Renamed Writer</a>");
    expect(res.text).toContain(">Memo post edited</a>");
    expect(res.text).not.toContain("Old category");
  });
});

describe("tag names on cards", () => {
  afterEach(() => vi.useRealTimers());

  it("a tag renamed in the admin shows at once", async () => {
    const before = await prisma.tag.findUniqueOrThrow({ where: { id: tagId } }); // whichever test ran before
    expect((await request(app).get("/blog/").expect(200)).text).toContain(`>${before.name}</a>`);
    const editor = await signedIn(app, "EDITOR");
    await csrfPost(editor, `/admin/blog/tag/${tagId}/change/`, { name: "newtag", slug: "tag-memo", _version: String(before.version) }, 303);
    const res = await request(app).get("/blog/").expect(200);
    expect(res.text).toContain(">newtag</a>");
    expect(res.text).not.toContain(`#${before.name}<`);
  });

  it("a tag renamed outside Folio (SQL) shows after a minute at the latest", async () => {
    const known = (await prisma.tag.findUniqueOrThrow({ where: { id: tagId } })).name; // whichever test ran before
    await request(app).get("/blog/").expect(200); // names loaded
    await prisma.tag.update({ where: { id: tagId }, data: { name: "sqltag" } });
    expect((await request(app).get("/blog/").expect(200)).text).toContain(`>${known}</a>`); // still the known name
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 61_000);
    expect((await request(app).get("/blog/").expect(200)).text).toContain(">sqltag</a>");
  });

  it("lists a post's tags by name, whatever their ids", async () => {
    const zeta = await makeTag("zeta", "zeta-order");
    const alpha = await makeTag("Alpha", "alpha-order");
    const mid = await makeTag("mid", "mid-order");
    const post = await makePost({ title: "Tag order post", authorId: userId, tagIds: [zeta.id, mid.id, alpha.id], publish: new Date("2026-03-03T10:00:00Z") });
    const { posts } = await listPublished({ page: 1, perPage: 10 });
    expect(posts.find((p) => p.id === post.id)?.tags.map((t) => t.name)).toEqual(["Alpha", "mid", "zeta"]);
  });
});
