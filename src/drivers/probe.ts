import type { Cluster } from "../core/types.ts";
import { withUrlSecret } from "../lib/url-secret.ts";
import type { ProbeResult } from "./contract.ts";
import type { JsonGet } from "./json-getter.ts";
import { nodeIds } from "./node-configs.ts";

/**
 * GET of a client route of a node, `base` its address without the secret: the request carries
 * the cluster's secret, what goes into errors (and so into logs) does not.
 */
async function getJson(base: string, secret: string, path: string, timeoutMs: number, get: JsonGet | undefined): Promise<unknown> {
  if (get) {
    let answer: Awaited<ReturnType<JsonGet>>;
    try {
      answer = await get(`${withUrlSecret(base, secret)}${path}`, timeoutMs);
    } catch (err) {
      throw new Error(`${base}${path}: ${(err as Error).message}`);
    }
    if (answer.status < 200 || answer.status >= 300) throw new Error(`${base}${path} answered ${answer.status}`);
    return answer.body;
  }
  const res = await fetch(`${withUrlSecret(base, secret)}${path}`, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`${base}${path} answered ${res.status}`);
  return res.json();
}

/** Whether a node answers `GET /chain` under the cluster's secret (whatever the chain holds). */
export async function answersChain(cluster: Pick<Cluster, "url_secret">, base: string, timeoutMs: number): Promise<boolean> {
  try {
    const res = await fetch(`${withUrlSecret(base, cluster.url_secret)}/chain`, { signal: AbortSignal.timeout(timeoutMs) });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}

/**
 * How long a node may stay behind without moving before its cluster counts as unhealthy.
 * A busy follower is behind all the time but moves with every block it takes; one that
 * cannot take blocks does not move at all. Long enough for any one push or page to be
 * applied on a loaded machine, short enough that health turns FAIL within half a minute.
 */
export const STALL_LIMIT_MS = 10_000;

export interface ProbeOptions {
  /** Per request, in ms. */
  timeoutMs?: number;
  /** See STALL_LIMIT_MS. */
  stallLimitMs?: number;
  /**
   * Whose peer view counts: `each` node's `/network/peers` (every node pings every other:
   * size x (size - 1) pings a probe), or `vp0`'s alone (size - 1 pings), the others only
   * answering `/chain`. `vp0` is for nodes that share one network with each other and with
   * the daemon (a local host's loopback): a node the daemon reaches at its URL is reached by
   * its peers at that same URL, so only vp0's pings tell something the daemon's requests do
   * not (that the orderer reaches every member). Default `each`.
   */
  peerView?: "each" | "vp0";
  /** How to GET a node's JSON (e.g. over kept-alive connections, json-getter.ts); fetch by default. */
  get?: JsonGet;
}

/**
 * The health check of a chain node cluster over its REST API: every node reachable from the
 * daemon answers /chain with a height, /network/peers lists all `size` nodes, and no node
 * stays behind: vp0's /status lists under `consensus.lagging` the members behind the
 * furthest one it knows of, with how long each has not moved (noops: vp0 is the leader and
 * follows every follower's height; pbft: every replica follows the others' progress).
 * `urls` defaults to the cluster's service_url (every node); for a cluster that lists only
 * vp0 (made before every node was published), vp0's peer list and lag view speak for the rest.
 * With `peerView: "vp0"` only vp0 is asked whom it reaches (see ProbeOptions).
 * Requests carry the cluster's URL secret, as its users' do.
 */
export async function probeChainNodes(cluster: Cluster, urls: Record<string, string> = cluster.service_url, options: ProbeOptions = {}): Promise<ProbeResult> {
  const timeoutMs = options.timeoutMs ?? 2000;
  const entries = Object.entries(urls);
  if (entries.length === 0) return { ok: false, reason: "no node endpoints recorded" };
  const vp0 = urls["vp0"];
  const stallLimitMs = options.stallLimitMs ?? STALL_LIMIT_MS;
  if (options.peerView === "vp0" && vp0 !== undefined) {
    const results = await Promise.all(
      entries.map(([node, url]) => (node === "vp0" ? checkVp0View(cluster, url, timeoutMs, stallLimitMs, options.get) : checkAnswers(cluster, node, url, timeoutMs, options.get))),
    );
    return outcome(results.flat());
  }
  const [results, stalled] = await Promise.all([
    Promise.all(entries.map(([node, url]) => checkNode(cluster, node, url, timeoutMs, options.get))),
    vp0 === undefined ? [] : stalledMembers(cluster, vp0, timeoutMs, stallLimitMs, options.get),
  ]);
  return outcome([...results.filter((r): r is string => r !== undefined), ...stalled]);
}

/** `failures` are "vpN: why" lines. */
function outcome(failures: readonly string[]): ProbeResult {
  if (failures.length === 0) return { ok: true };
  return { ok: false, reason: failures.join("; "), failedNodes: [...new Set(failures.map((f) => f.slice(0, f.indexOf(":"))))] };
}

/** Why `node` does not answer `/chain` with a height (none when it does). */
async function checkAnswers(cluster: Cluster, node: string, url: string, timeoutMs: number, get: JsonGet | undefined): Promise<string[]> {
  try {
    const chain = (await getJson(url, cluster.url_secret, "/chain", timeoutMs, get)) as { height?: unknown };
    return typeof chain.height === "number" && chain.height >= 1 ? [] : [`${node}: no chain height`];
  } catch (err) {
    return [`${node}: ${(err as Error).message}`];
  }
}

/**
 * vp0's one `/status`: its height, the members it reaches (`peers_connected`, this node
 * excluded; each missing one is named), and the members it sees stalled.
 */
async function checkVp0View(cluster: Cluster, url: string, timeoutMs: number, stallLimitMs: number, get: JsonGet | undefined): Promise<string[]> {
  let status: { height?: unknown; peers_connected?: unknown; consensus?: { lagging?: unknown } };
  try {
    status = (await getJson(url, cluster.url_secret, "/status", timeoutMs, get)) as typeof status;
  } catch (err) {
    return [`vp0: ${(err as Error).message}`];
  }
  if (typeof status.height !== "number" || status.height < 1) return ["vp0: no chain height"];
  const seen = new Set(Array.isArray(status.peers_connected) ? status.peers_connected : []);
  const unseen = nodeIds(cluster).filter((id) => id !== "vp0" && !seen.has(id)).map((id) => `${id}: vp0 does not reach it`);
  return [...unseen, ...stalledIn(status.consensus?.lagging, stallLimitMs)];
}

/** Why `node` is not healthy on its own, or undefined. */
async function checkNode(cluster: Cluster, node: string, url: string, timeoutMs: number, get: JsonGet | undefined): Promise<string | undefined> {
  try {
    const chain = (await getJson(url, cluster.url_secret, "/chain", timeoutMs, get)) as { height?: unknown };
    if (typeof chain.height !== "number" || chain.height < 1) return `${node}: no chain height`;
    const peers = (await getJson(url, cluster.url_secret, "/network/peers", timeoutMs, get)) as { peers?: unknown[] };
    const seen = Array.isArray(peers.peers) ? peers.peers.length : 0;
    if (seen < cluster.size) return `${node}: sees ${seen} of ${cluster.size} peers`;
    return undefined;
  } catch (err) {
    return `${node}: ${(err as Error).message}`;
  }
}

/** "vpN: ..." for each member vp0 sees behind and not moving for `stallLimitMs` or more. */
async function stalledMembers(cluster: Cluster, vp0: string, timeoutMs: number, stallLimitMs: number, get: JsonGet | undefined): Promise<string[]> {
  let status: { consensus?: { lagging?: unknown } };
  try {
    status = (await getJson(vp0, cluster.url_secret, "/status", timeoutMs, get)) as typeof status;
  } catch (err) {
    return [`vp0: ${(err as Error).message}`];
  }
  return stalledIn(status.consensus?.lagging, stallLimitMs);
}

/** The stalled members in a `/status`'s `consensus.lagging`. */
function stalledIn(lagging: unknown, stallLimitMs: number): string[] {
  // Nodes of an older build report no lag view: nothing to judge by.
  if (typeof lagging !== "object" || lagging === null) return [];
  const stalled: string[] = [];
  for (const [member, lag] of Object.entries(lagging as Record<string, { behind?: unknown; stalled_ms?: unknown }>)) {
    if (typeof lag.stalled_ms !== "number" || lag.stalled_ms < stallLimitMs) continue;
    stalled.push(`${member}: ${String(lag.behind)} behind and not moving for ${Math.round(lag.stalled_ms / 1000)} s (as vp0 sees it)`);
  }
  return stalled;
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
