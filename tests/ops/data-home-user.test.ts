// The same database, every time, as a normal user: from root, the servers and commands are spawned
// as `nobody` (uid/gid 65534, no supplementary groups) on a DATA_DIR that user owns; when the tests
// already run as a normal user, as that user. The scenarios: tests/ops/data-home.ts.
import { dataHomeSuite } from "./data-home.ts";

const NOBODY = { uid: 65534, gid: 65534 };

dataHomeSuite(process.getuid?.() === 0 ? "as a normal user (nobody)" : "as the current user", process.getuid?.() === 0 ? NOBODY : undefined);
