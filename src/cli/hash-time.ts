// npm run bench:hash — how long one argon2id hash and one verification take here, with Folio's
// parameters (src/accounts/passwords.ts). Mean of --n runs (default 10) after one warm-up.
import { parseArgs } from "node:util";
import { HASH_OPTIONS, hashPassword, verifyPassword } from "../accounts/passwords.ts";

const { values } = parseArgs({ options: { n: { type: "string", default: "10" } } });
const n = Number(values.n);
if (!Number.isInteger(n) || n < 1 || n > 1000) {
  console.error("--n must be an integer from 1 to 1000");
  process.exit(2);
}
await hashPassword("warm-up password");
let t = performance.now();
let hash = "";
for (let i = 0; i < n; i++) hash = await hashPassword(`correct horse battery staple ${i}`);
const hashMs = (performance.now() - t) / n;
t = performance.now();
for (let i = 0; i < n; i++) await verifyPassword(hash, "a wrong password");
const verifyMs = (performance.now() - t) / n;
console.log(`argon2id memory ${HASH_OPTIONS.memoryCost} KiB, iterations ${HASH_OPTIONS.timeCost}, parallelism ${HASH_OPTIONS.parallelism}`);
console.log(`hash ${hashMs.toFixed(1)} ms, verify ${verifyMs.toFixed(1)} ms (mean of ${n})`);
