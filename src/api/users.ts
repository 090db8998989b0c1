// Users: the caller's own account (`me`: read, and change their names) and, for admins (user.view /
// user.change), everyone's. Password hashes are never read here. Every change, PATCH /me too, is saved
// through the one user save (src/accounts/service.ts, which the admin calls too: audit entry, version
// check, the guard that an admin cannot demote or deactivate themself, and a deactivated account
// signed out everywhere).
import { z } from "zod";
import { can } from "../accounts/permissions.ts";
import { StaleVersionError, updateUser as saveUser } from "../accounts/service.ts";
import type { SessionUser } from "../accounts/users.ts";
import { nameField } from "../accounts/validation.ts";
import { prisma, type Prisma } from "../db/index.ts";
import { endpoint, type Endpoint } from "./endpoint.ts";
import { pageEnvelope, pageLink, pageQuery } from "./paging.ts";
import { usernameParam } from "./posts-resource.ts";
import { requireVersion } from "./preconditions.ts";
import { pageOf } from "./schemas.ts";
import { ApiProblem, problems } from "./problem.ts";
import { saving } from "./saves.ts";

const ROLES = ["READER", "AUTHOR", "EDITOR", "ADMIN"] as const;
const RoleName = z.enum(ROLES).meta({ id: "Role", description: "READER < AUTHOR < EDITOR < ADMIN (who may do what: README, permissions)." });

export const Me = z
  .object({
    id: z.number().int(),
    username: z.string(),
    email: z.string(),
    firstName: z.string(),
    lastName: z.string(),
    role: RoleName,
  })
  .meta({ id: "Me" });

const dateTime = () => z.iso.datetime({ offset: true });

export const User = Me.extend({
  isActive: z.boolean().meta({ description: "An inactive account cannot sign in." }),
  dateJoined: dateTime(),
  lastLogin: dateTime().nullable(),
  version: z.number().int().meta({ description: "Bumped on every save; the ETag. Send it back in If-Match to change the user." }),
}).meta({ id: "User" });

const USER_SELECT = {
  id: true,
  username: true,
  email: true,
  firstName: true,
  lastName: true,
  role: true,
  isActive: true,
  dateJoined: true,
  lastLogin: true,
  version: true,
} satisfies Prisma.UserSelect;

type UserRow = Prisma.UserGetPayload<{ select: typeof USER_SELECT }>;

/** The selected columns are the resource's fields: only the times change form. */
const userResource = (u: UserRow): z.infer<typeof User> => ({ ...u, dateJoined: u.dateJoined.toISOString(), lastLogin: u.lastLogin?.toISOString() ?? null });

const meResource = ({ id, username, email, firstName, lastName, role }: SessionUser) => ({ id, username, email, firstName, lastName, role });

const findUser = (where: { username: string } | { id: number }) => prisma.user.findUnique({ where, select: USER_SELECT });

/** `action` per the rule, or 403 (user.view and user.change: admins). */
function allow(user: SessionUser, action: "user.view" | "user.change"): void {
  if (!can(user, action)) throw problems.forbidden("Only admins may see and change other users' accounts.");
}

const usernameParams = z.object({ username: usernameParam.meta({ description: "The username." }) });

const USERS_PER_PAGE = 50;

/** The account as stored now, or null. */
const currentUser = (id: number) => async () => {
  const now = await findUser({ id });
  return now && userResource(now);
};

// ------------------------------------------------------------------------------ me

const getMe = endpoint({
  operationId: "getMe",
  method: "get",
  path: "/me",
  summary: "The signed-in user",
  tags: ["users"],
  auth: "user",
  responses: { 200: { description: "Your account.", schema: Me } },
  handle({ user }) {
    return { body: meResource(user!) };
  },
});

