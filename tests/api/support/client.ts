// The API through a client generated from its OpenAPI document by third-party tools: openapi-typescript
// wrote ../openapi.d.ts (`npm run api:types`), openapi-fetch types every call with it. startApi() runs
// the real app on a free port (an http server around buildApp()); every response any of its clients
// receives is checked against the document (./contract.ts) before the test sees it.
//
//   const api = await startApi();
//   const { user } = await createUser({ role: "AUTHOR" });
//   const author = api.as(user);                       // a fresh access token on every request
//   const { data, response } = await author.GET("/api/v1/me");
//   const anon = api.anonymous;
//   const same = api.withToken(access);                // a token from POST /api/v1/auth/token, sent as is
//   await api.close();                                 // afterAll
//
// api.checked(method, path, init) is a plain fetch with the same check (for requests the typed client
// would not let a test write: hostile values, wrong types), returning the status, headers and body.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import createClient, { type Client, type Middleware } from "openapi-fetch";
import { buildApp } from "../../../src/app.ts";
import { signAccessToken } from "../../../src/api/tokens.ts";
import type { SessionUser } from "../../../src/accounts/users.ts";
import type { paths } from "../openapi.d.ts";
import { csrfFrom, LOGIN_PATH, PROFILE_PATH } from "../../support/auth.ts";
import { contract } from "./contract.ts";

export type ApiClient = Client<paths>;
export type TokenUser = Pick<SessionUser, "id" | "email" | "role">;

/** Fails the call when a response breaks the contract (the message names the operation and what broke). */
export class ContractViolation extends Error {}

/** A response as api.checked() returns it. */
export interface CheckedResponse {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed JSON body, or undefined. */
  json: unknown;
}

export interface Api {
  baseUrl: string;
  server: Server;
  /** A client that authenticates as `user` (a new access token per request), or anonymous for null. */
  as(user: TokenUser | null): ApiClient;
  anonymous: ApiClient;
  /** A client that sends this access token as is (one obtained from POST /api/v1/auth/token). */
  withToken(access: string): ApiClient;
  /**
   * Signs in through the site's login form (as a browser would) and returns the session cookie and its
   * CSRF token: the API's other authentication (Cookie, plus X-CSRF-Token on unsafe methods).
   */
  session(username: string, password: string): Promise<{ cookie: string; csrf: string }>;
  /** A signed access token for `user` (signAccessToken from src/api/tokens.ts). */
  tokenFor(user: TokenUser): string;
  /** fetch(baseUrl + path) with the contract check; throws ContractViolation when broken. */
  checked(method: string, path: string, init?: { headers?: Record<string, string>; body?: string }): Promise<CheckedResponse>;
  /** How many responses were checked against the document. */
  readonly validated: number;
  close(): Promise<void>;
}

function check(method: string, url: string, status: number, contentType: string | null, text: string): void {
  const errs = contract().errors({ method, path: new URL(url).pathname, status, contentType, body: text });
  if (errs.length) throw new ContractViolation(`The response breaks the OpenAPI contract:\n  ${errs.join("\n  ")}`);
}

export async function startApi(): Promise<Api> {
  const server = createServer(buildApp());
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let validated = 0;

  const validate: Middleware = {
    async onResponse({ request, response }) {
      check(request.method, request.url, response.status, response.headers.get("content-type"), await response.clone().text());
      validated++;
      return undefined;
    },
  };
  const make = (user: TokenUser | null | string): ApiClient => {
    const client = createClient<paths>({ baseUrl });
    if (user)
      client.use({
        onRequest({ request }) {
          request.headers.set("Authorization", `Bearer ${typeof user === "string" ? user : signAccessToken(user)}`);
          return request;
        },
      });
    client.use(validate);
    return client;
  };

  return {
    baseUrl,
    server,
    as: make,
    anonymous: make(null),
    withToken: (access) => make(access),
    tokenFor: (user) => signAccessToken(user),
    async session(username, password) {
      const cookieOf = (res: Response, fallback: string) =>
        res.headers
          .getSetCookie()
          .map((c) => c.split(";")[0]!)
          .find((c) => /^(__Host-)?folio\.sid=/.test(c)) ?? fallback;
      const page = await fetch(`${baseUrl}${LOGIN_PATH}`);
      let cookie = cookieOf(page, "");
      const signIn = await fetch(`${baseUrl}${LOGIN_PATH}`, {
        method: "POST",
        redirect: "manual",
        headers: { Cookie: cookie, "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ _csrf: csrfFrom(await page.text()), username, password }).toString(),
      });
      if (signIn.status !== 303) throw new Error(`sign-in of ${username} failed: ${signIn.status}`);
      cookie = cookieOf(signIn, cookie);
      const profile = await fetch(`${baseUrl}${PROFILE_PATH}`, { headers: { Cookie: cookie } });
      return { cookie, csrf: csrfFrom(await profile.text()) };
    },
    async checked(method, path, init = {}) {
      const res = await fetch(baseUrl + path, { method, headers: init.headers, body: init.body, redirect: "manual" });
      const text = await res.text();
      check(method, baseUrl + path, res.status, res.headers.get("content-type"), text);
      validated++;
      let json: unknown;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = undefined;
      }
      return { status: res.status, headers: res.headers, text, json };
    },
    get validated() {
      return validated;
    },
    close: () =>
      new Promise<void>((done, fail) => {
        server.closeAllConnections();
        server.close((err) => (err ? fail(err) : done()));
      }),
  };
}
