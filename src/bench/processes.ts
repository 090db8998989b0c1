// A process and its descendants (cluster workers, PostgreSQL's backends, Nginx's workers) from /proc:
// their pids, memory and CPU time. Used by the bench (src/cli/bench.ts) and the soak (src/soak/memory.ts).
import { readFileSync, readdirSync } from "node:fs";

/** RSS in kB of one process (VmRSS in /proc/<pid>/status); 0 when it is gone. */
export function rssKb(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0; // gone
  }
}

/** RSS in kB of a process and all its descendants (cluster workers). */
export function treeRssKb(pid: number): number {
  return processTree(pid).reduce((t, p) => t + rssKb(p), 0);
}

const TICK_MS = 10; // USER_HZ is 100 on Linux

/** CPU time (user + system, ms) of a process and its descendants, from /proc. */
export function treeCpuMs(pid: number): number {
  let total = 0;
  for (const p of processTree(pid)) total += cpuMs(p);
  return total;
}

export function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after "(comm)": state is field 3; utime and stime are fields 14 and 15.
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) * TICK_MS;
  } catch {
    return 0;
  }
}

/** `pid` and its descendants, from /proc/<pid>/task/<tid>/children. */
export function processTree(pid: number): number[] {
  const out: number[] = [];
  const visit = (p: number) => {
    if (out.includes(p)) return;
    out.push(p);
    try {
      for (const tid of readdirSync(`/proc/${p}/task`)) {
        const kids = readFileSync(`/proc/${p}/task/${tid}/children`, "utf8").trim();
        if (kids) for (const k of kids.split(/\s+/)) visit(Number(k));
      }
    } catch {
      /* gone */
    }
  };
  visit(pid);
  return out;
}
