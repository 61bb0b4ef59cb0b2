/** Domain types shared by every layer. Plain data, no behaviour. */
import type { ConsensusMode, ConsensusPlugin } from "../lib/node-config.ts";

export type { ConsensusMode, ConsensusPlugin };

export const HOST_TYPES = ["local", "docker", "swarm", "memory"] as const;

/** A host's log level, as Cello's API has it (kept and shown; the drivers do not read it). */
export const HOST_LOG_LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] as const;
/** `memory` is the in-process test host; it is never registered by the daemon's main. */
export type HostType = (typeof HOST_TYPES)[number];

export const HOST_STATUSES = ["active", "inactive"] as const;
export type HostStatus = (typeof HOST_STATUSES)[number];

export const CLUSTER_STATUSES = ["creating", "running", "stopped", "deleting"] as const;
export type ClusterStatus = (typeof CLUSTER_STATUSES)[number];

export const HEALTHS = ["", "OK", "FAIL"] as const;
export type Health = (typeof HEALTHS)[number];

/**
 * Work the reconciler still owes a cluster. Written in the same transaction as the state
 * change that asks for it, before any driver call, so that a crash resumes it. `rotate`:
 * the nodes take the url_secret the row already holds.
 */
export const CLUSTER_OPS = ["create", "delete", "recycle", "start", "stop", "restart", "rotate"] as const;
export type ClusterOp = (typeof CLUSTER_OPS)[number];

export interface ConsensusType {
  plugin: ConsensusPlugin;
  mode: ConsensusMode;
  size: number;
}

export interface Host {
  id: string;
  name: string;
  type: HostType;
  daemon_url: string;
  capacity: number;
  autofill: boolean;
  schedulable: boolean;
  log_level: string;
  status: HostStatus;
  /** Driver-specific settings (TLS files, public address, insecure flag...). */
  params: Record<string, unknown>;
  create_ts: string;
}

export interface Cluster {
  id: string;
  name: string;
  host_id: string;
  consensus_plugin: ConsensusPlugin;
  consensus_mode: ConsensusMode;
  size: number;
  status: ClusterStatus;
  health: Health;
  /** "" when the cluster is free. */
  user_id: string;
  apply_ts: string | null;
  api_url: string;
  /** Per-node REST endpoints, "vp0" -> URL. */
  service_url: Record<string, string>;
  /**
   * The path prefix every client route of its nodes needs (lib/url-secret.ts); "" when the
   * cluster was made with secrets off. api_url and service_url are stored without it: the
   * views put it in (so that no log line built from them carries it).
   */
  url_secret: string;
  /** What the driver needs to find the cluster again after a restart. */
  handle: Record<string, unknown>;
  op: ClusterOp | null;
  create_ts: string;
}

/** One finished use of a cluster: the release history. */
export interface ReleasedCluster {
  cluster_id: string;
  cluster_name: string;
  host_id: string;
  user_id: string;
  consensus_plugin: ConsensusPlugin;
  consensus_mode: ConsensusMode;
  size: number;
  apply_ts: string;
  release_ts: string;
  duration_s: number;
}
