import { beforeAll, describe, expect, it } from "vitest";
import request from "supertest";
import { Parser } from "htmlparser2";
import { buildApp } from "../../src/app.ts";
import { config } from "../../src/config.ts";
import { prisma } from "../../src/db/index.ts";
import { MAX_TERMS, normalizeQuery, searchPosts, SearchTimeoutError } from "../../src/blog/search.ts";
import { pool } from "../../src/db/client.ts";
import { createUser, hoursAgo, inHours, makeCategory, makePost } from "../support/fixtures.ts";
import { until } from "../support/poll.ts";

const app = buildApp();
// Writes here go around the save paths (straight SQL, or a clock moved) and the checks read the layers
// under the full-page cache (src/cache/pages.ts, tested in tests/cache/page-cache.test.ts): pages uncached.
(config as { PAGE_CACHE: boolean }).PAGE_CACHE = false;
const SEARCH = "/blog/search/";
/** The newest this many matches are ranked and paged through; more are reported as "More than 1,000 results". */
const MAX_RANKED = 1_000;

/** The result titles on a search page, in order (tags inside a title are dropped). */
function resultTitles(html: string): string[] {
  return [...html.matchAll(/<h2 class="post-card-title"><a [^>]*>(.*?)<\/a><\/h2>/g)].map((m) => m[1]!.replace(/<[^>]+>/g, ""));
}

/** How a parser reads the page's <mark> tags: every one opened must be closed by its own </mark>, never implied or nested. */
function markBalance(html: string): { opened: number; closedExplicitly: number; unclosedOrStray: number } {
  const out = { opened: 0, closedExplicitly: 0, unclosedOrStray: 0 };
  let depth = 0;
  const parser = new Parser({
    onopentag(tag) {
      if (tag !== "mark") return;
      if (depth > 0) out.unclosedOrStray++;
      depth++;
      out.opened++;
    },
    onclosetag(tag, isImplied) {
      if (tag !== "mark") return;
      if (isImplied) out.unclosedOrStray++;
      else out.closedExplicitly++;
      depth--;
    },
  });
  parser.write(html);
  parser.end();
  if (depth !== 0) out.unclosedOrStray++;
  return out;
}

beforeAll(async () => {
  const author = (await createUser({ role: "AUTHOR", username: "searcher", firstName: "Ada", lastName: "Lovelace" })).user;
  const cat = await makeCategory("Databases", "databases");
  // Ranking: the body-only match is newer, so only rank can put the title match first.
  await makePost({
    title: "PostgreSQL full-text search in practice",
    body: "Ranking and dictionaries explained.",
    authorId: author.id,
    categoryId: cat.id,
    publish: hoursAgo(48),
  });
  await makePost({
    title: "Notes from a conference",
    body: "One talk mentioned postgresql briefly among many other topics.",
    authorId: author.id,
    publish: hoursAgo(2),
  });
  // Snippet escaping: raw HTML in the Markdown source.
  await makePost({
    title: "Escaping lessons",
    body: 'Never trust input like <script>alert("pwned")</script> when highlighting quokkas in the body, or <img src=x onerror=alert(1)> quokkas either.',
    authorId: author.id,
  });
  // Invisible posts: a draft and a scheduled one, both matching "zebracorn".
  await makePost({ title: "Zebracorn draft secrets", body: "zebracorn", status: "DRAFT", authorId: author.id });
  await makePost({ title: "Zebracorn scheduled announcement", body: "zebracorn", authorId: author.id, publish: inHours(24) });
  // Pagination: 12 matches.
  for (let i = 0; i < 12; i++) await makePost({ title: `Paginated walrus number ${i}`, body: "walrus facts", authorId: author.id, publish: hoursAgo(100 + i) });
});

