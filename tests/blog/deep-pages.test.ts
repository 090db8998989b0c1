// Deep list pages seek from cached (publish, id) anchors instead of a long OFFSET: they must show
// exactly what a plain OFFSET query shows, including ties on publish (ordered by id).
import { beforeAll, describe, expect, it } from "vitest";
import request from "supertest";
import { buildApp } from "../../src/app.ts";
import { pool } from "../../src/db/index.ts";
import { listPublished } from "../../src/blog/queries.ts";
import { createUser, makeCategory } from "../support/fixtures.ts";
import { invalidate } from "../../src/cache/index.ts";

const app = buildApp();
const N = 1_234;
let categoryId = 0;

beforeAll(async () => {
  const author = (await createUser({ role: "AUTHOR", username: "deep" })).user;
  categoryId = (await makeCategory("Deep", "deep")).id;
  // Three posts per publish time (ties), every 7th a draft, every 11th in category "deep".
  await pool.query(
    `INSERT INTO "Post"(title, slug, "authorId", "categoryId", status, publish, "updatedAt")
     SELECT 'Deep '||i, 'deep-'||i, $1, CASE WHEN i % 11 = 0 THEN $2::int END,
            CASE WHEN i % 7 = 0 THEN 'DRAFT'::"PostStatus" ELSE 'PUBLISHED'::"PostStatus" END,
            timestamptz '2025-01-01 00:00:00.123456+00' + (i / 3) * interval '1 hour 0.000001 second', now()
       FROM generate_series(1, $3::int) i`,
    [author.id, categoryId, N],
  );
  // Scheduled posts (future publish) must stay invisible on deep pages too.
  await pool.query(
    `INSERT INTO "Post"(title, slug, "authorId", "categoryId", status, publish, "updatedAt")
     SELECT 'Future '||i, 'future-'||i, $1, $2::int, 'PUBLISHED', now() + i * interval '1 day', now() FROM generate_series(1, 5) i`,
    [author.id, categoryId],
  );
  await invalidate();
});

async function naive(page: number, where = "TRUE"): Promise<string[]> {
  const { rows } = await pool.query<{ title: string }>(
    `SELECT title FROM "Post" p WHERE p.status = 'PUBLISHED' AND p.publish <= now() AND ${where}
      ORDER BY p.publish DESC, p.id DESC LIMIT 10 OFFSET $1`,
    [(page - 1) * 10],
  );
  return rows.map((r) => r.title);
}

describe("deep pages", () => {
  it("match a plain OFFSET query on every page around the anchors", async () => {
    const published = N - Math.floor(N / 7);
    const last = Math.ceil(published / 10);
    for (const page of [1, 5, 6, 7, 19, 20, 21, 22, 49, 50, 51, 52, 100, 101, last - 1, last]) {
      const got = (await listPublished({ page, perPage: 10 })).posts.map((p) => p.title);
      expect(got, `page ${page}`).toEqual(await naive(page));
      expect(got.length).toBeGreaterThan(0);
      expect(got.join()).not.toContain("Future");
    }
    expect((await listPublished({ page: last + 1, perPage: 10 })).posts).toEqual([]);
    expect((await listPublished({ page: 1_000, perPage: 10 })).posts).toEqual([]);
    const { total } = await listPublished({ page: last, perPage: 10 });
    expect(total).toBe(published);
  });

  it("work the same with a filter", async () => {
    for (const page of [1, 5, 10, 11]) {
      const got = (await listPublished({ page, perPage: 10, categoryId })).posts.map((p) => p.title);
      expect(got, `page ${page}`).toEqual(await naive(page, `p."categoryId" = ${categoryId}`));
    }
  });

  it("serve the last page and answer past-the-end with 404 through HTTP", async () => {
    const res = await request(app).get("/blog/?page=last").expect(200);
    const m = /Page (\d+) of (\d+)/.exec(res.text);
    expect(m?.[1]).toBe(m?.[2]);
    await request(app)
      .get(`/blog/?page=${Number(m![2]) + 1}`)
      .expect(404);
    const p60 = await request(app).get("/blog/?page=60").expect(200);
    expect(p60.text).toContain(`>${(await naive(60))[0]}</a>`);
  });
});
