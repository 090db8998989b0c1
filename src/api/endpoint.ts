// An API operation is a declaration (Ghost's endpoint objects, DRF's ViewSet actions): its method and
// path, who may call it, the zod schemas of its path parameters, query and body, the responses it
// gives, and a small handle() that calls the feature's queries and services. The router
// (src/api/router.ts) does the rest once for all of them: authentication, rate limits, parsing and
// validation (unknown fields refused), problem+json errors, ETag and 304, and the OpenAPI document
// (src/api/openapi.ts) is generated from the same declarations.
//
//   export const getCategory = endpoint({
//     operationId: "getCategory", method: "get", path: "/categories/{slug}", tags: ["categories"],
//     summary: "One category", auth: "public",
//     params: z.object({ slug: z.string() }),
//     responses: { 200: { description: "The category", schema: Category } },
//     async handle({ params }) { ...; return { body: category }; },
//   });
import type { Request, Response } from "express";
import type { z } from "zod";
import type { SessionUser } from "../accounts/users.ts";

export type Method = "get" | "post" | "put" | "patch" | "delete";

/**
 * Who may call the operation (before the handler's own object checks, which use can()):
 *  - "public": anyone; a signed-in caller is known (req.user) and may see more (their drafts);
 *  - "user": any signed-in user (access token or session); anonymous callers get 401.
 */
export type Auth = "public" | "user";

/** How the caller was authenticated: a bearer access token, Folio's session cookie, or not at all. */
export type Via = "token" | "session" | null;

export interface ResponseSpec {
  description: string;
  /** The JSON body's schema (none: an empty body, e.g. 204). */
  schema?: z.ZodType;
  /** Response headers worth documenting (ETag, Location...). */
  headers?: Record<string, string>;
}

export interface Frame<P, Q, B> {
  req: Request;
  res: Response;
  /** The caller, or null (anonymous). Loaded from the database on each request: role and active flag as stored. */
  user: SessionUser | null;
  via: Via;
  params: P;
  query: Q;
  body: B;
}

export interface Reply {
  /** Default 200 (201 needs a Location header; 204 has no body). */
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
  /**
   * The resource's version: the router sends the strong ETag "<version>-<hash of the JSON sent>"
   * (versionTagOfJson, src/api/preconditions.ts), made from the bytes it serialises anyway; a
   * conditional GET with a matching If-None-Match is answered 304. Without it, a GET's 200 gets a weak
   * ETag computed from the body.
   */
  version?: number;
}

type AnyZod = z.ZodType;
type Out<S> = S extends z.ZodType ? z.output<S> : undefined;

export interface Endpoint<
  P extends AnyZod | undefined = AnyZod | undefined,
  Q extends AnyZod | undefined = AnyZod | undefined,
  B extends AnyZod | undefined = AnyZod | undefined,
> {
  /** Unique, camelCase: the OpenAPI operationId and the route name "api:<operationId>". */
  operationId: string;
  method: Method;
  /** Under /api/v1, OpenAPI style: "/posts/{id}/favorite". */
  path: string;
  summary: string;
  description?: string;
  /** OpenAPI tags (the documentation's sections). */
  tags: string[];
  auth: Auth;
  params?: P;
  query?: Q;
  /** The JSON body; strict objects (unknown fields are refused). */
  body?: B;
  /** The successful responses; error responses (problem+json) are added by the router/openapi from `errors`. */
  responses: Record<number, ResponseSpec>;
  /** Problem statuses this operation may answer besides the common ones (400, 401, 429, 503...). */
  errors?: number[];
  handle(frame: Frame<Out<P>, Out<Q>, Out<B>>): Promise<Reply> | Reply;
}

/** Declares an operation (an identity function that lets TypeScript infer the frame's types). */
export function endpoint<P extends AnyZod | undefined = undefined, Q extends AnyZod | undefined = undefined, B extends AnyZod | undefined = undefined>(
  e: Endpoint<P, Q, B>,
): Endpoint {
  return e as unknown as Endpoint;
}

/** "/posts/{id}/favorite" -> "/posts/:id/favorite" (Express 5). */
export const expressPath = (path: string): string => path.replace(/\{([A-Za-z0-9_]+)\}/g, ":$1");

/** Where the API lives. */
export const API_PREFIX = "/api/v1";
