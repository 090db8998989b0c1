// The bench data, for `npm run bench` (src/cli/bench.ts) and `npm run soak` (src/cli/soak.ts): N posts
// from the seed generator, featured images made through the upload path, and the database's COMMENT
// (its seed marker) that says what it holds, so a database holding exactly that seed is reused.
import pg from "pg";
import sharp from "sharp";
import { pool } from "../db/client.ts";
import { SEED_GENERATOR_VERSION, seedPosts } from "../blog/seed.ts";
import { saveUpload } from "../media/index.ts";
import { RENDER_VERSION } from "../blog/markdown.ts";
import { rerenderPosts, storedRenderVersion } from "../blog/rerender.ts";

/** The seed marker (COMMENT) of database `name` on the server at `adminUrl`; null when it has none. */
export async function seedMarker(adminUrl: string, name: string): Promise<string | null> {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    const { rows } = await c.query<{ d: string | null }>(`SELECT shobj_description(oid, 'pg_database') AS d FROM pg_database WHERE datname = $1`, [name]);
    return rows[0]?.d ?? null;
  } finally {
    await c.end();
  }
}

/** What the bench data's images are (part of the seed marker: a change re-seeds). */
const BENCH_MEDIA = "media=2";
const BENCH_IMAGES = 4;

/**
 * Images for the bench data (issue 11: "featured images on every post of the bench data"): BENCH_IMAGES
 * photos-like JPEGs (2400x1600 noise over a gradient: sharp's renditions are as heavy as a photo's)
 * stored through saveUpload, the upload path itself, so each Media row has the renditions production
 * makes (AVIF, WebP and JPEG at each width); every post gets one as its featured image, and every
 * other author one as avatar (the rest show initials). The files go to this process's DATA_DIR/media;
 * the pages measured only need the rows.
 */
async function addBenchImages(log: (m: string) => void): Promise<void> {
  const ids: number[] = [];
  for (let i = 0; i < BENCH_IMAGES; i++) {
    const [w, h] = [2400, 1600];
    const noise = await sharp({ create: { width: w, height: h, channels: 3, background: "#808080", noise: { type: "gaussian", mean: 128, sigma: 40 } } })
      .png()
      .toBuffer();
    const tint = { r: 40 + 50 * i, g: 120 - 20 * i, b: 200 - 40 * i };
    const bytes = await sharp(noise)
      .blur(3)
      .composite([{ input: { create: { width: w, height: h, channels: 4, background: { ...tint, alpha: 0.55 } } }, blend: "over" }])
      .jpeg({ quality: 80 })
      .toBuffer();
    const item = await saveUpload(bytes, `bench-${i + 1}.jpg`, null);
    await pool.query(`UPDATE "Media" SET alt = $2 WHERE id = $1`, [item.id, `Bench picture ${i + 1}`]);
    ids.push(item.id);
  }
  await pool.query(`UPDATE "Post" SET "featuredImageId" = ($1::int[])[1 + id % $2]`, [ids, ids.length]);
  await pool.query(`UPDATE "User" SET "avatarId" = ($1::int[])[1 + id % $2] WHERE id % 2 = 0`, [ids, ids.length]);
  await pool.query(`VACUUM ANALYZE "Post"`); // the UPDATE left every row's old version: index-only scans need the visibility map again
  log(`featured images on every post (${ids.length} images, renditions by saveUpload), avatars for every other author`);
}

/** What a database seeded with the bench data says of itself (its COMMENT): a different one is re-seeded. */
export function benchSeedMarker(posts: number, seed: number, images: boolean): string {
  return `folio-bench posts=${posts} seed=${seed} generator=${SEED_GENERATOR_VERSION} ${images ? BENCH_MEDIA : "media=none"}`;
}

/** The bench data (posts, and the images unless `images` is false) into the connected pool's database `name`, then its marker. Also used by the soak. */
export async function seedBenchContent(name: string, opts: { posts: number; seed: number; images: boolean }, log: (m: string) => void): Promise<void> {
  const t = performance.now();
  await seedPosts({ posts: opts.posts, seed: opts.seed });
  if (opts.images) await addBenchImages(log);
  await pool.query("ANALYZE");
  log(`seeded ${opts.posts} posts in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  await pool.query(`COMMENT ON DATABASE ${name} IS '${benchSeedMarker(opts.posts, opts.seed, opts.images)}'`);
}

/**
 * Bodies rendered by an older renderer are re-rendered by a job the server starts (src/blog/rerender.ts):
 * done here first, so that no server measured spends its CPU on it.
 */
export async function rerenderIfStale(log: (m: string) => void): Promise<void> {
  if ((await storedRenderVersion()) < RENDER_VERSION) {
    const t = performance.now();
    const r = await rerenderPosts();
    await pool.query(`VACUUM ANALYZE "Post"`);
    log(`re-rendered ${r.posts} bodies (renderer version ${RENDER_VERSION}) in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
}
