// npm run loaddata -- FILE [--on-conflict=error|skip|replace]
// Loads a dump written by npm run dumpdata into the configured database, in one transaction: all of
// it or nothing. What "conflict" means and how objects are matched: src/data/load.ts.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { loadDump, parseDump, type Dump, type LoadReport, type OnConflict } from "../data/load.ts";
import { readFailure } from "../data/common.ts";
import { oneFile, runCommand, UsageError } from "../data/command.ts";
import { formatCount } from "../web/limits.ts";

const USAGE = `usage: npm run loaddata -- FILE [--on-conflict=error|skip|replace]

Loads a dump written by npm run dumpdata, in one transaction (all or nothing). Users, categories,
tags and posts already in the database (same username, slug, or publish date and slug) are left
alone when identical; when they differ, that is a conflict:

  --on-conflict=error     (default) list the conflicts and load nothing
  --on-conflict=skip      keep the database's version of each conflicting object
  --on-conflict=replace   overwrite it with the dump's
  --help                  this text`;

interface Args {
  file: string;
  onConflict: OnConflict;
}

function parse(argv: string[]): Args | "help" {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      "on-conflict": { type: "string", default: "error" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
    allowPositionals: true,
  });
  if (values.help) return "help";
  const file = oneFile(positionals, "loaddata");
  const onConflict = values["on-conflict"];
  if (onConflict !== "error" && onConflict !== "skip" && onConflict !== "replace")
    throw new UsageError(`--on-conflict must be error, skip or replace, got "${onConflict}"`);
  return { file, onConflict };
}

let dump: Dump | undefined;

function prepare(args: Args): Promise<void> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(args.file);
  } catch (e) {
    throw readFailure(args.file, e);
  }
  dump = parseDump(bytes, args.file);
  return Promise.resolve();
}

function summary(r: LoadReport): string {
  const part = (name: string, m: LoadReport["users"]) => {
    const extra = [
      m.unchanged && `${formatCount(m.unchanged)} already there`,
      m.replaced && `${formatCount(m.replaced)} replaced`,
      m.skipped && `${formatCount(m.skipped)} skipped`,
    ].filter(Boolean);
    return `${formatCount(m.added)} ${name} added${extra.length ? ` (${extra.join(", ")})` : ""}`;
  };
  return [
    part("users", r.users),
    part("categories", r.categories),
    part("tags", r.tags),
    part("images", r.media),
    part("posts", r.posts),
    part("revisions", r.revisions),
    part("favorites", r.favorites),
    part("audit entries", r.auditEntries),
  ].join(", ");
}

async function run(args: Args): Promise<void> {
  const report = await loadDump(dump!, { onConflict: args.onConflict });
  console.log(`loaddata: ${summary(report)}`);
  if (report.mediaFilesMissing.length)
    console.log(
      `loaddata: ${formatCount(report.mediaFilesMissing.length)} ${report.mediaFilesMissing.length === 1 ? "image has" : "images have"} no file in DATA_DIR/media ` +
        `(${report.mediaFilesMissing.slice(0, 3).join(", ")}${report.mediaFilesMissing.length > 3 ? ", ..." : ""}): a dump holds the images' rows, not their files; copy the media folder of the site dumped`,
    );
  if (report.usersWithoutPassword)
    console.log(
      `loaddata: ${formatCount(report.usersWithoutPassword)} new ${report.usersWithoutPassword === 1 ? "user has" : "users have"} no password ` +
        `(the dump was made without --with-passwords): they sign in after a password reset (the "Forgotten your password?" link, or npm run changepassword -- NAME)`,
    );
}

await runCommand({ name: "loaddata", usage: USAGE, parse, prepare, run });
