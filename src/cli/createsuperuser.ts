// npm run createsuperuser                       (asks username, e-mail, password twice)
// npm run createsuperuser -- --username U --email E --no-input   (password from SUPERUSER_PASSWORD)
// Creates an ADMIN account with the same rules as sign-up (username, e-mail, password validators).
import { userInfo } from "node:os";
import { parseArgs } from "node:util";
import { z } from "zod";
import { config } from "../config.ts";
import { openDatabase, StartupError } from "../db/setup.ts";
import { disconnectDb } from "../db/index.ts";
import { createAccount, emailTaken, usernameTaken } from "../accounts/users.ts";
import { emailField, usernameField, validatePassword } from "../accounts/validation.ts";
import { Prompter } from "../accounts/prompt.ts";

class CommandError extends Error {}

const firstMessage = (r: z.ZodSafeParseResult<unknown>) => (r.success ? null : (r.error.issues[0]?.message ?? "Invalid value."));

async function checkUsername(raw: string): Promise<string> {
  const r = usernameField.safeParse(raw);
  if (!r.success) throw new CommandError(`Error: ${firstMessage(r)}`);
  if (await usernameTaken(r.data)) throw new CommandError("Error: That username is already taken.");
  return r.data;
}

async function checkEmail(raw: string): Promise<string> {
  const r = emailField.safeParse(raw);
  if (!r.success) throw new CommandError(`Error: ${firstMessage(r)}`);
  if (await emailTaken(r.data)) throw new CommandError("Error: That e-mail address is already used by another account.");
  return r.data;
}

function checkPassword(password: string, attrs: { username: string; email: string }): void {
  if (password.includes("\0")) throw new CommandError("Error: Null characters are not allowed.");
  const problems = validatePassword(password, attrs);
  if (problems.length) throw new CommandError(problems.map((p) => `Error: ${p}`).join("\n"));
}

/** Asks until `check` accepts the answer (interactive), or fails at once (piped input ends). */
async function askUntil<T>(
  p: Prompter,
  question: string,
  check: (answer: string) => Promise<T> | T,
  opts: { hidden?: boolean; fallback?: string } = {},
): Promise<T> {
  for (;;) {
    let answer = await p.ask(question, opts);
    if (answer === null) throw new CommandError("Input ended; superuser creation skipped.");
    if (answer === "" && opts.fallback) answer = opts.fallback;
    try {
      return await check(answer);
    } catch (e) {
      if (!(e instanceof CommandError) || !p.interactive) throw e;
      console.error(e.message);
    }
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      username: { type: "string" },
      email: { type: "string" },
      "no-input": { type: "boolean", default: false },
    },
    strict: true,
  });
  await openDatabase({ log: () => {} });
  try {
    let username: string;
    let email: string;
    let password: string;
    if (values["no-input"]) {
      if (!values.username) throw new CommandError("Error: --username is required with --no-input.");
      if (!values.email) throw new CommandError("Error: --email is required with --no-input.");
      if (!config.SUPERUSER_PASSWORD) throw new CommandError("Error: set SUPERUSER_PASSWORD to the password with --no-input.");
      username = await checkUsername(values.username);
      email = await checkEmail(values.email);
      password = config.SUPERUSER_PASSWORD;
      checkPassword(password, { username, email });
    } else {
      const p = new Prompter();
      try {
        const suggested = (() => {
          try {
            return userInfo()
              .username.toLowerCase()
              .replace(/[^a-z0-9_.@+-]/g, "");
          } catch {
            return "";
          }
        })();
        username = values.username
          ? await checkUsername(values.username)
          : await askUntil(p, `Username${suggested ? ` (leave blank to use '${suggested}')` : ""}: `, checkUsername, { fallback: suggested });
        email = values.email ? await checkEmail(values.email) : await askUntil(p, "Email address: ", checkEmail);
        password = await askUntil(
          p,
          "Password: ",
          async (pw) => {
            checkPassword(pw, { username, email });
            const again = await p.ask("Password (again): ", { hidden: true });
            if (again !== pw) throw new CommandError("Error: Your passwords didn't match.");
            return pw;
          },
          { hidden: true },
        );
      } finally {
        p.close();
      }
    }
    const user = await createAccount({ username, email, password, role: "ADMIN" });
    console.log(`Superuser created successfully: ${user.username} (id ${user.id}).`);
    return 0;
  } finally {
    await disconnectDb();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof CommandError) console.error(err.message);
    else if (err instanceof StartupError) console.error(`Error: ${err.message}`);
    else if (err instanceof TypeError && /parseArgs|Unknown option|ERR_PARSE_ARGS/i.test(String((err as { code?: string }).code ?? err.message)))
      console.error(`Error: ${err.message}\nUsage: npm run createsuperuser -- [--username U] [--email E] [--no-input]`);
    else console.error(err);
    process.exit(1);
  },
);
