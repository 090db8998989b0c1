// connect-pg-simple 10 ships JSDoc but no .d.ts: the part of its API Folio uses.
declare module "connect-pg-simple" {
  import type session from "express-session";
  import type { Pool } from "pg";

  export interface PGStoreOptions {
    pool?: Pool;
    schemaName?: string;
    tableName?: string;
    createTableIfMissing?: boolean;
    ttl?: number;
    disableTouch?: boolean;
    pruneSessionInterval?: false | number;
    pruneSessionRandomizedInterval?: false | ((delay: number) => number);
    errorLog?: (...args: unknown[]) => void;
  }

  export class PGStore extends session.Store {
    constructor(options?: PGStoreOptions);
    get(sid: string, callback: (err: unknown, session?: session.SessionData | null) => void): void;
    set(sid: string, sess: session.SessionData, callback?: (err?: unknown) => void): void;
    destroy(sid: string, callback?: (err?: unknown) => void): void;
    touch(sid: string, sess: session.SessionData, callback?: (err?: unknown) => void): void;
    close(): Promise<void>;
    pruneSessions(callback?: (err?: unknown) => void): void;
  }

  export default function connectPgSimple(s: typeof session): typeof PGStore;
}
