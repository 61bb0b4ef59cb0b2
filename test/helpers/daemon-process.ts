import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { findNodeProcesses, terminate } from "../../src/lib/node-processes.ts";
import { ensureNodeBundle, freePorts, waitFor } from "../chain/helpers/chain-cluster.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/**
 * A real chainpool daemon process (src/main.ts through tsx) on its own data directory,
 * listen port and node port range, restartable over the same directory.
 */
export class DaemonProcess {
  readonly dir: string;
  readonly configFile: string;
  url = "";
  #child: ChildProcess | undefined;
  #exit: Promise<number | null> = Promise.resolve(null);

  /** The program that serves: tsx over src/main.ts by default, or e.g. [dist/chainpool]. */
  readonly #command: readonly string[];
  /** Run on a pseudo-terminal (util-linux `script`): stdout and stderr are a TTY, as at a developer's shell. */
  readonly #terminal: boolean;

  private constructor(dir: string, command: readonly string[], terminal: boolean) {
    this.dir = dir;
    this.configFile = join(dir, "config.toml");
    this.#command = command;
    this.#terminal = terminal;
  }

  static async create(
    toml: (ports: { listen: number; min: number; max: number }) => string,
    options: { command?: readonly string[]; terminal?: boolean } = {},
  ): Promise<DaemonProcess> {
    await ensureNodeBundle();
    const command = options.command ?? [process.execPath, "--import", "tsx", join(ROOT, "src/main.ts")];
    const d = new DaemonProcess(mkdtempSync(join(tmpdir(), "chainpool-it-")), command, options.terminal ?? false);
    const [listen] = await freePorts(1);
    // A node port range of our own per test process, below the kernel's ephemeral range.
    const min = 15000 + (process.pid % 300) * 40;
    writeFileSync(d.configFile, toml({ listen: listen!, min, max: min + 39 }));
    d.url = `http://127.0.0.1:${listen}`;
    return d;
  }

  get clustersRoot(): string {
    return join(this.dir, "data", "clusters");
  }

  async start(): Promise<void> {
    const log = openSync(join(this.dir, "daemon.log"), "a");
    const argv = [...this.#command, "--config", this.configFile, "--data", join(this.dir, "data")];
    const quote = (w: string) => `'${w.replaceAll("'", `'\\''`)}'`;
    // script -e answers the daemon's exit code; -f writes each line through at once.
    const [cmd, ...args] = this.#terminal ? ["script", "-qfec", argv.map(quote).join(" "), "/dev/null"] : argv;
    const child = spawn(cmd!, args, { cwd: ROOT, stdio: ["ignore", log, log] });
    this.#child = child;
    this.#exit = new Promise((done) => child.once("exit", (code) => done(code)));
    closeSync(log);
    await waitFor("the daemon to answer", async () => (await fetch(`${this.url}/api/health`)).ok, 20_000);
  }

  /** The daemon's own process id, as it logged it (under `script`, the child is not the daemon). */
  pid(): number {
    // The last start's: a restarted daemon appends to the same log.
    const line = this.log().split(/\r?\n/).findLast((l) => l.includes('"msg":"chainpool serving"'));
    if (!line) throw new Error(`the daemon logged no pid yet:\n${this.log().slice(-2000)}`);
    return (JSON.parse(line) as { pid: number }).pid;
  }

  /** Resolves with the daemon's exit code once it has exited (null if a signal ended it). */
  exited(): Promise<number | null> {
    return this.#exit;
  }

  kill(signal: NodeJS.Signals): Promise<number | null> {
    const child = this.#child;
    // A child ended by a signal has exitCode null and signalCode set: it is gone all the same.
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child?.exitCode ?? null);
    if (this.#terminal) process.kill(this.pid(), signal);
    else child.kill(signal);
    return this.#exit;
  }

  log(): string {
    try {
      return readFileSync(join(this.dir, "daemon.log"), "utf8");
    } catch {
      return "";
    }
  }

  async call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
    const res = await fetch(`${this.url}${path}`, {
      method,
      headers: { ...headers, ...(body !== undefined && { "content-type": "application/json" }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(60_000),
    });
    return { status: res.status, body: await res.json() };
  }

  nodeProcesses() {
    return findNodeProcesses(this.clustersRoot);
  }

  /** Kills the daemon and every node it started, and removes the directory. */
  async destroy(): Promise<void> {
    await this.kill("SIGKILL");
    await terminate(this.nodeProcesses().map((p) => p.pid), 500);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A daemon config with one local host of `capacity`, autofill on, and a fast scheduler; `more` as for daemonToml. */
export function localHostToml(capacity: number, more: Parameters<typeof daemonToml>[1] = {}): (ports: { listen: number; min: number; max: number }) => string {
  return daemonToml(`
[[hosts]]
name = "local"
type = "local"
capacity = ${capacity}
autofill = true
`, more);
}

/**
 * A daemon config whose hosts are the given TOML blocks, with the fast test scheduler;
 * `scheduler` adds keys to its table, `tables` adds whole tables (e.g. "[docker] ...").
 */
export function daemonToml(
  hosts: string,
  more: { scheduler?: string; tables?: string; readyTimeoutS?: number } = {},
): (ports: { listen: number; min: number; max: number }) => string {
  return ({ listen, min, max }) => `
listen = "127.0.0.1:${listen}"
log_json = true
[ports]
min = ${min}
max = ${max}
${fastSchedulerToml.replace(/ready_timeout_s = \d+/, `ready_timeout_s = ${more.readyTimeoutS ?? 20}`)}
${more.scheduler ?? ""}
${more.tables ?? ""}
${hosts}`;
}

export const fastSchedulerToml = `
[scheduler]
host_check_s = 1
health_check_s = 1
autofill_s = 1
reconcile_s = 1
sweep_s = 1
sweep_grace_s = 2
ready_timeout_s = 20
`;

/**
 * A daemon config with one local host whose clusters are `size` nodes (small, so they start
 * fast), a quick scheduler, and optional API keys.
 */
export function localPoolToml(options: { capacity: number; size: number; autofill: boolean; operatorKey?: string; frontKey?: string; metricsKey?: string }) {
  return ({ listen, min, max }: { listen: number; min: number; max: number }) => `
listen = "127.0.0.1:${listen}"
log_json = true
[api]
operator_keys = [${options.operatorKey ? `"${options.operatorKey}"` : ""}]
front_keys = [${options.frontKey ? `"${options.frontKey}"` : ""}]
metrics_keys = [${options.metricsKey ? `"${options.metricsKey}"` : ""}]
[ports]
min = ${min}
max = ${max}
[pool]
types = [{ plugin = "noops", size = ${options.size} }]
[scheduler]
reconcile_s = 0.5
health_check_s = 1
autofill_s = 0.5
ready_timeout_s = 20
[[hosts]]
name = "local"
type = "local"
capacity = ${options.capacity}
autofill = ${options.autofill}
`;
}
