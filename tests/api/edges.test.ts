// The API router's edge answers (src/api/router.ts), through the real app and PostgreSQL: 415 for a
// body that is not JSON, 413 for one over API_BODY_LIMIT_BYTES (streamed to a listening server),
// 405 with Allow, 404 for unknown paths, 400 for malformed JSON and for unknown query parameters or
// body fields, OPTIONS, HEAD, conditional GET, caching headers; every error a problem document
// (type, title, status, detail, instance, errors) with no stack trace or SQL in it; nothing written
// by a refused write. Every answer is also checked against the OpenAPI document (expectContract).
import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import request from "supertest";
import { buildApp } from "../../src/app.ts";
import { API_BODY_LIMIT_BYTES } from "../../src/api/router.ts";
import { signAccessToken } from "../../src/api/tokens.ts";
import { createUser, makePost, prisma } from "../support/fixtures.ts";
import { contractErrors, expectContract } from "./support/contract.ts";

const app = buildApp();

let authorToken: string;
let authorId: number;
let postId: number;
beforeAll(async () => {
  const { user } = await createUser({ role: "AUTHOR" });
  authorId = user.id;
  authorToken = `Bearer ${signAccessToken(user)}`;
  postId = (await makePost({ authorId, title: "Edge cases" })).id;
});

