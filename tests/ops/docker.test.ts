// The Dockerfile and compose.yaml, read without building (npm run container:check builds and runs
// them with podman): the runtime stage is non-root and holds production dependencies only; compose
// describes the fleet (databases, a one-shot migration before the apps, two apps, the worker, Nginx
// on the fleet's own template) and takes its secrets from the environment (Redis's password too; the
// first admin's, so that no password is printed); base.sh builds the Node.js version the Dockerfile names.
import { describe, expect, it } from "vitest";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./support.ts";

const read = (path: string) => readFileSync(join(ROOT, path), "utf8");
const dockerfile = read("Dockerfile");
const compose = read("compose.yaml");

/** Dockerfile stages by name: the lines from each FROM to the next. */
const stages = new Map<string, string>();
for (const block of dockerfile.split(/^(?=FROM )/m).filter((b) => b.startsWith("FROM "))) {
  stages.set(/ AS (\S+)/i.exec(block.split("\n")[0]!)?.[1] ?? "", block);
}

/** compose.yaml's services: each two-space-indented key under `services:` with its indented lines. */
function services(): Map<string, string> {
  const from = compose.indexOf("\nservices:\n") + "\nservices:\n".length;
  const next = compose.slice(from).search(/^\S/m); // the next top-level key
  const body = compose.slice(from, next === -1 ? undefined : from + next);
  const out = new Map<string, string>();
  for (const block of body.split(/^(?= {2}[a-z0-9_-]+:\s*$)/m).filter((b) => b.startsWith("  "))) out.set(block.slice(2, block.indexOf(":")), block);
  return out;
}

describe("Dockerfile", () => {
  const runtime = stages.get("runtime") ?? "";

  it("ends with the runtime stage, on the slim base, as a non-root user", () => {
    expect([...stages.keys()].at(-1)).toBe("runtime");
    expect(runtime).toMatch(/^FROM \$\{NODE_IMAGE\}-slim AS runtime/);
    const user = [...runtime.matchAll(/^USER (\S+)/gm)].map((m) => m[1]);
    expect(user).toEqual(["node"]);
    expect(runtime).toMatch(/^HEALTHCHECK /m);
    expect(runtime).toMatch(/^STOPSIGNAL SIGTERM/m);
  });

  it("copies node_modules only from the stage that installs without dev dependencies", () => {
    const copies = [...runtime.matchAll(/^COPY --from=(\S+) \/app\/node_modules/gm)].map((m) => m[1]);
    expect(copies).toEqual(["prod-deps"]);
    expect(stages.get("prod-deps")).toMatch(/npm ci --omit=dev/);
  });

  it("names a base image that deploy/container/base.sh builds, at a Node.js version package.json accepts", () => {
    const image = /^ARG NODE_IMAGE=(\S+)$/m.exec(dockerfile)?.[1] ?? "";
    const [major, minor] = (/:(\d+)\.(\d+)\.\d+-bookworm$/.exec(image) ?? []).slice(1).map(Number);
    expect(major === 20 ? minor! >= 19 : major! >= 22).toBe(true);
    // base.sh reads the tag from the Dockerfile: one place for the version.
    expect(read("deploy/container/base.sh")).toContain(`sed -n 's/^ARG NODE_IMAGE=//p' "$repo/Dockerfile"`);
  });

  it(".dockerignore keeps local state and dev output out of the build context", () => {
    const ignored = read(".dockerignore").split("\n");
    for (const p of ["node_modules", ".data", ".git", "test-results", "bench-results", ".env", "dist"]) expect(ignored).toContain(p);
  });
});

