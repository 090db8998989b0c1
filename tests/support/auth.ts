// Test helpers for signing in: sign in a supertest agent, read CSRF tokens. Users (and signedIn(), which
// makes one and signs it in) come from ./fixtures.ts.
//
//   import request from "supertest";
//   import { buildApp } from "../../src/app.ts";
//   import { login, csrfFrom } from "../support/auth.ts";
//   import { createUser } from "../support/fixtures.ts";
//
//   const app = buildApp();
//   const { user, password } = await createUser({ role: "EDITOR" });   // READER by default
//   const agent = request.agent(app);                                    // keeps the session cookie
//   const session = await login(agent, user.username, password);        // asserts the login worked
//   await agent.post("/some/form/").type("form").send({ _csrf: await session.csrf(), title: "x" }).expect(303);
//
// Every POST (PUT/PATCH/DELETE) needs the session's CSRF token: in the `_csrf` form field, or in the
// `X-CSRF-Token` header (`.set("X-CSRF-Token", await session.csrf())`). The token changes at login
// and logout; `session.csrf()` reads it from a signed-in page once and caches it (`csrf(true)`
// re-reads). `csrfFrom(html)` extracts the token from any page you already fetched.
import type { Agent } from "supertest";
import { expect } from "vitest";

/** The CSRF token in a page's form (`<input type="hidden" name="_csrf" value="...">`), or throws. */
export function csrfFrom(html: string): string {
  const m = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!m) throw new Error("no CSRF token in this page");
  return m[1]!;
}

export const LOGIN_PATH = "/accounts/login/";
export const PROFILE_PATH = "/accounts/profile/";

/** The session cookie value (name=value) from a response's Set-Cookie, if any. */
export function sessionCookie(res: { headers: Record<string, unknown> }): string | undefined {
  const raw = res.headers["set-cookie"];
  const list = Array.isArray(raw) ? raw : typeof raw === "string" ? [raw] : [];
  const c = list.find((s: string) => /^(__Host-)?folio\.sid=/.test(s));
  return c?.split(";")[0];
}

export interface LoggedIn {
  /** The session's CSRF token (read from a signed-in page on first call, then cached). */
  csrf(refresh?: boolean): Promise<string>;
}

/**
 * Signs `agent` in through the real login form: GET the page (session + token), POST the
 * credentials, assert the redirect (303). Returns a getter for the new session's CSRF token.
 */
export async function login(agent: Agent, username: string, password: string, next?: string): Promise<LoggedIn> {
  const page = await agent.get(LOGIN_PATH).expect(200);
  const res = await agent
    .post(LOGIN_PATH)
    .type("form")
    .send({ _csrf: csrfFrom(page.text), username, password, ...(next ? { next } : {}) });
  expect(res.status, `login of ${username} failed: ${res.text.slice(0, 300)}`).toBe(303);
  let token: string | undefined;
  return {
    async csrf(refresh = false) {
      if (!token || refresh) {
        const p = await agent.get(PROFILE_PATH).expect(200);
        token = csrfFrom(p.text);
      }
      return token;
    },
  };
}

/** Signs out through the real logout form. */
export async function logout(agent: Agent, session: LoggedIn): Promise<void> {
  await agent
    .post("/accounts/logout/")
    .type("form")
    .send({ _csrf: await session.csrf() })
    .expect(200);
}
