// The hostile-input sweep: every named route, every form and every parameter of the reader site,
// the author's editor, the accounts pages and the admin, each sent the hostile values of
// tests/hostile/site.ts (NUL bytes, ids beyond PostgreSQL's integer range, and the values other
// tests already send: huge pages, malformed encodings, long strings, markup, SQL...).
//
// What is swept is generated, never listed: the routes come from src/web/urls.ts, the forms and
// query parameters from the pages themselves (crawled as an anonymous visitor and as a reader,
// author, editor and admin, so each form is reached with the role it needs), the JSON endpoints'
// parameter names from the scripts that call them. Forms are sent with the page's own CSRF token
// and otherwise valid values, so each hostile value reaches the parser.
//
// The promise: no answer is a 5xx, and a refused request (4xx) leaves every content table exactly
// as it was (a fingerprint of every row). Requests the site accepts may write: the database is then
// put back to the fixture (tests/hostile/site.ts restoreSnapshot) so every form meets the same data.
import { beforeAll, describe, expect, it } from "vitest";
import request from "supertest";
import type { Express } from "express";
import { buildApp } from "../../src/app.ts";
import { API_PREFIX } from "../../src/api/endpoint.ts";
import { seedPosts } from "../../src/blog/seed.ts";
import { issueResetToken } from "../../src/accounts/reset.ts";
import { verificationToken } from "../../src/accounts/verify.ts";
import { updatePost } from "../../src/posts/service.ts";
import { newPreviewKey, shareLink } from "../../src/previews/index.ts";
import { url } from "../../src/web/urls.ts";
import { startJobs } from "../../src/jobs/index.ts";
import { purgeSessions } from "../../src/jobs/purges.ts";
import type { Role } from "../../src/generated/prisma/client.ts";
import { csrfFrom, login } from "../support/auth.ts";
import { createUser, makeCategory, makePost, makeTag, prisma } from "../support/fixtures.ts";
import { saveUpload } from "../../src/media/index.ts";
import { photo, useTempDataDir } from "../media/support.ts";
import {
  defaultEntries,
  digest,
  encodeEntries,
  HOSTILE,
  HOSTILE_SEGMENTS,
  matchRoute,
  namedRoutes,
  OUT_OF_RANGE_IDS,
  parsePage,
  queryOf,
  restoreSnapshot,
  scriptParamNames,
  shapeOf,
  takeSnapshot,
  writes,
  xmlUrls,
  type Form,
  type NamedRoute,
} from "./site.ts";

type Who = "anonymous" | Role;
const WHO: Who[] = ["anonymous", "READER", "AUTHOR", "EDITOR", "ADMIN"];

interface Actor {
  who: Who;
  agent: ReturnType<typeof request.agent>;
  username?: string;
  password?: string;
  token: string;
}

let app: Express;
let routes: NamedRoute[];
const actors = new Map<Who, Actor>();
let baseline = "";
const findings: string[] = [];
let sent = 0;

/** Pages seen in the crawl: who saw which concrete URL of which route, and its forms. */
const pages: { who: Who; url: string; pattern: string; forms: Form[] }[] = [];
/** Concrete URLs seen for each route pattern (links, form actions, data-* URLs). */
const samples = new Map<string, string[]>();
/** Roles for which a route answered 200, or that were shown a form posting to it. */
const reach = new Map<string, Set<Who>>();
/** Query parameter names seen for each route, each with a URL it was seen in. */
const queryNames = new Map<string, Map<string, string>>();
/** Routes the pages' scripts call (named in data-* attributes), with the roles whose pages name them. */
const scriptEndpoints = new Map<string, Set<Who>>();
/** Form submissions whose CSRF token was refused (the input never reached the parser: a defect of the sweep). */
let csrfRefused = 0;
/** The first refusals, named in the failure message. */
const csrfRefusedAt: string[] = [];

const add = <K, V>(m: Map<K, V[]>, k: K, v: V) => (m.get(k) ?? m.set(k, []).get(k)!).push(v);

