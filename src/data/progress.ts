// The progress line of npm run backup / restore: a bar on a terminal (cli-progress, as npm run seed),
// else (a log file, CI) one line per table as it starts.
import cliProgress from "cli-progress";

export interface ProgressLine {
  update(done: number, total: number, table: string): void;
  stop(): void;
}

export function progressBar(name: string, quiet: boolean): ProgressLine {
  if (quiet) return { update() {}, stop() {} };
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: `${name} [{bar}] {percentage}% | {value}/{total} rows | {table}`, hideCursor: true, stream: process.stderr },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    return {
      update(done, total, table) {
        if (!started) bar.start(total, done, { table });
        started = true;
        bar.update(done, { table });
      },
      stop: () => bar.stop(),
    };
  }
  let last: string | undefined;
  return {
    update(done, total, table) {
      if (table === last || table === "") return;
      last = table;
      console.error(`${name}: ${table} (${total ? Math.floor((done / total) * 100) : 100}% of ${total} rows done)`);
    },
    stop() {},
  };
}
