// Old date URLs after a change of TIME_ZONE (movedPostPath): only a post that had the requested date in
// one of the site's previous zones ("SiteState" previous_time_zones, recorded by the re-date) is
// redirected; another post with the same slug a day away is not (404, never a permanent redirect to it);
// a site that never changed zone answers its 404s without looking.
import { afterAll, beforeAll, expect, it } from "vitest";
import request from "supertest";
import { buildApp } from "../../src/app.ts";
import { caches } from "../../src/cache/index.ts";
import { config } from "../../src/config.ts";
import { previousZones, redateToZone } from "../../src/posts/timezone.ts";
import { createUser, makePost, prisma } from "../support/fixtures.ts";

const setZone = (zone: string) => ((config as { TIME_ZONE: string }).TIME_ZONE = zone);
const app = buildApp();
let authorId: number;

beforeAll(async () => {
  authorId = (await createUser({ role: "AUTHOR" })).user.id;
});

afterAll(() => setZone("UTC"));

it("answers 404 for a site that never changed zone, from the cached empty list", async () => {
  // UTC: the 10th. Its URL on the 9th or 11th was never its address.
  await makePost({ authorId, slug: "never-moved", publish: new Date("2026-11-10T01:00:00Z") });
  expect(await previousZones()).toEqual([]);
  const hits = caches.previousZones.hits;
  await request(app).get("/blog/2026/11/09/never-moved/").expect(404);
  await request(app).get("/blog/2026/11/11/never-moved/").expect(404);
  expect(caches.previousZones.hits).toBe(hits + 2); // the list from the cache: no query for the post
});

it("redirects a post's old date in a previous zone, not another post with the same slug a day away", async () => {
  // UTC: the 10th; New York: the 9th (22:00).
  await makePost({ authorId, title: "Notes one", slug: "weekly-notes", publish: new Date("2026-11-10T03:00:00Z") });
  // Another post with the slug: the 11th in both zones.
  await makePost({ authorId, title: "Notes two", slug: "weekly-notes", publish: new Date("2026-11-11T15:00:00Z") });
  setZone("America/New_York");
  await redateToZone();
  expect(await previousZones()).toEqual(["UTC"]);
  expect((await prisma.siteState.findUniqueOrThrow({ where: { key: "previous_time_zones" } })).value).toBe('["UTC"]');
  // The first post's address under UTC.
  expect((await request(app).get("/blog/2026/11/10/weekly-notes/").expect(301)).headers.location).toBe("/blog/2026/11/09/weekly-notes/");
  // The 12th was no post's date in any zone the site used: the second post (the 11th, 50 hours away at most) is not a move.
  await request(app).get("/blog/2026/11/12/weekly-notes/").expect(404);
  expect((await request(app).get("/blog/2026/11/11/weekly-notes/").expect(200)).text).toContain("Notes two");
  // Back to UTC: New York joins the previous zones, UTC (current) leaves them.
  setZone("UTC");
  await redateToZone();
  expect(await previousZones()).toEqual(["America/New_York"]);
  expect((await request(app).get("/blog/2026/11/09/weekly-notes/").expect(301)).headers.location).toBe("/blog/2026/11/10/weekly-notes/");
});
