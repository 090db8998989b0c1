// Browser-test harness: the real app on a real port (in this process, against the test file's own
// database that tests/support/file-setup.ts connected) and a real headless Chromium (Debian's).
//
//   const server = await startServer();
//   const browser = await launchBrowser();
//   const page = await browser.newPage();
//   await page.goto(server.baseUrl + "/");
//   await screenshot(page, "home");          // -> test-results/home.png (git-ignored)
//   await browser.close(); await server.close();
import { existsSync, mkdirSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { join, resolve } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { buildApp } from "../../src/app.ts";

export const CHROMIUM_PATH = "/usr/bin/chromium";

export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

/** Where screenshots go (git-ignored). */
export const RESULTS_DIR = resolve(import.meta.dirname, "../../test-results");

export interface TestServer {
  /** e.g. http://127.0.0.1:41234 (no trailing slash). */
  baseUrl: string;
  close(): Promise<void>;
}

/** Starts `buildApp()` on a free port of 127.0.0.1. */
export async function startServer(): Promise<TestServer> {
  const app = buildApp();
  const server = await new Promise<import("node:http").Server>((done, fail) => {
    const s = app.listen(0, "127.0.0.1", (err?: Error) => (err ? fail(err) : done(s)));
  });
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((done, fail) => {
        server.close((err) => (err ? fail(err) : done()));
        server.closeAllConnections();
      }),
  };
}

/**
 * Launches Debian's Chromium headless. A missing browser FAILS the test (it is never skipped):
 * install it with `apt-get install -y chromium` (.ci/run does).
 */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM_PATH}: browser tests need it. Install it with ` + "`apt-get install -y chromium` (Debian), then run the tests again.",
    );
  }
  // playwright-core gives every launch a fresh temporary --user-data-dir and removes it on close.
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
}

/** Saves a full-page PNG to test-results/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const path = join(RESULTS_DIR, `${name.replace(/[^\w.-]+/g, "-")}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