async function freshToken(a: Actor): Promise<void> {
  const page = await a.agent.get(a.who === "anonymous" ? "/accounts/login/" : "/accounts/profile/");
  a.token = csrfFrom(page.text);
}

async function makeActor(who: Who): Promise<Actor> {
  const agent = request.agent(app);
  if (who === "anonymous") {
    const a: Actor = { who, agent, token: "" };
    await freshToken(a);
    return a;
  }
  const { user, password } = await createUser({ role: who });
  await login(agent, user.username, password);
  const a: Actor = { who, agent, username: user.username, password, token: "" };
  await freshToken(a);
  return a;
}

/**
 * A background job that failed for good: the admin's jobs page then shows its Retry, Delete and
 * "Retry all" forms. pg-boss's tables are not in the snapshot, so restore() puts it back too.
 */
const FAILED_JOB = "00000000-0000-4000-8000-00000000f00d";
async function failedJob(): Promise<void> {
  await prisma.$executeRawUnsafe(`DELETE FROM pgboss.job WHERE id = $1::uuid`, FAILED_JOB);
  await prisma.$executeRawUnsafe(
    `INSERT INTO pgboss.job (id, name, state, output, completed_on) VALUES ($1::uuid, $2, 'failed', '{"message":"a fixture failure"}', now())`,
    FAILED_JOB,
    purgeSessions.name,
  );
}

/** The data back to the fixture; checked against the fingerprint taken with the snapshot. */
async function restore(): Promise<void> {
  await restoreSnapshot();
  await failedJob();
  expect(await digest(), "the fixture came back whole").toBe(baseline);
}

/** After a request the site accepted: the data back to the fixture, the actor signed in again if it was signed out. */
async function settle(a: Actor): Promise<void> {
  if ((await writes()) > 0) await restore();
  if (a.who !== "anonymous") {
    const p = await a.agent.get("/accounts/profile/");
    if (p.status !== 200) {
      await login(a.agent, a.username!, a.password!);
      await restore(); // the login wrote lastLogin
    }
  }
  await freshToken(a);
}

/** Sends one request and records what breaks the promise. A string body goes as a form, an object as JSON (with the token in its header). */
async function send(
  a: Actor,
  method: "GET" | "POST",
  url: string,
  body: string | object | null,
  label: string,
  expect404 = false,
): Promise<{ status: number; text: string; html: boolean }> {
  sent++;
  const req =
    method === "GET"
      ? a.agent.get(url)
      : typeof body === "object" && body !== null
        ? a.agent.post(url).set("X-CSRF-Token", a.token).type("json").send(JSON.stringify(body))
        : a.agent
            .post(url)
            .type("form")
            .send(body ?? `_csrf=${encodeURIComponent(a.token)}`);
  const res = await req.set("Accept", "text/html").redirects(0);
  const where = `${a.who} ${method} ${url.length > 140 ? `${url.slice(0, 140)}…(${url.length})` : url} [${label}]`;
  if (res.status >= 500) findings.push(`${where} -> ${res.status}`);
  if (expect404 && res.status !== 404) findings.push(`${where} -> ${res.status}, expected 404`);
  if (res.status === 403 && /CSRF/.test(res.text) && method === "POST") {
    csrfRefused++;
    if (csrfRefusedAt.length < 30) csrfRefusedAt.push(where);
  }
  const written = await writes();
  if (written > 0 && res.status >= 400) findings.push(`${where} -> ${res.status} but ${written} rows were written`);
  if (written > 0 || (res.status < 400 && method === "POST")) await settle(a); // may have written, or ended the session
  return { status: res.status, text: res.text, html: /html/.test(String(res.headers["content-type"])) };
}

function record(url: string) {
  const m = matchRoute(routes, url);
  if (!m) return null;
  add(samples, m.pattern, url);
  const names = queryNames.get(m.pattern) ?? new Map<string, string>();
  queryNames.set(m.pattern, names);
  for (const [k] of queryOf(url)) if (!names.has(decodeURIComponent(k))) names.set(decodeURIComponent(k), url);
  return m;
}

