// A property-based fuzz of EVERY operation in the OpenAPI document (fast-check): each operation's path
// parameters, query and body are generated from its own JSON schemas (tests/api/support/arbitrary.ts),
// mixed with hostile values (NUL bytes, numbers out of every range, 10,000-character strings, odd
// unicode, wrong types, arrays for scalars, unknown fields, invalid JSON, another content type), and
// sent to the real server as an anonymous caller, an author and an admin. The promise: never a 5xx,
// and every response keeps the contract (status documented, content type, body valid; support/contract.ts).
// Nothing here names an operation: one declared tomorrow is fuzzed by this file without an edit.
//
// Bounded: RUNS requests per operation and caller (FUZZ_RUNS=<n> for more), from a fixed seed (FUZZ_SEED=<n> to explore another);
// a failure prints the seed, the counterexample and the path to replay it.
import fc from "fast-check";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { config } from "../../src/config.ts";
import { favorite } from "../../src/favorites/service.ts";
import { createUser, makeCategory, makePost, makeTag, prisma } from "../support/fixtures.ts";
import type { SessionUser } from "../../src/accounts/users.ts";
import { startApi, type Api } from "./support/client.ts";
import { fuzzed, hostileArbitrary, schemaArbitrary, type SchemaContext } from "./support/arbitrary.ts";
import { apiDocument, operations, servedNonOperations, type Operation } from "./support/document.ts";
import { HOSTILE, HOSTILE_SEGMENTS } from "../hostile/site.ts";

const SEED = Number(process.env.FUZZ_SEED ?? 20261202);
const RUNS = Number(process.env.FUZZ_RUNS ?? 10);
/** Node refuses request heads over 16 KiB before the app sees them (431): generated URLs stay below. */
const MAX_URL = 12_000;

const doc = apiDocument();
const ops = operations(doc);
/** Paths with a GET: a write there can send If-Match with the ETag read just before. */
const hasGet = new Set(ops.filter((o) => o.method === "get").map((o) => o.path));
const ctx: SchemaContext = {
  resolve(ref) {
    const name = ref.replace("#/components/schemas/", "");
    const s = doc.components?.schemas?.[name];
    if (!s) throw new Error(`unresolved ${ref}`);
    return s;
  },
};

/** The callers: bearer access tokens, and an editor signed in by the site's session cookie (CSRF token in X-CSRF-Token, left out now and then). */
type Who = "anonymous" | "author" | "admin" | "editor (session)";
const WHO: Who[] = ["anonymous", "author", "admin", "editor (session)"];

let api: Api;
let session: { cookie: string; csrf: string };
const users = new Map<Who, SessionUser | null>();
/** Real values for path parameters, by name, so generated requests also reach existing things. */
const known: Record<string, string[]> = {};

beforeAll(async () => {
  // every request comes from 127.0.0.1: the rate limits would answer 429 (documented) instead of fuzzing
  config.API_RATE_LIMIT_IP = 1_000_000;
  config.API_RATE_LIMIT_USER = 1_000_000;
  api = await startApi();
  const { user: author } = await createUser({ role: "AUTHOR" });
  const { user: admin } = await createUser({ role: "ADMIN" });
  const { user: other } = await createUser({ role: "AUTHOR", username: "other-author" });
  const { user: victim } = await createUser({ role: "READER", username: "victim.reader" });
  const { user: editor, password } = await createUser({ role: "EDITOR" });
  session = await api.session(editor.username, password);
  users.set("anonymous", null).set("author", author).set("admin", admin);
  owners = { author: author.id, other: other.id };
  known.username = [victim.username, other.username];
  await ensureFixtures();
});

let owners = { author: 0, other: 0 };
let fixture: { posts: number[]; category: number; tag: number } | undefined;
let round = 0;

/**
 * The things the generated requests name (posts of each kind, a category, a tag, revisions), made again
 * when a fuzzed write deleted one of them, so every operation meets them.
 */
