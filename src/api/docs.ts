// The API's readable documentation page (/api/v1/docs/): the generated OpenAPI document
// (src/api/openapi.ts) turned into a Folio page on the server (views/api/docs.njk, extending base.njk).
// No script and no inline style (the site's CSP): a table of contents, then every operation grouped by
// its first tag, with its parameters, body fields and responses, nested objects and $ref components
// flattened into dotted rows (`results[].author.username`), and the components listed at the end.
//
// The reference part (views/api/reference.njk) depends only on the document, which does not change at
// runtime: it is rendered once per process and reused; each request renders only the page around it
// (the header shows who is signed in, as on every page).
import type { Request, RequestHandler, Response } from "express";
import { config } from "../config.ts";
import { userLocals } from "../accounts/middleware.ts";
import { requestLocals } from "../web/locals.ts";
import { markRendering } from "../web/response.ts";
import { route } from "../web/urls.ts";
import { API_PREFIX } from "./endpoint.ts";
import { openApiDocument } from "./openapi.ts";

/**
 * The page's path, named when this module loads (not when the API router is built): every page's
 * footer links to it (views/base.njk), including pages rendered by an app without the API.
 */
export const DOCS_PATH = route("api:docs", `${API_PREFIX}/docs/`);

/** A JSON Schema as zod-openapi writes it (the subset this page reads). */
interface Schema {
  $ref?: string;
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  items?: Schema;
  prefixItems?: Schema[];
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  enum?: unknown[];
  const?: unknown;
  format?: string;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  default?: unknown;
  description?: string;
  deprecated?: boolean;
}

interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  description?: string;
  schema?: Schema;
}

interface MediaType {
  schema?: Schema;
}

interface ResponseObject {
  description?: string;
  content?: Record<string, MediaType>;
  headers?: Record<string, { description?: string }>;
}

interface Operation {
  operationId: string;
  summary?: string;
  description?: string;
  tags?: string[];
  security?: Record<string, string[]>[];
  parameters?: Parameter[];
  requestBody?: { required?: boolean; content?: Record<string, MediaType> };
  responses?: Record<string, ResponseObject>;
  deprecated?: boolean;
}

interface Document {
  info: { title: string; version: string; description?: string };
  tags?: { name: string; description?: string }[];
  paths?: Record<string, Record<string, unknown>>;
  components?: { schemas?: Record<string, Schema> };
}

/** A type, as text with links: plain strings and component references (rendered as links to the component). */
type TypePart = string | { ref: string; anchor: string };

export interface FieldRow {
  /** Dotted path: "author.username", "results[].tags[].slug". */
  name: string;
  type: TypePart[];
  required: boolean;
  /** Description and constraints ("Default: 10.", "1 to 100."). */
  notes: string[];
}

export interface ParameterRow {
  name: string;
  in: string;
  type: TypePart[];
  required: boolean;
  notes: string[];
}

export interface ResponseView {
  status: string;
  description: string;
  mediaType: string | null;
  type: TypePart[];
  fields: FieldRow[];
  headers: { name: string; description: string }[];
}

export interface OperationView {
  operationId: string;
  anchor: string;
  method: string;
  path: string;
  summary: string;
  description: string;
  access: string;
  deprecated: boolean;
  parameters: ParameterRow[];
  body: { mediaType: string; required: boolean; type: TypePart[]; fields: FieldRow[] } | null;
  /** 1xx-3xx responses, each with its fields. */
  responses: ResponseView[];
  /** 4xx/5xx responses: status and meaning (their body is a Problem). */
  errors: { status: string; description: string; schema: { ref: string; anchor: string } | null }[];
}

export interface DocsView {
  title: string;
  version: string;
  description: string;
  tags: { name: string; anchor: string; description: string; operations: OperationView[] }[];
  schemas: { name: string; anchor: string; type: TypePart[]; description: string; fields: FieldRow[] }[];
  operationCount: number;
  rateLimits: { ip: number; user: number };
}

