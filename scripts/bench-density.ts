/**
 * bench:density — what idle clusters cost on one machine. Starts a real daemon process (as
 * `npm start` runs it) with one local host, raises the host's capacity to a baseline number
 * of clusters and then to the full number (autofill makes them), waits each time until every
 * cluster is running and healthy (by the daemon's own health checks), then measures over a
 * window that starts --settle seconds later (see SETTLE_S), touching nothing meanwhile:
 * - CPU of the daemon (with any process it runs besides the nodes) and of every node, from
 *   /proc/<pid>/stat utime + stime, as % of one core;
 * - wakeups: context switches (voluntary + involuntary, /proc/<pid>/status) per node per second;
 * - PSS of each node and of the daemon (/proc/<pid>/smaps_rollup), at the end of the window,
 *   beside the PSS of 10 bare runtimes idling meanwhile (what of it the runtime alone takes);
 * - time from the capacity change to all healthy.
 * The baseline (fewer clusters, same daemon, same run) shows how the cost grows per node.
 * The load average is printed beside every figure: two cores are shared with others.
 * Everything started is stopped and removed on exit, Ctrl-C and failure alike.
 *
 *   npm run bench:density -- [--clusters 250] [--baseline 25] [--window 60] [--settle 30]
 *     [--health-check-s 5] [--node-flags="..."]
 *   (or DENSITY_CLUSTERS, DENSITY_BASELINE, DENSITY_WINDOW_S, DENSITY_SETTLE_S, DENSITY_NODE_FLAGS; --baseline 0
 *   skips it; --node-flags runs nodes as `node FLAGS dist/chain-node.mjs` instead of the default;
 *   --daemon-flags="..." likewise for the daemon; --daemon-paused stops the daemon with SIGSTOP during the window: the nodes' own idle cost)
 * Last line: JSON.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { findNodeProcesses, terminate } from "../src/lib/node-processes.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const { values: flags } = parseArgs({
  options: { clusters: { type: "string" }, baseline: { type: "string" }, window: { type: "string" }, "node-flags": { type: "string" }, "daemon-paused": { type: "boolean" }, "daemon-flags": { type: "string" }, settle: { type: "string" }, "health-check-s": { type: "string" } },
  strict: true,
});
const positiveInt = (name: string, text: string | undefined, fallback: number, min = 1): number => {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < min) throw new Error(`${name} must be an integer of at least ${min}, not "${text}"`);
  return n;
};
const CLUSTERS = positiveInt("--clusters", flags.clusters ?? process.env["DENSITY_CLUSTERS"], 250);
const BASELINE = positiveInt("--baseline", flags.baseline ?? process.env["DENSITY_BASELINE"], Math.min(25, Math.floor(CLUSTERS / 10)), 0);
/**
 * Seconds between all healthy and the window. A node's first half minute is not idle: V8
 * compiles lazily and runs its after-start garbage collections (the memory reducer's, about
 * 8 s apart), which measured as much CPU as all the probes; a window right after the last
 * cluster came up measured the start-up of the newest nodes, not what idling costs.
 */
const SETTLE_S = positiveInt("--settle", flags.settle ?? process.env["DENSITY_SETTLE_S"], 30, 0);
/** The daemon's `scheduler.health_check_s`, when not the default: what idling costs at another probe period. */
const HEALTH_CHECK_S = flags["health-check-s"] === undefined ? undefined : positiveInt("--health-check-s", flags["health-check-s"], 5);
const WINDOW_S = positiveInt("--window", flags.window ?? process.env["DENSITY_WINDOW_S"], 60);
const SIZE = 4;
/** Runtime flags for every node (e.g. "--max-semi-space-size=1", "--cpu-prof"): to measure them, not guess. */
/** Runtime flags for the daemon (e.g. "--cpu-prof"). */
const DAEMON_FLAGS = (flags["daemon-flags"] ?? "").split(" ").filter((f) => f !== "");
/** Diagnosis: the daemon is stopped (SIGSTOP) during the window, so the nodes' own idle cost shows alone. */
const DAEMON_PAUSED = flags["daemon-paused"] === true;
const NODE_FLAGS = (flags["node-flags"] ?? process.env["DENSITY_NODE_FLAGS"] ?? "").split(" ").filter((f) => f !== "");
if (BASELINE >= CLUSTERS) throw new Error(`--baseline (${BASELINE}) must be below --clusters (${CLUSTERS})`);

