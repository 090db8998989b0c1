// Optimistic locking, written once for every model that has a `version` column (Post, User,
// Category, Tag): a save says which version it was made from, and the UPDATE only happens while the
// row is still at that version (UPDATE ... WHERE id = $1 AND version = $2, version + 1). A save made
// from a stale form changes nothing and raises StaleVersionError with the row as it is now, so the
// caller can show both versions (the admin's conflict page) instead of silently overwriting.
// Every other write to these rows that changes what a form shows must bump `version` too.
import type { Prisma } from "../generated/prisma/client.ts";

export type VersionedModel = "post" | "user" | "category" | "tag" | "media";

type Tx = Prisma.TransactionClient;
type Row = Record<string, unknown>;
type Delegate = {
  updateMany(a: { where: { id: number; version: number }; data: Row }): Promise<{ count: number }>;
  findUnique(a: { where: { id: number } }): Promise<Row | null>;
};

/** The row changed (or was deleted: `current` null) since the version the save was made from. */
export class StaleVersionError extends Error {
  constructor(
    readonly model: VersionedModel,
    readonly current: Row | null,
  ) {
    super(current ? conflictMessage(model) : `This ${model} was deleted meanwhile.`);
  }
}

/** The conflict page's sentence, the same for every model. */
export function conflictMessage(noun: string): string {
  return `Someone else saved this ${noun} while you were editing it. Nothing was overwritten: compare the versions below, then save again.`;
}

/**
 * Writes `data` over row `id` of `model` if it is still at `expectedVersion`, and moves the version on.
 * Returns the row as saved; throws StaleVersionError when the row moved on or is gone.
 */
export async function updateAtVersion(tx: Tx, model: VersionedModel, id: number, expectedVersion: number, data: Row): Promise<Row> {
  const d = (tx as unknown as Record<VersionedModel, Delegate>)[model];
  const res = await d.updateMany({ where: { id, version: expectedVersion }, data: { ...data, version: { increment: 1 } } });
  const row = await d.findUnique({ where: { id } });
  if (res.count !== 1 || !row) throw new StaleVersionError(model, row);
  return row;
}
