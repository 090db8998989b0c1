// Every API response the tests see, checked against the OpenAPI document (the contract):
//  - the status is documented for the operation (the operation found by operationId, or by method and path);
//  - the content type is the documented one (application/json for a resource, application/problem+json
//    for an error), and a response documented without content has no body (204, 304, HEAD);
//  - the body validates against the documented schema (ajv's JSON Schema 2020-12, the dialect of OpenAPI 3.1,
//    with the `format`s of ajv-formats).
// A path the document does not have must be a 404 problem; a documented path with another method a 405 problem.
//
//   import { expectContract } from "../api/support/contract.ts";
//   const res = await request(app).get("/api/v1/posts/7").expect(200);
//   expectContract(res);                          // finds the operation from the request's method and path
//   expectContract(res, "getPost");               // or names it
//   contractErrors({ method, path, status, contentType, body })   // the messages, for a fetch-based test
//
// The generated client (./client.ts) runs the same check on every response it receives.
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { expect } from "vitest";
import { apiDocument, operations, templatesFor, type HttpMethod, type JsonSchema, type OpenApiDoc, type Operation } from "./document.ts";

// ajv-formats is CommonJS with a default export: under NodeNext its type is the module object
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

const ROOT = "https://folio.test/openapi.json";
const COMPONENT_REF = "#/components/schemas/";

/** The document's $refs ("#/components/schemas/Post") pointed at the components' home in ajv. */
function rewriteRefs<T>(value: T): T {
  if (Array.isArray(value)) return value.map(rewriteRefs) as T;
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = k === "$ref" && typeof v === "string" && v.startsWith(COMPONENT_REF) ? `${ROOT}#/$defs/${v.slice(COMPONENT_REF.length)}` : rewriteRefs(v);
    }
    return out as T;
  }
  return value;
}

export const PROBLEM_TYPE = "application/problem+json";

export class Contract {
  readonly doc: OpenApiDoc;
  readonly operations: Operation[];
  readonly ajv: Ajv2020;
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(doc: OpenApiDoc = apiDocument()) {
    this.doc = doc;
    this.operations = operations(doc);
    // strict: a keyword ajv does not know, a type clash or an unknown format is an error in the document
    this.ajv = new Ajv2020({ strict: true, allErrors: true, validateFormats: true });
    addFormats(this.ajv);
    this.ajv.addSchema({ $id: ROOT, $defs: rewriteRefs(doc.components?.schemas ?? {}) });
  }

  /** Compiles a schema of the document (its $refs resolved against components.schemas); throws if it does not compile. */
  validator(schema: JsonSchema): ValidateFunction {
    const key = JSON.stringify(schema);
    let fn = this.compiled.get(key);
    if (!fn) {
      fn = this.ajv.compile(rewriteRefs(schema));
      this.compiled.set(key, fn);
    }
    return fn;
  }

  /** Validation messages for `value` against `schema` (none: valid). */
  schemaErrors(schema: JsonSchema, value: unknown): string[] {
    const fn = this.validator(schema);
    if (fn(value)) return [];
    return (fn.errors ?? []).map((e) => `${e.instancePath || "(body)"} ${e.message ?? "is invalid"}${e.params ? ` ${JSON.stringify(e.params)}` : ""}`);
  }

  byId(operationId: string): Operation {
    const op = this.operations.find((o) => o.operationId === operationId);
    if (!op) throw new Error(`no operation ${operationId} in the document`);
    return op;
  }

  /** The operation a request reached, if the document has it; `templates` are the documented paths it matched. */
  find(method: string, path: string): { op?: Operation; templates: string[] } {
    const m = (method.toLowerCase() === "head" ? "get" : method.toLowerCase()) as HttpMethod;
    const templates = templatesFor(this.doc, path.split("?")[0]!);
    for (const t of templates) {
      const op = this.operations.find((o) => o.path === t && o.method === m);
      if (op) return { op, templates };
    }
    return { templates };
  }

