// Favorites, the seed's custom DRF action: POST / DELETE /posts/{id}/favorite and GET /me/favorites.
// Any signed-in user (readers too) whose e-mail address is verified may favorite a post they can read
// as published (the one rule: can(user, "post.favorite")); an unverified user gets a 403 saying so.
// The feature's queries and writes are src/favorites/service.ts.
//
// Both writes are idempotent and answer 200 with the state after the call ({favorited, favorites}),
// whether or not it changed anything: a client retrying after a lost answer sees the same response.
import { z } from "zod";
import { config } from "../config.ts";
import { can, refusalReason } from "../accounts/permissions.ts";
import { favorite, FavoriteTargetMissing, listFavorites, unfavorite } from "../favorites/service.ts";
import { idString } from "../web/inputs.ts";
import { endpoint, type Endpoint } from "./endpoint.ts";
import { pageEnvelope, pageLink, pageQuery } from "./paging.ts";
import { LIST_FIELDS, toResource } from "./posts-resource.ts";
import { problems } from "./problem.ts";
import { pageOf, Post } from "./schemas.ts";

export const FavoriteState = z
  .object({
    favorited: z.boolean().meta({ description: "Whether the post is now one of your favorites." }),
    favorites: z.number().int().meta({ description: "How many users have favorited the post." }),
  })
  .meta({ id: "FavoriteState" });

const postParams = z.object({ id: idString().meta({ description: "The post's id." }) });
const CARD = new Set(LIST_FIELDS);

/** POST or DELETE /posts/{id}/favorite: the same declaration around favorite() or unfavorite(). */
function favoriteAction(a: { method: "post" | "delete"; operationId: string; summary: string; description: string; answer: string; fn: typeof favorite }) {
  return endpoint({
    operationId: a.operationId,
    method: a.method,
    path: "/posts/{id}/favorite",
    summary: a.summary,
    description: a.description,
    tags: ["favorites"],
    auth: "user",
    params: postParams,
    responses: { 200: { description: a.answer, schema: FavoriteState } },
    errors: [403, 404],
    async handle({ user, params }) {
      if (!can(user, "post.favorite")) {
        if (refusalReason(user, "post.favorite") === "unverified")
          throw problems.forbidden(
            "Confirm your e-mail address first: open the link we e-mailed you when you signed up (a new one can be sent from your profile page).",
            { email: "not verified" },
          );
        throw problems.forbidden("You cannot favorite posts.");
      }
      try {
        return { body: await a.fn(user!.id, params.id) };
      } catch (e) {
        if (e instanceof FavoriteTargetMissing) throw problems.notFound(e.message);
        throw e;
      }
    },
  });
}

const favoritePost = favoriteAction({
  method: "post",
  operationId: "favoritePost",
  summary: "Add a post to your favorites",
  description:
    "Idempotent: favoriting a post again changes nothing and gives the same answer. Only published posts can be favorited (404 otherwise), and only once your e-mail address is confirmed (403 otherwise).",
  answer: "The post is one of your favorites.",
  fn: favorite,
});

const unfavoritePost = favoriteAction({
  method: "delete",
  operationId: "unfavoritePost",
  summary: "Remove a post from your favorites",
  description: "Idempotent: removing a post that is not a favorite changes nothing. Only published posts are answered (404 otherwise).",
  answer: "The post is not one of your favorites.",
  fn: unfavorite,
});

const listMyFavorites = endpoint({
  operationId: "listMyFavorites",
  method: "get",
  path: "/me/favorites",
  summary: "Your favorite posts",
  description: "Page-number pages of the published posts you favorited, the most recently favorited first. A page past the last one is a 404.",
  tags: ["favorites"],
  auth: "user",
  query: pageQuery("Posts", config.POSTS_PER_PAGE),
  responses: { 200: { description: "A page of your favorites.", schema: pageOf(Post, "FavoritePage") } },
  errors: [404],
  async handle({ user, query }) {
    const page = query.page ?? 1;
    const size = query.page_size ?? config.POSTS_PER_PAGE;
    const { posts, total } = await listFavorites(user!.id, { page, perPage: size });
    const results = posts.map((p) => toResource(p, CARD, false));
    return { body: pageEnvelope({ count: total, page, size, results, noun: "favorites", link: pageLink("api:listMyFavorites", query) }) };
  },
});

export const endpoints: Endpoint[] = [favoritePost, unfavoritePost, listMyFavorites];
