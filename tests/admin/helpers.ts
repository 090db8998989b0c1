// Fixtures for the admin tests: users of each role, signed-in agents, posts made through the one save path.
import request from "supertest";
import { expect } from "vitest";
import type { Express } from "express";
import { prisma } from "../../src/db/index.ts";
import { createPost } from "../../src/posts/service.ts";
import type { Role, PostStatus } from "../../src/generated/prisma/client.ts";
import { createUser, login, type LoggedIn } from "../support/auth.ts";

export interface Signed {
  agent: ReturnType<typeof request.agent>;
  session: LoggedIn;
  user: { id: number; username: string; role: Role };
}

export async function signedIn(app: Express, role: Role): Promise<Signed> {
  const { user, password } = await createUser({ role });
  const agent = request.agent(app);
  const session = await login(agent, user.username, password);
  return { agent, session, user: { id: user.id, username: user.username, role } };
}

let n = 0;
export async function makePost(authorId: number, over: Partial<{ title: string; slug: string; body: string; status: PostStatus; publish: Date; categoryId: number | null; tagIds: number[] }> = {}) {
  n++;
  return createPost(
    {
      title: over.title ?? `Post number ${n}`,
      slug: over.slug,
      body: over.body ?? `Body of post ${n}.`,
      status: over.status ?? "DRAFT",
      publish: over.publish ?? new Date(Date.UTC(2026, 10, 1 + (n % 20), 10)),
      authorId,
      categoryId: over.categoryId ?? null,
      tagIds: over.tagIds ?? [],
    },
    { id: authorId },
  );
}

/** POSTs a form with the session's CSRF token; asserts the status when given. */
export async function csrfPost(s: Signed, path: string, body: Record<string, unknown>, status?: number) {
  const res = await s.agent.post(path).type("form").send({ _csrf: await s.session.csrf(), ...body });
  if (status !== undefined) expect(res.status, `${path}: ${res.text.slice(0, 500)}`).toBe(status);
  return res;
}

export { prisma };
