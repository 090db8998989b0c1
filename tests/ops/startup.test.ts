// Start-up: a bad setting stops the process with a message naming the variable (no stack trace),
// an unsafe production configuration is refused, and a start-up that fails half-way (port taken)
// exits 1 after stopping what it had started (the embedded PostgreSQL included).
import { afterAll, describe, expect, it } from "vitest";
import { chmodSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig, ConfigError, DEFAULT_SESSION_SECRET } from "../../src/config.ts";
import { resolveDataDir } from "../../src/db/embedded.ts";
import { freePort, productionEnv, spawnServer, tryConnect } from "./support.ts";

const STACK = /\n\s+at .+:\d+:\d+/;

describe("parseConfig", () => {
  const bad: Array<[string, Record<string, string>]> = [
    ["PORT", { PORT: "abc" }],
    ["PORT", { PORT: "70000" }],
    ["PORT", { PORT: "-1" }],
    ["DATABASE_URL", { DATABASE_URL: "mysql://x" }],
    ["DATABASE_URL", { DATABASE_URL: "x".repeat(5000) }],
    ["NODE_ENV", { NODE_ENV: "staging" }],
    ["SITE_URL", { SITE_URL: "javascript:alert(1)" }],
    ["SITE_URL", { SITE_URL: "not a url" }],
    ["SEED_DEMO", { SEED_DEMO: "maybe" }],
    ["LOG_LEVEL", { LOG_LEVEL: "verbose" }],
    ["POSTS_PER_PAGE", { POSTS_PER_PAGE: "0" }],
    ["POSTS_PER_PAGE", { POSTS_PER_PAGE: "10; DROP TABLE" }],
    ["DATABASE_POOL_SIZE", { DATABASE_POOL_SIZE: "1e9" }],
    ["EMBEDDED_PG_PORT", { EMBEDDED_PG_PORT: "80" }],
    ["SMTP_URL", { SMTP_URL: "http://mail" }],
  ];
  for (const [name, env] of bad) {
    it(`rejects ${name}=${Object.values(env)[0]!.slice(0, 30)} naming the variable`, () => {
      expect(() => parseConfig(env)).toThrow(ConfigError);
      expect(() => parseConfig(env)).toThrow(new RegExp(`\\b${name}: `));
    });
  }

  it("accepts an empty environment with the documented defaults", () => {
    const c = parseConfig({});
    expect(c).toMatchObject({ NODE_ENV: "development", PORT: 3000, HOST: "0.0.0.0", SITE_URL: "http://localhost:3000", SEED_DEMO: true, POSTS_PER_PAGE: 10 });
    expect(c.DATABASE_URL).toBeUndefined();
    expect(c.ALLOWED_HOSTS).toEqual(["localhost", "127.0.0.1"]);
  });

  it("parses lists, booleans and trims SITE_URL's trailing slash", () => {
    const c = parseConfig({ ALLOWED_HOSTS: " a.example , .b.example,, ", SEED_DEMO: "no", SITE_URL: "https://blog.example.com//" });
    expect(c.ALLOWED_HOSTS).toEqual(["a.example", ".b.example"]);
    expect(c.SEED_DEMO).toBe(false);
    expect(c.SITE_URL).toBe("https://blog.example.com");
  });

  it("refuses production with the default or a short SESSION_SECRET", () => {
    expect(() => parseConfig({ NODE_ENV: "production" })).toThrow(/SESSION_SECRET: /);
    expect(() => parseConfig({ NODE_ENV: "production", SESSION_SECRET: DEFAULT_SESSION_SECRET })).toThrow(/SESSION_SECRET: /);
    expect(() => parseConfig({ NODE_ENV: "production", SESSION_SECRET: "short" })).toThrow(/SESSION_SECRET: /);
    expect(parseConfig({ NODE_ENV: "production", SESSION_SECRET: "k".repeat(32) }).NODE_ENV).toBe("production");
  });
});

describe("the server process refuses to start on bad settings", () => {
  const cases: Array<[string, Record<string, string>]> = [
    ["PORT", { PORT: "abc" }],
    ["DATABASE_URL", { DATABASE_URL: "mysql://x" }],
    ["SITE_URL", { SITE_URL: "ftp://example.com" }],
    ["SESSION_SECRET", { NODE_ENV: "production", SESSION_SECRET: DEFAULT_SESSION_SECRET }],
  ];
  for (const [name, env] of cases) {
    it(`exits 1 naming ${name}, without a stack trace`, async () => {
      const proc = spawnServer({ SEED_DEMO: "false", ...env });
      const exit = await proc.exited;
      expect(exit.code).toBe(1);
      expect(proc.output()).toMatch(new RegExp(`\\b${name}: `));
      expect(proc.output()).not.toMatch(STACK);
    });
  }
});

