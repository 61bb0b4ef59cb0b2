/**
 * bench:apply — apply then release over real HTTP with 32 concurrent clients against
 * 10,000 ready clusters on the in-memory test host, beside the same server's trivial route
 * (GET /api/health) measured in the same run as the baseline. The server runs in its own
 * process; this one only drives load. Last line: JSON figures.
 *
 * `--console-tabs N` (or BENCH_CONSOLE_TABS=N): N console tabs stay open on the overview the
 * whole run, each with its live feed and the refreshes it triggers (scripts/bench-console-tabs.ts,
 * a third process), so the figures show what open consoles cost the daemon.
 */
import { spawn } from "node:child_process";
import { Agent } from "node:http";
import { loadavg } from "node:os";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { callJson, quantile } from "./bench-http.ts";

const CLIENTS = 32;
const CLUSTERS = Number(process.env["BENCH_CLUSTERS"] ?? 10_000);
const APPLIES = Math.floor(CLUSTERS * 0.8);
const BASELINE_REQUESTS = APPLIES;
/** Event streams (GET /api/events, as console tabs hold them) open and read during the run: BENCH_EVENT_STREAMS=10. */
const EVENT_STREAMS = Number(process.env["BENCH_EVENT_STREAMS"] ?? 0);
/** pool.max_clusters_per_user in the server (BENCH_MAX_PER_USER=0 measures without the limit). */
const MAX_PER_USER = Number(process.env["BENCH_MAX_PER_USER"] ?? 2);

const tabsArg = process.argv.indexOf("--console-tabs");
const CONSOLE_TABS = Number(tabsArg >= 0 ? process.argv[tabsArg + 1] : (process.env["BENCH_CONSOLE_TABS"] ?? 0));

const profile = process.env["BENCH_PROFILE_DIR"] ? ["--cpu-prof", `--cpu-prof-dir=${process.env["BENCH_PROFILE_DIR"]}`] : [];
const server = spawn(process.execPath, [...profile, "--import", "tsx", fileURLToPath(new URL("./bench-server.ts", import.meta.url))], {
  stdio: ["ignore", "pipe", "inherit"],
  env: { ...process.env, BENCH_CLUSTERS: String(CLUSTERS), BENCH_MAX_PER_USER: String(MAX_PER_USER) },
});
const ready = await new Promise<{ url: string; free: number }>((resolve, reject) => {
  server.once("exit", (code) => reject(new Error(`bench server exited with ${code}`)));
  createInterface({ input: server.stdout! }).once("line", (line) => resolve(JSON.parse(line)));
});
const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS });

/** The console tabs' process, once its tabs are all open (their live feeds connected). */
const tabs =
  CONSOLE_TABS > 0
    ? spawn(process.execPath, ["--import", "tsx", fileURLToPath(new URL("./bench-console-tabs.ts", import.meta.url)), ready.url, String(CONSOLE_TABS)], { stdio: ["ignore", "pipe", "inherit"] })
    : undefined;
const tabLines = tabs ? createInterface({ input: tabs.stdout! })[Symbol.asyncIterator]() : undefined;
if (tabLines) await tabLines.next();
/** Stops the tabs; answers what they did (changes heard, refreshes made). */
async function closeTabs(): Promise<Record<string, number> | undefined> {
  if (!tabs || !tabLines) return undefined;
  tabs.kill("SIGTERM");
  const line = await tabLines.next();
  return line.done ? undefined : JSON.parse(line.value);
}

const call = (method: string, path: string, body?: unknown) => callJson(agent, `${ready.url}${path}`, method, body);

/** Runs `total` calls over CLIENTS concurrent loops; answers per-second rate and latencies. */
async function drive(total: number, one: (i: number) => Promise<void>) {
  let next = 0;
  const latencies: number[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      for (let i = next++; i < total; i = next++) {
        const t0 = performance.now();
        await one(i);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { per_s: total / seconds, p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99) };
}

/** Each stream reads and counts what it gets, as a browser tab would. */
const streams = Array.from({ length: EVENT_STREAMS }, () => {
  const abort = new AbortController();
  let bytes = 0;
  const done = fetch(`${ready.url}/api/events`, { signal: abort.signal })
    .then(async (res) => {
      for await (const chunk of res.body!) bytes += (chunk as Uint8Array).byteLength;
    })
    .catch(() => {});
  return { abort, done, bytes: () => bytes };
});

try {
  // Warm-up: JIT and connections, on both routes.
  await drive(500, async () => void (await call("GET", "/api/health")));
  const baseline = await drive(BASELINE_REQUESTS, async () => {
    const r = await call("GET", "/api/health");
    if (r.status !== 200) throw new Error(`health answered ${r.status}`);
  });
  const ids: string[] = new Array(APPLIES);
  const apply = await drive(APPLIES, async (i) => {
    const r = await call("POST", "/v2/cluster_op", { action: "apply", user_id: `bench-user-${i}` });
    if (r.status !== 200) throw new Error(`apply ${i} answered ${r.status}: ${JSON.stringify(r.json)}`);
    ids[i] = r.json.data.id;
  });
  if (new Set(ids).size !== APPLIES) throw new Error("a cluster was handed out twice");
  const release = await drive(APPLIES, async (i) => {
    const r = await call("POST", "/v2/cluster_op", { action: "release", cluster_id: ids[i] });
    if (r.status !== 200) throw new Error(`release ${i} answered ${r.status}: ${JSON.stringify(r.json)}`);
  });
  const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
  const console_tabs = await closeTabs();
  console.log(`clusters ready: ${ready.free}; clients: ${CLIENTS}; applies: ${APPLIES}`);
  if (console_tabs) console.log(`console tabs open: ${console_tabs["tabs"]}; change messages heard: ${console_tabs["changes"]}; page updates: ${console_tabs["refreshes"]} (${console_tabs["refetches"]} of them refetched); errors: ${console_tabs["errors"]}; the tabs' own CPU: ${console_tabs["cpu_ms"]} ms`);
  console.log(`baseline GET /api/health: ${round(baseline.per_s, 0)}/s p50 ${round(baseline.p50)} ms p99 ${round(baseline.p99)} ms`);
  console.log(`apply: ${round(apply.per_s, 0)}/s p50 ${round(apply.p50)} ms p99 ${round(apply.p99)} ms`);
  console.log(`release: ${round(release.per_s, 0)}/s p50 ${round(release.p50)} ms p99 ${round(release.p99)} ms`);
  console.log(
    JSON.stringify({
      apply_per_s: round(apply.per_s, 0),
      baseline_per_s: round(baseline.per_s, 0),
      ratio: round(apply.per_s / baseline.per_s, 3),
      p50_ms: round(apply.p50),
      p99_ms: round(apply.p99),
      release_per_s: round(release.per_s, 0),
      release_p99_ms: round(release.p99),
      max_clusters_per_user: MAX_PER_USER,
      console_tabs: CONSOLE_TABS,
      ...(console_tabs && { console_refreshes: console_tabs["refreshes"], console_refetches: console_tabs["refetches"], console_tabs_cpu_ms: console_tabs["cpu_ms"] }),
      event_streams: EVENT_STREAMS,
      ...(EVENT_STREAMS > 0 && { event_stream_bytes: streams.reduce((n, s) => n + s.bytes(), 0) }),
      load_avg_1m: round(loadavg()[0]!),
    }),
  );
} finally {
  tabs?.kill("SIGTERM");
  for (const s of streams) s.abort.abort();
  agent.destroy();
  server.kill("SIGTERM");
}
