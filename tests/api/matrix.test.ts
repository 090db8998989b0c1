// The permission matrix: every operation in the OpenAPI document, called by an anonymous caller, a reader,
// an author on their own post, an author on another's post, an editor and an admin (access tokens), with
// the outcome each should get WRITTEN DOWN below (from the rule in words: README "Who may change what"),
// not derived from can(). Each cell gets fresh objects (a post of the first author's, a category, a tag,
// a user), so a delete in one cell cannot change another's answer. Every response is also checked against
// the document (support/client.ts). An operation the document has and this table does not fails the last
// test: a new operation must be given its row.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { config } from "../../src/config.ts";
import { favorite } from "../../src/favorites/service.ts";
import type { SessionUser } from "../../src/accounts/users.ts";
import { createUser, makeCategory, makePost, makeTag, prisma } from "../support/fixtures.ts";
import { startApi, type Api } from "./support/client.ts";
import { operations } from "./support/document.ts";

type Who = "anonymous" | "reader" | "authorOwn" | "authorOther" | "editor" | "admin";
const WHO: Who[] = ["anonymous", "reader", "authorOwn", "authorOther", "editor", "admin"];
/** Allowed (any 2xx), or the refusal expected. */
type Outcome = "2xx" | 401 | 403 | 404;
const A = "2xx" as const;

interface Req {
  method: string;
  path: string;
  body?: unknown;
  /** Send If-Match with the ETag an admin reads from this path first. */
  ifMatchFrom?: string;
}

interface Row {
  operationId: string;
  /** What is acted on, when the operation has several rows. */
  on?: string;
  /** anonymous, reader, author on own, author on another's, editor, admin */
  expect: [Outcome, Outcome, Outcome, Outcome, Outcome, Outcome];
  request(): Promise<Req>;
}

let api: Api;
const actors = new Map<Who, SessionUser | null>();
let owner: SessionUser;
let n = 0;

// Fresh objects for one cell. The post's author is the "own" author; "another's" is the second author.
const published = () => makePost({ authorId: owner.id, title: `Matrix post ${++n}` });
const draft = () => makePost({ authorId: owner.id, title: `Matrix draft ${++n}`, status: "DRAFT" });
async function taggedPublished() {
  const tag = await makeTag(`Matrix tag ${++n}`);
  await makePost({ authorId: owner.id, title: `Matrix tagged ${n}`, tagIds: [tag.id] });
  return tag;
}
const victim = async () => (await createUser({ role: "READER" })).user;
const dayPath = (d: Date) => `${d.getUTCFullYear()}/${String(d.getUTCMonth() + 1).padStart(2, "0")}/${String(d.getUTCDate()).padStart(2, "0")}`;
const freshCredentials = async () => {
  const { user, password } = await createUser({ role: "READER" });
  return { username: user.username, password };
};
async function refreshToken(): Promise<string> {
  const res = await api.checked("POST", "/api/v1/auth/token", {
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(await freshCredentials()),
  });
  return (res.json as { refresh: string }).refresh;
}

/** A PATCH of a fresh post's title, with the post's current ETag. */
const patchPost = (make: typeof published) => async (): Promise<Req> => {
  const path = `/api/v1/posts/${(await make()).id}`;
  return { method: "PATCH", path, body: { title: `Changed ${++n}` }, ifMatchFrom: path };
};

