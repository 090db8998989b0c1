// The soak's HTTP: one request with node:http on a keep-alive agent (the load generator's connections),
// and a browser-like client for the editors (a cookie jar, the CSRF token of a form, Origin on POSTs so
// that a refused form is kept for the writer: src/web/kept-form.ts).
import http from "node:http";
import { formBody, formValues } from "./forms.ts";

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** Wall time from sending to the last byte, ms. */
  ms: number;
}

export interface SendOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  agent?: http.Agent | false;
  /** Gives up (rejects with ETIMEDOUT) after this many ms. */
  timeoutMs?: number;
  /** Skip collecting the body (the load generator only counts bytes). */
  discardBody?: boolean;
}

/**
 * One request to base + path; rejects on a connection error (refused, reset, timeout): no HTTP answer.
 * A GET sent on a reused keep-alive connection that the server closed meanwhile (ECONNRESET/EPIPE with
 * req.reusedSocket: Nginx closes idle connections when it reloads its configuration) is sent again once
 * on a new connection, as browsers do (Node's documented remedy); `onRetry` counts those.
 */
export async function send(base: string, path: string, opts: SendOptions & { onRetry?: () => void } = {}): Promise<Answer> {
  try {
    return await sendOnce(base, path, opts);
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { reusedSocket?: boolean };
    if (!err.reusedSocket || (opts.method ?? "GET") !== "GET" || !["ECONNRESET", "EPIPE"].includes(err.code ?? "")) throw e;
    opts.onRetry?.();
    return sendOnce(base, path, opts);
  }
}

function sendOnce(base: string, path: string, opts: SendOptions): Promise<Answer> {
  const u = new URL(path, base);
  const t0 = performance.now();
  return new Promise((done, fail) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.body !== undefined) headers["content-length"] = String(Buffer.byteLength(opts.body));
    const req = http.request(
      { host: u.hostname, port: u.port, path: u.pathname + u.search, method: opts.method ?? "GET", headers, agent: opts.agent ?? false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (d: Buffer) => {
          if (!opts.discardBody) chunks.push(d);
        });
        res.on("end", () =>
          done({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8"), ms: performance.now() - t0 }),
        );
        res.on("error", fail);
      },
    );
    if (opts.timeoutMs) req.setTimeout(opts.timeoutMs, () => req.destroy(Object.assign(new Error("request timed out"), { code: "ETIMEDOUT" })));
    req.on("error", (e) => fail(Object.assign(e, { reusedSocket: req.reusedSocket })));
    req.end(opts.body);
  });
}

/** The apps run in production (Secure session cookie) behind a TLS-terminating proxy: requests say so. */
export const PROXIED = { "x-forwarded-proto": "https" } as const;

/** A signed-in (or anonymous) browser on one base URL: Nginx, or one app's own port. */
export class Browser {
  readonly cookies = new Map<string, string>();
  constructor(public base: string) {}

  /** The Cookie header of this browser (for the load generator's signed-in requests). */
  cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }

  /** The same session on another base URL (another app process). */
  on(base: string): Browser {
    const b = new Browser(base);
    for (const [k, v] of this.cookies) b.cookies.set(k, v);
    return b;
  }

  async request(method: string, path: string, form?: Record<string, string | string[]>): Promise<Answer> {
    const body = form ? formBody(form) : undefined;
    const headers: Record<string, string> = { ...PROXIED, accept: "text/html" };
    if (this.cookies.size) headers.cookie = this.cookieHeader();
    if (body !== undefined) {
      headers["content-type"] = "application/x-www-form-urlencoded";
      // A form of this site's own page (as a browser says): a refused save comes back kept (src/web/kept-form.ts).
      headers["sec-fetch-site"] = "same-origin";
    }
    const res = await send(this.base, path, { method, headers, body, timeoutMs: 30_000 });
    for (const c of [res.headers["set-cookie"] ?? []].flat()) {
      const [pair] = c.split(";");
      const i = pair!.indexOf("=");
      const name = pair!.slice(0, i);
      const value = pair!.slice(i + 1);
      if (/max-age=0|expires=thu, 01 jan 1970/i.test(c)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return res;
  }

  get(path: string): Promise<Answer> {
    return this.request("GET", path);
  }

  /** Opens the page of a form, fills it as shown with `changes` on top, and posts it to the form's page. */
  async submit(path: string, changes: Record<string, string>, which?: (attrs: Record<string, string>) => boolean): Promise<Answer> {
    const page = await this.get(path);
    if (page.status !== 200) return page;
    return this.post(path, { ...formValues(page.body, which), ...changes });
  }

  post(path: string, form: Record<string, string | string[]>): Promise<Answer> {
    return this.request("POST", path, form);
  }

  /** Signs in through the login form; true when the site answered the redirect of a successful sign-in. */
  async signIn(username: string, password: string): Promise<boolean> {
    const page = await this.get("/accounts/login/");
    const token = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1];
    if (!token) return false;
    const res = await this.post("/accounts/login/", { _csrf: token, username, password });
    return res.status === 303;
  }
}
