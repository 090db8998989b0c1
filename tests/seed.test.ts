import { randomBytes } from "node:crypto";
import { describe, expect, inject, it } from "vitest";
import { connectDb, disconnectDb, pool, prisma } from "../src/db/index.ts";
import { dropDatabase, ensureDatabase } from "../src/db/migrate.ts";
import { ensureAdminAccount, seedDemoIfEmpty, seedPosts, mulberry32, DEMO_AUTHORS, DEMO_CATEGORIES, DEMO_TAGS } from "../src/blog/seed.ts";
import { excerptFrom, renderMarkdown } from "../src/blog/markdown.ts";
import { verifyPassword } from "../src/accounts/passwords.ts";
import { parseSeedArgs } from "../src/cli/seed.ts";

const fileDbUrl = process.env.TEST_DATABASE_URL!;

/** Runs `fn` against a second, fresh database cloned from the migrated template; reconnects to this file's database after. */
async function inFreshDatabase<T>(fn: () => Promise<T>): Promise<T> {
  const adminUrl = inject("pgAdminUrl");
  const name = `folio_test_seed_${randomBytes(4).toString("hex")}`;
  await ensureDatabase(adminUrl, name, inject("pgTemplate"));
  await disconnectDb();
  connectDb(adminUrl.replace(/\/postgres(\?|$)/, `/${name}$1`), 3);
  try {
    return await fn();
  } finally {
    await disconnectDb();
    connectDb(fileDbUrl, 5);
    await dropDatabase(adminUrl, name);
  }
}

const snapshot = () =>
  pool.query(`SELECT p.title, p.slug, p."publishDate"::text AS d, p.status, p.publish, p.body, u.username, c.slug AS cat,
                     (SELECT string_agg(t.slug, ',' ORDER BY t.slug) FROM "PostTag" pt JOIN "Tag" t ON t.id = pt."tagId" WHERE pt."postId" = p.id) AS tags
              FROM "Post" p JOIN "User" u ON u.id = p."authorId" LEFT JOIN "Category" c ON c.id = p."categoryId"
              ORDER BY p.id`).then((r) => r.rows);

describe("seedDemoIfEmpty", () => {
  it("creates a realistic demo on an empty database, once", async () => {
    const logs: string[] = [];
    await seedDemoIfEmpty((m) => logs.push(m));
    expect(logs.join("\n")).toMatch(/50 posts/);
    expect(await prisma.post.count()).toBe(50);
    expect(await prisma.category.count()).toBe(DEMO_CATEGORIES.length);
    expect(await prisma.tag.count()).toBe(DEMO_TAGS.length);
    for (const c of await prisma.category.findMany()) expect(c.description.length).toBeGreaterThan(10);

    const authors = await prisma.user.findMany({ where: { username: { in: DEMO_AUTHORS.map((a) => a.username) } } });
    expect(authors).toHaveLength(DEMO_AUTHORS.length);
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
  it("is deterministic: the same seed gives the same posts in two databases", async () => {
    const a = await inFreshDatabase(async () => {
      await seedPosts({ posts: 500, seed: 7 });
      return snapshot();
    });
    const b = await inFreshDatabase(async () => {
      await seedPosts({ posts: 500, seed: 7 });
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
    const { inserted } = await seedPosts({ posts: 2500, seed: 42, onProgress: (done, total) => { expect(total).toBe(2500); progress.push(done); } });
    expect(inserted).toBe(2500);
    expect(progress.at(-1)).toBe(2500);
    expect(await prisma.post.count()).toBe(before + 2500);

    const { rows: dup } = await pool.query(`SELECT "publishDate", slug FROM "Post" GROUP BY 1, 2 HAVING count(*) > 1`);
    expect(dup).toHaveLength(0);

    const { rows: [mix] } = await pool.query<{ drafts: number; scheduled: number; published: number; oldest: Date; untagged: number; maxtags: number; cats: number; authors: number; nocat: number }>(`
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
    expect(mix!.cats).toBe(DEMO_CATEGORIES.length);
    expect(mix!.authors).toBe(DEMO_AUTHORS.length);
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
    const { rows: [hits] } = await pool.query<{ n: number }>(`SELECT count(*) AS n FROM "Post" WHERE "searchVector" @@ websearch_to_tsquery('english', 'measure')`);
    expect(hits!.n).toBeGreaterThan(0);

    // Same seed again on the same database: no collisions, suffixed slugs.
    await seedPosts({ posts: 300, seed: 42 });
    expect(await prisma.post.count()).toBe(total + 300);
    const { rows: suffixed } = await pool.query(`SELECT 1 FROM "Post" WHERE slug ~ '-[0-9]+$' LIMIT 1`);
    expect(suffixed).toHaveLength(1);
    // Taxonomy and authors were reused, not duplicated.
    expect(await prisma.category.count()).toBe(DEMO_CATEGORIES.length);
    expect(await prisma.tag.count()).toBe(DEMO_TAGS.length);
  });

  it("rejects a bad count and does nothing for zero", async () => {
    await expect(seedPosts({ posts: -1 })).rejects.toThrow(RangeError);
    await expect(seedPosts({ posts: Number.NaN })).rejects.toThrow(RangeError);
    expect(await seedPosts({ posts: 0 })).toEqual({ inserted: 0 });
  });
});

describe("mulberry32", () => {
  it("is deterministic and in [0, 1)", () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(xs).toEqual(Array.from({ length: 1000 }, () => b()));
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    expect(new Set(xs).size).toBe(1000);
  });
});

describe("npm run seed arguments", () => {
  it("parses valid arguments", () => {
    expect(parseSeedArgs(["--posts", "100000", "--seed", "7"])).toEqual({ posts: 100000, seed: 7, quiet: false, database: undefined });
    expect(parseSeedArgs(["--posts=1_000"])).toMatchObject({ posts: 1000, seed: 42 });
    expect(parseSeedArgs(["--posts", "5", "--database", "folio_bench"])).toMatchObject({ database: "folio_bench" });
    expect(parseSeedArgs(["--help"])).toBe("help");
  });

  it.each([
    [[], /--posts is required/],
    [["--posts", "abc"], /whole number/],
    [["--posts", "1e5"], /whole number/],
    [["--posts", "-5"], /whole number|argument/],
    [["--posts", "0"], /between 1 and/],
    [["--posts", "99999999999999999999"], /between 1 and/],
    [["--posts", "10", "--seed", "4294967296"], /between 0 and/],
    [["--posts", "10", "--seed", "1; DROP TABLE"], /whole number/],
    [["--posts", "10", "--database", "x\"; DROP DATABASE folio; --"], /identifier/],
    [["--posts", "10", "--bogus"], /Unknown option/],
    [["--posts", "10", "extra"], /positional/],
  ])("rejects %j", (argv, message) => {
    expect(() => parseSeedArgs(argv as string[])).toThrow(message);
  });
});
