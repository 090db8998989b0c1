// The account commands, spawned as real processes (tsx) against this file's test database, and
// check:deploy on sample environments.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import request from "supertest";
import { buildApp } from "../../src/app.ts";
import { pool, prisma } from "../../src/db/index.ts";
import { verifyPassword } from "../../src/accounts/passwords.ts";
import { checkDeploy } from "../../src/cli/check-deploy.ts";
import { login } from "../support/auth.ts";
import { createUser } from "../support/fixtures.ts";
import { embeddedEnv, spawnProcess } from "../ops/support.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const GOOD = "Granite-Willow-Orbit-88";

function run(script: string, args: string[], opts: { env?: Record<string, string>; input?: string } = {}) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((done, fail) => {
    const child = spawn(process.execPath, ["--import", "tsx", resolve(ROOT, "src/cli", script), ...args], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: process.env.TEST_DATABASE_URL!, LOG_LEVEL: "warn", ...opts.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", fail);
    child.on("exit", (code) => done({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(opts.input ?? "");
  });
}

describe("createsuperuser", () => {
  it("--no-input creates an ADMIN with the password from SUPERUSER_PASSWORD", async () => {
    const r = await run("createsuperuser.ts", ["--username", "Boss", "--email", "Boss@Example.TEST", "--no-input"], { env: { SUPERUSER_PASSWORD: GOOD } });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Superuser created successfully: Boss");
    const u = await prisma.user.findUniqueOrThrow({ where: { username: "Boss" } });
    expect(u.role).toBe("ADMIN");
    expect(u.email).toBe("boss@example.test");
    expect(await verifyPassword(u.passwordHash, GOOD)).toBe(true);
    // ... and can log in through the web app.
    await login(request.agent(buildApp()), "boss", GOOD);
  });

  it.each([
    [["--username", "Boss2", "--email", "boss2@example.test", "--no-input"], { SUPERUSER_PASSWORD: "short" }, "too short"],
    [["--username", "bad name", "--email", "b@example.test", "--no-input"], { SUPERUSER_PASSWORD: GOOD }, "Enter a valid username"],
    [["--username", "okay", "--email", "not-an-email", "--no-input"], { SUPERUSER_PASSWORD: GOOD }, "Enter a valid e-mail address"],
    [["--username", "okay", "--email", "o@example.test", "--no-input"], {}, "SUPERUSER_PASSWORD"],
    [["--email", "o@example.test", "--no-input"], { SUPERUSER_PASSWORD: GOOD }, "--username is required"],
    [["--bogus"], {}, "Usage"],
  ])("refuses %o with a clear message", async (args, env, message) => {
    const r = await run("createsuperuser.ts", args, { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(message);
    expect(r.stderr).not.toMatch(/\bat .*\.ts:\d+/); // no stack trace
  });

  it("refuses a taken username (case-insensitive) and a taken e-mail", async () => {
    await createUser({ username: "Existing", email: "existing@example.test" });
    const a = await run("createsuperuser.ts", ["--username", "existing", "--email", "new@example.test", "--no-input"], { env: { SUPERUSER_PASSWORD: GOOD } });
    expect(a.code).toBe(1);
    expect(a.stderr).toContain("That username is already taken.");
    const b = await run("createsuperuser.ts", ["--username", "fresh", "--email", "EXISTING@example.test", "--no-input"], { env: { SUPERUSER_PASSWORD: GOOD } });
    expect(b.code).toBe(1);
    expect(b.stderr).toContain("already used");
  });

  it("interactive: reads answers (piped) and stops when they run out", async () => {
    const ok = await run("createsuperuser.ts", [], { input: `inter\ninter@example.test\n${GOOD}\n${GOOD}\n` });
    expect(ok.code).toBe(0);
    expect(ok.stderr).toContain("Password: ");
    expect(ok.stderr).not.toContain(GOOD); // never echoed
    expect((await prisma.user.findUniqueOrThrow({ where: { username: "inter" } })).role).toBe("ADMIN");
    const mismatch = await run("createsuperuser.ts", [], { input: `inter2\ninter2@example.test\n${GOOD}\nsomething-else\n` });
    expect(mismatch.code).toBe(1);
    expect(mismatch.stderr).toContain("didn't match");
    expect(await prisma.user.count({ where: { username: "inter2" } })).toBe(0);
  });
});

describe("changepassword", () => {
  it("sets the password (validated, asked twice) and ends the user's sessions and API refresh tokens", async () => {
    const { user, password } = await createUser({ username: "Changeme" });
    const app = buildApp();
    const agent = request.agent(app);
    await login(agent, user.username, password);
    const tokens = await request(app).post("/api/v1/auth/token").send({ username: user.username, password }).expect(200);
    const r = await run("changepassword.ts", ["changeme"], { input: `weak\nweak\n${GOOD}\nnope\n${GOOD}\n${GOOD}\n` });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("too short");
    expect(r.stderr).toContain("Passwords do not match");
    expect(r.stdout).toContain("Password changed successfully for user 'Changeme' (1 session ended)");
    const u = await prisma.user.findUniqueOrThrow({ where: { id: user.id } });
    expect(await verifyPassword(u.passwordHash, GOOD)).toBe(true);
    const { rowCount } = await pool.query(`SELECT 1 FROM "session" WHERE (sess::jsonb -> 'passport' ->> 'user') = $1`, [String(user.id)]);
    expect(rowCount).toBe(0);
    await agent.get("/accounts/profile/").expect(302);
    await request(app).post("/api/v1/auth/refresh").send({ refresh: tokens.body.refresh }).expect(401);
    expect(await prisma.apiRefreshToken.count({ where: { userId: user.id, revokedAt: null } })).toBe(0);
  });

  it("unknown user / no argument / three failures -> exit 1", async () => {
    const unknown = await run("changepassword.ts", ["nobody_here"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("user 'nobody_here' does not exist");
    const usage = await run("changepassword.ts", []);
    expect(usage.code).toBe(1);
    expect(usage.stderr).toContain("Usage: npm run changepassword -- <username>");
    await createUser({ username: "stubborn" });
    const tries = await run("changepassword.ts", ["stubborn"], { input: "a\nb\nc\nd\ne\nf\n" });
    expect(tries.code).toBe(1);
    expect(tries.stderr).toContain("Aborting password change");
  });
});

describe("a command whose embedded PostgreSQL cannot start", () => {
  it("says why in one line (no bare `undefined`, no stack trace) and exits 1, creating nothing (each command twice)", async () => {
    const blocker = net.createServer();
    await new Promise<void>((done) => blocker.listen(0, "127.0.0.1", () => done()));
    const taken = (blocker.address() as net.AddressInfo).port;
    const dataDir = mkdtempSync(join(tmpdir(), "folio-cli-"));
    try {
      const commands: Array<[string, string[], string]> = [
        ["src/cli/seed.ts", ["--posts", "1", "--quiet"], "seed: "],
        ["src/cli/createsuperuser.ts", ["--username", "x", "--email", "x@example.test", "--no-input"], "Error: "],
        ["src/cli/changepassword.ts", ["someone"], "Error: "],
        ["src/cli/with-db.ts", ["true"], "Error: "],
      ];
      for (const [script, args, prefix] of commands) {
        for (let i = 0; i < 2; i++) {
          const p = spawnProcess(script, args, { ...embeddedEnv(dataDir, taken), SUPERUSER_PASSWORD: GOOD });
          expect((await p.exited).code, p.output()).toBe(1);
          expect(p.output()).toContain(`${prefix}port ${taken} in use (EMBEDDED_PG_PORT): another process listens on 127.0.0.1:${taken}`);
          expect(p.output()).not.toMatch(/\bundefined\b|\bat .*\.ts:\d+/);
          expect(existsSync(join(dataDir, "cluster.json"))).toBe(false);
        }
      }
    } finally {
      blocker.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe("production start-up", () => {
  it("refuses the default SESSION_SECRET with a message naming it (exit 1, no stack trace)", async () => {
    const r = await run("../server.ts", [], { env: { NODE_ENV: "production", SESSION_SECRET: "", VITEST: "" } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("SESSION_SECRET: must be set to a random value of at least 32 characters in production");
    expect(r.stderr).not.toMatch(/\bat .*\.ts:\d+/);
  });
});

describe("check:deploy", () => {
  const safe = {
    NODE_ENV: "production",
    SESSION_SECRET: "Zq8x0rVbK2mW9tLs4YhNc7PdE1aUf6Jg3RiOeXvB5kT",
    JWT_KEYS: "k1:Hq3vN8pX2mR7tL0sY5wB9cF4jK6gD1aE",
    SITE_URL: "https://blog.example.com",
    ALLOWED_HOSTS: "blog.example.com",
    TRUST_PROXY: "1",
    SMTP_URL: "smtps://user:pass@mail.example.com",
    SIGNUP_ENABLED: "false",
    DATABASE_URL: "postgresql://folio@db.internal/folio",
    SEED_DEMO: "false",
  };
  const ids = async (env: Record<string, string>) => (await checkDeploy(env)).map((f) => f.id);

  it("a safe production environment has no issues", async () => {
    expect(await checkDeploy(safe)).toEqual([]);
  });

  it.each([
    [{ SESSION_SECRET: undefined }, "folio.E002"],
    [{ SESSION_SECRET: "dev-insecure-secret-change-me" }, "folio.E002"],
    [{ SESSION_SECRET: "short" }, "folio.E003"],
    [{ SESSION_SECRET: "a".repeat(40) }, "folio.E003"],
    [{ NODE_ENV: "development" }, "folio.E001"],
    [{ ALLOWED_HOSTS: "" }, "folio.E004"],
    [{ ALLOWED_HOSTS: "*" }, "folio.E005"],
    [{ SITE_URL: "http://blog.example.com" }, "folio.E006"],
    [{ SMTP_URL: undefined }, "folio.E007"],
    [{ TRUST_PROXY: "false" }, "folio.W002"],
    [{ TRUST_PROXY: "true" }, "folio.W003"],
    [{ SIGNUP_ENABLED: "true" }, "folio.W005"],
    [{ ALLOWED_HOSTS: "other.example.com" }, "folio.W001"],
    [{ JWT_KEYS: undefined }, "folio.E008"],
    [{ JWT_KEYS: " , " }, "folio.E008"],
    [{ JWT_KEYS: "k1:short" }, "folio.E009"],
    [{ JWT_KEYS: `k1:${"a".repeat(40)}` }, "folio.E009"],
    [{ JWT_KEYS: "k2:Hq3vN8pX2mR7tL0sY5wB9cF4jK6gD1aE,k1:tooshort" }, "folio.E009"],
    [{ JWT_KEYS: "k1:Zq8x0rVbK2mW9tLs4YhNc7PdE1aUf6Jg3RiOeXvB5kT" }, "folio.W010"],
  ])("%o -> %s", async (change, id) => {
    const env = { ...safe, ...change } as Record<string, string>;
    for (const [k, v] of Object.entries(change)) if (v === undefined) delete env[k];
    expect(await ids(env)).toContain(id);
  });

  it("the command exits non-zero on errors and 0 on warnings only or none", async () => {
    const clean = await run("check-deploy.ts", [], { env: safe });
    expect(clean.code).toBe(0);
    expect(clean.stdout).toContain("System check identified no issues (0 silenced).");
    const bad = await run("check-deploy.ts", [], { env: { ...safe, SESSION_SECRET: "short" } });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("(folio.E003)");
    const noJwt = await run("check-deploy.ts", [], { env: { ...safe, JWT_KEYS: "" } });
    expect(noJwt.code).toBe(1);
    expect(noJwt.stderr).toContain("(folio.E008) JWT_KEYS is not set");
    const weakJwt = await run("check-deploy.ts", [], { env: { ...safe, JWT_KEYS: "old:tooshort" } });
    expect(weakJwt.code).toBe(1);
    expect(weakJwt.stderr).toContain('(folio.E009) JWT_KEYS is weak: the secret of "old" must be at least 32 random characters.');
    const warnOnly = await run("check-deploy.ts", [], { env: { ...safe, SIGNUP_ENABLED: "true" } });
    expect(warnOnly.code).toBe(0);
    expect(warnOnly.stdout).toContain("(folio.W005)");
  });
});