describe("compose.yaml", () => {
  const svc = services();

  it("runs the fleet's parts: databases, a migration one-shot, two apps, the worker, Nginx", () => {
    expect([...svc.keys()].sort()).toEqual(["app1", "app2", "migrate", "nginx", "postgres", "redis", "worker"]);
    expect(svc.get("migrate")).toMatch(/restart: "no"/);
    // the fleet's own one-time preparation: migrations, demo content, first admin
    expect(svc.get("migrate")).toMatch(/command: \["node", "dist\/fleet\/prepare.js"\]/);
    expect(existsSync(join(ROOT, "src/fleet/prepare.ts"))).toBe(true);
    expect(svc.get("worker")).toMatch(/command: \["node", "dist\/cli\/worker.js"\]/);
  });

  it("starts the apps and the worker only after the migrations succeeded", () => {
    for (const name of ["app1", "app2", "worker"]) expect(svc.get(name)).toMatch(/migrate:\n\s+condition: service_completed_successfully/);
  });

  it("keeps jobs in the worker", () => {
    expect(compose).toMatch(/JOBS_IN_PROCESS: "false"/);
  });

  it("takes every secret from the environment, required", () => {
    const lines = compose.split("\n").filter((l) => /^\s+[A-Z_]*(PASSWORD|SECRET|JWT_KEYS|AUTH|_URL)[A-Z_]*:/.test(l) && !/SITE_URL/.test(l));
    expect(lines.length).toBeGreaterThanOrEqual(7);
    for (const line of lines) expect(line).toMatch(/\$\{(POSTGRES_PASSWORD|REDIS_PASSWORD|SESSION_SECRET|JWT_KEYS|SUPERUSER_PASSWORD):\?[^}]+\}/);
  });

  it("keeps the sessions in a Redis that requires a password and writes an append-only file to a volume", () => {
    const redis = svc.get("redis") ?? "";
    expect(compose).toMatch(/^\s+REDIS_URL: redis:\/\/:\$\{REDIS_PASSWORD:\?[^}]+\}@redis:6379$/m);
    expect(redis).toMatch(/^\s+REDIS_PASSWORD: \$\{REDIS_PASSWORD:\?[^}]+\}$/m);
    // from a file (not the command line), with the password from the environment
    expect(redis).toContain(`printf 'requirepass %s\\n' "$$REDIS_PASSWORD" > /tmp/redis.conf`);
    expect(redis).toContain("exec redis-server /tmp/redis.conf ");
    expect(redis).toMatch(/--appendonly yes/);
    expect(redis).toMatch(/--protected-mode yes/);
    expect(redis).not.toMatch(/protected-mode\s+"?no|appendonly\s+"?no/);
    expect(redis).toMatch(/--dir \/var\/lib\/redis/);
    expect(redis).toMatch(/^\s+- redisdata:\/var\/lib\/redis$/m);
    expect(redis).not.toMatch(/^\s+ports:/m);
    expect(compose).toMatch(/^volumes:\n(\s+\S+:\n)*\s+redisdata:$/m);
  });

  it("creates the first admin with SUPERUSER_PASSWORD in the migrate one-shot, printing no password", () => {
    const migrate = svc.get("migrate") ?? "";
    // its own environment: the apps' (merged) plus the admin's password
    expect(migrate).toMatch(/environment:\n\s+<<: \*app-env\n\s+SUPERUSER_PASSWORD: \$\{SUPERUSER_PASSWORD:\?[^}]+\}/);
    expect(compose).not.toMatch(/password printed|printed once/i);
    // (tests/seed.test.ts runs that preparation with SUPERUSER_PASSWORD and finds no password in its output)
  });

  it("runs Nginx on the fleet's template, with every placeholder given", () => {
    const nginx = svc.get("nginx") ?? "";
    const template = "deploy/nginx/folio.conf.template";
    expect(nginx).toContain(`./${template}:/etc/folio/folio.conf.template:ro`);
    expect(existsSync(join(ROOT, template))).toBe(true);
    const placeholders = new Set([...read(template).matchAll(/\$\{([A-Z_]+)\}/g)].map((m) => m[1]!));
    expect(placeholders.size).toBeGreaterThan(3);
    for (const name of placeholders) {
      expect(nginx, name).toMatch(new RegExp(`^\\s+${name}: `, "m"));
      expect(nginx, name).toContain(`$\${${name}}`); // in envsubst's list (compose's $$ escape)
    }
    for (const app of ["app1", "app2"]) expect(nginx).toContain(`server ${app}:3000`);
  });

  it("runs no service as root but PostgreSQL's entry point, which drops to the postgres user", () => {
    for (const name of ["redis", "nginx"]) expect(svc.get(name)).toMatch(/^\s+user: (?!root)\S+/m);
    expect(read("deploy/container/folio-postgres")).toMatch(/exec setpriv --reuid postgres/);
  });
});
