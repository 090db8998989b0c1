// Memory of every process of the fleet, from /proc: the app and worker processes' RSS (the fleet's own
// rss()), and for PostgreSQL (postmaster and backends), Redis and Nginx (master and workers: found by
// the socket listening on Nginx's port) the sum of their PSS, which counts a shared page once across
// the processes that map it (a sum of RSS would count PostgreSQL's shared buffers once per backend).
import { readFileSync, readdirSync, readlinkSync } from "node:fs";
import type { Fleet } from "../fleet/index.ts";
import { processTree } from "../cli/bench.ts";

export interface MemoryFigure {
  name: string;
  /** "rss" for one Node process; "pss" for a group of processes. */
  measure: "rss" | "pss";
  processes: number;
  mb: number;
}

const MB = 2 ** 20;

function pssKb(pid: number): number {
  try {
    const m = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8").match(/^Pss:\s+(\d+)\s+kB/m);
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Processes with a socket listening on 127.0.0.1/0.0.0.0:`port` (Nginx's master and workers share theirs). */
export function pidsListening(port: number): number[] {
  const inodes = new Set<string>();
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== "0A") continue; // LISTEN
      if (parseInt(f[1]!.split(":")[1]!, 16) === port) inodes.add(f[9]!);
    }
  }
  const pids: number[] = [];
  for (const p of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      for (const fd of readdirSync(`/proc/${p}/fd`)) {
        const link = readlinkSync(`/proc/${p}/fd/${fd}`);
        const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
        if (inode && inodes.has(inode)) {
          pids.push(Number(p));
          break;
        }
      }
    } catch {
      /* gone, or not ours to read */
    }
  }
  return pids;
}

function group(name: string, pids: number[]): MemoryFigure {
  return { name, measure: "pss", processes: pids.length, mb: pids.reduce((t, p) => t + pssKb(p), 0) / 1024 };
}

/** Every process of the fleet now. */
export async function fleetMemory(fleet: Fleet): Promise<MemoryFigure[]> {
  const out: MemoryFigure[] = [];
  for (const p of [...fleet.apps, ...fleet.workers]) {
    const rss = await p.rss().catch(() => 0);
    out.push({ name: p.name, measure: "rss", processes: 1, mb: rss / MB });
  }
  const pgPid = fleet.postgres.pid();
  if (pgPid) out.push(group("postgres", processTree(pgPid)));
  const redisPid = fleet.redis.pid();
  if (redisPid) out.push(group("redis", [redisPid]));
  const nginx = pidsListening(Number(new URL(fleet.url).port));
  if (nginx.length) out.push(group("nginx", nginx));
  return out;
}
