// /autosave/: the post forms' autosave endpoint and the editor script's session check.
import express, { Router } from "express";
import { route } from "../web/urls.ts";
import { requireLogin } from "../accounts/middleware.ts";
import { FORM_BODY_LIMIT_BYTES } from "../web/limits.ts";
import * as c from "./controller.ts";

export const autosaveRouter = Router();

// JSON bodies only here (the rest of the site takes forms); the same byte limit as a form.
const json = express.json({ limit: FORM_BODY_LIMIT_BYTES, strict: true });

autosaveRouter.post(route("autosave:save", "/autosave/"), requireLogin, json, c.save);
autosaveRouter.get(route("autosave:session", "/autosave/session/"), c.session);
