// The Redis implementation of the shared cache (src/cache/shared.ts). GROUNDWORK STUB: the Redis engineer
// builds it; the page-cache engineer's backend selection calls createRedisBackend() when REDIS_URL is set.
import type { SharedBackend } from "./shared.ts";

export function createRedisBackend(): SharedBackend {
  throw new Error("the Redis cache backend is not built yet");
}
