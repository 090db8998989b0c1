// The admin's field map, in one place: each table the admin reads, its columns (from the Prisma schema's
// scalar fields) and the relations a field name may follow with "__" (Django style: author__username).
// Registrations (models.ts) name fields; the SQL the change list runs is derived here.
import { Prisma } from "../db/index.ts";

export interface Relation {
  /** The table it points to (a key of TABLES) and the alias it is joined as. */
  table: TableName;
  alias: string;
  /** The foreign-key column on this table. */
  fk: string;
  /** NOT NULL key: an inner JOIN (else LEFT JOIN). */
  required?: boolean;
}

export interface TableDef {
  table: string;
  alias: string;
  columns: readonly string[];
  /** Columns read as text when searched or shown (json). */
  asText?: readonly string[];
  relations?: Record<string, Relation>;
}

const cols = (e: Record<string, string>) => Object.values(e);

export type TableName = "Post" | "Category" | "Tag" | "User" | "AuditLog";

export const TABLES: Record<TableName, TableDef> = {
  // searchVector: Unsupported("tsvector") in the schema, so not among Prisma's scalar fields.
  Post: {
    table: "Post",
    alias: "p",
    columns: [...cols(Prisma.PostScalarFieldEnum), "searchVector"],
    relations: { author: { table: "User", alias: "u", fk: "authorId", required: true }, category: { table: "Category", alias: "c", fk: "categoryId" } },
  },
  Category: { table: "Category", alias: "c", columns: cols(Prisma.CategoryScalarFieldEnum) },
  Tag: { table: "Tag", alias: "t", columns: cols(Prisma.TagScalarFieldEnum) },
  User: { table: "User", alias: "u", columns: cols(Prisma.UserScalarFieldEnum) },
  AuditLog: {
    table: "AuditLog",
    alias: "a",
    columns: cols(Prisma.AuditLogScalarFieldEnum),
    asText: ["changes"],
    relations: { user: { table: "User", alias: "u", fk: "userId" } },
  },
};

const tableOf = (name: TableName): TableDef => TABLES[name];

/** A column reference: bare when it needs no quotes (p.title), quoted otherwise (p."authorId"). */
const column = (alias: string, name: string) => `${alias}.${/^[a-z_][a-z0-9_]*$/.test(name) ? name : `"${name}"`}`;

export interface ResolvedField {
  sql: string;
  /** Reads a joined table. */
  joined: boolean;
}

/**
 * A field name as SQL: "title" -> p.title, "author__username" -> u.username (joined),
 * "author__id" or "author" -> p."authorId" (the key itself: no join). null: not a field of the table.
 */
export function resolveField(name: TableName, field: string): ResolvedField | null {
  const t = tableOf(name);
  const text = (tb: TableDef, alias: string, c: string) => (tb.asText?.includes(c) ? `${column(alias, c)}::text` : column(alias, c));
  if (t.columns.includes(field)) return { sql: text(t, t.alias, field), joined: false };
  const [relName, sub, ...rest] = field.split("__");
  const rel = relName ? t.relations?.[relName] : undefined;
  if (!rel || rest.length) return null;
  if (sub === undefined || sub === "id") return { sql: column(t.alias, rel.fk), joined: false };
  const target = tableOf(rel.table);
  return target.columns.includes(sub) ? { sql: text(target, rel.alias, sub), joined: true } : null;
}

/** Like resolveField, for names already checked at start-up (src/admin/checks.ts). */
export function fieldSql(name: TableName, field: string): ResolvedField {
  const r = resolveField(name, field);
  if (!r) throw new Error(`admin: "${field}" is not a field of ${name}`);
  return r;
}

/** `"Post" p` */
export const fromSql = (name: TableName) => `"${tableOf(name).table}" ${tableOf(name).alias}`;

/** Every relation of the table, joined: `JOIN "User" u ON u.id = p."authorId" LEFT JOIN ...`. */
export function joinsSql(name: TableName): string {
  const t = tableOf(name);
  return Object.values(t.relations ?? {})
    .map((r) => `${r.required ? "JOIN" : "LEFT JOIN"} "${tableOf(r.table).table}" ${r.alias} ON ${r.alias}.id = ${column(t.alias, r.fk)}`)
    .join(" ");
}