/** A development server on its own embedded PostgreSQL (in `dataDir`, on `pgPort`), listening on `port` (any when 0). */
function embeddedEnv(dataDir: string, pgPort: number, port = 0): Record<string, string | undefined> {
  return {
    NODE_ENV: "development",
    LOG_LEVEL: "info",
    DATABASE_URL: undefined, // embedded, even when the suite runs against an external server
    SEED_DEMO: "false",
    DATA_DIR: dataDir,
    EMBEDDED_PG_PORT: String(pgPort),
    PORT: String(port),
    HOST: "127.0.0.1",
  };
}

describe("start-up failures and the embedded PostgreSQL", () => {
  let blocker: net.Server | undefined;
  let embedded: { dataDir: string; pgPort: number } | undefined;
  const dirs: string[] = [];
  afterAll(async () => {
    await new Promise<void>((done) => (blocker ? blocker.close(() => done()) : done()));
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  async function occupiedPort(): Promise<number> {
    blocker = net.createServer();
    await new Promise<void>((done) => blocker!.listen(0, "127.0.0.1", () => done()));
    return (blocker.address() as net.AddressInfo).port;
  }

  it("exits 1 when the port is taken (external database), instead of hanging", async () => {
    const port = await occupiedPort();
    const proc = spawnServer(productionEnv(process.env.TEST_DATABASE_URL!, { PORT: String(port) }));
    const exit = await proc.exited;
    expect(exit.code).toBe(1);
    expect(proc.output()).toMatch(/start-up failed/);
    expect(proc.output()).toMatch(/EADDRINUSE/);
    expect(proc.output()).not.toMatch(/Folio is serving/);
  }, 60_000);

  it("stops the embedded PostgreSQL it had started before exiting 1", async () => {
    const port = (blocker?.address() as net.AddressInfo | undefined)?.port ?? (await occupiedPort());
    const dataDir = mkdtempSync(join(tmpdir(), "folio-ops-"));
    chmodSync(dataDir, 0o755); // reachable by the postgres OS user when running as root
    dirs.push(dataDir, resolveDataDir(join(dataDir, "postgres")));
    const pgPort = await freePort();
    const proc = spawnServer(embeddedEnv(dataDir, pgPort, port));
    await proc.waitFor(/embedded PostgreSQL listening/, 90_000);
    const exit = await proc.exited;
    expect(exit.code).toBe(1);
    expect(proc.output()).toMatch(/start-up failed/);
    expect(await tryConnect(pgPort)).toBe("ECONNREFUSED");
    expect(existsSync(join(resolveDataDir(join(dataDir, "postgres")), "postmaster.pid"))).toBe(false);
    embedded = { dataDir, pgPort };
  }, 120_000);

  it("with the embedded PostgreSQL: SIGTERM stops the server and then PostgreSQL, exit 0", async () => {
    expect(embedded).toBeDefined(); // the cluster initialised by the test above
    const { dataDir, pgPort } = embedded!;
    const proc = spawnServer(embeddedEnv(dataDir, pgPort));
    await proc.waitFor(/Folio is serving/, 90_000);
    expect(await tryConnect(pgPort)).toBe("connected");
    proc.kill("SIGTERM");
    expect(await proc.exited).toEqual({ code: 0, signal: null });
    expect(proc.output()).toMatch(/SIGTERM: shutting down[\s\S]*"stopped"/);
    expect(await tryConnect(pgPort)).toBe("ECONNREFUSED");
  }, 120_000);

  it("a SIGTERM during start-up (PostgreSQL up, migrations running) stops everything in order once started", async () => {
    expect(embedded).toBeDefined();
    const { dataDir, pgPort } = embedded!;
    const proc = spawnServer(embeddedEnv(dataDir, pgPort));
    await proc.waitFor(/embedded PostgreSQL listening/, 90_000);
    proc.kill("SIGTERM");
    expect(await proc.exited).toEqual({ code: 0, signal: null });
    expect(proc.output()).toMatch(/SIGTERM: stopping once start-up is done[\s\S]*SIGTERM: shutting down[\s\S]*"stopped"/);
    expect(await tryConnect(pgPort)).toBe("ECONNREFUSED");
  }, 120_000);
});