const updateMe = endpoint({
  operationId: "updateMe",
  method: "patch",
  path: "/me",
  summary: "Change your names",
  description: "Your first and last name (each at most 150 characters; a field left out keeps its value). Other fields are changed by an admin.",
  tags: ["users"],
  auth: "user",
  body: z.strictObject({ firstName: nameField.optional(), lastName: nameField.optional() }).meta({ id: "MeChange" }),
  responses: { 200: { description: "Your account as saved.", schema: Me } },
  errors: [409],
  async handle({ user, body }) {
    const u = user!;
    const firstName = body.firstName ?? u.firstName;
    const lastName = body.lastName ?? u.lastName;
    // the account as loaded for this request: saved over the version read now (no If-Match: it is your own)
    const stored = await findUser({ id: u.id });
    if (!stored) throw problems.notFound("Your account was deleted.");
    const save = saveUser(u.id, stored.version, { firstName, lastName }, u).catch((e: unknown) => {
      if (e instanceof StaleVersionError) throw new ApiProblem(409, "Your account was changed at the same moment; send your change again.");
      throw e;
    });
    await saving(save, "user", async () => null);
    return { body: meResource({ ...u, firstName, lastName }) };
  },
});

// ------------------------------------------------------------------------------ admins

const listUsers = endpoint({
  operationId: "listUsers",
  method: "get",
  path: "/users",
  summary: "Users",
  description: "Admins only. Every account, by username, a page at a time.",
  tags: ["users"],
  auth: "user",
  query: pageQuery("Users", USERS_PER_PAGE),
  responses: { 200: { description: "A page of users.", schema: pageOf(User, "UserPage") } },
  errors: [403, 404],
  async handle({ user, query }) {
    allow(user!, "user.view");
    const page = query.page ?? 1;
    const size = query.page_size ?? USERS_PER_PAGE;
    const [count, rows] = await prisma.$transaction([
      prisma.user.count(),
      prisma.user.findMany({ select: USER_SELECT, orderBy: [{ username: "asc" }, { id: "asc" }], skip: (page - 1) * size, take: size }),
    ]);
    return { body: pageEnvelope({ count, page, size, results: rows.map(userResource), noun: "users", link: pageLink("api:listUsers", query) }) };
  },
});

const getUser = endpoint({
  operationId: "getUser",
  method: "get",
  path: "/users/{username}",
  summary: "One user",
  description: "Admins only.",
  tags: ["users"],
  auth: "user",
  params: usernameParams,
  responses: { 200: { description: "The account.", schema: User, headers: { ETag: "The account's version." } } },
  errors: [403, 404],
  async handle({ user, params }) {
    allow(user!, "user.view");
    const u = await findUser({ username: params.username });
    if (!u) throw problems.notFound("No such user.");
    const body = userResource(u);
    return { body, version: body.version };
  },
});

const updateUser = endpoint({
  operationId: "updateUser",
  method: "patch",
  path: "/users/{username}",
  summary: "Change a user",
  description:
    "Admins only: role, active flag and names. Send If-Match with the ETag read (its leading version counts): 428 without it, 412 (with the current account) when it changed since. " +
    "An admin cannot remove their own admin role or deactivate themself (400). A deactivated account is signed out everywhere (its sessions end; its tokens stop working).",
  tags: ["users"],
  auth: "user",
  params: usernameParams,
  body: z
    .strictObject({ role: RoleName.optional(), isActive: z.boolean().optional(), firstName: nameField.optional(), lastName: nameField.optional() })
    .meta({ id: "UserChange" }),
  responses: { 200: { description: "The account as saved.", schema: User, headers: { ETag: "Its new version." } } },
  errors: [403, 404, 412, 428],
  async handle({ user, params, body, req }) {
    allow(user!, "user.change");
    const u = await findUser({ username: params.username });
    if (!u) throw problems.notFound("No such user.");
    const version = requireVersion(req, userResource(u));
    await saving(saveUser(u.id, version, body, user!), "user", currentUser(u.id));
    const now = (await currentUser(u.id)())!;
    return { body: now, version: now.version };
  },
});

export const endpoints: Endpoint[] = [getMe, updateMe, listUsers, getUser, updateUser];
