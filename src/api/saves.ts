// The feature services' typed errors (src/db/saves.ts: FieldErrors, NotFoundError, StaleVersionError)
// as problems, for the API's writes of categories, tags and users: field errors are a 400 on those
// fields, a missing object a 404, a version that moved on a 412 with the resource as stored now.
import { FieldErrors, NotFoundError, StaleVersionError } from "../db/saves.ts";
import { preconditionFailed } from "./preconditions.ts";
import { problems } from "./problem.ts";

/** The save's result, or its error as a problem; `current()`: the resource as the caller may see it now (for a 412). */
export async function saving<T>(save: Promise<T>, noun: string, current: () => Promise<{ version: number } | null>): Promise<T> {
  try {
    return await save;
  } catch (e) {
    if (e instanceof FieldErrors) {
      const { __all__: all, ...fields } = e.fields;
      throw problems.badRequest(all ?? "The request has invalid fields.", fields);
    }
    if (e instanceof NotFoundError) throw problems.notFound(`No such ${noun}: it was deleted meanwhile.`);
    if (e instanceof StaleVersionError) {
      const now = await current();
      throw now ? preconditionFailed(now) : problems.notFound(`No such ${noun}: it was deleted meanwhile.`);
    }
    throw e;
  }
}
