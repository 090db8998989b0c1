// The API's OpenAPI document as the tests read it: built in-process from the operations' declarations
// (src/api/openapi.ts, no database needed), as plain JSON (exactly what GET /api/v1/openapi.json
// serves), and its operations listed, so every helper here covers an operation the day it is declared.
import type { Router } from "express";
import { openApiDocument } from "../../../src/api/openapi.ts";
import { buildApiRouter } from "../../../src/api/router.ts";

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonSchema = { [k: string]: Json };

export interface ParameterObject {
  name: string;
  in: "path" | "query" | "header" | "cookie";
  required?: boolean;
  schema?: JsonSchema;
}

export interface MediaObject {
  schema?: JsonSchema;
}

export interface ResponseObject {
  description: string;
  content?: Record<string, MediaObject>;
  headers?: Record<string, unknown>;
}

export interface OperationObject {
  operationId?: string;
  summary?: string;
  description?: string;
  tags?: string[];
  security?: Record<string, string[]>[];
  parameters?: ParameterObject[];
  requestBody?: { required?: boolean; content: Record<string, MediaObject> };
  responses?: Record<string, ResponseObject>;
}

export interface OpenApiDoc {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, OperationObject>>;
  components?: { schemas?: Record<string, JsonSchema>; securitySchemes?: Record<string, unknown> };
}

export const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"] as const;
export type HttpMethod = (typeof METHODS)[number];

/** One operation of the document, with where it lives. */
export interface Operation {
  operationId: string;
  method: HttpMethod;
  /** The document's path template, with the /api/v1 prefix: "/api/v1/posts/{id}". */
  path: string;
  op: OperationObject;
}

/** The document as served (a fresh parse: callers may not change the cached one). */
export function apiDocument(): OpenApiDoc {
  return JSON.parse(openApiDocument().json) as OpenApiDoc;
}

/** Every operation in the document, in its order. */
export function operations(doc: OpenApiDoc = apiDocument()): Operation[] {
  const out: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      const op = item[method];
      if (op) out.push({ operationId: op.operationId ?? `${method} ${path}`, method, path, op });
    }
  }
  return out;
}

/** A path template as a regular expression over a request path (Express is not strict: a trailing slash matches). */
export function templateRegExp(template: string): RegExp {
  const parts = template.split(/\{[^}]+\}/).map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  return new RegExp(`^${parts.join("([^/]+)")}/?$`);
}

/** The path templates a request path matches, literal ones first ("/posts/by-date/..." before "/posts/{id}"). */
export function templatesFor(doc: OpenApiDoc, path: string): string[] {
  return Object.keys(doc.paths)
    .filter((t) => templateRegExp(t).test(path))
    .sort((a, b) => (a.match(/\{/g)?.length ?? 0) - (b.match(/\{/g)?.length ?? 0));
}

/** The routes the API router serves, as "GET /api/v1/posts/:id" (Express paths; its 405/OPTIONS catch-alls left out). */
export function servedRoutes(): Set<string> {
  const served = new Set<string>();
  const stack = (buildApiRouter() as Router & { stack: { route?: { path: string; methods: Record<string, boolean> } }[] }).stack;
  for (const layer of stack) {
    if (!layer.route) continue;
    for (const [m, on] of Object.entries(layer.route.methods)) if (on && m !== "_all") served.add(`${m.toUpperCase()} ${layer.route.path}`);
  }
  return served;
}

/** An operation's path as Express routes it ("/api/v1/posts/{id}" -> "/api/v1/posts/:id"). */
export const expressRoute = (o: Operation): string => `${o.method.toUpperCase()} ${o.path.replace(/\{([A-Za-z0-9_]+)\}/g, ":$1")}`;

/** Routes the API router serves that are not operations of the document (the document itself, its documentation page). */
export function servedNonOperations(doc: OpenApiDoc = apiDocument()): string[] {
  const documented = new Set(operations(doc).map(expressRoute));
  return [...servedRoutes()].filter((r) => !documented.has(r)).sort();
}
