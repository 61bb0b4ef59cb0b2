/**
 * bench:chain — PBFT throughput and commit latency on a 4-node cluster of real node
 * processes on this machine, classic and batch mode in the same run, under the same fixed
 * client load: CLIENTS closed-loop clients, spread over the four nodes, each sending an
 * example02 invoke and waiting until it is committed before sending the next, TXS
 * transactions per mode. Commits are observed by following one backup's chain
 * (GET /peer/blocks, a page per poll, every 10 ms when nothing is new), so latency is
 * submit -> seen in a block there, to about 10 ms.
 * Each mode runs twice, on a fresh cluster each time: with the built-in example02, then
 * with its JavaScript port (scripts/chaincode/example02.js, deployed as `type: 2` and run in
 * the chaincode sandbox), so `js_vs_builtin_ratio` (JS batch tps over built-in batch tps)
 * compares the two under the same load in the same run.
 * Prints progress, then a last line of JSON, with the 1-minute load average at the end of
 * each run beside its figures (other work on the machine moves them).
 *
 * Env: BENCH_CLIENTS (256), BENCH_TXS (classic 3000, batch 10000), BENCH_CHAINCODE (both,
 * builtin or js), BENCH_PROFILE_DIR (write a V8 CPU profile of each node there).
 */
import { readFileSync } from "node:fs";
import { Agent } from "node:http";
import { loadavg } from "node:os";
import { packChaincode } from "../src/cli/chaincode-package.ts";
import { startCluster } from "../test/chain/helpers/chain-cluster.ts";
import type { TestCluster } from "../test/chain/helpers/chain-cluster.ts";
import { callJson, quantile } from "./bench-http.ts";

const CLIENTS = Number(process.env["BENCH_CLIENTS"] ?? 256);
const CHAINCODES = ({ both: ["builtin", "js"], builtin: ["builtin"], js: ["js"] } as const)[process.env["BENCH_CHAINCODE"] ?? "both"];
if (!CHAINCODES) throw new Error(`BENCH_CHAINCODE: expected both, builtin or js, got ${process.env["BENCH_CHAINCODE"]}`);
type ChaincodeKind = "builtin" | "js";
const JS_EXAMPLE02 = new URL("./chaincode/example02.js", import.meta.url).pathname;
const TXS: Record<"classic" | "batch", number> = {
  classic: Number(process.env["BENCH_TXS"] ?? 3_000),
  batch: Number(process.env["BENCH_TXS"] ?? 10_000),
};
// Idle sockets close before the node's 5 s keep-alive timeout would close them under a request.
const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS, timeout: 4_000 });

const call = (url: string, method: "GET" | "POST", body?: unknown) => callJson(agent, url, method, body);

