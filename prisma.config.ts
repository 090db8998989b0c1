import { defineConfig } from "prisma/config";
import { migrateAdapter } from "./prisma/migrate-adapter.ts";

// A prisma.config.ts turns off Prisma's own .env loading, so load it here (Node >= 20.12).
// Variables already in the environment win over .env.
try {
  process.loadEnvFile();
} catch {
  /* no .env file */
}
// schema.prisma's `url = env("DATABASE_URL")` must resolve or Prisma 6 tries to download a native
// engine, even for `prisma generate`. `npm run db:*` scripts set it to the embedded PostgreSQL
// (src/cli/with-db.ts); this default only serves `prisma generate` and the offline drift check.
process.env.DATABASE_URL ??= "postgresql://postgres:postgres@127.0.0.1:54329/folio";

export default defineConfig({
  experimental: { adapter: true },
  engine: "js", // Wasm schema engine bundled in `prisma`: no native engine download
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  async adapter() {
    return migrateAdapter(process.env.DATABASE_URL!);
  },
});
