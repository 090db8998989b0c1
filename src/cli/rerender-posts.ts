// npm run posts:rerender
// Re-renders every stored post's body (bodyHtml, word count, the images it shows) with the current
// Markdown renderer, makes every cached page stale and records the renderer version: what the
// start-up job does after an upgrade (src/blog/rerender.ts), run now in this process. Not an edit: no
// revision, version bump or audit entry. Safe while the site runs and writers save.
import { openDatabase, StartupError } from "../db/setup.ts";
import { disconnectDb } from "../db/index.ts";
import { rerenderPosts } from "../blog/rerender.ts";
import { RENDER_VERSION } from "../blog/markdown.ts";

let status = 0;
try {
  await openDatabase({ log: () => {} });
  const started = performance.now();
  const r = await rerenderPosts({ log: (m) => console.error(m) });
  const took = ((performance.now() - started) / 1000).toFixed(1);
  const kept = r.skipped ? `, ${r.skipped} saved by a writer meanwhile (kept as saved)` : "";
  console.log(`Re-rendered ${r.posts} post${r.posts === 1 ? "" : "s"} with renderer version ${RENDER_VERSION} in ${took} s: ${r.changed} changed${kept}.`);
} catch (err) {
  console.error(err instanceof StartupError ? `Error: ${err.message}` : err);
  status = 1;
} finally {
  await disconnectDb().catch(() => {});
}
process.exit(status);
