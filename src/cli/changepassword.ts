// npm run changepassword -- <username>
// Sets a user's password (asked twice, without echo; same validators as sign-up) and ends all of
// that user's sessions and API refresh tokens.
import { parseArgs } from "node:util";
import { openDatabase, StartupError } from "../db/setup.ts";
import { disconnectDb, pool } from "../db/index.ts";
import { setPassword } from "../accounts/users.ts";
import { validatePassword } from "../accounts/validation.ts";
import { Prompter } from "../accounts/prompt.ts";
import { signOutEverywhere } from "../accounts/signout.ts";

class CommandError extends Error {}
const MAX_TRIES = 3;

async function main(): Promise<number> {
  const { positionals } = parseArgs({ allowPositionals: true, strict: true, options: {} });
  if (positionals.length !== 1) throw new CommandError("Usage: npm run changepassword -- <username>");
  const name = positionals[0]!;
  await openDatabase({ log: () => {} });
  const p = new Prompter();
  try {
    const { rows } = await pool.query<{ id: number; username: string; email: string; firstName: string; lastName: string }>(
      `SELECT id, username, email, "firstName", "lastName" FROM "User" WHERE lower(username) = lower($1) LIMIT 1`,
      [name],
    );
    const user = rows[0];
    if (!user) throw new CommandError(`Error: user '${name}' does not exist.`);
    console.error(`Changing password for user '${user.username}'`);
    for (let i = 0; i < MAX_TRIES; i++) {
      const pw = await p.ask("Password: ", { hidden: true });
      if (pw === null) throw new CommandError("Input ended; password unchanged.");
      const again = await p.ask("Password (again): ", { hidden: true });
      if (again === null) throw new CommandError("Input ended; password unchanged.");
      if (pw !== again) {
        console.error("Passwords do not match. Please try again.");
        continue;
      }
      const problems = pw.includes("\0") ? ["Null characters are not allowed."] : validatePassword(pw, user);
      if (problems.length) {
        console.error(problems.join("\n"));
        continue;
      }
      await setPassword(user.id, pw);
      const ended = await signOutEverywhere(user.id);
      console.log(`Password changed successfully for user '${user.username}'${ended ? ` (${ended} session${ended === 1 ? "" : "s"} ended)` : ""}.`);
      return 0;
    }
    throw new CommandError(`Aborting password change for user '${user.username}' after ${MAX_TRIES} attempts`);
  } finally {
    p.close();
    await disconnectDb();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof CommandError ? err.message : err instanceof StartupError ? `Error: ${err.message}` : err);
    process.exit(1);
  },
);
