// The site stays up through a database restart: a dedicated embedded PostgreSQL (its own data folder
// and port, so the test may stop it) under a production server with two workers, while readers search
// and page through lists and an editor saves in the admin. PostgreSQL is stopped (fast shutdown: it
// terminates every connection, including clients held in a transaction) and started again:
// - no process dies (a held pool client without an 'error' listener used to kill every worker);
// - while it is down a reader page the page cache holds a copy of answers that copy (200, X-Cache:
//   STALE: stale-if-error, src/cache/pages.ts), a page it holds no copy of and every save answer 503
//   with Retry-After and the site's page, never 500 or a reset; /readyz says 503;
// - once it is back, every kind of request succeeds again (polled, with a generous bound).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import http from "node:http";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startEmbedded, type EmbeddedHandle } from "../../src/db/embedded.ts";
import { ensureDatabase } from "../../src/db/migrate.ts";
import { freePort, productionEnv, startServerProcess, type ServerProcess } from "./support.ts";
import { until } from "../support/poll.ts";

const home = mkdtempSync(join(tmpdir(), "folio-outage-"));
chmodSync(home, 0o755); // as root, PostgreSQL runs as the postgres user, who must reach the cluster
const serverData = mkdtempSync(join(tmpdir(), "folio-outage-data-"));
let pgPort = 0;
let pg: EmbeddedHandle | undefined;
let server: ServerProcess | undefined;
let admin = { username: "", password: "" };

const startPg = () => startEmbedded({ dataHome: home, port: pgPort });

beforeAll(async () => {
  pgPort = await freePort();
  pg = await startPg();
  await ensureDatabase(pg.adminUrl, "folio");
  // The primary applies the migrations, adds the demo content (posts to search and list) and prints
  // the first admin's password. TRUST_PROXY + X-Forwarded-Proto: https lets the Secure session cookie
  // of production be set over the test's plain HTTP.
  server = await startServerProcess(
    productionEnv(pg.urlFor("folio"), { WEB_CONCURRENCY: "2", SEED_DEMO: "true", TRUST_PROXY: "true", DATA_DIR: serverData, DATABASE_POOL_SIZE: "5" }),
  );
  const m = /username: (\S+)\s+password: (\S+)/.exec(server.output());
  expect(m, server.output()).not.toBeNull();
  admin = { username: m![1]!, password: m![2]! };
}, 180_000);

afterAll(async () => {
  server?.kill("SIGKILL");
  await pg?.stop().catch(() => {});
  rmSync(home, { recursive: true, force: true });
  rmSync(serverData, { recursive: true, force: true });
}, 60_000);

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A browser-like client: keeps the session cookie, speaks as if behind a TLS-terminating proxy. */
class Client {
  private cookies = new Map<string, string>();
  constructor(private readonly port: number) {}

  send(method: string, path: string, form?: Record<string, string>): Promise<Answer> {
    const body = form ? new URLSearchParams(form).toString() : undefined;
    const headers: Record<string, string> = { host: "folio.test", accept: "text/html", "x-forwarded-proto": "https" };
    if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
    if (body !== undefined) {
      headers["content-type"] = "application/x-www-form-urlencoded";
      headers["content-length"] = String(Buffer.byteLength(body));
    }
    return new Promise((done, fail) => {
      const req = http.request({ host: "127.0.0.1", port: this.port, path, method, headers, agent: false }, (res) => {
        for (const c of res.headers["set-cookie"] ?? []) {
          const [pair] = c.split(";");
          const i = pair!.indexOf("=");
          this.cookies.set(pair!.slice(0, i), pair!.slice(i + 1));
        }
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (text += d));
        res.on("end", () => done({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
        res.on("error", fail);
      });
      req.on("error", fail);
      req.end(body);
    });
  }

  static csrf(html: string): string {
    const m = /name="_csrf" value="([^"]+)"/.exec(html);
    if (!m) throw new Error(`no CSRF token in: ${html.slice(0, 300)}`);
    return m[1]!;
  }
}

type Kind = "search" | "list" | "save";
interface Outcome {
  kind: Kind;
  at: number;
  status: number; // 0: no HTTP answer (connection refused or reset)
  error?: string;
  retryAfter?: string;
  /** X-Cache of a reader page: HIT, MISS, STALE (a copy served while the database is down) or none. */
  cache?: string;
}

/** How this file polls (tests/support/poll.ts): up to 30 s; a timeout shows the server's output. */
const polled = { timeout: 30_000, interval: 50, context: () => `server output:\n${server?.output().slice(-4000)}` };

