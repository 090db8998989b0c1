// A post that kept its old date in a change of TIME_ZONE (a slug clash: src/posts/timezone.ts) stays a
// normal post: its writers save it (the slug is checked at the date it has, not at the new zone's day,
// which the other post holds), and every link to it names its date: the editor's "View on site", the
// preview's redirect and panel, My posts and the API.
import { afterAll, beforeAll, expect, it } from "vitest";
import request from "supertest";
import { buildApp } from "../../src/app.ts";
import { config } from "../../src/config.ts";
import { redateToZone } from "../../src/posts/timezone.ts";
import { previewContext } from "../../src/previews/index.ts";
import { SlugTakenError, updatePost } from "../../src/posts/service.ts";
import { url } from "../../src/web/urls.ts";
import { csrfPost, makePost, prisma, signedIn, type Signed } from "../support/fixtures.ts";

const setZone = (zone: string) => ((config as { TIME_ZONE: string }).TIME_ZONE = zone);
const publishDate = async (id: number) => (await prisma.post.findUniqueOrThrow({ where: { id } })).publishDate!.toISOString().slice(0, 10);
const app = buildApp();
let author: Signed;
let editor: Signed;
let kept: { id: number };
let other: { id: number };

beforeAll(async () => {
  setZone("America/New_York");
  await redateToZone();
  author = await signedIn(app, "AUTHOR");
  editor = await signedIn(app, "EDITOR");
  // New York: the 9th (22:00:27) and the 10th. Tokyo: both on the 10th: the first keeps the 9th.
  kept = await makePost({ authorId: author.user.id, title: "Clash one", slug: "clash", publish: new Date("2026-11-10T03:00:27Z") });
  other = await makePost({ authorId: author.user.id, title: "Clash two", slug: "clash", publish: new Date("2026-11-10T10:00:00Z") });
  setZone("Asia/Tokyo");
  expect((await redateToZone())!.kept).toEqual([expect.objectContaining({ id: kept.id, date: "2026-11-09" })]);
});

afterAll(() => setZone("UTC"));

it("saves the kept post through the save path and the editor's form (publish unchanged: its date stays)", async () => {
  let p = await prisma.post.findUniqueOrThrow({ where: { id: kept.id } });
  await updatePost(
    kept.id,
    p.version,
    { title: "Clash one, edited", slug: "clash", body: p.body, status: "PUBLISHED", authorId: p.authorId, categoryId: null },
    null,
  );
  expect(await publishDate(kept.id)).toBe("2026-11-09");
  // The form shows the time to the minute in Tokyo (12:00 on the 10th) and sends it back.
  p = await prisma.post.findUniqueOrThrow({ where: { id: kept.id } });
  const form = {
    title: "Clash one, edited again",
    slug: "clash",
    authorId: String(p.authorId),
    categoryId: "",
    body: p.body,
    excerpt: "",
    metaDescription: "",
    status: "PUBLISHED",
    publish: "2026-11-10T12:00",
    _version: String(p.version),
  };
  await csrfPost(editor, url("admin:blog_post_change", { id: kept.id }), form, 303);
  const after = await prisma.post.findUniqueOrThrow({ where: { id: kept.id } });
  expect(after.title).toBe("Clash one, edited again");
  expect(after.publish.toISOString()).toBe("2026-11-10T03:00:27.000Z"); // the seconds kept
  expect(await publishDate(kept.id)).toBe("2026-11-09");
  // A real change of its time moves it to the new zone's day, where the other post is: refused.
  await expect(
    updatePost(kept.id, after.version, { ...after, slug: "clash", publish: new Date("2026-11-10T04:00:00Z"), categoryId: null }, null),
  ).rejects.toBeInstanceOf(SlugTakenError);
  expect(await publishDate(other.id)).toBe("2026-11-10");
});

it("links to the kept post at its own date everywhere", async () => {
  const at = "/blog/2026/11/09/clash/";
  expect((await request(app).get(at).expect(200)).text).toContain("Clash one");
  const change = await editor.agent.get(url("admin:blog_post_change", { id: kept.id })).expect(200);
  expect(change.text).toContain(`href="${at}"`); // View on site
  expect(change.text).not.toContain('href="/blog/2026/11/10/clash/"');
  expect((await author.agent.get(url("previews:post", { id: kept.id })).expect(302)).headers.location).toBe(at);
  expect((await previewContext({ ...author.user, isActive: true }, { id: kept.id }))!.liveUrl).toBe(at);
  const mine = await author.agent.get(url("authoring:my_posts", { group: "published" })).expect(200);
  expect(mine.text).toContain(`href="${at}"`);
  const api = await request(app).get(`/api/v1/posts/${kept.id}`).expect(200);
  expect(api.body.url).toBe(`http://folio.test${at}`);
});