describe("search ranking and snippets", () => {
  it("ranks a title match above a body-only match, with a 'Search results for' title and noindex", async () => {
    const res = await request(app).get(SEARCH).query({ q: "postgresql" }).expect(200);
    const titles = resultTitles(res.text);
    expect(titles).toEqual(["PostgreSQL full-text search in practice", "Notes from a conference"]);
    expect(res.text).toContain("<title>Search results for “postgresql”");
    expect(res.text).toContain('<meta name="robots" content="noindex">');
    expect(res.text).toContain("2 results");
    expect(res.headers["content-type"]).toMatch(/^text\/html/);
  });

  it("highlights matches with <mark> in title and snippet", async () => {
    const res = await request(app).get(SEARCH).query({ q: "postgresql" }).expect(200);
    expect(res.text).toContain("<mark>PostgreSQL</mark> full-text search in practice");
    expect(res.text).toMatch(/mentioned <mark>postgresql<\/mark> briefly/);
  });

  it("escapes HTML from the post body in snippets: only <mark> is markup", async () => {
    const res = await request(app).get(SEARCH).query({ q: "quokkas" }).expect(200);
    expect(resultTitles(res.text)).toEqual(["Escaping lessons"]);
    const card = res.text.slice(res.text.indexOf('<p class="post-card-excerpt">'));
    const snippet = card.slice(0, card.indexOf("</p>"));
    expect(snippet).toContain("<mark>quokkas</mark>");
    expect(res.text).not.toContain("<script>alert");
    expect(res.text).not.toContain("<img src=x");
    expect(snippet).toContain("&lt;img src=x onerror=alert(1)&gt;");
    // With the tags stripped, the snippet is plain text plus <mark>.
    expect(snippet.replace(/<\/?mark>/g, "").replace('<p class="post-card-excerpt">', "")).not.toMatch(/[<>]/);
  });

  it("marks snippets that start inside the post with a leading ellipsis", async () => {
    const author = await prisma.user.findUniqueOrThrow({ where: { username: "searcher" } });
    const filler = Array.from({ length: 120 }, (_, i) => `filler${i}`).join(" ");
    await makePost({ title: "Deep match", body: `${filler} then the pangolin appears near the end.`, authorId: author.id });
    const deep = await searchPosts("pangolin", 1);
    expect(deep.hits[0]?.snippetHtml).toMatch(/^… .*<mark>pangolin<\/mark>/);
    const top = await searchPosts("conference", 1);
    expect(top.hits[0]?.snippetHtml.startsWith("One talk mentioned")).toBe(true);
  });

  it("never lets HTML in a title through, highlighted or in the typo fallback", async () => {
    const author = await prisma.user.findUniqueOrThrow({ where: { username: "searcher" } });
    await makePost({ title: `Beware <img src=x onerror=alert(1)> capybara "tricks" & <b>co</b>`, authorId: author.id });
    for (const q of ["capybara", "capybarra"]) {
      const res = await request(app).get(SEARCH).query({ q }).expect(200);
      expect(resultTitles(res.text), q).toHaveLength(1);
      expect(res.text, q).not.toContain("<img src=x");
      expect(res.text, q).not.toContain("<b>co</b>");
      expect(res.text, q).toContain("&lt;img src=x onerror=alert(1)&gt;");
    }
  });

  it("escapes everything in a snippet but its <mark> tags, balanced even when the text holds the marker characters", async () => {
    const author = await prisma.user.findUniqueOrThrow({ where: { username: "searcher" } });
    await makePost({ title: "Marker trouble", body: '\u0002stray "x" & \u0001open tapir here', authorId: author.id });
    const res = await request(app).get(SEARCH).query({ q: "tapir" }).expect(200);
    expect(resultTitles(res.text)).toEqual(["Marker trouble"]);
    const card = res.text.slice(res.text.indexOf('<p class="post-card-excerpt">'));
    const snippet = card.slice(0, card.indexOf("</p>"));
    expect(snippet).toContain("stray &quot;x&quot; &amp; open <mark>tapir</mark> here");
    expect([snippet.split("<mark>").length, snippet.split("</mark>").length]).toEqual([2, 2]);
    expect([snippet.includes("\u0001"), snippet.includes("\u0002")]).toEqual([false, false]);
  });

  it("closes a highlight the snippet leaves open: a marked word cut by a dropped Markdown link target", async () => {
    // PostgreSQL's parser reads `h.com/okapi](u` as one URL (host "h.com", path "/okapi](u", ended by
    // the quote), so ts_headline marks the path across the link's "](": the snippet's Markdown clean-up
    // drops the link target "(u…)" with the path's closing marker, leaving its opening marker unclosed.
    const author = await prisma.user.findUniqueOrThrow({ where: { username: "searcher" } });
    await makePost({
      title: "Cut highlight",
      body: 'Intro words [see h.com/okapi](u"v) then the rest of the story goes on with many more plain words after it.',
      authorId: author.id,
    });
    const res = await request(app).get(SEARCH).query({ q: '"h.com/okapi](u"' }).expect(200);
    expect(resultTitles(res.text)).toEqual(["Cut highlight"]);
    const card = res.text.slice(res.text.indexOf('<p class="post-card-excerpt">'));
    const snippet = card.slice(0, card.indexOf("</p>") + "</p>".length);
    // The opening marker survives (the highlight starts in the link text); its closing one was dropped.
    expect(snippet).toContain("see <mark>h.com</mark><mark>/okapi then the rest");
    expect(snippet).toMatch(/<\/mark><\/p>$/);
    for (const html of [snippet, res.text]) expect(html.split("<mark>").length).toBe(html.split("</mark>").length);
    expect(markBalance(res.text)).toEqual({ opened: 2, closedExplicitly: 2, unclosedOrStray: 0 });
  });

  it("falls back to similar titles for a typo and says so", async () => {
    const res = await request(app).get(SEARCH).query({ q: "postgrsql" }).expect(200);
    expect(res.text).toContain("Showing results for similar titles");
    expect(resultTitles(res.text)).toContain("PostgreSQL full-text search in practice");
    const direct = await searchPosts("postgrsql", 1);
    expect(direct.mode).toBe("similar");
    expect(direct.hits[0]?.title).toBe("PostgreSQL full-text search in practice");
  });

  it("says so when nothing matches at all", async () => {
    const res = await request(app).get(SEARCH).query({ q: "xylophonequark" }).expect(200);
    expect(res.text).toContain("No posts match “xylophonequark”");
    expect(resultTitles(res.text)).toEqual([]);
  });
});

