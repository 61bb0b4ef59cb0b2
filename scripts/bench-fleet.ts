/**
 * bench:fleet — what a large fleet costs the daemon. For each fleet size (FLEET_SCALES,
 * default 10,000 and 100,000 clusters, on FLEET_HOSTS = 1,000 simulated memory hosts with
 * latency and failures: see bench-fleet-server.ts), in one run:
 *   - seed: the database is written through the pool store (not the HTTP create path, which
 *     would take the reconciler one driver call per cluster), as the daemon writes it;
 *   - start-up: a daemon on that database, from createDaemon to its listener serving;
 *   - each scheduler job run once, alone: wall time and the longest event-loop block;
 *   - with the scheduler running as in production: the trivial route (GET /api/health), then
 *     FLEET_APPLIES applies and their releases over real HTTP with 32 clients, then the
 *     trivial route again (FLEET_BASELINE requests each time, 4 x FLEET_APPLIES); apply's rate
 *     and p99, its ratio to the trivial route's rate, and the longest block meanwhile (each
 *     phase stops after FLEET_PHASE_S, default 45 s, with the requests made by then);
 *   - the daemon's RSS and heap, and the database file's size.
 * Prints the load average beside the figures. Last line: JSON.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { Agent } from "node:http";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { callJson, quantile } from "./bench-http.ts";

const CLIENTS = 32;
const SCALES = (process.env["FLEET_SCALES"] ?? "10000,100000").split(",").map(Number);
const HOSTS = Number(process.env["FLEET_HOSTS"] ?? 1000);
const APPLIES = Number(process.env["FLEET_APPLIES"] ?? 5000);
/** Each HTTP phase stops after this long even if not all its requests were made (a daemon whose jobs hold the loop for seconds serves few). */
const PHASE_S = Number(process.env["FLEET_PHASE_S"] ?? 45);
/** Warm-up with the scheduler on before the phases, longer than the health period (5 s). */
const WARMUP_S = Number(process.env["FLEET_WARMUP_S"] ?? 8);
/** Requests of the trivial route, before the applies and again after the releases (a short phase is noisy). */
const BASELINE = Number(process.env["FLEET_BASELINE"] ?? 4 * APPLIES);
const serverScript = fileURLToPath(new URL("./bench-fleet-server.ts", import.meta.url));
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
const load = () => round(loadavg()[0]!);

/** Runs the server script in a mode; answers the child with a line reader on its stdout. */
function child(mode: "seed" | "serve", dir: string, clusters: number) {
  const proc = spawn(process.execPath, ["--import", "tsx", serverScript], {
    stdio: ["pipe", "pipe", "inherit"],
    env: { ...process.env, FLEET_MODE: mode, FLEET_DIR: dir, FLEET_CLUSTERS: String(clusters), FLEET_HOSTS: String(HOSTS) },
  });
  const lines = createInterface({ input: proc.stdout! })[Symbol.asyncIterator]();
  const exited = new Promise<number | null>((r) => proc.once("exit", (code) => r(code)));
  const next = async (): Promise<any> => {
    const line = await Promise.race([lines.next(), exited.then((code) => { throw new Error(`fleet server (${mode}) exited with ${code}`); })]);
    if (line.done) throw new Error(`fleet server (${mode}) closed its output`);
    return JSON.parse(line.value);
  };
  const ask = async (cmd: string): Promise<any> => {
    proc.stdin!.write(JSON.stringify({ cmd }) + "\n");
    return next();
  };
  return { proc, next, ask, exited };
}

/**
 * Runs up to `total` calls over CLIENTS concurrent loops, for at most PHASE_S; answers how
 * many were made, the per-second rate and latencies.
 */
