import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import type Docker from "dockerode";
import { waitFor } from "../chain/helpers/chain-cluster.ts";

/**
 * Test engines in network namespaces of their own. A dockerd in this machine's own namespace
 * shares iptables with the main engine, and flushes the main engine's DOCKER and
 * DOCKER-ISOLATION chains as it starts: another test file's clusters would lose their isolation
 * and published ports. In its own namespace an engine's iptables, bridges and routes are its
 * own, as on another machine.
 */

export const ip = (...args: string[]) => execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });

export const quietly = (f: () => unknown) => {
  try {
    f();
  } catch {
    /* already gone */
  }
};

/** The cgroup v1 hierarchies an engine in a namespace mounts again (`ip netns exec` remounts /sys). */
export const CGROUP_CONTROLLERS = ["cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids"];

const CGROUP_MOUNTS = [
  "mount -t tmpfs cgroup_root /sys/fs/cgroup",
  ...CGROUP_CONTROLLERS.map((c) => `mkdir -p /sys/fs/cgroup/${c} && mount -t cgroup -o ${c} cgroup /sys/fs/cgroup/${c}`),
  "mkdir -p /sys/fs/cgroup/systemd /sys/fs/cgroup/unified",
  "mount -t cgroup -o none,name=systemd cgroup /sys/fs/cgroup/systemd",
  "mount -t cgroup2 cgroup2 /sys/fs/cgroup/unified",
].join(" && ");

/**
 * Starts `exec dockerd ARGS` in network namespace `ns`, with the cgroup hierarchies mounted
 * again first and `--cgroup-parent /NS` (remove it with `removeCgroups(ns)`), its output
 * appended to `logFile`. `hostname`: a UTS namespace of its own with that name too.
 */
export function spawnDockerdInNetns(ns: string, dockerdArgs: string[], logFile: string, options: { hostname?: string; env?: NodeJS.ProcessEnv } = {}): ChildProcess {
  const uts = options.hostname === undefined ? [] : ["unshare", "--uts"];
  const setHostname = options.hostname === undefined ? "" : `hostname ${options.hostname} && `;
  const dockerd = ["exec dockerd", ...dockerdArgs, `--cgroup-parent /${ns}`].join(" ");
  const child = spawn("ip", ["netns", "exec", ns, ...uts, "sh", "-c", `${setHostname}${CGROUP_MOUNTS} && ${dockerd} >>${logFile} 2>&1`], {
    detached: true,
    stdio: "ignore",
    env: options.env ?? process.env,
  });
  child.unref();
  return child;
}

/** Waits (60 s at most) until the engine answers a ping; if it never does, fails with the end of its log. */
export async function untilEngineAnswers(engine: Docker, what: string, log: () => string): Promise<void> {
  await waitFor(what, async () => {
    try {
      await engine.ping();
      return true;
    } catch {
      return false;
    }
  }, 60_000).catch((err: Error) => {
    throw new Error(`${err.message}\n${log().slice(-2000)}`);
  });
}

/** Removes the cgroups an engine started by spawnDockerdInNetns(ns) made, in every hierarchy. */
export function removeCgroups(ns: string): void {
  for (const c of [...CGROUP_CONTROLLERS, "systemd"]) removeCgroup(`/sys/fs/cgroup/${c}/${ns}`);
}

function removeCgroup(dir: string): void {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) removeCgroup(join(dir, entry.name));
  quietly(() => rmdirSync(dir));
}

/** The processes in network namespace `ns` (none when it does not exist). */
export function netnsPids(ns: string): number[] {
  const out = spawnSync("ip", ["netns", "pids", ns], { encoding: "utf8" });
  return out.status === 0 ? out.stdout.split("\n").filter((l) => /^\d+$/.test(l.trim())).map(Number) : [];
}

/** A process's command line, its arguments joined by spaces ("" once it is gone). */
export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
  } catch {
    return "";
  }
}

/** Every process on the machine. */
export const processIds = (): number[] => readdirSync("/proc").filter((p) => /^\d+$/.test(p)).map(Number);

/** `pids` and every process descended from one of them (a dockerd's containerd, its shims and the containers' processes). */
export function withDescendants(pids: Iterable<number>): number[] {
  const all = new Set(pids);
  const parentOf = new Map<number, number>();
  for (const pid of processIds()) {
    try {
      parentOf.set(pid, Number(readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /, "").split(" ")[1]));
    } catch {
      /* gone */
    }
  }
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, parent] of parentOf) {
      if (!all.has(pid) && all.has(parent)) {
        all.add(pid);
        grew = true;
      }
    }
  }
  return [...all];
}
