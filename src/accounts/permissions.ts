// Who may do what, declared once. Pages, the admin (the post editor included), the previews and the API all ask
// can(user, action, object) and maySetPostField(user, field, post); nothing else compares roles
// for a permission decision.
//
// Roles rank READER < AUTHOR < EDITOR < ADMIN. A grant names the lowest role allowed: `any` on every
// object, `own` only on objects whose authorId is the user's (a post they wrote, an audit entry they made).
//
// The rule, in words (README "Who may change what"):
//  - authors write posts and view, change, delete, publish, schedule and tag only their own;
//    they may create new tags by naming them on their own post (as in Ghost and WordPress), not categories;
//    they may not give a post to another author;
//  - editors do all of that on every post, and manage categories and tags;
//  - admins also manage users and roles;
//  - every signed-in user (readers too) may favorite a post once their e-mail address is verified
//    (a grant with `verified`: the address proved by the sign-up link, a password reset or an invite).
import type { Role } from "../generated/prisma/client.ts";

export interface Actor {
  id: number;
  role: Role;
  isActive: boolean;
  /** When the e-mail address was verified (null or left out: not verified). Grants with `verified` need it. */
  emailVerifiedAt?: Date | null;
}

/** The lowest role allowed on any object, and (optionally, lower) on the user's own objects. */
export interface Grant {
  any: Role;
  own?: Role;
  /** Also needs a verified e-mail address (Actor.emailVerifiedAt). */
  verified?: true;
}

const g = (any: Role, own?: Role): Grant => (own ? { any, own } : { any });
const verified = (grant: Grant): Grant => ({ ...grant, verified: true });

/** Model-level actions: can(user, "post.change", post). */
export const RULES = {
  admin: { access: g("EDITOR", "AUTHOR") },
  post: {
    view: g("EDITOR", "AUTHOR"),
    create: g("AUTHOR"),
    change: g("EDITOR", "AUTHOR"),
    delete: g("EDITOR", "AUTHOR"),
    publish: g("EDITOR", "AUTHOR"),
    // mark a published post as a favorite (pages and API): any signed-in user with a verified address
    favorite: verified(g("READER")),
  },
  category: { view: g("EDITOR"), create: g("EDITOR"), change: g("EDITOR"), delete: g("EDITOR") },
  // tag.create: a new tag, from the tag admin or by typing its name on a post the user may tag
  tag: { view: g("EDITOR"), create: g("AUTHOR"), change: g("EDITOR"), delete: g("EDITOR") },
  user: { view: g("ADMIN"), create: g("ADMIN"), change: g("ADMIN"), delete: g("ADMIN") },
  // the audit log: authors see their own actions, editors everyone's; nobody changes it
  auditlog: { view: g("EDITOR", "AUTHOR") },
  // uploaded images (the media library, /admin/media/): every writer sees and uploads them (to reuse any
  // image in a post); alt text and deletion: editors on every image, authors on their own uploads
  // (the object's authorId is the Media row's uploadedById)
  media: { view: g("AUTHOR"), create: g("AUTHOR"), change: g("EDITOR", "AUTHOR"), delete: g("EDITOR", "AUTHOR") },
  ops: { view: g("EDITOR") }, // the admin's ops pages (caches: /admin/caches/)
  // the background jobs page (/admin/jobs/): failed jobs' errors can quote recipients, and a retry sends mail again
  jobs: { view: g("ADMIN"), change: g("ADMIN") },
} as const satisfies Record<string, Record<string, Grant>>;

type Rules = typeof RULES;
export type Action = { [M in keyof Rules]: `${M & string}.${keyof Rules[M] & string}` }[keyof Rules];

/**
 * Who may set each field of a post that not every writer may set (Ghost's `unsafeAttrs`). Every other
 * field follows post.change. "tags" is choosing existing tags; creating one by name also needs tag.create.
 */
export const POST_FIELDS = {
  status: g("EDITOR", "AUTHOR"), // publish, schedule, unpublish
  publish: g("EDITOR", "AUTHOR"), // the publish time
  authorId: g("EDITOR"), // give the post to someone else
  tags: g("EDITOR", "AUTHOR"),
} as const satisfies Record<string, Grant>;
export type PostField = keyof typeof POST_FIELDS;

const RANK: Record<Role, number> = { READER: 0, AUTHOR: 1, EDITOR: 2, ADMIN: 3 };

export const atLeast = (user: Actor | null | undefined, role: Role): boolean => !!user && user.isActive && RANK[user.role] >= RANK[role];

/** Whose object it is, when there is one: a post's authorId, an audit entry's userId. */
export interface Owned {
  authorId?: number;
}

/**
 * A grant checked for `user` on `object`. Without an object the question is "on some object":
 * an author may change posts (their own), so can(author, "post.change") is true.
 */
function allows(grant: Grant, user: Actor | null | undefined, object: Owned | null | undefined): boolean {
  if (!user || !user.isActive) return false;
  if (grant.verified && !isVerified(user)) return false;
  if (atLeast(user, grant.any)) return true;
  if (!grant.own || !atLeast(user, grant.own)) return false;
  return object === undefined || object === null ? true : object.authorId === user.id;
}

const isVerified = (user: Actor): boolean => user.emailVerifiedAt !== null && user.emailVerifiedAt !== undefined;

/**
 * Why can(user, action) is false when the only thing missing is a verified e-mail address: "unverified"
 * (the page offers to send the link again, the API says so in its 403); null otherwise.
 */
export function refusalReason(user: Actor | null | undefined, action: Action, object?: Owned | null): "unverified" | null {
  if (!user || can(user, action, object)) return null;
  return can({ ...user, emailVerifiedAt: new Date(0) }, action, object) ? "unverified" : null;
}

/** `object` is the thing acted on, when there is one (a post with its authorId). */
export function can(user: Actor | null | undefined, action: Action, object?: Owned | null): boolean {
  const [model, verb] = action.split(".") as [keyof Rules, string];
  const grant = (RULES[model] as Record<string, Grant> | undefined)?.[verb];
  return !!grant && allows(grant, user, object);
}

/** May `user` act on every object of this kind, not only their own? (Editors: yes; authors: no.) */
export function canAll(user: Actor | null | undefined, action: Action): boolean {
  const [model, verb] = action.split(".") as [keyof Rules, string];
  const grant = (RULES[model] as Record<string, Grant> | undefined)?.[verb];
  return !!grant && !!user && user.isActive && atLeast(user, grant.any) && (!grant.verified || isVerified(user));
}

const ROLES = Object.keys(RANK) as Role[];

/** The roles granted `action` (on their own objects at least): rolesWith("post.create") are those who may author a post. */
export function rolesWith(action: Action): Role[] {
  return ROLES.filter((role) => can({ id: 0, role, isActive: true, emailVerifiedAt: new Date(0) }, action));
}

/** May `user` set `field` on `post` (null: a new post of theirs)? Needs post.change (or post.create) as well. */
export function maySetPostField(user: Actor | null | undefined, field: PostField, post: Owned | null): boolean {
  const target = post ?? (user ? { authorId: user.id } : null);
  const base: Action = post ? "post.change" : "post.create";
  return can(user, base, target) && allows(POST_FIELDS[field], user, target);
}