function reached(pattern: string, who: Who) {
  (reach.get(pattern) ?? reach.set(pattern, new Set()).get(pattern)!).add(who);
}

/** GETs a page as `a` and records its links and forms; the URLs it names, or null when it is not a 200 HTML page. */
async function visit(a: Actor, url: string): Promise<string[] | null> {
  const m = matchRoute(routes, url);
  if (!m) return null;
  const res = await a.agent.get(url).set("Accept", "text/html").redirects(0);
  if (res.status >= 500) findings.push(`${a.who} GET ${url} (a page the site links to) -> ${res.status}`);
  if (res.status !== 200) return null;
  reached(m.pattern, a.who);
  const type = String(res.headers["content-type"]);
  if (/xml/.test(type)) return xmlUrls(res.text).filter((u) => record(u));
  if (!/html/.test(type)) return [];
  const parsed = parsePage(res.text, url);
  pages.push({ who: a.who, url, pattern: m.pattern, forms: parsed.forms });
  for (const u of parsed.urls) record(u);
  for (const u of parsed.scriptUrls) {
    const sm = matchRoute(routes, u);
    if (sm) (scriptEndpoints.get(sm.pattern) ?? scriptEndpoints.set(sm.pattern, new Set()).get(sm.pattern)!).add(a.who);
  }
  for (const f of parsed.forms) {
    const fm = record(f.action);
    if (!fm) continue;
    if (f.method === "post") reached(fm.pattern, a.who);
    else {
      const names = queryNames.get(fm.pattern)!;
      for (const c of f.controls) if (!names.has(c.name)) names.set(c.name, f.action);
    }
  }
  return parsed.urls;
}

/** Breadth-first over the site as `a`: every named route without parameters, then what the pages link to (one URL per route). */
async function crawl(a: Actor, extra: string[]) {
  const visited = new Set<string>();
  const tries = new Map<string, number>();
  const queue = [...routes.filter((r) => r.params.length === 0).map((r) => r.pattern), ...extra];
  while (queue.length) {
    const url = queue.shift()!;
    const m = matchRoute(routes, url);
    if (!m || visited.has(m.pattern) || (tries.get(m.pattern) ?? 0) >= 3) continue;
    tries.set(m.pattern, (tries.get(m.pattern) ?? 0) + 1);
    const found = await visit(a, url);
    if (found === null) continue;
    visited.add(m.pattern);
    queue.push(...found);
  }
}

/** The least and the most privileged role that reached a route (the admin when none did). */
function whoFor(pattern: string): Actor[] {
  const r = WHO.filter((w) => reach.get(pattern)?.has(w));
  const picks = r.length ? [...new Set([r[0]!, r.at(-1)!])] : (["ADMIN"] as Who[]);
  return picks.map((w) => actors.get(w)!);
}