  /** What breaks the contract in one response (empty: it keeps it). */
  errors(r: ContractResponse): string[] {
    const method = r.method.toUpperCase();
    const path = r.path.split("?")[0]!;
    const isHead = method === "HEAD";
    const { op, templates } = r.operationId ? { op: this.byId(r.operationId), templates: [] } : this.find(method, path);
    const ct = (r.contentType ?? "").split(";")[0]!.trim().toLowerCase();
    const empty = r.body === undefined || r.body === "";
    const errs: string[] = [];
    const problemBody = (status: number) => {
      if (isHead) return;
      if (ct !== PROBLEM_TYPE) errs.push(`${status}: content type ${ct || "(none)"}, expected ${PROBLEM_TYPE}`);
      else errs.push(...this.bodyErrors({ $ref: `${COMPONENT_REF}Problem` }, r.body, status));
    };
    if (!op) {
      if (method === "OPTIONS" && templates.length) {
        if (r.status !== 204) errs.push(`OPTIONS on a documented path answered ${r.status}, expected 204`);
      } else if (templates.length) {
        if (r.status !== 405) errs.push(`${method} ${path}: the document has the path but not the method, expected a 405 problem, got ${r.status}`);
        problemBody(r.status);
      } else {
        if (r.status !== 404) errs.push(`${method} ${path}: not in the document, expected a 404 problem, got ${r.status}`);
        problemBody(r.status);
      }
      return errs.map((e) => `${method} ${path}: ${e}`);
    }
    const where = `${op.operationId} (${method} ${path}) ${r.status}`;
    const spec = op.op.responses?.[String(r.status)];
    if (!spec) return [`${where}: status ${r.status} is not documented (documented: ${Object.keys(op.op.responses ?? {}).join(", ")})`];
    const media = Object.keys(spec.content ?? {});
    if (media.length === 0 || isHead || r.status === 304) {
      if (!empty && !isHead) errs.push(`documented without a body, but one was sent (${ct}): ${String(r.body).slice(0, 200)}`);
    } else if (!media.includes(ct)) {
      errs.push(`content type ${ct || "(none)"}, documented: ${media.join(", ")}`);
    } else {
      errs.push(...this.bodyErrors(spec.content![ct]!.schema ?? {}, r.body, ct === PROBLEM_TYPE ? r.status : undefined));
    }
    return errs.map((e) => `${where}: ${e}`);
  }

  /** `problemStatus`: the body is a problem document, whose `status` must be the response's (RFC 9457). */
  private bodyErrors(schema: JsonSchema, body: unknown, problemStatus?: number): string[] {
    let value: unknown = body;
    if (typeof body === "string") {
      try {
        value = JSON.parse(body);
      } catch {
        return [`the body is not JSON: ${body.slice(0, 200)}`];
      }
    }
    const errs = this.schemaErrors(schema, value).map((e) => `body ${e}`);
    const status = (value as { status?: unknown } | null)?.status;
    if (problemStatus !== undefined && status !== problemStatus) errs.push(`the problem's status ${String(status)} is not the response's ${problemStatus}`);
    return errs;
  }
}

/** A response as the contract sees it. `body` is the raw text (or the parsed JSON). */
export interface ContractResponse {
  method: string;
  /** The request path (a query string is ignored). */
  path: string;
  status: number;
  contentType?: string | null;
  body?: unknown;
  /** Names the operation instead of finding it from method and path. */
  operationId?: string;
}

let shared: Contract | undefined;
/** The contract of the document as built in this process. */
export function contract(): Contract {
  return (shared ??= new Contract());
}

/** contract().errors(r): what breaks the contract in one response. */
export const contractErrors = (r: ContractResponse): string[] => contract().errors(r);

/** The shape of a supertest response that expectContract reads (its request: `req`, Node's ClientRequest, or superagent's `request`). */
interface SupertestLike {
  status: number;
  text: string;
  headers: Record<string, unknown>;
}

function requestOf(res: SupertestLike): { method: string; path: string } {
  const r = res as { req?: { method?: string; path?: string }; request?: { method?: string; url?: string } };
  if (r.req?.method && r.req.path) return { method: r.req.method, path: r.req.path };
  if (r.request?.method && r.request.url) return { method: r.request.method, path: new URL(r.request.url).pathname };
  throw new Error("expectContract: not a supertest response (no request method and path)");
}

/**
 * Asserts that a supertest response keeps the contract (status documented, content type, body valid).
 * Returns the response, so it can wrap a request: `const res = expectContract(await agent.get(...))`.
 */
export function expectContract<R extends SupertestLike>(res: R, operationId?: string): R {
  const ct = res.headers["content-type"];
  const { method, path } = requestOf(res);
  const errs = contract().errors({ method, path, status: res.status, contentType: typeof ct === "string" ? ct : null, body: res.text, operationId });
  expect(errs, "the response breaks the OpenAPI contract").toEqual([]);
  return res;
}
