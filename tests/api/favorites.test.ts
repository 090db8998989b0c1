// Favorites through the real app: POST/DELETE /api/v1/posts/{id}/favorite and GET /api/v1/me/favorites
// for every kind of caller, idempotence, what cannot be favorited (drafts, scheduled, missing posts),
// the list (newest favorite first, only posts still published, pages), a session caller with CSRF,
// and hostile path and query values. Every response is checked against the OpenAPI document.
import { beforeAll, describe, expect, it } from "vitest";
import request from "supertest";
import { buildApp } from "../../src/app.ts";
import { pool } from "../../src/db/index.ts";
import { signAccessToken } from "../../src/api/tokens.ts";
import type { SessionUser } from "../../src/accounts/users.ts";
import { createUser, hoursAgo, inHours, makeCategory, makePost, makeTag, signedIn } from "../support/fixtures.ts";
import { caller, sessionWrite } from "./support/calls.ts";

const app = buildApp();
type Who = SessionUser | null;

let reader: SessionUser, author: SessionUser, editor: SessionUser, admin: SessionUser;
let live1 = 0,
  live2 = 0,
  live3 = 0,
  draft = 0,
  scheduled = 0;

const api = caller(app);
const checked = (method: "get" | "post" | "delete", path: string, who: Who, status: number) => api(method, path, who, { status });
const fav = (id: number | string, who: Who, status = 200) => checked("post", `/posts/${id}/favorite`, who, status);
const unfav = (id: number | string, who: Who, status = 200) => checked("delete", `/posts/${id}/favorite`, who, status);
const mine = (who: Who, query = "", status = 200) => checked("get", `/me/favorites${query}`, who, status);
const ids = (res: { body: { results: { id: number }[] } }) => res.body.results.map((p) => p.id);

beforeAll(async () => {
  reader = (await createUser({ role: "READER" })).user;
  author = (await createUser({ role: "AUTHOR", firstName: "Ann", lastName: "Author" })).user;
  editor = (await createUser({ role: "EDITOR" })).user;
  admin = (await createUser({ role: "ADMIN" })).user;
  const cat = await makeCategory("Fav news");
  const tag = await makeTag("Fav tag");
  live1 = (await makePost({ authorId: author.id, title: "Live one", publish: hoursAgo(3), categoryId: cat.id, tagIds: [tag.id] })).id;
  live2 = (await makePost({ authorId: author.id, title: "Live two", publish: hoursAgo(2) })).id;
  live3 = (await makePost({ authorId: author.id, title: "Live three", publish: hoursAgo(1) })).id;
  draft = (await makePost({ authorId: author.id, title: "A draft", status: "DRAFT" })).id;
  scheduled = (await makePost({ authorId: author.id, title: "Later", status: "SCHEDULED", publish: inHours(24) })).id;
});

describe("favorite and unfavorite", () => {
  it("anonymous callers get 401 on every operation", async () => {
    await fav(live1, null, 401);
    await unfav(live1, null, 401);
    await mine(null, "", 401);
  });

  it.each(["READER", "AUTHOR", "EDITOR", "ADMIN"] as const)(
    "a %s favorites a published post; again is the same answer (idempotent); DELETE twice too",
    async (role) => {
      const who = { READER: () => reader, AUTHOR: () => author, EDITOR: () => editor, ADMIN: () => admin }[role]();
      const before = Number((await pool.query(`SELECT count(*) AS n FROM "Favorite" WHERE "postId" = $1`, [live2])).rows[0].n);
      const a = await fav(live2, who);
      expect(a.body).toEqual({ favorited: true, favorites: before + 1 });
      const b = await fav(live2, who);
      expect(b.body).toEqual({ favorited: true, favorites: before + 1 });
      expect((await pool.query(`SELECT 1 FROM "Favorite" WHERE "userId" = $1 AND "postId" = $2`, [who.id, live2])).rowCount).toBe(1);
      const c = await unfav(live2, who);
      expect(c.body).toEqual({ favorited: false, favorites: before });
      const d = await unfav(live2, who);
      expect(d.body).toEqual({ favorited: false, favorites: before });
      expect((await pool.query(`SELECT 1 FROM "Favorite" WHERE "userId" = $1 AND "postId" = $2`, [who.id, live2])).rowCount).toBe(0);
    },
  );

  it("a draft, a scheduled post (even for its author) and a missing post are 404s, and nothing is stored", async () => {
    for (const who of [reader, author, editor]) {
      for (const id of [draft, scheduled, 999_999]) {
        const r = await fav(id, who, 404);
        expect(r.headers["content-type"]).toMatch(/^application\/problem\+json/);
        await unfav(id, who, 404);
      }
    }
    expect(Number((await pool.query(`SELECT count(*) AS n FROM "Favorite" WHERE "postId" = ANY($1::int[])`, [[draft, scheduled]])).rows[0].n)).toBe(0);
  });

  it("hostile ids are 404s: beyond int4, zero, negative, not digits, NUL", async () => {
    for (const id of ["2147483648", "99999999999999999999", "0", "-1", "1.5", "abc", "%00", "1%00", "%F0%9F%92%A9"]) {
      await fav(id, reader, 404);
      await unfav(id, reader, 404);
    }
  });

  it("a body is refused (the action takes none), and other methods are 405 with Allow", async () => {
    await api("post", `/posts/${live1}/favorite`, reader, { body: { favorite: true }, status: 400 });
    const put = await request(app)
      .put(`/api/v1/posts/${live1}/favorite`)
      .set("Authorization", `Bearer ${signAccessToken(reader)}`);
    expect(put.status).toBe(405);
    expect(put.headers.allow).toContain("POST");
    expect(put.headers.allow).toContain("DELETE");
  });

  it("a deactivated user's token is refused (401) and stores nothing", async () => {
    const { user } = await createUser({ role: "READER" });
    await pool.query(`UPDATE "User" SET "isActive" = false WHERE id = $1`, [user.id]);
    await fav(live1, user, 401);
    expect((await pool.query(`SELECT 1 FROM "Favorite" WHERE "userId" = $1`, [user.id])).rowCount).toBe(0);
  });

  it("a session caller: POST needs the session's CSRF token in X-CSRF-Token", async () => {
    const s = await signedIn(app, "READER");
    const ok = await sessionWrite(s, "post", `/api/v1/posts/${live1}/favorite`);
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body.favorited).toBe(true);
    const list = await s.agent.get("/api/v1/me/favorites");
    expect(list.status).toBe(200);
    expect(ids(list)).toEqual([live1]);
  });
});

