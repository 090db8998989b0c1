// The recurring job that invalidates the pages of posts whose publish time came (src/cache/scheduled.ts),
// run with a clock an hour ahead rather than waiting: it names the post's pages, and a cached page of its
// category is rendered again after the run while an unrelated one stays a HIT.
import { beforeAll, describe, expect, it } from "vitest";
import request from "supertest";
import { buildApp } from "../../src/app.ts";
import { PAGE_TAGS } from "../../src/cache/index.ts";
import { nextScheduledAt, publishDue, publishDueJob } from "../../src/cache/scheduled.ts";
import { createUser, makeCategory, makePost, makeTag } from "../support/fixtures.ts";

const app = buildApp();
let post: { id: number; publish: Date };
let cat: { id: number; slug: string };
let other: { id: number; slug: string };
let tag: { id: number };
let authorId = 0;

beforeAll(async () => {
  authorId = (await createUser({ role: "AUTHOR" })).user.id;
  cat = await makeCategory("Due category");
  other = await makeCategory("Not due category");
  tag = await makeTag("Due tag");
  await makePost({ title: "Live already", authorId, categoryId: cat.id });
  await makePost({ title: "Live elsewhere", authorId, categoryId: other.id });
  post = await makePost({ title: "Due in an hour", authorId, categoryId: cat.id, tagIds: [tag.id], publish: new Date(Date.now() + 3_600_000) });
});

describe("cache.publish-due", () => {
  it("is a recurring job every minute", () => {
    expect(publishDueJob).toMatchObject({ name: "cache.publish-due", cron: "* * * * *" });
  });

  it("the next scheduled time is known (it bounds the cached pages' lifetime)", async () => {
    expect(await nextScheduledAt()).toBe(post.publish.getTime());
  });

  it("invalidates the pages of the posts that went live since its last run, and only those", async () => {
    const hit = async (path: string) => {
      await request(app).get(path).expect(200);
      return (await request(app).get(path).expect(200)).headers["x-cache"];
    };
    expect(await hit(`/blog/category/${cat.slug}/`)).toBe("HIT");
    expect(await hit(`/blog/category/${other.slug}/`)).toBe("HIT");
    const tags = await publishDue(new Date(post.publish.getTime() + 1_000));
    expect(tags).toEqual(
      expect.arrayContaining([PAGE_TAGS.post(post.id), PAGE_TAGS.category(cat.id), PAGE_TAGS.tag(tag.id), PAGE_TAGS.author(authorId), PAGE_TAGS.lists]),
    );
    expect(tags).not.toContain(PAGE_TAGS.category(other.id));
    expect((await request(app).get(`/blog/category/${cat.slug}/`)).headers["x-cache"]).toBe("MISS");
    expect((await request(app).get(`/blog/category/${other.slug}/`)).headers["x-cache"]).toBe("HIT");
    // The next run starts where this one ended: nothing new came due.
    expect(await publishDue(new Date(post.publish.getTime() + 2_000))).toEqual([]);
  });
});
