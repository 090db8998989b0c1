// The audit log (Django's LogEntry): every add, change, delete and bulk action in the admin and the
// post service writes one row; the admin index shows "Recent actions", each object has a history.
// Its own small module, used by src/posts/ and src/admin/ alike (posts/ does not import admin/).
import { prisma, type Prisma } from "../db/index.ts";
import type { AuditAction } from "../generated/prisma/client.ts";
import { canAll, type Actor } from "../accounts/permissions.ts";

type Tx = Prisma.TransactionClient;

export interface AuditEntry {
  userId: number | null;
  action: AuditAction;
  /** "blog.post", "blog.category", "accounts.user" ... */
  model: string;
  objectId: string | number;
  objectRepr: string;
  changes?: Record<string, unknown>;
}

export async function recordAction(entry: AuditEntry, tx: Tx = prisma): Promise<void> {
  await tx.auditLog.create({
    data: {
      userId: entry.userId,
      action: entry.action,
      model: entry.model,
      objectId: String(entry.objectId),
      objectRepr: entry.objectRepr.slice(0, 250),
      changes: (entry.changes ?? {}) as Prisma.InputJsonValue,
    },
  });
}

export async function recordActions(entries: AuditEntry[], tx: Tx = prisma): Promise<void> {
  if (entries.length === 0) return;
  await tx.auditLog.createMany({
    data: entries.map((e) => ({
      userId: e.userId,
      action: e.action,
      model: e.model,
      objectId: String(e.objectId),
      objectRepr: e.objectRepr.slice(0, 250),
      changes: (e.changes ?? {}) as Prisma.InputJsonValue,
    })),
  });
}

/** Field names whose values differ between two plain objects (dates and arrays compared by value). */
export function changedFields(before: Record<string, unknown>, after: Record<string, unknown>, fields: string[]): string[] {
  const norm = (v: unknown) => (v instanceof Date ? v.toISOString() : Array.isArray(v) ? JSON.stringify([...v].sort()) : v);
  return fields.filter((f) => f in after && norm(before[f]) !== norm(after[f]));
}

/** `changes` as the change list reads it (json as text). */
function parsed(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return {};
  }
}

/**
 * An entry in words, as the admin shows it (Django's LogEntry.get_change_message): "Changed title and
 * body. First edit". `label` names a field as the model's form does ("tagIds" -> "tags").
 */
export function changeMessage(action: unknown, changes: unknown, label: (field: string) => string = (f) => f): string {
  if (action === "ADD") return "Added.";
  if (action === "DELETE") return "Deleted.";
  const c = (typeof changes === "string" ? parsed(changes) : (changes ?? {})) as { changed?: unknown; note?: unknown };
  const fields = Array.isArray(c.changed) ? c.changed.map((f) => label(String(f))) : [];
  const what = fields.length === 0 ? "nothing" : fields.length === 1 ? fields[0] : `${fields.slice(0, -1).join(", ")} and ${fields[fields.length - 1]}`;
  return `Changed ${what}.${typeof c.note === "string" && c.note ? ` ${c.note}` : ""}`;
}

export interface AuditRow {
  id: number;
  action: AuditAction;
  model: string;
  objectId: string;
  objectRepr: string;
  changes: unknown;
  createdAt: Date;
  username: string | null;
  /** changeMessage() of the entry. */
  message: string;
}

/** Newest entries, optionally only one user's (authors see their own recent actions). */
async function recentActions(limit = 10, userId?: number): Promise<AuditRow[]> {
  const rows = await prisma.auditLog.findMany({
    where: userId === undefined ? {} : { userId },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take: limit,
    include: { user: { select: { username: true } } },
  });
  return rows.map((r) => ({ ...r, username: r.user?.username ?? null, message: changeMessage(r.action, r.changes) }));
}

/** The recent actions `user` may see: everyone's for editors and admins, their own for authors (RULES.auditlog). */
export function recentActionsFor(user: Actor, limit = 10): Promise<AuditRow[]> {
  return recentActions(limit, canAll(user, "auditlog.view") ? undefined : user.id);
}

export async function objectHistory(model: string, objectId: string | number, limit = 200): Promise<AuditRow[]> {
  const rows = await prisma.auditLog.findMany({
    where: { model, objectId: String(objectId) },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take: limit,
    include: { user: { select: { username: true } } },
  });
  return rows.map((r) => ({ ...r, username: r.user?.username ?? null, message: changeMessage(r.action, r.changes) }));
}
