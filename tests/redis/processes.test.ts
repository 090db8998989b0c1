// Two real server processes (spawned like `npm start`) sharing one PostgreSQL (this file's database) and
// one real redis-server: sessions, the API's rate limits and the page cache are shared through Redis;
// Redis killed under load costs readers nothing (no 5xx, one log line per process), signed-in actions
// get the 503, and everything uses Redis again once it is back; a server started while Redis is down
// starts and serves.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getPostWithTags } from "../../src/posts/service.ts";
import { createUser, makeCategory, makePost } from "../support/fixtures.ts";
import { rawClient, startRedis, type RawRedis, type TestRedis } from "../support/redis.ts";
import { csrfFrom } from "../support/auth.ts";
import { until } from "../support/poll.ts";
import { request, startServerProcess, testDatabaseEnv, type RawResponse, type ServerProcess } from "../ops/support.ts";

let redis: TestRedis;
let raw: RawRedis;
const servers: ServerProcess[] = [];
const dirs: string[] = [];
let a: ServerProcess;
let b: ServerProcess;
let editor = { username: "", password: "" };
let reader = { username: "", password: "" };
let post: { id: number; publish: Date; slug: string; title: string };
let postPath = "";

const RATE_LIMIT = 30;

async function spawn(extra: Record<string, string> = {}): Promise<ServerProcess> {
  const dir = mkdtempSync(join(tmpdir(), "folio-redis-app-"));
  dirs.push(dir);
  const s = await startServerProcess(
    testDatabaseEnv(dir, { REDIS_URL: redis.url, API_RATE_LIMIT_IP: String(RATE_LIMIT), JOBS_IN_PROCESS: "false", SITE_URL: "http://folio.test", ...extra }),
  );
  servers.push(s);
  return s;
}

beforeAll(async () => {
  redis = await startRedis();
  raw = await rawClient(redis.url);
  const e = await createUser({ role: "EDITOR" });
  editor = { username: e.user.username, password: e.password };
  const r = await createUser({ role: "READER" });
  reader = { username: r.user.username, password: r.password };
  const cat = await makeCategory("Redis news");
  const p = await makePost({ title: "Shared through Redis", authorId: e.user.id, categoryId: cat.id, publish: new Date(Date.now() - 3_600_000) });
  post = { id: p.id, publish: p.publish, slug: p.slug, title: p.title };
  const d = post.publish;
  const two = (n: number) => String(n).padStart(2, "0");
  postPath = `/blog/${d.getUTCFullYear()}/${two(d.getUTCMonth() + 1)}/${two(d.getUTCDate())}/${post.slug}/`; // blog:post_detail
  // One after the other: two servers starting at the same moment on a fresh database can deadlock in
  // pg-boss's queue creation (src/jobs/index.ts, start-up), which is not what this file tests.
  a = await spawn();
  b = await spawn();
}, 120_000);

afterAll(async () => {
  for (const s of servers) s.kill("SIGKILL");
  await Promise.all(servers.map((s) => s.exited));
  await raw?.close().catch(() => raw.destroy());
  await redis?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}, 60_000);

/** A browser: keeps its cookies, talks to whichever server it is pointed at. */
class Browser {
  cookies = new Map<string, string>();

  async send(server: ServerProcess, method: string, path: string, form?: Record<string, string>): Promise<RawResponse> {
    const headers: Record<string, string> = { accept: "text/html" };
    if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
    let body: string | undefined;
    if (form) {
      body = new URLSearchParams(form).toString();
      headers["content-type"] = "application/x-www-form-urlencoded";
      headers["content-length"] = String(Buffer.byteLength(body));
    }
    const res = await request(server.port, path, headers, { method, body });
    const set = res.headers["set-cookie"] ?? [];
    for (const c of set) {
      const [pair] = c.split(";");
      const i = pair!.indexOf("=");
      this.cookies.set(pair!.slice(0, i), pair!.slice(i + 1));
    }
    return res;
  }

  async login(server: ServerProcess, who: { username: string; password: string }): Promise<void> {
    const page = await this.send(server, "GET", "/accounts/login/");
    expect(page.status).toBe(200);
    const res = await this.send(server, "POST", "/accounts/login/", { _csrf: csrfFrom(page.body), username: who.username, password: who.password });
    expect(res.status, res.body.slice(0, 300)).toBe(303);
  }
}

/** How this file polls (tests/support/poll.ts): up to 30 s; a timeout shows both processes' output. */
const polled = { timeout: 30_000, interval: 25, context: () => `A:\n${a?.output().slice(-3000)}\nB:\n${b?.output().slice(-3000)}` };

const count = (s: ServerProcess, pattern: RegExp) =>
  s
    .output()
    .split("\n")
    .filter((l) => pattern.test(l)).length;
const LOST = /Redis unavailable: serving without it/;
const BACK = /Redis available again/;

