// HTTP side of autosaves and of the editor script's session check: parse, authorise (the service asks
// can()), answer JSON. An autosave needs a signed-in user (requireLogin) and the session's CSRF token
// in the X-CSRF-Token header (checked for every unsafe method by the auth pipeline); the session
// check answers anyone (see session()).
import type { Request, Response } from "express";
import { z } from "zod";
import { csrfTokenFor } from "../web/csrf.ts";
import { badRequest } from "../web/errors.ts";
import { isId } from "../web/inputs.ts";
import { checkFields, saveAutosave } from "./service.ts";

// JSON numbers: ids and versions are positive int4s (src/web/inputs.ts)
const id = z.number().refine(isId, "Enter a valid id.");

const autosaveBody = z.object({
  post: id
    .nullable()
    .optional()
    .transform((v) => v ?? null),
  baseVersion: id
    .nullable()
    .optional()
    .transform((v) => v ?? null),
  fields: z.unknown(),
});

/** POST /autosave/ {post, baseVersion, fields}: stores the fields in the user's slot; 200 {savedAt}. */
export async function save(req: Request, res: Response) {
  const parsed = autosaveBody.safeParse(req.body ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw badRequest("Invalid autosave.", { [String(issue?.path[0] ?? "__all__")]: issue?.message ?? "Invalid value." });
  }
  const fields = checkFields(parsed.data.fields);
  if (!fields.ok) throw badRequest(fields.message, { fields: fields.message });
  const savedAt = await saveAutosave(req.user!, parsed.data.post, fields.fields, parsed.data.baseVersion);
  res.setHeader("Cache-Control", "private, no-store");
  res.json({ ok: true, savedAt: savedAt.toISOString() });
}

/**
 * GET /autosave/session/: who the session belongs to and its CSRF token, so an editor page can tell
 * "signed out" (show the sign-in dialog) from "signed in" (refresh its token, then submit). Open to
 * anonymous requests: the sign-in dialog needs the token of the (new) anonymous session too.
 */
export function session(req: Request, res: Response) {
  res.setHeader("Cache-Control", "private, no-store");
  const u = req.user;
  res.json({ signedIn: !!u, userId: u?.id ?? null, username: u?.username ?? null, csrfToken: csrfTokenFor(req) });
}
