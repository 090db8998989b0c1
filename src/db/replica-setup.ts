// Makes a real streaming read replica of a running PostgreSQL primary (the embedded one, or any the
// caller can reach as a superuser) in a folder of its own. Groundwork contract: the replica engineer
// implements it; the fleet (src/fleet) and the replica tests use it.

export interface StreamingReplica {
  /** postgresql:// URL of the replica (read-only, hot standby), same database as the primary's URL. */
  readonly url: string;
  /** Stops the replica's server (fast shutdown). */
  stop(): Promise<void>;
  /** Starts it again (it catches up from the primary). */
  start(): Promise<void>;
}

export interface ReplicaOptions {
  /** The primary's postgresql:// URL (a superuser or a role with REPLICATION). */
  primaryUrl: string;
  /** An empty or missing folder for the replica's data. */
  dataDir: string;
  /** The replica's port on 127.0.0.1. */
  port: number;
  log?: (line: string) => void;
}

export async function createStreamingReplica(_options: ReplicaOptions): Promise<StreamingReplica> {
  throw new Error("createStreamingReplica: not built yet (groundwork stub)");
}