async function ensureFixtures() {
  if (fixture) {
    const [posts, category, tag] = await Promise.all([
      prisma.post.count({ where: { id: { in: fixture.posts } } }),
      prisma.category.count({ where: { id: fixture.category } }),
      prisma.tag.count({ where: { id: fixture.tag } }),
    ]);
    if (posts === fixture.posts.length && category && tag) return;
  }
  round++;
  const category = await makeCategory(`Fuzzed news ${round}`);
  const tag = await makeTag(`Fuzzed tag ${round}`);
  const own = await makePost({ authorId: owners.author, title: `Own published ${round}`, categoryId: category.id, tagIds: [tag.id] });
  const draft = await makePost({ authorId: owners.author, title: `Own draft ${round}`, status: "DRAFT" });
  const others = await makePost({ authorId: owners.other, title: `Another's post ${round}`, tagIds: [tag.id] });
  const othersDraft = await makePost({ authorId: owners.other, title: `Another's draft ${round}`, status: "DRAFT" });
  await favorite(owners.author, others.id);
  fixture = { posts: [own.id, draft.id, others.id, othersDraft.id], category: category.id, tag: tag.id };
  const revisions = await prisma.postRevision.findMany({ where: { postId: { in: fixture.posts } }, select: { id: true } });
  const day = own.publish!;
  known.id = fixture.posts.map(String);
  known.revisionId = revisions.map((r) => String(r.id));
  known.slug = [category.slug, tag.slug, own.slug, others.slug];
  known.year = [String(day.getUTCFullYear())];
  known.month = [String(day.getUTCMonth() + 1).padStart(2, "0")];
  known.day = [String(day.getUTCDate()).padStart(2, "0")];
}

beforeEach(ensureFixtures);

afterAll(async () => {
  await api?.close();
});

/** Each operation and caller its own fixed seed, derived from SEED (fast-check prints it with a counterexample). */
const seedOf = (name: string): number => [...name].reduce((h, c) => (Math.imul(h, 31) + c.charCodeAt(0)) | 0, SEED);

/** Statuses seen per operation (all callers): the fuzz must reach the handlers, not only the parsers. */
const seen = new Map<string, Map<number, number>>();
function tally(operationId: string, status: number) {
  const m = seen.get(operationId) ?? seen.set(operationId, new Map()).get(operationId)!;
  m.set(status, (m.get(status) ?? 0) + 1);
}

/** encodeURIComponent, except that a lone surrogate (no UTF-8 for it) travels as its invalid UTF-8 bytes. */
const encode = (v: string): string =>
  v
    .split(/([\ud800-\udfff])/u)
    .map((part) => (/^[\ud800-\udfff]$/.test(part) ? "%ED%A0%80" : encodeURIComponent(part)))
    .join("");

const text = (v: unknown): string => (typeof v === "string" ? v : v === undefined ? "" : JSON.stringify(v));

interface Generated {
  path: string;
  query: [string, string][];
  body?: { contentType: string; text: string };
  headers: Record<string, string>;
  /** Send If-Match with the ETag a GET of the same path gives now (a write that can succeed). */
  ifMatchCurrent: boolean;
  /** What was made hostile (the counterexample names it). */
  mutation: string;
  /** A session caller sends its CSRF token. */
  csrf: boolean;
}

const RAW_BODIES = [
  { contentType: "application/json", text: "{" },
  { contentType: "application/json", text: "null" },
  { contentType: "application/json", text: '{"__proto__": {"role": "ADMIN", "isAdmin": true}}' },
  { contentType: "application/json", text: '{"constructor": {"prototype": {"x": 1}}}' },
  { contentType: "application/json; charset=latin1", text: "{}" },
  { contentType: "text/plain", text: "title=x" },
  { contentType: "application/x-www-form-urlencoded", text: "title=x&body=y" },
];
const ETAGS = ['"1"', '"2"', '"999999"', "*", 'W/"1"', "garbage", `"${"x".repeat(500)}"`, '"1", "2"', '"-1"', '"1e3"'];

/**
 * One request to `o`: a request its schemas allow (path parameters mostly naming things that exist),
 * then, half the time, one thing made hostile: a path segment, a query value, an unknown or repeated
 * query parameter, the body (a hostile value for one field, an unknown field, a wrong type...), a raw
 * body (invalid JSON, another content type) or a body where none is taken.
 */
