// Every API error is an RFC 9457 problem document (application/problem+json):
//   { "type": "https://folio.dev/problems/validation", "title": "Invalid request", "status": 400,
//     "detail": "...", "instance": "/api/v1/posts/7", "errors": { "title": "Enter a title." } }
// `errors` maps a field (dotted path: "tags.2", "query.page") to its message; empty when not about fields.
// Handlers throw ApiProblem (or the domain errors mapped in problemFrom); nothing else writes an error body.
import type { Request, Response } from "express";
import { z } from "zod";
import { HttpError, RETRY_AFTER_SECONDS } from "../web/errors.ts";
import { isDatabaseUnavailable } from "../db/client.ts";
import { ConflictError, PostNotFoundError, PostPermissionError, ReferenceGoneError, SlugTakenError } from "../posts/service.ts";
import { AltTextMissingError } from "../media/alt-check.ts";

export const PROBLEM_TYPE = "application/problem+json";

/** Problem type URIs: stable identifiers of the kind of problem (documented in the OpenAPI description). */
const TYPE_BASE = "https://folio.dev/problems/";
const TITLES: Record<number, [type: string, title: string]> = {
  400: ["validation", "Invalid request"],
  401: ["unauthenticated", "Authentication required"],
  403: ["forbidden", "Forbidden"],
  404: ["not-found", "Not found"],
  405: ["method-not-allowed", "Method not allowed"],
  406: ["not-acceptable", "Not acceptable"],
  409: ["conflict", "Conflict"],
  412: ["precondition-failed", "Precondition failed"],
  413: ["too-large", "Request too large"],
  415: ["unsupported-media-type", "Unsupported media type"],
  428: ["precondition-required", "Precondition required"],
  429: ["rate-limited", "Too many requests"],
  500: ["server-error", "Server error"],
  503: ["unavailable", "Service unavailable"],
};

/** The problem document, as the OpenAPI document states it (components.schemas.Problem). */
export const Problem = z
  .object({
    type: z.string().meta({ description: "A URI naming the kind of problem." }),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string().optional(),
    errors: z.record(z.string(), z.string()).meta({ description: "Per-field messages: field name (dotted path) to message." }),
    /** 412: the resource as stored now (its version), so a client can merge and retry. */
    current: z.unknown().optional(),
  })
  .meta({ id: "Problem", description: "An RFC 9457 problem document." });
export type ProblemBody = z.infer<typeof Problem>;

export class ApiProblem extends Error {
  constructor(
    readonly status: number,
    detail: string,
    readonly errors: Record<string, string> = {},
    readonly headers: Record<string, string> = {},
    readonly extra: Partial<ProblemBody> = {},
  ) {
    super(detail);
  }
}

export const problems = {
  badRequest: (detail: string, errors: Record<string, string> = {}) => new ApiProblem(400, detail, errors),
  unauthenticated: (detail = "Send a valid access token (Authorization: Bearer ...) or a session cookie.", error?: "invalid_token") =>
    new ApiProblem(401, detail, {}, { "WWW-Authenticate": `Bearer realm="folio"${error ? `, error="${error}"` : ""}` }),
  forbidden: (detail = "You do not have permission to do that.", errors: Record<string, string> = {}) => new ApiProblem(403, detail, errors),
  notFound: (detail = "Not found.") => new ApiProblem(404, detail),
};

/** A zod error as per-field messages: the first message for each path ("body.title" -> "title"). */
export function fieldErrors(error: z.ZodError, prefix = ""): Record<string, string> {
  const out: Record<string, string> = {};
  for (const issue of error.issues) {
    let key = issue.path.map(String).join(".");
    if (issue.code === "unrecognized_keys") {
      for (const k of issue.keys) out[prefix + (key ? `${key}.${k}` : k)] ??= "Unknown field.";
      continue;
    }
    key = prefix + key || prefix.replace(/\.$/, "") || "_";
    out[key] ??= issue.message;
  }
  return out;
}

const API_FIELD: Record<ReferenceGoneError["field"], string> = { featuredImageId: "featuredImageId", body: "body", categoryId: "category", authorId: "author" };

/** What an error thrown while answering an API request becomes. Unknown errors are 500s (logged). */
export function problemFrom(err: unknown): ApiProblem {
  if (err instanceof ApiProblem) return err;
  if (err instanceof z.ZodError) return problems.badRequest("The request has invalid fields.", fieldErrors(err));
  if (err instanceof PostPermissionError) return problems.forbidden(err.message, err.field ? { [err.field]: err.message } : {});
  if (err instanceof PostNotFoundError) return problems.notFound("No such post.");
  if (err instanceof SlugTakenError) return problems.badRequest(err.message, { slug: err.message });
  if (err instanceof AltTextMissingError) return problems.badRequest(err.message, err.fields);
  if (err instanceof ConflictError) return new ApiProblem(409, err.message);
  // deleted meanwhile: the API's names of the fields (an image in the body, the category, the author)
  if (err instanceof ReferenceGoneError) return new ApiProblem(409, err.message, { [API_FIELD[err.field]]: err.message });
  if (err instanceof HttpError) return new ApiProblem(err.status, err.message, err.fields);
  const e = err as { status?: unknown; type?: unknown; expose?: unknown; message?: unknown; code?: unknown };
  if (e?.code === "EBADCSRFTOKEN")
    return problems.forbidden("CSRF verification failed: a request signed in by the session cookie must send the session's token in X-CSRF-Token.");
  if (e?.type === "entity.too.large") return new ApiProblem(413, "The request body is larger than this API accepts.");
  if (e?.type === "entity.parse.failed") return problems.badRequest("The request body is not valid JSON.");
  if (e?.type === "encoding.unsupported" || e?.type === "charset.unsupported") return new ApiProblem(415, "Send the body as UTF-8 JSON.");
  if (typeof e?.status === "number" && e.status >= 400 && e.status < 500)
    return new ApiProblem(e.status, e.expose && typeof e.message === "string" ? e.message : (TITLES[e.status]?.[1] ?? "Bad request"));
  if (err instanceof URIError) return problems.badRequest("Malformed URL.");
  if (isDatabaseUnavailable(err))
    return new ApiProblem(503, "The service is briefly unavailable. Please try again in a few seconds.", {}, { "Retry-After": String(RETRY_AFTER_SECONDS) });
  return new ApiProblem(500, "Something went wrong on our side. It has been logged; please try again later.");
}

/** Writes `p` as the response (problem+json), with its headers. */
export function sendProblem(req: Request, res: Response, p: ApiProblem): void {
  const [type, title] = TITLES[p.status] ?? ["error", "Error"];
  const body: ProblemBody = {
    type: TYPE_BASE + type,
    title,
    status: p.status,
    detail: p.message,
    instance: req.originalUrl.split("?")[0],
    errors: p.errors,
    ...p.extra,
  };
  for (const [k, v] of Object.entries(p.headers)) res.setHeader(k, v);
  res.setHeader("Cache-Control", "no-store");
  res.status(p.status).type(PROBLEM_TYPE).send(JSON.stringify(body));
}
