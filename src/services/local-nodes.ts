import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Cluster } from "../core/types.ts";
import { nodeIds } from "../drivers/node-configs.ts";
import type { Logger } from "../lib/logger.ts";
import { countNodes, findNodeProcesses, terminate } from "../lib/node-processes.ts";
import type { PoolStore } from "../store/pool-store.ts";

export interface LocalNodesOptions {
  store: PoolStore;
  /** Where local hosts keep their clusters (`<data_dir>/clusters`); their nodes are found by it. */
  root: string;
  logger: Logger;
}

export interface NodeCount {
  nodes: number;
  clusters: number;
}

/**
 * The local hosts' node processes as the daemon's lifecycle sees them. They outlive the daemon
 * on purpose (the next start adopts them), so a stop says how many keep running, `chainpool
 * down` stops them, and a start brings back the clusters whose nodes are gone (after a down, a
 * reboot, the OOM killer) instead of waiting for the watchdog to find them broken.
 */
export class LocalNodes {
  readonly #o: LocalNodesOptions;

  constructor(options: LocalNodesOptions) {
    this.#o = options;
  }

  get root(): string {
    return this.#o.root;
  }

  /** The node processes of this data directory that run now. */
  count(): NodeCount {
    return countNodes(findNodeProcesses(this.#o.root));
  }

  /** Running local clusters with no work pending: the ones whose nodes should be up. */
  #settled(): Cluster[] {
    // Host by host: the clusters of other host types (maybe a large fleet) are never read.
    const local = this.#o.store.listHosts().filter((h) => h.type === "local");
    return local.flatMap((h) => this.#o.store.listClusters({ status: "running", host_id: h.id })).filter((c) => c.op === null);
  }

  /**
   * At start, before serving: a running local cluster with a node missing gets the op
   * `start` (its nodes come back on their own ledgers, ports and keys; the user keeps it),
   * so no apply hands out a cluster whose nodes are gone. A free one whose files are gone
   * too is recycled. Answers the clusters acted on.
   */
  resumeMissing(): string[] {
    const { store, logger } = this.#o;
    const running = new Map<string, Set<string>>();
    for (const p of findNodeProcesses(this.#o.root)) running.set(p.clusterId, (running.get(p.clusterId) ?? new Set()).add(p.nodeId));
    const started: string[] = [];
    const recycled: string[] = [];
    for (const cluster of this.#settled()) {
      const up = running.get(cluster.id);
      if (nodeIds(cluster).every((id) => up?.has(id))) continue;
      if (!existsSync(join(this.#o.root, cluster.id)) && cluster.user_id === "") {
        if (store.markForRecycle(cluster.id)) recycled.push(cluster.id);
      } else if (store.requestOp(cluster.id, "start", ["running"]).ok) {
        started.push(cluster.id);
      }
    }
    if (started.length > 0) logger.info("local clusters with nodes not running; starting them again on their ledgers", { clusters: started });
    if (recycled.length > 0) logger.warn("free local clusters whose files are gone; recreating them", { clusters: recycled });
    return [...started, ...recycled];
  }

  /**
   * The intent of a `down`, written before any node is killed: every running local cluster
   * gets the op `start`, which the next daemon carries out. Answers how many.
   */
  markForRestart(): number {
    let marked = 0;
    for (const cluster of this.#settled()) if (this.#o.store.requestOp(cluster.id, "start", ["running"]).ok) marked++;
    return marked;
  }

  /** Kills every node of this data directory (SIGTERM, then SIGKILL); answers what was stopped. */
  async stopAll(): Promise<NodeCount> {
    const found = findNodeProcesses(this.#o.root);
    await terminate(found.map((p) => p.pid));
    return countNodes(found);
  }
}
