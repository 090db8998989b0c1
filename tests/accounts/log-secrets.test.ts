// Secrets never reach the log: the real server (`node --import tsx src/server.ts`) at LOG_LEVEL=info
// against this file's database, its real stdout captured, while a password reset is asked for and
// its link followed. The live token, the session cookie and an Authorization header must appear in
// no line; the access lines name the reset URL with the token masked.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { csrfFrom } from "../support/auth.ts";
import { createUser } from "../support/fixtures.ts";
import { parseMessage } from "../support/smtp.ts";
import { startServerProcess, testDatabaseEnv, type ServerProcess } from "../ops/support.ts";

/** What the log writes in place of a secret. */
const REDACTED = "[REDACTED]";

const dataDir = mkdtempSync(join(tmpdir(), "folio-log-secrets-"));
let server: ServerProcess;
let base: string;

beforeAll(async () => {
  // Development mode: no SMTP_URL, so the reset mail is written to DATA_DIR/mail/ (and logged).
  server = await startServerProcess(testDatabaseEnv(dataDir, { SITE_URL: "http://folio.test" }));
  base = `http://127.0.0.1:${server.port}`;
}, 90_000);

afterAll(() => {
  server?.kill("SIGKILL");
  rmSync(dataDir, { recursive: true, force: true });
});

/** A fetch that keeps the session cookie and never follows redirects. */
function browser() {
  let cookie = "";
  return {
    get cookie() {
      return cookie;
    },
    async fetch(path: string, init: RequestInit = {}) {
      const res = await fetch(base + path, {
        redirect: "manual",
        ...init,
        headers: { ...(cookie ? { cookie } : {}), ...(init.headers as Record<string, string>) },
      });
      const set = res.headers.getSetCookie().find((c) => c.startsWith("folio.sid="));
      if (set) cookie = set.split(";")[0]!;
      return { status: res.status, text: await res.text(), headers: res.headers };
    },
  };
}

const accessLines = () => server.logs().filter((l) => typeof (l.req as { url?: unknown } | undefined)?.url === "string");

describe("the log of a password reset", () => {
  it("never holds the reset token, the session cookie or an Authorization header", async () => {
    const { user } = await createUser({ email: "log.secret@example.test" });
    const b = browser();
    const form = await b.fetch("/accounts/password/reset/");
    expect(form.status).toBe(200);
    const asked = await b.fetch("/accounts/password/reset/", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ _csrf: csrfFrom(form.text), email: user.email }).toString(),
    });
    expect(asked.status).toBe(303);
    await server.waitFor(/mail written to file/);
    const files = readdirSync(join(dataDir, "mail"));
    expect(files).toHaveLength(1);
    const mail = parseMessage(readFileSync(join(dataDir, "mail", files[0]!), "utf8"), { from: "", to: [] });
    const link = /https?:\/\/\S+/.exec(mail.text)![0];
    const path = new URL(link).pathname;
    const token = path.split("/")[3]!;
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);

    // The link as e-mailed, the same without its trailing slash and in other letter case (Express
    // routes both), with the token repeated in the query, and a POST refused by the CSRF check
    // (which logs the path it refused).
    expect((await b.fetch(path, { headers: { authorization: "Bearer top-secret-bearer-value" } })).status).toBe(200);
    expect((await b.fetch(path.replace(/\/$/, "").replace("/accounts/", "/ACCOUNTS/"))).status).toBe(200);
    expect((await b.fetch(`${path}?token=${token}&password=hunter2-hunter2&page=2`)).status).toBe(200);
    const refused = await b.fetch(path, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "new_password1=x" });
    expect(refused.status).toBe(403);

    // Every request above has its access line (written when the response finished).
    const want = 6;
    await expect.poll(() => accessLines().length, { timeout: 10_000 }).toBeGreaterThanOrEqual(want);
    await server.waitFor(/CSRF verification failed/);

    const out = server.output();
    expect(out).not.toContain(token);
    expect(out).not.toContain("hunter2-hunter2");
    expect(out).not.toContain("top-secret-bearer-value");
    expect(out).not.toContain(b.cookie.split("=")[1]!);

    const urls = accessLines().map((l) => (l.req as { url: string }).url);
    expect(urls).toContain(`/accounts/reset/${REDACTED}/`);
    expect(urls).toContain(`/ACCOUNTS/reset/${REDACTED}`);
    expect(urls).toContain(`/accounts/reset/${REDACTED}/?token=${REDACTED}&password=${REDACTED}&page=2`);
    // The development mail log still names the file and the link, masked.
    const mailLine = server.logs().find((l) => l.msg === "mail written to file (SMTP_URL not set)")!;
    expect(mailLine.links).toEqual([`http://folio.test/accounts/reset/${REDACTED}/`]);
    const csrfLine = server.logs().find((l) => l.msg === "CSRF verification failed")!;
    expect(csrfLine.path).toBe(`/accounts/reset/${REDACTED}/`);
    // The reset page asks browsers not to send its URL on as a Referer.
    expect((await b.fetch(path)).headers.get("referrer-policy")).toBe("no-referrer");
  });
});

describe("the access log's URLs", () => {
  it("mask secret route parameters, token-shaped segments and secret query parameters, and nothing else", async () => {
    const t = "Q2xhc3NpZmllZC1yZXNldC10b2tlbi0xMjM0NTY3ODkw";
    // Slugs (lower case), dates, page numbers and search words stay readable.
    const post = "/blog/2026/11/21/a-rather-long-post-title-about-building-software-42/?page=3";
    const asked: [string, string][] = [
      [`/somewhere/${t}/else`, `/somewhere/${REDACTED}/else`],
      [
        `/x/?api_key=k1&Access_Token=k2&sig=k3&q=hello&page=2&code=k4`,
        `/x/?api_key=${REDACTED}&Access_Token=${REDACTED}&sig=${REDACTED}&q=hello&page=2&code=${REDACTED}`,
      ],
      [`/blog/search/?q=${t}`, `/blog/search/?q=${REDACTED}`],
      [post, post],
      ["/blog/search/?q=password+reset", "/blog/search/?q=password+reset"],
      ["/?logged=plain", "/?logged=plain"],
    ];
    const b = browser();
    for (const [path] of asked) expect((await b.fetch(path)).status).toBeLessThan(500);
    await expect.poll(() => accessLines().filter((l) => (l.req as { url: string }).url === "/?logged=plain").length, { timeout: 10_000 }).toBe(1);
    const urls = accessLines().map((l) => (l.req as { url: string }).url);
    for (const [, logged] of asked) expect(urls).toContain(logged);
  });
});