const BUNDLE = join(ROOT, "dist/chain-node.mjs");
if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing: npm run build:node`);
const CLK_TCK = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;
const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const loadAverage = () => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).map(Number) as [number, number, number];

const dir = mkdtempSync(join(tmpdir(), "chainpool-bench-density-"));
const dataDir = join(dir, "data");
const clustersRoot = join(dataDir, "clusters");
let daemon: ChildProcess | undefined;
/** Bare runtimes idling beside the nodes: what of a node's memory is the runtime's own. */
const bare: ChildProcess[] = [];
const BARE_RUNTIMES = 10;
let daemonExit: Promise<void> = Promise.resolve();

/** Stops the daemon, then every node under this run's data directory, and removes it. Idempotent. */
let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const child of bare) child.kill("SIGKILL");
    if (daemon && daemon.exitCode === null && daemon.signalCode === null) {
      daemon.kill("SIGCONT");
      daemon.kill("SIGTERM");
      const gone = await Promise.race([daemonExit.then(() => true), sleep(25_000).then(() => false)]);
      if (!gone) {
        daemon.kill("SIGKILL");
        await daemonExit;
      }
    }
    // Only after the daemon is gone: nothing can start a node behind this.
    await terminate(findNodeProcesses(clustersRoot).map((p) => p.pid), 3_000);
    rmSync(dir, { recursive: true, force: true });
  })();
  return cleaning;
}
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.once(signal, () => {
    process.stderr.write(`bench:density: ${signal}, stopping everything it started\n`);
    void cleanup().finally(() => process.exit(130));
  });
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => done(port));
    });
  });
}

let baseUrl = "";
async function api(method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    ...(body !== undefined && { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
    signal: AbortSignal.timeout(60_000),
  });
  const json = (await res.json()) as { code: number; error: string; data: unknown };
  if (json.code >= 300) throw new Error(`${method} ${path}: ${json.code} ${json.error}`);
  return json.data;
}

async function startDaemon(): Promise<void> {
  const listen = await freePort();
  // Node ports below the kernel's ephemeral range (32768-), one per node and some to spare.
  const min = 20_000;
  const max = min + CLUSTERS * SIZE + 200;
  const configFile = join(dir, "config.toml");
  // Everything else is the default configuration: that is what is measured.
  writeFileSync(configFile, `listen = "127.0.0.1:${listen}"