//                                                                    anon reader own  other editor admin
const MATRIX: Row[] = [
  // tokens: public (the credentials or token in the body decide)
  {
    operationId: "obtainToken",
    expect: [A, A, A, A, A, A],
    request: async () => ({ method: "POST", path: "/api/v1/auth/token", body: await freshCredentials() }),
  },
  {
    operationId: "refreshToken",
    expect: [A, A, A, A, A, A],
    request: async () => ({ method: "POST", path: "/api/v1/auth/refresh", body: { refresh: await refreshToken() } }),
  },
  {
    operationId: "revokeToken",
    expect: [A, A, A, A, A, A],
    request: async () => ({ method: "POST", path: "/api/v1/auth/revoke", body: { refresh: await refreshToken() } }),
  },
  {
    operationId: "verifyToken",
    expect: [A, A, A, A, A, A],
    request: async () => ({ method: "POST", path: "/api/v1/auth/verify", body: { token: await refreshToken() } }),
  },

  // posts: reads of published posts are public; writes follow post.create/change/delete (authors: their own)
  { operationId: "listPosts", expect: [A, A, A, A, A, A], request: async () => ({ method: "GET", path: "/api/v1/posts" }) },
  { operationId: "listPosts", on: "drafts", expect: [401, 403, A, A, A, A], request: async () => ({ method: "GET", path: "/api/v1/posts?status=draft" }) },
  {
    operationId: "createPost",
    expect: [401, 403, A, A, A, A],
    request: async () => ({ method: "POST", path: "/api/v1/posts", body: { title: `Created ${++n}` } }),
  },
  {
    operationId: "getPost",
    on: "published",
    expect: [A, A, A, A, A, A],
    request: async () => ({ method: "GET", path: `/api/v1/posts/${(await published()).id}` }),
  },
  {
    operationId: "getPost",
    on: "draft",
    expect: [404, 404, A, 404, A, A],
    request: async () => ({ method: "GET", path: `/api/v1/posts/${(await draft()).id}` }),
  },
  {
    operationId: "getPostByDate",
    expect: [A, A, A, A, A, A],
    request: async () => {
      const p = await published();
      return { method: "GET", path: `/api/v1/posts/${dayPath(p.publish!)}/${p.slug}` };
    },
  },
  {
    operationId: "updatePost",
    on: "published",
    expect: [401, 403, A, 403, A, A],
    request: patchPost(published),
  },
  {
    operationId: "updatePost",
    on: "draft",
    expect: [401, 404, A, 404, A, A],
    request: patchPost(draft),
  },
  { operationId: "deletePost", expect: [401, 403, A, 403, A, A], request: async () => ({ method: "DELETE", path: `/api/v1/posts/${(await published()).id}` }) },
  {
    operationId: "listPostRevisions",
    expect: [401, 403, A, 403, A, A],
    request: async () => ({ method: "GET", path: `/api/v1/posts/${(await published()).id}/revisions` }),
  },
  {
    operationId: "restorePostRevision",
    expect: [401, 403, A, 403, A, A],
    request: async () => {
      const p = await published();
      const revision = await prisma.postRevision.findFirstOrThrow({ where: { postId: p.id }, select: { id: true } });
      return { method: "POST", path: `/api/v1/posts/${p.id}/revisions/${revision.id}/restore` };
    },
  },

  // favorites: any signed-in user, on published posts
  {
    operationId: "favoritePost",
    expect: [401, A, A, A, A, A],
    request: async () => ({ method: "POST", path: `/api/v1/posts/${(await published()).id}/favorite` }),
  },
  {
    operationId: "favoritePost",
    on: "draft",
    expect: [401, 404, 404, 404, 404, 404],
    request: async () => ({ method: "POST", path: `/api/v1/posts/${(await draft()).id}/favorite` }),
  },
  {
    operationId: "unfavoritePost",
    expect: [401, A, A, A, A, A],
    request: async () => ({ method: "DELETE", path: `/api/v1/posts/${(await published()).id}/favorite` }),
  },
  { operationId: "listMyFavorites", expect: [401, A, A, A, A, A], request: async () => ({ method: "GET", path: "/api/v1/me/favorites" }) },

  // categories: public reads; writes are editors' (category.*)
  { operationId: "listCategories", expect: [A, A, A, A, A, A], request: async () => ({ method: "GET", path: "/api/v1/categories" }) },
  {
    operationId: "getCategory",
    expect: [A, A, A, A, A, A],
    request: async () => ({ method: "GET", path: `/api/v1/categories/${(await makeCategory(`Matrix category ${++n}`)).slug}` }),
  },
  {
    operationId: "createCategory",
    expect: [401, 403, 403, 403, A, A],
    request: async () => ({ method: "POST", path: "/api/v1/categories", body: { name: `New category ${++n}` } }),
  },
  {
    operationId: "updateCategory",
    expect: [401, 403, 403, 403, A, A],
    request: async () => {
      const path = `/api/v1/categories/${(await makeCategory(`Matrix category ${++n}`)).slug}`;
      return { method: "PATCH", path, body: { description: "Changed." }, ifMatchFrom: path };
    },
  },
  {
    operationId: "deleteCategory",
    expect: [401, 403, 403, 403, A, A],
    request: async () => ({ method: "DELETE", path: `/api/v1/categories/${(await makeCategory(`Matrix category ${++n}`)).slug}` }),
  },

  // tags: public reads (of tags on published posts); authors may create tags (tag.create), editors change and delete them
  { operationId: "listTags", expect: [A, A, A, A, A, A], request: async () => ({ method: "GET", path: "/api/v1/tags" }) },
  { operationId: "getTag", expect: [A, A, A, A, A, A], request: async () => ({ method: "GET", path: `/api/v1/tags/${(await taggedPublished()).slug}` }) },
  {
    operationId: "createTag",
    expect: [401, 403, A, A, A, A],
    request: async () => ({ method: "POST", path: "/api/v1/tags", body: { name: `New tag ${++n}` } }),
  },
  {
    operationId: "updateTag",
    expect: [401, 403, 403, 403, A, A],
    request: async () => {
      const path = `/api/v1/tags/${(await taggedPublished()).slug}`;
      return { method: "PATCH", path, body: { name: `Renamed tag ${++n}` }, ifMatchFrom: path };
    },
  },
  {
    operationId: "deleteTag",
    expect: [401, 403, 403, 403, A, A],
    request: async () => ({ method: "DELETE", path: `/api/v1/tags/${(await taggedPublished()).slug}` }),
  },

  // users: one's own account for everyone signed in; everyone's for admins (user.*)
  { operationId: "getMe", expect: [401, A, A, A, A, A], request: async () => ({ method: "GET", path: "/api/v1/me" }) },
  { operationId: "updateMe", expect: [401, A, A, A, A, A], request: async () => ({ method: "PATCH", path: "/api/v1/me", body: { firstName: `Name ${++n}` } }) },
  { operationId: "listUsers", expect: [401, 403, 403, 403, 403, A], request: async () => ({ method: "GET", path: "/api/v1/users" }) },
  {
    operationId: "getUser",
    expect: [401, 403, 403, 403, 403, A],
    request: async () => ({ method: "GET", path: `/api/v1/users/${(await victim()).username}` }),
  },
  {
    operationId: "updateUser",
    expect: [401, 403, 403, 403, 403, A],
    request: async () => {
      const path = `/api/v1/users/${(await victim()).username}`;
      return { method: "PATCH", path, body: { firstName: "Renamed" }, ifMatchFrom: path };
    },
  },
];

