// A post's ETag names its bytes ("<version>-<hash>"): a conditional GET is a 304 only for the same
// representation (a scheduled post going live, a renamed category, fields, body for its writers all
// change it without a new version); If-Match guards the version (the ETag sent back works). Permission
// comes before If-Match; DELETE and restore save at the version checked, so a change landing between
// the check and the save is a 412 (held open here with a real row lock); the list's work bounds; the
// tag filter reveals no tag GET /tags/{slug} would not. Every response is checked against the document.
import { beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../src/app.ts";
import type { SessionUser } from "../../src/accounts/users.ts";
import { pool } from "../../src/db/index.ts";
import { ConflictError, restoreRevision } from "../../src/posts/service.ts";
import { createUser, hoursAgo, makeCategory, makePost, makeTag, prisma } from "../support/fixtures.ts";
import { until } from "../support/poll.ts";
import { caller } from "./support/calls.ts";

const call = caller(buildApp());
let alice: SessionUser, bob: SessionUser, reader: SessionUser;

const TAG = /^"(\d+)-[0-9a-f]{12}"$/; // versionTag (src/api/preconditions.ts)

/** Waits (polling the database, at most 10 s) until a statement of this test's database waits on a row lock. */
const someoneWaitsOnALock = () =>
  until(async () => {
    const { rows } = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
    );
    return rows[0]!.n > 0;
  }, 10_000);

/** Runs `request` while another transaction holds the post's row with a new version, committed once the request waits on it. */
async function whileChangedMeanwhile<T>(postId: number, send: () => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    await client.query(`UPDATE "Post" SET version = version + 1, title = title || ' (changed)' WHERE id = $1`, [postId]);
    const pending = send();
    expect(await someoneWaitsOnALock()).toBe(true);
    await client.query("COMMIT");
    return await pending;
  } finally {
    client.release();
  }
}

beforeAll(async () => {
  alice = (await createUser({ role: "AUTHOR", username: "alice" })).user;
  bob = (await createUser({ role: "AUTHOR", username: "bob" })).user;
  reader = (await createUser({ role: "READER", username: "rita" })).user;
});

describe("ETag: the version and the bytes", () => {
  it("a scheduled post going live is a 200 with a new ETag to a conditional GET (same version)", async () => {
    const post = await makePost({ authorId: alice.id, title: "Soon live", status: "SCHEDULED" });
    const before = await call("get", `/posts/${post.id}`, alice, { status: 200 });
    expect(before.body).toMatchObject({ scheduled: true, url: null });
    expect(before.headers.etag).toMatch(TAG);
    await call("get", `/posts/${post.id}`, alice, { headers: { "If-None-Match": before.headers.etag! }, status: 304 });
    await prisma.post.update({ where: { id: post.id }, data: { publish: hoursAgo(1) } }); // its time has come
    const live = await call("get", `/posts/${post.id}`, alice, { headers: { "If-None-Match": before.headers.etag! }, status: 200 });
    expect(live.body).toMatchObject({ scheduled: false, version: post.version });
    expect(live.body.url).toMatch(/^http/);
    expect(live.headers.etag).toMatch(TAG);
    expect(live.headers.etag).not.toBe(before.headers.etag);
    expect(TAG.exec(live.headers.etag!)![1]).toBe(String(post.version));
  });

  it("its category renamed is a 200 with a new ETag; fields and body-for-writers are other representations", async () => {
    const cat = await makeCategory("Old name", "old-name");
    const post = await makePost({ authorId: alice.id, title: "Filed", categoryId: cat.id, publish: hoursAgo(2) });
    const first = await call("get", `/posts/${post.id}`, null, { status: 200 });
    await prisma.category.update({ where: { id: cat.id }, data: { name: "New name" } });
    const renamed = await call("get", `/posts/${post.id}`, null, { headers: { "If-None-Match": first.headers.etag! }, status: 200 });
    expect(renamed.body.category).toEqual({ slug: "old-name", name: "New name" });
    expect(renamed.headers.etag).not.toBe(first.headers.etag);
    await call("get", `/posts/${post.id}`, null, { headers: { "If-None-Match": renamed.headers.etag! }, status: 304 });
    // the writer's representation has body: another ETag, so the anonymous one is not a 304 for her
    const writer = await call("get", `/posts/${post.id}`, alice, { headers: { "If-None-Match": renamed.headers.etag! }, status: 200 });
    expect(writer.body.body).toBeDefined();
    expect(writer.headers.etag).not.toBe(renamed.headers.etag);
    const sparse = await call("get", `/posts/${post.id}?fields=title`, null, { headers: { "If-None-Match": renamed.headers.etag! }, status: 200 });
    expect(sparse.headers.etag).not.toBe(renamed.headers.etag);
    expect(TAG.exec(sparse.headers.etag!)![1]).toBe(String(post.version));
  });

  it("If-Match takes the ETag as sent, or any tag with the post's leading version; not a weak one nor another version", async () => {
    const post = await makePost({ authorId: alice.id, title: "Tagged", status: "DRAFT" });
    const got = await call("get", `/posts/${post.id}`, alice, { status: 200 });
    const v = post.version;
    for (const bad of [`W/${got.headers.etag}`, `"${v + 1}-${got.headers.etag!.slice(-13, -1)}"`, `"${v}0"`, `"-${v}"`]) {
      const res = await call("patch", `/posts/${post.id}`, alice, { body: { title: "No" }, headers: { "If-Match": bad }, status: 412 });
      expect(res.body.current).toMatchObject({ id: post.id, version: v, title: "Tagged" });
    }
    const ok = await call("patch", `/posts/${post.id}`, alice, { body: { title: "Once" }, headers: { "If-Match": got.headers.etag! }, status: 200 });
    expect(ok.headers.etag).toMatch(TAG);
    const again = await call("patch", `/posts/${post.id}`, alice, { body: { title: "Twice" }, headers: { "If-Match": `"${v + 1}-whatever"` }, status: 200 });
    const restored = await call("get", `/posts/${post.id}/revisions`, alice, { status: 200 });
    const first = restored.body.results.at(-1).id as number;
    await call("post", `/posts/${post.id}/revisions/${first}/restore`, alice, { headers: { "If-Match": ok.headers.etag! }, status: 412 });
    const back = await call("post", `/posts/${post.id}/revisions/${first}/restore`, alice, { headers: { "If-Match": again.headers.etag! }, status: 200 });
    expect(back.body).toMatchObject({ title: "Tagged", version: v + 3 });
    await call("delete", `/posts/${post.id}`, alice, { headers: { "If-Match": again.headers.etag! }, status: 412 });
    await call("delete", `/posts/${post.id}`, alice, { headers: { "If-Match": back.headers.etag! }, status: 204 });
  });
});

