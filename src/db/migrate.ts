// Applies committed migrations with Prisma's own CLI (Wasm engine, offline; see prisma.config.ts).
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { readdirSync } from "node:fs";
import { resolve } from "node:path";
import pg from "pg";

const require = createRequire(import.meta.url);

export function prismaCli(args: string[], databaseUrl: string, quiet = true): Promise<void> {
  const bin = require.resolve("prisma/build/index.js");
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [bin, ...args], {
      env: { ...process.env, DATABASE_URL: databaseUrl, PRISMA_HIDE_UPDATE_MESSAGE: "1" },
      stdio: quiet ? ["ignore", "pipe", "pipe"] : "inherit",
    });
    let out = "";
    child.stdout?.on("data", (d) => (out += d));
    child.stderr?.on("data", (d) => (out += d));
    child.on("error", fail);
    child.on("exit", (code) => (code === 0 ? done() : fail(new Error(`prisma ${args.join(" ")} failed (${code}):\n${out}`))));
  });
}

const MIGRATIONS_DIR = resolve(import.meta.dirname, "../../prisma/migrations");

/** Names of the migrations committed in prisma/migrations (the schema this code knows), oldest first. */
export function committedMigrations(): string[] {
  return readdirSync(MIGRATIONS_DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
}

/** Names of the migrations applied to a database, oldest first (throws when it has no history table). */
export async function appliedMigrations(db: Pick<pg.ClientBase, "query">): Promise<string[]> {
  const { rows } = await db.query<{ migration_name: string }>(
    `SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL ORDER BY migration_name`,
  );
  return rows.map((r) => r.migration_name);
}

/** Names of committed migrations not yet applied to the database at `url`. */
async function pendingMigrations(url: string): Promise<string[]> {
  const committed = committedMigrations();
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const applied = new Set(await appliedMigrations(c));
    return committed.filter((m) => !applied.has(m));
  } catch {
    return committed; // no history table yet
  } finally {
    await c.end();
  }
}

/** `prisma migrate deploy`, skipped (it takes seconds to start) when nothing is pending. */
export async function migrateDeploy(url: string): Promise<void> {
  if ((await pendingMigrations(url)).length === 0) return;
  await prismaCli(["migrate", "deploy"], url);
}

/** CREATE DATABASE if missing (embedded mode and tests). */
export async function ensureDatabase(adminUrl: string, name: string, template?: string): Promise<void> {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    const { rowCount } = await c.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
    if (!rowCount) await c.query(`CREATE DATABASE "${name.replace(/"/g, "")}"${template ? ` TEMPLATE "${template.replace(/"/g, "")}"` : ""}`);
  } finally {
    await c.end();
  }
}

export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    await c.query(`DROP DATABASE IF EXISTS "${name.replace(/"/g, "")}" WITH (FORCE)`);
  } finally {
    await c.end();
  }
}
