import type { Cluster } from "../core/types.ts";
import { waitHealthy } from "../drivers/probe.ts";
import type { Logger } from "../lib/logger.ts";
import type { PoolStore } from "../store/pool-store.ts";
import type { DriverRegistry } from "./drivers.ts";
import type { PoolMetrics } from "./metrics.ts";

export interface ReconcilerOptions {
  store: PoolStore;
  drivers: DriverRegistry;
  logger: Logger;
  /** Most driver operations in flight at once. */
  maxParallel: number;
  /** How long a new cluster may take to pass its first health check. */
  readyTimeoutMs: number;
  /** Consecutive failed probes before health turns FAIL. */
  healthFailures: number;
  /** Where create and recycle durations, failed ops and failed first probes are counted. */
  metrics?: PoolMetrics;
}

/**
 * Does the work the database says is owed (each cluster's `op`): create, delete, recycle,
 * start, stop, restart, rotate (of the URL secret). Every op was written before any side
 * effect, and every driver call is safe to repeat, so a pass after a crash simply finishes
 * what was started.
 */
export class Reconciler {
  readonly #o: ReconcilerOptions;
  /** What runs on each cluster now: its op (with the first health check), or an exclusive task. */
  readonly #inflight = new Map<string, { task: Promise<unknown>; kind: "op" | "exclusive" }>();
  readonly #backoff = new Map<string, { until: number; fails: number }>();
  #pass: Promise<void> | undefined;
  #again = false;
  #closed = false;

  constructor(options: ReconcilerOptions) {
    this.#o = options;
  }

  /** True while a driver operation runs for this cluster. */
  busy(id: string): boolean {
    return this.#inflight.has(id);
  }

