import type { Endpoint } from "./endpoint.ts";

export const endpoints: Endpoint[] = [];
