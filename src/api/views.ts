import type { Cluster, Host } from "../core/types.ts";

/** The cluster object both APIs answer; Cello's keys, `worker_api` beside `daemon_url`. */
export function clusterView(cluster: Cluster, host: Host | undefined) {
  const daemon_url = host?.daemon_url ?? "";
  return {
    id: cluster.id,
    name: cluster.name,
    user_id: cluster.user_id,
    api_url: cluster.api_url,
    daemon_url,
    worker_api: daemon_url,
    consensus_plugin: cluster.consensus_plugin,
    consensus_mode: cluster.consensus_mode,
    size: cluster.size,
    host_id: cluster.host_id,
    service_url: cluster.service_url,
    status: cluster.status,
    health: cluster.health,
    apply_ts: cluster.apply_ts ?? "",
    create_ts: cluster.create_ts,
  };
}

export function hostView(host: Host, clusters: number) {
  return {
    id: host.id,
    name: host.name,
    type: host.type,
    daemon_url: host.daemon_url,
    worker_api: host.daemon_url,
    capacity: host.capacity,
    clusters,
    autofill: host.autofill,
    schedulable: host.schedulable,
    log_level: host.log_level,
    status: host.status,
    params: redactParams(host.params),
    create_ts: host.create_ts,
  };
}

/** Key material never leaves the daemon; paths to it may. */
function redactParams(params: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(params)) out[k] = /key|secret|password|token/i.test(k) && !/_file$|_path$/.test(k) ? "(set)" : v;
  return out;
}
