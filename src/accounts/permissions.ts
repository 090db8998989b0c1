// The one permission function. Pages, the admin and the API all ask can(user, action, object).
// Roles: READER < AUTHOR < EDITOR < ADMIN.
//  - authors create posts and change/delete/publish only their own
//  - editors change all posts, categories and tags
//  - only admins manage users and roles
import type { Role } from "../generated/prisma/client.ts";

export interface Actor {
  id: number;
  role: Role;
  isActive: boolean;
}

export type Action =
  | "admin.access"
  | "post.view" // see in the admin / edit lists
  | "post.create"
  | "post.change"
  | "post.delete"
  | "post.publish"
  | "category.view"
  | "category.create"
  | "category.change"
  | "category.delete"
  | "tag.view"
  | "tag.create"
  | "tag.change"
  | "tag.delete"
  | "user.view"
  | "user.create"
  | "user.change"
  | "user.delete"
  | "auditlog.view";

const RANK: Record<Role, number> = { READER: 0, AUTHOR: 1, EDITOR: 2, ADMIN: 3 };

export const atLeast = (user: Actor | null | undefined, role: Role): boolean =>
  !!user && user.isActive && RANK[user.role] >= RANK[role];

/** `object` is the thing acted on, when there is one (a post with its authorId). */
export function can(user: Actor | null | undefined, action: Action, object?: { authorId?: number } | null): boolean {
  if (!user || !user.isActive) return false;
  const [model] = action.split(".") as [string, string];
  switch (model) {
    case "admin":
      return atLeast(user, "AUTHOR");
    case "post":
      if (atLeast(user, "EDITOR")) return true;
      if (!atLeast(user, "AUTHOR")) return false;
      if (action === "post.view" || action === "post.create") return object ? object.authorId === user.id : true;
      return !!object && object.authorId === user.id;
    case "category":
    case "tag":
      return atLeast(user, "EDITOR");
    case "user":
      return atLeast(user, "ADMIN");
    case "auditlog":
      return atLeast(user, "AUTHOR");
    default:
      return false;
  }
}
