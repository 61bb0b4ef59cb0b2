/** The shapes the daemon's APIs answer, as far as the CLI reads them (see src/api/views.ts). */
export interface HostView {
  id: string;
  name: string;
  type: string;
  daemon_url: string;
  capacity: number;
  clusters: number;
  autofill: boolean;
  schedulable: boolean;
  status: string;
}

export interface ClusterView {
  id: string;
  name: string;
  user_id: string;
  api_url: string;
  consensus_plugin: string;
  consensus_mode: string;
  size: number;
  host_id: string;
  status: string;
  health: string;
  apply_ts: string;
  create_ts: string;
}

/** Ready to hand out or in use: running and healthy. */
export const isReady = (c: ClusterView) => c.status === "running" && c.health === "OK";

export const typeName = (c: { consensus_plugin: string; consensus_mode: string; size: number }) =>
  `${c.consensus_plugin}${c.consensus_mode ? "/" + c.consensus_mode : ""}x${c.size}`;
