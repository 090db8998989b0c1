// The accounts feature's public surface for app.ts: the request pipeline that knows who is asking.
import { Router } from "express";
import type nunjucks from "nunjucks";
import { enforceAbsoluteTimeout, lazySessions } from "../web/session.ts";
import { csrfProtection, csrfTokenGlobal, csrfWarningGlobal } from "../web/csrf.ts";
import { formBodyParser } from "../web/limits.ts";
import { passport } from "./auth.ts";
import { userLocals } from "./middleware.ts";

/**
 * Form bodies -> session (only when the session cookie came in: see lazySessions) -> absolute
 * timeout -> passport (req.user) -> res.locals.user -> CSRF check on every unsafe method.
 * Mount after static files and health checks.
 */
export function authPipeline(): Router {
  const r = Router();
  r.use(formBodyParser()); // limit derived from the field limits (src/web/limits.ts)
  // No passport.initialize(): it defines eight properties on every request (req.login, the
  // compatibility req._passport...), which cost ~2% of a reader's page for nothing. passport.session()
  // and passport.authenticate() install the same methods on the requests that need them (passport 0.7).
  r.use(lazySessions([enforceAbsoluteTimeout, passport.session()]));
  r.use(userLocals);
  r.use(csrfProtection);
  return r;
}

/** Template globals: csrf_token() and csrf_warning() (used by the csrf_field() macro in views/partials/forms.njk). */
export function installAuthTemplateGlobals(env: nunjucks.Environment): void {
  env.addGlobal("csrf_token", csrfTokenGlobal);
  env.addGlobal("csrf_warning", csrfWarningGlobal); // production over plain HTTP: the form cannot work
}

export { accountsRouter } from "./routes.ts";