describe("only published posts are searchable", () => {
  it("never shows drafts or scheduled posts, in full-text or in the typo fallback", async () => {
    for (const q of ["zebracorn", "zebracorn scheduled", "zebracorm", "Zebracorn draft secrets"]) {
      const res = await request(app).get(SEARCH).query({ q }).expect(200);
      const titles = resultTitles(res.text);
      expect(
        titles.filter((t) => t.startsWith("Zebracorn")),
        q,
      ).toEqual([]);
    }
  });

  it("shows a scheduled post once its time has come, though the search before it was kept in the result cache", async () => {
    const author = await prisma.user.findUniqueOrThrow({ where: { username: "searcher" } });
    // A word no other test's posts use ("okapi" is the many-posts test's). Live in 3 s, by the clock (no write).
    const publishAt = Date.now() + 3_000;
    await makePost({ title: "Axolotl arrives later", authorId: author.id, publish: new Date(publishAt) });
    const before = resultTitles((await request(app).get(SEARCH).query({ q: "axolotl" })).text);
    if (Date.now() < publishAt) expect(before).toEqual([]); // answered before its time (a slow machine may be late)
    const titles = await until(async () => resultTitles((await request(app).get(SEARCH).query({ q: "axolotl" })).text), {
      label: "the search finds the scheduled post",
      accept: (found) => found.length > 0,
      timeout: 15_000,
      interval: 100,
    });
    expect(titles).toEqual(["Axolotl arrives later"]);
  });
});

describe("search pagination", () => {
  it("pages 10 results at a time with Page X of Y and links that keep q", async () => {
    const p1 = await request(app).get(SEARCH).query({ q: "walrus" }).expect(200);
    expect(resultTitles(p1.text)).toHaveLength(10);
    expect(p1.text).toContain("Page 1 of 2");
    expect(p1.text).toContain('href="/blog/search/?q=walrus&amp;page=2"');
    const p2 = await request(app).get(SEARCH).query({ q: "walrus", page: "2" }).expect(200);
    expect(resultTitles(p2.text)).toHaveLength(2);
    expect(p2.text).toContain("Page 2 of 2");
    expect(p2.text).toContain('href="/blog/search/?q=walrus"');
    expect(new Set([...resultTitles(p1.text), ...resultTitles(p2.text)]).size).toBe(12);
    const last = await request(app).get(SEARCH).query({ q: "walrus", page: "last" }).expect(200);
    expect(resultTitles(last.text)).toEqual(resultTitles(p2.text));
  });

  it("answers 404 for a page past the end or a malformed page", async () => {
    await request(app).get(SEARCH).query({ q: "walrus", page: "3" }).expect(404);
    for (const page of ["0", "-1", "abc", "1.5", "99999999999999999999"]) await request(app).get(SEARCH).query({ q: "walrus", page }).expect(404);
    await request(app).get(`${SEARCH}?q=walrus&page=1&page=2`).expect(404);
  });
});

