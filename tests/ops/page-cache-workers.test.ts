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
import { until } from "../support/poll.ts";

const dataDir = mkdtempSync(join(tmpdir(), "folio-pc-workers-"));
let server: ServerProcess | undefined;

beforeAll(async () => {
  server = await startServerProcess(productionEnv(process.env.TEST_DATABASE_URL!, { WEB_CONCURRENCY: "2", DATA_DIR: dataDir, PAGE_CACHE: "true" }));
  await until(() => servingPids().size === 2, { label: "both workers serve", ...polled, timeout: 60_000 });
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

/** How this file polls (tests/support/poll.ts): every 25 ms, up to 10 s unless told; a timeout shows the server's output. */
const polled = { timeout: 10_000, interval: 25, context: () => server?.output().slice(-3000) ?? "" };

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
    await until(async () => (await many(path)).every((r) => r.status === 200 && r.headers["x-cache"] === "HIT"), {
      label: "both workers hold the post page",
      ...polled,
    });
    await until(async () => (await many(others)).every((r) => r.headers["x-cache"] === "HIT"), {
      label: "both workers hold the unrelated category page",
      ...polled,
    });

    const before = (await getPostWithTags(post.id))!;
    const saved = Date.now();
    await updatePost(post.id, before.version, { ...before, publish: undefined, title: "Shared title, edited" }, { id: author.id });
    const returned = Date.now();
    await until(async () => (await many(path)).every((r) => r.body.includes("Shared title, edited")), {
      label: "both workers show the edit",
      ...polled,
      timeout: 5_000,
    });
    const took = Date.now() - returned;
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
    await until(async () => (await many("/blog/")).every((r) => r.headers["x-cache"] === "HIT"), { label: "both workers hold the list", ...polled });
    for (const r of await many("/blog/")) expect(r.body).not.toContain("Arrives through the cache");
    let firstSeen = 0;
    await until(
      async () => {
        const rs = await many("/blog/", 4);
        if (!firstSeen && rs.some((r) => r.body.includes("Arrives through the cache"))) firstSeen = Date.now();
        return rs.every((r) => r.body.includes("Arrives through the cache"));
      },
      { label: "the list shows the scheduled post in both workers", ...polled, timeout: 15_000 },
    );
    expect(firstSeen).toBeGreaterThanOrEqual(at.getTime());
    console.log(`the scheduled post showed ${firstSeen - at.getTime()} ms after its publish time`);
  }, 60_000);
});
