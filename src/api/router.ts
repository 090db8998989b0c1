// The API's request path, once for every declared operation (src/api/endpoint.ts):
//   the address's rate limit -> authentication (bearer access token, or Folio's session cookie with
//   CSRF on unsafe methods) -> the user's rate limit -> JSON body (415 for another type, 413 over API_BODY_LIMIT_BYTES)
//   -> path, query and body parsed by the operation's zod schemas (400 with per-field messages;
//      unknown query parameters and body fields refused) -> handle() -> JSON with an ETag (304 when
//      If-None-Match matches) -> any error as problem+json (src/api/problem.ts).
// Unknown paths under /api/ are 404 problems; a known path with another method is a 405 with Allow.
import express, { Router, type Request, type RequestHandler, type Response } from "express";
import etag from "etag";
import type { z } from "zod";
import { route } from "../web/urls.ts";
import { POST_BODY_MAX } from "../web/limits.ts";
import { API_PREFIX, expressPath, type Endpoint, type Frame, type Reply } from "./endpoint.ts";
import { ApiProblem, fieldErrors, problemFrom, problems, sendProblem } from "./problem.ts";
import { versionTagOfJson } from "./preconditions.ts";
import { apiAuthentication, viaOf } from "./auth.ts";
import { apiRateLimitByAddress, apiRateLimitByUser } from "./ratelimit.ts";
import { ENDPOINTS } from "./index.ts";
import { openApiDocument } from "./openapi.ts";
import { DOCS_PATH, docsPage } from "./docs.ts";

/**
 * JSON bodies up to this size. A post's body may hold POST_BODY_MAX characters; JSON escapes at most
 * 6 bytes per character (\uXXXX), plus the other fields: anything larger cannot be a valid request.
 */
export const API_BODY_LIMIT_BYTES = POST_BODY_MAX * 6 + 64 * 1024;

const jsonBody = express.json({ limit: API_BODY_LIMIT_BYTES, strict: true, type: () => true });

const hasBody = (req: Request) => req.headers["transfer-encoding"] !== undefined || Number(req.headers["content-length"] ?? 0) > 0;
const isJson = (req: Request) => /^application\/([a-z0-9.+-]+\+)?json\s*(;|$)/i.test(req.headers["content-type"] ?? "");

/** Parses the JSON body, if any: only application/json (or a +json type) is accepted (415 otherwise). */
const readBody: RequestHandler = (req, res, next) => {
  if (!hasBody(req)) {
    req.body = undefined;
    return next();
  }
  if (!isJson(req)) return next(new ApiProblem(415, "Send the request body as application/json."));
  jsonBody(req, res, next);
};

function parsePart<S extends z.ZodType | undefined>(schema: S, value: unknown, where: "path" | "query" | "body"): unknown {
  if (!schema) {
    if (where === "body" && value !== undefined) throw problems.badRequest("This operation takes no request body.", { body: "Send no body." });
    if (where === "query" && value && Object.keys(value).length) {
      const errors: Record<string, string> = {};
      for (const k of Object.keys(value)) errors[`query.${k}`] = "Unknown query parameter.";
      throw problems.badRequest("This operation takes no query parameters.", errors);
    }
    return undefined;
  }
  const r = schema.safeParse(where === "body" ? (value ?? {}) : value);
  if (r.success) return r.data;
  // a bad path parameter names nothing that exists: 404, as for pages (an id beyond int4, a malformed slug)
  if (where === "path") throw problems.notFound();
  throw problems.badRequest(
    where === "query" ? "The query has invalid parameters." : "The request has invalid fields.",
    fieldErrors(r.error, where === "query" ? "query." : ""),
  );
}