/** What a raw (URL-encoded) value decodes to; malformed escapes stay as typed. */
function decoded(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

const replaceParam = (url: string, name: string, raw: string, twice = false) => {
  const [path, q = ""] = url.split("?");
  const kept = q.split("&").filter((kv) => kv && decodeURIComponent(kv.split("=")[0]!) !== name);
  const mine = twice ? [`${encodeURIComponent(name)}=1`, `${encodeURIComponent(name)}=${raw}`] : [`${encodeURIComponent(name)}=${raw}`];
  return `${path}?${[...kept, ...mine].join("&")}`;
};

useTempDataDir(); // uploaded images go to a DATA_DIR of this file's own

beforeAll(async () => {
  app = buildApp();
  // The API (/api/v1/) is swept from its OpenAPI document by tests/api/fuzz.test.ts (every path and
  // query parameter and body field of every operation, these hostile values among others, as anonymous,
  // author and admin; the document and its documentation page there too): its unsafe methods take JSON
  // and a session's CSRF token in X-CSRF-Token, never a form's _csrf field, so the forms sent here
  // would only meet the CSRF refusal.
  routes = namedRoutes().filter((r) => !r.pattern.startsWith(`${API_PREFIX}/`));
  await seedPosts({ posts: 12, seed: 9 });
  for (const w of WHO) actors.set(w, await makeActor(w));
  // The author's own posts (their editor and change forms), with a category, a tag and a second revision.
  const author = await prisma.user.findUniqueOrThrow({ where: { username: actors.get("AUTHOR")!.username! } });
  const category = await makeCategory();
  const tag = await makeTag();
  const draft = await makePost({ authorId: author.id, title: "An author's draft", categoryId: category.id, tagIds: [tag.id], status: "DRAFT" });
  // ... shared for review: the share link (a page no link leads to: the writer hands it out)
  const previewKey = newPreviewKey();
  await prisma.post.update({ where: { id: draft.id }, data: { previewKey } });
  const shareUrl = new URL(shareLink({ id: draft.id, previewKey })!.url).pathname;
  const published = await makePost({
    authorId: author.id,
    title: "An author's published post",
    status: "PUBLISHED",
    publish: new Date(Date.now() - 86_400_000),
    categoryId: category.id,
  });
  await updatePost(
    published.id,
    published.version,
    {
      title: published.title,
      body: `${published.body}\n\nEdited.`,
      status: "PUBLISHED",
      publish: published.publish,
      authorId: author.id,
      categoryId: category.id,
      tagIds: [tag.id],
    },
    { id: author.id },
  );
  // An uploaded image: the media library's pages link to its files (/media/<key>).
  await saveUpload(await photo(120, 80).jpeg().toBuffer(), "sweep.jpg", author.id);
  // The one page no link leads to: the e-mailed password-reset link.
  const reader = await prisma.user.findUniqueOrThrow({ where: { username: actors.get("READER")!.username! } });
  const resetLink = `/accounts/reset/${await issueResetToken(reader.id)}/`;
  // ... and the e-mailed verification link; the reader is unverified, so their pages show "Send the link again".
  await prisma.user.update({ where: { id: reader.id }, data: { emailVerifiedAt: null } });
  const verifyLink = `/accounts/verify/${verificationToken(reader)}/`;
  await startJobs({ work: false }); // the queues (pg-boss's partitions), for failedJob()
  await failedJob();

  for (const w of WHO) await crawl(actors.get(w)!, [resetLink, verifyLink, shareUrl]);
  // The old editor's addresses only redirect (to the editor): reached by a role they redirect somewhere
  // other than the login page.
  for (const w of WHO) {
    for (const path of [url("authoring:write"), url("authoring:edit", { id: draft.id })]) {
      const res = await actors.get(w)!.agent.get(path).redirects(0);
      if (res.status >= 500) findings.push(`${w} GET ${path} -> ${res.status}`);
      const m = matchRoute(routes, path)!;
      add(samples, m.pattern, path);
      if ((res.status === 301 || res.status === 302) && !String(res.headers.location).startsWith(url("accounts:login"))) reached(m.pattern, w);
    }
  }
  // Routes with parameters no crawled link filled (e.g. pages only a redirect leads to): try the
  // values seen for parameters of the same name elsewhere, as each role.
  const seenValues = new Map<string, Set<string>>();
  for (const [pattern, urls] of samples) {
    const r = routes.find((x) => x.pattern === pattern)!;
    for (const u of urls) {
      const m = r.test(u.split("?")[0]!);
      if (m) for (const [k, v] of Object.entries(m.params as Record<string, string>)) (seenValues.get(k) ?? seenValues.set(k, new Set()).get(k)!).add(v);
    }
  }
  for (const r of routes.filter((x) => x.params.length && !reach.has(x.pattern))) {
    const candidates = r.params.map((p) => [...(seenValues.get(p) ?? [])].slice(0, 40));
    if (candidates.some((c) => c.length === 0)) continue;
    outer: for (const w of WHO) {
      for (let i = 0; i < 40; i++) {
        const params = Object.fromEntries(r.params.map((p, j) => [p, candidates[j]![(i + j) % candidates[j]!.length]!]));
        const url = r.build(params);
        add(samples, r.pattern, url);
        if ((await visit(actors.get(w)!, url)) !== null) break outer;
      }
    }
  }
  await takeSnapshot();
  baseline = await digest();
}, 300_000);

describe("hostile-input sweep (generated from the routes, the pages' forms and the scripts)", () => {
  it("reaches every named route and finds the site's forms", () => {
    const actions = new Set(pages.flatMap((p) => p.forms.map((f) => matchRoute(routes, f.action)?.pattern)));
    console.log(`sweep: ${routes.length} named routes, ${pages.length} pages, ${actions.size} form actions, ${scriptEndpoints.size} script endpoints`);
    // Every named route is exercised with valid values around the hostile one: a page that answered
    // 200 to some role, a form's action, or an endpoint a page's script calls. A route none of these
    // reach needs a fixture (a link, or an extra entry such as the e-mailed reset link above).
    const unexercised = routes.filter((r) => !reach.has(r.pattern) && !scriptEndpoints.has(r.pattern)).map((r) => r.pattern);
    expect(unexercised).toEqual([]);
    for (const area of ["/blog/", "/accounts/", "/preview/", "/admin/"])
      expect([...actions].some((p) => p?.startsWith(area)) || area === "/blog/", area).toBe(true);
  });

  it("path parameters: hostile values never answer 5xx; an out-of-range id is a 404", async () => {
    for (const r of routes.filter((x) => x.params.length)) {
      const base = samples.get(r.pattern)?.[0];
      const m = base ? r.test(base.split("?")[0]!) || null : null;
      const params: Record<string, string> = m ? { ...(m.params as Record<string, string>) } : Object.fromEntries(r.params.map((p) => [p, "1"]));
      for (const p of r.params) {
        const numeric = /^\d+$/.test(params[p] ?? "");
        for (const h of [...HOSTILE_SEGMENTS]) {
          const url = r.build({ ...params, [p]: h.raw });
          for (const a of whoFor(r.pattern)) {
            const expect404 = numeric && OUT_OF_RANGE_IDS.includes(h.raw);
            await send(a, "GET", url, null, `:${p} = ${h.label}`, expect404);
            await send(a, "POST", url, null, `:${p} = ${h.label}`, expect404);
          }
        }
      }
    }
  }, 900_000);

  it("query parameters (links and GET forms such as search boxes): never 5xx", async () => {
    for (const [pattern, names] of queryNames) {
      for (const [name, url] of names) {
        for (const a of whoFor(pattern)) {
          for (const h of HOSTILE) await send(a, "GET", replaceParam(url, name, h.raw), null, `?${name} = ${h.label}`);
          await send(a, "GET", replaceParam(url, name, "2", true), null, `?${name} given twice`);
        }
      }
    }
  }, 900_000);

  it("the scripts' endpoints (JSON): each parameter their scripts send, by query and by form body, as the roles whose pages call them", async () => {
    const scriptNames = scriptParamNames().filter((n) => n !== "_csrf");
    const fieldNames = new Set(pages.flatMap((p) => p.forms.flatMap((f) => f.controls.map((c) => c.name))).filter((n) => n !== "_csrf"));
    expect(scriptEndpoints.size).toBeGreaterThan(0);
    for (const [pattern, whos] of scriptEndpoints) {
      const sample = samples.get(pattern)!.find((u) => u.includes("?")) ?? samples.get(pattern)![0]!;
      const names = new Set([...scriptNames, ...(queryNames.get(pattern)?.keys() ?? [])]);
      const roles = WHO.filter((w) => whos.has(w));
      for (const who of new Set([roles[0]!, roles.at(-1)!])) {
        const a = actors.get(who)!;
        // The methods the endpoint answers (a method it does not have is the site's 404).
        const get = (await a.agent.get(sample).redirects(0)).status !== 404;
        const posts =
          (
            await a.agent
              .post(sample.split("?")[0]!)
              .type("form")
              .send(`_csrf=${encodeURIComponent(a.token)}`)
              .redirects(0)
          ).status !== 404;
        await settle(a);
        for (const name of names) {
          for (const h of HOSTILE) {
            const url = replaceParam(sample, name, h.raw);
            if (get) await send(a, "GET", url, null, `?${name} = ${h.label}`);
            if (!posts) continue;
            await send(a, "POST", url.split("?")[0]!, `_csrf=${encodeURIComponent(a.token)}&${url.split("?")[1]}`, `${name} = ${h.label}`);
            // The same as JSON: the value as text, as a number when it reads as one, and as an object of every form field.
            const text = decoded(h.raw);
            const values: unknown[] = [text, Object.fromEntries([...fieldNames].map((f) => [f, text]))];
            if (/^-?[\d.e]+$/.test(text) && Number.isFinite(Number(text))) values.push(Number(text));
            for (const v of values)
              await send(a, "POST", url.split("?")[0]!, { [name]: v }, `JSON ${name} = ${typeof v === "object" ? "{every field}" : typeof v} ${h.label}`);
          }
        }
      }
    }
  }, 900_000);

  it("forms: every field of every form, with the page's CSRF token: never 5xx, nothing half-written", async () => {
    /** Where a form is shown: a page (GET), or the answer to a filled-in submission (a confirmation step). */
    interface Source {
      who: Who;
      label: string;
      html: () => Promise<string>;
      forms: Form[];
    }
    const sources: Source[] = pages.map((p) => ({
      who: p.who,
      label: p.url,
      forms: p.forms,
      html: async () => (await actors.get(p.who)!.agent.get(p.url).redirects(0)).text,
    }));
    const done = new Set<string>();
    const shapesOf = (f: Form) => [...new Set(f.controls.map((c) => shapeOf(c.name)))].filter((x) => x !== "_csrf").sort();
    const keyOf = (f: Form) => `${matchRoute(routes, f.action)?.pattern}|${shapesOf(f).join(",")}`;
    /** The form as a user fills it in: every checkbox ticked, an empty select set to its first real choice. */
    const filled = (f: Form): [string, string][] => {
      const out = defaultEntries(f).filter(([k]) => !f.controls.some((c) => c.name === k && (c.type === "checkbox" || c.tag === "select")));
      for (const c of f.controls.filter((x) => !x.disabled)) {
        if (c.type === "checkbox") out.push([c.name, c.value || "on"]);
        if (c.tag === "select") {
          const chosen = c.options.filter((o) => o.selected).map((o) => o.value);
          const v = chosen.filter(Boolean).length ? chosen : [c.options.find((o) => o.value)?.value ?? ""];
          for (const x of c.multiple ? v : v.slice(0, 1)) out.push([c.name, x]);
        }
      }
      return out;
    };
    const variants = (form: Form): { label: string; body: string }[] => {
      const entries = defaultEntries(form);
      const names = [...new Set(form.controls.map((c) => c.name))].filter((n) => n !== "_csrf");
      const out: { label: string; body: string }[] = [];
      const byShape = new Map<string, string>();
      for (const n of names) if (!byShape.has(shapeOf(n))) byShape.set(shapeOf(n), n);
      for (const [, name] of byShape) {
        const others = entries.filter(([k]) => k !== name);
        const own = entries.filter(([k]) => k === name);
        for (const h of HOSTILE) out.push({ label: `${name} = ${h.label}`, body: `${encodeEntries(others)}&${encodeURIComponent(name)}=${h.raw}` });
        out.push({ label: `${name} given twice`, body: encodeEntries([...entries, [name, own[0]?.[1] === "1" ? "2" : "1"]]) });
        if (/\d/.test(name))
          for (const id of OUT_OF_RANGE_IDS)
            out.push({ label: `field name with id ${id}`, body: encodeEntries([...others, [name.replace(/\d+/, id), own[0]?.[1] ?? "1"]]) });
      }
      for (const h of HOSTILE.filter((x) => /NUL|id |5000|malformed/.test(x.label))) {
        const all = entries.map(([k, v]) =>
          k === "_csrf" || form.controls.some((c) => c.name === k && (c.type === "submit" || c.type === "hidden"))
            ? `${encodeURIComponent(k)}=${encodeURIComponent(v)}`
            : `${encodeURIComponent(k)}=${h.raw}`,
        );
        out.push({ label: `every field = ${h.label}`, body: all.join("&") });
      }
      return out;
    };

    for (let n = 0; n < sources.length; n++) {
      const src = sources[n]!;
      for (const form of src.forms.filter((f) => f.method === "post")) {
        const key = keyOf(form);
        if (!matchRoute(routes, form.action) || done.has(key)) continue;
        done.add(key);
        const a = actors.get(src.who)!;
        /** The form as its source shows it now (a fresh token, a fresh version). */
        const current = async (): Promise<Form | null> => {
          const f = parsePage(await src.html(), src.label).forms.find((x) => x.method === "post" && keyOf(x) === key);
          if (!f) findings.push(`${a.who} ${src.label}: the form ${key} is gone`);
          return f ?? null;
        };
        let f = await current();
        if (!f) continue;
        // Filled in as a user would: forms its answer shows (a confirmation step) are swept too.
        const answer = await send(a, "POST", f.action, encodeEntries(filled(f)), `form on ${src.label}: filled in`);
        if (answer.status === 200 && answer.html) {
          const next = parsePage(answer.text, f.action).forms.filter((x) => x.method === "post" && !done.has(keyOf(x)));
          const formKey = key;
          if (next.length)
            sources.push({
              who: src.who,
              label: `the answer to ${f.action}`,
              forms: next,
              html: async () => {
                const again = parsePage(await src.html(), src.label).forms.find((x) => keyOf(x) === formKey);
                return again
                  ? (
                      await a.agent
                        .post(again.action)
                        .type("form")
                        .send(encodeEntries(filled(again)))
                        .redirects(0)
                    ).text
                  : "";
              },
            });
        }
        f = await current();
        if (!f) continue;
        let list = variants(f);
        for (let i = 0; i < list.length; i++) {
          const { status } = await send(a, "POST", f.action, list[i]!.body, `form on ${src.label}: ${list[i]!.label}`);
          if (status < 400) {
            f = await current(); // a fresh token and version after a save
            if (!f) break;
            list = variants(f);
          }
        }
      }
    }
    console.log(
      `forms swept: ${done.size} (${[...done].filter((k) => !pages.some((p) => p.forms.some((f) => keyOf(f) === k))).length} shown only in answers to a submission)`,
    );
    expect(done.size).toBeGreaterThan(20);
  }, 1_800_000);

  it("every parameter name the site uses, sent to every route at once (JSON endpoints' parameters included)", async () => {
    const names = new Set<string>(scriptParamNames());
    for (const m of queryNames.values()) for (const n of m.keys()) names.add(n);
    for (const p of pages) for (const f of p.forms) for (const c of f.controls) if (c.name !== "_csrf") names.add(c.name);
    names.delete("_csrf");
    const some = HOSTILE.filter((x) => /NUL|id |5000|malformed|-1/.test(x.label));
    for (const r of routes) {
      const base = samples.get(r.pattern)?.[0]?.split("?")[0] ?? (r.params.length ? null : r.pattern);
      if (!base) continue;
      for (const a of whoFor(r.pattern)) {
        for (const h of some) {
          const q = [...names].map((n) => `${encodeURIComponent(n)}=${h.raw}`).join("&");
          await send(a, "GET", `${base}?${q}`, null, `every name = ${h.label}`);
          await send(a, "POST", base, `_csrf=${encodeURIComponent(a.token)}&${q}`, `every name = ${h.label}`);
        }
      }
    }
  }, 900_000);

  it("reports what it found", () => {
    console.log(`sweep: ${sent} requests; ${findings.length} findings; ${csrfRefused} form submissions refused for their CSRF token`);
    expect(findings).toEqual([]);
    expect(csrfRefusedAt, "form submissions refused for their CSRF token").toEqual([]);
    expect(csrfRefused).toBe(0);
  });
});
