// npm run seed -- --posts 100000 [--seed 42]
// Adds generated posts (with the demo categories, tags and authors) to the configured database:
// DATABASE_URL when set, else the embedded PostgreSQL.
import { parseArgs } from "node:util";
import cliProgress from "cli-progress";
import { config } from "../config.ts";
import { describeFailure, openDatabase, type OpenDatabase } from "../db/setup.ts";
import { disconnectDb, pool } from "../db/index.ts";
import { seedPosts } from "../blog/seed.ts";
import { intArg } from "./args.ts";

const USAGE = `usage: npm run seed -- --posts <1..5000000> [--seed <0..4294967295>] [--database NAME]

  --posts N        number of posts to add (required)
  --seed S         PRNG seed: the same seed gives the same posts (default 42)
  --database NAME  embedded PostgreSQL only: seed database NAME instead of "folio"
                   (created and migrated if missing; with DATABASE_URL, put the name in the URL)
  --quiet     no progress bar
  --help      this text`;

interface SeedArgs {
  posts: number;
  seed: number;
  quiet: boolean;
  database?: string;
}

function parseSeedArgs(argv: string[]): SeedArgs | "help" {
  const { values } = parseArgs({
    args: argv,
    options: {
      posts: { type: "string" },
      seed: { type: "string" },
      database: { type: "string" },
      quiet: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return "help";
  if (values.database !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(values.database))
    throw new Error(`--database must be a lowercase PostgreSQL identifier, got "${values.database}"`);
  return {
    database: values.database,
    posts: intArg("posts", values.posts, 1, 5_000_000, undefined, { separators: true }),
    seed: intArg("seed", values.seed, 0, 0xffffffff, 42, { separators: true }),
    quiet: values.quiet ?? false,
  };
}

async function main() {
  let args: SeedArgs | "help";
  try {
    args = parseSeedArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`seed: ${(e as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (args === "help") {
    console.log(USAGE);
    return;
  }
  if (args.database && config.DATABASE_URL) {
    console.error("seed: --database is for the embedded PostgreSQL; with DATABASE_URL, name the database in the URL");
    process.exit(2);
  }
  let db: OpenDatabase;
  try {
    db = await openDatabase({ database: args.database, log: (m) => console.error(m) });
  } catch (e) {
    console.error(`seed: ${describeFailure(e)}`);
    process.exit(1);
  }
  const bar = new cliProgress.SingleBar(
    { format: "seeding [{bar}] {percentage}% | {value}/{total} posts | {eta_formatted} left", hideCursor: true, noTTYOutput: false },
    cliProgress.Presets.shades_classic,
  );
  const started = performance.now();
  let code = 0;
  try {
    if (!args.quiet) bar.start(args.posts, 0);
    const { inserted } = await seedPosts({ posts: args.posts, seed: args.seed, onProgress: (done) => !args.quiet && bar.update(done) });
    if (!args.quiet) bar.stop();
    const insertSecs = (performance.now() - started) / 1000;
    await pool.query("ANALYZE");
    const total = (performance.now() - started) / 1000;
    const { rows } = await pool.query<{ n: number }>(`SELECT count(*) AS n FROM "Post"`);
    console.log(
      `seeded ${inserted.toLocaleString("en-US")} posts (seed ${args.seed}) in ${insertSecs.toFixed(1)} s ` +
        `(${Math.round(inserted / insertSecs).toLocaleString("en-US")} posts/s), ANALYZE included: ${total.toFixed(1)} s; ` +
        `the database now has ${rows[0]!.n.toLocaleString("en-US")} posts`,
    );
  } catch (e) {
    bar.stop();
    console.error(`seed failed: ${(e as Error).message}`);
    code = 1;
  } finally {
    await disconnectDb();
    await db.stopServer();
  }
  process.exit(code);
}

await main();
