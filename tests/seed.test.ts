import { randomBytes } from "node:crypto";
import { describe, expect, inject, it } from "vitest";
import { connectDb, disconnectDb, pool, prisma } from "../src/db/index.ts";
import { dropDatabase, ensureDatabase } from "../src/db/migrate.ts";
import { ensureAdminAccount, seedDemoIfEmpty, seedPosts } from "../src/blog/seed.ts";
import { excerptFrom, renderMarkdown } from "../src/blog/markdown.ts";
import { verifyPassword } from "../src/accounts/passwords.ts";
import { intArg } from "../src/cli/args.ts";
import { spawnProcess } from "./ops/support.ts";

const fileDbUrl = process.env.TEST_DATABASE_URL!;
/** The demo's vocabulary (src/blog/seed.ts): its categories, tags and writers. */
const DEMO = { categories: 6, tags: 15, authors: ["ada.okafor", "lukas.brandt", "mei.tanaka", "sofia.marin", "tom.achterberg"] };

/** `npm run seed -- <args>` as a process, against `databaseUrl`. */
async function seedCli(args: string[], databaseUrl = fileDbUrl): Promise<{ code: number | null; output: string }> {
  const p = spawnProcess("src/cli/seed.ts", args, { DATABASE_URL: databaseUrl, LOG_LEVEL: "warn" });
  const { code } = await p.exited;
  return { code, output: p.output() };
}

/** Runs `fn` (given its URL) against a second, fresh database cloned from the migrated template; reconnects to this file's database after. */
async function inFreshDatabase<T>(fn: (url: string) => Promise<T>): Promise<T> {
  const adminUrl = inject("pgAdminUrl");
  const name = `folio_test_seed_${randomBytes(4).toString("hex")}`;
  await ensureDatabase(adminUrl, name, inject("pgTemplate"));
  await disconnectDb();
  const url = adminUrl.replace(/\/postgres(\?|$)/, `/${name}$1`);
  connectDb(url, 3);
  try {
    return await fn(url);
  } finally {
    await disconnectDb();
    connectDb(fileDbUrl, 5);
    await dropDatabase(adminUrl, name);
  }
}

const snapshot = () =>
  pool
    .query(
      `SELECT p.title, p.slug, p."publishDate"::text AS d, p.status, p.publish, p.body, u.username, c.slug AS cat,
                     (SELECT string_agg(t.slug, ',' ORDER BY t.slug) FROM "PostTag" pt JOIN "Tag" t ON t.id = pt."tagId" WHERE pt."postId" = p.id) AS tags
              FROM "Post" p JOIN "User" u ON u.id = p."authorId" LEFT JOIN "Category" c ON c.id = p."categoryId"
              ORDER BY p.id`,
    )
    .then((r) => r.rows);