beforeAll(async () => {
  config.API_RATE_LIMIT_IP = 1_000_000; // every request comes from 127.0.0.1
  api = await startApi();
  owner = (await createUser({ role: "AUTHOR" })).user;
  actors
    .set("anonymous", null)
    .set("reader", (await createUser({ role: "READER" })).user)
    .set("authorOwn", owner)
    .set("authorOther", (await createUser({ role: "AUTHOR" })).user)
    .set("editor", (await createUser({ role: "EDITOR" })).user)
    .set("admin", (await createUser({ role: "ADMIN" })).user);
  // the reader's favorites list has something in it
  await favorite(actors.get("reader")!.id, (await makePost({ authorId: owner.id, title: "A favorite" })).id);
});

afterAll(async () => {
  await api?.close();
});

const matches = (status: number, outcome: Outcome) => (outcome === "2xx" ? status >= 200 && status < 300 : status === outcome);

describe("the permission matrix", () => {
  for (const row of MATRIX) {
    it(`${row.operationId}${row.on ? ` (${row.on})` : ""}: ${WHO.map((w, i) => `${w} ${row.expect[i]}`).join(", ")}`, async () => {
      const got: string[] = [];
      const wrong: string[] = [];
      for (const [i, who] of WHO.entries()) {
        const req = await row.request();
        const user = actors.get(who)!;
        const headers: Record<string, string> = {};
        if (req.ifMatchFrom) {
          const current = await api.checked("GET", req.ifMatchFrom, { headers: { Authorization: `Bearer ${api.tokenFor(actors.get("admin")!)}` } });
          headers["If-Match"] = current.headers.get("etag") ?? "";
        }
        if (user) headers.Authorization = `Bearer ${api.tokenFor(user)}`;
        if (req.body !== undefined) headers["Content-Type"] = "application/json";
        const res = await api.checked(req.method, req.path, { headers, body: req.body === undefined ? undefined : JSON.stringify(req.body) });
        got.push(`${who} ${res.status}`);
        if (!matches(res.status, row.expect[i]!)) wrong.push(`${who}: expected ${row.expect[i]}, got ${res.status} ${res.text.slice(0, 200)}`);
      }
      expect(wrong, got.join(", ")).toEqual([]);
    });
  }

  it("has a row for every operation in the document (a new operation must be added here)", () => {
    const documented = operations().map((o) => o.operationId);
    const inTable = new Set(MATRIX.map((r) => r.operationId));
    expect(
      documented.filter((id) => !inTable.has(id)),
      "operations without a row",
    ).toEqual([]);
    expect(
      [...inTable].filter((id) => !documented.includes(id)),
      "rows for operations the document does not have",
    ).toEqual([]);
  });
});