const METHODS = ["get", "put", "post", "patch", "delete", "options", "head", "trace"];
/** How deep nested objects are flattened into rows (a component referring to itself stops sooner). */
const MAX_DEPTH = 4;
/** Longer patterns are left out of the page (the document has them). */
const MAX_PATTERN = 60;
/** zod's int bounds (Number.MIN/MAX_SAFE_INTEGER) say nothing a reader needs. */
const SAFE_INT = 9007199254740991;

const anchor = (prefix: string, name: string) => `${prefix}-${name.replace(/[^A-Za-z0-9_-]+/g, "-")}`;
const refName = (ref: string) => ref.replace(/^#\/components\/schemas\//, "");

class Reader {
  constructor(private readonly components: Record<string, Schema>) {}

  /** The schema a $ref names (itself when it is not a reference), and that component's name. */
  resolve(s: Schema): { schema: Schema; ref: string | null } {
    if (!s.$ref) return { schema: s, ref: null };
    const name = refName(s.$ref);
    return { schema: this.components[name] ?? {}, ref: name };
  }

  /** `T | null` as zod-openapi writes it (anyOf with a null branch): the other branch, or null. */
  nullableOf(s: Schema): Schema | null {
    const alts = s.anyOf ?? s.oneOf;
    if (!alts || alts.length !== 2) return null;
    const other = alts.filter((a) => a.type !== "null");
    return other.length === 1 ? other[0]! : null;
  }

  typeOf(s: Schema): TypePart[] {
    if (s.$ref) return [{ ref: refName(s.$ref), anchor: anchor("schema", refName(s.$ref)) }];
    if (s.const !== undefined) return [JSON.stringify(s.const)];
    if (s.enum) return [s.enum.map((v) => JSON.stringify(v)).join(" | ")];
    const alts = s.anyOf ?? s.oneOf;
    if (alts)
      return join(
        alts.map((a) => this.typeOf(a)),
        " or ",
      );
    if (s.allOf)
      return join(
        s.allOf.map((a) => this.typeOf(a)),
        " and ",
      );
    const types = Array.isArray(s.type) ? s.type : s.type ? [s.type] : [];
    if (types.length === 0) return s.properties ? ["object"] : ["any"];
    return join(
      types.map((t) => this.oneType(t, s)),
      " or ",
    );
  }

  private oneType(t: string, s: Schema): TypePart[] {
    switch (t) {
      case "array":
        if (s.prefixItems)
          return [
            "tuple [",
            ...join(
              s.prefixItems.map((i) => this.typeOf(i)),
              ", ",
            ),
            "]",
          ];
        return ["array of ", ...(s.items ? this.typeOf(s.items) : ["any"])];
      case "object":
        if (!s.properties && s.additionalProperties && typeof s.additionalProperties === "object") return ["map of ", ...this.typeOf(s.additionalProperties)];
        return ["object"];
      case "string":
        return [s.format ? `string (${s.format})` : "string"];
      default:
        return [t];
    }
  }

  /** The schema's description and constraints, as short sentences. */
  notesOf(s: Schema, extra?: string): string[] {
    const out: string[] = [];
    const inner = s.$ref ? this.resolve(s).schema : s;
    const text = extra ?? s.description ?? (s.$ref ? undefined : inner.description);
    if (text) out.push(text);
    const range = (lo?: number, hi?: number, unit = "") => {
      const l = lo !== undefined && Math.abs(lo) < SAFE_INT ? lo : undefined;
      const h = hi !== undefined && Math.abs(hi) < SAFE_INT ? hi : undefined;
      if (l !== undefined && h !== undefined) out.push(`${l} to ${h}${unit}.`);
      else if (l !== undefined) out.push(`At least ${l}${unit}.`);
      else if (h !== undefined) out.push(`At most ${h}${unit}.`);
    };
    range(s.minimum, s.maximum);
    if (s.exclusiveMinimum !== undefined) out.push(`More than ${s.exclusiveMinimum}.`);
    if (s.exclusiveMaximum !== undefined) out.push(`Less than ${s.exclusiveMaximum}.`);
    range(s.minLength, s.maxLength, " characters");
    range(s.minItems, s.maxItems, " items");
    // A format already says it (zod writes its date-time regex too); a long pattern is noise to a reader.
    if (s.pattern && !s.format && s.pattern.length <= MAX_PATTERN && !s.pattern.includes("`")) out.push(`Pattern: \`${s.pattern}\`.`);
    if (s.default !== undefined) out.push(`Default: ${JSON.stringify(s.default)}.`);
    if (s.deprecated) out.push("Deprecated.");
    return out;
  }

  /**
   * The rows of an object schema's fields, nested objects and arrays of objects flattened with
   * dotted names; components are expanded too (a component already being expanded on this path is not).
   */
  fields(s: Schema, prefix = "", depth = 0, expanding: ReadonlySet<string> = new Set()): FieldRow[] {
    const { schema, ref } = this.resolve(s);
    if (ref && expanding.has(ref)) return [];
    const seen = ref ? new Set([...expanding, ref]) : expanding;
    const nullable = this.nullableOf(schema);
    if (nullable) return this.fields(nullable, prefix, depth, seen);
    if (schema.allOf) return schema.allOf.flatMap((part) => this.fields(part, prefix, depth, seen));
    if (schema.items && (schema.type === "array" || (Array.isArray(schema.type) && schema.type.includes("array"))))
      return this.fields(schema.items, `${prefix.replace(/\.$/, "")}[].`, depth, seen); // tags[].slug
    if (!schema.properties) return [];
    const required = new Set(schema.required ?? []);
    const rows: FieldRow[] = [];
    for (const [key, prop] of Object.entries(schema.properties)) {
      const name = prefix + key;
      rows.push({ name, type: this.typeOf(prop), required: required.has(key), notes: this.notesOf(prop) });
      if (depth + 1 < MAX_DEPTH) rows.push(...this.fields(prop, `${name}.`, depth + 1, seen));
    }
    return rows;
  }
}

function join(parts: TypePart[][], sep: string): TypePart[] {
  return parts.flatMap((p, i) => (i === 0 ? p : [sep, ...p]));
}

/**
 * Who may call an operation, in words, from its security requirements. (A 403 in its responses says
 * nothing more: every unsafe operation may refuse a session without its CSRF token. The role rule is
 * the operation's description's to state.)
 */
function accessOf(method: string, op: Operation): string {
  const anonymous = (op.security ?? []).some((req) => Object.keys(req).length === 0);
  if (!anonymous)
    return "Signed-in users (a bearer access token, or Folio's session cookie with X-CSRF-Token on unsafe methods), as the role rule allows; anonymous callers get 401.";
  return method === "get"
    ? "Anyone, without authentication. A signed-in caller is recognised and sees what their role allows (a writer's own drafts, for instance)."
    : "Anyone, without authentication.";
}

function firstJson(content: Record<string, MediaType> | undefined): { mediaType: string; schema: Schema } | null {
  if (!content) return null;
  const entries = Object.entries(content);
  const [mediaType, media] = entries.find(([t]) => /json/i.test(t)) ?? entries[0] ?? [];
  return mediaType ? { mediaType, schema: media?.schema ?? {} } : null;
}

/** The page's view of `doc`: operations grouped by tag (in the document's order), then the components. */
export function docsView(doc: Document): DocsView {
  const components = doc.components?.schemas ?? {};
  const r = new Reader(components);
  const tags = new Map<string, OperationView[]>();
  for (const t of doc.tags ?? []) tags.set(t.name, []);
  let operationCount = 0;
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const method of METHODS) {
      const op = item[method] as Operation | undefined;
      if (!op) continue;
      operationCount++;
      const body = firstJson(op.requestBody?.content);
      const responses: ResponseView[] = [];
      const errors: OperationView["errors"] = [];
      for (const [status, res] of Object.entries(op.responses ?? {})) {
        const media = firstJson(res.content);
        const schemaRef = media ? r.resolve(media.schema).ref : null;
        if (/^[45]/.test(status)) {
          errors.push({ status, description: res.description ?? "", schema: schemaRef ? { ref: schemaRef, anchor: anchor("schema", schemaRef) } : null });
          continue;
        }
        responses.push({
          status,
          description: res.description ?? "",
          mediaType: media?.mediaType ?? null,
          type: media ? r.typeOf(media.schema) : [],
          fields: media ? r.fields(media.schema) : [],
          headers: Object.entries(res.headers ?? {}).map(([name, h]) => ({ name, description: h.description ?? "" })),
        });
      }
      const view: OperationView = {
        operationId: op.operationId,
        anchor: anchor("op", op.operationId),
        method: method.toUpperCase(),
        path,
        summary: op.summary ?? op.operationId,
        description: op.description ?? "",
        access: accessOf(method, op),
        deprecated: op.deprecated === true,
        parameters: (op.parameters ?? []).map((p) => ({
          name: p.name,
          in: p.in,
          type: p.schema ? r.typeOf(p.schema) : ["any"],
          required: p.required === true,
          notes: r.notesOf(p.schema ?? {}, p.description ?? p.schema?.description),
        })),
        body: body
          ? {
              mediaType: body.mediaType,
              required: op.requestBody?.required === true,
              type: r.typeOf(body.schema),
              fields: r.fields(body.schema),
            }
          : null,
        responses,
        errors,
      };
      const tag = op.tags?.[0] ?? "other";
      tags.set(tag, [...(tags.get(tag) ?? []), view]);
    }
  }
  const described = new Map((doc.tags ?? []).map((t) => [t.name, t.description ?? ""]));
  return {
    title: doc.info.title,
    version: doc.info.version,
    description: doc.info.description ?? "",
    tags: [...tags]
      .filter(([, ops]) => ops.length > 0)
      .map(([name, operations]) => ({ name, anchor: anchor("tag", name), description: described.get(name) ?? "", operations })),
    schemas: Object.entries(components).map(([name, s]) => ({
      name,
      anchor: anchor("schema", name),
      type: r.typeOf({ ...s, $ref: undefined }),
      description: s.description ?? "",
      fields: r.fields({ $ref: `#/components/schemas/${name}` }),
    })),
    operationCount,
    rateLimits: { ip: config.API_RATE_LIMIT_IP, user: config.API_RATE_LIMIT_USER },
  };
}

