// JSON Schema -> fast-check: values for an operation's parameters and body, generated from the OpenAPI
// document, so a new operation is fuzzed the day it is declared. Covers what the document uses: $ref
// (components.schemas), anyOf/oneOf, enum/const, type lists, string (formats, pattern via
// fc.stringMatching, min/max length), integer, number, boolean, null, array (items, min/max items) and
// object (required and optional properties, additionalProperties).
//
//   const fromSchema = schemaArbitrary(schema, { resolve });     // values the schema allows (lengths capped)
//   const hostile = hostileArbitrary(schema, { resolve });       // values it should refuse, and the classics
//   fuzzed(schema, { resolve })                                  // a mix of both
import fc from "fast-check";
import type { Json, JsonSchema } from "./document.ts";

export interface SchemaContext {
  /** "#/components/schemas/Post" -> its schema. */
  resolve(ref: string): JsonSchema;
}

/** Generated strings and arrays stay short (the hostile values bring the long ones). */
const MAX_LENGTH = 40;
const MAX_ITEMS = 4;
const INT32 = 2 ** 31 - 1;

const num = (v: Json | undefined): number | undefined => (typeof v === "number" ? v : undefined);

function deref(schema: JsonSchema, ctx: SchemaContext): JsonSchema {
  let s = schema;
  for (let i = 0; typeof s.$ref === "string" && i < 20; i++) s = ctx.resolve(s.$ref);
  return s;
}

const typesOf = (s: JsonSchema): string[] =>
  Array.isArray(s.type) ? s.type.filter((t): t is string => typeof t === "string") : typeof s.type === "string" ? [s.type] : [];

function stringArbitrary(s: JsonSchema): fc.Arbitrary<string> {
  const minLength = num(s.minLength) ?? 0;
  const maxLength = Math.max(minLength, Math.min(num(s.maxLength) ?? MAX_LENGTH, MAX_LENGTH));
  const fits = (v: string) => v.length >= minLength && v.length <= (num(s.maxLength) ?? Infinity);
  switch (s.format) {
    case "date-time":
      return fc.date({ min: new Date("1970-01-01T00:00:00Z"), max: new Date("2100-01-01T00:00:00Z"), noInvalidDate: true }).map((d) => d.toISOString());
    case "date":
      return fc
        .date({ min: new Date("1970-01-01T00:00:00Z"), max: new Date("2100-01-01T00:00:00Z"), noInvalidDate: true })
        .map((d) => d.toISOString().slice(0, 10));
    case "email":
      return fc.emailAddress().filter(fits);
    case "uri":
    case "url":
      return fc.webUrl().filter(fits);
    case "uuid":
      return fc.uuid();
  }
  if (typeof s.pattern === "string") {
    try {
      return fc.stringMatching(new RegExp(s.pattern)).filter(fits);
    } catch {
      // a pattern fast-check cannot generate from: plain strings (the hostile side covers the rest)
    }
  }
  return fc.oneof(fc.string({ minLength, maxLength }), fc.string({ minLength, maxLength, unit: "grapheme" }));
}

/** Values the schema allows (strings and arrays kept short). */
export function schemaArbitrary(schema: JsonSchema, ctx: SchemaContext): fc.Arbitrary<unknown> {
  const s = deref(schema, ctx);
  if (Array.isArray(s.anyOf) || Array.isArray(s.oneOf)) {
    const branches = ((s.anyOf ?? s.oneOf) as JsonSchema[]).map((b) => schemaArbitrary(b, ctx));
    return fc.oneof(...branches);
  }
  if (Array.isArray(s.allOf) && s.allOf.length === 1) return schemaArbitrary(s.allOf[0] as JsonSchema, ctx);
  if ("const" in s) return fc.constant(s.const);
  if (Array.isArray(s.enum)) return fc.constantFrom(...s.enum);
  const types = typesOf(s);
  if (types.length > 1) return fc.oneof(...types.map((t) => schemaArbitrary({ ...s, type: t }, ctx)));
  switch (types[0]) {
    case "string":
      return stringArbitrary(s);
    case "integer":
      return fc.integer({ min: Math.max(num(s.minimum) ?? -INT32, -INT32), max: Math.min(num(s.maximum) ?? INT32, INT32) });
    case "number":
      return fc.double({ noNaN: true, noDefaultInfinity: true, min: num(s.minimum) ?? -1e9, max: num(s.maximum) ?? 1e9 });
    case "boolean":
      return fc.boolean();
    case "null":
      return fc.constant(null);
    case "array": {
      const items = s.items && typeof s.items === "object" && !Array.isArray(s.items) ? schemaArbitrary(s.items, ctx) : fc.jsonValue({ maxDepth: 1 });
      const minLength = num(s.minItems) ?? 0;
      return fc.array(items, { minLength, maxLength: Math.max(minLength, Math.min(num(s.maxItems) ?? MAX_ITEMS, MAX_ITEMS)) });
    }
    case "object":
      return objectArbitrary(s, ctx);
  }
  if (s.properties) return objectArbitrary(s, ctx);
  return fc.jsonValue({ maxDepth: 2 });
}

