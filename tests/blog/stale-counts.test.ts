// Cached counts never make "Page X of Y" lie about the next page: writes that clear no cache (another
// process's before its NOTIFY arrives, psql) and scheduled posts coming due show up at once.
import { beforeAll, describe, expect, it } from "vitest";
import request from "supertest";
import { buildApp } from "../../src/app.ts";
import { config } from "../../src/config.ts";
import { prisma } from "../../src/db/index.ts";
import { createUser, makePost } from "../support/fixtures.ts";
import { writtenElsewhere } from "../cache/elsewhere.ts";

const app = buildApp();
// Writes here go around the save paths (straight SQL, or a clock moved) and the checks read the layers
// under the full-page cache (src/cache/pages.ts, tested in tests/cache/page-cache.test.ts): pages uncached.
(config as { PAGE_CACHE: boolean }).PAGE_CACHE = false;
let authorId = 0;
const t0 = Date.UTC(2026, 5, 1);

beforeAll(async () => {
  authorId = (await createUser({ role: "AUTHOR", username: "counter" })).user.id;
  for (let i = 0; i < 10; i++) await makePost({ title: `Counted ${i}`, authorId, publish: new Date(t0 + i * 60_000) });
});

describe("cached counts", () => {
  it("follow posts added, removed and coming due without invalidation", async () => {
    expect((await request(app).get("/blog/").expect(200)).text).toContain("Page 1 of 1");

    await writtenElsewhere({ title: "Counted 10", authorId, publish: new Date(t0 + 10 * 60_000) });
    const after = await request(app).get("/blog/").expect(200);
    expect(after.text).toContain("Page 1 of 2");
    expect(after.text).toContain('href="/blog/?page=2"');
    expect((await request(app).get("/blog/?page=2").expect(200)).text).toContain(">Counted 0</a>");

    await prisma.post.deleteMany({ where: { title: { in: ["Counted 0", "Counted 1"] } } });
    // ?page=last with a cached total that is now too high: still the real last page.
    expect((await request(app).get("/blog/?page=last").expect(200)).text).toContain("Page 1 of 1");
    await request(app).get("/blog/?page=2").expect(404);
    const fewer = await request(app).get("/blog/").expect(200);
    expect(fewer.text).toContain("Page 1 of 1");
    expect(fewer.text).not.toContain('href="/blog/?page=2"');

    await writtenElsewhere({ title: "Due soon", authorId, publish: new Date(Date.now() + 3_600_000) });
    await writtenElsewhere({ title: "Due soon 2", authorId, publish: new Date(Date.now() + 3_600_000) });
    expect((await request(app).get("/blog/").expect(200)).text).not.toContain("Due soon");
    // Their time comes (the database's clock passes their publish time; nothing is invalidated).
    await prisma.$executeRaw`UPDATE "Post" SET publish = now() - interval '1 second' WHERE title LIKE 'Due soon%'`;
    const due = await request(app).get("/blog/").expect(200);
    expect(due.text).toContain(">Due soon</a>");
    expect(due.text).toContain("Page 1 of 2");
  });
});
