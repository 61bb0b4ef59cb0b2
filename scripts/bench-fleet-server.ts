/**
 * The daemon half of bench:fleet, run as its own process by scripts/bench-fleet.ts.
 *
 * FLEET_MODE=seed: writes the fleet into a fresh data directory (FLEET_DIR) through the pool
 * store, as the daemon itself would have: FLEET_HOSTS memory hosts (autofill on, each at
 * capacity), FLEET_CLUSTERS clusters spread evenly over them, each created (createCluster),
 * made by the memory driver (markCreated with the runtime it answers) and passed its first
 * health check (recordHealth), in transactions of a few thousand. The reconciler is not run
 * for this: it would make the same rows one driver call at a time. Exits when done.
 *
 * FLEET_MODE=serve: a daemon on that data directory (real SQLite file, real Hono app served
 * over HTTP, the real scheduler and its jobs) whose memory hosts already hold the clusters
 * the database lists, as real hosts would after a restart. The hosts answer after a simulated
 * latency (FLEET_LATENCY_MS, "min,max", default 2-20) and fail a fraction of calls
 * (FLEET_FAILURE_RATE, default 0.001); FLEET_HEALTH_S sets scheduler.health_check_s.
 * Prints {"url", "startup_ms"} when it serves, then answers one JSON line per command read
 * from stdin: {"cmd":"jobs"} runs each scheduler job once and answers its wall time and the
 * longest stretch it blocked the event loop; {"cmd":"start"} starts the scheduler as main
 * does; {"cmd":"block"} answers the longest block since the last one (or the start), for one phase; {"cmd":"stats"} answers memory, database size and the longest block since start;
 * {"cmd":"stop"} closes the daemon and exits.
 */
