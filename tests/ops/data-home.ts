// The same database, every time: the scenarios of tests/ops/data-home*.test.ts, run as root and as a
// normal user, in a checkout folder others can enter (0755) and in one they cannot (0700, like /root).
// Real servers and commands (spawned like `npm start` / `npm run seed`), each path twice in a row.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import pg from "pg";
import request from "supertest";
import { recordedClusterDir } from "../../src/db/embedded.ts";
import { csrfFrom, login } from "../support/auth.ts";
import { embeddedEnv, freePort, spawnProcess, startServerProcess, tryConnect, type RunAs, type ServerProcess } from "./support.ts";

const SLOW = 300_000;

export function dataHomeScenarios(opts: { as?: RunAs; parentMode: number }): void {
  const asRoot = (opts.as?.uid ?? process.getuid?.()) === 0;
  let base: string;
  let home: string; // the checkout's folder (HOME of the user too)
  let dataDir: string;
  let pgPort: number;
  let password: string;
  const title = `Kept across restarts ${Date.now()}`;
  const running = new Set<ServerProcess>();

  const env = (extra: Record<string, string> = {}) => ({ ...embeddedEnv(dataDir, pgPort), SEED_DEMO: "true", HOME: home, ...extra });

  async function start(): Promise<ServerProcess> {
    const p = await startServerProcess(env(), opts.as);
    running.add(p);
    return p;
  }
  async function stop(p: ServerProcess): Promise<void> {
    p.kill("SIGTERM");
    expect(await p.exited).toEqual({ code: 0, signal: null });
    running.delete(p);
    expect(await tryConnect(pgPort)).toBe("ECONNREFUSED");
  }
  /** Runs a server or command to its end: exit code and output. */
  async function run(script: string, args: string[] = []): Promise<{ code: number | null; out: string; fatal: string[] }> {
    const p = spawnProcess(script, args, env(), opts.as);
    const { code } = await p.exited;
    return {
      code,
      out: p.output(),
      fatal: p
        .logs()
        .filter((l) => l.level === 60)
        .map((l) => String(l.msg)),
    };
  }
  async function sql<T extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<T[]> {
    const c = new pg.Client({ connectionString: `postgresql://postgres:postgres@127.0.0.1:${pgPort}/folio` });
    await c.connect();
    try {
      return (await c.query<T>(text, values)).rows;
    } finally {
      await c.end();
    }
  }
  const postCount = async () => (await sql<{ n: string }>(`SELECT count(*)::text AS n FROM "Post"`))[0]!.n;
  const record = () => readFileSync(join(dataDir, "cluster.json"), "utf8");

  beforeAll(async () => {
    base = mkdtempSync(join(tmpdir(), "folio-home-"));
    chmodSync(base, 0o755);
    home = join(base, "clone");
    mkdirSync(home);
    if (opts.as) chownSync(home, opts.as.uid, opts.as.gid);
    chmodSync(home, opts.parentMode);
    dataDir = join(home, ".data");
    pgPort = await freePort();
  });

  afterAll(async () => {
    for (const p of running) {
      p.kill("SIGTERM");
      await p.exited;
    }
    const cluster = existsSync(join(dataDir, "cluster.json")) ? recordedClusterDir(dataDir) : null;
    if (cluster?.startsWith("/var/lib/folio/")) rmSync(dirname(cluster), { recursive: true, force: true });
    rmSync(base, { recursive: true, force: true });
  });

  it(
    "start, write a post, stop, start again (twice): the post and the admin account are there, no new password",
    async () => {
      const first = await start();
      password = /password: (\S+)/.exec(first.output())![1]!;
      const cluster = recordedClusterDir(dataDir)!;
      // As root with the checkout out of the postgres user's reach, the cluster lives in /var/lib/folio;
      // otherwise in DATA_DIR/postgres. Either way it is recorded and not re-derived.
      if (asRoot && opts.parentMode === 0o700) expect(cluster).toMatch(/^\/var\/lib\/folio\/[0-9a-f]{12}\/postgres$/);
      else expect(cluster).toBe(join(dataDir, "postgres"));
      // PostgreSQL ran as the user under test (as root: the postgres OS user), who owns the cluster.
      const owner = asRoot ? Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" })) : (opts.as?.uid ?? process.getuid!());
      expect(statSync(cluster).uid).toBe(owner);
      const recorded = record();

      const agent = request.agent(`http://127.0.0.1:${first.port}`);
      await login(agent, "admin", password);
      const form = await agent.get("/admin/blog/post/add/").expect(200);
      const [admin] = await sql<{ id: number }>(`SELECT id FROM "User" WHERE username = 'admin'`);
      const saved = await agent
        .post("/admin/blog/post/add/")
        .type("form")
        .send({
          _csrf: csrfFrom(form.text),
          title,
          slug: "",
          authorId: String(admin!.id),
          categoryId: "",
          body: "Written before a restart.",
          excerpt: "",
          metaDescription: "",
          status: "DRAFT",
          publish: "",
        });
      expect(saved.status, saved.text.slice(0, 500)).toBe(303);
      const count = await postCount();
      await stop(first);

      for (let i = 0; i < 2; i++) {
        const again = await start();
        expect(again.output()).not.toMatch(/Admin account created|initialising embedded PostgreSQL|demo content created/);
        expect(recordedClusterDir(dataDir)).toBe(cluster);
        expect(record()).toBe(recorded);
        await login(request.agent(`http://127.0.0.1:${again.port}`), "admin", password);
        expect(await sql(`SELECT 1 FROM "Post" WHERE title = $1`, [title])).toHaveLength(1);
        expect(await postCount()).toBe(count);
        await stop(again);
      }
    },
    SLOW,
  );

  it(
    "a command shares the running server's cluster, and starts and stops it when none runs (each twice); a second server is refused",
    async () => {
      const server = await start();
      const before = Number(await postCount());
      for (let i = 0; i < 2; i++) {
        const seed = await run("src/cli/seed.ts", ["--posts", "2", "--quiet"]);
        expect(seed.out).toContain(`using the embedded PostgreSQL that process ${server.child.pid} (a Folio server) runs on port ${pgPort}`);
        expect(seed.out).toMatch(/seeded 2 posts/);
        expect(seed.code).toBe(0);
        expect(await tryConnect(server.port)).toBe("connected");
      }
      for (let i = 0; i < 2; i++) {
        const second = await run("src/server.ts");
        expect(second.code).toBe(1);
        expect(second.fatal).toEqual([
          `cluster ${recordedClusterDir(dataDir)} in use by process ${server.child.pid} (a Folio server): stop it first, or give this one another DATA_DIR and EMBEDDED_PG_PORT`,
        ]);
      }
      // The same again on the server's own PORT: the port is checked first, and the line says who holds the data.
      for (let i = 0; i < 2; i++) {
        const p = spawnProcess("src/server.ts", [], env({ PORT: String(server.port) }), opts.as);
        expect((await p.exited).code).toBe(1);
        expect(
          p
            .logs()
            .filter((l) => l.level === 60)
            .map((l) => l.msg),
        ).toEqual([
          `port ${server.port} in use: another process listens on 127.0.0.1:${server.port} (process ${server.child.pid}, a Folio server, runs this DATA_DIR's database); stop it or set PORT to a free port`,
        ]);
      }
      expect(Number(await postCount())).toBe(before + 4);
      // db:* (with-db) and createsuperuser share it too.
      const withDb = await run("src/cli/with-db.ts", [process.execPath, "-e", "console.log('url=' + process.env.DATABASE_URL)"]);
      expect(withDb.code).toBe(0);
      expect(withDb.out).toContain(`url=postgresql://postgres:postgres@127.0.0.1:${pgPort}/folio`);
      const su = spawnProcess(
        "src/cli/createsuperuser.ts",
        ["--username", "second", "--email", "second@example.test", "--no-input"],
        env({ SUPERUSER_PASSWORD: "Granite-Willow-Orbit-88" }),
        opts.as,
      );
      expect((await su.exited).code).toBe(0);
      expect(su.output()).toContain("Superuser created successfully: second");
      await stop(server);

      for (let i = 0; i < 2; i++) {
        const seed = await run("src/cli/seed.ts", ["--posts", "2", "--quiet"]);
        expect(seed.out).toMatch(/embedded PostgreSQL listening/);
        expect(seed.out).not.toMatch(/initialising/);
        expect(seed.code).toBe(0);
        expect(await tryConnect(pgPort)).toBe("ECONNREFUSED"); // stopped again
        expect(existsSync(join(dataDir, "cluster.pid"))).toBe(false);
      }
      const alone = await run("src/cli/with-db.ts", [process.execPath, "-e", "console.log('url=' + process.env.DATABASE_URL)"]);
      expect(alone.code).toBe(0);
      expect(alone.out).toContain(`url=postgresql://postgres:postgres@127.0.0.1:${pgPort}/folio`);
      expect(await tryConnect(pgPort)).toBe("ECONNREFUSED");
      const after = await start();
      expect(Number(await postCount())).toBe(before + 8);
      expect(after.output()).not.toMatch(/Admin account created/);
      await stop(after);
    },
    SLOW,
  );

  it(
    "a recorded cluster that is missing stops the server and commands with where it looked, and nothing new is created (twice)",
    async () => {
      const cluster = recordedClusterDir(dataDir)!;
      renameSync(cluster, `${cluster}.away`);
      try {
        for (let i = 0; i < 2; i++) {
          const server = await run("src/server.ts");
          expect(server.code).toBe(1);
          expect(server.fatal).toHaveLength(1);
          expect(server.fatal[0]).toContain(
            `the embedded PostgreSQL cluster recorded in ${join(dataDir, "cluster.json")} is at ${cluster}, but it does not exist`,
          );
          expect(server.out).not.toMatch(/initialising/);
          const seed = await run("src/cli/seed.ts", ["--posts", "1", "--quiet"]);
          expect(seed.code).toBe(1);
          expect(seed.out).toContain(
            `seed: the embedded PostgreSQL cluster recorded in ${join(dataDir, "cluster.json")} is at ${cluster}, but it does not exist`,
          );
          expect(seed.out).not.toMatch(/undefined/);
          expect(existsSync(cluster)).toBe(false);
        }
      } finally {
        renameSync(`${cluster}.away`, cluster);
      }
      const back = await start();
      expect(await sql(`SELECT 1 FROM "Post" WHERE title = $1`, [title])).toHaveLength(1);
      await login(request.agent(`http://127.0.0.1:${back.port}`), "admin", password);
      await stop(back);
    },
    SLOW,
  );
}

/** Both checkout folders (others may enter it; 0700 like /root) for one user. */
export function dataHomeSuite(label: string, as?: RunAs): void {
  describe(`${label}, checkout in a 0755 folder`, () => dataHomeScenarios({ as, parentMode: 0o755 }));
  describe(`${label}, checkout in a 0700 folder (like /root)`, () => dataHomeScenarios({ as, parentMode: 0o700 }));
}