function requestOf(o: Operation): fc.Arbitrary<Generated> {
  const params = o.op.parameters ?? [];
  const pathParams = params.filter((p) => p.in === "path");
  const queryParams = params.filter((p) => p.in === "query");
  const bodySchema = o.op.requestBody?.content["application/json"]?.schema;
  const json = (v: unknown) => ({ contentType: "application/json", text: JSON.stringify(v) ?? "null" });
  const segment = (v: unknown) => encode(text(v)).slice(0, 6000) || "%20";

  const validSegments = fc.tuple(
    ...pathParams.map((p) =>
      known[p.name]?.length
        ? fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...known[p.name]!) }, { weight: 1, arbitrary: schemaArbitrary(p.schema ?? {}, ctx) })
        : schemaArbitrary(p.schema ?? {}, ctx),
    ),
  );
  const validQuery = fc.tuple(
    ...queryParams.map((p) =>
      fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: schemaArbitrary(p.schema ?? {}, ctx).map(text) }),
    ),
  );
  const validBody = bodySchema ? schemaArbitrary(bodySchema, ctx).map(json) : fc.constant(undefined);

  type Mutation = { kind: string; index?: number; value?: unknown };
  const mutations: fc.Arbitrary<Mutation>[] = [fc.constant({ kind: "none" })];
  pathParams.forEach((p, index) => mutations.push(hostileArbitrary(p.schema ?? {}, ctx).map((value) => ({ kind: `path ${p.name}`, index, value }))));
  // and the site sweep's segments, sent as they are (malformed escapes, invalid UTF-8, an encoded slash...)
  pathParams.forEach((p, index) =>
    mutations.push(fc.constantFrom(...HOSTILE_SEGMENTS).map((h) => ({ kind: `raw path ${p.name}: ${h.label}`, index, value: h.raw }))),
  );
  queryParams.forEach((p, index) => mutations.push(fuzzed(p.schema ?? {}, ctx).map((value) => ({ kind: `query ${p.name}`, index, value }))));
  if (queryParams.length) mutations.push(fc.nat(queryParams.length - 1).map((index) => ({ kind: "repeated query parameter", index })));
  mutations.push(fc.constantFrom("unknown", "__proto__", "page[]", "constructor").map((value) => ({ kind: "unknown query parameter", value })));
  if (o.method !== "get") {
    // fetch sends no body with a GET (nor would most clients)
    mutations.push(fc.constantFrom(...RAW_BODIES).map((value) => ({ kind: "raw body", value })));
    if (bodySchema) mutations.push(hostileArbitrary(bodySchema, ctx).map((value) => ({ kind: "hostile body", value: json(value) })));
    else mutations.push(fc.constantFrom({}, [], "x", { title: "x" }).map((value) => ({ kind: "a body where none is taken", value: json(value) })));
  }

  const headers = fc.record({ "If-Match": fc.constantFrom(...ETAGS), "If-None-Match": fc.constantFrom(...ETAGS) }, { requiredKeys: [] });

  return fc
    .record({
      segments: validSegments,
      query: validQuery,
      body: validBody,
      mutation: fc.oneof({ weight: mutations.length, arbitrary: fc.constant({ kind: "none" } as Mutation) }, ...mutations),
      headers,
      ifMatchCurrent: fc.boolean(),
      csrf: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
    })
    .map(({ segments, query, body, mutation, headers, ifMatchCurrent, csrf }) => {
      const values: unknown[] = [...segments];
      const q: (string | undefined)[] = [...query];
      let b: Generated["body"] = body;
      const extra: [string, string][] = [];
      if (mutation.kind.startsWith("path ") || mutation.kind.startsWith("raw path ")) values[mutation.index!] = mutation.value;
      else if (mutation.kind.startsWith("query ")) q[mutation.index!] = text(mutation.value);
      else if (mutation.kind === "repeated query parameter") {
        const p = queryParams[mutation.index!]!;
        q[mutation.index!] ??= "1";
        extra.push([p.name, q[mutation.index!]!]);
      } else if (mutation.kind === "unknown query parameter") extra.push([String(mutation.value), "1"]);
      else if (mutation.kind !== "none") b = mutation.value as Generated["body"];
      const raw = mutation.kind.startsWith("raw path ") ? mutation.index : undefined;
      const path = pathParams.reduce((acc, p, i) => acc.replace(`{${p.name}}`, i === raw ? String(values[i]) : segment(values[i])), o.path);
      const pairs: [string, string][] = [];
      queryParams.forEach((p, i) => q[i] !== undefined && pairs.push([p.name, q[i]!]));
      return { path, query: [...pairs, ...extra], body: b, headers, ifMatchCurrent, mutation: mutation.kind, csrf };
    });
}

