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
 * How the simulated host behaves like a real one, for the fleet benchmark: every call takes
 * time, and some fail. Without options every call answers at once and none fails (what tests
 * of pool logic want).
 */
export interface MemoryHostSimulation {
  /** Each driver call waits this long before it answers, in ms: a fixed figure or a [min, max] range drawn per call. */
  latencyMs?: number | readonly [number, number];
  /**
   * Fraction (0..1) of calls that fail: a probe answers not ok, ping answers unreachable, the
   * cluster operations throw (the reconciler retries them). The failure is transient: the
   * cluster itself is not changed.
   */
  failureRate?: number;
  /** Source of randomness for latency draws and failures; a seeded one makes a run repeatable. */
  random?: () => number;
  /** Clusters already on the host when the driver is made (running), as a real host keeps them across a daemon restart. */
  existing?: Iterable<string>;
}

/**
 * The in-memory test host: clusters exist as entries in a set. For tests of pool logic and
 * for the apply and fleet benchmarks, where no real engine is wanted on the path measured.
 */
export function createMemoryDriver(host: Host, _ctx?: DriverContext, simulation: MemoryHostSimulation = {}): MemoryDriver {
  const live = new Set<string>(simulation.existing);
  const stopped = new Set<string>();
  const broken = new Set<string>();
  let reachable = true;
  const random = simulation.random ?? Math.random;
  const failureRate = simulation.failureRate ?? 0;
  const latency = simulation.latencyMs ?? 0;
  /** Waits the call's simulated latency; answers whether the call fails this time. */
  const call = async (): Promise<boolean> => {
    const ms = typeof latency === "number" ? latency : latency[0] + random() * (latency[1] - latency[0]);
    if (ms > 0) await new Promise((r) => setTimeout(r, ms));
    return failureRate > 0 && random() < failureRate;
  };
  /** A cluster operation: waits, then throws if this call fails (before any change, as a host that refused would). */
  const operation = async (what: string, id: string): Promise<void> => {
    if (await call()) throw new Error(`simulated failure: ${what} ${id} on ${host.name}`);
  };
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
      if (await call()) return false;
      return reachable;
    },
    async createCluster(cluster) {
      await operation("create", cluster.id);
      live.add(cluster.id);
      stopped.delete(cluster.id);
      return runtime(cluster);
    },
    async removeCluster(cluster) {
      await operation("remove", cluster.id);
      live.delete(cluster.id);
      stopped.delete(cluster.id);
      broken.delete(cluster.id);
    },
    async startCluster(cluster) {
      await operation("start", cluster.id);
      stopped.delete(cluster.id);
    },
    async stopCluster(cluster) {
      await operation("stop", cluster.id);
      stopped.add(cluster.id);
    },
    async restartCluster(cluster) {
      await operation("restart", cluster.id);
      stopped.delete(cluster.id);
    },
    async rotateUrlSecret(cluster) {
      await operation("rotate", cluster.id);
    },
    async probe(cluster): Promise<ProbeResult> {
      if (await call()) return { ok: false, reason: "simulated probe failure", failedNodes: ["vp0"] };
      if (!live.has(cluster.id)) return { ok: false, reason: "cluster does not exist" };
      if (stopped.has(cluster.id)) return { ok: false, reason: "cluster is stopped" };
      if (broken.has(cluster.id)) return { ok: false, reason: "broken by test", failedNodes: ["vp0"] };
      return { ok: true };
    },
    async repairCluster(cluster) {
      await operation("repair", cluster.id);
      broken.delete(cluster.id);
    },
    async sweep(known) {
      await call();
      const removed = [...live].filter((id) => !known.has(id));
      for (const id of removed) live.delete(id);
      return removed;
    },
    async resetHost() {
      await operation("reset", host.name);
      live.clear();
      stopped.clear();
      broken.clear();
    },
    async dispose() {},
  };
}