/** Text that must never reach a client: stack frames, source paths, SQL, ORM and driver names. */
const LEAKS = /\bat [\w.<>]+ \(|\.(ts|js|mjs|cjs):\d+|node_modules|prisma|postgres|ZodError|\bstack\b|TypeError|ReferenceError|SyntaxError/i;
const SQL = /\bSELECT\b[\s\S]*\bFROM\b|\bINSERT INTO\b|\bDELETE FROM\b|\bUPDATE\s+"?\w+"?\s+SET\b|"(Post|User|Tag|Category)"\.|\$\d+\b/;

interface Answer {
  status: number;
  text: string;
  headers: Record<string, unknown>;
}

/** Asserts a problem+json answer of `status` with every member of the shape, and no leak. */
function expectProblem(res: Answer, status: number, path: string): { detail: string; errors: Record<string, string> } {
  expect(res.status, res.text.slice(0, 300)).toBe(status);
  expect(String(res.headers["content-type"])).toMatch(/^application\/problem\+json/);
  expect(res.headers["cache-control"]).toBe("no-store");
  expect(res.text).not.toMatch(LEAKS);
  expect(res.text).not.toMatch(SQL);
  const body = JSON.parse(res.text) as Record<string, unknown>;
  expect(body).toEqual({
    type: expect.stringMatching(/^https:\/\/folio\.dev\/problems\/[a-z-]+$/),
    title: expect.any(String),
    status,
    detail: expect.any(String),
    instance: path,
    errors: expect.any(Object),
  });
  expect((body.title as string).length).toBeGreaterThan(0);
  expect((body.detail as string).length).toBeGreaterThan(0);
  for (const v of Object.values(body.errors as object)) expect(typeof v).toBe("string");
  return body as { detail: string; errors: Record<string, string> };
}

const postCount = () => prisma.post.count();

describe("request bodies", () => {
  it("415 for a body that is not JSON (text/plain, form-encoded, none named, another charset) on POST and PATCH; nothing written", async () => {
    const before = await postCount();
    const cases: [string | null, string][] = [
      ["text/plain", JSON.stringify({ title: "As text" })],
      ["application/x-www-form-urlencoded", "title=As+a+form"],
      ["multipart/form-data; boundary=x", '--x\r\nContent-Disposition: form-data; name="title"\r\n\r\nMultipart\r\n--x--\r\n'],
      [null, JSON.stringify({ title: "No type" })],
      ["application/json; charset=latin1", JSON.stringify({ title: "Latin-1" })],
    ];
    for (const [type, body] of cases) {
      const post = request(app).post("/api/v1/posts").set("Authorization", authorToken);
      if (type) post.set("Content-Type", type);
      const created = expectContract(await post.send(body));
      expectProblem(created, 415, "/api/v1/posts");
      const patch = request(app).patch(`/api/v1/posts/${postId}`).set("Authorization", authorToken).set("If-Match", '"1"');
      if (type) patch.set("Content-Type", type);
      const patched = expectContract(await patch.send(body.replace(/Edge|As|No|Latin/, "Changed")));
      expectProblem(patched, 415, `/api/v1/posts/${postId}`);
    }
    expect(await postCount()).toBe(before);
    const post = await prisma.post.findUniqueOrThrow({ where: { id: postId } });
    expect(post.title).toBe("Edge cases");
    expect(post.version).toBe(1);
  });

  it("400 for malformed JSON and for JSON that is not an object; nothing written", async () => {
    const before = await postCount();
    for (const raw of ['{"title": "Cut', "{'title': 'single quotes'}", '"just a string"', "[1, 2]", "null", "{} {}"]) {
      const res = expectContract(await request(app).post("/api/v1/posts").set("Authorization", authorToken).set("Content-Type", "application/json").send(raw));
      expectProblem(res, 400, "/api/v1/posts");
    }
    const cut = await request(app).post("/api/v1/posts").set("Authorization", authorToken).set("Content-Type", "application/json").send('{"title": "Cut');
    expect(JSON.parse(cut.text).detail).toBe("The request body is not valid JSON.");
    expect(await postCount()).toBe(before);
  });

  it("400 naming each unknown body field (also nested in a valid body); nothing written", async () => {
    const before = await postCount();
    const res = expectContract(
      await request(app).post("/api/v1/posts").set("Authorization", authorToken).send({ title: "Fine title", bogus: 1, isAdmin: true, authorId: 1 }),
    );
    const p = expectProblem(res, 400, "/api/v1/posts");
    expect(p.errors).toMatchObject({ bogus: "Unknown field.", isAdmin: "Unknown field.", authorId: "Unknown field." });
    const patch = expectContract(
      await request(app).patch(`/api/v1/posts/${postId}`).set("Authorization", authorToken).set("If-Match", '"1"').send({ title: "New", version: 9 }),
    );
    expect(expectProblem(patch, 400, `/api/v1/posts/${postId}`).errors).toMatchObject({ version: "Unknown field." });
    expect(await postCount()).toBe(before);
    expect((await prisma.post.findUniqueOrThrow({ where: { id: postId } })).title).toBe("Edge cases");
  });

  it("POST /auth/token: real credentials sent as a form, or with an extra field, issue nothing", async () => {
    const { user, password } = await createUser();
    const form = expectContract(await request(app).post("/api/v1/auth/token").type("form").send({ username: user.username, password }));
    expectProblem(form, 415, "/api/v1/auth/token");
    const extra = expectContract(await request(app).post("/api/v1/auth/token").send({ username: user.username, password, grant_type: "password" }));
    expect(expectProblem(extra, 400, "/api/v1/auth/token").errors).toEqual({ grant_type: "Unknown field." });
    const cut = expectContract(await request(app).post("/api/v1/auth/token").type("json").send(`{"username":"${user.username}","password":`));
    expectProblem(cut, 400, "/api/v1/auth/token");
    expect(await prisma.apiRefreshToken.count({ where: { userId: user.id } })).toBe(0);
    // the same credentials as JSON do work (the refusals above were about the form of the request)
    const ok = expectContract(await request(app).post("/api/v1/auth/token").send({ username: user.username, password }).expect(200));
    expect(ok.body.access).toEqual(expect.any(String));
    expect(await prisma.apiRefreshToken.count({ where: { userId: user.id } })).toBe(1);
  });

  it("a JSON type with +json and a charset of UTF-8 is JSON", async () => {
    const res = expectContract(
      await request(app)
        .post("/api/v1/posts")
        .set("Authorization", authorToken)
        .set("Content-Type", "application/merge-patch+json; charset=utf-8")
        .send(JSON.stringify({ title: "Typed as merge-patch" })),
    );
    expect(res.status).toBe(201);
    expect(res.body.title).toBe("Typed as merge-patch");
  });
});

describe("413: a body over API_BODY_LIMIT_BYTES", () => {
  let server: Server;
  let port: number;
  beforeAll(async () => {
    server = createServer(app);
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((done) => server.close(done));
  });

  /**
   * POSTs a JSON body of `size` bytes (a post whose body is that long), streamed in 64 KB chunks,
   * chunked or with its Content-Length announced; stops sending when the answer comes.
   */
  function sendLarge(size: number, announce: boolean): Promise<{ status: number; text: string; headers: Record<string, unknown>; sent: number }> {
    return new Promise((done, fail) => {
      const headers: Record<string, string | number> = { Authorization: authorToken, "Content-Type": "application/json" };
      if (announce) headers["Content-Length"] = size;
      const req = httpRequest({ host: "127.0.0.1", port, method: "POST", path: "/api/v1/posts", headers });
      let sent = 0;
      let answered = false;
      req.on("response", (res) => {
        answered = true;
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (text += d));
        res.on("end", () => {
          req.destroy();
          done({ status: res.statusCode!, text, headers: res.headers, sent });
        });
      });
      req.on("error", (e) => {
        if (!answered) fail(e);
      });
      const head = '{"title":"Too large","body":"';
      const tail = '"}';
      const CHUNK = 64 * 1024;
      req.write(head);
      sent += head.length;
      const pump = () => {
        while (!answered && sent < size - tail.length) {
          const n = Math.min(CHUNK, size - tail.length - sent);
          const ok = req.write("a".repeat(n));
          sent += n;
          if (!ok) return void req.once("drain", pump);
        }
        if (!answered) {
          sent += tail.length;
          req.end(tail);
        }
      };
      pump();
    });
  }

  it("a streamed (chunked) body over the limit: a 413 problem, and nothing written", async () => {
    const before = await postCount();
    const res = await sendLarge(API_BODY_LIMIT_BYTES + 256 * 1024, false);
    expectProblem(res, 413, "/api/v1/posts");
    expect(
      contractErrors({ method: "POST", path: "/api/v1/posts", status: res.status, contentType: String(res.headers["content-type"]), body: res.text }),
    ).toEqual([]);
    expect(res.sent).toBeGreaterThan(API_BODY_LIMIT_BYTES);
    expect(await postCount()).toBe(before);
    expect(await prisma.post.count({ where: { title: "Too large" } })).toBe(0);
  });

  it("a body announced (Content-Length) one byte over the limit: a 413 problem, and nothing written", async () => {
    const before = await postCount();
    const res = await sendLarge(API_BODY_LIMIT_BYTES + 1, true);
    expectProblem(res, 413, "/api/v1/posts");
    expect(await postCount()).toBe(before);
    expect(await prisma.post.count({ where: { title: "Too large" } })).toBe(0);
  });

  it("a body of exactly the limit is read (and judged on its fields: a body too long for a post)", async () => {
    const res = await sendLarge(API_BODY_LIMIT_BYTES, true);
    const p = expectProblem(res, 400, "/api/v1/posts");
    expect(Object.keys(p.errors)).toContain("body");
    expect(await prisma.post.count({ where: { title: "Too large" } })).toBe(0);
  });

  it("the server still answers afterwards", async () => {
    const res = await fetch(`http://127.0.0.1:${port}/api/v1/posts/${postId}`);
    expect(res.status).toBe(200);
  });
});

