// The fleet of `npm run fleet`: PostgreSQL (and optionally a streaming read replica), Redis, N Folio app
// processes on their own ports, M job workers, and Nginx in front. Used by the fleet command, the soak
// (`npm run soak`) and the fleet tests. Groundwork contract: the fleet engineer implements it.

export interface FleetOptions {
  /** Where the fleet keeps its state: postgres/, redis/, nginx/ (generated config), logs/, media. */
  dataDir: string;
  /** Nginx's port (0: a free one). */
  port?: number;
  /** App processes (default 2), each on a port of its own. */
  apps?: number;
  /** Job worker processes (default 1). */
  workers?: number;
  /** Also make a streaming read replica of the primary and give the apps DATABASE_REPLICA_URL. */
  replica?: boolean;
  /** An external primary; unset: the embedded PostgreSQL of dataDir. */
  databaseUrl?: string;
  /** Extra settings for the app and worker processes. */
  env?: Record<string, string>;
  /** Where the fleet's own progress lines go (default: nowhere). */
  log?: (line: string) => void;
}

export interface FleetProcess {
  /** "app1", "app2", "worker1"... */
  readonly name: string;
  /** The current process id (changes on restart). */
  readonly pid: number;
  /** The app's own port (apps only). */
  readonly port?: number;
  /** Sends a signal (default SIGTERM) and waits for the process to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Stops it (SIGTERM, drained) if running and starts it again; resolves once it is ready. */
  restart(): Promise<void>;
  /** Resident set size in bytes (from /proc). */
  rss(): Promise<number>;
}

export interface Fleet {
  /** Nginx's base URL (http://127.0.0.1:<port>). */
  readonly url: string;
  readonly databaseUrl: string;
  readonly replicaUrl?: string;
  readonly redisUrl: string;
  readonly apps: FleetProcess[];
  readonly workers: FleetProcess[];
  readonly postgres: { stop(): Promise<void>; start(): Promise<void>; pid(): number | undefined };
  readonly redis: { stop(): Promise<void>; start(): Promise<void>; pid(): number | undefined };
  /** Restarts the apps one at a time (each drains first); resolves when all are back. */
  rollingRestart(): Promise<void>;
  /** Stops everything (apps drain, then workers, Nginx, Redis, PostgreSQL). */
  stop(): Promise<void>;
}

export async function startFleet(_options: FleetOptions): Promise<Fleet> {
  throw new Error("startFleet: not built yet (groundwork stub)");
}
