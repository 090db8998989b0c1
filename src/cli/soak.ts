// npm run soak [-- --posts 100000 --connections 64 --seconds 60 --data-dir DIR --keep --only steady,postgres]
//
// Proof under load and faults, on this machine, loopback only: starts the fleet (src/fleet: PostgreSQL,
// Redis, 2 app processes, 3 job workers, Nginx), seeds it with the bench data (src/bench/seed.ts: N posts,
// featured images), then runs the phases of src/soak/phases.ts under a mixed load (reader pages, search,
// feeds, API reads, signed-in admin pages), prints each phase's bars and figures, writes
// bench-results/soak-<timestamp>.json, and exits 1 when a bar is missed.
//
// --keep keeps the data dir (default /tmp/folio-soak-<posts>) and reuses it when it already holds the
// same bench data: seeding 100,000 posts takes minutes. Without it a fresh dir is made and removed.
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { intArg } from "./args.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const PHASE_NAMES = ["steady", "postgres", "redis", "kill", "conflict", "cross"];

const USAGE = `usage: npm run soak -- [--posts N] [--connections N] [--seconds S] [--fault-seconds S] [--data-dir DIR] [--keep] [--only a,b]

  --posts N           bench posts in the fleet's database (default 100000)
  --connections N     concurrent connections of the load (default 64)
  --seconds S         length of the steady phase (default 60)
  --fault-seconds S   load before and after each fault, and the least time a fault lasts (default 5)
  --data-dir DIR      the fleet's data dir (default: /tmp/folio-soak-<posts> with --keep, else a fresh temporary dir)
  --keep              keep the data dir, and reuse it when it holds the same bench data (no re-seeding)
  --only a,b          run only these phases (${PHASE_NAMES.join(", ")})`;

interface Args {
  posts: number;
  connections: number;
  seconds: number;
  faultSeconds: number;
  dataDir: string | null;
  keep: boolean;
  only: string[];
}