describe("paths and methods", () => {
  it("404 problem for unknown paths under /api/ (and a path parameter that names nothing)", async () => {
    for (const path of ["/api/v1/nothing", "/api/v1/posts/1/nothing", "/api/v2/posts", "/api/", "/api/v1/", "/api/v1/POSTS/x/y"]) {
      const res = expectContract(await request(app).get(path));
      const p = expectProblem(res, 404, path);
      if (path !== "/api/v1/posts/1/nothing") expect(p.detail).toMatch(/openapi\.json/);
    }
    for (const id of ["abc", "0", "-1", "1.5", "99999999999", "2147483648", String(postId + 1000)]) {
      expectProblem(expectContract(await request(app).get(`/api/v1/posts/${id}`)), 404, `/api/v1/posts/${id}`);
    }
  });

  it("405 with Allow for a known path and another method", async () => {
    const me = expectContract(await request(app).delete("/api/v1/me").set("Authorization", authorToken));
    expectProblem(me, 405, "/api/v1/me");
    const allowed = new Set(String(me.headers["allow"]).split(", "));
    expect([...allowed]).toEqual(expect.arrayContaining(["GET", "HEAD"]));
    expect(allowed.has("DELETE")).toBe(false);
    const posts = expectContract(await request(app).put("/api/v1/posts").set("Authorization", authorToken).send({ title: "x" }));
    expectProblem(posts, 405, "/api/v1/posts");
    expect(new Set(String(posts.headers["allow"]).split(", "))).toEqual(new Set(["GET", "HEAD", "POST"]));
    const one = expectContract(await request(app).post(`/api/v1/posts/${postId}`).set("Authorization", authorToken).send({ title: "x" }));
    expectProblem(one, 405, `/api/v1/posts/${postId}`);
    expect(new Set(String(one.headers["allow"]).split(", "))).toEqual(new Set(["GET", "HEAD", "PATCH", "DELETE"]));
  });

  it("OPTIONS answers 204 with Allow (and OPTIONS)", async () => {
    const res = expectContract(await request(app).options("/api/v1/posts"));
    expect(res.status).toBe(204);
    expect(res.text).toBe("");
    expect(new Set(String(res.headers["allow"]).split(", "))).toEqual(new Set(["GET", "HEAD", "POST", "OPTIONS"]));
    const me = await request(app).options("/api/v1/me");
    expect(me.status).toBe(204);
    expect(String(me.headers["allow"]).split(", ")).toEqual(expect.arrayContaining(["GET", "HEAD", "OPTIONS"]));
    expectProblem(expectContract(await request(app).options("/api/v1/nothing")), 404, "/api/v1/nothing");
  });

  it("HEAD on a GET: the GET's status and headers, no body", async () => {
    const get = expectContract(await request(app).get(`/api/v1/posts/${postId}`).expect(200));
    const head = expectContract(await request(app).head(`/api/v1/posts/${postId}`));
    expect(head.status).toBe(200);
    expect(head.text ?? "").toBe("");
    expect(head.headers["content-type"]).toBe(get.headers["content-type"]);
    expect(head.headers["etag"]).toBe(get.headers["etag"]);
    expect(head.headers["content-length"]).toBe(get.headers["content-length"]);
    const me = expectContract(await request(app).head("/api/v1/me").set("Authorization", authorToken));
    expect(me.status).toBe(200);
    expect(me.headers["content-type"]).toMatch(/^application\/json/);
    const anonymous = await request(app).head("/api/v1/me");
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers["www-authenticate"]).toMatch(/^Bearer realm="folio"/);
  });

  it("a conditional GET with the ETag answers 304 with no body", async () => {
    const get = await request(app).get(`/api/v1/posts/${postId}`).expect(200);
    const etag = String(get.headers["etag"]);
    const again = expectContract(await request(app).get(`/api/v1/posts/${postId}`).set("If-None-Match", etag));
    expect(again.status).toBe(304);
    expect(again.text ?? "").toBe("");
    expect(again.headers["etag"]).toBe(etag);
  });
});

