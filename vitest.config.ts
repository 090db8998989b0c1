import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    globalSetup: ["tests/support/global-setup.ts"],
    setupFiles: ["tests/support/file-setup.ts"],
    pool: "forks",
    isolate: true,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    env: { NODE_ENV: "test", LOG_LEVEL: "warn", SEED_DEMO: "false", SITE_URL: "http://folio.test" },
  },
});
