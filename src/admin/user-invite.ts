// The admin's "Send the invitation again" for a user who never set a password (src/accounts/invite.ts):
// GET asks, POST sends (a new link; the earlier ones stop working) and says to which address.
import type { Request, Response } from "express";
import { awaitsPassword, InviteNotNeeded, INVITE_DAYS, resendInvite } from "../accounts/invite.ts";
import { prisma } from "../db/index.ts";
import { forbidden } from "../web/errors.ts";
import { flash } from "../web/session.ts";
import { url } from "../web/urls.ts";
import { authorize, authorizeObject, currentUser } from "./auth.ts";
import { site } from "./site.ts";
import { parseId, render } from "./views.ts";

export async function userInvite(req: Request, res: Response) {
  const u = currentUser(req);
  if (!u) throw forbidden();
  authorize(u, "user.change");
  const id = parseId(req.params.id);
  const target = await prisma.user.findUnique({ where: { id }, select: { id: true, username: true, email: true } });
  authorizeObject(u, "user.change", target ? {} : null);
  const changeUrl = url("admin:accounts_user_change", { id });
  if (req.method === "GET") {
    const m = site.get("accounts_user")!;
    return render(req, res, "user_invite.njk", {
      title: `Send the invitation again: ${target!.username}`,
      target,
      days: INVITE_DAYS,
      waiting: await awaitsPassword(id),
      m: { key: "accounts_user", verboseName: m.verboseName, verboseNamePlural: m.verboseNamePlural },
      changeUrl,
    });
  }
  try {
    const email = await resendInvite(id, u);
    flash(req, "success", `The invitation was sent again to ${email}. Earlier invitation links no longer work.`);
  } catch (e) {
    if (!(e instanceof InviteNotNeeded)) throw e;
    flash(req, "warning", e.message);
  }
  res.redirect(303, changeUrl);
}