log_json = true
${HEALTH_CHECK_S === undefined ? "" : `[scheduler]\nhealth_check_s = ${HEALTH_CHECK_S}\n`}[ports]
min = ${min}
max = ${max}
[[hosts]]
name = "local"
type = "local"
capacity = 0
autofill = true
${NODE_FLAGS.length > 0 ? `[local]\nnode_command = ${JSON.stringify([process.execPath, ...NODE_FLAGS, BUNDLE])}\n` : ""}`);
  baseUrl = `http://127.0.0.1:${listen}`;
  const log = openSync(join(dir, "daemon.log"), "a");
  daemon = spawn(process.execPath, [...DAEMON_FLAGS, "--import", "tsx", join(ROOT, "src/main.ts"), "serve", "--config", configFile, "--data", dataDir], {
    cwd: ROOT,
    stdio: ["ignore", log, log],
  });
  closeSync(log);
  const child = daemon;
  daemonExit = new Promise((done) => child.once("exit", () => done()));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the daemon exited with ${child.exitCode}:\n${daemonLogTail()}`);
    try {
      if ((await fetch(`${baseUrl}/api/health`)).ok) return;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new Error(`the daemon did not answer within 60 s:\n${daemonLogTail()}`);
    await sleep(100);
  }
}

function daemonLogTail(): string {
  try {
    return readFileSync(join(dir, "daemon.log"), "utf8").split("\n").slice(-20).join("\n");
  } catch {
    return "";
  }
}

/** Sets the local host's capacity and waits until that many clusters run healthy with every node up; answers the seconds taken. */
async function fillTo(clusters: number): Promise<number> {
  const host = ((await api("GET", "/api/hosts")) as Array<{ id: string; name: string }>).find((h) => h.name === "local")!;
  const t0 = performance.now();
  await api("PUT", "/api/host", { id: host.id, capacity: clusters });
  // A creation takes about a second at worst here; beyond this something is wrong.
  const deadline = Date.now() + 120_000 + clusters * 4_000;
  let last = "";
  for (;;) {
    const list = (await api("GET", "/api/clusters?state=active")) as Array<{ status: string; health: string }>;
    const healthy = list.filter((c) => c.status === "running" && c.health === "OK").length;
    const nodes = findNodeProcesses(clustersRoot).length;
    const now = `${healthy}/${list.length} clusters healthy (want ${clusters}), ${nodes} node processes`;
    if (now !== last) process.stderr.write(`  ${now}\n`);
    last = now;
    if (list.length === clusters && healthy === clusters && nodes === clusters * SIZE) return (performance.now() - t0) / 1000;
    if (daemon?.exitCode !== null) throw new Error(`the daemon exited:\n${daemonLogTail()}`);
    if (Date.now() > deadline) throw new Error(`not healthy in time: ${now}`);
    await sleep(500);
  }
}

/** The daemon and every process below it that is not a chain node (e.g. tsx's esbuild). */
function daemonTree(daemonPid: number, nodePids: ReadonlySet<number>): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      /* gone */
    }
  }
  const tree = [daemonPid];
  for (let i = 0; i < tree.length; i++) {
    for (const [pid, ppid] of parents) if (ppid === tree[i] && !nodePids.has(pid) && !tree.includes(pid)) tree.push(pid);
  }
  return tree;
}

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // After the command: state(0) ppid ... utime is field 14 of the whole line, 11 here.
  return Number(fields[11]) + Number(fields[12]);
}
function contextSwitches(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const get = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, "m").exec(status)?.[1] ?? 0);
  return get("voluntary_ctxt_switches") + get("nonvoluntary_ctxt_switches");
}
function pssKb(pid: number): number {
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
  return Number(/^Pss:\s+(\d+) kB/m.exec(rollup)?.[1] ?? 0);
}
function rssKb(pid: number): number {
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
  return Number(/^Rss:\s+(\d+) kB/m.exec(rollup)?.[1] ?? 0);
}

interface Figures {
  clusters: number;
  nodes: number;
  idle_cpu_pct_of_one_core: number;
  nodes_cpu_pct: number;
  daemon_cpu_pct: number;
  cpu_pct_per_node: number;
  wakeups_per_node_s: number;
  daemon_wakeups_s: number;
  pss_mb_per_node: number;
  rss_mb_per_node: number;
  daemon_pss_mb: number;
  /** PSS of `node -e "setInterval(...)"` idling beside the nodes (sharing the same binary's pages). */
  bare_runtime_pss_mb: number;
  time_to_healthy_s: number;
  load_avg_1m_start: number;
  load_avg_1m_end: number;
}

/** Fills to `clusters`, then measures the idle window. */
async function phase(clusters: number): Promise<Figures> {
  process.stderr.write(`bench:density: ${clusters} clusters of ${SIZE} nodes\n`);
  const timeToHealthy = await fillTo(clusters);
  process.stderr.write(`  healthy after ${round(timeToHealthy)} s; settling ${SETTLE_S} s\n`);
  await sleep(SETTLE_S * 1000);
  const nodes = findNodeProcesses(clustersRoot).map((p) => p.pid);
  const nodeSet = new Set(nodes);
  const tree = daemonTree(daemon!.pid!, nodeSet);
  const before = { nodes: nodes.map(cpuTicks), daemon: tree.map(cpuTicks), nodeCs: nodes.map(contextSwitches), daemonCs: tree.map(contextSwitches) };
  // Started now, so that they too are past their start-up when their memory is read.
  while (bare.length < BARE_RUNTIMES) bare.push(spawn(process.execPath, ["-e", "setInterval(() => {}, 1 << 30)"], { stdio: "ignore" }));
  const loadStart = loadAverage();
  process.stderr.write(`  measuring ${WINDOW_S} s idle (load average ${loadStart.join(" ")})\n`);
  const t0 = performance.now();
  if (DAEMON_PAUSED) daemon!.kill("SIGSTOP");
  await sleep(WINDOW_S * 1000);
  if (DAEMON_PAUSED) daemon!.kill("SIGCONT");
  const seconds = (performance.now() - t0) / 1000;
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const nodeTicks = sum(nodes.map(cpuTicks)) - sum(before.nodes);
  const daemonTicks = sum(tree.map(cpuTicks)) - sum(before.daemon);
  const nodeCs = sum(nodes.map(contextSwitches)) - sum(before.nodeCs);
  const daemonCs = sum(tree.map(contextSwitches)) - sum(before.daemonCs);
  const loadEnd = loadAverage();
  const still = new Set(findNodeProcesses(clustersRoot).map((p) => p.pid));
  const replaced = nodes.filter((pid) => !still.has(pid)).length;
  if (replaced > 0) throw new Error(`${replaced} node processes exited during the idle window: not idle`);
  const pct = (ticks: number) => (ticks / CLK_TCK / seconds) * 100;
  const figures: Figures = {
    clusters,
    nodes: nodes.length,
    idle_cpu_pct_of_one_core: round(pct(nodeTicks + daemonTicks)),
    nodes_cpu_pct: round(pct(nodeTicks)),
    daemon_cpu_pct: round(pct(daemonTicks)),
    cpu_pct_per_node: round(pct(nodeTicks + daemonTicks) / nodes.length, 4),
    wakeups_per_node_s: round(nodeCs / nodes.length / seconds),
    daemon_wakeups_s: round(daemonCs / seconds),
    pss_mb_per_node: round(sum(nodes.map(pssKb)) / nodes.length / 1024),
    rss_mb_per_node: round(sum(nodes.map(rssKb)) / nodes.length / 1024),
    daemon_pss_mb: round(sum(tree.map(pssKb)) / 1024),
    bare_runtime_pss_mb: round(sum(bare.map((child) => pssKb(child.pid!))) / bare.length / 1024),
    time_to_healthy_s: round(timeToHealthy),
    load_avg_1m_start: loadStart[0],
    load_avg_1m_end: loadEnd[0],
  };
  process.stdout.write(`${clusters} clusters: ${JSON.stringify(figures)}\n`);
  return figures;
}

try {
  await startDaemon();
  const baseline = BASELINE > 0 ? await phase(BASELINE) : undefined;
  const full = await phase(CLUSTERS);
  const result = {
    ...full,
    window_s: WINDOW_S,
    settle_s: SETTLE_S,
    health_check_s: HEALTH_CHECK_S ?? 5,
    node_flags: NODE_FLAGS.join(" "),
    ...(DAEMON_PAUSED && { daemon_paused: true }),
    cpus: readFileSync("/proc/cpuinfo", "utf8").match(/^processor\s*:/gm)?.length ?? 0,
    ...(baseline && {
      baseline,
      // How much each node added above the baseline: the marginal cost of density.
      marginal_cpu_pct_per_node: round((full.idle_cpu_pct_of_one_core - baseline.idle_cpu_pct_of_one_core) / (full.nodes - baseline.nodes), 4),
    }),
  };
  await cleanup();
  process.stdout.write(`${JSON.stringify(result)}\n`);
} catch (error: unknown) {
  process.stderr.write(`bench:density failed: ${error instanceof Error ? error.message : String(error)}\n`);
  await cleanup();
  process.exit(1);
}
