// The soak's report: a table per phase on stdout (its bars, then the load per page kind, then memory),
// and the whole run as JSON in bench-results/soak-<timestamp>.json (next to the bench's results).
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { resolve } from "node:path";
import type { KindFigures } from "./load.ts";
import type { MemoryFigure } from "./memory.ts";
import type { PhaseResult } from "./phases.ts";

const pad = (s: string, n: number, right = false) => (right ? s.padStart(n) : s.padEnd(n));

function statuses(f: KindFigures): string {
  return Object.entries(f.statuses)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}:${v}`)
    .join(" ");
}

export function kindTable(kinds: KindFigures[]): string[] {
  const out = [
    `  ${pad("kind", 9)} ${pad("requests", 9, true)} ${pad("p50 ms", 8, true)} ${pad("p99 ms", 8, true)} ${pad("max ms", 8, true)} ${pad("stale", 6, true)} ${pad("retried", 8, true)}  statuses`,
  ];
  for (const f of kinds)
    out.push(
      `  ${pad(f.kind, 9)} ${pad(String(f.requests), 9, true)} ${pad(f.p50.toFixed(1), 8, true)} ${pad(f.p99.toFixed(1), 8, true)} ${pad(f.max.toFixed(0), 8, true)} ${pad(String(f.stale), 6, true)} ${pad(String(f.retried), 8, true)}  ${statuses(f)}`,
    );
  return out;
}

function memoryTable(start: MemoryFigure[], end: MemoryFigure[]): string[] {
  const out = [`  ${pad("process", 10)} ${pad("measure", 8)} ${pad("start MB", 9, true)} ${pad("end MB", 9, true)} ${pad("growth", 8, true)}`];
  for (const e of end) {
    const s = start.find((m) => m.name === e.name);
    const procs = e.processes > 1 ? ` (${e.processes} processes)` : "";
    out.push(
      `  ${pad(e.name, 10)} ${pad(e.measure, 8)} ${pad(s ? s.mb.toFixed(0) : "-", 9, true)} ${pad(e.mb.toFixed(0), 9, true)} ${pad(s ? (e.mb - s.mb).toFixed(0) : "-", 8, true)}${procs}`,
    );
  }
  return out;
}

export function phaseText(r: PhaseResult): string {
  const lines = [`== ${r.name} (${r.seconds} s): ${r.ok ? "PASS" : "FAIL"}`];
  for (const b of r.bars) lines.push(`  ${b.ok ? "ok  " : "FAIL"} ${b.what}: ${b.seen}`);
  for (const n of r.notes) lines.push(`  note: ${n}`);
  lines.push("  load over the phase:", ...kindTable(r.kinds));
  if (r.window) lines.push(`  load while ${r.window.label}:`, ...kindTable(r.window.kinds));
  if (r.memory) lines.push("  memory (RSS of a Node process; PSS summed over a group):", ...memoryTable(r.memory.start, r.memory.end));
  return lines.join("\n");
}

export interface SoakRecord {
  date: string;
  git: string;
  settings: Record<string, unknown>;
  fleet: { apps: number; workers: number; url: string };
  phases: PhaseResult[];
  ok: boolean;
}

/** Writes the run to bench-results/soak-<timestamp>.json under `root`; returns the file. */
export function saveRecord(root: string, record: Omit<SoakRecord, "date"> & { date?: string }): string {
  const date = record.date ?? new Date().toISOString();
  const out = {
    ...record,
    date,
    machine: {
      cpus: os.cpus().length,
      model: os.cpus()[0]?.model,
      memoryMb: Math.round(os.totalmem() / 2 ** 20),
      loadavg: os.loadavg(),
      node: process.version,
    },
  };
  mkdirSync(resolve(root, "bench-results"), { recursive: true });
  const file = resolve(root, "bench-results", `soak-${date.replace(/[:.]/g, "-")}.json`);
  writeFileSync(file, JSON.stringify(out, null, 2) + "\n");
  return file;
}