describe("permission before If-Match", () => {
  it("a caller who may not change the post gets 403 (404 for a draft) whatever If-Match says, never 428 or 412", async () => {
    const pub = await makePost({ authorId: alice.id, title: "Hers", publish: hoursAgo(1) });
    const draft = await makePost({ authorId: alice.id, title: "Her draft", status: "DRAFT" });
    const revs = await call("get", `/posts/${pub.id}/revisions`, alice, { status: 200 });
    const rev = revs.body.results[0].id as number;
    for (const headers of [{}, { "If-Match": '"999"' }, { "If-Match": "*" }] as Record<string, string>[]) {
      for (const who of [bob, reader]) {
        await call("patch", `/posts/${pub.id}`, who, { body: { title: "Mine" }, headers, status: 403 });
        await call("delete", `/posts/${pub.id}`, who, { headers, status: 403 });
        await call("post", `/posts/${pub.id}/revisions/${rev}/restore`, who, { headers, status: 403 });
        await call("patch", `/posts/${draft.id}`, who, { body: { title: "Mine" }, headers, status: 404 });
        await call("delete", `/posts/${draft.id}`, who, { headers, status: 404 });
      }
    }
    expect(await prisma.post.count({ where: { id: { in: [pub.id, draft.id] }, title: { in: ["Hers", "Her draft"] } } })).toBe(2);
  });
});

