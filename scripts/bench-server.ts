/**
 * The server half of bench:apply: a daemon on a temp directory (real SQLite file) with one
 * in-memory test host holding N ready clusters, served over HTTP on a random loopback port.
 * Prints {"url": ...} when ready; exits on SIGTERM.
 */
import { serve } from "@hono/node-server";
import { mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../src/config/load.ts";
import { createDaemon } from "../src/daemon.ts";
import { createMemoryDriver } from "../src/drivers/memory.ts";
import { silentLogger } from "../src/lib/logger.ts";

const clusters = Number(process.env["BENCH_CLUSTERS"] ?? 10_000);
const dir = mkdtempSync(join(tmpdir(), "chainpool-bench-"));
// The per-user limit is on by default here: its count runs inside every claim, so it is measured.
const maxPerUser = Number(process.env["BENCH_MAX_PER_USER"] ?? 2);
const config = parseConfig({ data_dir: dir, hosts: [], scheduler: { max_parallel_ops: 64 }, pool: { max_clusters_per_user: maxPerUser } });
const daemon = createDaemon({ config, logger: silentLogger, factories: { memory: (h) => createMemoryDriver(h) } });
const host = daemon.services.hosts.add({ name: "bench", type: "memory", daemon_url: "memory://bench", capacity: clusters, autofill: false, schedulable: true, log_level: "INFO", params: {} });
const store = daemon.services.store;
store.db.transaction(() => {
  for (let i = 0; i < clusters; i++) store.createCluster(host.id, { plugin: "noops", mode: "", size: 4 });
});
await daemon.deps.reconciler.runOnce();
const free = store.stats().clusters.free;
if (free !== clusters) throw new Error(`expected ${clusters} free clusters, have ${free}`);
const server = serve({ fetch: daemon.app.fetch, hostname: "127.0.0.1", port: 0 }, (info: AddressInfo) => {
  process.stdout.write(JSON.stringify({ url: `http://127.0.0.1:${info.port}`, free }) + "\n");
});
process.on("SIGTERM", () => {
  server.close();
  void daemon.close().then(() => {
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  });
});