describe("query parameters", () => {
  it("400 naming each unknown query parameter, also on an operation that takes none", async () => {
    const me = expectContract(await request(app).get("/api/v1/me?x=1&debug=true").set("Authorization", authorToken));
    expect(expectProblem(me, 400, "/api/v1/me").errors).toEqual({ "query.x": "Unknown query parameter.", "query.debug": "Unknown query parameter." });
    const list = expectContract(await request(app).get("/api/v1/posts?bogus=1"));
    expect(expectProblem(list, 400, "/api/v1/posts").errors).toMatchObject({ "query.bogus": "Unknown field." });
  });

  it("400 for a repeated or malformed parameter, never a 500", async () => {
    for (const q of ["page=1&page=2", "page=abc", "page=0", "page=1e3", "page_size=-1", "page_size=100000", "ordering=password", "page[x]=1"]) {
      const res = expectContract(await request(app).get(`/api/v1/posts?${q}`));
      const p = expectProblem(res, 400, "/api/v1/posts");
      expect(
        Object.keys(p.errors).some((k) => k.startsWith("query.")),
        `${q}: ${JSON.stringify(p.errors)}`,
      ).toBe(true);
    }
  });
});

describe("caching headers", () => {
  it("anonymous reads: no-cache (revalidate with the ETag), varying by who asks", async () => {
    const res = expectContract(await request(app).get("/api/v1/posts").expect(200));
    expect(res.headers["cache-control"]).toBe("no-cache");
    expect(res.headers["vary"]).toMatch(/Authorization/);
    expect(res.headers["vary"]).toMatch(/Cookie/);
    expect(res.headers["etag"]).toMatch(/^(W\/)?"/);
    expect(res.headers["x-content-type-options"]).toBe("nosniff");
  });

  it("authenticated reads: private, never shared by a cache", async () => {
    for (const path of ["/api/v1/me", "/api/v1/posts", `/api/v1/posts/${postId}`]) {
      const res = expectContract(await request(app).get(path).set("Authorization", authorToken).expect(200));
      expect(res.headers["cache-control"]).toBe("private, no-cache");
      expect(res.headers["vary"]).toMatch(/Authorization/);
    }
  });

  it("problems are not stored; the document is public for five minutes", async () => {
    expectProblem(await request(app).get("/api/v1/me"), 401, "/api/v1/me");
    const doc = await request(app).get("/api/v1/openapi.json").expect(200);
    expect(doc.headers["cache-control"]).toBe("public, max-age=300");
    expect(doc.headers["content-type"]).toMatch(/^application\/json/);
    expect(doc.body.openapi).toBe("3.1.0");
  });
});

describe("hostile input never leaks internals", () => {
  it("odd paths, headers and bodies get 4xx problems without a stack trace or SQL", async () => {
    const answers: [request.Response, string][] = [
      [await request(app).get("/api/v1/posts/%E0%A4%A"), "/api/v1/posts/%E0%A4%A"],
      [await request(app).get("/api/v1/posts/1%00"), "/api/v1/posts/1%00"],
      [await request(app).get("/api/v1/posts?search=%00"), "/api/v1/posts"],
      [await request(app).get("/api/v1/posts?ordering=%27%3B%20DROP%20TABLE%20%22Post%22%3B--"), "/api/v1/posts"],
      [await request(app).get("/api/v1/me").set("Authorization", "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0."), "/api/v1/me"],
      [await request(app).get("/api/v1/me").set("Authorization", "Basic YWRtaW46YWRtaW4="), "/api/v1/me"],
      [
        await request(app)
          .post("/api/v1/posts")
          .set("Authorization", authorToken)
          .send({ title: { $gt: "" } }),
        "/api/v1/posts",
      ],
      [
        await request(app)
          .post("/api/v1/posts")
          .set("Authorization", authorToken)
          .send({ title: "x".repeat(100_000) }),
        "/api/v1/posts",
      ],
      [
        await request(app).post("/api/v1/posts").set("Authorization", authorToken).type("json").send('{"title":"ok","__proto__":{"admin":true}}'),
        "/api/v1/posts",
      ],
    ];
    for (const [res, path] of answers) {
      expect(res.status, `${path}: ${res.text.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
      expect(res.status, `${path}: ${res.text.slice(0, 200)}`).toBeLessThan(500);
      expectProblem(res, res.status, path);
    }
  });
});