/** Does If-None-Match name this ETag (weak comparison, RFC 9110 13.1.2)? */
function matches(header: string | undefined, tag: string): boolean {
  if (!header) return false;
  if (header.trim() === "*") return true;
  const bare = tag.replace(/^W\//, "");
  return header.split(",").some((t) => t.trim().replace(/^W\//, "") === bare);
}

function send(req: Request, res: Response, e: Endpoint, reply: Reply): void {
  const status = reply.status ?? 200;
  for (const [k, v] of Object.entries(reply.headers ?? {})) res.setHeader(k, v);
  // Answers depend on who asks (a writer sees drafts): never shared between callers by a cache.
  res.setHeader("Vary", "Authorization, Cookie");
  if (!res.getHeader("Cache-Control")) res.setHeader("Cache-Control", req.user ? "private, no-cache" : "no-cache");
  const json = reply.body === undefined ? undefined : JSON.stringify(reply.body);
  const tag =
    reply.version !== undefined && json !== undefined
      ? `"${versionTagOfJson(reply.version, json)}"`
      : e.method === "get" && json !== undefined && status === 200
        ? etag(json, { weak: true })
        : undefined;
  if (tag) res.setHeader("ETag", tag);
  if ((req.method === "GET" || req.method === "HEAD") && status === 200 && tag && matches(req.headers["if-none-match"], tag)) {
    res.status(304).end();
    return;
  }
  if (json === undefined || status === 204) {
    res.status(status).end();
    return;
  }
  res.status(status).type("application/json").send(json);
}

function handlerFor(e: Endpoint): RequestHandler {
  return async (req, res) => {
    if (e.auth === "user" && !req.user) throw problems.unauthenticated();
    const frame: Frame<unknown, unknown, unknown> = {
      req,
      res,
      user: req.user ?? null,
      via: viaOf(req),
      params: parsePart(e.params, req.params, "path"),
      query: parsePart(e.query, req.query, "query"),
      body: parsePart(e.body, req.body, "body"),
    };
    send(req, res, e, await e.handle(frame as never));
  };
}

export function buildApiRouter(): Router {
  const r = Router({ strict: false });
  r.use(apiRateLimitByAddress); // before authentication: over the address's limit, a 429 without reading the database
  r.use(apiAuthentication);
  r.use(apiRateLimitByUser); // the user is known now (failed authentications counted too)
  r.use(readBody);

  r.get(route("api:openapi", `${API_PREFIX}/openapi.json`), (_req, res) => {
    res.setHeader("Cache-Control", "public, max-age=300");
    res.type("application/json").send(openApiDocument().json);
  });
  r.get(DOCS_PATH, docsPage); // the readable reference (src/api/docs.ts)

  const byPath = new Map<string, Set<string>>();
  for (const e of ENDPOINTS) {
    const path = route(`api:${e.operationId}`, expressPath(API_PREFIX + e.path), e.method);
    r[e.method](path, handlerFor(e));
    const methods = byPath.get(path) ?? new Set<string>();
    methods.add(e.method.toUpperCase());
    if (e.method === "get") methods.add("HEAD");
    byPath.set(path, methods);
  }
  for (const [path, methods] of byPath) {
    const allow = [...methods].join(", ");
    r.all(path, (req, res) => {
      if (req.method === "OPTIONS") {
        res.setHeader("Allow", `${allow}, OPTIONS`);
        return res.status(204).end();
      }
      sendProblem(req, res, new ApiProblem(405, `${req.method} is not allowed here; use ${allow}.`, {}, { Allow: allow }));
    });
  }
  r.use((req, res) => sendProblem(req, res, problems.notFound(`No API endpoint at ${req.path}. The operations are listed at ${API_PREFIX}/openapi.json.`)));
  r.use(((err, req, res, _next) => {
    const p = problemFrom(err);
    if (p.status >= 500 && p.status !== 503) res.err = err instanceof Error ? err : new Error(String(err)); // the access log writes it once
    if (res.headersSent) return res.end();
    sendProblem(req, res, p);
  }) as express.ErrorRequestHandler);
  return r;
}
