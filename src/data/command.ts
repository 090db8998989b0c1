// The frame of the data commands (npm run dumpdata / loaddata / backup / restore): parse the command
// line, open the configured database (DATABASE_URL, else the embedded PostgreSQL recorded in DATA_DIR)
// like every other command, run, close, and turn failures into one line and an exit status:
// 0 done, 1 refused or failed (bad input, conflicts, a database that cannot be reached), 2 usage.
import { describeFailure, openDatabase } from "../db/setup.ts";
import { disconnectDb } from "../db/index.ts";
import { DataError } from "./common.ts";

/** A bad command line: printed with the usage text, exit status 2. */
export class UsageError extends Error {}

/** The one file argument of `npm run <script> -- FILE`. */
export function oneFile(positionals: string[], script: string): string {
  if (positionals.length !== 1)
    throw new UsageError(positionals.length ? `one file at a time, got ${positionals.length}` : `which file? (npm run ${script} -- FILE)`);
  return positionals[0]!;
}

export interface Command<A> {
  name: string;
  usage: string;
  parse(argv: string[]): A | "help";
  /** Checks that need no database (reading the input file), before one is opened or started. */
  prepare?(args: A): Promise<void>;
  run(args: A, db: { url: string }): Promise<void>;
}

export async function runCommand<A>(cmd: Command<A>): Promise<never> {
  let args: A | "help";
  try {
    args = cmd.parse(process.argv.slice(2));
  } catch (e) {
    console.error(`${cmd.name}: ${(e as Error).message}\n\n${cmd.usage}`);
    process.exit(2);
  }
  if (args === "help") {
    console.log(cmd.usage);
    process.exit(0);
  }
  try {
    await cmd.prepare?.(args);
  } catch (e) {
    process.exit(fail(cmd.name, e));
  }
  let db: Awaited<ReturnType<typeof openDatabase>>;
  try {
    db = await openDatabase({ log: (m) => console.error(`${cmd.name}: ${m}`) });
  } catch (e) {
    console.error(`${cmd.name}: ${describeFailure(e)}`);
    process.exit(1);
  }
  let code = 0;
  try {
    await cmd.run(args, db);
  } catch (e) {
    code = fail(cmd.name, e);
  } finally {
    await disconnectDb();
    await db.stopServer();
  }
  process.exit(code);
}

function fail(name: string, e: unknown): number {
  if (e instanceof DataError) console.error(`${name}: ${e.message}`);
  else console.error(`${name} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  return 1;
}
