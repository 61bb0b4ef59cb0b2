import type { Cluster, Host } from "../core/types.ts";
import { withUrlSecret } from "../lib/url-secret.ts";

/**
 * The cluster object both APIs answer; Cello's keys, `worker_api` beside `daemon_url`. The
 * one place the URL secret goes into api_url and each service_url entry. `daemonUrl: false`
 * (a /v2 answer with `api.show_daemon_url` off) answers daemon_url and worker_api as "".
 */
export function clusterView(cluster: Cluster, host: Host | undefined, options: { daemonUrl?: boolean } = {}) {
  const daemon_url = options.daemonUrl === false ? "" : (host?.daemon_url ?? "");
  const secret = cluster.url_secret;
  const service_url: Record<string, string> = {};
  for (const [node, url] of Object.entries(cluster.service_url)) service_url[node] = withUrlSecret(url, secret);
  return {
    id: cluster.id,
    name: cluster.name,
    user_id: cluster.user_id,
    api_url: withUrlSecret(cluster.api_url, secret),
    daemon_url,
    worker_api: daemon_url,
    consensus_plugin: cluster.consensus_plugin,
    consensus_mode: cluster.consensus_mode,
    size: cluster.size,
    host_id: cluster.host_id,
    service_url,
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
