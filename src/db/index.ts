export { pool, prisma, connectDb, disconnectDb, dbReady } from "./client.ts";
export { startEmbedded, StartupError, type EmbeddedHandle } from "./embedded.ts";
export { migrateDeploy, ensureDatabase, dropDatabase, prismaCli } from "./migrate.ts";
export { Prisma, PostStatus, Role, AuditAction } from "../generated/prisma/client.ts";
export type { User, Post, Category, Tag } from "../generated/prisma/client.ts";