describe("a change between the check and the save", () => {
  it("PATCH with an ETag the post has moved on from is a 412 (sequential)", async () => {
    const post = await makePost({ authorId: alice.id, title: "Moving" });
    const got = await call("get", `/posts/${post.id}`, alice, { status: 200 });
    await call("patch", `/posts/${post.id}`, alice, { body: { title: "Moved" }, headers: { "If-Match": got.headers.etag! }, status: 200 });
    const stale = await call("patch", `/posts/${post.id}`, alice, { body: { title: "Overwrite" }, headers: { "If-Match": got.headers.etag! }, status: 412 });
    expect(stale.body.current.title).toBe("Moved");
  });

  it("DELETE whose If-Match passed, then the post changed before the delete: 412 and nothing deleted", async () => {
    const post = await makePost({ authorId: alice.id, title: "Raced delete" });
    const got = await call("get", `/posts/${post.id}`, alice, { status: 200 });
    const res = await whileChangedMeanwhile(post.id, () => call("delete", `/posts/${post.id}`, alice, { headers: { "If-Match": got.headers.etag! } }));
    expect(res.status, res.text).toBe(412);
    expect(res.body.current).toMatchObject({ id: post.id, version: post.version + 1, title: "Raced delete (changed)" });
    expect(await prisma.post.count({ where: { id: post.id } })).toBe(1);
  });

  it("PATCH whose If-Match passed, then the post changed before the save: 412, the other change kept", async () => {
    const post = await makePost({ authorId: alice.id, title: "Raced patch" });
    const got = await call("get", `/posts/${post.id}`, alice, { status: 200 });
    const res = await whileChangedMeanwhile(post.id, () =>
      call("patch", `/posts/${post.id}`, alice, { body: { body: "Lost?" }, headers: { "If-Match": got.headers.etag! } }),
    );
    expect(res.status, res.text).toBe(412);
    expect((await prisma.post.findUniqueOrThrow({ where: { id: post.id } })).title).toBe("Raced patch (changed)");
  });

  it("restoreRevision saves at the version given, not one it reads again", async () => {
    const post = await makePost({ authorId: alice.id, title: "Restore race" });
    const rev = (await prisma.postRevision.findFirstOrThrow({ where: { postId: post.id } })).id;
    await prisma.post.update({ where: { id: post.id }, data: { version: { increment: 1 } } });
    await expect(restoreRevision(post.id, rev, { id: alice.id }, post.version)).rejects.toBeInstanceOf(ConflictError);
    expect((await prisma.post.findUniqueOrThrow({ where: { id: post.id } })).version).toBe(post.version + 1);
  });
});

describe("list work bounds", () => {
  it("page numbers reach 10,000 rows, for every ordering; deeper is a 400 naming cursor", async () => {
    for (const ordering of ["-publish", "publish", "title", "-title"]) {
      const res = await call("get", `/posts?ordering=${ordering}&page=102&page_size=100`, null, { status: 400 });
      expect(res.body.errors["query.page"]).toMatch(/cursor/);
      await call("get", `/posts?ordering=${ordering}&page=1001&page_size=10`, null, { status: 404 }); // offset 10,000: allowed, past the end
      await call("get", `/posts?ordering=${ordering}&page=1002&page_size=10`, null, { status: 400 });
    }
  });

  it("body or html in a list only with page_size up to 20", async () => {
    await makePost({ authorId: alice.id, title: "Listed with text", publish: hoursAgo(1) });
    for (const f of ["body", "html", "title,html"]) {
      const res = await call("get", `/posts?fields=${f}&page_size=21`, alice, { status: 400 });
      expect(Object.keys(res.body.errors).sort()).toEqual(["query.fields", "query.page_size"]);
      await call("get", `/posts?fields=${f}&page_size=20`, alice, { status: 200 });
      await call("get", `/posts?fields=${f}&page_size=21&cursor=`, alice, { status: 400 });
    }
    await call("get", "/posts?fields=title,excerpt&page_size=100", null, { status: 200 });
  });

  it("ordering=title reads the (status, title, id) index", async () => {
    const { rows } = await pool.query<{ "QUERY PLAN": string }>(
      `EXPLAIN SELECT p.id, p.publish, p.title FROM "Post" p WHERE (p.status = 'PUBLISHED' AND p.publish <= now()) ORDER BY p.title ASC, p.id ASC LIMIT 11 OFFSET 0`,
    );
    const plan = rows.map((r) => r["QUERY PLAN"]).join("\n");
    expect(plan).toMatch(/Index Scan using "Post_status_title_id_idx"/);
    expect(plan).not.toMatch(/Sort/);
  });
});

describe("the tag filter reveals no hidden tag", () => {
  it("a tag used only by a draft is unknown to anonymous callers, readers and other authors, as GET /tags/{slug} says", async () => {
    const secret = await makeTag("Secret plans", "secret-plans");
    await makePost({ authorId: alice.id, title: "Secret draft", status: "DRAFT", tagIds: [secret.id] });
    const unknown = await call("get", "/posts?tag=no-such-tag", bob, { status: 400 });
    for (const who of [null, reader, bob]) {
      await call("get", "/tags/secret-plans", who, { status: 404 });
      const res = await call("get", "/posts?tag=secret-plans", who, { status: 400 });
      expect(res.body).toEqual({ ...unknown.body, instance: res.body.instance });
    }
    // its author sees it, and her draft with it
    await call("get", "/tags/secret-plans", alice, { status: 200 });
    const mine = await call("get", "/posts?tag=secret-plans&status=draft", alice, { status: 200 });
    expect(mine.body.results.map((p: { title: string }) => p.title)).toEqual(["Secret draft"]);
  });
});
