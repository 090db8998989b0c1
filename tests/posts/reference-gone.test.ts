// An image deleted between the form's check and the save (a race: the writer's save waits on the post's
// row while an editor deletes the image): the foreign key refuses the write, and the writer gets a field
// error, not a 500; nothing is written. Through the admin's form (the editor) and the save path, and as the API's problem.
import { afterAll, beforeAll, expect, it } from "vitest";
import pg from "pg";
import { buildApp } from "../../src/app.ts";
import { problemFrom } from "../../src/api/problem.ts";
import { ReferenceGoneError, updatePost } from "../../src/posts/service.ts";
import { url } from "../../src/web/urls.ts";
import { csrfPost, makePost, prisma, signedIn, type Signed } from "../support/fixtures.ts";
import { until } from "../support/poll.ts";
import { uploaded, useTempDataDir } from "../media/library-support.ts";

useTempDataDir();
const app = buildApp();
let editor: Signed;
const locker = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });

beforeAll(async () => {
  editor = await signedIn(app, "EDITOR");
  await locker.connect();
});
afterAll(() => locker.end());

/** Runs `save` while the post's row is locked, deletes image `mediaId` once the save waits on the lock, then lets it go on. */
async function raced<T>(postId: number, mediaId: number, save: () => Promise<T>): Promise<T> {
  await locker.query("BEGIN");
  await locker.query(`SELECT id FROM "Post" WHERE id = $1 FOR UPDATE`, [postId]);
  const pending = save();
  pending.catch(() => {});
  await until(async () => {
    const { rows } = await locker.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()`);
    return rows[0].n > 0;
  });
  await prisma.media.delete({ where: { id: mediaId } }); // nothing uses it yet
  await locker.query("COMMIT");
  return pending;
}

it("the editor's form: the featured image deleted meanwhile is the field's error, the post unchanged", async () => {
  const image = await uploaded("gone.jpg", editor.user.id, "A card");
  const p = await makePost({ authorId: editor.user.id, title: "Race", slug: "race", status: "DRAFT" });
  const stored = await prisma.post.findUniqueOrThrow({ where: { id: p.id } });
  const form = {
    title: "Race, edited",
    slug: "race",
    authorId: String(stored.authorId),
    categoryId: "",
    body: stored.body,
    excerpt: "",
    metaDescription: "",
    featuredImageId: String(image.id),
    status: "DRAFT",
    publish: "",
    _version: String(stored.version),
  };
  const res = await raced(p.id, image.id, () => csrfPost(editor, url("admin:blog_post_change", { id: p.id }), form));
  expect(res.status).toBe(400);
  expect(res.text).toContain("The image you chose was deleted meanwhile; choose another.");
  expect(res.text).toContain("Race, edited"); // the text kept
  const after = await prisma.post.findUniqueOrThrow({ where: { id: p.id } });
  expect([after.title, after.featuredImageId, after.version]).toEqual(["Race", null, stored.version]);
});

it("the save path: an image the body shows deleted meanwhile is a ReferenceGoneError on the body; the API answers 409 naming it", async () => {
  const image = await uploaded("gone-body.jpg", editor.user.id, "A card");
  const p = await makePost({ authorId: editor.user.id, title: "Race two", slug: "race-two", status: "DRAFT" });
  const stored = await prisma.post.findUniqueOrThrow({ where: { id: p.id } });
  const body = `![A card](/media/${image.storageKey})`;
  const input = { title: "Race two", slug: "race-two", body, status: "DRAFT" as const, authorId: stored.authorId, categoryId: null };
  const err = await raced(p.id, image.id, () => updatePost(p.id, stored.version, input, null)).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ReferenceGoneError);
  expect((err as ReferenceGoneError).field).toBe("body");
  expect(await prisma.postMedia.count({ where: { postId: p.id } })).toBe(0);
  expect((await prisma.post.findUniqueOrThrow({ where: { id: p.id } })).body).toBe(stored.body);
  const problem = problemFrom(err);
  expect(problem.status).toBe(409);
  expect(problem.errors).toEqual({ body: (err as Error).message });
});