function urlOf(g: Generated): string {
  const q = [...g.query];
  const build = () => (q.length ? `${g.path}?${q.map(([k, v]) => `${encode(k)}=${encode(v)}`).join("&")}` : g.path);
  let url = build();
  while (url.length > MAX_URL && q.length) {
    // drop the longest value until the request head fits (Node's own 431 is not the app's answer)
    const longest = q.reduce((m, e, i) => (e[1].length > q[m]![1].length ? i : m), 0);
    q.splice(longest, 1);
    url = build();
  }
  return url;
}

describe("every operation, fuzzed from the document", () => {
  it("fuzzes a session caller that is signed in (its cookie authenticates API calls)", async () => {
    const me = await api.checked("GET", "/api/v1/me", { headers: { Cookie: session.cookie } });
    expect(me.json).toMatchObject({ role: "EDITOR" });
  });

  it("covers every operation the document has", () => {
    expect(ops.length).toBeGreaterThan(0);
    expect(new Set(ops.map((o) => o.operationId)).size).toBe(ops.length);
  });

  for (const o of ops) {
    for (const who of WHO) {
      it(`${o.operationId} (${o.method.toUpperCase()} ${o.path}) as ${who}: never a 5xx, always the contract`, async () => {
        const user = users.get(who) ?? null;
        await fc.assert(
          fc.asyncProperty(requestOf(o), async (g) => {
            const headers: Record<string, string> = { ...g.headers };
            if (g.body) headers["Content-Type"] = g.body.contentType;
            if (user) headers.Authorization = `Bearer ${api.tokenFor(user)}`;
            if (who === "editor (session)") {
              headers.Cookie = session.cookie;
              if (g.csrf) headers["X-CSRF-Token"] = session.csrf; // now and then without it: a 403 problem on unsafe methods
            }
            if (g.ifMatchCurrent && o.method !== "get" && hasGet.has(o.path)) {
              const current = await api.checked("GET", g.path, {
                headers: user ? { Authorization: headers.Authorization! } : headers.Cookie ? { Cookie: headers.Cookie } : {},
              });
              const tag = current.headers.get("etag");
              if (tag) headers["If-Match"] = tag;
            }
            // api.checked throws (a ContractViolation) when the response breaks the document
            const res = await api.checked(o.method.toUpperCase(), urlOf(g), { headers, body: g.body?.text });
            expect(res.status, res.text.slice(0, 500)).toBeLessThan(500);
            tally(o.operationId, res.status);
          }),
          { seed: seedOf(`${o.operationId} ${who}`), numRuns: RUNS, endOnFailure: true },
        );
      });
    }
  }

  it("reached past the request parsers: every operation answered something else than 400 at least once", () => {
    const summary = [...seen].map(([k, m]) => `${k}: ${[...m].map(([st, n]) => `${st}x${n}`).join(" ")}`);
    const onlyRefused = ops.filter((o) => ![...(seen.get(o.operationId)?.keys() ?? [])].some((st) => st !== 400));
    expect(
      onlyRefused.map((o) => o.operationId),
      summary.join("\n"),
    ).toEqual([]);
  });

  it("the routes beside the operations (the document, its documentation page): hostile queries, bodies and methods never answer 5xx", async () => {
    const routes = servedNonOperations(doc);
    expect(routes.length).toBeGreaterThan(0);
    const problems: string[] = [];
    for (const route of routes) {
      const path = route.split(" ")[1]!;
      expect(path, "a route beside the operations with a parameter: give it values here").not.toMatch(/:/);
      for (const who of WHO) {
        const user = users.get(who) ?? null;
        const auth: Record<string, string> = user
          ? { Authorization: `Bearer ${api.tokenFor(user)}` }
          : who === "editor (session)"
            ? { Cookie: session.cookie, "X-CSRF-Token": session.csrf }
            : {};
        for (const h of HOSTILE) {
          for (const method of ["GET", "POST", "DELETE"]) {
            const body = method === "POST" ? { body: "{}", headers: { ...auth, "Content-Type": "application/json" } } : { headers: auth };
            const res = await fetch(`${api.baseUrl}${path}?q=${h.raw}&${h.raw}=1`, { method, redirect: "manual", ...body });
            await res.arrayBuffer();
            if (res.status >= 500) problems.push(`${who} ${method} ${path} with ${h.label}: ${res.status}`);
          }
        }
      }
    }
    expect(problems).toEqual([]);
  });
});
