// Read replica routing (src/db/replica.ts) with a real streaming replica (src/db/replica-setup.ts)
// made from the suite's PostgreSQL (this file's database lives there), through the real app.
// Routing is proven deterministically by pausing replay on the replica before a write: what the
// replica serves is then exactly the state before the write.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { buildApp } from "../../src/app.ts";
import { pool, replicaPool } from "../../src/db/client.ts";
import { resolveDataDir } from "../../src/db/embedded.ts";
import { freePort } from "../../src/db/net.ts";
import { connectReadReplica, STICKY_COOKIE } from "../../src/db/replica.ts";
import { createStreamingReplica, type StreamingReplica } from "../../src/db/replica-setup.ts";
import { logger } from "../../src/web/logger.ts";
import { until } from "../support/poll.ts";
import { createUser, csrfPost, makeCategory, makePost, signedIn, type Signed } from "../support/fixtures.ts";

const app = buildApp();
let replica: StreamingReplica;
let dir: string;
let onReplica: pg.Client;
let editor: Signed;
let authorId: number;
let categoryId: number;

const api = (cookie?: string) => {
  const r = request(app).get("/api/v1/posts?page_size=50");
  if (cookie) r.set("Cookie", cookie);
  return r;
};
/** The published post count GET /api/v1/categories gives the test's category (src/blog/queries.ts categoriesWithCounts: a shared cache fragment). */
async function replicaNewsCount(req: request.Test): Promise<number> {
  const res = await req;
  expect(res.status).toBe(200);
  const found = (res.body as { results: { name: string; posts: number }[] }).results.find((c) => c.name === "Replica News");
  expect(found).toBeDefined();
  return found!.posts;
}
const titles = (res: request.Response) => (res.body as { results: { title: string }[] }).results.map((p) => p.title);

/** Replays the replica up to the primary's current WAL position (replay resumed). */
async function caughtUp(): Promise<void> {
  const lsn = (await pool.query<{ lsn: string }>("SELECT pg_current_wal_insert_lsn()::text AS lsn")).rows[0]!.lsn;
  await until(async () => (await onReplica.query<{ ok: boolean }>("SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS ok", [lsn])).rows[0]!.ok, {
    label: `the replica has replayed up to ${lsn}`,
    accept: (ok) => ok,
    timeout: 15_000,
  });
}

beforeAll(async () => {
  const root = resolveDataDir(join(process.cwd(), ".data", "test"));
  mkdirSync(root, { recursive: true, mode: 0o755 });
  dir = mkdtempSync(join(root, "replica-"));
  replica = await createStreamingReplica({ primaryUrl: process.env.TEST_DATABASE_URL!, dataDir: dir, port: await freePort() });
  connectReadReplica(replica.url, 3);
  onReplica = new pg.Client({ connectionString: replica.url });
  onReplica.on("error", () => {});
  await onReplica.connect();
  const author = await createUser({ role: "AUTHOR" });
  authorId = author.user.id;
  categoryId = (await makeCategory("Replica News")).id;
  editor = await signedIn(app, "EDITOR");
  await makePost({ authorId, categoryId, title: "Replicated before", publish: new Date(Date.now() - 3_600_000) });
  await caughtUp();
}, 60_000);

afterAll(async () => {
  await onReplica?.end().catch(() => {});
  await replica?.stop();
  if (replica) await pool.query("SELECT pg_drop_replication_slot($1)", [replica.slot]).catch(() => {});
  rmSync(dir, { recursive: true, force: true });
});

describe("a real streaming replica", () => {
  it("is a hot standby streaming from the primary", async () => {
    const { rows } = await onReplica.query<{ recovery: boolean; status: string }>(
      "SELECT pg_is_in_recovery() AS recovery, (SELECT status FROM pg_stat_wal_receiver) AS status",
    );
    expect(rows[0]).toEqual({ recovery: true, status: "streaming" });
    await expect(onReplica.query("CREATE TABLE nope (id int)")).rejects.toThrow(/read-only transaction/);
  });
});

