// Search whose cost is bounded by the page (issue 13): full-text ranks the newest MAX_RANKED matches
// (one index walk for a common word, the GIN index for a rare one); the typo fallback learns
// corrections from a sample of similar titles and ranks the newest MAX_SIMILAR titles holding one.
// These tests check what readers get from that: the most relevant posts within the window, the
// capped count, rare words, phrases, exclusions and typos.
import { beforeAll, describe, expect, it } from "vitest";
import request from "supertest";
import { buildApp } from "../../src/app.ts";
import { pool } from "../../src/db/client.ts";
import { searchPosts, typoWords } from "../../src/blog/search.ts";
import { createUser, hoursAgo, makePost } from "../support/fixtures.ts";

const app = buildApp();
const SEARCH = "/blog/search/";
const MAX_RANKED = 1_000;
const MAX_SIMILAR = 100;
let authorId = 0;

const titles = (r: { hits: { title: string }[] }) => r.hits.map((h) => h.title);

/** `n` published posts in one statement: title and body from `g` (1..n), publish `g` hours + `hoursBack` ago. */
async function bulk(n: number, title: string, body: string, hoursBack: number, slug: string): Promise<void> {
  await pool.query(
    `INSERT INTO "Post"(title, slug, "authorId", body, "bodyHtml", excerpt, status, publish)
     SELECT replace($2, '#', g::text), $3 || '-' || g, $1, replace($4, '#', g::text), '', '', 'PUBLISHED', now() - ((g + $5::int) || ' hours')::interval
       FROM generate_series(1, $6::int) g`,
    [authorId, title, slug, body, hoursBack, n],
  );
}

beforeAll(async () => {
  authorId = (await createUser({ role: "AUTHOR", username: "windowed" })).user.id;
  // A common word: "lantern" in the body of MAX_RANKED + 200 posts, newest first by g.
  await bulk(MAX_RANKED + 200, "Evening notes #", "We lit a lantern and wrote note #.", 10, "evening-notes");
  // Within the window, older than most body matches: the word in a title, and twice in a body (and its excerpt).
  await makePost({ title: "Choosing a lantern", body: "Plain words.", authorId, publish: hoursAgo(400) });
  await makePost({ title: "Camp stories", body: "One lantern, then another lantern by the lake.", authorId, publish: hoursAgo(500) });
  // Outside the window (older than the newest MAX_RANKED matches): a better match that is not ranked.
  await makePost({ title: "Lantern lantern lantern", body: "lantern", authorId, publish: hoursAgo(5_000) });
  // A rare word among them, in two old posts only.
  await makePost({ title: "The quillwort guide", body: "All about quillwort.", authorId, publish: hoursAgo(9_000) });
  await makePost({ title: "Pond plants", body: "Ferns, rushes and a quillwort or two.", authorId, publish: hoursAgo(3) });
  // Phrases and exclusions.
  await makePost({ title: "Harbour report", body: "The copper kettle boiled over by the harbour.", authorId, publish: hoursAgo(4) });
  await makePost({ title: "Kitchen report", body: "A kettle, then copper pans, by the harbour.", authorId, publish: hoursAgo(5) });
  // Typos: a title word in very many posts, and one in a single post.
  await bulk(MAX_SIMILAR + 30, "Marmalade recipe #", "Oranges and sugar.", 20, "marmalade");
  await makePost({ title: "Quokka sightings", body: "Small and cheerful.", authorId, publish: hoursAgo(2_000) });
});

describe("a word in very many posts", () => {
  it("ranks within the newest MAX_RANKED matches: older but better matches first, then by date", async () => {
    const r = await searchPosts("lantern", 1);
    expect(r).toMatchObject({ mode: "fulltext", total: MAX_RANKED, capped: true });
    // "Camp stories": twice in the excerpt (weight B, 0.4) and twice in the body (C, 0.2): 1.2; a title
    // match (A): 1.0; the bulk posts: once in the body, 0.2.
    expect(titles(r).slice(0, 3)).toEqual(["Camp stories", "Choosing a lantern", "Evening notes 1"]);
    expect(titles(r)).not.toContain("Lantern lantern lantern");
    // Equal ranks come newest first.
    expect(titles(r).slice(2)).toEqual(Array.from({ length: 8 }, (_, i) => `Evening notes ${i + 1}`));
  });

  it("says how the count is capped on the page", async () => {
    const res = await request(app).get(SEARCH).query({ q: "lantern" }).expect(200);
    expect(res.text).toContain("More than 1,000 results; the newest 1,000 are ranked here, page 1 of 100.");
  });
});

describe("a rare word", () => {
  it("finds every post holding it, however old, title match first", async () => {
    const r = await searchPosts("quillwort", 1);
    expect(r).toMatchObject({ mode: "fulltext", total: 2, capped: false });
    expect(titles(r)).toEqual(["The quillwort guide", "Pond plants"]);
  });
});

describe("phrases and exclusions", () => {
  it("a quoted phrase matches the words next to each other only", async () => {
    expect(titles(await searchPosts('"copper kettle"', 1))).toEqual(["Harbour report"]);
    expect(titles(await searchPosts("copper kettle", 1))).toEqual(["Harbour report", "Kitchen report"]);
  });

  it("a -word leaves out the posts holding it, also among very many matches", async () => {
    expect(titles(await searchPosts("kettle -pans", 1))).toEqual(["Harbour report"]);
    const r = await searchPosts("lantern -choosing -camp", 1);
    expect(titles(r)).not.toContain("Choosing a lantern");
    expect(titles(r)).not.toContain("Camp stories");
    expect(titles(r)[0]).toBe("Evening notes 1");
  });
});

describe("typos: similar titles", () => {
  it("corrects a word found in very many titles and ranks the newest MAX_SIMILAR of them", async () => {
    const r = await searchPosts("marmelade", 1);
    expect(r).toMatchObject({ mode: "similar", total: MAX_SIMILAR, capped: true });
    expect(titles(r)).toEqual(Array.from({ length: 10 }, (_, i) => `Marmalade recipe ${i + 1}`));
    const page = await request(app).get(SEARCH).query({ q: "marmelade" }).expect(200);
    expect(page.text).toContain("No posts contain those words. Showing results for similar titles:");
    expect(page.text).toContain("More than 100 results; the newest 100 are ranked here, page 1 of 10.");
  });

  it("corrects a word found in one old title", async () => {
    expect(await searchPosts("quoka", 1)).toMatchObject({ mode: "similar", total: 1, hits: [{ title: "Quokka sightings" }] });
  });

  it("corrects each word of a query on its own: similar titles for either, both words first", async () => {
    await makePost({ title: "Quokka marmalade", authorId, publish: hoursAgo(1) });
    const r = await searchPosts("quoka marmelade", 1);
    expect(r.mode).toBe("similar");
    expect(titles(r)[0]).toBe("Quokka marmalade");
    expect(titles(r)).toContain("Marmalade recipe 1");
  });

  it("does not look for excluded words, and finds nothing for a word like no title", async () => {
    expect(await searchPosts("zqxjvw", 1)).toMatchObject({ total: 0, hits: [] });
    expect(typoWords('quoka -marmelade "copper ketle" or ab')).toEqual(["quoka", "copper", "ketle"]);
    expect(typoWords("one two three four")).toEqual(["one", "two", "three"]);
  });
});
