/**
 * bench:create — how fast a pool refills, on a docker host and on a local host in one run:
 * the time from the create request to a healthy 4-node cluster (median of 5, one at a time),
 * the time from release to the recycled cluster back in the pool healthy (median of 5), and
 * the resident memory of one idle node. Baselines measured in the same run: starting 4 bare
 * runtimes that exit at once (4 processes; 4 containers of the node image). Last line: JSON.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Docker from "dockerode";
import { parseConfig } from "../src/config/load.ts";
import { createDaemon, defaultNodeCommand } from "../src/daemon.ts";
import { nodeImageSource } from "../src/drivers/docker/image.ts";
import { findNodeProcesses } from "../src/lib/node-processes.ts";
import { silentLogger } from "../src/lib/logger.ts";

const RUNS = Number(process.env["BENCH_RUNS"] ?? 5);
const SOCKET = process.env["DOCKER_SOCKET"] ?? "/var/run/docker.sock";
const docker = new Docker({ socketPath: SOCKET });
const dir = mkdtempSync(join(tmpdir(), "chainpool-bench-create-"));

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const round = (x: number, digits = 3) => Math.round(x * 10 ** digits) / 10 ** digits;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const config = parseConfig({
  data_dir: join(dir, "data"),
  scheduler: { reconcile_s: 0.5, health_check_s: 1, autofill_s: 3600, sweep_s: 3600, max_parallel_ops: 4 },
  ports: { min: 17100, max: 17199 },
  hosts: [
    { name: "local", type: "local", capacity: RUNS + 1, autofill: false },
    { name: "docker", type: "docker", daemon_url: `unix://${SOCKET}`, capacity: RUNS + 1, autofill: false },
  ],
});
const daemon = createDaemon({ config, logger: silentLogger });
daemon.start();
const api = async (method: string, path: string, body?: unknown) => {
  const res = await daemon.app.request(path, {
    method,
    ...(body !== undefined && { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
  });
  return (await res.json()) as { code: number; error: string; data: any };
};

const hostId = async (name: string) => ((await api("GET", "/api/hosts")).data as Array<{ id: string; name: string }>).find((h) => h.name === name)!.id;

/** Polls until the cluster named `name` (any id but `not`) is running, healthy and free. */
async function healthy(name: string, not?: string): Promise<{ id: string }> {
  for (;;) {
    const list = (await api("GET", "/api/clusters?state=active")).data as Array<{ id: string; name: string; status: string; health: string; user_id: string }>;
    const c = list.find((x) => x.name === name && x.id !== not);
    if (c && c.status === "running" && c.health === "OK" && c.user_id === "") return c;
    await sleep(10);
  }
}

async function measure(host: "local" | "docker") {
  const id = await hostId(host);
  // The first creation on a docker host imports the node image; it is not one of the runs.
  await api("POST", "/api/cluster", { host_id: id, name: `${host}-warm` });
  await healthy(`${host}-warm`);
  const creates: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    const r = await api("POST", "/api/cluster", { host_id: id, name: `${host}-${i}` });
    if (r.code !== 201) throw new Error(`create: ${r.error}`);
    await healthy(`${host}-${i}`);
    creates.push((performance.now() - t0) / 1000);
    process.stdout.write(`${host} create ${i + 1}/${RUNS}: ${creates.at(-1)!.toFixed(3)} s\n`);
  }
  const recycles: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const applied = await api("POST", "/v2/cluster_op", { action: "apply", user_id: `bench-${host}-${i}` });
    if (applied.code !== 200) throw new Error(`apply: ${applied.error}`);
    const { id: cid, name } = applied.data;
    const t0 = performance.now();
    await api("POST", "/v2/cluster_op", { action: "release", cluster_id: cid });
    await healthy(name, cid);
    recycles.push((performance.now() - t0) / 1000);
    process.stdout.write(`${host} recycle ${i + 1}/${RUNS}: ${recycles.at(-1)!.toFixed(3)} s\n`);
  }
  return { create: median(creates), recycle: median(recycles), creates, recycles };
}

/** RSS of idle local node processes, in MB (median). */
function localNodeRss(): number {
  const rss = findNodeProcesses(join(dir, "data", "clusters")).map((p) => {
    const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p.pid}/status`, "utf8"))![1]);
    return kb / 1024;
  });
  return median(rss);
}

/** Memory use of idle node containers as their cgroup counts it, in MB (median). */
async function dockerNodeMem(): Promise<number> {
  const containers = await docker.listContainers({ filters: { label: ["io.chainpool.node"] } });
  const mem = await Promise.all(
    containers.slice(0, 8).map(async (c) => {
      const s = (await docker.getContainer(c.Id).stats({ stream: false })) as { memory_stats: { usage: number; stats?: { cache?: number; inactive_file?: number } } };
      return (s.memory_stats.usage - (s.memory_stats.stats?.inactive_file ?? s.memory_stats.stats?.cache ?? 0)) / 1024 / 1024;
    }),
  );
  return median(mem);
}

/** Baselines: 4 bare runtimes that exit at once, as processes and as containers of the node image. */
async function baselines() {
  const procs: number[] = [];
  const containers: number[] = [];
  // The image this run's docker clusters use (made from this runtime and the node bundle).
  const { tag: image, entrypoint } = await nodeImageSource(defaultNodeCommand());
  for (let i = 0; i < RUNS; i++) {
    let t0 = performance.now();
    await Promise.all(Array.from({ length: 4 }, () => new Promise((r) => spawn(process.execPath, ["-e", "0"]).once("exit", r))));
    procs.push((performance.now() - t0) / 1000);
    t0 = performance.now();
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        const c = await docker.createContainer({ Image: image, Entrypoint: [entrypoint[0]!, "-e", "0"], HostConfig: { AutoRemove: false } });
        try {
          await c.start();
          await c.wait();
        } finally {
          await c.remove({ force: true }); // also when the run fails: leave nothing on the engine
        }
      }),
    );
    containers.push((performance.now() - t0) / 1000);
  }
  return { process: median(procs), container: median(containers) };
}

try {
  const local = await measure("local");
  await sleep(3000); // let the nodes settle to idle
  const node_rss_mb = localNodeRss();
  // Applies must find docker clusters only from here on.
  await daemon.services.hosts.reset(await hostId("local"));
  const dock = await measure("docker");
  await sleep(3000);
  const docker_node_mem_mb = await dockerNodeMem();
  const base = await baselines();
  process.stdout.write(
    `local: create ${local.create.toFixed(3)} s, recycle ${local.recycle.toFixed(3)} s; docker: create ${dock.create.toFixed(3)} s, recycle ${dock.recycle.toFixed(3)} s\n` +
      `baseline: 4 bare processes ${base.process.toFixed(3)} s, 4 bare containers ${base.container.toFixed(3)} s; idle node ${node_rss_mb.toFixed(1)} MB RSS (process), ${docker_node_mem_mb.toFixed(1)} MB (container cgroup)\n`,
  );
  console.log(
    JSON.stringify({
      docker_create_s: round(dock.create),
      docker_recycle_s: round(dock.recycle),
      local_create_s: round(local.create),
      local_recycle_s: round(local.recycle),
      node_rss_mb: round(node_rss_mb, 1),
      docker_node_mem_mb: round(docker_node_mem_mb, 1),
      baseline_4_processes_s: round(base.process),
      baseline_4_containers_s: round(base.container),
      runs: RUNS,
    }),
  );
} finally {
  for (const name of ["local", "docker"]) await daemon.services.hosts.reset(await hostId(name)).catch(() => undefined);
  await daemon.close();
  rmSync(dir, { recursive: true, force: true });
}