describe("empty, too long and hostile queries", () => {
  it("asks for words when q is missing, empty or blank", async () => {
    for (const path of [SEARCH, `${SEARCH}?q=`, `${SEARCH}?q=%20%20%20`, `${SEARCH}?q[a]=b`]) {
      const res = await request(app).get(path).expect(200);
      expect(res.text, path).toContain("Type a few words in the search box");
      expect(res.text, path).toContain('<meta name="robots" content="noindex">');
    }
  });

  it("refuses 1,000+ characters with a 400 page and a clear message (500 characters are fine)", async () => {
    const long = await request(app)
      .get(SEARCH)
      .query({ q: "a".repeat(1000) })
      .expect(400);
    expect(long.text).toContain("Search terms can be at most 500 characters long");
    expect(long.text).toContain('name="q"');
    expect(
      (
        await request(app)
          .get(SEARCH)
          .query({ q: "walrus ".repeat(71).slice(0, 500) })
          .expect(200)
      ).text,
    ).toContain("walrus walrus walrus");
    await request(app)
      .get(SEARCH)
      .query({ q: "x".repeat(5_000) })
      .expect(400);
    // Multi-byte characters count as one each.
    expect(
      (
        await request(app)
          .get(SEARCH)
          .query({ q: "é".repeat(500) })
          .expect(200)
      ).text,
    ).toContain("é".repeat(500));
    // Percent-encoded: 1,500 euro signs are 13,500 characters of URL, 1,500 of query.
    const euros = await request(app)
      .get(`${SEARCH}?q=${"%E2%82%AC".repeat(1500)}`)
      .expect(400);
    expect(euros.text).toContain("Search terms can be at most 500 characters long");
    // ...and malformed in the middle of a long one: still a clear answer.
    await request(app)
      .get(`${SEARCH}?q=${"%E2%82%AC".repeat(600)}%E2%82${"a".repeat(100)}`)
      .expect(400);
  });

  it("answers cleanly to malformed percent-encoding, arrays, NUL bytes and tsquery syntax", async () => {
    const cases = [
      "?q=%E0%A4%A",
      "?q=%",
      "?q=%ZZ",
      "?q=%FF%FE",
      "?q=a&q=b",
      "?q=walrus%00facts",
      "?q=%00",
      "?q=%01%02walrus",
      `?q=${encodeURIComponent("&|!():*'\"<->\\ walrus")}`,
      `?q=${encodeURIComponent("!!! ::: ((( '''")}`,
      `?q=${encodeURIComponent("walrus:* & !(a | b) <2> c")}`,
      `?q=${encodeURIComponent("-walrus")}`,
      `?q=${encodeURIComponent('"unterminated phrase')}`,
      `?q=${encodeURIComponent("the and of")}`,
      `?q=${encodeURIComponent("ünïcödé 数据库 🦭")}`,
    ];
    for (const c of cases) {
      const res = await request(app).get(SEARCH + c);
      expect(res.status, c).toBe(200);
      expect(res.text, c).toContain("</html>");
    }
    // The last ?q wins, like Django's QueryDict.get.
    const arr = await request(app).get(`${SEARCH}?q=zzz&q=walrus`).expect(200);
    expect(arr.text).toContain("Search results for “walrus”");
    // NUL is stripped, not sent to PostgreSQL (which rejects it in text).
    const nul = await request(app).get(`${SEARCH}?q=walrus%00`).expect(200);
    expect(resultTitles(nul.text)).toHaveLength(10);
  });

  it("treats SQL and HTML in q as text: no injection, reflected escaped", async () => {
    const sqls = [`'; DROP TABLE "Post"; --`, `' OR '1'='1`, `1) OR 1=1 --`, `walrus'); SELECT pg_sleep(5); --`];
    for (const q of sqls) await request(app).get(SEARCH).query({ q }).expect(200);
    expect(await prisma.post.count()).toBeGreaterThan(10);
    const xss = await request(app).get(SEARCH).query({ q: `<script>alert(1)</script>` }).expect(200);
    expect(xss.text).not.toContain("<script>alert(1)</script>");
    expect(xss.text).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
  });
});