describe("a database restart while requests are in flight", () => {
  it("kills no process, answers 503 meanwhile, and serves again once the database is back", async () => {
    const port = server!.port;
    await until(() => servingPids(server!).size === 2, { label: "both workers serve", ...polled });
    const workersBefore = servingPids(server!);

    // The editor signs in once.
    const editor = new Client(port);
    const loginPage = await editor.send("GET", "/accounts/login/");
    expect(loginPage.status).toBe(200);
    const signedIn = await editor.send("POST", "/accounts/login/", { _csrf: Client.csrf(loginPage.body), username: admin.username, password: admin.password });
    expect(signedIn.status, signedIn.body.slice(0, 500)).toBe(303);

    const outcomes: Outcome[] = [];
    let running = true;
    const words = ["postgres", "index", "deploy", "testing", "cache", "logs"];
    let n = 0;
    const record = async (kind: Kind, run: () => Promise<Answer>) => {
      try {
        const res = await run();
        outcomes.push({
          kind,
          at: Date.now(),
          status: res.status,
          retryAfter: res.headers["retry-after"] as string | undefined,
          cache: res.headers["x-cache"] as string | undefined,
        });
      } catch (e) {
        outcomes.push({ kind, at: Date.now(), status: 0, error: (e as NodeJS.ErrnoException).code ?? String(e) });
      }
    };
    const reader = new Client(port);
    const loops: Array<Promise<void>> = [];
    for (let i = 0; i < 3; i++) {
      loops.push(
        (async () => {
          while (running) await record("search", () => reader.send("GET", `/blog/search/?q=${words[n++ % words.length]}`));
        })(),
        (async () => {
          while (running) await record("list", () => reader.send("GET", `/blog/?page=${(n++ % 4) + 1}`));
        })(),
      );
    }
    loops.push(
      (async () => {
        while (running) {
          await record("save", async () => {
            const form = await editor.send("GET", "/admin/blog/category/add/");
            if (form.status !== 200) return form;
            return editor.send("POST", "/admin/blog/category/add/", {
              _csrf: Client.csrf(form.body),
              name: `Outage ${++n} ${Date.now()}`,
              slug: "",
              description: "Saved during a restart test.",
              _save: "1",
            });
          });
        }
      })(),
    );
    // Served for real: a stale copy (X-Cache: STALE) is what the outage answers, not a success.
    const ok = (kind: Kind, since = 0) =>
      outcomes.some((o) => o.kind === kind && o.at >= since && (o.status === 200 || o.status === 303) && o.cache !== "STALE");

    try {
      await until(() => ok("search") && ok("list") && ok("save"), { label: "every kind of request has succeeded", ...polled });

      // Down: PostgreSQL's fast shutdown terminates every connection, held clients included.
      const down = Date.now();
      await pg!.stop();
      const refused = (kind: Kind) => outcomes.some((o) => o.kind === kind && o.at > down && o.status === 503);
      // Readers' pages: the stale copy where one is kept, 503 otherwise (a search for a word not cached yet).
      const answered = (kind: Kind) => outcomes.some((o) => o.kind === kind && o.at > down && (o.status === 503 || o.cache === "STALE"));
      await until(() => answered("search") && answered("list") && refused("save"), {
        label: "searches and list pages answer stale copies or 503, saves 503, during the outage",
        ...polled,
      });
      const stale = await reader.send("GET", "/blog/?page=2"); // read by the list loops before: both workers keep a copy
      expect(stale.status).toBe(200);
      expect(["STALE", "HIT"]).toContain(stale.headers["x-cache"]); // HIT: still fresh (no save invalidated it since)
      expect(stale.body).toContain('class="post-card');
      const uncached = await reader.send("GET", "/blog/tag/never-cached-during-the-outage/");
      expect(uncached.status).toBe(503);
      expect(uncached.headers["retry-after"]).toBe("5");
      expect(uncached.body).toContain('class="error-page"');
      expect(uncached.body).toContain("Back in a moment");
      expect((await reader.send("GET", "/readyz")).status).toBe(503);

      // Up again: every kind of request succeeds again.
      pg = await startPg();
      const up = Date.now();
      await until(() => ok("search", up) && ok("list", up) && ok("save", up), { label: "search, list pages and admin saves succeed again", ...polled });
      const back = Date.now() - up;
      console.log(`serving again ${(back / 1000).toFixed(1)} s after PostgreSQL was back (it was down ${((up - down) / 1000).toFixed(1)} s)`);
    } finally {
      running = false;
      await Promise.all(loops);
    }

    // Nothing died, nothing was reset, nothing answered 500: only successes and 503s with Retry-After.
    expect(server!.child.exitCode).toBeNull();
    expect(server!.output()).not.toMatch(/worker died/);
    expect(servingPids(server!)).toEqual(workersBefore);
    expect(outcomes.filter((o) => o.status === 0)).toEqual([]);
    const unexpected = outcomes.filter((o) => ![200, 303, 503].includes(o.status));
    expect(outcomes.some((o) => o.cache === "STALE")).toBe(true);
    expect(unexpected, server!.output().slice(-4000)).toEqual([]);
    expect(outcomes.filter((o) => o.status === 503 && o.retryAfter !== "5")).toEqual([]);
    const count = (kind: Kind, status: number) => outcomes.filter((o) => o.kind === kind && o.status === status).length;
    console.log(
      `requests: ${outcomes.length}; search ${count("search", 200)} ok / ${count("search", 503)} 503, list ${count("list", 200)} / ${count("list", 503)}, saves ${count("save", 303)} / ${count("save", 503)}; stale copies ${outcomes.filter((o) => o.cache === "STALE").length}`,
    );
  }, 180_000);
});

/** Processes that logged "Folio is serving" (the workers). */
function servingPids(proc: ServerProcess): Set<number> {
  return new Set(
    proc
      .logs()
      .filter((l) => String(l.msg ?? "").startsWith("Folio is serving"))
      .map((l) => Number(l.pid)),
  );
}
