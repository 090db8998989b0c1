// The real server (src/server.ts, as `npm start` runs it) started with TIME_ZONE=Europe/Paris on a
// database whose dates are in UTC: it re-dates the posts once, at start-up, before it serves; the old
// URLs answer 301; a second start with the same zone changes nothing.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { recordedZone } from "../../src/posts/timezone.ts";
import { createUser, makePost, prisma } from "../support/fixtures.ts";
import { request, startServerProcess, testDatabaseEnv, type ServerProcess } from "../ops/support.ts";

const dataDir = mkdtempSync(join(tmpdir(), "folio-tz-"));
let server: ServerProcess | undefined;

afterAll(() => {
  server?.kill("SIGKILL");
  rmSync(dataDir, { recursive: true, force: true });
});

async function stop(proc: ServerProcess): Promise<void> {
  proc.kill("SIGTERM");
  expect((await proc.exited).code).toBe(0);
}

const redateLines = (proc: ServerProcess) => proc.logs().filter((l) => String(l.msg).startsWith("time zone changed"));

it("re-dates once when TIME_ZONE differs from the database's zone, and not on the next start", async () => {
  expect(await recordedZone()).toBe("UTC");
  const authorId = (await createUser({ role: "AUTHOR" })).user.id;
  // 23:30 UTC on the 21st is 00:30 on the 22nd in Paris; 10:00 UTC is the same day in both.
  const late = await makePost({ authorId, slug: "late-night", publish: new Date("2026-11-21T23:30:00Z") });
  await makePost({ authorId, slug: "morning", publish: new Date("2026-11-21T10:00:00Z") });
  expect((await prisma.post.findUniqueOrThrow({ where: { id: late.id } })).publishDate!.toISOString()).toBe("2026-11-21T00:00:00.000Z");

  const env = testDatabaseEnv(dataDir, { TIME_ZONE: "Europe/Paris", SITE_URL: "http://folio.test" });
  server = await startServerProcess(env);
  expect(redateLines(server).map((l) => l.msg)).toEqual(["time zone changed from UTC to Europe/Paris: 1 posts re-dated"]);
  expect(await recordedZone()).toBe("Europe/Paris");
  expect((await request(server.port, "/blog/2026/11/22/late-night/")).status).toBe(200);
  const old = await request(server.port, "/blog/2026/11/21/late-night/");
  expect(old.status).toBe(301);
  expect(old.headers.location).toBe("/blog/2026/11/22/late-night/");
  expect((await request(server.port, "/blog/2026/11/21/morning/")).status).toBe(200);
  await stop(server);

  server = await startServerProcess(env);
  expect(redateLines(server)).toEqual([]);
  expect((await request(server.port, "/blog/2026/11/22/late-night/")).status).toBe(200);
  await stop(server);
  server = undefined;
}, 120_000);
