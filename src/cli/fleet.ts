// npm run fleet: the production topology on this machine, without containers (src/fleet/index.ts):
// PostgreSQL (embedded in --data-dir, or DATABASE_URL), optionally a streaming replica (--replica),
// Redis, two app processes, a job worker and Nginx in front. Prints the topology and the URLs.
//
//   npm run fleet -- [--data-dir .data/fleet] [--port 8080] [--base-port N] [--apps 2] [--workers 1] [--replica]
//
// Ctrl-C / SIGTERM / closing the terminal (SIGHUP): everything stops in order (apps drain, worker,
// Nginx, Redis, PostgreSQL). A signal during start-up waits for the start to finish, then stops.
// A rolling restart of the apps (no request fails): `kill -USR2 <pid>`, to the fleet process (its pid is
// printed at start) or to this command's front process (which passes it on).
//
// The fleet runs in a process of its own session (the command re-runs itself detached and passes the
// signals on): a Ctrl-C in the terminal then reaches this process only, not the embedded PostgreSQL or
// the apps, which the fleet stops in order. The terminal's SIGHUP is passed on as SIGTERM (a stop). If
// this front process dies, the fleet stops (IPC closes).
import { spawn } from "node:child_process";
import { parseArgs } from "node:util";
import { intArg } from "./args.ts";

/** What the front passes on to the fleet process: its own SIGHUP (the terminal closed) becomes a stop. */
const PASSED_ON = { SIGINT: "SIGINT", SIGTERM: "SIGTERM", SIGHUP: "SIGTERM", SIGUSR2: "SIGUSR2" } as const;

if (process.env.FOLIO_FLEET_INNER !== "1") {
  // The front: re-run detached (new session), same arguments, stdout/stderr shared; pass signals on.
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    detached: true,
    env: { ...process.env, FOLIO_FLEET_INNER: "1" },
  });
  for (const [s, to] of Object.entries(PASSED_ON)) process.on(s, () => child.kill(to));
  child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
} else {
  await runFleet();
}

async function runFleet(): Promise<void> {
  const { values } = parseArgs({
    options: {
      "data-dir": { type: "string", default: ".data/fleet" },
      port: { type: "string" },
      "base-port": { type: "string" },
      apps: { type: "string" },
      workers: { type: "string" },
      replica: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log("npm run fleet -- [--data-dir .data/fleet] [--port 8080] [--base-port N] [--apps 2] [--workers 1] [--replica]");
    process.exit(0);
  }
  const { startFleet } = await import("../fleet/index.ts");
  const log = (line: string) => console.log(`[fleet] ${line}`);
  let fleet: Awaited<ReturnType<typeof startFleet>> | undefined;
  let starting: Promise<unknown> | undefined;
  let stopping = false;
  let restarting: Promise<void> | undefined;
  const stop = async (why: string) => {
    if (stopping) return;
    stopping = true;
    log(`${why}: stopping (apps drain, worker, Nginx, Redis, PostgreSQL)`);
    // A signal during start-up waits for it (nothing is left half-started; a failed start undid itself).
    if (starting) log("waiting for the start-up to finish first");
    await starting?.catch(() => {});
    await restarting?.catch(() => {});
    await fleet?.stop();
    process.exit(0);
  };
  for (const s of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(s, () => void stop(s));
  process.on("disconnect", () => void stop("the fleet command's front process ended"));
  process.on("SIGUSR2", () => {
    if (!fleet || stopping || restarting) return;
    const t = Date.now();
    log("SIGUSR2: rolling restart of the apps");
    restarting = fleet
      .rollingRestart()
      .then(
        () => log(`rolling restart done in ${Date.now() - t} ms`),
        (err: unknown) => log(`rolling restart failed: ${err instanceof Error ? err.message : String(err)}`),
      )
      .finally(() => (restarting = undefined));
  });
  try {
    const start = startFleet({
      dataDir: values["data-dir"]!,
      port: values.port ? intArg("port", values.port, 1, 65535) : values["base-port"] ? undefined : 8080,
      basePort: values["base-port"] ? intArg("base-port", values["base-port"], 1024, 65000) : undefined,
      apps: intArg("apps", values.apps, 1, 16, 2),
      workers: intArg("workers", values.workers, 0, 16, 1),
      replica: values.replica,
      databaseUrl: process.env.DATABASE_URL,
      log,
      killOnSignals: false, // this process stops the fleet in order on its signals (above)
    });
    starting = start;
    fleet = await start;
    starting = undefined;
  } catch (err) {
    console.error(`fleet start-up failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
  if (stopping) return; // stop() has it now
  const f = fleet;
  if (f.admin)
    console.log(`\n  Admin account created.\n    username: ${f.admin.username}\n    password: ${f.admin.password}\n  Keep it safe: it is not shown again.\n`);
  const apps = f.apps.map((a) => `${a.name} :${a.port} (pid ${a.pid})`).join(", ");
  console.log(
    [
      "",
      `  Folio fleet up in ${(f.startMs / 1000).toFixed(1)} s`,
      "",
      `  clients -> Nginx ${f.url} (pid ${f.nginx.pid()})`,
      `               -> ${apps}`,
      `                    -> PostgreSQL ${redact(f.databaseUrl)}${f.replicaUrl ? ` (+ replica ${redact(f.replicaUrl)})` : ""}`,
      `                    -> Redis ${redact(f.redisUrl)}`,
      `  ${f.workers.map((w) => `${w.name} (pid ${w.pid})`).join(", ") || "no worker"} -> PostgreSQL / Redis`,
      "",
      `  site:  ${f.url}/`,
      `  admin: ${f.url}/admin/`,
      `  logs:  ${values["data-dir"]}/logs/ (app1.log, nginx/access.log...)`,
      "",
      `  fleet process: pid ${process.pid}. Ctrl-C (or kill ${process.pid}) stops everything in order;`,
      `  kill -USR2 ${process.pid}: a rolling restart of the apps.`,
      "",
    ].join("\n"),
  );
}

/** A URL without its password (for the console). */
function redact(u: string): string {
  const url = new URL(u);
  if (url.password) url.password = "***";
  return url.toString();
}
