// Start-up: a bad setting stops the process with a message naming the variable (no stack trace),
// an unsafe production configuration is refused, a taken port is named in one line before anything
// is started, and a start-up that fails half-way exits 1 after stopping what it had started (the
// embedded PostgreSQL included). The data folder's own behaviour: tests/ops/data-home*.test.ts.
import { afterAll, describe, expect, it } from "vitest";
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig, ConfigError, DEFAULT_SESSION_SECRET } from "../../src/config.ts";
import pg from "pg";
import { recordedClusterDir } from "../../src/db/embedded.ts";
import { embeddedEnv, freePort, productionEnv, request, spawnServer, startServerProcess, tryConnect } from "./support.ts";

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

  it("SITE_URL's default follows PORT (PORT=0, any free port, keeps :3000); a set SITE_URL wins", () => {
    expect(parseConfig({ PORT: "3101" }).SITE_URL).toBe("http://localhost:3101");
    expect(parseConfig({ PORT: "3101", NODE_ENV: "development" }).SITE_URL).toBe("http://localhost:3101");
    expect(parseConfig({ PORT: "0" }).SITE_URL).toBe("http://localhost:3000");
    expect(parseConfig({ PORT: "3101", SITE_URL: "https://blog.example.com/" }).SITE_URL).toBe("https://blog.example.com");
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
    expect(parseConfig({ NODE_ENV: "production", SESSION_SECRET: "k".repeat(32), JWT_KEYS: `a:${"j".repeat(32)}` }).NODE_ENV).toBe("production");
  });

  it("refuses production without JWT_KEYS or with a short JWT secret; the first key signs, all verify", () => {
    const secret = "k".repeat(32);
    expect(() => parseConfig({ NODE_ENV: "production", SESSION_SECRET: secret })).toThrow(/JWT_KEYS: must be set in production/);
    expect(() => parseConfig({ NODE_ENV: "production", SESSION_SECRET: secret, JWT_KEYS: " , " })).toThrow(/JWT_KEYS: must be set in production/);
    expect(() => parseConfig({ NODE_ENV: "production", SESSION_SECRET: secret, JWT_KEYS: `a:${"j".repeat(32)},b:short` })).toThrow(
      /JWT_KEYS: every secret must be at least 32 characters/,
    );
    expect(() => parseConfig({ JWT_KEYS: "no-colon" })).toThrow(/JWT_KEYS: each key must be kid:secret/);
    expect(() => parseConfig({ JWT_KEYS: "bad kid:secret" })).toThrow(/JWT_KEYS: /);
    const c = parseConfig({ NODE_ENV: "production", SESSION_SECRET: secret, JWT_KEYS: ` new:${"n".repeat(32)} , old:${"o".repeat(32)}` });
    expect(c.JWT_KEYS).toEqual([
      { kid: "new", secret: "n".repeat(32) },
      { kid: "old", secret: "o".repeat(32) },
    ]);
    // Outside production, unset: one "dev" key derived from SESSION_SECRET (never the secret itself).
    const dev = parseConfig({ SESSION_SECRET: secret }).JWT_KEYS;
    expect(dev).toHaveLength(1);
    expect(dev[0]!.kid).toBe("dev");
    expect(dev[0]!.secret).not.toBe(secret);
    expect(dev[0]!.secret.length).toBeGreaterThanOrEqual(32);
  });

  it("refuses a kid listed twice (naming it), and in production a JWT secret equal to SESSION_SECRET", () => {
    const secret = "s".repeat(32);
    expect(() => parseConfig({ JWT_KEYS: `a:${"j".repeat(32)},b:${"k".repeat(32)},a:${"l".repeat(32)}` })).toThrow(/JWT_KEYS: kid "a" is listed twice/);
    expect(() => parseConfig({ NODE_ENV: "production", SESSION_SECRET: secret, JWT_KEYS: `new:${"n".repeat(32)},old:${secret}` })).toThrow(
      /JWT_KEYS: a JWT secret must not be the SESSION_SECRET/,
    );
    // outside production the same reuse is only check-deploy's warning (W010), not a refusal
    expect(parseConfig({ SESSION_SECRET: secret, JWT_KEYS: `a:${secret}` }).JWT_KEYS).toEqual([{ kid: "a", secret }]);
  });
});

