// The OpenAPI contract: the document is valid OpenAPI 3.1 (checked by a third-party validator, Redocly's,
// and every schema compiled by ajv's JSON Schema 2020-12 in strict mode), it says what every operation is,
// it lists exactly the routes Express serves under /api/v1, the committed generated types are the
// document's, and a journey through the generated client (openapi-fetch over openapi-typescript's types)
// works, every response checked against the document (tests/api/support/client.ts).
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import request from "supertest";
import { createConfig, lintFromString } from "@redocly/openapi-core";
import { buildApp } from "../../src/app.ts";
import { API_PREFIX } from "../../src/api/endpoint.ts";
import { createUser, makeCategory, makeTag } from "../support/fixtures.ts";
import { startApi, type Api } from "./support/client.ts";
import { contract, expectContract } from "./support/contract.ts";
import { apiDocument, expressRoute, operations, servedRoutes, type JsonSchema } from "./support/document.ts";
import { generateTypes, TYPES_FILE } from "./support/types.ts";

const doc = apiDocument();
const ops = operations(doc);

/** Routes the API router serves that are not operations: the document itself and its documentation page. */
const NOT_OPERATIONS = new Set([`GET ${API_PREFIX}/openapi.json`, `GET ${API_PREFIX}/docs`, `GET ${API_PREFIX}/docs/`]);

describe("the OpenAPI document", () => {
  it("is the document's generated types, as committed (tests/api/openapi.d.ts)", async () => {
    const expected = await generateTypes();
    expect(readFileSync(TYPES_FILE, "utf8") === expected, "tests/api/openapi.d.ts is not the document's types: run npm run api:types and commit it").toBe(true);
  });

  it("is valid OpenAPI 3.1 for Redocly's validator (structure, refs, path parameters, unique operationIds)", async () => {
    expect(doc.openapi).toBe("3.1.0");
    const config = await createConfig({
      extends: ["minimal"],
      rules: {
        struct: "error",
        "no-unresolved-refs": "error",
        "operation-operationId-unique": "error",
        "operation-operationId": "error",
        "operation-summary": "error",
        "operation-2xx-response": "error",
        "operation-4xx-response": "error",
        "path-parameters-defined": "error",
        "path-declaration-must-exist": "error",
        "security-defined": "error",
        "no-invalid-media-type-examples": "error",
        "no-invalid-schema-examples": "error",
        "no-server-example.com": "off", // the server is SITE_URL, localhost in development
      },
    });
    const problems = await lintFromString({ source: JSON.stringify(doc), absoluteRef: "openapi.json", config });
    expect(problems.map((p) => `${p.severity} ${p.ruleId}: ${p.message} at ${p.location[0]?.pointer ?? "?"}`)).toEqual([]);
  });

  it("has schemas that all compile with ajv (JSON Schema 2020-12, strict)", () => {
    const c = contract();
    const schemas: [string, JsonSchema][] = Object.entries(doc.components?.schemas ?? {}).map(([name, s]) => [`components.schemas.${name}`, s]);
    for (const o of ops) {
      for (const p of o.op.parameters ?? []) if (p.schema) schemas.push([`${o.operationId} parameter ${p.name}`, p.schema]);
      for (const [type, m] of Object.entries(o.op.requestBody?.content ?? {})) if (m.schema) schemas.push([`${o.operationId} body ${type}`, m.schema]);
      for (const [status, r] of Object.entries(o.op.responses ?? {}))
        for (const [type, m] of Object.entries(r.content ?? {})) if (m.schema) schemas.push([`${o.operationId} ${status} ${type}`, m.schema]);
    }
    const failed: string[] = [];
    for (const [where, s] of schemas) {
      try {
        c.validator(s);
      } catch (e) {
        failed.push(`${where}: ${(e as Error).message}`);
      }
    }
    expect(failed).toEqual([]);
    expect(schemas.length).toBeGreaterThan(ops.length);
  });

  it("describes every operation: a camelCase operationId, a summary, tags, a 2xx response, problem+json errors", () => {
    expect(ops.length).toBeGreaterThan(0);
    const bad: string[] = [];
    for (const o of ops) {
      const where = `${o.method.toUpperCase()} ${o.path}`;
      if (!o.op.operationId || !/^[a-z][A-Za-z0-9]*$/.test(o.op.operationId)) bad.push(`${where}: operationId ${o.op.operationId}`);
      if (!o.op.summary?.trim()) bad.push(`${where}: no summary`);
      if (!o.op.tags?.length) bad.push(`${where}: no tags`);
      if (!o.path.startsWith(`${API_PREFIX}/`)) bad.push(`${where}: not under ${API_PREFIX}`);
      const responses = Object.entries(o.op.responses ?? {});
      if (!responses.some(([s]) => /^2\d\d$/.test(s))) bad.push(`${where}: no 2xx response`);
      for (const [s, r] of responses) {
        if (!r.description?.trim()) bad.push(`${where} ${s}: no description`);
        const types = Object.keys(r.content ?? {});
        if (Number(s) >= 400 && !(types.length === 1 && types[0] === "application/problem+json")) bad.push(`${where} ${s}: errors are problem+json only`);
        if (Number(s) < 400 && types.some((t) => t !== "application/json")) bad.push(`${where} ${s}: ${types.join(", ")}`);
      }
      for (const s of ["401", "429", "503"]) if (!o.op.responses?.[s]) bad.push(`${where}: ${s} not documented`);
      for (const name of o.path.match(/\{[^}]+\}/g) ?? []) {
        const p = o.op.parameters?.find((x) => x.in === "path" && `{${x.name}}` === name);
        if (!p?.required) bad.push(`${where}: path parameter ${name} not declared as required`);
      }
    }
    expect(bad).toEqual([]);
  });

  it("lists exactly the operations the API router serves, and the server serves this document", async () => {
    const served = servedRoutes();
    const documented = new Set(ops.map(expressRoute));
    expect([...served].filter((r) => !documented.has(r) && !NOT_OPERATIONS.has(r)).sort(), "served but not documented").toEqual([]);
    expect([...documented].filter((r) => !served.has(r)).sort(), "documented but not served").toEqual([]);

    const res = await request(buildApp()).get(`${API_PREFIX}/openapi.json`).expect(200);
    expect(res.headers["content-type"]).toMatch(/^application\/json/);
    expect(res.body).toEqual(doc);
  });
});

