// The admin's `npm run bench` scenario support: an editor account in the bench database and a
// signed-in session (through the real login form) whose cookie the scenario sends.
import { randomBytes } from "node:crypto";
import { hashPassword } from "../accounts/passwords.ts";
import type { BenchContext } from "../cli/bench.ts";

/**
 * The bench server runs with NODE_ENV=production: its session cookie is Secure, so requests say
 * they came through an HTTPS proxy (X-Forwarded-Proto, honoured with TRUST_PROXY=loopback).
 */
export async function adminBenchSession(ctx: BenchContext, path: string): Promise<{ path: string; headers: Record<string, string> } | string> {
  const username = "bench_editor";
  const password = `Bench-${randomBytes(12).toString("base64url")}`;
  await ctx.db.query(
    `INSERT INTO "User" (email, username, "passwordHash", role, "isActive") VALUES ($1, $2, $3, 'EDITOR', true)
     ON CONFLICT (username) DO UPDATE SET "passwordHash" = EXCLUDED."passwordHash", role = 'EDITOR', "isActive" = true`,
    [`${username}@bench.invalid`, username, await hashPassword(password)],
  );
  const proto = { "x-forwarded-proto": "https" };
  const cookieOf = (res: Response) =>
    res.headers
      .getSetCookie()
      .map((c) => c.split(";")[0]!)
      .find((c) => /folio\.sid=/.test(c));
  const page = await fetch(`${ctx.baseUrl}/accounts/login/`, { headers: proto, redirect: "manual" });
  const html = await page.text();
  const token = /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
  const first = cookieOf(page);
  if (!token || !first) return "login page gave no session cookie or CSRF token (is TRUST_PROXY=loopback set for the bench server?)";
  const res = await fetch(`${ctx.baseUrl}/accounts/login/`, {
    method: "POST",
    redirect: "manual",
    headers: { ...proto, cookie: first, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ _csrf: token, username, password }).toString(),
  });
  const cookie = cookieOf(res);
  if (res.status !== 303 || !cookie) return `login failed (${res.status})`;
  const status = (await fetch(ctx.baseUrl + path, { headers: { ...proto, cookie }, redirect: "manual" })).status;
  if (status !== 200) return `${path} answers ${status} when signed in`;
  return { path, headers: { ...proto, cookie } };
}
