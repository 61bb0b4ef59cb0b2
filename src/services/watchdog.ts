import type { Host } from "../core/types.ts";
import type { ServiceDeps } from "./deps.ts";
import type { HostService } from "./hosts.ts";

/**
 * The scheduler's jobs, each a level-triggered pass: read what is, compare with what
 * should be, act. Any of them may run at any time; none trusts an earlier pass.
 */
export class Watchdog {
  readonly #d: ServiceDeps;
  readonly #hosts: HostService;

  constructor(deps: ServiceDeps, hosts: HostService) {
    this.#d = deps;
    this.#hosts = hosts;
  }

  /** Pings every host (3 tries); failures past the threshold make it inactive. */
  async checkHosts(): Promise<void> {
    const { store, drivers, logger } = this.#d;
    await Promise.all(
      store.listHosts().map(async (host) => {
        let reachable = false;
        for (let attempt = 0; attempt < 3 && !reachable; attempt++) {
          try {
            reachable = await drivers.get(host).ping();
          } catch {
            reachable = false;
          }
        }
        const status = store.recordHostCheck(host.id, reachable, this.#d.scheduler.hostFailures);
        if (status !== host.status) logger.warn("host status changed", { host: host.name, from: host.status, to: status });
      }),
    );
  }

  /**
   * Probes every running cluster without pending work. A free cluster that turns FAIL is
   * reset (dropped and recreated); one in use is repaired in place, keeping its ledger.
   */
  async checkClusters(): Promise<void> {
    const { store, drivers, reconciler, logger } = this.#d;
    const hosts = new Map(store.listHosts().map((h) => [h.id, h] as const));
    const clusters = store.listClusters({ status: "running" }).filter((c) => c.op === null && !reconciler.busy(c.id));
    await Promise.all(
      clusters.map(async (cluster) => {
        const host = hosts.get(cluster.host_id);
        if (!host || host.status !== "active") return;
        const driver = drivers.get(host);
        let result;
        try {
          result = await driver.probe(cluster);
        } catch (err) {
          result = { ok: false, reason: (err as Error).message };
        }
        // The cluster may have changed while we probed (released, stopped): re-read before acting.
        const now = store.getCluster(cluster.id);
        if (!now || now.op !== null || now.status !== "running") return;
        const health = store.recordHealth(cluster.id, result.ok, this.#d.scheduler.healthFailures);
        if (health !== "FAIL") return;
        if (now.user_id === "") {
          if (store.markForRecycle(cluster.id)) {
            logger.warn("free cluster unhealthy; resetting it", { cluster: cluster.id, reason: result.reason });
            reconciler.kick();
          }
        } else if (driver.repairCluster) {
          const repair = driver.repairCluster.bind(driver);
          logger.warn("cluster in use unhealthy; repairing it", { cluster: cluster.id, user: now.user_id, reason: result.reason });
          try {
            // As the cluster's one driver operation: a release meanwhile waits for it, then recycles.
            await reconciler.exclusive(cluster.id, async () => {
              // A node moved elsewhere (a swarm node gone) answers at a new URL.
              const runtime = await repair(now);
              if (runtime) store.saveRuntime(cluster.id, runtime);
            });
          } catch (err) {
            logger.error("repair failed", { cluster: cluster.id, err });
          }
        }
      }),
    );
  }

  /** Keeps every active autofill host at capacity. */
  autofill(): void {
    for (const host of this.#d.store.listHosts()) {
      if (host.autofill && host.status === "active") this.#hosts.fillup(host.id);
    }
  }

  /** Removes resources labelled as chainpool's that no row claims, after the grace period. */
  async sweep(): Promise<void> {
    const { store, drivers } = this.#d;
    const known = new Set(store.listClusters().map((c) => c.id));
    await Promise.all(
      store
        .listHosts()
        .filter((h: Host) => h.status === "active")
        .map(async (host) => {
          const driver = drivers.get(host);
          await driver.sweep?.(known, this.#d.scheduler.sweepGraceMs);
        }),
    );
  }
}
