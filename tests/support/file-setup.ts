// Before each test file: its own database, cloned from the migrated template, and the app's pool
// connected to it. Dropped after the file.
import { randomBytes } from "node:crypto";
import { afterAll, inject } from "vitest";
import { connectDb, disconnectDb } from "../../src/db/client.ts";
import { dropDatabase, ensureDatabase } from "../../src/db/migrate.ts";

const adminUrl = inject("pgAdminUrl");
const name = `folio_test_${randomBytes(6).toString("hex")}`;
await ensureDatabase(adminUrl, name, inject("pgTemplate"));
const url = adminUrl.replace(/\/postgres(\?|$)/, `/${name}$1`);
process.env.TEST_DATABASE_URL = url;
connectDb(url, 5);

afterAll(async () => {
  await disconnectDb();
  await dropDatabase(adminUrl, name);
});
