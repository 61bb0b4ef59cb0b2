/**
 * Chain node processes of local hosts, found in /proc by their command line. Shared by the
 * local host driver, the daemon's stop and start, and `chainpool down` (which runs with no
 * daemon at all), so it is a leaf helper.
 */
import { readdirSync, readFileSync } from "node:fs";

export interface NodeProcess {
  pid: number;
  clusterId: string;
  nodeId: string;
}

/**
 * Every live chain node process started from `root`: found by its command line
 * (`... --config ROOT/<cluster>/<node>/config.json`), not by pid files, so that a process
 * spawned just before a crash, whose pid was never recorded, is still found.
 */
export function findNodeProcesses(root: string): NodeProcess[] {
  const prefix = root.endsWith("/") ? root : root + "/";
  const found: NodeProcess[] = [];
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return found;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8");
    } catch {
      continue; // exited meanwhile
    }
    const args = cmdline.split("\0");
    const at = args.indexOf("--config");
    const config = at >= 0 ? args[at + 1] : undefined;
    if (!config?.startsWith(prefix) || !config.endsWith("/config.json")) continue;
    const [clusterId, nodeId] = config.slice(prefix.length).split("/");
    if (!clusterId || !nodeId) continue;
    found.push({ pid: Number(entry), clusterId, nodeId });
  }
  return found;
}

/** How many nodes, of how many clusters: what a stop reports. */
export function countNodes(processes: readonly NodeProcess[]): { nodes: number; clusters: number } {
  return { nodes: processes.length, clusters: new Set(processes.map((p) => p.clusterId)).size };
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM, then SIGKILL for whatever still runs after graceMs; resolves when all are gone. */
export async function terminate(pids: readonly number[], graceMs = 3000): Promise<void> {
  const signal = (pid: number, sig: NodeJS.Signals) => {
    try {
      process.kill(pid, sig);
    } catch {
      /* already gone */
    }
  };
  for (const pid of pids) signal(pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  let left = pids.filter(isAliveNotZombie);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 25));
    left = left.filter(isAliveNotZombie);
  }
  for (const pid of left) signal(pid, "SIGKILL");
  while (left.length > 0) {
    await new Promise((r) => setTimeout(r, 25));
    left = left.filter(isAliveNotZombie);
  }
}

/**
 * Whether `pid` is still the chain node started with `--config configFile`: not exited, not a
 * zombie (whose command line reads empty), not a pid the kernel gave to another process since.
 * One small read of /proc, no signal, nothing asked of the node.
 */
export function isNodeProcess(pid: number, configFile: string): boolean {
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
  } catch {
    return false;
  }
  const args = cmdline.split("\0");
  const at = args.indexOf("--config");
  return at >= 0 && args[at + 1] === configFile;
}

/**
 * Does this process still run? Unlike isAlive, a process of another user (EPERM: the
 * service's daemon seen by an operator's CLI) counts as running, and a zombie does not.
 */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  return !isZombie(pid);
}

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state === "Z" || state === "X";
  } catch {
    return true; // gone meanwhile
  }
}

/** A zombie is dead for our purposes: it holds no port and runs no code. */
function isAliveNotZombie(pid: number): boolean {
  return isAlive(pid) && !isZombie(pid);
}
