import type { Cluster, ConsensusPlugin, Host, HostType } from "../core/types.ts";
import type { Logger } from "../lib/logger.ts";

/** What a driver made for a cluster; stored on the cluster row. */
export interface ClusterRuntime {
  /** vp0's REST address as a client reaches it, without the cluster's URL secret (the views add it). */
  api_url: string;
  /**
   * Every node's REST address as a client reaches it, "vp0" -> URL (so a user still reaches a
   * cluster that can commit without vp0); the daemon probes the nodes there too. Without the
   * secret too.
   */
  service_url: Record<string, string>;
  /** Enough for this driver to find the cluster's resources again after a daemon restart. */
  handle: Record<string, unknown>;
}

export interface ProbeResult {
  ok: boolean;
  /** Why not, for logs and the operator API. */
  reason?: string;
  /** Node ids that did not answer or did not see all peers. */
  failedNodes?: string[];
}

/**
 * Ports leased from the pool store: no port is ever handed to two clusters, nor to two hosts
 * that publish on one machine's ports (they lease from one ledger, the machine's).
 */
export interface PortLeaser {
  lease(clusterId: string, count: number): number[];
  /**
   * Takes back a port found taken by something chainpool does not own (`why`: what said so);
   * it is leased to nobody for a while (`ports.retry_blocked_s`), then tried again.
   */
  block(port: number, why: string): void;
}

/** Blocks of a host's subnet pool, leased like ports: by index, never to two clusters. */
export interface SubnetLeaser {
  /** An index below `blocks` (the size of the driver's pool) held by the cluster. */
  lease(clusterId: string, blocks: number): number;
  /** Takes back a block found overlapping something chainpool does not own; tried again later, as ports are. */
  block(index: number, why: string): void;
}

export interface DriverContext {
  logger: Logger;
  ports: PortLeaser;
  subnets: SubnetLeaser;
  /** This chainpool instance's id; resources on shared hosts carry it as a label. */
  instance: string;
  /** Called with the handle before any outside resource is made, so a crash can find them. */
  saveHandle: (clusterId: string, handle: Record<string, unknown>) => void;
  /** Per-consensus tuning written into each node's config. */
  consensus: Record<"noops" | "pbft", { batch_size: number; batch_timeout_ms: number }>;
  /** Chaincode limits written into each node's config (`[chaincode]`). */
  chaincode?: { max_package_bytes: number };
  /** How long creation waits for every node to answer. */
  readyTimeoutMs: number;
}

/** Optional capabilities a driver may declare (unstorage-style flags). */
export interface DriverFlags {
  /** Nodes run as real processes or containers that the sweep can find. */
  sweep?: boolean;
  /** repairCluster can bring failed nodes back without losing the ledger. */
  repair?: boolean;
  /** Consensus plugins the nodes this driver runs support; absent means all. */
  plugins?: readonly ConsensusPlugin[];
}

/**
 * A host driver makes clusters real on one host. Every method is safe to call again after a
 * crash at any point: create first clears whatever a previous attempt left, remove of a
 * cluster that is already gone succeeds.
 */
export interface HostDriver {
  readonly name: HostType;
  readonly flags: DriverFlags;
  /** Is the host reachable and usable? */
  ping(): Promise<boolean>;
  createCluster(cluster: Cluster): Promise<ClusterRuntime>;
  removeCluster(cluster: Cluster): Promise<void>;
  startCluster(cluster: Cluster): Promise<void>;
  stopCluster(cluster: Cluster): Promise<void>;
  restartCluster(cluster: Cluster): Promise<void>;
  /**
   * Hands every node the cluster's `url_secret` (a rotation) and, if the cluster is running,
   * restarts its nodes on their ledgers; answers once no node serves under the old secret.
   */
  rotateUrlSecret(cluster: Cluster): Promise<void>;
  /** Every node answers and sees all `size` peers; the chain height is readable. */
  probe(cluster: Cluster): Promise<ProbeResult>;
  /**
   * Brings failed nodes back with their ledgers (flags.repair). A driver that had to move
   * nodes elsewhere (a swarm node gone) answers the cluster's new runtime, to be stored.
   */
  repairCluster?(cluster: Cluster): Promise<ClusterRuntime | void>;
  /** Removes resources labelled as chainpool's whose cluster id is not in `known`, once older than graceMs. */
  sweep?(known: ReadonlySet<string>, graceMs: number): Promise<string[]>;
  /** Removes every resource chainpool owns on the host; never anything else. */
  resetHost(): Promise<void>;
  dispose(): Promise<void>;
}

export interface DriverFactory {
  (host: Host, ctx: DriverContext): HostDriver;
  /** Throws a BAD_REQUEST naming the field when the host's daemon_url or params are unusable; contacts nothing. */
  check?(host: Host): void;
}
