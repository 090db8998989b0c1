// npm run backup [-- --output FILE]
// A consistent backup of the whole database (every table but the sessions) and of the uploaded images'
// files (DATA_DIR/media), gzip-compressed, made over the pg driver (no pg_dump needed): see
// src/data/backup.ts. npm run restore reads it back.
import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { backup } from "../data/backup.ts";
import { runCommand, UsageError } from "../data/command.ts";
import { progressBar } from "../data/progress.ts";
import { formatCount } from "../web/limits.ts";

const USAGE = `usage: npm run backup [-- --output FILE] [--quiet]

Writes a consistent backup of the whole database (every table but the sessions) and the uploaded
images' files (DATA_DIR/media) to FILE, by default folio-backup-<UTC date and time>.gz in the current
folder. npm run restore -- FILE reads it back.

  --output, -o FILE   where to write (created, or replaced once the backup is complete)
  --quiet             no progress line
  --help              this text`;

interface Args {
  output: string;
  quiet: boolean;
}

const stamp = () =>
  new Date()
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");

function parse(argv: string[]): Args | "help" {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      output: { type: "string", short: "o" },
      quiet: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
    allowPositionals: true,
  });
  if (values.help) return "help";
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}" (the file goes after --output)`);
  if (values.output === "") throw new UsageError("--output needs a file name");
  return { output: values.output ?? `folio-backup-${stamp()}.gz`, quiet: values.quiet ?? false };
}

async function run(args: Args, db: { url: string }): Promise<void> {
  const started = performance.now();
  const bar = progressBar("backup", args.quiet);
  let result;
  try {
    result = await backup(db.url, resolve(args.output), { progress: bar.update });
  } finally {
    bar.stop();
  }
  const secs = (performance.now() - started) / 1000;
  console.log(
    `backup: ${formatCount(result.rows)} rows of ${result.tables} tables and ${formatCount(result.files)} media files written to ${args.output} ` +
      `(${formatCount(result.bytes)} bytes, gzip) in ${secs.toFixed(1)} s`,
  );
  if (result.missingFiles.length)
    console.error(
      `backup: warning: ${result.missingFiles.length} media files named by the database were not in the media storage (DATA_DIR/media): ${result.missingFiles.slice(0, 5).join(", ")}${result.missingFiles.length > 5 ? ", ..." : ""}`,
    );
}

await runCommand({ name: "backup", usage: USAGE, parse, run });