describe("seedDemoIfEmpty", () => {
  it("creates a realistic demo on an empty database, once", async () => {
    const logs: string[] = [];
    await seedDemoIfEmpty((m) => logs.push(m));
    expect(logs.join("\n")).toMatch(/50 posts/);
    expect(await prisma.post.count()).toBe(50);
    expect(await prisma.category.count()).toBe(DEMO.categories);
    expect(await prisma.tag.count()).toBe(DEMO.tags);
    for (const c of await prisma.category.findMany()) expect(c.description.length).toBeGreaterThan(10);

    const authors = await prisma.user.findMany({ where: { username: { in: DEMO.authors } } });
    expect(authors).toHaveLength(DEMO.authors.length);
    for (const a of authors) {
      expect(["AUTHOR", "EDITOR"]).toContain(a.role);
      expect(a.passwordHash).toBe(""); // cannot log in until an admin sets a password
      expect(await verifyPassword(a.passwordHash, "")).toBe(false);
    }

    const now = new Date();
    const posts = await prisma.post.findMany({ include: { tags: true } });
    expect(posts.filter((p) => p.status === "DRAFT")).toHaveLength(2);
    expect(posts.filter((p) => p.status === "PUBLISHED" && p.publish > now)).toHaveLength(1);
    expect(posts.filter((p) => p.status === "PUBLISHED" && p.publish <= now)).toHaveLength(47);
    expect(new Set(posts.map((p) => p.body)).size).toBe(50); // every demo post has its own body
    for (const p of posts) {
      expect(p.tags.length).toBeGreaterThanOrEqual(1);
      expect(p.tags.length).toBeLessThanOrEqual(4);
      expect(p.body).toMatch(/^## /m);
      expect(p.body).toContain("```");
      expect(p.bodyHtml).toBe(renderMarkdown(p.body));
      expect(p.excerpt).toBe(excerptFrom(p.body));
      expect(p.slug).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
    }
    // Published over the last months.
    const oldest = Math.min(...posts.map((p) => p.publish.getTime()));
    expect(now.getTime() - oldest).toBeLessThan(210 * 86_400_000);

    await seedDemoIfEmpty((m) => logs.push(m));
    expect(await prisma.post.count()).toBe(50);
    expect(logs).toHaveLength(1);
  });
});

describe("ensureAdminAccount", () => {
  it("creates one admin with a strong random password, returned once, stored as an argon2id hash", async () => {
    const created = await ensureAdminAccount();
    expect(created).not.toBeNull();
    expect(created!.username).toBe("admin");
    expect(created!.password).toMatch(/^[A-Za-z0-9_-]{20}$/);
    const user = await prisma.user.findUniqueOrThrow({ where: { username: "admin" } });
    expect(user.role).toBe("ADMIN");
    expect(user.email).toBe("admin@example.com");
    expect(user.passwordHash).toMatch(/^\$argon2id\$/);
    expect(user.passwordHash).not.toContain(created!.password);
    expect(await verifyPassword(user.passwordHash, created!.password)).toBe(true);
    expect(await verifyPassword(user.passwordHash, "wrong")).toBe(false);

    expect(await ensureAdminAccount()).toBeNull();
    expect(await prisma.user.count({ where: { role: "ADMIN" } })).toBe(1);
  });

  it("gives the admin SUPERUSER_PASSWORD when one is given (held to the sign-up rules: a weak one is refused)", async () => {
    await inFreshDatabase(async () => {
      await expect(ensureAdminAccount("admin1234")).rejects.toThrow(/SUPERUSER_PASSWORD is refused: .*too (similar|short|common)/);
      expect(await prisma.user.count({ where: { role: "ADMIN" } })).toBe(0);
      const given = "correct horse battery staple 7";
      const created = await ensureAdminAccount(given);
      expect(created).toEqual({ username: "admin", password: given });
      const user = await prisma.user.findUniqueOrThrow({ where: { username: "admin" } });
      expect(await verifyPassword(user.passwordHash, given)).toBe(true);
      expect(await ensureAdminAccount(given)).toBeNull();
    });
  });

  it("the one-time preparation (compose's migrate) creates it with SUPERUSER_PASSWORD and prints no password", async () => {
    await inFreshDatabase(async (url) => {
      const given = "correct horse battery staple 7";
      const p = spawnProcess("src/fleet/prepare.ts", [], {
        DATABASE_URL: url,
        SUPERUSER_PASSWORD: given,
        SEED_DEMO: "false",
        NODE_ENV: "development",
        LOG_LEVEL: "info",
      });
      expect((await p.exited).code).toBe(0);
      expect(p.output()).toContain("admin account created: admin (password from SUPERUSER_PASSWORD)");
      expect(p.output()).not.toContain(given);
      expect(p.output()).not.toMatch(/password:/i);
      const user = await prisma.user.findUniqueOrThrow({ where: { username: "admin" } });
      expect(await verifyPassword(user.passwordHash, given)).toBe(true);
    });
  });

  it("picks another username when a non-admin already owns 'admin'", async () => {
    await inFreshDatabase(async () => {
      await prisma.user.create({ data: { username: "admin", email: "admin@example.com", role: "READER" } });
      const created = await ensureAdminAccount();
      expect(created!.username).toMatch(/^admin-[0-9a-f]{6}$/);
      const u = await prisma.user.findUniqueOrThrow({ where: { username: created!.username } });
      expect(u.role).toBe("ADMIN");
      expect(await verifyPassword(u.passwordHash, created!.password)).toBe(true);
    });
  });
});

describe("seedPosts", () => {
  it("is deterministic: the same seed gives the same posts in two databases (one seeded by npm run seed)", async () => {
    const a = await inFreshDatabase(async () => {
      await seedPosts({ posts: 500, seed: 7 });
      return snapshot();
    });
    const b = await inFreshDatabase(async (url) => {
      const r = await seedCli(["--posts=5_00", "--seed", "7", "--quiet"], url); // digit separators allowed
      expect(r, r.output).toMatchObject({ code: 0, output: expect.stringContaining("seeded 500 posts (seed 7)") });
      return snapshot();
    });
    expect(a).toHaveLength(500);
    expect(b).toEqual(a);
    const c = await inFreshDatabase(async () => {
      await seedPosts({ posts: 50, seed: 8 });
      return snapshot();
    });
    expect(c.map((r) => r.title)).not.toEqual(a.slice(0, 50).map((r) => r.title));
  });

  it("adds posts to a non-empty database: counts, unique slugs per date, status mix, tags, rendered bodies", async () => {
    await seedDemoIfEmpty(() => {}); // the non-empty database this test needs, whether or not the demo test ran first
    const before = await prisma.post.count();
    const progress: number[] = [];
    const { inserted } = await seedPosts({
      posts: 2500,
      seed: 42,
      onProgress: (done, total) => {
        expect(total).toBe(2500);
        progress.push(done);
      },
    });
    expect(inserted).toBe(2500);
    expect(progress.at(-1)).toBe(2500);
    expect(await prisma.post.count()).toBe(before + 2500);

    const { rows: dup } = await pool.query(`SELECT "publishDate", slug FROM "Post" GROUP BY 1, 2 HAVING count(*) > 1`);
    expect(dup).toHaveLength(0);

    const {
      rows: [mix],
    } = await pool.query<{
      drafts: number;
      scheduled: number;
      published: number;
      oldest: Date;
      untagged: number;
      maxtags: number;
      cats: number;
      authors: number;
      nocat: number;
    }>(`
      SELECT count(*) FILTER (WHERE status = 'DRAFT') AS drafts,
             count(*) FILTER (WHERE status = 'PUBLISHED' AND publish > now()) AS scheduled,
             count(*) FILTER (WHERE status = 'PUBLISHED' AND publish <= now()) AS published,
             min(publish) AS oldest,
             count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM "PostTag" pt WHERE pt."postId" = p.id)) AS untagged,
             (SELECT max(n) FROM (SELECT count(*) AS n FROM "PostTag" GROUP BY "postId") x)::int AS maxtags,
             count(DISTINCT "categoryId")::int AS cats, count(DISTINCT "authorId")::int AS authors,
             count(*) FILTER (WHERE "categoryId" IS NULL) AS nocat
      FROM "Post" p`);
    const total = before + 2500;
    expect(mix!.untagged).toBe(0);
    expect(mix!.maxtags).toBeLessThanOrEqual(4);
    expect(mix!.drafts).toBeGreaterThanOrEqual(Math.round(2500 * 0.045));
    expect(mix!.scheduled).toBeGreaterThanOrEqual(Math.round(2500 * 0.005));
    expect(mix!.published / total).toBeGreaterThan(0.93);
    expect(Date.now() - new Date(mix!.oldest).getTime()).toBeGreaterThan(4 * 365 * 86_400_000);
    expect(mix!.cats).toBe(DEMO.categories);
    expect(mix!.authors).toBe(DEMO.authors.length);
    expect(mix!.nocat).toBeGreaterThan(0);

    // Bodies come from a pool, each rendered once, and match what renderMarkdown makes.
    const { rows: bodies } = await pool.query<{ body: string; bodyHtml: string; excerpt: string; n: number }>(
      `SELECT body, "bodyHtml", excerpt, count(*) AS n FROM "Post" GROUP BY 1, 2, 3 ORDER BY n DESC LIMIT 5`,
    );
    expect(bodies[0]!.n).toBeGreaterThan(1);
    for (const r of bodies) {
      expect(r.bodyHtml).toBe(renderMarkdown(r.body));
      expect(r.excerpt).toBe(excerptFrom(r.body));
    }
    // The search vector is generated for them too.
    const {
      rows: [hits],
    } = await pool.query<{ n: number }>(`SELECT count(*) AS n FROM "Post" WHERE "searchVector" @@ websearch_to_tsquery('english', 'measure')`);
    expect(hits!.n).toBeGreaterThan(0);

    // Same seed again on the same database: no collisions, suffixed slugs.
    await seedPosts({ posts: 300, seed: 42 });
    expect(await prisma.post.count()).toBe(total + 300);
    const { rows: suffixed } = await pool.query(`SELECT 1 FROM "Post" WHERE slug ~ '-[0-9]+$' LIMIT 1`);
    expect(suffixed).toHaveLength(1);
    // Taxonomy and authors were reused, not duplicated.
    expect(await prisma.category.count()).toBe(DEMO.categories);
    expect(await prisma.tag.count()).toBe(DEMO.tags);
  });

  it("rejects a bad count and does nothing for zero", async () => {
    await expect(seedPosts({ posts: -1 })).rejects.toThrow(RangeError);
    await expect(seedPosts({ posts: Number.NaN })).rejects.toThrow(RangeError);
    expect(await seedPosts({ posts: 0 })).toEqual({ inserted: 0 });
  });
});

describe("npm run seed arguments", () => {
  it("answers --help, and refuses bad arguments with the usage and status 2 before touching a database", async () => {
    const cases: [string[], RegExp][] = [
      [[], /--posts is required/],
      [["--posts", "1e5"], /--posts must be a whole number/],
      [["--posts", "0"], /between 1 and/],
      [["--posts", "10", "--database", 'x"; DROP DATABASE folio; --'], /identifier/],
      [["--posts", "10", "--bogus"], /Unknown option/],
      [["--posts", "10", "extra"], /positional/],
    ];
    const [help, ...refused] = await Promise.all([seedCli(["--help"]), ...cases.map(([argv]) => seedCli(argv, "postgresql://nobody@127.0.0.1:1/none"))]);
    expect(help, help.output).toMatchObject({ code: 0, output: expect.stringContaining("usage: npm run seed") });
    refused.forEach((r, i) => {
      expect(r.code, r.output).toBe(2);
      expect(r.output).toMatch(cases[i]![1]);
      expect(r.output).toContain("usage: npm run seed");
    });
  });

  it("refuses --seed and --posts past their limits, naming the option, and creates nothing", async () => {
    const counts = () =>
      pool
        .query(
          `SELECT (SELECT count(*) FROM "Post") AS posts, (SELECT count(*) FROM "User") AS users, (SELECT count(*) FROM "Tag") AS tags,
                  (SELECT count(*) FROM "Category") AS categories, (SELECT array_agg(datname ORDER BY datname) FROM pg_database) AS databases`,
        )
        .then((r) => r.rows[0]);
    const before = await counts();
    const cases: [string[], RegExp][] = [
      [["--posts", "10", "--seed", "4294967296"], /--seed must be between 0 and 4294967295, got 4294967296/],
      [["--posts", "99999999999999999999"], /--posts must be between 1 and 5000000, got 99999999999999999999/],
      // A valid --database name is accepted: the refusal that follows is about --seed, not the name.
      [["--database", "folio_seed_ok", "--posts", "10", "--seed", "4294967296"], /--seed must be between 0 and 4294967295/],
    ];
    // Against this file's real database: the arguments are refused before anything is written to it.
    const results = await Promise.all(cases.map(([argv]) => seedCli(argv)));
    results.forEach((r, i) => {
      expect(r.code, r.output).toBe(2);
      expect(r.output).toMatch(cases[i]![1]);
      expect(r.output).toContain("usage: npm run seed");
      expect(r.output).not.toMatch(/identifier|seeded/);
    });
    expect(await counts()).toEqual(before);
    expect(before!.databases).not.toContain("folio_seed_ok");
  });

  it("reads numbers as whole numbers in range (the CLIs' intArg)", () => {
    expect(intArg("posts", "1_000", 1, 5_000_000, undefined, { separators: true })).toBe(1000);
    expect(intArg("seed", undefined, 0, 0xffffffff, 42)).toBe(42);
    for (const [raw, message] of [
      ["abc", /whole number/],
      ["-5", /whole number/],
      ["1; DROP TABLE", /whole number/],
      ["99999999999999999999", /between 1 and/],
    ] as const)
      expect(() => intArg("posts", raw, 1, 5_000_000), raw).toThrow(message);
    expect(() => intArg("seed", "4294967296", 0, 0xffffffff)).toThrow(/between 0 and/);
  });
});
