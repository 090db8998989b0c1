// Admins' "set password" page for a user (Django's UserAdmin "this form" link): either set a new
// password directly (validated like every password) or generate a one-time reset link to hand over.
import type { Request, Response } from "express";
import { prisma } from "../db/index.ts";
import { absoluteUrl, url } from "../web/urls.ts";
import { flash } from "../web/session.ts";
import { signOutEverywhere } from "../accounts/signout.ts";
import { checkNewPassword } from "../accounts/validation.ts";
import { setPassword } from "../accounts/users.ts";
import { issueResetToken } from "../accounts/reset.ts";
import { recordAction } from "../audit/index.ts";
import { authorize, authorizeObject, currentUser } from "./auth.ts";
import { parseId, render } from "./views.ts";
import { site } from "./site.ts";
import { forbidden } from "../web/errors.ts";

export async function userPassword(req: Request, res: Response) {
  const u = currentUser(req);
  if (!u) throw forbidden();
  authorize(u, "user.change");
  const id = parseId(req.params.id);
  const target = await prisma.user.findUnique({ where: { id }, select: { id: true, username: true, email: true, firstName: true, lastName: true } });
  authorizeObject(u, "user.change", target ? {} : null);
  const m = site.get("accounts_user")!;
  const ctx = {
    title: `Change password: ${target!.username}`,
    target,
    m: { key: "accounts_user", verboseName: m.verboseName, verboseNamePlural: m.verboseNamePlural },
    changeUrl: url("admin:accounts_user_change", { id }),
  };
  if (req.method === "GET") return render(req, res, "user_password.njk", { ...ctx, errors: {} });

  const body = (req.body ?? {}) as Record<string, unknown>;
  const audit = (what: string) =>
    recordAction({ userId: u.id, action: "CHANGE", model: "accounts.user", objectId: id, objectRepr: target!.username, changes: { changed: [what] } });
  if (body._reset_link !== undefined) {
    const token = await issueResetToken(id);
    await audit("password reset link");
    return render(req, res, "user_password.njk", { ...ctx, errors: {}, resetLink: absoluteUrl("accounts:password_reset_confirm", { token }) });
  }
  const p1 = typeof body.password1 === "string" ? body.password1 : "";
  const p2 = typeof body.password2 === "string" ? body.password2 : "";
  const errors = p1 ? checkNewPassword({ password1: p1, password2: p2 }, target!) : { password1: "This field is required." };
  if (Object.keys(errors).length) return render(req, res, "user_password.njk", { ...ctx, errors }, 400);
  await setPassword(id, p1);
  // The user is signed out everywhere (sessions, API refresh tokens); an admin setting their own keeps this session.
  await signOutEverywhere(id, id === u.id ? req.sessionID : undefined);
  await audit("password");
  flash(req, "success", `Password changed for “${target!.username}”.`);
  res.redirect(303, url("admin:accounts_user_change", { id }));
}
