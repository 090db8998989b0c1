// The Redis connection (node-redis), when REDIS_URL is set. GROUNDWORK STUB: the Redis engineer builds it.
// connectRedis() at start-up (after the database), closeRedis() at shutdown; redisClient() for the
// cache backend, the session store and the rate limiter. Losing Redis never fails a reader's request.

/** Connects when REDIS_URL is set (a no-op otherwise). Never fails start-up for an unreachable Redis: it retries. */
export async function connectRedis(): Promise<void> {}

/** Closes the connection (shutdown). */
export async function closeRedis(): Promise<void> {}