describe("query normalisation (keeps hostile queries cheap)", () => {
  it("keeps at most MAX_TERMS distinct terms and 8 words per phrase", () => {
    expect(normalizeQuery("walrus Walrus walrus okapi")).toEqual({ query: "walrus okapi", truncated: false, hasPositiveTerm: true });
    const many = Array.from({ length: 15 }, (_, i) => `w${i}`).join(" ");
    const n = normalizeQuery(many);
    expect(n.query.split(" ")).toHaveLength(MAX_TERMS);
    expect(n.truncated).toBe(true);
    expect(normalizeQuery('"a b c d e f g h i j" k').query).toBe('"a b c d e f g h" k');
    expect(normalizeQuery('"unterminated phrase here').query).toBe('"unterminated phrase here"');
    expect(normalizeQuery('""  ""').query).toBe("");
    expect(normalizeQuery("-walrus -okapi or").hasPositiveTerm).toBe(false);
    expect(normalizeQuery("walrus -okapi").hasPositiveTerm).toBe(true);
    expect(normalizeQuery("!!! ::: (((").hasPositiveTerm).toBe(false);
  });

  it("answers long repetitive and negation-only queries quickly, saying what it did", async () => {
    const repeated = await request(app)
      .get(SEARCH)
      .query({ q: "walrus facts ".repeat(38).trim() })
      .expect(200);
    expect(resultTitles(repeated.text)).toHaveLength(10);
    const many = await request(app)
      .get(SEARCH)
      .query({ q: `walrus ${Array.from({ length: 20 }, (_, i) => `-w${i}`).join(" ")}` })
      .expect(200);
    expect(many.text).toContain(`Only the first ${MAX_TERMS} different words or phrases`);
    expect(resultTitles(many.text)).toHaveLength(10);
    const started = Date.now();
    const neg = await request(app)
      .get(SEARCH)
      .query({ q: "-walrus ".repeat(62).trim() })
      .expect(200);
    expect(neg.text).toContain("Add at least one word to look for");
    expect(resultTitles(neg.text)).toEqual([]);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

describe("search statement timeout", () => {
  it("cancels a slow search with SearchTimeoutError and leaves pooled connections at their defaults", async () => {
    const author = await prisma.user.findUniqueOrThrow({ where: { username: "searcher" } });
    await pool.query(
      `INSERT INTO "Post"(title, slug, "authorId", body, status, publish)
       SELECT 'Bulk narwhal ' || g, 'bulk-narwhal-' || g, $1, repeat('narwhal tusk ocean ', 20), 'PUBLISHED', now() - interval '1 day'
         FROM generate_series(1, 3000) g`,
      [author.id],
    );
    await expect(searchPosts("narwhal", 1, 10, 1)).rejects.toBeInstanceOf(SearchTimeoutError);
    const ok = await searchPosts("narwhal", 1);
    expect(ok).toMatchObject({ total: MAX_RANKED, capped: true }); // 3,000 matches, the newest MAX_RANKED ranked
    for (let i = 0; i < 5; i++) {
      const { rows } = await pool.query("SHOW statement_timeout");
      expect(rows[0].statement_timeout).toBe("0");
    }
    await pool.query(`DELETE FROM "Post" WHERE slug LIKE 'bulk-narwhal-%'`);
  });
});

describe("search for a word in very many posts", () => {
  it("ranks only the newest MAX_RANKED matches, says so, and pages through exactly those", async () => {
    const author = (await createUser({ role: "AUTHOR", username: "prolific", firstName: "Ada", lastName: "Lovelace" })).user;
    // MAX_RANKED + 5 posts with "okapi" in the body, one hour apart; the oldest one also has it in its title.
    await pool.query(
      `INSERT INTO "Post"(title, slug, "authorId", body, "bodyHtml", excerpt, status, publish)
       SELECT 'Field notes ' || g, 'field-notes-' || g, $1, 'We saw an okapi today.', '', '', 'PUBLISHED', now() - (g || ' hours')::interval
         FROM generate_series(1, $2::int) g`,
      [author.id, MAX_RANKED + 4],
    );
    await makePost({ title: "The okapi, a very old post", body: "okapi okapi", authorId: author.id, publish: hoursAgo(MAX_RANKED + 100) });
    const first = await request(app).get(SEARCH).query({ q: "okapi" }).expect(200);
    expect(first.text).toContain(`More than ${MAX_RANKED.toLocaleString("en-US")} results; the newest ${MAX_RANKED.toLocaleString("en-US")} are ranked here`);
    expect(first.text).toContain(`page 1 of ${MAX_RANKED / 10}`);
    // The old title match is outside the ranked window: it does not outrank the newer body matches.
    expect(resultTitles(first.text)).not.toContain("The okapi, a very old post");
    const last = await request(app)
      .get(SEARCH)
      .query({ q: "okapi", page: String(MAX_RANKED / 10) })
      .expect(200);
    expect(resultTitles(last.text)).toHaveLength(10);
    await request(app)
      .get(SEARCH)
      .query({ q: "okapi", page: String(MAX_RANKED / 10 + 1) })
      .expect(404);
    const direct = await searchPosts("okapi", 1);
    expect(direct).toMatchObject({ mode: "fulltext", total: MAX_RANKED, capped: true });
  });
});
