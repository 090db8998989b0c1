// Similar posts on a large table: candidates are the newest 300 published posts (widened to 3,000
// when that finds fewer than 4), so the cost does not grow with the table.
import { beforeAll, describe, expect, it } from "vitest";
import { pool } from "../../src/db/index.ts";
import { similarPosts } from "../../src/blog/queries.ts";
import { createUser, makePost, makeTag } from "../support/fixtures.ts";
import { invalidate } from "../../src/cache/index.ts";

let target = 0;
let rare = 0;
const titles = (ps: { title: string }[]) => ps.map((p) => p.title);

beforeAll(async () => {
  const author = (await createUser({ role: "AUTHOR", username: "sim" })).user;
  const [common, other, rareTag, none] = await Promise.all([makeTag("common"), makeTag("other"), makeTag("rare"), makeTag("none")]);
  // 1,000 filler posts, newest first by i; every one tagged "none", every 10th also "common".
  await pool.query(
    `WITH ins AS (
       INSERT INTO "Post"(title, slug, "authorId", status, publish, "updatedAt")
       SELECT 'Filler '||i, 'filler-'||i, $1, 'PUBLISHED', timestamptz '2026-01-01' - i * interval '1 hour', now()
         FROM generate_series(1, 1000) i RETURNING id, title)
     INSERT INTO "PostTag"("postId", "tagId")
       SELECT id, $2::int FROM ins UNION ALL
       SELECT id, $3::int FROM ins WHERE split_part(title, ' ', 2)::int % 10 = 0`,
    [author.id, none.id, common.id],
  );
  // Old posts beyond the first window: one shares two tags, one shares the rare tag.
  await makePost({ title: "Old two shared", authorId: author.id, tagIds: [common.id, other.id], publish: new Date("2025-06-01T00:00:00Z") });
  await makePost({ title: "Old rare", authorId: author.id, tagIds: [rareTag.id], publish: new Date("2025-06-02T00:00:00Z") });
  await makePost({ title: "Ancient rare", authorId: author.id, tagIds: [rareTag.id], publish: new Date("2020-01-01T00:00:00Z") });
  target = (await makePost({ title: "Target", authorId: author.id, tagIds: [common.id, other.id], publish: new Date("2026-02-01T00:00:00Z") })).id;
  rare = (await makePost({ title: "Rare target", authorId: author.id, tagIds: [rareTag.id], publish: new Date("2026-02-02T00:00:00Z") })).id;
  await invalidate();
});

describe("similar posts on a large table", () => {
  it("ranks within the newest 300 posts when they hold enough matches", async () => {
    // The newest 300 hold 30 "common" posts (Filler 10, 20, ...): shared = 1, newest first.
    expect(titles(await similarPosts(target, 4))).toEqual(["Filler 10", "Filler 20", "Filler 30", "Filler 40"]);
  });

  it("widens the window when the newest posts hold fewer than 4 matches", async () => {
    // "rare" is on two old posts only: the second window (3,000) finds both.
    expect(titles(await similarPosts(rare, 4))).toEqual(["Old rare", "Ancient rare"]);
  });

  it("is cached per post until invalidated", async () => {
    // Its own posts: the one it deletes is not one the other tests expect.
    const author = (await createUser({ role: "AUTHOR" })).user;
    const tag = await makeTag("cached");
    const post = (await makePost({ title: "Cached target", authorId: author.id, tagIds: [tag.id], publish: new Date("2026-02-03T00:00:00Z") })).id;
    await makePost({ title: "Cached kept", authorId: author.id, tagIds: [tag.id], publish: new Date("2025-06-03T00:00:00Z") });
    await makePost({ title: "Cached gone", authorId: author.id, tagIds: [tag.id], publish: new Date("2020-01-02T00:00:00Z") });
    const first = await similarPosts(post, 4);
    expect(titles(first)).toEqual(["Cached kept", "Cached gone"]);
    await pool.query(`DELETE FROM "Post" WHERE title = 'Cached gone'`);
    expect(await similarPosts(post, 4)).toBe(first);
    await invalidate();
    expect(titles(await similarPosts(post, 4))).toEqual(["Cached kept"]);
  });
});
