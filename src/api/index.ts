// Every API operation, in the order the documentation lists them. A feature's operations live in
// their own module as declarations (src/api/endpoint.ts); adding one there is all it takes to route,
// validate, document and test it (the contract tests and the fuzz read the generated document).
import type { Endpoint } from "./endpoint.ts";
import { endpoints as auth } from "./token-endpoints.ts";
import { endpoints as posts } from "./posts.ts";
import { endpoints as favorites } from "./favorites.ts";
import { endpoints as taxonomy } from "./taxonomy.ts";
import { endpoints as users } from "./users.ts";

export const ENDPOINTS: readonly Endpoint[] = [...auth, ...posts, ...favorites, ...taxonomy, ...users];

const seen = new Set<string>();
for (const e of ENDPOINTS) {
  if (seen.has(e.operationId)) throw new Error(`API operationId ${e.operationId} declared twice`);
  seen.add(e.operationId);
}
