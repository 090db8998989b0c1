// The npm registry mirror this project installs from serves only the rollup platform packages for
// linux x64/arm64 (glibc). `npm install` then leaves rollup's other optional platform packages out
// of package-lock.json, and `npm ci` rejects that lockfile as "out of sync" ("Missing:
// @rollup/rollup-darwin-x64@ from lock file"). This adds the missing entries (version, os, cpu,
// libc: never fetched on this platform), the way npm writes them on an unfiltered registry.
// Run after a dependency change if `npm ci` says so: `node .ci/fix-lockfile.mjs`.
import { readFileSync, writeFileSync } from "node:fs";

const file = new URL("../package-lock.json", import.meta.url);
const lock = JSON.parse(readFileSync(file, "utf8"));
const pkgs = lock.packages;
const added = [];
for (const [parent, prefix] of [["node_modules/rollup", "rollup-"]]) {
  const p = pkgs[parent];
  if (!p) continue;
  for (const name of Object.keys(p.optionalDependencies ?? {})) {
    const key = `node_modules/${name}`;
    if (pkgs[key]) continue;
    const [os, cpu, abi = ""] = name.split("/")[1].slice(prefix.length).split("-");
    pkgs[key] = {
      version: p.version,
      cpu: [cpu],
      dev: p.dev,
      ...(os === "linux" ? { libc: [abi.startsWith("musl") ? "musl" : "glibc"] } : {}),
      license: p.license,
      optional: true,
      os: [os],
    };
    if (pkgs[key].dev === undefined) delete pkgs[key].dev;
    added.push(name);
  }
}
const sorted = Object.fromEntries(Object.entries(pkgs).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a < b ? -1 : a > b ? 1 : 0)));
lock.packages = sorted;
writeFileSync(file, JSON.stringify(lock, null, 2) + "\n");
console.log(added.length ? `added ${added.length} entries: ${added.join(", ")}` : "lockfile already complete");
