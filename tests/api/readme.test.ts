// The README's API examples are true: every ```sh block with a `curl` command in its "## API"
// section is run, as written, by bash with the real `curl` binary against the app listening on a
// free port, with the variables the README tells the reader to set ($FOLIO, $FOLIO_USER,
// $FOLIO_PASSWORD) and to keep from earlier answers ($TOKEN, $REFRESH, $POST_ID, $ETAG). Each answer
// must be a 2xx; together they must log in, refresh, list, create, publish and favorite, and the
// database must then hold the published post and the favorite.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../src/app.ts";
import { openApiDocument } from "../../src/api/openapi.ts";
import { createUser, makePost, prisma } from "../support/fixtures.ts";
import { contractErrors } from "./support/contract.ts";

const run = promisify(execFile);
const README = readFileSync(resolve(import.meta.dirname, "../../README.md"), "utf8");

/** The README's "## API" section (up to the next second-level heading). */
function apiSection(md: string): string {
  const start = md.indexOf("\n## API\n");
  expect(start, 'README.md has an "## API" section').toBeGreaterThan(-1);
  const end = md.indexOf("\n## ", start + 1);
  return md.slice(start, end === -1 ? undefined : end);
}

/** The ```sh blocks that run curl, in order. */
const curlExamples = (section: string): string[] =>
  [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!).filter((block) => /^\s*curl\s/m.test(block));

interface Answer {
  status: number;
  headers: Record<string, string>;
  /** The body as sent, and parsed as JSON (or the text when it is not JSON). */
  text: string;
  body: unknown;
}

/** `curl -i` output: the last status line and its headers (after any 100 Continue), then the body as JSON (or text). */
function parseAnswer(out: string): Answer {
  let rest = out;
  for (;;) {
    const head = /^HTTP\/[\d.]+ (\d{3})[^\n]*\n([\s\S]*?)\r?\n\r?\n/.exec(rest);
    if (!head) throw new Error(`not an HTTP answer (is -i missing?):\n${out.slice(0, 500)}`);
    rest = rest.slice(head[0].length);
    if (head[1] === "100") continue;
    const headers: Record<string, string> = {};
    for (const line of head[2]!.split(/\r?\n/)) {
      const i = line.indexOf(":");
      if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    let body: unknown = rest;
    try {
      body = rest.trim() ? JSON.parse(rest) : null;
    } catch {
      // not JSON: kept as text for the failure message
    }
    return { status: Number(head[1]), headers, text: rest, body };
  }
}

/** The API operation a request went to, by the document's paths ("POST /api/v1/posts" -> createPost). */
function operationOf(method: string, url: string): string | undefined {
  const path = url.split("?")[0]!;
  const doc = openApiDocument().doc as unknown as { paths: Record<string, Record<string, { operationId: string }>> };
  for (const [template, item] of Object.entries(doc.paths)) {
    const re = new RegExp(`^${template.replace(/\{[^}]+\}/g, "[^/]+")}/?$`);
    if (re.test(path)) return item[method.toLowerCase()]?.operationId;
  }
  return undefined;
}

let server: Server;
let home: string;
const requests: { method: string; url: string }[] = [];

beforeAll(async () => {
  server = createServer(buildApp());
  server.on("request", (req) => requests.push({ method: req.method ?? "", url: req.url ?? "" }));
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  home = mkdtempSync(join(tmpdir(), "folio-readme-")); // curl reads no ~/.curlrc of this machine
});

afterAll(async () => {
  await new Promise<void>((done) => {
    server.close(() => done());
    server.closeAllConnections();
  });
  rmSync(home, { recursive: true, force: true });
});

describe("the README's API examples", () => {
  it("each curl example, run as written with the variables set as the README says, answers 2xx", { timeout: 120_000 }, async () => {
    const examples = curlExamples(apiSection(README));
    expect(examples.length).toBeGreaterThanOrEqual(6);
    const { user, password } = await createUser({ role: "AUTHOR" });
    await makePost({ authorId: user.id, title: "Already published" }); // the list has something to show
    const { port } = server.address() as AddressInfo;
    // What the README has the reader set first; the others come from answers, as the README says.
    const vars: Record<string, string> = { FOLIO: `http://127.0.0.1:${port}`, FOLIO_USER: user.username, FOLIO_PASSWORD: password };
    let seen = requests.length;
    for (const example of examples) {
      // Only PATH from this environment: no proxy settings, no curlrc; -u: a variable the README
      // never told the reader to set fails the example.
      const { stdout } = await run("bash", ["-euo", "pipefail", "-c", example], { env: { PATH: process.env.PATH, HOME: home, ...vars }, timeout: 30_000 });
      const answer = parseAnswer(stdout);
      const sent = requests.slice(seen);
      seen = requests.length;
      expect(sent.length, `${example}\n-> one request per example`).toBe(1);
      // The answer keeps the OpenAPI contract, as every API answer in the tests does.
      const { method, url } = sent[0]!;
      expect(contractErrors({ method, path: url, status: answer.status, contentType: answer.headers["content-type"], body: answer.text }), example).toEqual([]);
      expect(answer.status, `${example}\n-> ${JSON.stringify(answer)}`).toBeGreaterThanOrEqual(200);
      expect(answer.status, `${example}\n-> ${JSON.stringify(answer)}`).toBeLessThan(300);
      // "Keep them as TOKEN (access) and REFRESH (refresh)"; "keep the post's id as POST_ID and the ETag as ETAG".
      const body = (answer.body ?? {}) as Record<string, unknown>;
      if (typeof body.access === "string") vars.TOKEN = body.access;
      if (typeof body.refresh === "string") vars.REFRESH = body.refresh;
      if (answer.status === 201) {
        expect(typeof body.id, "a created post's id").toBe("number");
        expect(answer.headers.etag, "a created post's ETag").toMatch(/^"\d+-[0-9a-f]{12}"$/);
        vars.POST_ID = String(body.id);
        vars.ETAG = answer.headers.etag!;
      }
    }

    // Together they did what the README promises: log in, refresh, list, create, publish, favorite.
    const operations = requests.map((r) => operationOf(r.method, r.url));
    expect(operations).toEqual(expect.arrayContaining(["obtainToken", "refreshToken", "listPosts", "createPost", "updatePost", "favoritePost"]));
    const post = await prisma.post.findUniqueOrThrow({ where: { id: Number(vars.POST_ID) } });
    expect(post).toMatchObject({ authorId: user.id, status: "PUBLISHED" });
    expect(await prisma.favorite.count({ where: { userId: user.id, postId: post.id } })).toBe(1);
  });
});
