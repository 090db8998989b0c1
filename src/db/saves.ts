// The save path of a plain versioned model (Category, Tag, User): create / update / delete through its
// Prisma delegate in one transaction with the audit entry, the one version check (./versioned.ts),
// unique columns as field errors, and the caches dropped in every process after each write. The
// features (src/taxonomy/service.ts, src/accounts/service.ts) build their saves from it; the admin's
// hooks and the API both call those. Errors are typed: NotFoundError, StaleVersionError (with the
// row as it is now), FieldErrors ({field: message}).
import { prisma, Prisma } from "./index.ts";
import { StaleVersionError, updateAtVersion, type VersionedModel } from "./versioned.ts";
import { changedFields, recordAction, recordActions } from "../audit/index.ts";
import { invalidate, PAGE_TAGS } from "../cache/index.ts";

export { StaleVersionError } from "./versioned.ts";

/** The object is not there (never was, or was deleted meanwhile). */
export class NotFoundError extends Error {
  constructor(readonly noun: string) {
    super(`This ${noun} was deleted meanwhile.`);
  }
}

/** Per-field messages: the input is refused, nothing was written. */
export class FieldErrors extends Error {
  constructor(
    readonly fields: Record<string, string>,
    message = "Please correct the errors below.",
  ) {
    super(message);
  }
}

export const UNIQUE_MESSAGE = "This value is already used; choose another.";

type Row = Record<string, unknown>;
type Delegate = {
  findUnique(a: unknown): Promise<Row | null>;
  findMany(a: unknown): Promise<Row[]>;
  create(a: unknown): Promise<Row>;
  deleteMany(a: unknown): Promise<{ count: number }>;
};
export interface Saver {
  id: number;
}
export interface Saved {
  id: number;
  repr: string;
  row: Row;
}

/** The columns of a unique violation (P2002), or null for another error. */
export function uniqueTarget(e: unknown): string[] | null {
  if (!(e instanceof Prisma.PrismaClientKnownRequestError) || e.code !== "P2002") return null;
  const t = (e.meta?.target ??
    (e.meta as { driverAdapterError?: { cause?: { constraint?: { fields?: string[] } } } })?.driverAdapterError?.cause?.constraint?.fields) as
    string[] | string | undefined;
  return Array.isArray(t) ? t.map((x) => x.replace(/"/g, "")) : typeof t === "string" ? [t] : [];
}

// A category, tag or user's name shows on every post card, post page, feed and archive: its save makes
// every cached page stale (PAGE_TAGS.all), rather than tracking each name's pages. Awaited (the save
// resolves once done), so the writer's next request sees the change.
const afterWrite = () => invalidate("taxonomy", "posts", PAGE_TAGS.all);

export function versionedSaves(opts: {
  model: Exclude<VersionedModel, "post">;
  /** The audit log's model name ("blog.category"). */
  audit: string;
  /** The columns a save writes. */
  fields: string[];
  repr: (o: Row) => string;
  /** The values to write (slug made from the name...): may throw FieldErrors. */
  prepare?: (data: Row) => Row;
}) {
  const d = (tx: Prisma.TransactionClient | typeof prisma = prisma) => (tx as unknown as Record<string, Delegate>)[opts.model]!;
  const pick = (data: Row) => {
    const p = opts.prepare ? opts.prepare(data) : data;
    return Object.fromEntries(opts.fields.filter((f) => f in p).map((f) => [f, p[f]]));
  };
  const fieldErrors = (e: unknown): never => {
    const target = uniqueTarget(e);
    if (target) throw new FieldErrors({ [opts.fields.find((f) => target.includes(f)) ?? "__all__"]: UNIQUE_MESSAGE });
    throw e;
  };
  return {
    /** What the model's forms need to know: its name, the columns a save writes, its label. */
    spec: { model: opts.model, fields: opts.fields, repr: opts.repr },
    /** `also`: more work in the same transaction, after the row is written (a user's invitation mail job). */
    async create(data: Row, actor: Saver, also?: (tx: Prisma.TransactionClient, saved: Saved) => Promise<void>): Promise<Saved> {
      const values = pick(data);
      return prisma
        .$transaction(async (tx) => {
          const o = await d(tx).create({ data: values });
          const repr = opts.repr(o);
          await recordAction({ userId: actor.id, action: "ADD", model: opts.audit, objectId: Number(o.id), objectRepr: repr, changes: { added: true } }, tx);
          if (also) await also(tx, { id: Number(o.id), repr, row: o });
          return { id: Number(o.id), repr, row: o };
        })
        .catch(fieldErrors)
        .finally(afterWrite);
    },
    /**
     * `data`: the fields to change (others keep their values). Saved only while the row is at `expectedVersion`.
     * `also`: more work in the same transaction, after the row is written (a user's changed address: verification).
     */
    async update(
      id: number,
      expectedVersion: number,
      data: Row,
      actor: Saver,
      also?: (tx: Prisma.TransactionClient, saved: Saved, before: Row) => Promise<void>,
    ): Promise<Saved> {
      return prisma
        .$transaction(async (tx) => {
          const before = await d(tx).findUnique({ where: { id } });
          if (!before) throw new NotFoundError(opts.model);
          const values = pick({ ...Object.fromEntries(opts.fields.map((f) => [f, before[f]])), ...data });
          const o = await updateAtVersion(tx, opts.model, id, expectedVersion, values);
          const repr = opts.repr(o);
          const changed = changedFields(before, values, opts.fields);
          await recordAction({ userId: actor.id, action: "CHANGE", model: opts.audit, objectId: id, objectRepr: repr, changes: { changed } }, tx);
          if (also) await also(tx, { id, repr, row: o }, before);
          return { id, repr, row: o };
        })
        .catch((e: unknown) => {
          if (e instanceof StaleVersionError && !e.current) throw new NotFoundError(opts.model);
          return fieldErrors(e);
        })
        .finally(afterWrite);
    },
    /** Deletes those of `ids` that exist (with `expectedVersion`: only at that version, else StaleVersionError); returns how many. */
    async remove(ids: number[], actor: Saver, expectedVersion?: number): Promise<number> {
      return prisma
        .$transaction(async (tx) => {
          const objs = await d(tx).findMany({ where: { id: { in: ids }, ...(expectedVersion === undefined ? {} : { version: expectedVersion }) } });
          if (expectedVersion !== undefined && objs.length < ids.length) {
            const now = await d(tx).findMany({ where: { id: { in: ids } } });
            throw now.length ? new StaleVersionError(opts.model, now[0]!) : new NotFoundError(opts.model);
          }
          await d(tx).deleteMany({ where: { id: { in: objs.map((o) => o.id) } } });
          await recordActions(
            objs.map((o) => ({ userId: actor.id, action: "DELETE" as const, model: opts.audit, objectId: Number(o.id), objectRepr: opts.repr(o) })),
            tx,
          );
          return objs.length;
        })
        .finally(afterWrite);
    },
  };
}
export type VersionedSaves = ReturnType<typeof versionedSaves>;