describe("routing with replay paused on the replica", () => {
  let title: string;
  let rw: string;

  beforeAll(async () => {
    await caughtUp();
    await onReplica.query("SELECT pg_wal_replay_pause()");
    title = `Written while paused ${Date.now()}`;
    // The write: an editor publishes through the admin form (a real POST, CSRF and all).
    const publish = new Date(Date.now() - 7_200_000).toISOString().slice(0, 16);
    const res = await csrfPost(
      editor,
      "/admin/blog/post/add/",
      {
        title,
        slug: "",
        authorId: String(authorId),
        categoryId: String(categoryId),
        tags: "",
        body: "Replica body.",
        excerpt: "",
        metaDescription: "",
        status: "PUBLISHED",
        publish,
      },
      303,
    );
    const cookies = ([] as string[]).concat(res.headers["set-cookie"] ?? []);
    rw = cookies.find((c) => c.startsWith(`${STICKY_COOKIE}=`)) ?? "";
    await until(async () => (await pool.query('SELECT 1 FROM "Post" WHERE title = $1', [title])).rowCount === 1, 5_000);
  });

  afterAll(async () => {
    await onReplica.query("SELECT pg_wal_replay_resume()").catch(() => {});
  });

  it("the write's answer sets the short read-your-writes cookie", () => {
    expect(rw).toMatch(new RegExp(`^${STICKY_COOKIE.replace(".", "\\.")}=1; Max-Age=15; Path=/; Expires=[^;]+; HttpOnly; SameSite=Lax$`));
  });

  it("an anonymous reader is served from the replica: the new post is not there yet", async () => {
    const res = await api();
    expect(res.status).toBe(200);
    expect(titles(res)).toContain("Replicated before");
    expect(titles(res)).not.toContain(title);
  });

  it("a signed-in user reads from the primary and sees it", async () => {
    const res = await editor.agent.get("/api/v1/posts?page_size=50");
    expect(res.status).toBe(200);
    expect(titles(res)).toContain(title);
  });

  it("the writer's client, with its sticky cookie and no session, reads from the primary", async () => {
    const res = await api(rw.split(";")[0]);
    expect(res.status).toBe(200);
    expect(titles(res)).toContain(title);
  });

  it("category counts read from the lagging replica are served to that reader but never kept for the others", async () => {
    const anonymous = () => request(app).get("/api/v1/categories");
    const signedInCount = () => replicaNewsCount(editor.agent.get("/api/v1/categories"));
    // Before the write the category had one published post; the replica (paused) still says so.
    expect(await replicaNewsCount(anonymous())).toBe(1);
    // Had that answer gone into the shared fragment (src/cache/fragments.ts) with the generation read
    // after the write's invalidation, it would be fresh there for 60 s, for everyone:
    expect(await signedInCount()).toBe(2);
    expect(await replicaNewsCount(anonymous().set("Cookie", rw.split(";")[0]!))).toBe(2);
    // A signed-in request alongside an anonymous one: never handed the replica's load in flight.
    const [, signed] = await Promise.all([replicaNewsCount(anonymous()), signedInCount()]);
    expect(signed).toBe(2);
  });

  it("a page cache miss is not rendered from the lagging replica: the stored page shows the write", async () => {
    const first = await request(app).get("/blog/");
    expect(first.status).toBe(200);
    expect(first.headers["x-cache"]).toBe("MISS");
    expect(first.text).toContain(title); // rendered from the primary: the replica is behind this miss
    const again = await request(app).get("/blog/");
    expect(again.headers["x-cache"]).toBe("HIT");
    expect(again.text).toContain(title);
  });

  it("after replay resumes, anonymous readers see it (nothing stale was kept in the data caches)", async () => {
    expect(titles(await api())).not.toContain(title); // still paused: the replica's answer, not kept
    await onReplica.query("SELECT pg_wal_replay_resume()");
    await caughtUp();
    expect(titles(await api())).toContain(title);
    expect(await replicaNewsCount(request(app).get("/api/v1/categories"))).toBe(2);
  });
});

describe("the replica stopped", () => {
  it("readers still get 200 from the primary, the outage logged once; reads return to the replica when it is back", async () => {
    const lines = (spy: { mock: { calls: unknown[][] } }, text: string) => spy.mock.calls.filter((args) => args.some((a) => String(a).includes(text))).length;
    const warn = vi.spyOn(logger, "warn").mockImplementation(() => undefined);
    const info = vi.spyOn(logger, "info").mockImplementation(() => undefined);
    const title = `Written while the replica is down ${Date.now()}`;
    await replica.stop();
    await makePost({ authorId, categoryId, title, publish: new Date(Date.now() - 60_000) });
    for (let i = 0; i < 3; i++) {
      const res = await api();
      expect(res.status).toBe(200);
      expect(titles(res)).toContain(title); // from the primary
      expect((await request(app).get("/blog/categories/")).status).toBe(200);
      expect((await request(app).get(`/api/v1/tags?page_size=${10 + i}`)).status).toBe(200); // a Prisma $transaction (readWork): each a cache miss
    }
    await replica.start();
    await onReplica.end().catch(() => {});
    onReplica = new pg.Client({ connectionString: replica.url });
    onReplica.on("error", () => {});
    await onReplica.connect();
    await caughtUp();
    // Back in use once its retry window passes: a paused replica's answer tells it served the read.
    await onReplica.query("SELECT pg_wal_replay_pause()");
    const later = `Written after the replica came back ${Date.now()}`;
    await makePost({ authorId, categoryId, title: later, publish: new Date(Date.now() - 30_000) });
    await until(async () => !titles(await api()).includes(later), {
      label: "an anonymous read is served by the replica again",
      accept: (v) => v,
      timeout: 15_000,
      interval: 250,
    });
    await onReplica.query("SELECT pg_wal_replay_resume()");
    expect(replicaPool).toBeDefined();
    expect(lines(warn, "read replica unavailable")).toBe(1); // once per outage, not per read
    expect(lines(info, "read replica answers again")).toBe(1);
    vi.restoreAllMocks();
  });
});
