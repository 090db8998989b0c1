// post_card_memo: the memoised post card renders exactly what the macro renders, and is never stale.
import { beforeAll, describe, expect, it } from "vitest";
import request from "supertest";
import { buildApp } from "../../src/app.ts";
import { prisma } from "../../src/db/index.ts";
import { createTemplateEnv } from "../../src/web/templates.ts";
import { installPostCardMemo } from "../../src/blog/cards.ts";
import { listPublished } from "../../src/blog/queries.ts";
import { makeCategory, makePost, makeTag, makeUser } from "./fixtures.ts";

const app = buildApp();
let categoryId = 0;
let tagId = 0;
let userId = 0;

beforeAll(async () => {
  userId = (await makeUser({ username: "carder", firstName: "Card", lastName: "Writer" })).id;
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

  it("shows renamed categories, tags, authors and edited titles at once", async () => {
    expect((await request(app).get("/blog/").expect(200)).text).toContain(">Old category</a>");
    await prisma.category.update({ where: { id: categoryId }, data: { name: "New category" } });
    await prisma.tag.update({ where: { id: tagId }, data: { name: "newtag" } });
    await prisma.user.update({ where: { id: userId }, data: { firstName: "Renamed" } });
    await prisma.post.updateMany({ where: { title: "Memo post" }, data: { title: "Memo post edited" } });
    const res = await request(app).get("/blog/").expect(200);
    expect(res.text).toContain(">New category</a>");
    expect(res.text).toContain(">#newtag</a>");
    expect(res.text).toContain(">Renamed Writer</a>");
    expect(res.text).toContain(">Memo post edited</a>");
    expect(res.text).not.toContain("Old category");
  });
});
