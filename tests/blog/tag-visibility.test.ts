// Tags used only by drafts or scheduled posts are not public: no tag page (the same 404 as an
// unknown tag, whatever the page number), no sitemap entry, not in feeds or on any card; once one of
// their posts is published they appear everywhere.
import { beforeAll, describe, expect, it } from "vitest";
import request from "supertest";
import { buildApp } from "../../src/app.ts";
import { prisma } from "../../src/db/index.ts";
import { tagHasPublishedPost } from "../../src/blog/queries.ts";
import { createUser, makePost, makeTag } from "../support/fixtures.ts";
import { invalidate } from "../../src/cache/index.ts";

const app = buildApp();
let ids: { draftOnly: number; scheduledOnly: number; mixed: number; shown: number };

beforeAll(async () => {
  const author = (await createUser({ role: "AUTHOR", username: "tagwriter" })).user;
  const draftOnly = await makeTag("Acquisition Plans", "acquisition-plans");
  const scheduledOnly = await makeTag("Launch Day", "launch-day");
  const mixed = await makeTag("Mixed", "mixed");
  const shown = await makeTag("Shown", "shown");
  await makePost({ title: "Secret draft", authorId: author.id, status: "DRAFT", tagIds: [draftOnly.id, mixed.id, shown.id] });
  await makePost({ title: "Secret scheduled", authorId: author.id, publish: new Date(Date.now() + 7 * 86_400_000), tagIds: [scheduledOnly.id, mixed.id] });
  await makePost({ title: "Public post", authorId: author.id, publish: new Date(Date.now() - 3_600_000), tagIds: [mixed.id, shown.id] });
  ids = { draftOnly: draftOnly.id, scheduledOnly: scheduledOnly.id, mixed: mixed.id, shown: shown.id };
  await invalidate();
});

/** A 404 as the reader sees it, with the request's own path and id taken out. */
async function notFoundPage(path: string) {
  const res = await request(app).get(path);
  return { status: res.status, body: res.text.replaceAll(path.split("?")[0]!, "PATH").replace(/[0-9a-f-]{36}/g, "ID") };
}

describe("a tag without a published post", () => {
  it.each([
    ["drafts only", "acquisition-plans"],
    ["scheduled posts only", "launch-day"],
  ])("(%s) answers exactly as an unknown tag, on any page", async (_label, slug) => {
    for (const query of ["", "?page=2", "?page=last", "?page=99"]) {
      const hidden = await notFoundPage(`/blog/tag/${slug}/${query}`);
      const unknown = await notFoundPage(`/blog/tag/no-such-tag-at-all/${query}`);
      expect(hidden.status, `${slug}${query}`).toBe(404);
      expect(hidden).toEqual(unknown);
      expect(hidden.body).not.toContain("Acquisition Plans");
      expect(hidden.body).not.toContain("Launch Day");
    }
  });

  it("is told apart by tagHasPublishedPost()", async () => {
    expect(await tagHasPublishedPost(ids.draftOnly)).toBe(false);
    expect(await tagHasPublishedPost(ids.scheduledOnly)).toBe(false);
    expect(await tagHasPublishedPost(ids.mixed)).toBe(true);
  });

  it("is in no sitemap, feed or reader page", async () => {
    const pages = [
      "/sitemap-pages.xml",
      "/blog/feed/rss/",
      "/blog/feed/atom/",
      "/",
      "/blog/",
      "/blog/tag/mixed/",
      "/blog/tag/shown/",
      "/blog/author/tagwriter/",
      "/blog/search/?q=post",
    ];
    for (const path of pages) {
      const res = await request(app).get(path).expect(200);
      expect(res.text, path).not.toContain("acquisition-plans");
      expect(res.text, path).not.toContain("Acquisition Plans");
      expect(res.text, path).not.toContain("launch-day");
      expect(res.text, path).not.toContain("Launch Day");
    }
    const sitemap = (await request(app).get("/sitemap-pages.xml").expect(200)).text;
    expect(sitemap).toContain("/blog/tag/mixed/");
    expect(sitemap).toContain("/blog/tag/shown/");
  });
});

describe("a tag shared by public and unpublished posts", () => {
  it("has a page that lists the published posts only", async () => {
    const res = await request(app).get("/blog/tag/mixed/").expect(200);
    expect(res.text).toContain("Public post");
    expect(res.text).not.toContain("Secret draft");
    expect(res.text).not.toContain("Secret scheduled");
  });
});

describe("publishing", () => {
  it("makes the draft's tags public", async () => {
    // Its own draft and tag: the tags the other tests expect hidden stay hidden.
    const author = (await createUser({ role: "AUTHOR" })).user;
    const tag = await makeTag("Board Minutes", "board-minutes");
    const draft = await makePost({ title: "Minutes draft", authorId: author.id, status: "DRAFT", tagIds: [tag.id] });
    expect((await request(app).get("/blog/tag/board-minutes/")).status).toBe(404);
    await prisma.post.update({ where: { id: draft.id }, data: { status: "PUBLISHED", publish: new Date(Date.now() - 60_000) } });
    await invalidate();
    const res = await request(app).get("/blog/tag/board-minutes/").expect(200);
    expect(res.text).toContain("Minutes draft");
    expect((await request(app).get("/sitemap-pages.xml").expect(200)).text).toContain("/blog/tag/board-minutes/");
    expect((await request(app).get("/blog/feed/atom/").expect(200)).text).toContain('term="board-minutes"');
    // The scheduled post is still in the future: its own tag stays hidden.
    expect((await request(app).get("/blog/tag/launch-day/")).status).toBe(404);
  });
});
