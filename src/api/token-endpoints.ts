// Authentication operations (djangorestframework-simplejwt's views, with rotation and its blacklist):
//   POST /auth/token    {username, password}  -> {access, refresh, tokenType, expiresIn}   (TokenObtainPairView)
//   POST /auth/refresh  {refresh}             -> a new pair; the old refresh token is used up (TokenRefreshView)
//   POST /auth/revoke   {refresh}             -> 204; its family is revoked (TokenBlacklistView: a client's logout)
//   POST /auth/verify   {token}               -> {valid, tokenType, exp}                   (TokenVerifyView)
// POST /auth/token is the login form's attempt (src/accounts/auth.ts throttledLogin): the same
// credentials check, the same one failure message and the same throttling lanes, so failures through
// the form and through the API count toward one block. Tokens: src/api/tokens.ts.
import { z } from "zod";
import { LOGIN_FAILED, throttledLogin } from "../accounts/auth.ts";
import { noNul, NUL_MESSAGE } from "../web/inputs.ts";
import { endpoint, type Endpoint } from "./endpoint.ts";
import { ApiProblem, problems } from "./problem.ts";
import { ACCESS_TOKEN_SECONDS, inspectToken, issueTokenPair, REFRESH_TOKEN_SECONDS, revokeRefreshFamily, rotateRefreshToken } from "./tokens.ts";

/** A JWT as sent back to us (bounded: ours are well under 1 KB). */
const jwtString = (what: string) => z.string().min(1, `Send the ${what}.`).max(4096, "This is not a token issued by this API.");

const TokenPair = z
  .object({
    access: z
      .string()
      .meta({ description: `The access token (JWT): send it as \`Authorization: Bearer <access>\`. Valid ${ACCESS_TOKEN_SECONDS / 60} minutes.` }),
    refresh: z.string().meta({
      description: `The refresh token (JWT): exchange it once at POST /auth/refresh for a new pair. Valid ${REFRESH_TOKEN_SECONDS / 86_400} days; presenting it a second time revokes every token of its family.`,
    }),
    tokenType: z.literal("Bearer"),
    expiresIn: z.number().int().meta({ description: "The access token's lifetime in seconds." }),
  })
  .meta({ id: "TokenPair" });

const TokenVerification = z
  .object({
    valid: z.literal(true),
    tokenType: z.enum(["access", "refresh"]),
    exp: z.number().int().meta({ description: "When the token expires: seconds since 1970-01-01 UTC (the JWT's exp claim)." }),
  })
  .meta({ id: "TokenVerification" });

const RefreshBody = z.strictObject({ refresh: jwtString("refresh token") });

/** Every refused token gets this one answer (why is not said: expired, revoked, forged...). */
const invalidToken = () => problems.unauthenticated("The token is invalid, expired or revoked.", "invalid_token");

const obtainToken = endpoint({
  operationId: "obtainToken",
  method: "post",
  path: "/auth/token",
  summary: "Log in: a token pair",
  description:
    "Exchanges a username (or e-mail address) and password for an access token and a refresh token. " +
    "Throttled like the login form (shared limits): 429 with Retry-After. Wrong credentials or an inactive account: 401, one message for all.",
  tags: ["auth"],
  auth: "public",
  errors: [403], // a signed-in session cookie without X-CSRF-Token
  body: z.strictObject({
    username: z
      .string()
      .trim()
      .min(1, "Enter your username or e-mail address.")
      .max(254, "Ensure this value has at most 254 characters.")
      .refine(noNul, NUL_MESSAGE),
    password: z.string().min(1, "Enter your password.").max(1024, "Ensure this value has at most 1024 characters.").refine(noNul, NUL_MESSAGE),
  }),
  responses: { 200: { description: "The tokens.", schema: TokenPair } },
  async handle({ req, res, body }) {
    const attempt = await throttledLogin(req, res, body.username);
    if (attempt.user === null) {
      if (attempt.retryAfter > 0)
        throw new ApiProblem(
          429,
          `Too many failed login attempts. Try again in ${attempt.retryAfter} seconds.`,
          {},
          { "Retry-After": String(attempt.retryAfter) },
        );
      throw problems.unauthenticated(LOGIN_FAILED);
    }
    return { body: await issueTokenPair(attempt.user), headers: { "Cache-Control": "no-store" } };
  },
});

const refreshToken = endpoint({
  operationId: "refreshToken",
  method: "post",
  path: "/auth/refresh",
  summary: "A new token pair for a refresh token",
  description:
    "Rotates: answers a new access token and a new refresh token, and uses the one sent up. " +
    "A refresh token sent a second time (a copy) revokes its whole family: every later token of that login is refused too.",
  tags: ["auth"],
  auth: "public",
  errors: [403], // a signed-in session cookie without X-CSRF-Token
  body: RefreshBody,
  responses: { 200: { description: "The new tokens.", schema: TokenPair } },
  async handle({ req, body }) {
    const r = await rotateRefreshToken(body.refresh);
    if (!r.ok) {
      if (r.reason === "reused") req.log.warn({ userId: r.userId }, "API refresh token reused: its family was revoked");
      throw invalidToken();
    }
    return { body: r.tokens, headers: { "Cache-Control": "no-store" } };
  },
});

const revokeToken = endpoint({
  operationId: "revokeToken",
  method: "post",
  path: "/auth/revoke",
  summary: "Log out: revoke a refresh token",
  description: "Revokes the refresh token's family (every refresh token of that login). Idempotent.",
  tags: ["auth"],
  auth: "public",
  errors: [403], // a signed-in session cookie without X-CSRF-Token
  body: RefreshBody,
  responses: { 204: { description: "Revoked (or already revoked)." } },
  async handle({ body }) {
    if (!(await revokeRefreshFamily(body.refresh))) throw invalidToken();
    return { status: 204 };
  },
});

const verifyToken = endpoint({
  operationId: "verifyToken",
  method: "post",
  path: "/auth/verify",
  summary: "Check a token",
  description: "200 when the API would accept this access or refresh token now; 401 otherwise.",
  tags: ["auth"],
  auth: "public",
  errors: [403], // a signed-in session cookie without X-CSRF-Token
  body: z.strictObject({ token: jwtString("token") }),
  responses: { 200: { description: "The token is valid.", schema: TokenVerification } },
  async handle({ body }) {
    const t = await inspectToken(body.token);
    if (!t) throw invalidToken();
    return { body: { valid: true, ...t }, headers: { "Cache-Control": "no-store" } };
  },
});

export const endpoints: Endpoint[] = [obtainToken, refreshToken, revokeToken, verifyToken];
