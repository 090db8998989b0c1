// API calls through the real app (supertest), each response checked against the OpenAPI document:
//
//   const api = caller(buildApp());
//   await api("patch", "/categories/news", editor, { body: { name: "N" }, ifMatch: '"1"', status: 200 });  // a bearer access token for `editor`
//   await api("get", "/me", null, { status: 401 });                                                    // anonymous
//
// sessionWrite(): an API write by a signed-in browser session (DRF's SessionAuthentication): made once
// without the session's CSRF token, which must be refused (a 403 problem), then again with it in
// X-CSRF-Token. Returns the second response.
//
//   const res = await sessionWrite(await signedIn(app, "EDITOR"), "post", "/api/v1/categories", { name: "News" });
import type { Express } from "express";
import request from "supertest";
import { expect } from "vitest";
import { signAccessToken } from "../../../src/api/tokens.ts";
import type { Signed } from "../../support/fixtures.ts";
import { expectContract } from "./contract.ts";
import type { TokenUser } from "./client.ts";

export type CallMethod = "get" | "post" | "patch" | "put" | "delete";

/** A function calling `app`'s API (paths under /api/v1) as a user (bearer token) or anonymously (null); asserts `status` when given. */
export function caller(app: Express) {
  return async (
    method: CallMethod,
    path: string,
    who: TokenUser | null,
    opts: { body?: unknown; ifMatch?: string; headers?: Record<string, string>; status?: number } = {},
  ) => {
    const r = request(app)[method](`/api/v1${path}`);
    if (who) r.set("Authorization", `Bearer ${signAccessToken(who)}`);
    if (opts.ifMatch !== undefined) r.set("If-Match", opts.ifMatch);
    for (const [k, v] of Object.entries(opts.headers ?? {})) r.set(k, v);
    const res = opts.body === undefined ? await r : await r.send(opts.body as object);
    if (opts.status !== undefined) expect(res.status, `${method.toUpperCase()} ${path}: ${res.text.slice(0, 400)}`).toBe(opts.status);
    expectContract(res);
    return res;
  };
}

/** The strong ETag of a versioned resource: "<version>-<hash of the representation>" (src/api/preconditions.ts versionTag). */
export function expectVersionTag(res: { headers: Record<string, string> }, version: number): void {
  expect(res.headers.etag).toMatch(new RegExp(`^"${version}-[0-9a-f]{12}"$`));
}

/** The write without the CSRF token (403), then with it: the second response. */
export async function sessionWrite(s: Signed, method: "post" | "patch" | "put" | "delete", path: string, body?: object) {
  const send = (r: ReturnType<Signed["agent"]["post"]>) => (body === undefined ? r : r.send(body));
  const refused = await send(s.agent[method](path));
  expect(refused.status, `${method.toUpperCase()} ${path} without the CSRF token: ${refused.text.slice(0, 300)}`).toBe(403);
  expectContract(refused);
  const res = await send(s.agent[method](path).set("X-CSRF-Token", await s.session.csrf()));
  expectContract(res);
  return res;
}