function objectArbitrary(s: JsonSchema, ctx: SchemaContext): fc.Arbitrary<unknown> {
  const props = (s.properties ?? {}) as Record<string, JsonSchema>;
  const required = Array.isArray(s.required) ? (s.required as string[]) : [];
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [k, v] of Object.entries(props)) model[k] = schemaArbitrary(v, ctx);
  const known = fc.record(model, { requiredKeys: required.filter((k) => k in props) });
  if (s.additionalProperties && typeof s.additionalProperties === "object" && !Array.isArray(s.additionalProperties) && !s.properties)
    return fc.dictionary(fc.string({ maxLength: 10 }), schemaArbitrary(s.additionalProperties, ctx), { maxKeys: 3 });
  return known;
}

/** The hostile values every position gets: NUL bytes, numbers out of every range, long strings, odd unicode, markup, SQL, wrong types. */
export const HOSTILE_VALUES: unknown[] = [
  "a\u0000b",
  "\u0000",
  "",
  " ",
  "x".repeat(10_000),
  "🙂".repeat(300),
  "\u202egnp.exe",
  "e\u0301\u200b\ufeff",
  "\ud800",
  "１２３",
  "<script>alert(1)</script>",
  "' OR 1=1 --",
  "../../etc/passwd",
  "%00",
  "-1",
  "0",
  "2147483648",
  "99999999999999999999",
  "1e30",
  "NaN",
  -1,
  0,
  1.5,
  2147483648,
  Number.MAX_SAFE_INTEGER + 2, // past the safe integers
  1e308,
  -1e308,
  true,
  false,
  null,
  [],
  ["a", "b"],
  {},
  { nested: { deep: [1, 2, 3] } },
];

/** Values the schema should refuse, plus the classics above: past maxLength/maximum, wrong types, an array for a scalar, extra fields. */
export function hostileArbitrary(schema: JsonSchema, ctx: SchemaContext): fc.Arbitrary<unknown> {
  const s = deref(schema, ctx);
  const specific: fc.Arbitrary<unknown>[] = [fc.constantFrom(...HOSTILE_VALUES)];
  const maxLength = num(s.maxLength);
  if (maxLength !== undefined && maxLength < 300_000) specific.push(fc.constant("y".repeat(maxLength + 1)));
  const minLength = num(s.minLength);
  if (minLength && minLength > 0) specific.push(fc.constant("z".repeat(minLength - 1)));
  const maximum = num(s.maximum);
  if (maximum !== undefined) specific.push(fc.constant(maximum + 1));
  const minimum = num(s.minimum);
  if (minimum !== undefined) specific.push(fc.constant(minimum - 1));
  const maxItems = num(s.maxItems);
  if (maxItems !== undefined) specific.push(fc.constant(Array.from({ length: maxItems + 1 }, (_, i) => `item${i}`)));
  // an array for a scalar, a scalar for an array
  specific.push(schemaArbitrary(s, ctx).map((v) => [v, v]));
  if (s.properties) {
    const props = s.properties as Record<string, JsonSchema>;
    // a valid object with an unknown field, or with one field replaced by a hostile value
    specific.push(
      schemaArbitrary(s, ctx).map((v) => ({ ...(v as object), unknownField: "x" })),
      fc
        .tuple(schemaArbitrary(s, ctx), fc.constantFrom(...Object.keys(props)), fc.constantFrom(...HOSTILE_VALUES))
        .map(([v, k, h]) => ({ ...(v as object), [k]: h })),
    );
  }
  return fc.oneof(...specific);
}

/** Mostly values the schema allows (so requests reach the handlers), a third hostile. */
export function fuzzed(schema: JsonSchema, ctx: SchemaContext): fc.Arbitrary<unknown> {
  return fc.oneof({ weight: 2, arbitrary: schemaArbitrary(schema, ctx) }, { weight: 1, arbitrary: hostileArbitrary(schema, ctx) });
}