function parse(argv: string[]): Args | "help" {
  const { values } = parseArgs({
    args: argv,
    options: {
      posts: { type: "string" },
      connections: { type: "string" },
      seconds: { type: "string" },
      "fault-seconds": { type: "string" },
      "data-dir": { type: "string" },
      keep: { type: "boolean", default: false },
      only: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return "help";
  const only = values.only === undefined ? PHASE_NAMES : values.only.split(",").map((s) => s.trim());
  const unknown = only.filter((p) => !PHASE_NAMES.includes(p));
  if (!only.length || unknown.length) throw new Error(`--only: unknown phase(s) ${unknown.join(", ") || "(none given)"}; known: ${PHASE_NAMES.join(", ")}`);
  return {
    posts: intArg("posts", values.posts, 20, 2_000_000, 100_000, { separators: true }),
    connections: intArg("connections", values.connections, 1, 1000, 64),
    seconds: intArg("seconds", values.seconds, 1, 3600, 60),
    faultSeconds: intArg("fault-seconds", values["fault-seconds"], 1, 120, 5),
    dataDir: values["data-dir"] ? resolve(values["data-dir"]) : null,
    keep: values.keep ?? false,
    only,
  };
}

async function main(): Promise<number> {
  let args: Args | "help";
  try {
    args = parse(process.argv.slice(2));
  } catch (e) {
    console.error(`soak: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (args === "help") {
    console.log(USAGE);
    return 0;
  }
  const log = (m: string) => console.error(`[soak] ${m}`);
  const dataDir = args.dataDir ?? (args.keep ? join(tmpdir(), `folio-soak-${args.posts}`) : mkdtempSync(join(tmpdir(), "folio-soak-")));
  mkdirSync(dataDir, { recursive: true });
  chmodSync(dataDir, 0o755); // PostgreSQL runs as the postgres user and must reach its folder
  // Before the app's modules load their settings: this process seals the soak's mail jobs with the
  // fleet's SESSION_SECRET, and its bench images go to the fleet's media folder.
  process.env.SESSION_SECRET = randomBytes(36).toString("base64url");
  process.env.DATA_DIR = dataDir;
  process.env.LOG_LEVEL ??= "warn";

  const { startFleet } = await import("../fleet/index.ts");
  const client = await import("../db/client.ts"); // client.pool: a live binding, set by connectDb()
  const { connectDb, disconnectDb } = client;
  const { seedMarker, benchSeedMarker, seedBenchContent, rerenderIfStale } = await import("../bench/seed.ts");
  const { startMailbox } = await import("../soak/mailbox.ts");
  const { prepareSoak, runPhases, soakFleetEnv } = await import("../soak/run.ts");
  const { phaseText, saveRecord } = await import("../soak/report.ts");
  const { MEMORY_GROWTH_MB, RECOVERY_BOUND_S } = await import("../soak/phases.ts");
  type PhaseName = import("../soak/phases.ts").PhaseName;

  const mailbox = await startMailbox();
  const fleetOptions = {
    dataDir,
    apps: 2,
    workers: 3,
    env: { ...soakFleetEnv(mailbox, process.env.SESSION_SECRET), SEED_DEMO: "false" },
    log: (l: string) => log(`fleet: ${l}`),
  };
  log(`starting the fleet in ${dataDir}`);
  // Ctrl-C, SIGTERM or SIGHUP (the terminal closed) while the fleet starts: exit (process.exit runs the
  // fleet's exit hook, which kills what it started, its kill hooks set before each spawn); after: stopAll().
  const SIGNALS = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;
  const early = (s: NodeJS.Signals) => process.exit(SIGNALS[s as keyof typeof SIGNALS]);
  for (const s of Object.keys(SIGNALS)) process.once(s, early);
  let fleet = await startFleet(fleetOptions);
  for (const s of Object.keys(SIGNALS)) process.off(s, early);
  const stopAll = async () => {
    await disconnectDb().catch(() => {});
    await fleet.stop().catch((e: Error) => log(`fleet stop: ${e.message}`));
    await mailbox.close();
    if (!args.keep) rmSync(dataDir, { recursive: true, force: true });
  };
  let stopping: Promise<void> | undefined;
  for (const [s, code] of Object.entries(SIGNALS)) process.once(s, () => void (stopping ??= stopAll()).then(() => process.exit(code)));
  try {
    const dbName = new URL(fleet.databaseUrl).pathname.slice(1);
    const marker = benchSeedMarker(args.posts, 42, true);
    connectDb(fleet.databaseUrl, 4);
    if ((await seedMarker(fleet.databaseUrl, dbName).catch(() => null)) !== marker) {
      const { rows } = await client.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM "Post"`);
      if (rows[0]!.n > 0) throw new Error(`${dataDir} holds other posts than the bench data of --posts ${args.posts}: use another --data-dir`);
      log(`seeding ${args.posts} posts (bench data, seed 42, featured images)`);
      await seedBenchContent(dbName, { posts: args.posts, seed: 42, images: true }, log);
      // A fleet that started on an empty site restarts on the seeded one (no cached empty pages).
      await disconnectDb();
      await fleet.stop();
      fleet = await startFleet(fleetOptions);
      connectDb(fleet.databaseUrl, 4);
    } else log(`${dataDir} already holds the bench data of ${args.posts} posts`);
    await rerenderIfStale(log);

    const ctx = await prepareSoak(fleet, mailbox, { connections: args.connections, seconds: args.seconds, faultSeconds: args.faultSeconds, log });
    const results = await runPhases(ctx, args.only as PhaseName[], (r) => console.log(`\n${phaseText(r)}`));
    const ok = results.every((r) => r.ok);
    let git = "unknown";
    try {
      const { execFileSync } = await import("node:child_process");
      git = execFileSync("git", ["rev-parse", "HEAD"], { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    } catch {
      /* not a checkout */
    }
    const file = saveRecord(ROOT, {
      git,
      settings: { ...args, dataDir, bounds: { memoryGrowthMb: MEMORY_GROWTH_MB, recoverySeconds: RECOVERY_BOUND_S } },
      fleet: { apps: fleet.apps.length, workers: fleet.workers.length, url: fleet.url },
      phases: results,
      ok,
    });
    console.log(`\nsoak ${ok ? "PASSED" : "FAILED"}: ${results.map((r) => `${r.name} ${r.ok ? "ok" : "FAIL"}`).join(", ")}`);
    log(`results written to ${file}`);
    return ok ? 0 : 1;
  } finally {
    await stopAll();
  }
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(`soak failed: ${(e as Error).stack ?? e}`);
    process.exit(1);
  },
);
