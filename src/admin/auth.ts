// Who is using the admin: req.user (set by the accounts session/passport middleware) and the gate
// every admin route passes (anonymous -> login page, no admin access -> 403).
import type { Request, RequestHandler } from "express";
import type { SessionUser } from "../accounts/users.ts";
import { can, type Action } from "../accounts/permissions.ts";
import { refuseAnonymous } from "../accounts/middleware.ts";
import { forbidden, notFound } from "../web/errors.ts";

/** The signed-in user as the admin sees it: the session user (src/accounts/users.ts). */
export type AdminUser = SessionUser;

export function currentUser(req: Request): AdminUser | null {
  const u = (req as Request & { user?: AdminUser }).user;
  return u && typeof u.id === "number" ? u : null;
}

/** Gate for every /admin/ route: log in first, then admin.access. */
export const requireAdmin: RequestHandler = (req, res, next) => {
  const user = currentUser(req);
  // Only GETs are redirected; a POST gets 403, or its form back with the text kept (refuseAnonymous).
  if (!user) return refuseAnonymous(req, res, next, "Please log in.");
  if (!can(user, "admin.access")) return next(forbidden("Your account cannot use the admin site."));
  res.locals.adminUser = user;
  res.locals.meta = { ...(res.locals.meta ?? {}), noindex: true };
  res.setHeader("Cache-Control", "private, no-store");
  next();
};

/** can() or 403. */
export function authorize(user: AdminUser, action: Action, obj?: { authorId?: number } | null): void {
  if (!can(user, action, obj)) throw forbidden();
}

/** Object-level: an object the user may not even view is a 404 (does not reveal it exists). */
export function authorizeObject(user: AdminUser, action: Action, obj: { authorId?: number } | null): void {
  if (!obj) throw notFound();
  if (!can(user, action.replace(/\.\w+$/, ".view") as Action, obj)) throw notFound();
  if (!can(user, action, obj)) throw forbidden();
}
