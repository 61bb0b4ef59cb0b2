/**
 * Measures dist/chainpool (built first if stale): its size, the time from exec to the first
 * served request (GET /api/health answered 200; median of 5 cold starts), the daemon's
 * resident memory when idle, and one chain node's (`chainpool node`) resident memory.
 * The last line is JSON.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { findNodeProcesses, terminate } from "../src/lib/node-processes.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const built = spawnSync(process.execPath, ["--import", "tsx", join(root, "scripts/build-exe.ts")], { encoding: "utf8" });
if (built.status !== 0) throw new Error(`build failed: ${built.stderr}`);
const exe = join(root, "dist/chainpool");

const freePort = () =>
  new Promise<number>((done) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => done(port));
    });
  });
const statusKiB = (pid: number, field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]);
/** Resident memory, and the part of it that is the process's own (not pages of the executable shared with every other chainpool process). */
const memory = (pid: number) => ({ rss: statusKiB(pid, "VmRSS"), anon: statusKiB(pid, "RssAnon") });
const mib = (kib: number) => Math.round((kib / 1024) * 10) / 10;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const stop = (child: ChildProcess) => new Promise<void>((done) => (child.exitCode !== null ? done() : (child.once("exit", () => done()), child.kill("SIGTERM"))));

async function start(dir: string, config: string): Promise<{ child: ChildProcess; url: string; ms: number }> {
  const port = await freePort();
  writeFileSync(join(dir, "config.toml"), `listen = "127.0.0.1:${port}"\ndata_dir = "${join(dir, "data")}"\nlog_level = "warn"\n${config}`);
  const url = `http://127.0.0.1:${port}`;
  const started = performance.now();
  const child = spawn(exe, ["serve", "--config", join(dir, "config.toml")], { stdio: "ignore", env: { PATH: "/nonexistent" } });
  for (;;) {
    try {
      if ((await fetch(`${url}/api/health`)).ok) return { child, url, ms: performance.now() - started };
    } catch {
      /* not yet */
    }
    if (performance.now() - started > 20_000) throw new Error("the executable did not serve within 20 s");
    await sleep(2);
  }
}

const dir = mkdtempSync(join(tmpdir(), "chainpool-bench-exe-"));
try {
  const starts: number[] = [];
  let idle = { rss: 0, anon: 0 };
  for (let i = 0; i < 5; i++) {
    rmSync(join(dir, "data"), { recursive: true, force: true });
    const { child, ms } = await start(dir, "hosts = []\n");
    starts.push(ms);
    if (i === 4) {
      await sleep(3_000);
      idle = memory(child.pid!);
    }
    await stop(child);
  }
  starts.sort((a, b) => a - b);

  // One single-node cluster, to see what a `chainpool node` process holds.
  rmSync(join(dir, "data"), { recursive: true, force: true });
  const nodePort = 24000 + (process.pid % 500) * 2;
  const { child, url } = await start(
    dir,
    `[ports]\nmin = ${nodePort}\nmax = ${nodePort + 1}\n[pool]\ntypes = [{ plugin = "noops", size = 1 }]\n[scheduler]\nautofill_s = 0.2\nreconcile_s = 0.2\n[[hosts]]\nname = "local"\ntype = "local"\ncapacity = 1\n`,
  );
  let node = { rss: 0, anon: 0 };
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline && node.rss === 0) {
    const clusters = (await (await fetch(`${url}/v2/clusters`)).json()) as { data: Array<{ health: string }> };
    if (clusters.data[0]?.health === "OK") {
      await sleep(1_000);
      node = memory(findNodeProcesses(join(dir, "data", "clusters"))[0]!.pid);
      break;
    }
    await sleep(100);
  }
  await stop(child);
  // Nodes outlive the daemon by design (the next start adopts them): end them here.
  await terminate(findNodeProcesses(join(dir, "data", "clusters")).map((p) => p.pid));

  const result = {
    exe_bytes: statSync(exe).size,
    exe_mib: Math.round((statSync(exe).size / 1024 / 1024) * 10) / 10,
    startup_to_first_request_ms: { median: Math.round(starts[2]!), min: Math.round(starts[0]!), max: Math.round(starts[4]!) },
    daemon_idle_rss_mib: mib(idle.rss),
    daemon_idle_private_mib: mib(idle.anon),
    chain_node_rss_mib: mib(node.rss),
    chain_node_private_mib: mib(node.anon),
    runtime: (JSON.parse(spawnSync(exe, ["version", "--json", "--url", "http://127.0.0.1:9"], { encoding: "utf8" }).stdout) as { runtime: string }).runtime,
    load_average_1m: loadavg()[0],
  };
  console.log(JSON.stringify(result));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