// The reference HTML, rendered once per process (per template environment's app; development
// reloads templates, so it renders again each time there).
let reference: Promise<string> | undefined;

function referenceHtml(req: Request): Promise<string> {
  if (reference && config.NODE_ENV !== "development") return reference;
  const rendering = new Promise<string>((resolve, reject) => {
    req.app.render("api/reference.njk", { api: docsView(openApiDocument().doc as unknown as Document) }, (err: Error | null, html?: string) =>
      err ? reject(err) : resolve(html ?? ""),
    );
  });
  reference = rendering;
  rendering.catch(() => {
    if (reference === rendering) reference = undefined; // a failed render is not kept
  });
  return rendering;
}

const renderDocs: RequestHandler = async (req: Request, res: Response) => {
  const html = await referenceHtml(req);
  markRendering(req, res); // the header's log-out form (csrf_token()) for a signed-in reader
  res.locals.meta = {
    ...res.locals.meta,
    title: "API reference",
    description: `The ${config.SITE_NAME} REST API: every operation, its parameters, fields and answers.`,
  };
  res.render("api/docs.njk", { reference: html });
};

/** GET /api/v1/docs/: the page's context as every page has it (current path, signed-in user), then the page. */
export const docsPage: RequestHandler[] = [requestLocals, userLocals, renderDocs];
