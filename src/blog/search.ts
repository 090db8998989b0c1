// Reader search: ranked PostgreSQL full-text search over the generated, weighted "searchVector"
// column (title A > excerpt B > body C, GIN index), with highlighted snippets; when that finds
// nothing, a typo-tolerant fallback on titles with pg_trgm (GIN trigram index on "Post".title).
//
// Cost bounded by the page, not by how many posts match (issue 13; figures in the README's benchmark
// section): full-text ranks only the newest MAX_RANKED matches, found by an index walk that stops
// early for a common word or by the GIN index for a rare one, reading each vector from its row; the
// typo fallback corrects the query's words from a sample of similar titles, then ranks only the
// newest MAX_SIMILAR titles holding a correction. ts_headline runs on the page's rows only.
//
// Only published posts are searched: status = 'PUBLISHED' AND publish <= now() (a future publish
// time is a scheduled post, invisible until its time).
//
// Snippet safety: ts_headline does not escape anything. It marks matches with two control
// characters that cannot occur in the text (they are stripped from it first); the text is then
// HTML-escaped and only the markers become <mark> tags (highlightHtml).
import { withClient } from "../db/client.ts";
import { readDb } from "../db/replica.ts";
import { CARD_COLUMNS, CARD_JOINS, tagNamesFor, toCard, type CardRow, type PostCard, type TagNames } from "./queries.ts";
import { LIVE_SQL } from "../posts/visibility.ts";
import { caches } from "../cache/index.ts";
import { nextScheduledAt } from "../cache/scheduled.ts";

export const SEARCH_PER_PAGE = 10;
/** Longest accepted query, in characters: longer ones get a message, not a search. */
export const MAX_QUERY_LENGTH = 500;
/** Similarity threshold of the title fallback, for word_similarity and similarity ("postgrsql" vs "PostgreSQL": 0.62, "djngo" vs "Django": 0.44). */
const TITLE_SIMILARITY_THRESHOLD = 0.4;
/** At most this many similar titles (the newest) are ranked in the title fallback; more are reported as "More than 100". */
const MAX_SIMILAR = 100;
/** The title fallback corrects at most this many words of the query, each from this many sample titles. */
const MAX_TYPO_WORDS = 3;
const TYPO_SAMPLE_TITLES = 20;
/** The title fallback runs for queries of this many characters. */
const FALLBACK_MIN_LENGTH = 3;
const FALLBACK_MAX_LENGTH = 100;
/**
 * Search terms used: a word, a -word, "or", or a "quoted phrase" each count as one. Repeated terms
 * are dropped. Without these caps one 500-character query (62 x "-walrus", or a 60-word phrase)
 * took 2.5-37 s at 100k posts; with them, under 0.5 s.
 */
export const MAX_TERMS = 10;
const MAX_PHRASE_WORDS = 8;
/** At most this many matches (the newest) are ranked and paged through; more are reported as "1,000+". */
const MAX_RANKED = 1_000;
/** PostgreSQL cancels a search statement after this long (the page then says so, status 503). */
const SEARCH_TIMEOUT_MS = 3_000;

const START = "\u0001";
const STOP = "\u0002";
const HEADLINE_OPTS = `StartSel=${START}, StopSel=${STOP}, MaxWords=35, MinWords=15, ShortWord=3, MaxFragments=2, FragmentDelimiter=" … "`;
const TITLE_HEADLINE_OPTS = `StartSel=${START}, StopSel=${STOP}, HighlightAll=true`;

export interface SearchHit extends PostCard {
  /** Title with matches wrapped in <mark>; everything else HTML-escaped. */
  titleHtml: string;
  /** Body fragments around the matches, <mark>ed and HTML-escaped ("" in the title fallback). */
  snippetHtml: string;
  rank: number;
}

export interface SearchResult {
  /** "fulltext": ranked matches; "similar": no full-text match, titles similar to the query. */
  mode: "fulltext" | "similar";
  hits: SearchHit[];
  /** Matches that can be paged through (at most MAX_RANKED). */
  total: number;
  /** More than MAX_RANKED posts matched: the newest MAX_RANKED of them were ranked. */
  capped: boolean;
}

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** HTML-escapes `text`, then turns the ts_headline markers into <mark> tags (balanced, never nested). */
function highlightHtml(text: string): string {
  let out = "";
  let open = false;
  for (const ch of text) {
    if (ch === START) {
      if (!open) out += "<mark>";
      open = true;
    } else if (ch === STOP) {
      if (open) out += "</mark>";
      open = false;
    } else out += ESCAPES[ch] ?? ch;
  }
  return open ? `${out}</mark>` : out;
}

