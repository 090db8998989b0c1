// Test data: users of a role (signed in when needed), categories, tags and posts, written into the test
// file's own database through the app's own code (accounts' createAccount, posts' createPost: the one
// save path, with its revision, audit entry and cache invalidation).
//
//   import { createUser, makeCategory, makePost, makeTag, signedIn, csrfPost, hoursAgo } from "../support/fixtures.ts";
//
//   const { user, password } = await createUser({ role: "AUTHOR" });     // READER by default
//   const editor = await signedIn(app, "EDITOR");                         // a new user, signed in through the login form
//   const news = await makeCategory("News");                              // slug "news"
//   const tag = await makeTag("Postgres");
//   await makePost({ authorId: user.id, title: "Hello", tagIds: [tag.id] });                     // published now
//   await makePost({ authorId: user.id, title: "Later", status: "SCHEDULED" });                  // published, a day ahead
//   await makePost({ authorId: user.id, title: "Wip", status: "DRAFT", categoryId: news.id });
//   await csrfPost(editor, "/admin/blog/post/add/", { title: "x" }, 303);
//
// Names are unique per call unless given, so each test can make what it needs.
import { randomBytes } from "node:crypto";
import request from "supertest";
import { expect } from "vitest";
import type { Express } from "express";
import { prisma } from "../../src/db/index.ts";
import { createAccount, type SessionUser } from "../../src/accounts/users.ts";
import { createPost } from "../../src/posts/service.ts";
import { invalidate, PAGE_TAGS } from "../../src/cache/index.ts";
import type { PostStatus, Role } from "../../src/generated/prisma/client.ts";
import { login, type LoggedIn } from "./auth.ts";

export { prisma };

let counter = 0;
const next = () => ++counter;
const slugOf = (name: string) =>
  name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "");

export const hoursAgo = (h: number) => new Date(Date.now() - h * 3_600_000);
export const inHours = (h: number) => new Date(Date.now() + h * 3_600_000);

// ---------------------------------------------------------------- users

export interface CreateUserOptions {
  role?: Role;
  username?: string;
  email?: string;
  password?: string;
  isActive?: boolean;
  firstName?: string;
  lastName?: string;
}

/** A user in the test database (password hashed with argon2id). Returns the user and the plain password. */
export async function createUser(opts: CreateUserOptions = {}): Promise<{ user: SessionUser; password: string }> {
  const username = opts.username ?? `user${next()}_${randomBytes(3).toString("hex")}`;
  const password = opts.password ?? `Pw-${randomBytes(9).toString("base64url")}-x`;
  const user = await createAccount({
    username,
    email: opts.email ?? `${username.toLowerCase()}@example.test`,
    password,
    role: opts.role ?? "READER",
    isActive: opts.isActive ?? true,
    firstName: opts.firstName,
    lastName: opts.lastName,
  });
  return { user, password };
}

export interface Signed {
  agent: ReturnType<typeof request.agent>;
  session: LoggedIn;
  user: { id: number; username: string; role: Role };
}

/** A new user of `role` (or as described), signed in through the real login form on its own agent. */
export async function signedIn(app: Express, role: Role, opts: Omit<CreateUserOptions, "role"> = {}): Promise<Signed> {
  const { user, password } = await createUser({ ...opts, role });
  const agent = request.agent(app);
  const session = await login(agent, user.username, password);
  return { agent, session, user: { id: user.id, username: user.username, role } };
}

/** POSTs a form with the session's CSRF token; asserts the status when given. */
export async function csrfPost(s: Signed, path: string, body: Record<string, unknown>, status?: number) {
  const res = await s.agent
    .post(path)
    .type("form")
    .send({ _csrf: await s.session.csrf(), ...body });
  if (status !== undefined) expect(res.status, `${path}: ${res.text.slice(0, 500)}`).toBe(status);
  return res;
}

// ---------------------------------------------------------------- categories and tags

// Written straight to the table: invalidated as the category and tag saves do (src/db/saves.ts).
export async function makeCategory(name = `Category ${next()}`, slug = slugOf(name), description = "") {
  const c = await prisma.category.create({ data: { name, slug, description } });
  await invalidate("taxonomy", "posts", PAGE_TAGS.all);
  return c;
}

export async function makeTag(name = `Tag ${next()}`, slug = slugOf(name)) {
  const t = await prisma.tag.create({ data: { name, slug } });
  await invalidate("taxonomy", "posts", PAGE_TAGS.all);
  return t;
}

// ---------------------------------------------------------------- posts

export interface PostSpec {
  authorId: number;
  /** Default: "Post number N". */
  title?: string;
  /** Default: from the title, as the editor makes it. */
  slug?: string;
  /** Markdown. Default: "Body of <title>." */
  body?: string;
  /** Default: the automatic excerpt of the body. */
  excerpt?: string;
  metaDescription?: string;
  /** SCHEDULED: published with a publish time in the future (a day ahead unless given). Default: PUBLISHED. */
  status?: PostStatus | "SCHEDULED";
  /** Default: now for a published post, a day ahead for a scheduled one, none chosen for a draft. */
  publish?: Date;
  /** Stored after the save (the save path sets it to now). */
  updatedAt?: Date;
  categoryId?: number | null;
  tagIds?: number[];
}

/** A post saved through the posts service as its author would save it. */
export async function makePost(spec: PostSpec) {
  const title = spec.title ?? `Post number ${next()}`;
  const scheduled = spec.status === "SCHEDULED";
  const status: PostStatus = spec.status === "SCHEDULED" || !spec.status ? "PUBLISHED" : spec.status;
  const post = await createPost(
    {
      title,
      slug: spec.slug,
      body: spec.body ?? `Body of ${title}.`,
      excerpt: spec.excerpt,
      metaDescription: spec.metaDescription,
      status,
      publish: spec.publish ?? (scheduled ? inHours(24) : null),
      authorId: spec.authorId,
      categoryId: spec.categoryId ?? null,
      tagIds: spec.tagIds ?? [],
    },
    { id: spec.authorId },
  );
  if (!spec.updatedAt) return post;
  const updated = await prisma.post.update({ where: { id: post.id }, data: { updatedAt: spec.updatedAt } });
  await invalidate("posts", PAGE_TAGS.post(post.id), PAGE_TAGS.lists);
  return updated;
}