import { serve } from "@hono/node-server";
import { statSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { parseConfig } from "../src/config/load.ts";
import type { ConsensusType } from "../src/core/types.ts";
import { createDaemon, type Daemon } from "../src/daemon.ts";
import { createMemoryDriver, type MemoryHostSimulation } from "../src/drivers/memory.ts";
import { silentLogger } from "../src/lib/logger.ts";
import { seededRandom } from "../src/lib/seeded-random.ts";
import { watchLoopBlocking } from "./loop-block.ts";

const mode = process.env["FLEET_MODE"];
const dir = process.env["FLEET_DIR"]!;
const hosts = Number(process.env["FLEET_HOSTS"] ?? 1000);
const clusters = Number(process.env["FLEET_CLUSTERS"] ?? 100_000);
const [latencyMin, latencyMax] = (process.env["FLEET_LATENCY_MS"] ?? "2,20").split(",").map(Number) as [number, number];
const failureRate = Number(process.env["FLEET_FAILURE_RATE"] ?? 0.001);
const perHost = Math.ceil(clusters / hosts);
const type: ConsensusType = { plugin: "noops", mode: "", size: 4 };
/** scheduler.health_check_s (default: the daemon's own default, 5 s). */
const healthS = process.env["FLEET_HEALTH_S"] ? { health_check_s: Number(process.env["FLEET_HEALTH_S"]) } : {};
const config = parseConfig({ data_dir: dir, hosts: [], scheduler: { max_parallel_ops: 16, ...healthS }, pool: { types: [type] } });


const reply = (value: unknown) => process.stdout.write(JSON.stringify(value) + "\n");

if (mode === "seed") {
  const daemon = createDaemon({ config, logger: silentLogger, factories: { memory: (h) => createMemoryDriver(h) } });
  const { store, drivers } = daemon.deps;
  const made = store.db.transaction(() =>
    Array.from({ length: hosts }, (_, i) =>
      store.insertHost({ name: `sim${String(i).padStart(4, "0")}`, type: "memory", daemon_url: `memory://sim${i}`, capacity: perHost, autofill: true, schedulable: true, log_level: "INFO", params: {} }),
    ),
  );
  const byId = new Map(made.map((h) => [h.id, h] as const));
  const chunk = 5000;
  for (let from = 0; from < clusters; from += chunk) {
    const rows = store.db.transaction(() =>
      Array.from({ length: Math.min(chunk, clusters - from) }, (_, k) => {
        const result = store.createCluster(made[(from + k) % hosts]!.id, type);
        if (!result.ok) throw new Error(`seed: ${result.reason}`);
        return result.cluster;
      }),
    );
    const runtimes = await Promise.all(rows.map((c) => drivers.get(byId.get(c.host_id)!).createCluster(c)));
    store.db.transaction(() => {
      rows.forEach((c, k) => {
        if (!store.markCreated(c.id, runtimes[k]!)) throw new Error(`seed: ${c.id} not created`);
        store.recordHealth(c.id, true, config.scheduler.health_failures);
      });
    });
  }
  await daemon.close();
  process.exit(0);
}

if (mode !== "serve") throw new Error(`FLEET_MODE must be seed or serve, not ${mode}`);

const random = seededRandom(13);
let daemon!: Daemon;
const t0 = performance.now();
daemon = createDaemon({
  config,
  logger: silentLogger,
  factories: {
    memory: (h, ctx) => {
      // What the host holds: the clusters the database says were made there (a real host keeps them).
      const existing = daemon.deps.store.db
        .prepare("SELECT id FROM clusters WHERE host_id = ? AND status IN ('running', 'stopped')")
        .all<{ id: string }>([h.id])
        .map((r) => r.id);
      const simulation: MemoryHostSimulation = { latencyMs: [latencyMin, latencyMax], failureRate, random, existing };
      return createMemoryDriver(h, ctx, simulation);
    },
  },
});
const server = serve({ fetch: daemon.app.fetch, hostname: "127.0.0.1", port: 0 });
await new Promise<void>((r) => server.once("listening", () => r()));
const startupMs = performance.now() - t0;
// Every host's driver made now, not inside the first job that touches it (that cost is the benchmark's, not the daemon's).
for (const host of daemon.deps.store.listHosts()) daemon.deps.drivers.get(host);
const watch = watchLoopBlocking();
reply({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, startup_ms: Math.round(startupMs) });

const JOBS = ["host-check", "cluster-health", "autofill", "reconcile", "sweep"] as const;
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
const dbBytes = () => {
  const size = (f: string) => {
    try {
      return statSync(join(dir, f)).size;
    } catch {
      return 0;
    }
  };
  return { db: size("chainpool.db"), wal: size("chainpool.db-wal") };
};

for await (const line of createInterface({ input: process.stdin })) {
  const { cmd } = JSON.parse(line) as { cmd: string };
  if (cmd === "jobs") {
    const jobs: Record<string, { wall_ms: number; max_block_ms: number; max_block_cpu_ms: number }> = {};
    for (const name of JOBS) {
      watch.reset();
      const started = performance.now();
      await daemon.scheduler.runNow(name);
      jobs[name] = { wall_ms: round(performance.now() - started), max_block_ms: round(watch.maxMs()), max_block_cpu_ms: round(watch.maxCpuMs()) };
    }
    reply({ jobs });
  } else if (cmd === "start") {
    daemon.start();
    watch.reset();
    reply({ started: true });
  } else if (cmd === "block") {
    // The longest block since the last "block" (or "start"), then a new measurement: one phase's figure.
    reply({ max_block_ms: round(watch.maxMs()), max_block_cpu_ms: round(watch.maxCpuMs()) });
    watch.reset();
  } else if (cmd === "stats") {
    const blocked = watch.maxMs();
    const mem = process.memoryUsage();
    const stats = daemon.deps.store.stats();
    reply({
      rss_mb: round(mem.rss / 2 ** 20),
      heap_used_mb: round(mem.heapUsed / 2 ** 20),
      ...Object.fromEntries(Object.entries(dbBytes()).map(([k, v]) => [`${k}_mb`, round(v / 2 ** 20)])),
      max_block_ms_while_serving: round(blocked),
      clusters: stats.clusters.total,
      free: stats.clusters.free,
      by_health: stats.clusters.by_health,
    });
  } else if (cmd === "stop") {
    watch.stop();
    server.close();
    await daemon.close({ graceMs: 5000 });
    process.exit(0);
  }
}
