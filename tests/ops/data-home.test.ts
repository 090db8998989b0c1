// The same database, every time, as the user running the tests (root in CI, where the embedded
// PostgreSQL runs as the `postgres` OS user). The scenarios: tests/ops/data-home.ts.
import { dataHomeSuite } from "./data-home.ts";

dataHomeSuite(process.getuid?.() === 0 ? "as root" : "as the current user");