  /** Asks for a pass soon; passes never overlap, a kick during one asks for another. */
  kick(): void {
    if (this.#closed) return;
    if (this.#pass) {
      this.#again = true;
      return;
    }
    this.#pass = this.#runPasses().finally(() => (this.#pass = undefined));
  }

  /** Runs passes until nothing new was asked for; resolves when idle. */
  async runOnce(): Promise<void> {
    this.kick();
    while (this.#pass) await this.#pass;
  }

  async #runPasses(): Promise<void> {
    do {
      this.#again = false;
      await this.#pass1();
    } while (this.#again && !this.#closed);
  }

  /**
   * One pass: up to maxParallel workers take due ops one at a time until none is left.
   * Ops are fetched a batch at a time, so a backlog of thousands costs no more per op.
   */
  async #pass1(): Promise<void> {
    let cursor = 0;
    let page: Array<{ seq: number; id: string }> = [];
    const take = (): string | undefined => {
      const now = Date.now();
      for (;;) {
        if (page.length === 0) {
          page = this.#o.store.pendingOps(cursor, this.#o.maxParallel * 8);
          if (page.length === 0) return undefined;
        }
        const next = page.shift()!;
        cursor = next.seq;
        if (!this.#inflight.has(next.id) && (this.#backoff.get(next.id)?.until ?? 0) <= now) return next.id;
      }
    };
    const worker = async () => {
      for (let id = take(); id !== undefined && !this.#closed; id = take()) {
        await this.settle(id).catch(() => {});
        // A driver that answers at once (the memory host, a fast local op) would otherwise run
        // the whole backlog as one chain of microtasks and starve the HTTP server.
        await new Promise((r) => setImmediate(r));
      }
    };
    await Promise.all(Array.from({ length: this.#o.maxParallel }, worker));
  }

  /**
   * Does the op owed on one cluster now and waits for it. Whatever already runs on the
   * cluster (its op, a first health check, a repair) is waited for first; an op still owed
   * after it is then done.
   */
  async settle(id: string): Promise<Cluster | undefined> {
    for (let running = this.#inflight.get(id); running; running = this.#inflight.get(id)) {
      if (running.kind === "op") return running.task as Promise<Cluster | undefined>; // #run's promise
      await running.task.catch(() => {});
    }
    return this.#track(id, "op", () => this.#run(id));
  }

  /**
   * Runs `work` as the cluster's one driver operation (a repair, say): ops owed on it wait
   * until it ends, and it does not start while one runs (answers false then).
   */
  async exclusive(id: string, work: () => Promise<void>): Promise<boolean> {
    if (this.#inflight.has(id)) return false;
    await this.#track(id, "exclusive", work);
    return true;
  }

  /**
   * Registers the cluster's operation in flight. When it ends, an op written meanwhile (a
   * release or delete during a restart or repair) is owed and was skipped by the passes
   * that ran while this one held the cluster: ask for another pass.
   */
  #track<T>(id: string, kind: "op" | "exclusive", work: () => Promise<T>): Promise<T> {
    const task = work().finally(() => {
      this.#inflight.delete(id);
      if (!this.#closed && this.#o.store.getCluster(id)?.op) this.kick();
    });
    this.#inflight.set(id, { task, kind });
    return task;
  }

  /** Does the op owed; answers the cluster as the op left it (undefined once its row is gone). */
  async #run(id: string): Promise<Cluster | undefined> {
    const cluster = this.#o.store.getCluster(id);
    if (!cluster || cluster.op === null) return cluster;
    const log = this.#o.logger.child({ cluster: id, op: cluster.op });
    try {
      await this.#apply(cluster);
      this.#backoff.delete(id);
      // Read before #track's kick can start an op written meanwhile (a release's recycle).
      return this.#o.store.getCluster(id);
    } catch (err) {
      if (this.#closed) {
        log.info("cluster operation cut short by shutdown; the next start does it again", { err });
        throw err;
      }
      const fails = (this.#backoff.get(id)?.fails ?? 0) + 1;
      const delay = Math.min(30_000, 500 * 2 ** (fails - 1));
      this.#backoff.set(id, { until: Date.now() + delay, fails });
      log.error("cluster operation failed; will retry", { err, retry_in_ms: delay });
      this.#o.metrics?.observeOpFailure(cluster.op);
      this.#o.store.events.record({
        level: "warn",
        kind: "cluster.op_failed",
        host_id: cluster.host_id,
        cluster_id: id,
        user_id: cluster.user_id,
        message: `cluster ${cluster.name}: ${cluster.op} failed (retry in ${Math.round(delay / 1000)} s): ${(err as Error).message}`,
        data: { op: cluster.op, error: (err as Error).message, retry_in_ms: delay, failures: fails },
      });
      throw err;
    }
  }

  async #apply(cluster: Cluster): Promise<void> {
    const { store } = this.#o;
    const host = store.getHost(cluster.host_id);
    if (!host) {
      store.deleteClusterRow(cluster.id);
      return;
    }
    const driver = this.#o.drivers.get(host);
    switch (cluster.op) {
      case null:
        return;
      case "create": {
        const started = performance.now();
        const runtime = await driver.createCluster(cluster);
        if (!store.markCreated(cluster.id, runtime)) return; // deleted while it was being made
        this.#o.metrics?.observeCreate(host.type, (performance.now() - started) / 1000);
        this.#o.logger.info("cluster created", { cluster: cluster.id, name: cluster.name, host: host.name, api_url: runtime.api_url });
        await this.#firstHealthCheck(cluster.id);
        return;
      }
      case "delete":
        await driver.removeCluster(cluster);
        store.deleteClusterRow(cluster.id);
        this.#o.logger.info("cluster deleted", { cluster: cluster.id, host: host.name });
        return;
      case "recycle": {
        const started = performance.now();
        await driver.removeCluster(cluster);
        const next = store.replaceCluster(cluster.id);
        this.#o.metrics?.observeRecycle(host.type, (performance.now() - started) / 1000);
        this.#o.logger.info("cluster dropped for recycling", { cluster: cluster.id, successor: next?.id });
        if (next) {
          this.#backoff.delete(cluster.id);
          // The successor is created right away, under its own id.
          void this.settle(next.id).catch(() => {});
        }
        return;
      }
      case "start":
      case "restart":
        if (cluster.op === "start") await driver.startCluster(cluster);
        else await driver.restartCluster(cluster);
        // A release or delete written meanwhile stays owed (and wins): no health check then.
        if (store.finishOp(cluster.id, cluster.op, "running")) await this.#firstHealthCheck(cluster.id);
        return;
      case "stop":
        await driver.stopCluster(cluster);
        store.finishOp(cluster.id, "stop", "stopped");
        return;
      case "rotate":
        // The row already holds the new secret (written with the op); the nodes take it now.
        await driver.rotateUrlSecret(cluster);
        if (store.finishOp(cluster.id, "rotate", cluster.status) && cluster.status === "running") await this.#firstHealthCheck(cluster.id);
        return;
    }
  }

  /** The first health check comes right after creation, not a watchdog period later. */
  async #firstHealthCheck(id: string): Promise<void> {
    const cluster = this.#o.store.getCluster(id);
    const host = cluster && this.#o.store.getHost(cluster.host_id);
    if (!cluster || !host) return;
    const driver = this.#o.drivers.get(host);
    const result = await waitHealthy(() => driver.probe(cluster), this.#o.readyTimeoutMs);
    this.#o.store.recordHealth(id, result.ok, result.ok ? 1 : this.#o.healthFailures);
    if (!result.ok) this.#o.metrics?.observeHealthFailure(host.type);
    if (!result.ok) this.#o.logger.warn("cluster failed its first health check", { cluster: id, reason: result.reason });
  }

  /**
   * Stops taking work and waits for what is in flight, at most `graceMs` (default: as long as
   * it takes). Answers the clusters whose operation was still running: their op stays in the
   * database, so the next start does it again from the beginning. Idempotent.
   */
  async close(options: { graceMs?: number } = {}): Promise<string[]> {
    this.#closed = true;
    const deadline = Date.now() + (options.graceMs ?? Number.POSITIVE_INFINITY);
    while ((this.#pass || this.#inflight.size > 0) && Date.now() < deadline) {
      const settled = Promise.allSettled([this.#pass, ...[...this.#inflight.values()].map((r) => r.task)]);
      if (!Number.isFinite(deadline)) {
        await settled;
        continue;
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([settled, new Promise((r) => (timer = setTimeout(r, Math.max(0, deadline - Date.now()))))]);
      clearTimeout(timer);
    }
    return [...this.#inflight.keys()];
  }
}
