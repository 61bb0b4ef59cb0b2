import { ChainpoolError, conflict, notFound } from "../core/errors.ts";
import type { Cluster, ClusterStatus } from "../core/types.ts";
import type { ApplyRequest, ClusterFilter } from "../store/pool-store.ts";
import type { ServiceDeps } from "./deps.ts";

const OP_RULES: Record<"start" | "stop" | "restart", readonly ClusterStatus[]> = {
  start: ["stopped", "running"],
  stop: ["running", "stopped"],
  restart: ["running", "stopped"],
};

/** The front API's verbs: apply, release, start/stop/restart, list, inspect; and the operator's rotation of a URL secret. */
export class PoolService {
  readonly #d: ServiceDeps;

  constructor(deps: ServiceDeps) {
    this.#d = deps;
  }

  /** One transaction; never touches a driver. */
  apply(req: Omit<ApplyRequest, "max_per_user">): Cluster {
    const max = this.#d.maxClustersPerUser;
    const result = this.#d.store.claimFreeCluster({ ...req, max_per_user: max });
    if (result.ok) return result.cluster;
    if (result.reason === "USER_LIMIT") {
      throw conflict(`user_id: ${req.user_id} holds ${result.held} clusters, the most pool.max_clusters_per_user (${max}) allows; release one first`);
    }
    const filters = (["consensus_plugin", "consensus_mode", "size"] as const)
      .filter((k) => req[k] !== undefined)
      .map((k) => `${k}=${req[k]}`);
    throw new ChainpoolError(
      "NO_CLUSTER_AVAILABLE",
      `no free cluster for user ${req.user_id}${filters.length ? " matching " + filters.join(", ") : ""}`,
    );
  }

  releaseCluster(id: string): void {
    const result = this.#d.store.releaseCluster(id);
    if (!result.ok) {
      this.#d.metrics.observeRelease(result.reason === "NOT_FOUND" ? "not_found" : "not_held");
      if (result.reason === "NOT_FOUND") throw notFound(`cluster ${id} not found`);
      throw conflict(`cluster ${id} is not held by any user`);
    }
    this.#d.metrics.observeRelease("ok");
    this.#d.logger.info("cluster released", { cluster: id });
    this.#d.reconciler.kick();
  }

  /** Releases everything the user holds; answers the released ids (an empty list is fine). */
  releaseUser(userId: string): string[] {
    const ids = this.#d.store.releaseUser(userId);
    this.#d.metrics.observeRelease("ok", ids.length);
    if (ids.length > 0) {
      this.#d.logger.info("user's clusters released", { user: userId, clusters: ids });
      this.#d.reconciler.kick();
    }
    return ids;
  }

  /** start/stop/restart: the intent is written, then carried out; answers when done. */
  async operate(id: string, action: "start" | "stop" | "restart"): Promise<Cluster> {
    const result = this.#d.store.requestOp(id, action, OP_RULES[action]);
    if (!result.ok) {
      if (result.reason === "NOT_FOUND") throw notFound(`cluster ${id} not found`);
      const state = result.cluster ? `${result.cluster.status}${result.cluster.op ? ` (${result.cluster.op} pending)` : ""}` : "";
      throw conflict(`cluster ${id} cannot ${action} while ${state}`);
    }
    return this.#carryOut(id, action);
  }

  /**
   * The operator's rotation of a cluster's URL secret: the new secret and the op `rotate`
   * are written at once (the views show only the new URLs from then on), then the nodes take
   * it; answers once no node serves under the old secret. The secret is not logged.
   */
  async rotateUrlSecret(id: string): Promise<Cluster> {
    const result = this.#d.store.rotateUrlSecret(id);
    if (!result.ok) {
      if (result.reason === "NOT_FOUND") throw notFound(`cluster ${id} not found`);
      if (result.reason === "NO_SECRET") {
        throw conflict(`cluster ${id} has no URL secret (made with pool.url_secrets off, or before secrets existed): release it, and its successor gets one`);
      }
      const state = result.cluster ? `${result.cluster.status}${result.cluster.op ? ` (${result.cluster.op} pending)` : ""}` : "";
      throw conflict(`cluster ${id} cannot rotate its URL secret while ${state}`);
    }
    this.#d.logger.info("cluster URL secret rotated; its nodes take the new one", { cluster: id, user: result.cluster.user_id });
    return this.#carryOut(id, "rotate_secret");
  }

  /** Waits for the op just written on a cluster; answers the cluster as the op left it. */
  async #carryOut(id: string, action: string): Promise<Cluster> {
    let after: Cluster | undefined;
    try {
      after = await this.#d.reconciler.settle(id);
    } catch (err) {
      throw new ChainpoolError("HOST_UNAVAILABLE", `cluster ${id}: ${action} failed on its host; it will be retried: ${(err as Error).message}`);
    }
    // As the op left it: a release or delete written meanwhile shows (status deleting), even
    // if the recycle it owes has already dropped the row.
    return after ?? this.get(id);
  }

  get(id: string): Cluster {
    const cluster = this.#d.store.getCluster(id);
    if (!cluster) throw notFound(`cluster ${id} not found`);
    return cluster;
  }

  list(filter: ClusterFilter): Cluster[] {
    return this.#d.store.listClusters(filter);
  }
}