describe("two processes sharing one Redis", () => {
  it("a session made on one process works on the other, and 'log out everywhere' ends it on both", async () => {
    const ann = new Browser();
    await ann.login(a, editor);
    const profileOnB = await ann.send(b, "GET", "/accounts/profile/");
    expect(profileOnB.status).toBe(200);
    expect(profileOnB.body).toContain(editor.username);
    expect((await raw.keys("folio:*:sess:*")).length).toBeGreaterThanOrEqual(1);

    // a second browser of the same user, signed in on B; the first one signs out everywhere on A
    const phone = new Browser();
    await phone.login(b, editor);
    expect((await phone.send(a, "GET", "/accounts/profile/")).status).toBe(200);
    const profile = await ann.send(a, "GET", "/accounts/profile/");
    const out = await ann.send(a, "POST", "/accounts/profile/logout-everywhere/", { _csrf: csrfFrom(profile.body) });
    expect(out.status, out.body.slice(0, 300)).toBe(200);
    const after = await phone.send(b, "GET", "/accounts/profile/");
    expect([302, 303]).toContain(after.status);
    expect(after.headers.location).toMatch(/\/accounts\/login\//);
  });

  it("the API's rate limit counts requests to both processes together", async () => {
    const left: number[] = [];
    for (let i = 0; i < RATE_LIMIT; i++) {
      const res = await request((i % 2 ? b : a).port, "/api/v1/categories", { accept: "application/json" });
      expect(res.status, res.body.slice(0, 200)).toBe(200);
      left.push(Number(/r=(\d+)/.exec(String(res.headers.ratelimit))![1]));
    }
    // one count for both: A and B alternate and the requests left go down by one each time
    expect(left).toEqual(Array.from({ length: RATE_LIMIT }, (_, i) => RATE_LIMIT - 1 - i));
    const over = await request(a.port, "/api/v1/categories", { accept: "application/json" });
    expect(over.status).toBe(429);
    expect(Number(over.headers["retry-after"])).toBeGreaterThan(0);
    expect((await request(b.port, "/api/v1/categories", { accept: "application/json" })).status).toBe(429);
  });

  it("a page cached by one process is a HIT on the other; an admin save on A is visible on B at the very next request", async () => {
    const first = await request(a.port, postPath);
    expect(first.status).toBe(200);
    expect(["MISS", "HIT"]).toContain(first.headers["x-cache"]);
    await until(async () => (await raw.keys("folio:*:c:page:*")).length > 0, { label: "A's copy is stored in Redis", ...polled });
    const onB = await request(b.port, postPath);
    expect(onB.headers["x-cache"]).toBe("HIT");
    expect(onB.body).toBe(first.body);
    expect(onB.body).toContain("Shared through Redis");

    const ed = new Browser();
    await ed.login(a, editor);
    const form = await ed.send(a, "GET", `/admin/blog/post/${post.id}/change/`);
    expect(form.status).toBe(200);
    const current = (await getPostWithTags(post.id))!;
    const publish = /name="publish"[^>]*value="([^"]+)"/.exec(form.body)?.[1];
    expect(publish).toBeTruthy();
    const saved = await ed.send(a, "POST", `/admin/blog/post/${post.id}/change/`, {
      _csrf: csrfFrom(form.body),
      title: "Edited on A, seen on B",
      slug: current.slug,
      body: current.body,
      excerpt: current.excerpt,
      metaDescription: current.metaDescription,
      status: current.status,
      publish: publish!,
      authorId: String(current.authorId),
      categoryId: String(current.categoryId),
      tags: current.tagNames.join(", "),
      _version: String(current.version),
      _save: "1",
    });
    expect(saved.status, saved.body.slice(0, 500)).toBe(303);
    // no polling: the invalidation is in Redis before the save is answered
    const next = await request(b.port, postPath);
    expect(next.status).toBe(200);
    expect(next.headers["x-cache"]).toBe("MISS");
    expect(next.body).toContain("Edited on A, seen on B");
    const list = await request(b.port, "/blog/");
    expect(list.body).toContain("Edited on A, seen on B");
  });

  it("Redis killed under load: readers get no 5xx, one log line per process; signed-in actions 503; all back once Redis is", async () => {
    const signedIn = new Browser();
    await signedIn.login(a, reader);
    const profile = await signedIn.send(b, "GET", "/accounts/profile/");
    expect(profile.status).toBe(200);
    const token = csrfFrom(profile.body);
    const anonymous = new Browser();

    interface Outcome {
      at: number;
      status: number;
      who: string;
      path: string;
    }
    const outcomes: Outcome[] = [];
    let running = true;
    const loop = async (who: string, browser: Browser, server: ServerProcess, paths: string[]) => {
      let i = 0;
      while (running) {
        const path = paths[i++ % paths.length]!;
        try {
          const res = await browser.send(server, "GET", path);
          outcomes.push({ at: Date.now(), status: res.status, who, path });
        } catch {
          outcomes.push({ at: Date.now(), status: 0, who, path });
        }
      }
    };
    const readerPaths = ["/blog/", postPath, "/"];
    const loops = [
      loop("anonymous@A", anonymous, a, readerPaths),
      loop("anonymous@B", anonymous, b, readerPaths),
      loop("signed-in@A", signedIn, a, readerPaths),
      loop("signed-in@B", signedIn, b, readerPaths),
    ];
    const since = (t: number, who?: string) => outcomes.filter((o) => o.at > t && (!who || o.who === who)).length;
    try {
      await until(() => ["anonymous@A", "anonymous@B", "signed-in@A", "signed-in@B"].every((w) => since(0, w) >= 3), {
        label: "every reader loop has been served",
        ...polled,
      });
      const lostBefore = [count(a, LOST), count(b, LOST)];

      const down = Date.now();
      await redis.kill();
      await until(() => count(a, LOST) > lostBefore[0]! && count(b, LOST) > lostBefore[1]!, {
        label: "both processes log that Redis is unavailable",
        ...polled,
      });
      await until(() => ["anonymous@A", "anonymous@B", "signed-in@A", "signed-in@B"].every((w) => since(down, w) >= 10), {
        label: "readers keep being served during the outage",
        ...polled,
      });
      // a signed-in action needs the session: the site's 503 with Retry-After, not an error page
      const action = await signedIn.send(b, "POST", "/accounts/profile/logout-everywhere/", { _csrf: token });
      expect(action.status).toBe(503);
      expect(action.headers["retry-after"]).toBe("5");
      expect(action.body).toContain('class="error-page"');
      // a signed-in page is served as to an anonymous visitor (the sign-in page), not as an error
      const asAnonymous = await signedIn.send(a, "GET", "/accounts/profile/");
      expect([302, 303]).toContain(asAnonymous.status);
      // the API still answers (per-process limits), the probes too
      expect((await request(a.port, "/api/v1/categories", { accept: "application/json" })).status).toBeLessThan(500);
      expect((await request(b.port, "/readyz")).status).toBe(200);

      await redis.restart();
      await until(() => count(a, BACK) >= 1 && count(b, BACK) >= 1, { label: "both processes log that Redis is back", ...polled });
      const up = Date.now();
      await until(() => since(up) >= 20, { label: "readers keep being served after the restart", ...polled });
    } finally {
      running = false;
      await Promise.all(loops);
    }

    const tally = outcomes.reduce<Record<string, number>>((m, o) => ((m[`${o.who} ${o.status}`] = (m[`${o.who} ${o.status}`] ?? 0) + 1), m), {});
    const errors = [...new Set([...a.logs(), ...b.logs()].filter((l) => Number(l.level) >= 50).map((l) => String(l.msg)))];
    console.log(`reader requests through the Redis restart: ${JSON.stringify(tally)}; error-level log messages: ${JSON.stringify(errors)}`);
    // readers: only answers, never a 5xx or a reset
    const bad = outcomes.filter((o) => o.status === 0 || o.status >= 500);
    expect(bad, `${bad.length} of ${outcomes.length} reader requests failed`).toEqual([]);
    // the only error lines besides the outage's: the refused signed-in action (a 503)
    const requestErrors = [...a.logs(), ...b.logs()].filter((l) => Number(l.level) >= 50 && !LOST.test(String(l.msg)));
    expect(requestErrors.map((l) => [l.msg, (l.res as { statusCode?: number } | undefined)?.statusCode])).toEqual([["request errored", 503]]);
    // one line when it went away and one when it came back, per process (not one per request)
    expect(count(a, LOST)).toBe(1);
    expect(count(b, LOST)).toBe(1);
    expect(count(a, BACK)).toBe(1);
    expect(count(b, BACK)).toBe(1);

    // back to using Redis: pages are cached there again and shared, sessions work across processes
    const first = await request(b.port, "/blog/categories/");
    expect(first.status).toBe(200);
    await until(async () => (await raw.keys("folio:*:c:page:*/blog/categories/")).length > 0, {
      label: "B's copy is stored in the restarted Redis",
      ...polled,
    });
    expect((await request(a.port, "/blog/categories/")).headers["x-cache"]).toBe("HIT");
    const again = new Browser();
    await again.login(b, reader);
    expect((await again.send(a, "GET", "/accounts/profile/")).status).toBe(200);
  });

  it("a server started while Redis is down starts, serves readers, and uses Redis once it is up", async () => {
    const aBack = count(a, BACK);
    await redis.kill();
    const c = await spawn();
    expect(c.output()).toMatch(/Redis unreachable at start-up/);
    expect((await request(c.port, "/blog/")).status).toBe(200);
    expect((await request(c.port, postPath)).status).toBe(200);
    expect((await request(c.port, "/accounts/login/")).status).toBe(200);
    await redis.restart();
    await until(() => BACK.test(c.output()), { label: "C logs that Redis is available", ...polled });
    // A lost Redis too (its session reads answer "anonymous" meanwhile): wait until it is back as well
    await until(() => count(a, BACK) > aBack, { label: "A logs that Redis is available again", ...polled });
    const browser = new Browser();
    await browser.login(c, reader);
    expect((await browser.send(c, "GET", "/accounts/profile/")).status).toBe(200);
    expect((await browser.send(a, "GET", "/accounts/profile/")).status).toBe(200);
  });
});