describe("a journey through the generated client", () => {
  let api: Api;
  beforeAll(async () => {
    api = await startApi();
  });
  afterAll(async () => {
    await api?.close();
  });

  it("an author logs in, lists, creates, edits with If-Match, publishes, restores a revision, refreshes and deletes; a reader favorites", async () => {
    const { user: author, password } = await createUser({ role: "AUTHOR" });
    const { user: reader } = await createUser({ role: "READER", firstName: "Rea", lastName: "Der" });
    const category = await makeCategory("Journeys");
    await makeTag("Typed");

    // log in: a token pair, and the access token works as is
    const login = await api.anonymous.POST("/api/v1/auth/token", { body: { username: author.username, password } });
    expect(login.response.status).toBe(200);
    const tokens = login.data!;
    expect(tokens.tokenType).toBe("Bearer");
    const me = await api.withToken(tokens.access).GET("/api/v1/me");
    expect(me.data).toMatchObject({ id: author.id, role: "AUTHOR" });
    const verified = await api.anonymous.POST("/api/v1/auth/verify", { body: { token: tokens.access } });
    expect(verified.data).toMatchObject({ valid: true, tokenType: "access" });
    const client = api.withToken(tokens.access);

    // list (published only, for everyone), then create a draft
    const before = await api.anonymous.GET("/api/v1/posts", { params: { query: { page_size: "5" } } });
    expect(before.response.status).toBe(200);
    const created = await client.POST("/api/v1/posts", {
      body: { title: "Typed journey", body: "Written through **openapi-fetch**.", status: "draft", category: category.slug, tags: ["Typed"] },
    });
    expect(created.response.status).toBe(201);
    const post = created.data!;
    expect(post).toMatchObject({ title: "Typed journey", status: "draft", category: { slug: category.slug }, tags: [{ name: "Typed" }] });
    expect(created.response.headers.get("location")).toMatch(new RegExp(`/api/v1/posts/${post.id}$`));
    const id = String(post.id);
    expect((await api.anonymous.GET("/api/v1/posts/{id}", { params: { path: { id } } })).response.status).toBe(404);

    // read it with its ETag; PATCH needs If-Match: missing 428, stale 412 (with the current post), current 200
    const read = await client.GET("/api/v1/posts/{id}", { params: { path: { id } } });
    const etag = read.response.headers.get("etag")!;
    expect(etag).toMatch(new RegExp(`^"${post.version}(-[^"]+)?"$`)); // strong, led by the version
    const missing = await client.PATCH("/api/v1/posts/{id}", { params: { path: { id } }, body: { title: "No If-Match" } });
    expect(missing.response.status).toBe(428);
    const edited = await client.PATCH("/api/v1/posts/{id}", {
      params: { path: { id } },
      headers: { "If-Match": etag },
      body: { title: "Typed journey, edited" },
    });
    expect(edited.response.status).toBe(200);
    expect(edited.data).toMatchObject({ title: "Typed journey, edited", version: post.version! + 1 });
    const stale = await client.PATCH("/api/v1/posts/{id}", { params: { path: { id } }, headers: { "If-Match": etag }, body: { title: "Stale" } });
    expect(stale.response.status).toBe(412);
    expect(stale.error?.current).toMatchObject({ id: post.id, version: post.version! + 1 });

    // publish; a conditional GET of the published post answers 304
    const published = await client.PATCH("/api/v1/posts/{id}", {
      params: { path: { id } },
      headers: { "If-Match": edited.response.headers.get("etag")! },
      body: { status: "published" },
    });
    expect(published.data).toMatchObject({ status: "published", scheduled: false });
    const publicRead = await api.anonymous.GET("/api/v1/posts/{id}", { params: { path: { id } } });
    expect(publicRead.data?.title).toBe("Typed journey, edited");
    const conditional = await api.anonymous.GET("/api/v1/posts/{id}", {
      params: { path: { id } },
      headers: { "If-None-Match": publicRead.response.headers.get("etag")! },
    });
    expect(conditional.response.status).toBe(304);
    const day = new Date(publicRead.data!.publish!);
    const byDate = await api.anonymous.GET("/api/v1/posts/{year}/{month}/{day}/{slug}", {
      params: {
        path: {
          year: String(day.getUTCFullYear()),
          month: String(day.getUTCMonth() + 1).padStart(2, "0"),
          day: String(day.getUTCDate()).padStart(2, "0"),
          slug: publicRead.data!.slug!,
        },
      },
    });
    expect(byDate.data?.id).toBe(post.id);

    // a reader favorites it, sees it in their favorites, and cannot change it
    const asReader = api.as(reader);
    expect((await asReader.GET("/api/v1/me")).data).toMatchObject({ id: reader.id, firstName: "Rea" });
    expect((await asReader.POST("/api/v1/posts/{id}/favorite", { params: { path: { id } } })).data).toEqual({ favorited: true, favorites: 1 });
    const favorites = await asReader.GET("/api/v1/me/favorites", { params: { query: { page_size: "10" } } });
    expect(favorites.data?.results.map((p) => p.id)).toEqual([post.id]);
    const refused = await asReader.DELETE("/api/v1/posts/{id}", { params: { path: { id } } });
    expect(refused.response.status).toBe(403);
    expect((await asReader.DELETE("/api/v1/posts/{id}/favorite", { params: { path: { id } } })).data).toEqual({ favorited: false, favorites: 0 });

    // categories and tags, as anyone sees them
    const categories = await api.anonymous.GET("/api/v1/categories");
    expect(categories.data?.results.find((c) => c.slug === category.slug)?.posts).toBe(1);
    expect((await api.anonymous.GET("/api/v1/tags/{slug}", { params: { path: { slug: "typed" } } })).data).toMatchObject({ name: "Typed", posts: 1 });

    // revisions: the first one restored puts its title and status back (a draft again: a new version)
    const revisions = await client.GET("/api/v1/posts/{id}/revisions", { params: { path: { id } } });
    const first = revisions.data!.results.find((r) => r.title === "Typed journey")!;
    expect(first).toBeDefined();
    const restored = await client.POST("/api/v1/posts/{id}/revisions/{revisionId}/restore", { params: { path: { id, revisionId: String(first.id) } } });
    expect(restored.response.status).toBe(200);
    expect((await client.GET("/api/v1/posts/{id}", { params: { path: { id } } })).data).toMatchObject({ title: "Typed journey", status: "draft" });
    expect((await api.anonymous.GET("/api/v1/posts/{id}", { params: { path: { id } } })).response.status).toBe(404);

    // refresh rotates the pair; the old refresh token is spent; revoke ends the new one
    const refreshed = await api.anonymous.POST("/api/v1/auth/refresh", { body: { refresh: tokens.refresh } });
    expect(refreshed.response.status).toBe(200);
    const reused = await api.anonymous.POST("/api/v1/auth/refresh", { body: { refresh: tokens.refresh } });
    expect(reused.response.status).toBe(401);

    // delete: 204, then 404
    const deleted = await api.withToken(refreshed.data!.access).DELETE("/api/v1/posts/{id}", { params: { path: { id } } });
    expect(deleted.response.status).toBe(204);
    expect((await client.GET("/api/v1/posts/{id}", { params: { path: { id } } })).response.status).toBe(404);
    const revoked = await api.anonymous.POST("/api/v1/auth/revoke", { body: { refresh: refreshed.data!.refresh } });
    expect(revoked.response.status).toBe(204);
    expect(api.validated).toBeGreaterThanOrEqual(30);
  });

  it("anonymous callers are refused with 401 problems, unknown ids with 404", async () => {
    const anonymous = await api.anonymous.GET("/api/v1/me");
    expect(anonymous.response.status).toBe(401);
    expect(anonymous.error).toMatchObject({ status: 401 });
    const { user } = await createUser({ role: "READER" });
    const missing = await api.as(user).POST("/api/v1/posts/{id}/favorite", { params: { path: { id: "2147483648" } } });
    expect(missing.response.status).toBe(404);
  });

  it("the contract check refuses what breaks the document", () => {
    const c = contract();
    // an undocumented status, a wrong content type, a body missing a field, an unknown path that is not a 404
    expect(c.errors({ method: "GET", path: "/api/v1/me", status: 418, contentType: "application/json", body: "{}" })[0]).toMatch(/not documented/);
    expect(c.errors({ method: "GET", path: "/api/v1/me", status: 401, contentType: "application/json", body: "{}" })[0]).toMatch(/content type/);
    expect(c.errors({ method: "GET", path: "/api/v1/me", status: 200, contentType: "application/json", body: '{"id":1}' }).join()).toMatch(/required/);
    expect(c.errors({ method: "GET", path: "/api/v1/nowhere", status: 200, contentType: "application/json", body: "{}" })[0]).toMatch(/expected a 404/);
    expect(c.errors({ method: "GET", path: "/api/v1/me", status: 304, contentType: null, body: "" })).toEqual([]);
    const problem = { type: "https://folio.dev/problems/not-found", title: "Not found", status: 404, detail: "x", errors: {} };
    expect(c.errors({ method: "GET", path: "/api/v1/me", status: 401, contentType: "application/problem+json", body: JSON.stringify(problem) })[0]).toMatch(
      /status 404 is not the response's 401/,
    );
  });

  it("expectContract checks a supertest response", async () => {
    const app = buildApp();
    expectContract(await request(app).get("/api/v1/me"));
    expectContract(await request(app).get("/api/v1/no-such-thing"));
    expectContract(await request(app).put("/api/v1/me"));
    expectContract(await request(app).get("/api/v1/me").set("Authorization", "Bearer nonsense"), "getMe");
  });
});
