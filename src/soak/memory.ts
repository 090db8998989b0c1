// Memory of every process of the fleet, from /proc: the app and worker processes' RSS (the fleet's own
// rss()), and for PostgreSQL (postmaster and backends), Redis and Nginx (master and workers: the
// fleet's pid() and its descendants) the sum of their PSS, which counts a shared page once across
// the processes that map it (a sum of RSS would count PostgreSQL's shared buffers once per backend).
import { readFileSync } from "node:fs";
import type { Fleet } from "../fleet/index.ts";
import { processTree } from "../bench/processes.ts";

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
  const nginxPid = fleet.nginx.pid();
  if (nginxPid) out.push(group("nginx", processTree(nginxPid)));
  return out;
}