/** Markdown source to readable snippet text: link targets, images and emphasis marks dropped. */
function plainSnippet(s: string): string {
  return s
    .replace(/!\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/(^|\s)#{1,6}\s+/g, "$1")
    .replace(/\*{1,3}|_{2,3}|`{1,3}|~~/g, "")
    .replace(/\s+/g, " ")
    .trim();
}

/** The body fragments as HTML, with "… " in front when they do not start at the top of the post. */
function snippet(headline: string, bodyStart: string): string {
  const text = plainSnippet(headline);
  if (!text) return "";
  // eslint-disable-next-line no-control-regex
  const head = text.replace(/[\u0001\u0002]/g, "").slice(0, 20);
  return (plainSnippet(bodyStart).startsWith(head) ? "" : "… ") + highlightHtml(text);
}

/**
 * The query websearch_to_tsquery gets: at most MAX_TERMS distinct terms (words, -words, "or",
 * quoted phrases of at most MAX_PHRASE_WORDS words). `truncated` says whether terms were dropped.
 */
export function normalizeQuery(q: string): { query: string; truncated: boolean; hasPositiveTerm: boolean } {
  const seen = new Set<string>();
  const terms: string[] = [];
  let truncated = false;
  for (const m of q.matchAll(/"([^"]*)"?|[^\s"]+/g)) {
    let term: string;
    if (m[1] !== undefined) {
      const words = m[1].split(/\s+/).filter(Boolean);
      if (words.length === 0) continue;
      if (words.length > MAX_PHRASE_WORDS) truncated = true;
      term = `"${words.slice(0, MAX_PHRASE_WORDS).join(" ")}"`;
    } else term = m[0];
    const key = term.toLowerCase();
    if (seen.has(key)) continue;
    if (terms.length === MAX_TERMS) {
      truncated = true;
      break;
    }
    seen.add(key);
    terms.push(term);
  }
  // "-word" and "or" alone look for nothing: "everything except" is not a search.
  const hasPositiveTerm = terms.some((t) => !t.startsWith("-") && t.toLowerCase() !== "or" && /[\p{L}\p{N}]/u.test(t));
  return { query: terms.join(" "), truncated, hasPositiveTerm };
}

interface HitRow extends Omit<CardRow, "id"> {
  total: number;
  id: number | null; // null on the one row that only carries the total of a page past the end
  rank: number;
  titleHl: string;
  bodyHl: string;
  bodyStart: string;
}

const PUBLISHED = LIVE_SQL; // src/posts/visibility.ts

// The page's rows with everything a result card shows. `matches` (id, rank) is defined by the caller.
// ts_headline is costly, so it runs only on the page's rows; the count comes with them (LEFT JOIN
// LATERAL keeps one row carrying the total even for a page past the end).
const PAGE_SQL = (headline: boolean) => `
  total AS (SELECT count(*) AS n FROM matches)
  SELECT total.n AS total, pg.*
    FROM total LEFT JOIN LATERAL (
      SELECT ${CARD_COLUMNS}, m.rank,
             ${headline ? `ts_headline('english', translate(p.title, E'\\x01\\x02', ''), q.query, $4)` : `translate(p.title, E'\\x01\\x02', '')`} AS "titleHl",
             ${headline ? `ts_headline('english', translate(p.body, E'\\x01\\x02', ''), q.query, $5)` : `''`} AS "bodyHl",
             left(p.body, 120) AS "bodyStart"
        FROM (SELECT * FROM matches ORDER BY rank DESC, publish DESC, id DESC LIMIT $2 OFFSET $3) m
        JOIN "Post" p ON p.id = m.id
        ${CARD_JOINS}
        ${headline ? "CROSS JOIN q" : ""}
       ORDER BY m.rank DESC, m.publish DESC, m.id DESC) pg ON true`;

// Ranking is bounded: only the newest MAX_RANKED + 1 matches are ranked (ts_rank_cd reads each one's
// vector, which the row holds: migration 20261202025007_search_vector_inline, about 4 µs a post).
// The window's WHERE names the tsquery itself, not the `q` CTE, so that PostgreSQL estimates how many
// posts match from the query's words (a CTE hides it: it assumed 500 matches and read and sorted all
// 78,000 posts holding "measure": 150 ms at 100k posts) and picks the cheaper of:
//  - a word in many posts: walk the (status, publish, id) index newest first, testing each post,
//    until MAX_RANKED + 1 match (about 1,300 posts for a word in 78% of them),
//  - a rarer word: the GIN index's matches, sorted by publish.
// The dearest case is between the two: a word in a few percent of posts (PostgreSQL's choice, the
// walk, tests about MAX_RANKED / share posts: 14,000 for "postgresql", in 7%; 30-50 ms at 100k posts).
// Only the window's rows are ranked, from the vector the window carries (no second read of the row).
const FULLTEXT_SQL = `
  WITH q AS (SELECT websearch_to_tsquery('english', $1) AS query),
  window_ AS (
    SELECT p.id, p.publish, p."searchVector" AS sv
      FROM "Post" p
     WHERE p."searchVector" @@ websearch_to_tsquery('english', $1) AND ${PUBLISHED}
     ORDER BY p.publish DESC, p.id DESC
     LIMIT ${MAX_RANKED + 1}),
  matches AS (SELECT w.id, w.publish, ts_rank_cd(w.sv, q.query) AS rank FROM window_ w, q),
  ${PAGE_SQL(true)}`;

// The title fallback, in two bounded steps (the old single statement tested every title holding
// some of the query's trigrams: 6,000 word_similarity calls, 80-250 ms, for "postgrsql" at 100k posts).
// 1. Corrections: for each query word, a sample of TYPO_SAMPLE_TITLES published titles similar to
//    it (`<%`: word_similarity >= pg_trgm.word_similarity_threshold, answered by the trigram GIN
//    index, stopping at the sample's size), split into words; the words at least as similar to the
//    query word (similarity, the same threshold) are its corrections ("postgrsql" -> "postgresql").
const CORRECTIONS_SQL = `
  SELECT w.word, max(similarity(w.word, t.term)) AS s
    FROM unnest($1::text[]) AS t(term)
   CROSS JOIN LATERAL (SELECT p.title FROM "Post" p WHERE t.term <% p.title AND ${PUBLISHED} LIMIT ${TYPO_SAMPLE_TITLES}) sample
   CROSS JOIN LATERAL regexp_split_to_table(lower(sample.title), '[^[:alnum:]]+') AS w(word)
   WHERE similarity(w.word, t.term) >= ${Number(TITLE_SIMILARITY_THRESHOLD)}
   GROUP BY w.word
   ORDER BY s DESC, w.word
   LIMIT 5`;

// 2. The newest MAX_SIMILAR + 1 published posts whose title holds a correction (ILIKE, answered by the
//    trigram index for a rare word, or the (status, publish, id) index for a common one), ranked by
//    how similar the title is to the whole query (word_similarity, as before).
const SIMILAR_SQL = `
  WITH window_ AS (
    SELECT p.id, p.publish, p.title
      FROM "Post" p
     WHERE p.title ILIKE ANY($4::text[]) AND ${PUBLISHED}
     ORDER BY p.publish DESC, p.id DESC
     LIMIT ${MAX_SIMILAR + 1}),
  matches AS (SELECT w.id, w.publish, word_similarity($1, w.title) AS rank FROM window_ w),
  ${PAGE_SQL(false)}`;

/** The query's words the title fallback tries to correct: letters and digits, 3 to 40 of them, lower case. */
export function typoWords(q: string): string[] {
  const words = new Set<string>();
  for (const m of q.matchAll(/(?:^|\s)(-?)("[^"]*"?|[^\s"]+)/g)) {
    if (m[1] === "-") continue; // an excluded word is not looked for
    for (const w of m[2]!.toLowerCase().split(/[^\p{L}\p{N}]+/u)) if (w.length >= 3 && w.length <= 40 && w !== "or") words.add(w);
  }
  return [...words].slice(0, MAX_TYPO_WORDS);
}

type Hit = HitRow & { id: number; tagIds: number[] };

/** The page's hits (the row that only carries the total of a page past the end left out). */
const hitRows = (rows: HitRow[]): Hit[] => rows.filter((r): r is Hit => r.id !== null);

function toHits(rows: Hit[], tags: TagNames): SearchHit[] {
  return rows.map((r) => ({
    ...toCard(r, tags),
    rank: Number(r.rank),
    titleHtml: highlightHtml(r.titleHl),
    snippetHtml: snippet(r.bodyHl, r.bodyStart),
  }));
}

/** The search took longer than SEARCH_TIMEOUT_MS and was cancelled by PostgreSQL. */
export class SearchTimeoutError extends Error {}

/**
 * One page of search results for `q` (a normalizeQuery() result): full-text matches by rank, or,
 * when there are none at all, published posts whose title is similar.
 *
 * Result pages are kept in the declared cache "blog.search" (src/cache/index.ts): a query asked
 * again is answered without a query, by one load however many ask at once. An entry lives 30 s at
 * most, and never past the next scheduled publish time (a scheduled post appears on time); any
 * post, category, tag or user write clears them all. A failed or timed-out search is not kept.
 * `timeoutMs` other than the default bypasses the cache (tests).
 */
export async function searchPosts(q: string, page: number, perPage = SEARCH_PER_PAGE, timeoutMs = SEARCH_TIMEOUT_MS): Promise<SearchResult> {
  if (timeoutMs !== SEARCH_TIMEOUT_MS) return runSearch(q, page, perPage, timeoutMs);
  const key = `${perPage}:${page}:${q}`;
  const load = async () => {
    const next = await nextScheduledAt();
    const until = Math.min(Date.now() + caches.searchResults.spec.ttlMs, next ?? Infinity);
    return { result: await runSearch(q, page, perPage, timeoutMs), until };
  };
  const entry = await caches.searchResults.fetch(key, load);
  if (entry.until > Date.now()) return entry.result;
  return (await caches.searchResults.reload(key, load)).result;
}

/**
 * The search itself, in one read-only transaction with a statement timeout, so no query can hold a
 * connection and a CPU for long.
 */
async function runSearch(q: string, page: number, perPage: number, timeoutMs: number): Promise<SearchResult> {
  const offset = (page - 1) * perPage;
  type Found = { mode: SearchResult["mode"]; rows: Hit[]; total: number; capped: boolean };
  const found = await withClient(async (client): Promise<Found> => {
    try {
      // One round trip (constants only, no user input); SET LOCAL ends with the transaction.
      await client.query(
        `BEGIN READ ONLY; SET LOCAL statement_timeout = ${Math.max(1, Math.trunc(timeoutMs))}; SET LOCAL pg_trgm.word_similarity_threshold = ${Number(TITLE_SIMILARITY_THRESHOLD)}`,
      );
      const ft = await client.query<HitRow>(FULLTEXT_SQL, [q, perPage, offset, TITLE_HEADLINE_OPTS, HEADLINE_OPTS]);
      const matched = ft.rows[0]?.total ?? 0;
      let result: Found = { mode: "fulltext", rows: hitRows(ft.rows), total: Math.min(matched, MAX_RANKED), capped: matched > MAX_RANKED };
      // Nothing matched the words: titles that look like the query (typos, partial words). Only for
      // typo-sized input: one or two letters are similar to everything, a paragraph to nothing.
      const len = [...q].length;
      const words = result.total === 0 && len >= FALLBACK_MIN_LENGTH && len <= FALLBACK_MAX_LENGTH ? typoWords(q) : [];
      if (words.length > 0) {
        // The sample must come from the trigram index: with a LIMIT, PostgreSQL would rather scan the
        // table from the start, testing titles in turn (800 word_similarity calls for 20 matches).
        await client.query("SET LOCAL enable_seqscan = off");
        const corrections = await client.query<{ word: string }>(CORRECTIONS_SQL, [words]);
        result = { mode: "similar", rows: [], total: 0, capped: false };
        if (corrections.rows.length > 0) {
          const patterns = corrections.rows.map((r) => `%${r.word}%`); // letters and digits only: no LIKE wildcards
          const sim = await client.query<HitRow>(SIMILAR_SQL, [q, perPage, offset, patterns]);
          const n = sim.rows[0]?.total ?? 0;
          result = { mode: "similar", rows: hitRows(sim.rows), total: Math.min(n, MAX_SIMILAR), capped: n > MAX_SIMILAR };
        }
      }
      await client.query("COMMIT");
      return result;
    } catch (e) {
      await client.query("ROLLBACK").catch(() => {});
      if ((e as { code?: string }).code === "57014") throw new SearchTimeoutError("search timed out");
      throw e;
    }
  }, readDb().pool);
  const { rows, ...rest } = found;
  return { ...rest, hits: toHits(rows, await tagNamesFor(rows)) };
}
