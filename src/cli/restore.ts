// npm run restore -- FILE [--force]
// Restores a backup made by npm run backup into the configured database (an embedded cluster,
// created if needed, or DATABASE_URL), in one transaction; a database with rows only with --force.
// The file is checked whole before the database is opened: see src/data/backup.ts.
import { parseArgs } from "node:util";
import { restore, verifyBackup } from "../data/backup.ts";
import { oneFile, runCommand } from "../data/command.ts";
import { progressBar } from "../data/progress.ts";
import { formatCount } from "../web/limits.ts";

const USAGE = `usage: npm run restore -- FILE [--force] [--quiet]

Restores a backup made by npm run backup, in one transaction (all or nothing), and writes the
uploaded images' files it carries to DATA_DIR/media. The database must have the same migrations as
the one backed up (a fresh database gets them first).

  --force    replace the content of a database that is not empty (every table, sessions included)
  --quiet    no progress line
  --help     this text`;

interface Args {
  file: string;
  force: boolean;
  quiet: boolean;
}

function parse(argv: string[]): Args | "help" {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      force: { type: "boolean", default: false },
      quiet: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
    allowPositionals: true,
  });
  if (values.help) return "help";
  const file = oneFile(positionals, "restore");
  return { file, force: values.force ?? false, quiet: values.quiet ?? false };
}

async function prepare(args: Args): Promise<void> {
  const h = await verifyBackup(args.file);
  if (!args.quiet) console.error(`restore: ${args.file}: backup of database "${h.database}" (PostgreSQL ${h.server}) made ${h.createdAt}, checksum correct`);
}

async function run(args: Args, db: { url: string }): Promise<void> {
  const started = performance.now();
  const bar = progressBar("restore", args.quiet);
  let result;
  try {
    result = await restore(db.url, args.file, { force: args.force, progress: bar.update });
  } finally {
    bar.stop();
  }
  const secs = (performance.now() - started) / 1000;
  console.log(
    `restore: ${formatCount(result.rows)} rows of ${result.tables} tables and ${formatCount(result.files)} media files restored from ${args.file} in ${secs.toFixed(1)} s (sessions cleared: everyone signs in again)`,
  );
  if (result.missingFiles.length)
    console.error(`restore: warning: ${result.missingFiles.length} media files were already missing when the backup was made (their images show as broken)`);
}

await runCommand({ name: "restore", usage: USAGE, parse, prepare, run });
