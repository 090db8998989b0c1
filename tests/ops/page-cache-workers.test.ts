// The page cache across processes: a real server with two workers (WEB_CONCURRENCY=2) on the memory
// backend, each with its own page cache, on this test file's database. This test process writes through
// the posts service, as another worker or host would: its NOTIFY must make both workers drop the pages
// that show the post. And a scheduled post appears through the cache at its time, with no write at all.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { postUrl } from "../../src/blog/queries.ts";
import "../../src/blog/routes.ts"; // registers blog:post_detail for postUrl()
import { getPostWithTags, updatePost } from "../../src/posts/service.ts";
import { createUser, makeCategory, makePost } from "../support/fixtures.ts";
import { productionEnv, request, startServerProcess, type ServerProcess } from "./support.ts";

const dataDir = mkdtempSync(join(tmpdir(), "folio-pc-workers-"));
let server: ServerProcess | undefined;

beforeAll(async () => {
  server = await startServerProcess(productionEnv(process.env.TEST_DATABASE_URL!, { WEB_CONCURRENCY: "2", DATA_DIR: dataDir, PAGE_CACHE: "true" }));
  await pollUntil("both workers serve", () => servingPids().size === 2, 60_000);
}, 120_000);

afterAll(() => {
  server?.kill("SIGKILL");
  rmSync(dataDir, { recursive: true, force: true });
});

function servingPids(): Set<number> {
  return new Set(
    server!
      .logs()
      .filter((l) => String(l.msg ?? "").startsWith("Folio is serving"))
      .map((l) => Number(l.pid)),
  );
}

/** Polls `check` every 25 ms until it holds; returns how long it took; fails after `ms`. */
async function pollUntil(what: string, check: () => boolean | Promise<boolean>, ms = 10_000): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    if (await check()) return Date.now() - t0;
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting until ${what}\n${server?.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** `n` requests, each on a new connection (the cluster hands connections to both workers in turn). */
async function many(path: string, n = 8) {
  const out = [];
  for (let i = 0; i < n; i++) out.push(await request(server!.port, path));
  return out;
}

describe("the page cache with two worker processes", () => {
  it("a save in another process clears the post's page in both workers (NOTIFY), and leaves an unrelated category cached", async () => {
    const author = (await createUser({ role: "AUTHOR", username: "pcw-author" })).user;
    const cat = await makeCategory("PCW cat");
    const unrelated = await makeCategory("PCW unrelated");
    await makePost({ title: "Unrelated one", authorId: author.id, categoryId: unrelated.id, publish: new Date(Date.now() - 7_200_000) });
    const post = await makePost({ title: "Shared title", authorId: author.id, categoryId: cat.id, publish: new Date(Date.now() - 3_600_000) });
    const path = postUrl(post);
    const others = `/blog/category/${unrelated.slug}/`;
    // Warm both workers: every answer a HIT after a few rounds.
    await pollUntil("both workers hold the post page", async () => (await many(path)).every((r) => r.status === 200 && r.headers["x-cache"] === "HIT"));
    await pollUntil("both workers hold the unrelated category page", async () => (await many(others)).every((r) => r.headers["x-cache"] === "HIT"));

    const before = (await getPostWithTags(post.id))!;
    const saved = Date.now();
    await updatePost(post.id, before.version, { ...before, publish: undefined, title: "Shared title, edited" }, { id: author.id });
    const took = await pollUntil("both workers show the edit", async () => (await many(path)).every((r) => r.body.includes("Shared title, edited")), 5_000);
    console.log(`both workers showed the edit ${took} ms after the save returned (${Date.now() - saved} ms after it started)`);
    // Once seen, never the old copy again; the unrelated page was not touched.
    for (const r of await many(path, 10)) expect(r.body).toContain("Shared title, edited");
    for (const r of await many(others)) expect(r.headers["x-cache"]).toBe("HIT");
  }, 60_000);

  it("a scheduled post appears on the list through the cache at its time (the cached page's lifetime ends then)", async () => {
    const author = (await createUser({ role: "AUTHOR", username: "pcw-scheduler" })).user;
    const at = new Date(Date.now() + 4_000);
    await makePost({ title: "Arrives through the cache", authorId: author.id, publish: at });
    // Cached in both workers before its time, without it.
    await pollUntil("both workers hold the list", async () => (await many("/blog/")).every((r) => r.headers["x-cache"] === "HIT"));
    for (const r of await many("/blog/")) expect(r.body).not.toContain("Arrives through the cache");
    let firstSeen = 0;
    await pollUntil(
      "the list shows the scheduled post in both workers",
      async () => {
        const rs = await many("/blog/", 4);
        if (!firstSeen && rs.some((r) => r.body.includes("Arrives through the cache"))) firstSeen = Date.now();
        return rs.every((r) => r.body.includes("Arrives through the cache"));
      },
      15_000,
    );
    expect(firstSeen).toBeGreaterThanOrEqual(at.getTime());
    console.log(`the scheduled post showed ${firstSeen - at.getTime()} ms after its publish time`);
  }, 60_000);
});
