import type { Cluster, Host } from "../core/types.ts";
import type { ClusterRuntime, DriverContext, HostDriver, ProbeResult } from "./contract.ts";

export interface MemoryDriver extends HostDriver {
  /** Test hook: the cluster's probe fails until healed. */
  breakCluster(id: string): void;
  healCluster(id: string): void;
  /** Test hook: the host stops answering ping. */
  setReachable(reachable: boolean): void;
  /** Ids of clusters that exist on this fake host. */
  readonly live: ReadonlySet<string>;
}

/**
 * The in-memory test host: clusters exist as entries in a set. For tests of pool logic and
 * for the apply benchmark, where no driver is ever on the path being measured.
 */
export function createMemoryDriver(host: Host, _ctx?: DriverContext): MemoryDriver {
  const live = new Set<string>();
  const stopped = new Set<string>();
  const broken = new Set<string>();
  let reachable = true;
  const runtime = (cluster: Cluster): ClusterRuntime => {
    const service_url: Record<string, string> = {};
    for (let i = 0; i < cluster.size; i++) service_url[`vp${i}`] = `http://memory.invalid/${cluster.id}/vp${i}`;
    return { api_url: service_url["vp0"]!, service_url, handle: { host: host.id } };
  };
  return {
    name: "memory",
    flags: { sweep: true, repair: true },
    live,
    breakCluster: (id) => void broken.add(id),
    healCluster: (id) => void broken.delete(id),
    setReachable: (r) => void (reachable = r),
    async ping() {
      return reachable;
    },
    async createCluster(cluster) {
      live.add(cluster.id);
      stopped.delete(cluster.id);
      return runtime(cluster);
    },
    async removeCluster(cluster) {
      live.delete(cluster.id);
      stopped.delete(cluster.id);
      broken.delete(cluster.id);
    },
    async startCluster(cluster) {
      stopped.delete(cluster.id);
    },
    async stopCluster(cluster) {
      stopped.add(cluster.id);
    },
    async restartCluster(cluster) {
      stopped.delete(cluster.id);
    },
    async rotateUrlSecret() {},
    async probe(cluster): Promise<ProbeResult> {
      if (!live.has(cluster.id)) return { ok: false, reason: "cluster does not exist" };
      if (stopped.has(cluster.id)) return { ok: false, reason: "cluster is stopped" };
      if (broken.has(cluster.id)) return { ok: false, reason: "broken by test", failedNodes: ["vp0"] };
      return { ok: true };
    },
    async repairCluster(cluster) {
      broken.delete(cluster.id);
    },
    async sweep(known) {
      const removed = [...live].filter((id) => !known.has(id));
      for (const id of removed) live.delete(id);
      return removed;
    },
    async resetHost() {
      live.clear();
      stopped.clear();
      broken.clear();
    },
    async dispose() {},
  };
}
