// Writes of categories, tags and users go through THE save path the admin uses: the model's registered
// hooks (src/admin/models.ts: create/update/remove with the audit entry, the version check of
// src/db/versioned.ts, unique slugs, cache invalidation in every process, an admin's guard against
// locking themself out). This module only adapts them to the API: If-Match preconditions and the
// hooks' errors as problems.
import type { Request } from "express";
import { site } from "../admin/models.ts";
import { ConflictErrors, FormErrors, type ModelHooks } from "../admin/site.ts";
import { ApiProblem, problems } from "./problem.ts";
import { versionMatches as ifMatch } from "./preconditions.ts";

/** The registered hooks of an admin model ("blog_category"): checked once, at start-up. */
export function savesOf(key: "blog_category" | "blog_tag" | "accounts_user"): Required<Pick<ModelHooks, "load" | "create" | "update" | "remove">> {
  const h = site.get(key)?.hooks;
  if (!h?.create || !h.update || !h.remove) throw new Error(`the admin registers no save hooks for ${key}`);
  return h as Required<Pick<ModelHooks, "load" | "create" | "update" | "remove">>;
}

/**
 * The version an unsafe request is made over: If-Match must name the resource's current version as
 * GET answered it (strong ETag "<version>", compared as for posts: ifMatch). Missing: 428; another
 * version (or "*", or a weak tag): 412 with the current resource. The save checks the version again
 * in its UPDATE, so a change landing between this check and the save is refused too.
 */
export function requireVersion(req: Request, current: { version: number }): number {
  const h = req.headers["if-match"];
  if (h === undefined || h.trim() === "") throw new ApiProblem(428, 'Send If-Match with the ETag (the version) you last read, e.g. If-Match: "3".');
  if (!ifMatch(h, current.version, false)) throw stale(current);
  return current.version;
}

/** A 412 with the resource as stored now (its ETag too), so the client can merge and retry. */
export function stale(current: { version: number }): ApiProblem {
  return new ApiProblem(
    412,
    `It was changed since you read it: it is at version ${current.version} now. Merge your change into the current one and send it again.`,
    {},
    { ETag: `"${current.version}"` },
    { current },
  );
}

/** The hooks' errors as problems: field errors are a 400 on those fields; a stale version a 412 with `current()`. */
export async function saveProblem(e: unknown, current: () => Promise<{ version: number } | null>): Promise<never> {
  if (e instanceof FormErrors) {
    const { __all__: all, ...fields } = e.fields;
    if (all !== undefined && /deleted meanwhile/.test(all)) throw problems.notFound("It was deleted meanwhile.");
    throw problems.badRequest(all ?? "The request has invalid fields.", fields);
  }
  if (e instanceof ConflictErrors) {
    const now = await current();
    throw now ? stale(now) : problems.notFound("It was deleted meanwhile.");
  }
  throw e;
}
