// Content seeding: the demo site created on first start (seedDemoIfEmpty), the first admin account
// (ensureAdminAccount), and bulk posts for benchmarks and load tests (seedPosts, `npm run seed`).
//
// Everything is generated from a seeded PRNG, so the same seed gives the same posts. Bulk inserts use
// multi-row INSERT ... SELECT FROM unnest(...) through the shared pg pool; Markdown bodies come from a
// pool of a few hundred distinct documents, each rendered (and sanitised) once, kept in a temporary
// table and joined in by index, so 100,000 posts do not mean 100,000 renders or 500 MB on the wire.
import { randomBytes } from "node:crypto";
import type pg from "pg";
import { pool, prisma, Role } from "../db/index.ts";
import { withClient } from "../db/client.ts";
import { hashPassword } from "../accounts/passwords.ts";
import { validatePassword } from "../accounts/validation.ts";
import { rolesWith } from "../accounts/permissions.ts";
import { countWords, excerptFrom, renderMarkdown, slugify } from "./markdown.ts";
import { dayString } from "../web/inputs.ts";
import { recordedZone } from "../posts/timezone.ts";

/** Bumped whenever the generator's output changes (the bench reseeds a database made by another version). */
export const SEED_GENERATOR_VERSION = 2;

// ---------------------------------------------------------------------------------------------
// Deterministic randomness