/** CPU time (user + system) the node processes used so far, in ms; undefined where /proc is missing. */
function cpuMs(cluster: TestCluster): number | undefined {
  try {
    let ticks = 0;
    for (const node of cluster.nodes) {
      const fields = readFileSync(`/proc/${node.pid}/stat`, "utf8").split(") ")[1]!.split(" ");
      ticks += Number(fields[11]) + Number(fields[12]);
    }
    return ticks * 10; // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}

const invokeBody = (name: string, id: number) => ({
  jsonrpc: "2.0",
  method: "invoke",
  params: { chaincodeID: { name }, ctorMsg: { function: "invoke", args: ["a", "b", "1"] } },
  id,
});

/** Deploys example02 (built in, or the JS port) with a=1e9, b=0; answers the name invokes use. */
async function deployExample02(url: string, chaincode: ChaincodeKind): Promise<string> {
  const ctorMsg = { function: "init", args: ["a", "1000000000", "b", "0"] };
  const params =
    chaincode === "builtin"
      ? { type: 1, chaincodeID: { name: "example02" }, ctorMsg }
      : { type: 2, chaincodeID: { path: "example02-js" }, ctorMsg, codePackage: (await packChaincode(JS_EXAMPLE02)).bytes.toString("base64") };
  const deployed = await call(`${url}/chaincode`, "POST", { jsonrpc: "2.0", method: "deploy", params, id: 0 });
  if (deployed.json.result?.status !== "OK") throw new Error(`${chaincode} deploy failed: ${JSON.stringify(deployed.json)}`);
  return chaincode === "builtin" ? "example02" : (deployed.json.result.message as string);
}

async function runMode(mode: "classic" | "batch", chaincode: ChaincodeKind) {
  const label = `${chaincode} ${mode}`;
  const profile = process.env["BENCH_PROFILE_DIR"];
  const cluster: TestCluster = await startCluster({
    size: 4,
    plugin: "pbft",
    mode,
    batchSize: 500,
    batchTimeoutMs: 10,
    ...(profile ? { runtimeFor: () => [process.execPath, "--cpu-prof", `--cpu-prof-dir=${profile}/${chaincode}-${mode}`] } : {}),
  });
  try {
    const [vp0, , , vp3] = cluster.nodes;
    const name = await deployExample02(vp0!.url, chaincode);
    // The deploy answers once vp0 committed it; every node must have it before invokes reach them.
    const deployedHeight = (await call(`${vp0!.url}/chain`, "GET")).json.height as number;
    for (const node of cluster.nodes) {
      const deadline = Date.now() + 30_000;
      while (((await call(`${node.url}/chain`, "GET")).json.height as number) < deployedHeight) {
        if (Date.now() > deadline) throw new Error(`${node.id} did not reach height ${deployedHeight} within 30 s`);
        await new Promise((r) => setTimeout(r, 20));
      }
    }

    // Follow vp3's chain: every uuid seen in a block resolves its waiter.
    const waiters = new Map<string, () => void>();
    const committedAt = new Map<string, number>();
    let height = (await call(`${vp3!.url}/chain`, "GET")).json.height as number;
    let invokeBlocks = 0;
    let following = true;
    const follower = (async () => {
      while (following) {
        const fetched = await call(`${vp3!.url}/peer/blocks?from=${height}`, "GET").catch(() => undefined);
        if (!fetched) continue;
        const page = fetched.json;
        const now = performance.now();
        for (const block of page.blocks) {
          if (block.transactions.some((tx: { type: number }) => tx.type === 2)) invokeBlocks++;
          for (const tx of block.transactions) {
            committedAt.set(tx.uuid, now);
            waiters.get(tx.uuid)?.();
          }
          height = block.number + 1;
        }
        if (page.blocks.length === 0) await new Promise((r) => setTimeout(r, 10));
      }
    })();

    const cpuBefore = cpuMs(cluster);
    const total = TXS[mode];
    const latencies: number[] = [];
    let next = 0;
    let done = 0;
    let refused = 0;
    let firstRefusal: string | undefined;
    const started = performance.now();
    const progress = setInterval(() => {
      const seconds = (performance.now() - started) / 1000;
      console.log(`${label}: ${done}/${total} committed, ${(done / seconds).toFixed(0)} tx/s so far`);
    }, 2_000);
    await Promise.all(
      Array.from({ length: CLIENTS }, async (_, client) => {
        const node = cluster.nodes[client % cluster.nodes.length]!;
        for (let i = next++; i < total; i = next++) {
          const t0 = performance.now();
          const reply = await call(`${node.url}/chaincode`, "POST", invokeBody(name, i)).catch((error: unknown) => ({ status: 0, json: { error: String(error) } }));
          if (reply.json.result?.status !== "OK") {
            refused++;
            firstRefusal ??= JSON.stringify(reply.json).slice(0, 200);
            continue;
          }
          const uuid = reply.json.result.message as string;
          if (!committedAt.has(uuid)) await new Promise<void>((resolve) => waiters.set(uuid, resolve));
          waiters.delete(uuid);
          latencies.push(committedAt.get(uuid)! - t0);
          done++;
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const cpuAfter = cpuMs(cluster);
    const cpuUsed = cpuAfter === undefined || cpuBefore === undefined ? undefined : cpuAfter - cpuBefore;
    clearInterval(progress);
    following = false;
    await follower;
    latencies.sort((a, b) => a - b);
    const status = (await call(`${vp3!.url}/status`, "GET")).json;
    const blocks = invokeBlocks;
    const result = {
      tps: Math.round(done / seconds),
      p50_ms: Math.round(quantile(latencies, 0.5) * 10) / 10,
      p99_ms: Math.round(quantile(latencies, 0.99) * 10) / 10,
      committed: done,
      refused,
      ...(firstRefusal ? { first_refusal: firstRefusal } : {}),
      blocks,
      view_changes: status.consensus.view_changes,
      node_cpu_ms_per_tx: cpuUsed === undefined ? null : Math.round((cpuUsed / Math.max(1, done)) * 100) / 100,
      seconds: Math.round(seconds * 100) / 100,
      load_average_1m: loadavg()[0]!,
    };
    console.log(`${label}: ${JSON.stringify(result)}`);
    return result;
  } finally {
    await cluster.close();
  }
}

const results: Partial<Record<`${ChaincodeKind}_${"classic" | "batch"}`, Awaited<ReturnType<typeof runMode>>>> = {};
for (const chaincode of CHAINCODES) {
  for (const mode of ["classic", "batch"] as const) results[`${chaincode}_${mode}`] = await runMode(mode, chaincode);
}
agent.destroy();
const { builtin_classic: classic, builtin_batch: batch, js_classic: jsClassic, js_batch: jsBatch } = results;
const round2 = (x: number) => Math.round(x * 100) / 100;
console.log(
  JSON.stringify({
    ...(classic && batch && {
      classic_tps: classic.tps,
      batch_tps: batch.tps,
      classic_p99_ms: classic.p99_ms,
      batch_p99_ms: batch.p99_ms,
      classic_p50_ms: classic.p50_ms,
      batch_p50_ms: batch.p50_ms,
      classic_blocks: classic.blocks,
      batch_blocks: batch.blocks,
      classic_node_cpu_ms_per_tx: classic.node_cpu_ms_per_tx,
      batch_node_cpu_ms_per_tx: batch.node_cpu_ms_per_tx,
    }),
    ...(jsClassic && jsBatch && {
      js_classic_tps: jsClassic.tps,
      js_batch_tps: jsBatch.tps,
      js_vs_builtin_ratio: batch ? round2(jsBatch.tps / batch.tps) : null,
      js_classic_p50_ms: jsClassic.p50_ms,
      js_batch_p50_ms: jsBatch.p50_ms,
      js_classic_p99_ms: jsClassic.p99_ms,
      js_batch_p99_ms: jsBatch.p99_ms,
      js_classic_refused: jsClassic.refused,
      js_batch_refused: jsBatch.refused,
      js_classic_node_cpu_ms_per_tx: jsClassic.node_cpu_ms_per_tx,
      js_batch_node_cpu_ms_per_tx: jsBatch.node_cpu_ms_per_tx,
    }),
    load_average_1m: loadavg()[0],
    load_average_1m_per_run: Object.fromEntries(Object.entries(results).map(([run, r]) => [run, r.load_average_1m])),
    clients: CLIENTS,
    nodes: 4,
  }),
);
process.exit(0);
