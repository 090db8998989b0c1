// Sign-up that does not tell which e-mail addresses have accounts (OWASP ASVS 2.x / "account
// enumeration"). A valid form always gets the same answer ("check your e-mail"), sent before the
// address is even looked up; what happens next is told to the address's owner by e-mail:
//  - a new address: the account is created (a READER, active, its address NOT verified) and mailed a
//    link to verify the address (src/accounts/verify.ts): the account row and the mail job are one
//    transaction. Nobody is signed in by the form: signing the new user in would answer differently
//    (a session, the profile page) from a taken address, which cannot be signed in.
//  - an address that has an account: nothing is created; its owner is told that someone tried to
//    sign up with it, with links to sign in and to reset the password.
// Every mail is a job (enqueueMail): sent, with retries, by the workers.
// A taken USERNAME is still reported on the form: usernames are public (authors' pages, bylines).
import { prisma, Prisma } from "../db/index.ts";
import { enqueueMail } from "../mail/index.ts";
import { signupExistingAccountMessage, signupNotCompletedMessage } from "../mail/messages.ts";
import { logger } from "../web/logger.ts";
import { afterResponse } from "../web/after-response.ts";
import { hashPassword } from "./passwords.ts";
import { createAccount, findByEmail } from "./users.ts";
import { enqueueVerification } from "./verify.ts";

export interface SignupRequest {
  username: string;
  email: string;
  password: string;
}

/** Completes a valid sign-up form (see above). Resolves once the account exists and its mail is enqueued. */
async function completeSignup(input: SignupRequest): Promise<"created" | "existing" | "username_taken"> {
  const existing = await findByEmail(input.email);
  if (existing) {
    // A deactivated account's owner cannot sign in: like the reset form, nothing is sent to it.
    if (existing.isActive) await enqueueMail(null, signupExistingAccountMessage(existing.email, existing.username));
    return "existing";
  }
  // Hashed before the transaction opens: it holds a connection only for the two inserts.
  const passwordHash = await hashPassword(input.password);
  try {
    await prisma.$transaction(async (tx) => {
      const user = await createAccount({ username: input.username, email: input.email, passwordHash, role: "READER", emailVerifiedAt: null }, tx);
      await enqueueVerification(tx, user);
    });
    return "created";
  } catch (e) {
    if (!(e instanceof Prisma.PrismaClientKnownRequestError && e.code === "P2002")) throw e;
    // Another sign-up took the address or the username since the form was checked: the unique
    // indexes decided. Told by e-mail like every other outcome.
    const owner = await findByEmail(input.email);
    if (owner) {
      if (owner.isActive) await enqueueMail(null, signupExistingAccountMessage(owner.email, owner.username));
      return "existing";
    }
    await enqueueMail(null, signupNotCompletedMessage(input.email, input.username));
    return "username_taken";
  }
}

/** completeSignup() after the answer has been sent (same timing whatever the address); failures are logged. */
export function completeSignupLater(input: SignupRequest, log: Pick<typeof logger, "error"> = logger): void {
  afterResponse("sign-up could not be completed", () => completeSignup(input), log);
}
