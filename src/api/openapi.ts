// The OpenAPI 3.1 document, generated (zod-openapi over zod 4's JSON Schema) from the operations'
// declarations (src/api/endpoint.ts): the same zod schemas that validate requests describe them here.
// Built once per process, on first request.
import "zod-openapi"; // the .meta() keys zod-openapi reads (id, param...)
import { createDocument, type ZodOpenApiOperationObject, type ZodOpenApiPathsObject, type ZodOpenApiResponsesObject } from "zod-openapi";
import { config } from "../config.ts";
import { API_PREFIX, type Endpoint } from "./endpoint.ts";
import { ENDPOINTS } from "./index.ts";
import { Problem } from "./problem.ts";

/** Problem statuses every operation may answer, and why. */
const COMMON_ERRORS: Record<number, string> = {
  429: "Too many requests: see the RateLimit and Retry-After headers.",
  503: "The database is briefly unavailable (Retry-After).",
};
const ERROR_TEXT: Record<number, string> = {
  400: "Invalid parameters or body: `errors` names each field.",
  401: "No valid access token or session (WWW-Authenticate).",
  403: "Signed in, but the declared rule does not allow this (per-field messages when a field is refused).",
  404: "No such resource (or not visible to the caller).",
  405: "Method not allowed (Allow).",
  409: "Conflict with the stored state.",
  412: "If-Match names an older version: `current` holds the stored resource.",
  413: "Body too large.",
  415: "The body is not application/json.",
  428: "If-Match is required.",
};

const problemResponse = (description: string) => ({ description, content: { "application/problem+json": { schema: Problem } } });

function operation(e: Endpoint): ZodOpenApiOperationObject {
  const responses: ZodOpenApiResponsesObject = {};
  for (const [status, spec] of Object.entries(e.responses)) {
    responses[status as `${1 | 2 | 3 | 4 | 5}${string}`] = {
      description: spec.description,
      ...(spec.schema ? { content: { "application/json": { schema: spec.schema } } } : {}),
      ...(spec.headers
        ? { headers: Object.fromEntries(Object.entries(spec.headers).map(([h, d]) => [h, { description: d, schema: { type: "string" } }])) }
        : {}),
    };
  }
  if (e.method === "get") responses["304"] = { description: "Not modified (If-None-Match matched the ETag)." };
  const errors = new Set<number>([...(e.errors ?? [])]);
  errors.add(400); // every operation: an unknown query parameter, or a body where none is taken (src/api/router.ts parsePart)
  errors.add(401); // a bad bearer token is refused on every operation
  if (e.params) errors.add(404);
  if (e.method !== "get") errors.add(403); // a signed-in session's unsafe request without its CSRF token (src/api/auth.ts)
  [413, 415].forEach((s) => errors.add(s)); // every operation: a body is read (and its type and size checked) before routing (router.ts readBody)
  for (const s of [...errors].sort()) responses[String(s) as `4${string}`] = problemResponse(ERROR_TEXT[s] ?? "Error.");
  for (const [s, text] of Object.entries(COMMON_ERRORS)) responses[s as `4${string}`] = problemResponse(text);
  return {
    operationId: e.operationId,
    summary: e.summary,
    ...(e.description ? { description: e.description } : {}),
    tags: e.tags,
    security: e.auth === "user" ? [{ bearerAuth: [] }, { sessionCookie: [] }] : [{}, { bearerAuth: [] }, { sessionCookie: [] }],
    ...(e.params || e.query ? { requestParams: { ...(e.params ? { path: e.params as never } : {}), ...(e.query ? { query: e.query as never } : {}) } } : {}),
    ...(e.body ? { requestBody: { required: true, content: { "application/json": { schema: e.body } } } } : {}),
    responses,
  };
}

let built: { doc: ReturnType<typeof createDocument>; json: string } | undefined;

export function openApiDocument(): { doc: ReturnType<typeof createDocument>; json: string } {
  if (built) return built;
  const paths: ZodOpenApiPathsObject = {};
  for (const e of ENDPOINTS) {
    const path = (API_PREFIX + e.path) as `/${string}`;
    paths[path] = { ...paths[path], [e.method]: operation(e) };
  }
  const doc = createDocument({
    openapi: "3.1.0",
    info: {
      title: `${config.SITE_NAME} API`,
      version: "1.0.0",
      description:
        "Folio's REST API: posts, categories, tags, users and favorites, with the same rules as the site's pages. " +
        "Authenticate with a bearer access token from POST /api/v1/auth/token (5 minutes; refresh with /auth/refresh), " +
        "or, from Folio's own pages, with the session cookie plus the X-CSRF-Token header on unsafe methods. " +
        "Errors are application/problem+json (RFC 9457).",
    },
    servers: [{ url: config.SITE_URL }],
    components: {
      securitySchemes: {
        bearerAuth: { type: "http", scheme: "bearer", bearerFormat: "JWT" },
        sessionCookie: {
          type: "apiKey",
          in: "cookie",
          name: "folio.sid",
          description: "Folio's session (its pages); X-CSRF-Token required on unsafe methods.",
        },
      },
    },
    paths,
  });
  built = { doc, json: JSON.stringify(doc) };
  return built;
}
