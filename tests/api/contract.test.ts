// The OpenAPI contract: the document is valid OpenAPI 3.1 (checked by a third-party validator, Redocly's,
// and every schema compiled by ajv's JSON Schema 2020-12 in strict mode), it says what every operation is,
// it lists exactly the routes Express serves under /api/v1, the committed generated types are the
// document's, and a journey through the generated client (openapi-fetch over openapi-typescript's types)
// works, every response checked against the document (tests/api/support/client.ts).
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import request from "supertest";
import type { Router } from "express";
import { createConfig, lintFromString } from "@redocly/openapi-core";
import { buildApp } from "../../src/app.ts";
import { buildApiRouter } from "../../src/api/router.ts";
import { API_PREFIX } from "../../src/api/endpoint.ts";
import { createUser, makePost } from "../support/fixtures.ts";
import { startApi, type Api } from "./support/client.ts";
import { contract, expectContract } from "./support/contract.ts";
import { apiDocument, operations, type JsonSchema } from "./support/document.ts";
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
    const served = new Set<string>();
    const stack = (buildApiRouter() as Router & { stack: { route?: { path: string; methods: Record<string, boolean> } }[] }).stack;
    for (const layer of stack) {
      if (!layer.route) continue;
      for (const [m, on] of Object.entries(layer.route.methods)) if (on && m !== "_all") served.add(`${m.toUpperCase()} ${layer.route.path}`);
    }
    const documented = new Set(ops.map((o) => `${o.method.toUpperCase()} ${o.path.replace(/\{([A-Za-z0-9_]+)\}/g, ":$1")}`));
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

  it("a reader reads their account and favorites a post, every response as documented", async () => {
    const { user: author } = await createUser({ role: "AUTHOR" });
    const post = await makePost({ authorId: author.id, title: "Favorited through the client" });
    const { user } = await createUser({ role: "READER", firstName: "Rea", lastName: "Der" });
    const reader = api.as(user);

    const me = await reader.GET("/api/v1/me");
    expect(me.response.status).toBe(200);
    expect(me.data).toMatchObject({ id: user.id, username: user.username, role: "READER", firstName: "Rea" });

    const anonymous = await api.anonymous.GET("/api/v1/me");
    expect(anonymous.response.status).toBe(401);
    expect(anonymous.error).toMatchObject({ status: 401 });

    const fav = await reader.POST("/api/v1/posts/{id}/favorite", { params: { path: { id: String(post.id) } } });
    expect(fav.data).toEqual({ favorited: true, favorites: 1 });
    const again = await reader.POST("/api/v1/posts/{id}/favorite", { params: { path: { id: String(post.id) } } });
    expect(again.data).toEqual({ favorited: true, favorites: 1 });

    const list = await reader.GET("/api/v1/me/favorites", { params: { query: { pageSize: "10" } } });
    expect(list.data?.count).toBe(1);
    expect(list.data?.results.map((p) => p.id)).toEqual([post.id]);
    expect(list.data?.results[0]?.title).toBe("Favorited through the client");

    const off = await reader.DELETE("/api/v1/posts/{id}/favorite", { params: { path: { id: String(post.id) } } });
    expect(off.data).toEqual({ favorited: false, favorites: 0 });
    const missing = await reader.POST("/api/v1/posts/{id}/favorite", { params: { path: { id: "2147483648" } } });
    expect(missing.response.status).toBe(404);
    expect(api.validated).toBeGreaterThanOrEqual(7);
  });

  it("the contract check refuses what breaks the document", () => {
    const c = contract();
    // an undocumented status, a wrong content type, a body missing a field, an unknown path that is not a 404
    expect(c.errors({ method: "GET", path: "/api/v1/me", status: 418, contentType: "application/json", body: "{}" })[0]).toMatch(/not documented/);
    expect(c.errors({ method: "GET", path: "/api/v1/me", status: 401, contentType: "application/json", body: "{}" })[0]).toMatch(/content type/);
    expect(c.errors({ method: "GET", path: "/api/v1/me", status: 200, contentType: "application/json", body: '{"id":1}' }).join()).toMatch(/required/);
    expect(c.errors({ method: "GET", path: "/api/v1/nowhere", status: 200, contentType: "application/json", body: "{}" })[0]).toMatch(/expected a 404/);
    expect(c.errors({ method: "GET", path: "/api/v1/me", status: 304, contentType: null, body: "" })).toEqual([]);
  });

  it("expectContract checks a supertest response", async () => {
    const app = buildApp();
    expectContract(await request(app).get("/api/v1/me"));
    expectContract(await request(app).get("/api/v1/no-such-thing"));
    expectContract(await request(app).put("/api/v1/me"));
    expectContract(await request(app).get("/api/v1/me").set("Authorization", "Bearer nonsense"), "getMe");
  });
});