describe("the server process refuses to start on bad settings", () => {
  const cases: Array<[string, Record<string, string>]> = [
    ["PORT", { PORT: "abc" }],
    ["DATABASE_URL", { DATABASE_URL: "mysql://x" }],
    ["SITE_URL", { SITE_URL: "ftp://example.com" }],
    ["SESSION_SECRET", { NODE_ENV: "production", SESSION_SECRET: DEFAULT_SESSION_SECRET }],
    ["JWT_KEYS", { NODE_ENV: "production", SESSION_SECRET: "Zq8x0rVbK2mW9tLs4YhNc7PdE1aUf6Jg3RiOeXvB5kT", JWT_KEYS: "" }],
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

describe("start-up failures and the embedded PostgreSQL", () => {
  let blocker: net.Server | undefined;
  let embedded: { dataDir: string; pgPort: number } | undefined;
  const dirs: string[] = [];
  afterAll(async () => {
    await new Promise<void>((done) => (blocker ? blocker.close(() => done()) : done()));
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  async function occupiedPort(): Promise<number> {
    if (blocker) return (blocker.address() as net.AddressInfo).port;
    blocker = net.createServer();
    await new Promise<void>((done) => blocker!.listen(0, "127.0.0.1", () => done()));
    return (blocker.address() as net.AddressInfo).port;
  }

  function dataDir(): string {
    const d = mkdtempSync(join(tmpdir(), "folio-ops-"));
    chmodSync(d, 0o755); // reachable by the postgres OS user when running as root
    dirs.push(d);
    return d;
  }

  /** The one fatal line of a failed start. */
  function fatal(proc: { logs(): Array<Record<string, unknown>> }): string {
    const lines = proc.logs().filter((l) => l.level === 60);
    expect(lines).toHaveLength(1);
    return String(lines[0]!.msg);
  }

  it("exits 1 when the port is taken (external database), naming the port in one line", async () => {
    const port = await occupiedPort();
    for (let i = 0; i < 2; i++) {
      const proc = spawnServer(productionEnv(process.env.TEST_DATABASE_URL!, { PORT: String(port) }));
      const exit = await proc.exited;
      expect(exit.code).toBe(1);
      expect(fatal(proc)).toBe(`port ${port} in use: another process listens on 127.0.0.1:${port}; stop it or set PORT to a free port`);
      expect(proc.output()).not.toMatch(/Folio is serving/);
      expect(proc.output()).not.toMatch(STACK);
    }
  }, 60_000);

  it("a taken PORT stops the start before the embedded PostgreSQL is created or started", async () => {
    const port = await occupiedPort();
    const dir = dataDir();
    const pgPort = await freePort();
    for (let i = 0; i < 2; i++) {
      const proc = spawnServer(embeddedEnv(dir, pgPort, port));
      expect((await proc.exited).code).toBe(1);
      expect(fatal(proc)).toMatch(new RegExp(`^port ${port} in use`));
      expect(proc.output()).not.toMatch(/initialising embedded PostgreSQL/);
      expect(existsSync(join(dir, "cluster.json"))).toBe(false);
      expect(await tryConnect(pgPort)).toBe("ECONNREFUSED");
    }
  }, 60_000);

  it("a taken EMBEDDED_PG_PORT stops the start naming it, before a cluster is created", async () => {
    const taken = await occupiedPort();
    const dir = dataDir();
    for (let i = 0; i < 2; i++) {
      const proc = spawnServer(embeddedEnv(dir, taken));
      expect((await proc.exited).code).toBe(1);
      expect(fatal(proc)).toBe(
        `port ${taken} in use (EMBEDDED_PG_PORT): another process listens on 127.0.0.1:${taken}; stop it or set EMBEDDED_PG_PORT to a free port`,
      );
      expect(proc.output()).not.toMatch(/initialising embedded PostgreSQL/);
      expect(existsSync(join(dir, "cluster.json"))).toBe(false);
      expect(existsSync(join(dir, "cluster.pid"))).toBe(false);
    }
  }, 60_000);

  it("with the embedded PostgreSQL: SIGTERM stops the server and then PostgreSQL, exit 0; SITE_URL follows PORT", async () => {
    const dir = dataDir();
    const pgPort = await freePort();
    const port = await freePort();
    const proc = spawnServer(embeddedEnv(dir, pgPort, port));
    await proc.waitFor(/Folio is serving/, 120_000);
    expect(proc.output()).toContain(`Folio is serving http://localhost:${port} (listening on 127.0.0.1:${port})`);
    expect((await request(port, "/blog/")).body).toContain(`<link rel="canonical" href="http://localhost:${port}/blog/"`);
    dirs.push(recordedClusterDir(dir)!);
    expect(await tryConnect(pgPort)).toBe("connected");
    proc.kill("SIGTERM");
    expect(await proc.exited).toEqual({ code: 0, signal: null });
    expect(proc.output()).toMatch(/SIGTERM: shutting down[\s\S]*"stopped"/);
    expect(await tryConnect(pgPort)).toBe("ECONNREFUSED");
    embedded = { dataDir: dir, pgPort };
  }, 150_000);

  it("a SIGTERM during start-up (PostgreSQL up, migrations running) stops everything in order once started", async () => {
    expect(embedded).toBeDefined(); // the cluster initialised by the test above
    const { dataDir, pgPort } = embedded!;
    const proc = spawnServer(embeddedEnv(dataDir, pgPort));
    await proc.waitFor(/embedded PostgreSQL listening/, 90_000);
    proc.kill("SIGTERM");
    expect(await proc.exited).toEqual({ code: 0, signal: null });
    expect(proc.output()).toMatch(/SIGTERM: stopping once start-up is done[\s\S]*SIGTERM: shutting down[\s\S]*"stopped"/);
    expect(await tryConnect(pgPort)).toBe("ECONNREFUSED");
  }, 120_000);

  it("a server killed with SIGKILL leaves PostgreSQL running: the next start takes it over and stops it at the end (twice)", async () => {
    expect(embedded).toBeDefined();
    const { dataDir, pgPort } = embedded!;
    for (let i = 0; i < 2; i++) {
      const killed = await startServerProcess(embeddedEnv(dataDir, pgPort));
      killed.kill("SIGKILL");
      await killed.exited;
      expect(await tryConnect(pgPort)).toBe("connected"); // the orphan
      const next = await startServerProcess(embeddedEnv(dataDir, pgPort));
      expect(next.output()).toMatch(/taking over the embedded PostgreSQL left running on port \d+ \(process \d+\) by a Folio process that has ended/);
      next.kill("SIGTERM");
      expect((await next.exited).code).toBe(0);
      expect(await tryConnect(pgPort)).toBe("ECONNREFUSED");
      expect(existsSync(join(dataDir, "cluster.pid"))).toBe(false);
    }
  }, 150_000);

  it("a cluster.pid left by a killed process whose pid is now someone else's (a container's pid 1, a reused pid) is stale: the start goes on (twice)", async () => {
    expect(embedded).toBeDefined();
    const { dataDir, pgPort } = embedded!;
    for (let i = 0; i < 2; i++) {
      // A live process (this test's) but not the one that wrote the record: it started at another time.
      writeFileSync(join(dataDir, "cluster.pid"), `${JSON.stringify({ pid: process.pid, what: "a Folio server", started: "1" })}\n`);
      const next = await startServerProcess(embeddedEnv(dataDir, pgPort));
      expect(next.output()).not.toMatch(/in use by process/);
      next.kill("SIGTERM");
      expect((await next.exited).code).toBe(0);
      expect(existsSync(join(dataDir, "cluster.pid"))).toBe(false);
    }
  }, 150_000);

  it("a failure after PostgreSQL started (its database refuses connections) logs the cause, stops PostgreSQL and exits 1", async () => {
    expect(embedded).toBeDefined();
    const { dataDir, pgPort } = embedded!;
    const up = await startServerProcess(embeddedEnv(dataDir, pgPort));
    const c = new pg.Client({ connectionString: `postgresql://postgres:postgres@127.0.0.1:${pgPort}/postgres` });
    await c.connect();
    await c.query(`ALTER DATABASE folio ALLOW_CONNECTIONS false`);
    await c.end();
    up.kill("SIGTERM");
    expect((await up.exited).code).toBe(0);
    for (let i = 0; i < 2; i++) {
      const proc = spawnServer(embeddedEnv(dataDir, pgPort));
      await proc.waitFor(/embedded PostgreSQL listening/, 90_000);
      expect((await proc.exited).code).toBe(1);
      expect(fatal(proc)).toMatch(/^start-up failed: .*database "folio" is not currently accepting connections/);
      expect(await tryConnect(pgPort)).toBe("ECONNREFUSED");
      expect(existsSync(join(recordedClusterDir(dataDir)!, "postmaster.pid"))).toBe(false);
      expect(existsSync(join(dataDir, "cluster.pid"))).toBe(false);
    }
  }, 150_000);
});
