// Saves of posts on a small pool: a save renders the body inside its transaction (the images it shows are
// read for their renditions), on the transaction's own connection. More simultaneous saves than the pool
// has connections all succeed (a second connection per save would deadlock the pool until a timeout).
import { afterAll, beforeAll, expect, it } from "vitest";
import { connectDb, disconnectDb } from "../../src/db/client.ts";
import { mediaUrl } from "../../src/media/index.ts";
import { updatePost } from "../../src/posts/service.ts";
import { createUser, makePost, prisma } from "../support/fixtures.ts";
import { uploaded, useTempDataDir } from "../media/library-support.ts";

useTempDataDir();
const POOL = 2;

beforeAll(async () => {
  await disconnectDb();
  connectDb(process.env.TEST_DATABASE_URL!, POOL); // DATABASE_POOL_SIZE=2
});

afterAll(async () => {
  await disconnectDb();
  connectDb(process.env.TEST_DATABASE_URL!, 5);
});

it(`saves ${POOL * 4} posts showing an image at once on a pool of ${POOL} connections`, async () => {
  const authorId = (await createUser({ role: "AUTHOR" })).user.id;
  const image = await uploaded("pool.jpg", authorId, "A test card");
  const posts = await Promise.all(Array.from({ length: POOL * 4 }, (_, i) => makePost({ authorId, title: `Pooled ${i}`, slug: `pooled-${i}` })));
  const body = `An image:\n\n![A test card](${mediaUrl(image.storageKey)})\n`;
  const saved = await Promise.all(
    posts.map(async (p) => {
      const stored = await prisma.post.findUniqueOrThrow({ where: { id: p.id } });
      return updatePost(p.id, stored.version, { title: stored.title, slug: stored.slug, body, status: "DRAFT", authorId, categoryId: null }, null);
    }),
  );
  expect(saved.map((p) => p.body)).toEqual(posts.map(() => body));
  expect(saved.every((p) => p.bodyHtml.includes("<picture"))).toBe(true);
  expect(await prisma.postMedia.count({ where: { mediaId: image.id } })).toBe(posts.length);
}, 60_000);