/** mulberry32: a tiny, fast, well-distributed 32-bit PRNG. Returns floats in [0, 1). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Rng {
  readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  pick<T>(list: readonly T[]): T {
    return list[Math.floor(this.next() * list.length)]!;
  }
  /** k distinct items (k <= list.length). */
  sample<T>(list: readonly T[], k: number): T[] {
    const copy = [...list];
    const out: T[] = [];
    for (let i = 0; i < k && copy.length; i++) out.push(copy.splice(Math.floor(this.next() * copy.length), 1)[0]!);
    return out;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

// ---------------------------------------------------------------------------------------------
// The site's vocabulary: categories, tags, authors, topics

const DEMO_CATEGORIES = [
  { slug: "tutorials", name: "Tutorials", description: "Step-by-step guides, from a first project to production." },
  { slug: "databases", name: "Databases", description: "PostgreSQL, indexes, query plans, migrations and data modelling." },
  { slug: "web-development", name: "Web Development", description: "Server-rendered apps, HTTP, templates, forms and the browser." },
  { slug: "devops", name: "DevOps", description: "Deploying, running and observing web applications." },
  { slug: "engineering", name: "Engineering", description: "Design, testing, code review and the craft of building software." },
  { slug: "career", name: "Career & Culture", description: "Teams, learning, writing and working in software." },
] as const;

const DEMO_TAGS = [
  "python",
  "django",
  "javascript",
  "typescript",
  "node",
  "postgresql",
  "sql",
  "performance",
  "security",
  "testing",
  "docker",
  "css",
  "tutorial",
  "architecture",
  "career",
] as const;

const TAG_NAMES: Record<string, string> = {
  python: "Python",
  django: "Django",
  javascript: "JavaScript",
  typescript: "TypeScript",
  node: "Node.js",
  postgresql: "PostgreSQL",
  sql: "SQL",
  performance: "Performance",
  security: "Security",
  testing: "Testing",
  docker: "Docker",
  css: "CSS",
  tutorial: "Tutorial",
  architecture: "Architecture",
  career: "Career",
};

const DEMO_AUTHORS = [
  {
    username: "ada.okafor",
    firstName: "Ada",
    lastName: "Okafor",
    role: Role.EDITOR,
    bio: "Editor. Writes about databases and the boring technology that keeps sites up.",
  },
  {
    username: "lukas.brandt",
    firstName: "Lukas",
    lastName: "Brandt",
    role: Role.AUTHOR,
    bio: "Backend developer, Django since 1.4, TypeScript since it stopped hurting.",
  },
  { username: "mei.tanaka", firstName: "Mei", lastName: "Tanaka", role: Role.AUTHOR, bio: "Front-end and accessibility. Believes in HTML first." },
  { username: "sofia.marin", firstName: "Sofía", lastName: "Marín", role: Role.AUTHOR, bio: "Runs the platform team. Containers, logs and pager duty." },
  {
    username: "tom.achterberg",
    firstName: "Tom",
    lastName: "Achterberg",
    role: Role.EDITOR,
    bio: "Writes about testing, code review and growing engineering teams.",
  },
] as const;

interface Topic {
  name: string;
  category: (typeof DEMO_CATEGORIES)[number]["slug"];
  tags: string[];
  lang: string;
  docs: string;
  code: string[];
}

const TOPICS: Topic[] = [
  {
    name: "PostgreSQL",
    category: "databases",
    tags: ["postgresql", "sql"],
    lang: "sql",
    docs: "https://www.postgresql.org/docs/current/",
    code: [
      "CREATE INDEX CONCURRENTLY post_status_publish_idx\n  ON post (status, publish DESC);",
      "EXPLAIN (ANALYZE, BUFFERS)\nSELECT id, title FROM post\nWHERE status = 'PUBLISHED'\nORDER BY publish DESC\nLIMIT 10;",
      "SELECT date_trunc('month', publish) AS month, count(*)\nFROM post GROUP BY 1 ORDER BY 1 DESC;",
    ],
  },
  {
    name: "Django",
    category: "web-development",
    tags: ["python", "django"],
    lang: "python",
    docs: "https://docs.djangoproject.com/en/stable/",
    code: [
      "class PublishedManager(models.Manager):\n    def get_queryset(self):\n        return super().get_queryset().filter(status=Post.Status.PUBLISHED)",
      "def post_list(request):\n    paginator = Paginator(Post.published.all(), 10)\n    posts = paginator.get_page(request.GET.get('page'))\n    return render(request, 'blog/post/list.html', {'posts': posts})",
    ],
  },
  {
    name: "TypeScript",
    category: "engineering",
    tags: ["typescript", "javascript"],
    lang: "ts",
    docs: "https://www.typescriptlang.org/docs/",
    code: [
      "type Result<T> = { ok: true; value: T } | { ok: false; error: string };\n\nfunction parsePage(raw: unknown): Result<number> {\n  const n = Number(raw);\n  return Number.isInteger(n) && n > 0 ? { ok: true, value: n } : { ok: false, error: 'bad page' };\n}",
      "const statuses = ['DRAFT', 'PUBLISHED'] as const;\ntype Status = (typeof statuses)[number];",
    ],
  },
  {
    name: "Node.js",
    category: "web-development",
    tags: ["node", "javascript"],
    lang: "js",
    docs: "https://nodejs.org/docs/latest/api/",
    code: [
      "import { createServer } from 'node:http';\n\ncreateServer((req, res) => {\n  res.writeHead(200, { 'content-type': 'text/plain' });\n  res.end('hello');\n}).listen(3000);",
      "process.on('SIGTERM', async () => {\n  await server.close();\n  await pool.end();\n  process.exit(0);\n});",
    ],
  },
  {
    name: "Docker",
    category: "devops",
    tags: ["docker"],
    lang: "dockerfile",
    docs: "https://docs.docker.com/",
    code: [
      "FROM node:20-slim AS build\nWORKDIR /app\nCOPY package*.json ./\nRUN npm ci\nCOPY . .\nRUN npm run build",
      "HEALTHCHECK --interval=30s CMD curl -fsS http://localhost:3000/readyz || exit 1",
    ],
  },
  {
    name: "CSS",
    category: "web-development",
    tags: ["css"],
    lang: "css",
    docs: "https://developer.mozilla.org/en-US/docs/Web/CSS",
    code: [
      ".post-list {\n  display: grid;\n  grid-template-columns: repeat(auto-fill, minmax(18rem, 1fr));\n  gap: 1.5rem;\n}",
      ":focus-visible {\n  outline: 3px solid var(--accent);\n  outline-offset: 2px;\n}",
    ],
  },
  {
    name: "Python",
    category: "tutorials",
    tags: ["python"],
    lang: "python",
    docs: "https://docs.python.org/3/",
    code: [
      "from itertools import batched\n\nfor chunk in batched(rows, 1000):\n    insert_many(chunk)",
      "@dataclass(frozen=True)\nclass Page:\n    number: int\n    size: int = 10",
    ],
  },
  {
    name: "web security",
    category: "engineering",
    tags: ["security"],
    lang: "http",
    docs: "https://owasp.org/www-project-application-security-verification-standard/",
    code: [
      "Content-Security-Policy: default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'self'",
      "Set-Cookie: sid=...; HttpOnly; Secure; SameSite=Lax; Path=/",
    ],
  },
  {
    name: "automated testing",
    category: "engineering",
    tags: ["testing"],
    lang: "ts",
    docs: "https://vitest.dev/guide/",
    code: [
      "it('returns 404 for a draft', async () => {\n  const res = await request(app).get(urlFor(draft));\n  expect(res.status).toBe(404);\n});",
      "beforeEach(async () => {\n  await db.query('TRUNCATE post CASCADE');\n});",
    ],
  },
  {
    name: "web performance",
    category: "engineering",
    tags: ["performance"],
    lang: "bash",
    docs: "https://developer.mozilla.org/en-US/docs/Web/Performance",
    code: ["npx autocannon -c 16 -d 10 http://localhost:3000/blog/", "curl -s -o /dev/null -w '%{time_total}\\n' http://localhost:3000/blog/?page=900"],
  },
  {
    name: "software architecture",
    category: "engineering",
    tags: ["architecture"],
    lang: "text",
    docs: "https://martinfowler.com/architecture/",
    code: ["router -> controller -> service -> queries -> template", "blog/\n  routes.ts\n  controller.ts\n  queries.ts\n  views/"],
  },
  {
    name: "engineering careers",
    category: "career",
    tags: ["career"],
    lang: "text",
    docs: "https://staffeng.com/guides/",
    code: ["Monday: review\nTuesday: write\nWednesday: pair\nThursday: ship\nFriday: learn"],
  },
];

const ASPECTS = [
  "indexes",
  "migrations",
  "connection pooling",
  "error handling",
  "pagination",
  "query planning",
  "deployment",
  "memory usage",
  "caching",
  "logging",
  "background jobs",
  "rate limiting",
  "schema design",
  "build times",
  "code review",
  "observability",
  "full-text search",
  "forms and validation",
  "configuration",
  "upgrades",
];

const TITLE_PATTERNS = [
  "Getting started with {topic} {aspect}",
  "{n} things I wish I knew about {topic} {aspect}",
  "A practical guide to {aspect} in {topic}",
  "How we fixed our {aspect} with {topic}",
  "Understanding {topic}: {aspect} explained",
  "Lessons learned from {aspect} at scale",
  "{topic} {aspect}, the boring way",
  "Notes on {aspect} with {topic}",
  "Debugging {aspect}: a {topic} story",
  "What {topic} taught me about {aspect}",
  "Stop worrying about {aspect} in {topic}",
  "The case for simple {aspect}",
  "{aspect} checklist for {topic} projects",
  "From zero to production: {topic} {aspect}",
];

const OPENINGS = [
  "Every project reaches the point where {aspect} stops being an afterthought. For us that moment came with {topic}, on a Tuesday, when the dashboards went red.",
  "This post collects what we learned about {aspect} while building a publishing platform on {topic}. None of it is new, but all of it was hard-won.",
  "If you have ever stared at a slow page and wondered where the time went, this one is for you: a walk through {aspect} in {topic}, with real numbers.",
  "{topic} makes the easy things easy. When it comes to {aspect}, you find out how it handles the hard ones.",
  'A reader asked how we approach {aspect}. The short answer is "carefully"; the long answer is this post.',
];

const PARAGRAPHS = [
  "The first step is always to measure. Guessing where the time goes is how you end up optimising the wrong thing, and **a profile beats an opinion** every time.",
  "Start with the simplest thing that could possibly work, write a test for it, and only then make it clever. Most of the time the simple version is fast enough.",
  "The documentation is better than its reputation. The section on {aspect} in particular answers most of the questions we had, if you read it slowly.",
  "We kept the change small: one query, one index, one template. Small changes are easy to review, easy to measure and easy to roll back.",
  "It is tempting to add a cache at this point. Resist it until you understand *why* the page is slow; a cache in front of a bad query only hides it.",
  "Defaults matter. The defaults in {topic} are sensible for a demo and surprisingly reasonable for production, but {aspect} is one place where you should choose deliberately.",
  "Our rule of thumb: if a page runs more than two queries, look at it. If it runs a query per row, fix it today.",
  "Writing it down helped. A short design note, shared before the code, saved us at least one rewrite and a week of arguing in pull requests.",
  "None of this needs a new service. A well-indexed table, a sane connection pool and honest logging carry a site much further than most people expect.",
  "Testing the failure paths is where the value is. The happy path works in the demo; the interesting bugs live in timeouts, retries and bad input.",
  "When the numbers finally looked right we ran the benchmark again, on a cold cache, to make sure we were not fooling ourselves.",
  "The same idea works in any stack: keep the hot path short, push work to write time, and make the common case cheap.",
];

const LIST_ITEMS = [
  "measure before and after every change",
  "keep migrations small and reversible",
  "name things after what they mean, not how they work",
  "log one line per request, with a request id",
  "validate input at the edge, once",
  "prefer one query with a join to N small ones",
  "check the query plan with `EXPLAIN ANALYZE`",
  "set timeouts on everything that talks to the network",
  "write the test that reproduces the bug first",
  "make the error page boring and helpful",
  "document the decision, not just the code",
  "delete code you no longer need",
];

const QUOTES = [
  "Premature optimization is the root of all evil. — Donald Knuth",
  "Make it work, make it right, make it fast. — Kent Beck",
  "Simple things should be simple, complex things should be possible. — Alan Kay",
  "The best code is no code at all. — Jeff Atwood",
  "Programs must be written for people to read, and only incidentally for machines to execute. — Harold Abelson",
];

const HEADINGS = [
  "Background",
  "The problem",
  "What we tried",
  "Measuring it",
  "The fix",
  "Trade-offs",
  "In practice",
  "What's next",
  "Takeaways",
  "Further reading",
];

function fill(template: string, topic: string, aspect: string, rng: Rng): string {
  return template
    .replaceAll("{topic}", topic)
    .replaceAll("{aspect}", aspect)
    .replaceAll("{n}", String(rng.int(3, 12)));
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

interface Doc {
  topic: Topic;
  aspect: string;
  body: string;
  /** The demo's showcase post: its own title, and the newest published post. */
  showcase?: { title: string };
}

/**
 * The demo's showcase of what a body can hold (src/blog/markdown.ts): code in two languages, a table,
 * footnotes, a task list and a YouTube video (a click-to-load placeholder: nothing is requested from
 * YouTube until a reader clicks Play).
 */
const SHOWCASE = {
  title: "What a post can hold: code, tables, footnotes and video",
  body: `Folio renders Markdown once, when a post is saved: code is highlighted on the server, so readers download no highlighting script.[^render]

## Code in two languages

A TypeScript function that counts the words of a text:

\`\`\`ts
export function countWords(text: string): number {
  // Split on white space and drop the empty pieces.
  return text.split(/\\s+/).filter(Boolean).length;
}
\`\`\`

And the SQL that finds the ten newest published posts:

\`\`\`sql
SELECT id, title, publish
FROM "Post"
WHERE status = 'PUBLISHED' AND publish <= now()
ORDER BY publish DESC
LIMIT 10;
\`\`\`

## A table

| Feature | Where it is rendered | Script needed |
| :-- | :-- | --: |
| Code highlighting | on the server, at save | none |
| Footnotes | on the server, at save | none |
| Video embeds | a placeholder, at save | a small one, on click |

On a phone, a wide table scrolls sideways instead of stretching the page.

## A task list

- [x] Write the first draft
- [x] Add a footnote[^lists]
- [ ] Ask a colleague to review the preview

## A video

Pasting a YouTube or Vimeo address on a line of its own gives a player that loads only when you ask for it:

https://www.youtube.com/watch?v=jNQXAC9IVRw

[^render]: The rendered HTML is stored with the post; each page view only prints it.
[^lists]: Task lists are GitHub-flavoured Markdown: \`- [ ]\` and \`- [x]\`.
`,
};

/** One Markdown document: intro, 2-4 sections with paragraphs, a list, a code block, a link and a quote. */
function makeDoc(rng: Rng): Doc {
  const topic = rng.pick(TOPICS);
  const aspect = rng.pick(ASPECTS);
  const f = (t: string) => fill(t, topic.name, aspect, rng);
  const parts: string[] = [capitalise(f(rng.pick(OPENINGS)))];
  const headings = rng.sample(HEADINGS, rng.int(2, 4));
  // Paragraphs drawn without replacement, so no paragraph repeats within a post.
  const paragraphs = rng.sample(PARAGRAPHS, PARAGRAPHS.length);
  headings.forEach((h, i) => {
    parts.push(`## ${h}`);
    for (const p of paragraphs.splice(0, rng.int(1, 2))) parts.push(f(p));
    if (i === 0)
      parts.push(
        rng
          .sample(LIST_ITEMS, rng.int(3, 5))
          .map((x) => `- ${x}`)
          .join("\n"),
      );
    if (i === 1) parts.push("```" + topic.lang + "\n" + rng.pick(topic.code) + "\n```");
    if (i === headings.length - 1) {
      parts.push(`See the [${topic.name} documentation](${topic.docs}) for the details, and our [archive](/blog/) for related posts.`);
      if (rng.chance(0.6)) parts.push(`> ${rng.pick(QUOTES)}`);
    }
  });
  if (rng.chance(0.3))
    parts.push(
      rng
        .sample(LIST_ITEMS, 3)
        .map((x, i) => `${i + 1}. ${capitalise(x)}.`)
        .join("\n"),
    );
  return { topic, aspect, body: parts.join("\n\n") + "\n" };
}

function makeTitle(doc: Doc, rng: Rng): string {
  return capitalise(fill(rng.pick(TITLE_PATTERNS), doc.topic.name, doc.aspect, rng)).slice(0, 250);
}

// ---------------------------------------------------------------------------------------------
// Taxonomy and authors (idempotent; reuses what exists)

interface Taxonomy {
  categories: Map<string, number>;
  tags: Map<string, number>;
  authors: number[];
}

async function ensureTaxonomy(client: pg.PoolClient | pg.Pool): Promise<Taxonomy> {
  await client.query(
    `INSERT INTO "Category" (name, slug, description) SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
     ON CONFLICT (slug) DO NOTHING`,
    [DEMO_CATEGORIES.map((c) => c.name), DEMO_CATEGORIES.map((c) => c.slug), DEMO_CATEGORIES.map((c) => c.description)],
  );
  await client.query(`INSERT INTO "Tag" (name, slug) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT (slug) DO NOTHING`, [
    DEMO_TAGS.map((t) => TAG_NAMES[t]!),
    [...DEMO_TAGS],
  ]);
  // Unusable password hash "": these accounts cannot log in until an admin sets a password.
  await client.query(
    `INSERT INTO "User" (username, email, "firstName", "lastName", role, bio, "passwordHash")
     SELECT u, e, f, l, r::"Role", b, '' FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) AS t(u, e, f, l, r, b)
     ON CONFLICT DO NOTHING`,
    [
      DEMO_AUTHORS.map((a) => a.username),
      DEMO_AUTHORS.map((a) => `${a.username}@example.com`),
      DEMO_AUTHORS.map((a) => a.firstName),
      DEMO_AUTHORS.map((a) => a.lastName),
      DEMO_AUTHORS.map((a) => a.role),
      DEMO_AUTHORS.map((a) => a.bio),
    ],
  );
  const cats = await client.query<{ id: number; slug: string }>(`SELECT id, slug FROM "Category" WHERE slug = ANY($1::text[])`, [
    DEMO_CATEGORIES.map((c) => c.slug),
  ]);
  const tags = await client.query<{ id: number; slug: string }>(`SELECT id, slug FROM "Tag" WHERE slug = ANY($1::text[])`, [[...DEMO_TAGS]]);
  const users = await client.query<{ id: number }>(`SELECT id FROM "User" WHERE username = ANY($1::text[]) ORDER BY username`, [
    DEMO_AUTHORS.map((a) => a.username),
  ]);
  let authors = users.rows.map((r) => r.id);
  if (!authors.length) {
    // Every demo username/email was taken by someone else: fall back to existing writers.
    const any = await client.query<{ id: number }>(`SELECT id FROM "User" WHERE role = ANY($1::"Role"[]) ORDER BY id LIMIT 10`, [rolesWith("post.create")]);
    authors = any.rows.map((r) => r.id);
  }
  if (!authors.length) throw new Error("seed: no author accounts available");
  return {
    categories: new Map(cats.rows.map((r) => [r.slug, r.id])),
    tags: new Map(tags.rows.map((r) => [r.slug, r.id])),
    authors,
  };
}

// ---------------------------------------------------------------------------------------------
// Post generation and bulk insert

const DAY = 86_400_000;

interface Plan {
  posts: number;
  seed: number;
  /** Distinct bodies to render (each rendered once). */
  poolSize: number;
  /** Published posts spread over this many days before today. */
  spanDays: number;
  /** Exact numbers of drafts and scheduled posts (rest published). */
  drafts: number;
  scheduled: number;
  batchSize: number;
  /** Concurrent insert connections. */
  writers: number;
  onProgress?: (done: number, total: number) => void;
  /** Make the first published post the showcase (SHOWCASE): the demo. */
  showcase?: boolean;
}

interface Batch {
  cols: {
    id: number[];
    title: string[];
    slug: string[];
    author: number[];
    category: (number | null)[];
    body: number[];
    status: string[];
    publish: string[];
    created: string[];
    updated: string[];
  };
  tagPost: number[];
  tagId: number[];
}

const INSERT_POSTS = `INSERT INTO "Post" (id, title, slug, "authorId", "categoryId", body, "bodyHtml", "wordCount", excerpt, "metaDescription", status, publish, "createdAt", "updatedAt")
  SELECT t.id, t.title, t.slug, t.author, t.category, b.body, b.html, b.words, b.excerpt, b.meta, t.status::"PostStatus", t.publish, t.created, t.updated
  FROM unnest($1::int[], $2::text[], $3::text[], $4::int[], $5::int[], $6::int[], $7::text[], $8::timestamptz[], $9::timestamptz[], $10::timestamptz[])
    AS t(id, title, slug, author, category, body, status, publish, created, updated)
  JOIN seed_body b ON b.idx = t.body`;

async function loadBodies(client: pg.PoolClient, bodies: unknown[][]): Promise<void> {
  await client.query(`CREATE TEMP TABLE IF NOT EXISTS seed_body (idx int PRIMARY KEY, body text, html text, words int, excerpt text, meta text)`);
  await client.query(`TRUNCATE seed_body`);
  await client.query(`INSERT INTO seed_body SELECT * FROM unnest($1::int[], $2::text[], $3::text[], $4::int[], $5::text[], $6::text[])`, bodies);
  // Bulk loading: a crash loses at most the last batches, never consistency.
  await client.query(`SET synchronous_commit = off`);
}

/** Undoes loadBodies() before withClient() returns the client to the pool. */
async function unloadBodies(client: pg.PoolClient): Promise<void> {
  await client.query(`DROP TABLE IF EXISTS seed_body`).catch(() => {});
  await client.query(`RESET synchronous_commit`).catch(() => {});
}

async function insertPosts(plan: Plan): Promise<{ inserted: number; ids: number[] }> {
  const rng = new Rng(plan.seed);
  // Anchor at the start of today (UTC): the same seed gives the same posts all day.
  const now = Date.now();
  const today = Math.floor(now / DAY) * DAY;

  const docs = Array.from({ length: plan.poolSize }, () => makeDoc(rng));
  // Which posts are drafts or scheduled: fixed positions spread across the run.
  const special = new Map<number, "DRAFT" | "SCHEDULED">();
  const specialRng = new Rng(plan.seed ^ 0x5eed);
  while (special.size < Math.min(plan.posts, plan.drafts + plan.scheduled)) {
    const i = specialRng.int(0, plan.posts - 1);
    if (!special.has(i)) special.set(i, special.size < plan.drafts ? "DRAFT" : "SCHEDULED");
  }
  if (plan.showcase && docs.length >= plan.posts) {
    // The first published post's own body becomes the showcase (its topic, for the category, is kept).
    const i = docs.findIndex((_, k) => !special.has(k));
    if (i >= 0) docs[i] = { ...docs[i]!, body: SHOWCASE.body, showcase: { title: SHOWCASE.title } };
  }
  // Each distinct body is rendered and sanitised once.
  const bodies = [
    docs.map((_, i) => i),
    docs.map((d) => d.body),
    docs.map((d) => renderMarkdown(d.body)),
    docs.map((d) => countWords(d.body)),
    docs.map((d) => excerptFrom(d.body, 40)),
    docs.map((d) => excerptFrom(d.body, 25).slice(0, 300)),
  ];

  const tax = await ensureTaxonomy(pool);
  // Slugs must be unique per URL date (the day of publish in the zone the database records, which the
  // trigger dates posts in: src/posts/timezone.ts): load what exists in the seeded date range.
  const zone = await recordedZone();
  const dayKey = (d: Date) => dayString(d, zone);
  const used = new Set<string>();
  const existing = await pool.query<{ d: string; slug: string }>(
    `SELECT to_char("publishDate", 'YYYY-MM-DD') AS d, slug FROM "Post" WHERE "publishDate" BETWEEN $1::date AND $2::date`,
    [dayKey(new Date(today - (plan.spanDays + 2) * DAY)), dayKey(new Date(today + 400 * DAY))],
  );
  for (const r of existing.rows) used.add(`${r.d}|${r.slug}`);
  // Ids up front (one round trip), so batches can be built in order and inserted concurrently.
  const ids: number[] = [];
  while (ids.length < plan.posts) {
    const { rows } = await pool.query<{ ids: number[] }>(
      `SELECT array_agg(nextval(pg_get_serial_sequence('"Post"', 'id'))::int) AS ids FROM generate_series(1, $1)`,
      [Math.min(100_000, plan.posts - ids.length)],
    );
    for (const id of rows[0]!.ids) ids.push(id);
  }

  const catSlugs = [...tax.categories.keys()];
  const tagSlugs = [...tax.tags.keys()];
  /** Builds the rows of posts [start, start + n): synchronous, so batches consume the PRNG in order. */
  const buildBatch = (start: number, n: number): Batch => {
    const b: Batch = {
      cols: { id: [], title: [], slug: [], author: [], category: [], body: [], status: [], publish: [], created: [], updated: [] },
      tagPost: [],
      tagId: [],
    };
    const cols = b.cols;
    for (let k = 0; k < n; k++) {
      const i = start + k;
      const id = ids[i]!;
      // A pool as large as the run (the demo) gives every post its own body.
      const bodyIdx = docs.length >= plan.posts ? i : rng.int(0, docs.length - 1);
      const doc = docs[bodyIdx]!;
      const made = makeTitle(doc, rng); // drawn even for the showcase: the same PRNG sequence for the rest
      const title = doc.showcase?.title ?? made;
      const kind = special.get(i) ?? "PUBLISHED";
      let publish: number;
      if (kind === "SCHEDULED") publish = today + rng.int(1, 60) * DAY + rng.int(6, 20) * 3_600_000;
      else {
        // Denser towards the present: blogs tend to post more over time.
        const back = Math.floor(Math.pow(rng.next(), 1.3) * plan.spanDays * DAY);
        publish = today - back + rng.int(6 * 3600, 22 * 3600) * 1000;
        if (publish > now) publish -= DAY;
        if (doc.showcase) publish = now - 3_600_000; // the newest post: first on the home page
      }
      const created = publish - rng.int(1, 72) * 3_600_000;
      const updated = kind === "DRAFT" ? created + rng.int(0, 48) * 3_600_000 : publish + (rng.chance(0.2) ? rng.int(1, 30) * DAY : 0);
      const key = dayKey(new Date(publish));
      const base = slugify(title).slice(0, 240).replace(/-+$/, "");
      let slug = base;
      for (let c = 2; used.has(`${key}|${slug}`); c++) slug = `${base}-${c}`;
      used.add(`${key}|${slug}`);
      const catSlug = rng.chance(0.75) && tax.categories.has(doc.topic.category) ? doc.topic.category : rng.chance(0.9) ? rng.pick(catSlugs) : null;

      cols.id.push(id);
      cols.title.push(title);
      cols.slug.push(slug);
      cols.author.push(tax.authors[rng.int(0, tax.authors.length - 1)]!);
      cols.category.push(catSlug ? tax.categories.get(catSlug)! : null);
      cols.body.push(bodyIdx);
      cols.status.push(kind === "DRAFT" ? "DRAFT" : "PUBLISHED");
      cols.publish.push(new Date(publish).toISOString());
      cols.created.push(new Date(created).toISOString());
      cols.updated.push(new Date(Math.min(updated, Math.max(now, publish))).toISOString());

      const wanted = new Set<string>(doc.topic.tags.filter((t) => tax.tags.has(t)).slice(0, rng.int(1, 2)));
      const extra = rng.int(0, 2);
      for (let e = 0; e < extra; e++) wanted.add(rng.pick(tagSlugs));
      if (rng.chance(0.15) && tax.tags.has("tutorial")) wanted.add("tutorial");
      if (!wanted.size && tagSlugs.length) wanted.add(rng.pick(tagSlugs));
      for (const t of [...wanted].slice(0, 4)) {
        b.tagPost.push(id);
        b.tagId.push(tax.tags.get(t)!);
      }
    }
    return b;
  };

  let next = 0;
  let done = 0;
  // Two writers keep both cores busy (PostgreSQL computes each row's search vector and GIN entries).
  const worker = () =>
    withClient(async (client) => {
      try {
        await loadBodies(client, bodies);
        while (next < plan.posts) {
          const start = next;
          const n = Math.min(plan.batchSize, plan.posts - start);
          next += n;
          const b = buildBatch(start, n);
          const c = b.cols;
          await client.query("BEGIN");
          try {
            await client.query(INSERT_POSTS, [c.id, c.title, c.slug, c.author, c.category, c.body, c.status, c.publish, c.created, c.updated]);
            await client.query(`INSERT INTO "PostTag" ("postId", "tagId") SELECT * FROM unnest($1::int[], $2::int[]) ON CONFLICT DO NOTHING`, [
              b.tagPost,
              b.tagId,
            ]);
            await client.query("COMMIT");
          } catch (e) {
            next = plan.posts; // stop the other writer too
            await client.query("ROLLBACK").catch(() => {});
            throw e;
          }
          done += n;
          plan.onProgress?.(done, plan.posts);
        }
      } finally {
        await unloadBodies(client);
      }
    });
  const writers = Math.max(1, Math.min(plan.writers, Math.ceil(plan.posts / plan.batchSize)));
  const results = await Promise.allSettled(Array.from({ length: writers }, worker));
  const failed = results.find((r) => r.status === "rejected");
  if (failed) throw (failed as PromiseRejectedResult).reason;
  return { inserted: done, ids };
}

export interface SeedPostsOptions {
  posts: number;
  seed?: number;
  onProgress?: (done: number, total: number) => void;
}

/**
 * Adds `posts` generated posts (about 95% published over five years, ~4.5% drafts, ~0.5% scheduled),
 * with categories, 1-4 tags each and the demo authors. Works on a non-empty database: existing
 * categories, tags and authors are reused, slugs never collide with existing ones.
 */
export async function seedPosts(opts: SeedPostsOptions): Promise<{ inserted: number }> {
  const posts = Math.floor(opts.posts);
  if (!Number.isFinite(posts) || posts < 0) throw new RangeError("posts must be a non-negative integer");
  const seed = Math.floor(opts.seed ?? 42) >>> 0;
  if (posts === 0) return { inserted: 0 };
  const drafts = Math.round(posts * 0.045);
  const scheduled = Math.max(posts >= 20 ? 1 : 0, Math.round(posts * 0.005));
  const { inserted } = await insertPosts({
    posts,
    seed,
    poolSize: Math.min(400, Math.max(20, Math.ceil(posts / 4))),
    spanDays: 5 * 365,
    drafts,
    scheduled,
    batchSize: 1000,
    writers: 2,
    onProgress: opts.onProgress,
  });
  return { inserted };
}

/** On an empty database (no posts): a small, realistic demo site. Idempotent. */
export async function seedDemoIfEmpty(log: (m: string) => void): Promise<void> {
  const { rows } = await pool.query<{ any: boolean }>(`SELECT EXISTS (SELECT 1 FROM "Post") AS any`);
  if (rows[0]?.any) return;
  // Every demo post has its own body (pool size = post count), rendered individually.
  const { inserted } = await insertPosts({
    posts: 50,
    seed: 2026,
    poolSize: 50,
    spanDays: 200,
    drafts: 2,
    scheduled: 1,
    batchSize: 50,
    writers: 1,
    showcase: true,
  });
  log(`demo content created: ${inserted} posts, ${DEMO_CATEGORIES.length} categories, ${DEMO_TAGS.length} tags, ${DEMO_AUTHORS.length} authors`);
}

/**
 * When no ADMIN exists: creates one and returns it, with `given` as its password (SUPERUSER_PASSWORD,
 * held to the sign-up rules) or a random one (to be printed once); only its argon2id hash is stored.
 * Otherwise null.
 */
export async function ensureAdminAccount(given?: string): Promise<{ username: string; password: string } | null> {
  const existing = await prisma.user.findFirst({ where: { role: Role.ADMIN }, select: { id: true } });
  if (existing) return null;
  const password = given ?? randomBytes(15).toString("base64url"); // 20 characters, 120 bits
  const passwordHash = await hashPassword(password);
  // "admin" may already be the name of a non-admin account: pick a free variant then.
  for (let attempt = 0; attempt < 5; attempt++) {
    const suffix = attempt === 0 ? "" : `-${randomBytes(3).toString("hex")}`;
    const username = `admin${suffix}`;
    const email = `admin${suffix}@example.com`;
    const taken = await prisma.user.findFirst({ where: { OR: [{ username }, { email }] }, select: { id: true } });
    if (taken) continue;
    const problems = given === undefined ? [] : validatePassword(given, { username, email });
    if (problems.length) throw new Error(`SUPERUSER_PASSWORD is refused: ${problems.join(" ")}`);
    try {
      await prisma.user.create({ data: { username, email, role: Role.ADMIN, passwordHash, firstName: "Site", lastName: "Admin" } });
      return { username, password };
    } catch (e) {
      // A concurrent start created it first.
      if ((e as { code?: string }).code === "P2002") {
        if (await prisma.user.findFirst({ where: { role: Role.ADMIN }, select: { id: true } })) return null;
        continue;
      }
      throw e;
    }
  }
  throw new Error("could not create the admin account: usernames admin/admin-* are taken");
}
