import type { Cluster } from "../core/types.ts";
import type { ProbeResult } from "./contract.ts";
import { nodeIds } from "./node-configs.ts";

async function getJson(url: string, timeoutMs: number): Promise<unknown> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`${url} answered ${res.status}`);
  return res.json();
}

/**
 * The health check of a chain node cluster over its REST API: every node reachable from the
 * daemon answers /chain with a height, and /network/peers lists all `size` nodes.
 * `urls` defaults to the cluster's service_url (every node).
 */
export async function probeChainNodes(cluster: Cluster, urls: Record<string, string> = cluster.service_url, timeoutMs = 2000): Promise<ProbeResult> {
  const entries = Object.entries(urls);
  if (entries.length === 0) return { ok: false, reason: "no node endpoints recorded" };
  const results = await Promise.all(
    entries.map(async ([node, url]): Promise<string | undefined> => {
      try {
        const chain = (await getJson(`${url}/chain`, timeoutMs)) as { height?: unknown };
        if (typeof chain.height !== "number" || chain.height < 1) return `${node}: no chain height`;
        const peers = (await getJson(`${url}/network/peers`, timeoutMs)) as { peers?: unknown[] };
        const seen = Array.isArray(peers.peers) ? peers.peers.length : 0;
        if (seen < cluster.size) return `${node}: sees ${seen} of ${cluster.size} peers`;
        return undefined;
      } catch (err) {
        return `${node}: ${(err as Error).message}`;
      }
    }),
  );
  const failures = results.filter((r): r is string => r !== undefined);
  if (failures.length === 0) return { ok: true };
  return { ok: false, reason: failures.join("; "), failedNodes: failures.map((f) => f.slice(0, f.indexOf(":"))) };
}

/** Polls until the probe passes or the deadline comes; answers the last result. */
export async function waitHealthy(probe: () => Promise<ProbeResult>, timeoutMs: number, intervalMs = 100): Promise<ProbeResult> {
  const deadline = Date.now() + timeoutMs;
  let last: ProbeResult = { ok: false, reason: "not probed" };
  while (Date.now() < deadline) {
    last = await probe();
    if (last.ok) return last;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  return last;
}

/**
 * The health check of a cluster whose nodes are containers or swarm tasks: `running` names
 * the nodes whose container or task runs, as the engine reports it; with all of them up,
 * every node in service_url answers /chain and sees all peers. Each node's REST port is
 * published, so each is asked directly; a cluster made before that (its service_url holds vp0
 * alone) is asked through vp0, whose peer list then speaks for the rest.
 */
export async function probeEngineNodes(
  cluster: Cluster,
  running: () => Promise<Iterable<string | undefined>>,
  engine: { name: string; units: string },
): Promise<ProbeResult> {
  let up: Set<string | undefined>;
  try {
    up = new Set(await running());
  } catch (err) {
    return { ok: false, reason: `${engine.name}: ${(err as Error).message}` };
  }
  const down = nodeIds(cluster).filter((n) => !up.has(n));
  if (down.length > 0) return { ok: false, reason: `${engine.units}: ${down.join(", ")}`, failedNodes: down };
  return probeChainNodes(cluster);
}

/** Waits until the probe passes; at the deadline throws with its last reason. */
export async function untilHealthy(cluster: Cluster, probe: (cluster: Cluster) => Promise<ProbeResult>, timeoutMs: number, intervalMs: number): Promise<void> {
  const result = await waitHealthy(() => probe(cluster), timeoutMs, intervalMs);
  if (!result.ok) throw new Error(`cluster ${cluster.id} not healthy within ${timeoutMs} ms: ${result.reason}`);
}
