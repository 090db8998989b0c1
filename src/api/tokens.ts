// The API's JSON Web Tokens (djangorestframework-simplejwt's design): a short access token (5 minutes)
// that authenticates requests, verified by passport-jwt's strategy beside the local one.
//  - HS256 only (an allow-list: "none", RS256/HS384... are refused), keys from JWT_KEYS (src/config.ts):
//    the first signs, each verifies; the token's `kid` header picks the key, so keys rotate without
//    signing anyone out.
//  - `iss` (SITE_URL), `aud` ("folio-api"), `exp`, `nbf` and `iat` are set and checked; `token_type`
//    keeps an access token and a refresh token from standing in for each other.
//  - Custom claims `email` and `role` (informational: permissions use the account as stored).
import { randomUUID } from "node:crypto";
import jwt from "jsonwebtoken";
import { ExtractJwt, Strategy as JwtStrategy } from "passport-jwt";
import { passport } from "../accounts/auth.ts";
import { findSessionUser, type SessionUser } from "../accounts/users.ts";
import { config } from "../config.ts";

export const JWT_STRATEGY = "jwt";
export const JWT_ALGORITHM = "HS256" as const;
export const JWT_AUDIENCE = "folio-api";
export const ACCESS_TOKEN_SECONDS = 5 * 60;

export const jwtIssuer = (): string => config.SITE_URL;

/** The secret for a token's `kid` header, or undefined (an unknown or missing kid is refused). */
export function keyFor(kid: unknown): string | undefined {
  return typeof kid === "string" ? config.JWT_KEYS.find((k) => k.kid === kid)?.secret : undefined;
}

export interface AccessClaims {
  sub: string;
  token_type: "access";
  email: string;
  role: SessionUser["role"];
  jti: string;
}

/** A signed access token for `user` (5 minutes). */
export function signAccessToken(user: Pick<SessionUser, "id" | "email" | "role">): string {
  const key = config.JWT_KEYS[0]!;
  const claims: Omit<AccessClaims, "sub"> = { token_type: "access", email: user.email, role: user.role, jti: randomUUID() };
  return jwt.sign(claims, key.secret, {
    algorithm: JWT_ALGORITHM,
    keyid: key.kid,
    subject: String(user.id),
    issuer: jwtIssuer(),
    audience: JWT_AUDIENCE,
    expiresIn: ACCESS_TOKEN_SECONDS,
    notBefore: 0,
  });
}

passport.use(
  JWT_STRATEGY,
  new JwtStrategy(
    {
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      secretOrKeyProvider: (_req: unknown, rawJwtToken: string, done: (err: unknown, secret?: string) => void) => {
        const header = jwt.decode(rawJwtToken, { complete: true })?.header;
        const secret = header?.alg === JWT_ALGORITHM ? keyFor(header.kid) : undefined;
        // No key: passport-jwt then fails the request (401), as for a bad signature.
        done(secret ? null : new Error("unknown key"), secret);
      },
      algorithms: [JWT_ALGORITHM],
      issuer: jwtIssuer(),
      audience: JWT_AUDIENCE,
      ignoreExpiration: false,
    },
    (payload: Partial<AccessClaims>, done: (err: unknown, user?: SessionUser | false) => void) => {
      const id = Number(payload.sub);
      if (payload.token_type !== "access" || !Number.isSafeInteger(id)) return done(null, false);
      findSessionUser(id).then(
        (user) => done(null, user && user.isActive ? user : false),
        (err) => done(err),
      );
    },
  ),
);