async function drive(total: number, one: (i: number) => Promise<void>, seconds = PHASE_S) {
  let next = 0;
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  const stopAt = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      for (let i = next++; i < total && performance.now() < stopAt; i = next++) {
        const t0 = performance.now();
        try {
          await one(i);
          latencies.push(performance.now() - t0);
        } catch (err) {
          // A connection the daemon reset (its keep-alive timer fired while the loop was held) or a refusal: counted, not fatal.
          if (errors++ === 0) console.error(`first error in this phase: ${(err as Error).message}`);
        }
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const done = latencies.length;
  return { requests: done, errors, per_s: round(done / elapsed, 0), p50_ms: round(quantile(latencies, 0.5)), p99_ms: round(quantile(latencies, 0.99)) };
}

async function measure(clusters: number) {
  const dir = mkdtempSync(join(tmpdir(), "chainpool-fleet-"));
  try {
    const seedStarted = performance.now();
    const seeder = child("seed", dir, clusters);
    const seedExit = await seeder.exited;
    if (seedExit !== 0) throw new Error(`seeding exited with ${seedExit}`);
    const seed_s = round((performance.now() - seedStarted) / 1000, 1);

    const spawned = performance.now();
    const daemon = child("serve", dir, clusters);
    const ready = (await daemon.next()) as { url: string; startup_ms: number };
    const startup = { startup_ms: ready.startup_ms, process_to_serving_ms: Math.round(performance.now() - spawned) };
    const { jobs } = (await daemon.ask("jobs")) as { jobs: Record<string, { wall_ms: number; max_block_ms: number; max_block_cpu_ms: number }> };
    const idle = await daemon.ask("stats");

    await daemon.ask("start");
    const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS });
    const call = (method: string, path: string, body?: unknown) => callJson(agent, `${ready.url}${path}`, method, body);
    // Warm-up (JIT, connections) past the jobs' first runs, which start() launches all at once: the phases below see the steady state.
    await drive(Infinity, async () => void (await call("GET", "/api/health")), WARMUP_S);
    const health = async () => {
      const r = await call("GET", "/api/health");
      if (r.status !== 200) throw new Error(`health answered ${r.status}`);
    };
    const blocks: Record<string, number> = {};
    const cpuBlocks: Record<string, number> = {};
    const phaseBlock = async (phase: string) => {
      const b = (await daemon.ask("block")) as { max_block_ms: number; max_block_cpu_ms: number };
      blocks[phase] = b.max_block_ms;
      cpuBlocks[phase] = b.max_block_cpu_ms;
    };
    await phaseBlock("warmup");
    const baselineBefore = await drive(BASELINE, health);
    await phaseBlock("baseline_before");
    const ids: string[] = new Array(APPLIES);
    const apply = await drive(APPLIES, async (i) => {
      const r = await call("POST", "/v2/cluster_op", { action: "apply", user_id: `fleet-user-${i}` });
      if (r.status !== 200) throw new Error(`apply ${i} answered ${r.status}: ${JSON.stringify(r.json)}`);
      ids[i] = r.json.data.id;
    });
    const handed = ids.filter((id) => id !== undefined);
    if (new Set(handed).size !== handed.length) throw new Error("a cluster was handed out twice");
    await phaseBlock("apply");
    const release = await drive(handed.length, async (i) => {
      const r = await call("POST", "/v2/cluster_op", { action: "release", cluster_id: handed[i] });
      if (r.status !== 200) throw new Error(`release ${i} answered ${r.status}: ${JSON.stringify(r.json)}`);
    });
    await phaseBlock("release");
    // The trivial route again after: the rate it is compared with is both runs' (a drift of the machine's load between phases shows less).
    const baselineAfter = await drive(BASELINE, health);
    await phaseBlock("baseline_after");
    const baseline = {
      requests: baselineBefore.requests + baselineAfter.requests,
      errors: baselineBefore.errors + baselineAfter.errors,
      per_s: round((baselineBefore.requests + baselineAfter.requests) / (baselineBefore.requests / baselineBefore.per_s + baselineAfter.requests / baselineAfter.per_s), 0),
      p50_ms: Math.max(baselineBefore.p50_ms, baselineAfter.p50_ms),
      p99_ms: Math.max(baselineBefore.p99_ms, baselineAfter.p99_ms),
      before_per_s: baselineBefore.per_s,
      after_per_s: baselineAfter.per_s,
    };
    // One operator look at the pool (what a console or a metrics scrape asks for): it counts the whole table.
    const statStarted = performance.now();
    const stat = await call("GET", "/api/stat");
    if (stat.status !== 200) throw new Error(`stat answered ${stat.status}`);
    const stat_ms = round(performance.now() - statStarted);
    await phaseBlock("stat");
    agent.destroy();
    const serving = await daemon.ask("stats");
    daemon.proc.stdin!.write(JSON.stringify({ cmd: "stop" }) + "\n");
    await daemon.exited;
    return {
      clusters,
      hosts: HOSTS,
      seed_s,
      ...startup,
      jobs,
      baseline,
      apply: { ...apply, ratio: round(apply.per_s / baseline.per_s, 3) },
      release,
      stat_ms,
      memory: { idle_rss_mb: idle.rss_mb, idle_heap_mb: idle.heap_used_mb, serving_rss_mb: serving.rss_mb, serving_heap_mb: serving.heap_used_mb },
      db_mb: idle.db_mb,
      wal_mb: serving.wal_mb,
      max_block_ms_while_serving: Math.max(...Object.values(blocks)),
      max_block_ms_by_phase: blocks,
      max_block_cpu_ms_while_serving: Math.max(...Object.values(cpuBlocks)),
      max_block_cpu_ms_by_phase: cpuBlocks,
      load_avg_1m: load(),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const loadAtStart = load();
console.log(`load average (1 min) at start: ${loadAtStart}; hosts: ${HOSTS}; applies per size: ${APPLIES}`);
const results: Array<Awaited<ReturnType<typeof measure>>> = [];
for (const clusters of SCALES) {
  const r = await measure(clusters);
  results.push(r);
  console.log(`\n${clusters} clusters (load ${r.load_avg_1m}): seeded in ${r.seed_s} s, start-up ${r.startup_ms} ms (process to serving ${r.process_to_serving_ms} ms)`);
  for (const [name, j] of Object.entries(r.jobs)) {
    console.log(`  job ${name.padEnd(14)} ${String(j.wall_ms).padStart(9)} ms wall, longest block ${j.max_block_ms} ms (on CPU ${j.max_block_cpu_ms} ms)`);
  }
  const errors = r.baseline.errors + r.apply.errors + r.release.errors;
  console.log(`  GET /api/health ${r.baseline.per_s}/s (${r.baseline.before_per_s}/s before the applies, ${r.baseline.after_per_s}/s after) p99 ${r.baseline.p99_ms} ms${errors > 0 ? `; requests failed (connection reset or refused): ${errors}` : ""}`);
  console.log(`  apply ${r.apply.per_s}/s p99 ${r.apply.p99_ms} ms, ratio to health ${r.apply.ratio}; release ${r.release.per_s}/s p99 ${r.release.p99_ms} ms`);
  console.log(`  GET /api/stat once: ${r.stat_ms} ms`);
  console.log(`  longest block while serving with the scheduler on: ${r.max_block_ms_while_serving} ms (${Object.entries(r.max_block_ms_by_phase).map(([k, v]) => `${k} ${v}`).join(", ")})`);
  console.log(`    of it on CPU: ${r.max_block_cpu_ms_while_serving} ms (${Object.entries(r.max_block_cpu_ms_by_phase).map(([k, v]) => `${k} ${v}`).join(", ")})`);
  console.log(`  memory: idle RSS ${r.memory.idle_rss_mb} MB heap ${r.memory.idle_heap_mb} MB; serving RSS ${r.memory.serving_rss_mb} MB heap ${r.memory.serving_heap_mb} MB; database ${r.db_mb} MB (WAL ${r.wal_mb} MB)`);
}
const small = results[0]!;
const large = results[results.length - 1]!;
const worstJobBlock = Math.max(...results.flatMap((r) => Object.values(r.jobs).map((j) => j.max_block_ms)));
const worstJobBlockCpu = Math.max(...results.flatMap((r) => Object.values(r.jobs).map((j) => j.max_block_cpu_ms)));
console.log(
  JSON.stringify({
    load_avg_1m_start: loadAtStart,
    load_avg_1m_end: load(),
    hosts: HOSTS,
    applies: APPLIES,
    sizes: Object.fromEntries(results.map((r) => [r.clusters, r])),
    apply_ratio_large_vs_small: round(large.apply.ratio / small.apply.ratio, 3),
    worst_job_block_ms: worstJobBlock,
    worst_job_block_cpu_ms: worstJobBlockCpu,
    aims: {
      apply_ratio_within_10pct: large.apply.ratio >= small.apply.ratio * 0.9,
      no_job_blocks_over_20ms: worstJobBlock <= 20,
      no_job_blocks_over_20ms_on_cpu: worstJobBlockCpu <= 20,
    },
  }),
);
