// npm run dumpdata [-- --output site.json] [--with-passwords]
// Writes the site's content (users, categories, tags, posts with their tags, revisions, favorites, the audit log)
// as JSON: the format is described in src/data/dump.ts; npm run loaddata reads it back.
import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { dumpData } from "../data/dump.ts";
import { openPendingFile, writeAll, type PendingFile } from "../data/common.ts";
import { runCommand, UsageError } from "../data/command.ts";
import { formatCount } from "../web/limits.ts";

const USAGE = `usage: npm run dumpdata [-- --output FILE] [--with-passwords]

Writes all content as JSON (users, categories, tags, posts with their tags, revisions, favorites, audit log),
to FILE or to standard output (then use npm run -s, so npm's own lines stay out of it).

  --output, -o FILE   write FILE (created or replaced once the dump is complete)
  --with-passwords    include the users' password hashes (without: loaded users must reset their password)
  --help              this text`;

interface Args {
  output?: string;
  withPasswords: boolean;
}

function parse(argv: string[]): Args | "help" {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      output: { type: "string", short: "o" },
      "with-passwords": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
    allowPositionals: true,
  });
  if (values.help) return "help";
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  if (values.output === "") throw new UsageError("--output needs a file name");
  return { output: values.output, withPasswords: values["with-passwords"] ?? false };
}

async function run(args: Args): Promise<void> {
  let file: PendingFile | undefined;
  let out: NodeJS.WritableStream = process.stdout;
  if (args.output) {
    file = await openPendingFile(resolve(args.output));
    out = file.stream;
  }
  let bytes = 0;
  try {
    const counts = await dumpData(
      (line) => {
        bytes += Buffer.byteLength(line);
        return writeAll(out, line);
      },
      { withPasswords: args.withPasswords },
    );
    await file?.commit();
    const what = Object.entries({
      users: counts.users,
      categories: counts.categories,
      tags: counts.tags,
      posts: counts.posts,
      revisions: counts.revisions,
      favorites: counts.favorites,
      images: counts.media,
      "audit entries": counts.auditEntries,
    })
      .map(([k, n]) => `${formatCount(n)} ${k}`)
      .join(", ");
    console.error(
      `dumpdata: ${what}${args.withPasswords ? " (with password hashes)" : ""}` + `${file ? ` written to ${args.output}` : ""} (${formatCount(bytes)} bytes)`,
    );
    if (counts.media)
      console.error(`dumpdata: the images' files are not in the dump: copy DATA_DIR/media/ to the other site too (npm run backup carries them)`);
  } finally {
    file?.abort();
  }
}

await runCommand({ name: "dumpdata", usage: USAGE, parse, run });
