import { ChainpoolError } from "../core/errors.ts";
import type { Cluster, Host } from "../core/types.ts";
import { yieldToLoop } from "../lib/yield-to-loop.ts";
import type { ServiceDeps } from "./deps.ts";
import type { HostService } from "./hosts.ts";

/** How the jobs pace their work so that a large fleet never holds the event loop for long. */
export interface WatchdogPacing {
  /**
   * The health job's period (scheduler.health_check_s), in ms: its probes start in waves
   * spread over most of it (HEALTH_SPREAD), not all at once. 0: waves follow each other at once.
   */
  healthPeriodMs?: number;
  /** Most probes, host pings or host sweeps in flight at once. */
  concurrency?: number;
  /** Clusters read and probed per wave, hosts filled per step, ids read per page (times 20); the event loop is given back between them. */
  batch?: number;
  /** Milliseconds now, and a wait: tests pass ones that do not wait. */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** Share of the health period the probes are spread over: the rest is slack, so that a run ends before the next tick. */
export const HEALTH_SPREAD = 0.8;

const DEFAULT_PACING = { healthPeriodMs: 0, concurrency: 256, batch: 100 };

/**
 * The scheduler's jobs, each a level-triggered pass: read what is, compare with what
 * should be, act. Any of them may run at any time; none trusts an earlier pass. Each works
 * through the fleet in steps and gives the event loop back between them (see WatchdogPacing).
 */
export class Watchdog {
  readonly #d: ServiceDeps;
  readonly #hosts: HostService;
  readonly #pace: Required<WatchdogPacing>;

  constructor(deps: ServiceDeps, hosts: HostService, pacing: WatchdogPacing = {}) {
    this.#d = deps;
    this.#hosts = hosts;
    this.#pace = {
      ...DEFAULT_PACING,
      now: () => Date.now(),
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      ...Object.fromEntries(Object.entries(pacing).filter(([, v]) => v !== undefined)),
    };
  }

