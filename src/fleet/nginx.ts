// The fleet's Nginx: Debian's /usr/sbin/nginx in the foreground (a child of the fleet), its config
// rendered from the one template deploy/nginx/folio.conf.template (also rendered by compose), its pid,
// logs and temporary folders under the fleet's data dir (nothing under /var). As root, the master
// runs as root and the workers as `nobody`: the static and media folders must be readable by others.
//
// Taking an app out of rotation: the upstream line of that app gets ` down`, the config is rewritten
// and the master reloaded (SIGHUP); reload() resolves once every worker of the old config has exited,
// so from then on no connection to that app is open and none will be made.
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, closeSync, copyFileSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { portOpen } from "../db/embedded.ts";
import { processTree } from "../bench/processes.ts";
import { hashedStaticFiles } from "../web/static.ts";

export const NGINX_BIN = process.env.NGINX_BIN || "/usr/sbin/nginx";
export const NGINX_TEMPLATE = resolve(import.meta.dirname, "../../deploy/nginx/folio.conf.template");

/** The names the template needs (see its header). */
export interface NginxVars {
  /** The listen address: 127.0.0.1 (the fleet: loopback only), 0.0.0.0 (compose). */
  NGINX_LISTEN: string;
  NGINX_PORT: string;
  UPSTREAM_SERVERS: string;
  STATIC_ROOT: string;
  MEDIA_ROOT: string;
  RUN_DIR: string;
  LOG_DIR: string;
  CLIENT_MAX_BODY_SIZE: string;
}

/** The template with every ${NAME} replaced; a name without a value is an error (never an empty string in a config). */
export function renderNginxConfig(vars: NginxVars, template = readFileSync(NGINX_TEMPLATE, "utf8")): string {
  const values = vars as unknown as Record<string, string>;
  return template.replace(/\$\{([A-Z_]+)\}/g, (_m, name: string) => {
    const v = values[name];
    if (v === undefined) throw new Error(`nginx template: no value for \${${name}}`);
    return v;
  });
}

/** The upstream block's server lines: passive health (1 failure: skipped for 5 s); `down` takes one out of rotation. */
export function upstreamServers(servers: { address: string; down?: boolean }[]): string {
  return servers.map((s) => `        server ${s.address} max_fails=1 fail_timeout=5s${s.down ? " down" : ""};`).join("\n");
}

/** The body size Nginx lets through: an upload of MEDIA_MAX_MB plus its multipart overhead (1 MB is ample). */
export const clientMaxBodySize = (mediaMaxMb: number) => `${mediaMaxMb + 1}m`;

/** Copies public/ to `root`/static/<name>.<hash>.<ext> (the URLs the app's pages use); returns how many. */
export function writeHashedStatic(root: string): number {
  let n = 0;
  for (const [url, file] of hashedStaticFiles()) {
    const target = join(root, url);
    mkdirSync(dirname(target), { recursive: true, mode: 0o755 });
    copyFileSync(file, target);
    n++;
  }
  return n;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Nginx {
  readonly conf: string;
  readonly runDir: string;
  readonly logDir: string;
  readonly errorLog: string;
  readonly accessLog: string;
  private child?: ChildProcess;
  private exited?: Promise<void>;
  private output = "";

  /** `dir`: the fleet's nginx/ folder (config, run/); `logDir`: where access.log and error.log go. */
  constructor(
    dir: string,
    logDir: string,
    private readonly vars: Omit<NginxVars, "RUN_DIR" | "LOG_DIR" | "UPSTREAM_SERVERS">,
  ) {
    this.conf = join(dir, "nginx.conf");
    this.runDir = join(dir, "run");
    this.logDir = logDir;
    this.errorLog = join(logDir, "error.log");
    this.accessLog = join(logDir, "access.log");
    mkdirSync(this.runDir, { recursive: true, mode: 0o755 });
    // The logs are for the operator (root) only: 0750 folder, 0640 files, created before Nginx opens
    // them (it keeps an existing file's mode; its own would be 0644).
    mkdirSync(logDir, { recursive: true, mode: 0o750 });
    chmodSync(logDir, 0o750);
    for (const file of [this.errorLog, this.accessLog]) {
      closeSync(openSync(file, "a", 0o640));
      chmodSync(file, 0o640);
    }
  }

  get pid(): number | undefined {
    return this.child && this.child.exitCode === null && this.child.signalCode === null ? this.child.pid : undefined;
  }

  /** Writes the config for these upstream servers. */
  write(servers: { address: string; down?: boolean }[]): void {
    const text = renderNginxConfig({ ...this.vars, RUN_DIR: this.runDir, LOG_DIR: this.logDir, UPSTREAM_SERVERS: upstreamServers(servers) });
    writeFileSync(`${this.conf}.tmp`, text, { mode: 0o644 });
    renameSync(`${this.conf}.tmp`, this.conf); // whole: a reload never reads half a file
  }

  async start(): Promise<void> {
    const child = spawn(NGINX_BIN, ["-c", this.conf, "-e", this.errorLog, "-g", "daemon off;"], { stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    const keep = (d: Buffer) => (this.output = (this.output + d.toString()).slice(-4000));
    child.stdout!.on("data", keep);
    child.stderr!.on("data", keep);
    this.exited = new Promise((done) => child.once("exit", () => done()));
    const end = Date.now() + 10_000;
    const host = this.vars.NGINX_LISTEN === "0.0.0.0" ? "127.0.0.1" : this.vars.NGINX_LISTEN;
    while (!(await portOpen(Number(this.vars.NGINX_PORT), host))) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`nginx exited at start: ${this.tail()}`);
      if (Date.now() > end) throw new Error(`nginx did not listen on ${this.vars.NGINX_PORT} within 10 s: ${this.tail()}`);
      await pause(25);
    }
  }

  /** The last lines of its error log and output (for failures). */
  tail(): string {
    let log = "";
    try {
      log = readFileSync(this.errorLog, "utf8").slice(-2000);
    } catch {
      /* none yet */
    }
    return `${this.output}${log}`.trim();
  }

  /** Writes the config for `servers`, reloads, and resolves once the old config's workers are all gone. */
  async reload(servers: { address: string; down?: boolean }[], timeoutMs = 40_000): Promise<void> {
    const master = this.pid;
    if (!master) throw new Error("nginx is not running");
    this.write(servers);
    const old = new Set(processTree(master).slice(1));
    process.kill(master, "SIGHUP");
    const end = Date.now() + timeoutMs;
    for (;;) {
      const now = processTree(master).slice(1);
      if (now.length > 0 && now.every((p) => !old.has(p))) return;
      if (Date.now() > end) throw new Error(`nginx reload: the old workers were still running after ${timeoutMs / 1000} s: ${this.tail()}`);
      await pause(20);
    }
  }

  /** SIGQUIT (graceful: requests in flight finish), SIGKILL after `ms`. */
  async stop(ms = 15_000): Promise<void> {
    const child = this.child;
    if (!child || !this.pid) return;
    child.kill("SIGQUIT");
    const t = setTimeout(() => child.kill("SIGKILL"), ms);
    await this.exited;
    clearTimeout(t);
  }
}
