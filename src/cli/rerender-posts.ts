// npm run posts:rerender
// Re-renders every stored post's body (bodyHtml, word count, the images it shows) with the current
// Markdown renderer, makes every cached page stale and records the renderer version: what the
// start-up job does after an upgrade (src/blog/rerender.ts), run now in this process. Not an edit: no
// revision, version bump or audit entry. Safe while the site runs and writers save.
import { openDatabase, StartupError } from "../db/setup.ts";
import { disconnectDb } from "../db/index.ts";
import { rerenderPosts } from "../blog/rerender.ts";
import { RENDER_VERSION } from "../blog/markdown.ts";

async function main(): Promise<number> {
  await openDatabase({ log: () => {} });
  try {
    const started = performance.now();
    const r = await rerenderPosts({ log: (m) => console.error(m) });
    const s = ((performance.now() - started) / 1000).toFixed(1);
    console.log(
      `Re-rendered ${r.posts} post${r.posts === 1 ? "" : "s"} with renderer version ${RENDER_VERSION} in ${s} s: ${r.changed} changed` +
        (r.skipped ? `, ${r.skipped} saved by a writer meanwhile (kept as saved)` : "") +
        ".",
    );
    return 0;
  } finally {
    await disconnectDb();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof StartupError ? `Error: ${err.message}` : err);
    process.exit(1);
  },
);