describe("GET /me/favorites", () => {
  it("lists the caller's own favorites, newest favorite first, as Post resources, with count and links", async () => {
    const { user } = await createUser({ role: "READER" });
    const other = (await createUser({ role: "READER" })).user;
    await fav(live1, other);
    for (const id of [live3, live1, live2]) await fav(id, user);
    // favorite times set apart in the database (not by waiting): live2 newest, then live1, then live3
    await pool.query(
      `UPDATE "Favorite" SET "createdAt" = now() - ("postId" = $2)::int * interval '1 hour' - ("postId" = $3)::int * interval '2 hours' WHERE "userId" = $1`,
      [user.id, live1, live3],
    );
    const res = await mine(user);
    expect(res.body.count).toBe(3);
    expect(res.body.next).toBeNull();
    expect(res.body.previous).toBeNull();
    expect(ids(res)).toEqual([live2, live1, live3]);
    const p = res.body.results.find((x: { id: number }) => x.id === live1);
    expect(p).toMatchObject({ title: "Live one", status: "published", scheduled: false, author: { username: author.username, name: "Ann Author" } });
    expect(p.category).toEqual({ slug: "fav-news", name: "Fav news" });
    expect(p.tags).toEqual([{ slug: "fav-tag", name: "Fav tag" }]);
    expect(p.url).toMatch(/^http:\/\/folio\.test\/blog\/\d{4}\/\d{2}\/\d{2}\/live-one\/$/);
    expect(p.body).toBeUndefined();

    const page1 = await mine(user, "?page_size=2");
    expect(ids(page1)).toEqual([live2, live1]);
    expect(page1.body.count).toBe(3);
    expect(page1.body.next).toBe("http://folio.test/api/v1/me/favorites?page=2&page_size=2");
    const page2 = await mine(user, "?page=2&page_size=2");
    expect(ids(page2)).toEqual([live3]);
    expect(page2.body.next).toBeNull();
    expect(page2.body.previous).toBe("http://folio.test/api/v1/me/favorites?page_size=2"); // page 1: DRF leaves the page out
    await mine(user, "?page=3&page_size=2", 404);
  });

  it("a post that leaves the site (back to draft) is not listed, and comes back when published again", async () => {
    const { user } = await createUser({ role: "READER" });
    const p = await makePost({ authorId: author.id, title: "Comes and goes", publish: hoursAgo(5) });
    await fav(p.id, user);
    await fav(live1, user);
    await pool.query(`UPDATE "Post" SET status = 'DRAFT' WHERE id = $1`, [p.id]);
    const res = await mine(user);
    expect(ids(res)).toEqual([live1]);
    expect(res.body.count).toBe(1);
    await pool.query(`UPDATE "Post" SET status = 'PUBLISHED' WHERE id = $1`, [p.id]);
    expect(ids(await mine(user))).toContain(p.id);
  });

  it("an empty list is a page with no results; page 2 of it a 404", async () => {
    const { user } = await createUser({ role: "AUTHOR" });
    const res = await mine(user);
    expect(res.body).toEqual({ count: 0, next: null, previous: null, results: [] });
    await mine(user, "?page=2", 404);
    await mine(user, "?page=999999999&page_size=100", 404); // an offset beyond int4: still a plain 404
  });

  it("hostile query values are 400s naming the parameter; unknown parameters too", async () => {
    for (const q of [
      "?page=0",
      "?page=-1",
      "?page=abc",
      "?page=99999999999999",
      "?page_size=0",
      "?page_size=101",
      "?page=1&page=2",
      "?page=%00",
      "?sort=new",
    ]) {
      const res = await mine(reader, q, 400);
      expect(Object.keys(res.body.errors).join(","), q).toMatch(/^query\./);
    }
  });

  it("one query for the page's posts whatever its size (no query per post)", async () => {
    const { user } = await createUser({ role: "READER" });
    const many: number[] = [];
    for (let i = 0; i < 12; i++) many.push((await makePost({ authorId: author.id, title: `Many ${i}`, publish: hoursAgo(10 + i) })).id);
    for (const id of many) await fav(id, user);
    // every statement the app sends through its pg pool during the request, counted (the query still runs)
    const statements = async (pageSize: number) => {
      const original = pool.query.bind(pool);
      let n = 0;
      (pool as unknown as { query: unknown }).query = (...args: Parameters<typeof pool.query>) => {
        n++;
        return (original as (...a: unknown[]) => unknown)(...args);
      };
      try {
        const res = await mine(user, `?page_size=${pageSize}`);
        expect(res.body.results).toHaveLength(pageSize);
      } finally {
        (pool as unknown as { query: unknown }).query = original;
      }
      return n;
    };
    const small = await statements(2);
    const large = await statements(12);
    expect(large).toBe(small);
  });
});