  /** Pings every host (3 tries), a bounded number at once; failures past the threshold make it inactive. */
  async checkHosts(): Promise<void> {
    const { store, drivers, logger } = this.#d;
    await this.#bounded(store.listHosts(), async (host) => {
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
    });
  }

  /**
   * Probes every running cluster without pending work. A free cluster that turns FAIL is
   * reset (dropped and recreated); one in use is repaired in place, keeping its ledger.
   * The clusters are read a wave (`batch`) at a time and the waves are spread evenly over
   * HEALTH_SPREAD of the period, with at most `concurrency` probes in flight: a fleet of
   * 100,000 is probed as a steady stream, not 100,000 probes at once. A pool that fits in
   * one wave is probed at once, as it always was.
   */
  async checkClusters(): Promise<void> {
    const { store } = this.#d;
    const { batch, now, sleep } = this.#pace;
    const hosts = new Map(store.listHosts().map((h) => [h.id, h] as const));
    // Every cluster, not only those to probe: counting those would read the whole fleet. The
    // waves then end a little early (the last pages are short), never late.
    const waves = Math.ceil(store.clusterCount() / batch);
    const spacing = waves > 1 ? (this.#pace.healthPeriodMs * HEALTH_SPREAD) / waves : 0;
    const started = now();
    const slots = new Slots(this.#pace.concurrency);
    const failures: unknown[] = [];
    let cursor = 0;
    for (let wave = 0; ; wave++) {
      if (wave > 0) {
        const wait = started + wave * spacing - now();
        if (wait > 0) await sleep(wait);
        else await yieldToLoop();
      }
      const page = store.probeablePage(cursor, batch);
      if (page.length === 0) break;
      cursor = page[page.length - 1]!.seq;
      for (const { cluster } of page) {
        if (this.#d.reconciler.busy(cluster.id)) continue;
        await slots.take();
        void this.#checkCluster(cluster, hosts)
          .catch((err: unknown) => void failures.push(err))
          .finally(() => slots.give());
      }
      // The last wave planned, or the last there is: no wait for an empty one (clusters made since are the next run's).
      if (page.length < batch || wave + 1 >= waves) break;
    }
    await slots.drain();
    if (failures.length > 0) throw failures[0]; // the scheduler logs it; every other cluster was still checked
  }

  async #checkCluster(cluster: Cluster, hosts: ReadonlyMap<string, Host>): Promise<void> {
    const { store, drivers, reconciler, logger } = this.#d;
    const host = hosts.get(cluster.host_id);
    if (!host || host.status !== "active") return;
    const driver = drivers.get(host);
    let result;
    try {
      result = await driver.probe(cluster);
    } catch (err) {
      result = { ok: false, reason: (err as Error).message };
    }
    if (result.ok) {
      store.recordPassedProbe(cluster.id); // only if it did not change while we probed
      return;
    }
    // The cluster may have changed while we probed (released, stopped): re-read before acting.
    const now = store.getCluster(cluster.id);
    if (!now || now.op !== null || now.status !== "running") return;
    this.#d.metrics.observeHealthFailure(host.type);
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
  }

  /**
   * Keeps every active autofill host at capacity. Only hosts below capacity are looked at
   * (the store's kept count says which), each filled `batch` clusters at a time with the
   * event loop given back in between.
   */
  async autofill(): Promise<void> {
    const { batch } = this.#pace;
    let steps = 0;
    for (const host of this.#d.store.hostsToFill()) {
      for (;;) {
        if (steps++ > 0) await yieldToLoop();
        let made;
        try {
          made = this.#hosts.fillup(host.id, { max: batch });
        } catch (err) {
          // Removed or turned inactive while earlier hosts were filled: nothing to fill there.
          if (err instanceof ChainpoolError && (err.code === "NOT_FOUND" || err.code === "HOST_UNAVAILABLE")) break;
          throw err;
        }
        if (made.length < batch) break;
      }
    }
  }

  /**
   * Removes resources labelled as chainpool's that no row claims, after the grace period.
   * What the rows claim is read a page of ids at a time; hosts are swept a bounded number at once.
   */
  async sweep(): Promise<void> {
    const { store, drivers } = this.#d;
    const known = new Set<string>();
    for (let cursor = 0; ; ) {
      const page = store.clusterIdPage(cursor, this.#pace.batch * 20);
      if (page.length === 0) break;
      for (const row of page) known.add(row.id);
      cursor = page[page.length - 1]!.seq;
      await yieldToLoop();
    }
    const active = store.listHosts().filter((h) => h.status === "active");
    await this.#bounded(active, async (host) => {
      await drivers.get(host).sweep?.(known, this.#d.scheduler.sweepGraceMs);
    });
  }

  /** Runs `work` on every item, at most `concurrency` at once, giving the loop back after each `batch` started. */
  async #bounded<T>(items: readonly T[], work: (item: T) => Promise<void>): Promise<void> {
    const slots = new Slots(this.#pace.concurrency);
    const failures: unknown[] = [];
    for (const [i, item] of items.entries()) {
      if (i > 0 && i % this.#pace.batch === 0) await yieldToLoop();
      await slots.take();
      void work(item)
        .catch((err: unknown) => void failures.push(err))
        .finally(() => slots.give());
    }
    await slots.drain();
    if (failures.length > 0) throw failures[0]; // the scheduler logs it; every other item was still done
  }
}

/**
 * At most `limit` tasks at once, for one loop that starts them: take() waits for a free slot,
 * give() frees one, drain() waits until none is taken. (A Promise.race over the tasks in
 * flight instead would add a reaction to each of them for every task started.)
 */
class Slots {
  readonly #limit: number;
  #taken = 0;
  #waiting: (() => void) | undefined;

  constructor(limit: number) {
    this.#limit = Math.max(1, limit);
  }

  async take(): Promise<void> {
    while (this.#taken >= this.#limit) await new Promise<void>((r) => (this.#waiting = r));
    this.#taken++;
  }

  give(): void {
    this.#taken--;
    const wake = this.#waiting;
    this.#waiting = undefined;
    wake?.();
  }

  async drain(): Promise<void> {
    while (this.#taken > 0) await new Promise<void>((r) => (this.#waiting = r));
  }
}
