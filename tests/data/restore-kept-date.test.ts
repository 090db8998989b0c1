// A restore after a change of TIME_ZONE: a post that kept its old date in a slug clash (src/posts/timezone.ts)
// is restored at that date. The trigger post_publish_date computes a date only when an INSERT gives none,
// so the restore's COPY keeps every stored date (recomputing it would meet the other post's (date, slug)).
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { config } from "../../src/config.ts";
import { redateToZone } from "../../src/posts/timezone.ts";
import { createUser, makePost } from "../support/fixtures.ts";
import { cli, freshDatabase, withClient } from "./support.ts";

const dir = mkdtempSync(join(tmpdir(), "folio-restore-kept-"));
chmodSync(dir, 0o755);
const setZone = (zone: string) => ((config as { TIME_ZONE: string }).TIME_ZONE = zone);

afterAll(() => {
  setZone("UTC");
  rmSync(dir, { recursive: true, force: true });
});

const dates = (url: string) =>
  withClient(url, async (c) =>
    (await c.query<{ title: string; d: string }>(`SELECT title, to_char("publishDate", 'YYYY-MM-DD') AS d FROM "Post" ORDER BY id`)).rows.map(
      (r) => `${r.title} ${r.d}`,
    ),
  );

it("restores a post that kept its old date in a zone change at that date (the backup's dates, not recomputed)", async () => {
  setZone("America/New_York");
  await redateToZone();
  const authorId = (await createUser({ role: "AUTHOR", username: "kept" })).user.id;
  // New York: the 9th and the 10th. Tokyo: both on the 10th, so the first keeps the 9th.
  await makePost({ authorId, title: "Clash one", slug: "clash", publish: new Date("2026-11-10T03:00:00Z") });
  await makePost({ authorId, title: "Clash two", slug: "clash", publish: new Date("2026-11-10T10:00:00Z") });
  setZone("Asia/Tokyo");
  expect((await redateToZone())!.kept).toHaveLength(1);
  const source = await dates(process.env.TEST_DATABASE_URL!);
  expect(source).toEqual(["Clash one 2026-11-09", "Clash two 2026-11-10"]);

  const backup = await cli("backup", ["--output", join(dir, "site.gz")]);
  expect(backup.code).toBe(0);
  const db = await freshDatabase();
  try {
    const r = await cli("restore", [join(dir, "site.gz")], { DATABASE_URL: db.url });
    expect(r.output).not.toMatch(/duplicate key|error/i);
    expect(r.code).toBe(0);
    expect(await dates(db.url)).toEqual(source);
    // A post written after the restore still takes its date from the trigger (the restored zone: Tokyo).
    await withClient(db.url, (c) =>
      c.query(`INSERT INTO "Post"(title, slug, "authorId", status, publish) VALUES ('Later', 'later', $1, 'PUBLISHED', '2026-11-10T20:00:00Z')`, [authorId]),
    );
    expect((await dates(db.url)).at(-1)).toBe("Later 2026-11-11");
  } finally {
    await db.drop();
  }
}, 120_000);
