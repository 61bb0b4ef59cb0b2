import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Logger } from "../lib/logger.ts";
import type { PoolStore } from "../store/pool-store.ts";

/** How an apply ended, as /v2/cluster_op answered it. */
export const APPLY_RESULTS = ["ok", "none_available", "user_limit", "rate_limited", "bad_request", "error"] as const;
export type ApplyResult = (typeof APPLY_RESULTS)[number];

/** How a release ended: ok counts each cluster released. */
export const RELEASE_RESULTS = ["ok", "not_found", "not_held"] as const;
export type ReleaseResult = (typeof RELEASE_RESULTS)[number];

/** Seconds: an apply is one SQLite transaction, well under a millisecond to a few when loaded. */
const APPLY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
/** Seconds: a driver making or removing a cluster, from a local host's half second to a swarm's minutes. */
const DRIVER_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
type CounterChild = { inc(): void };
type HistogramChild = { observe(value: number): void };

/** Every state chainpool_clusters reports; each host and type present gets all of them, zeros too, so "no free cluster" is a 0, not a missing series. */
const CLUSTER_STATES = ["free", "in_use", "creating", "pending", "failed", "stopped", "deleting"] as const;

const JOB_BUCKETS = [0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60];

/**
 * The daemon's Prometheus metrics, on a registry of its own (several daemons in one test
 * process never share one). Counters and histograms are fed as things happen; the pool's
 * gauges (clusters by state, host and type; hosts up; the reconciler's backlog) are read
 * from the store when scraped, with one grouped query each, so nothing on the apply path
 * keeps them.
 */
export class PoolMetrics {
  readonly registry = new Registry();
  readonly #applies: Record<ApplyResult, CounterChild>;
  readonly #applySeconds: Record<ApplyResult, HistogramChild>;
  readonly #releases: Counter<"result">;
  readonly #createSeconds: Histogram<"host_type">;
  readonly #recycleSeconds: Histogram<"host_type">;
  readonly #healthFailures: Counter<"host_type">;
  readonly #opFailures: Counter<"op">;
  readonly #jobRuns: Counter<"job">;
  readonly #jobFailures: Counter<"job">;
  readonly #jobSeconds: Histogram<"job">;

  constructor(options: {
    store: PoolStore;
    logger: Logger;
    /** Open event streams now (GET /api/events, the console). */
    eventSubscribers?: () => number;
    /** Process metrics (CPU, memory, event loop lag, GC...); default true. */
    processMetrics?: boolean;
  }) {
    const { store } = options;
    const registers = [this.registry];
    const applies = new Counter({ name: "chainpool_applies_total", help: "Applies (/v2 cluster_op action=apply) by result; ok includes a held cluster answered again.", labelNames: ["result"], registers });
    const applySeconds = new Histogram({ name: "chainpool_apply_duration_seconds", help: "Time to answer an apply, from its input read to its answer, by result.", labelNames: ["result"], buckets: APPLY_BUCKETS, registers });
    // Children made once: a labelled lookup per apply would hash the labels every time.
    // Every result at 0 from the start, so rate() and alerts see a series before the first one.
    for (const r of APPLY_RESULTS) applies.inc({ result: r }, 0);
    this.#applies = Object.fromEntries(APPLY_RESULTS.map((r) => [r, applies.labels(r)])) as Record<ApplyResult, CounterChild>;
    this.#applySeconds = Object.fromEntries(APPLY_RESULTS.map((r) => [r, applySeconds.labels(r)])) as unknown as Record<ApplyResult, HistogramChild>;
    this.#releases = new Counter({ name: "chainpool_releases_total", help: "Clusters released (result ok), and release requests refused, by result.", labelNames: ["result"], registers });
    for (const r of RELEASE_RESULTS) this.#releases.inc({ result: r }, 0);
    this.#createSeconds = new Histogram({ name: "chainpool_cluster_create_duration_seconds", help: "Time a host's driver took to make a cluster, until its nodes run (its first health check not included).", labelNames: ["host_type"], buckets: DRIVER_BUCKETS, registers });
    this.#recycleSeconds = new Histogram({ name: "chainpool_cluster_recycle_duration_seconds", help: "Time to drop a released or broken cluster and put its successor in its slot (the successor's creation is counted as a create).", labelNames: ["host_type"], buckets: DRIVER_BUCKETS, registers });
    this.#healthFailures = new Counter({ name: "chainpool_health_check_failures_total", help: "Failed cluster health probes (a cluster turns FAIL after scheduler.health_failures in a row).", labelNames: ["host_type"], registers });
    this.#opFailures = new Counter({ name: "chainpool_cluster_op_failures_total", help: "Cluster operations (create, delete, recycle, start, stop, restart, rotate) that failed and will be retried.", labelNames: ["op"], registers });
    this.#jobRuns = new Counter({ name: "chainpool_scheduler_job_runs_total", help: "Scheduler job runs, by job.", labelNames: ["job"], registers });
    this.#jobFailures = new Counter({ name: "chainpool_scheduler_job_failures_total", help: "Scheduler job runs that failed, by job.", labelNames: ["job"], registers });
    this.#jobSeconds = new Histogram({ name: "chainpool_scheduler_job_duration_seconds", help: "Scheduler job run time, by job.", labelNames: ["job"], buckets: JOB_BUCKETS, registers });

    new Gauge({
      name: "chainpool_clusters",
      help: "Clusters by state (free, in_use, creating, pending: made but not yet healthy or with an op owed, failed: health FAIL, stopped, deleting), host and consensus type.",
      labelNames: ["state", "host", "consensus_plugin", "consensus_mode", "size"],
      registers,
      collect() {
        this.reset();
        const rows = store.clusterCounts();
        const groups = new Map(rows.map((r) => [`${r.host}\0${r.consensus_plugin}\0${r.consensus_mode}\0${r.size}`, r]));
        for (const g of groups.values()) {
          for (const state of CLUSTER_STATES) this.set({ state, host: g.host, consensus_plugin: g.consensus_plugin, consensus_mode: g.consensus_mode, size: g.size }, 0);
        }
        for (const row of rows) {
          this.set({ state: row.state, host: row.host, consensus_plugin: row.consensus_plugin, consensus_mode: row.consensus_mode, size: row.size }, row.n);
        }
      },
    });
    new Gauge({
      name: "chainpool_host_up",
      help: "1 if the host is active (reachable), 0 if inactive, by host and type.",
      labelNames: ["host", "type"],
      registers,
      collect() {
        this.reset();
        for (const h of store.listHosts()) this.set({ host: h.name, type: h.type }, h.status === "active" ? 1 : 0);
      },
    });
    new Gauge({
      name: "chainpool_hosts_up",
      help: "Hosts that are active (reachable).",
      registers,
      collect() {
        this.set(store.listHosts().filter((h) => h.status === "active").length);
      },
    });
    new Gauge({
      name: "chainpool_reconciler_backlog",
      help: "Clusters with an operation owed (create, delete, recycle, start, stop, restart, rotate) not yet done.",
      registers,
      collect() {
        this.set(store.countPendingOps());
      },
    });
    const subscribers = options.eventSubscribers;
    if (subscribers) {
      new Gauge({
        name: "chainpool_event_subscribers",
        help: "Open event streams (GET /api/events and the console).",
        registers,
        collect() {
          this.set(subscribers());
        },
      });
    }
    if (options.processMetrics ?? true) {
      try {
        // The event loop delay is sampled every 100 ms, not prom-client's 10 (a timer firing 100
        // times a second, most of an idle daemon's wakeups and about half its idle CPU).
        collectDefaultMetrics({ register: this.registry, prefix: "chainpool_", eventLoopMonitoringPrecision: 100 });
      } catch (err) {
        // A runtime without some of what they read (perf_hooks' event loop monitor) still serves the pool's own.
        options.logger.warn("process metrics unavailable on this runtime", { err });
      }
    }
  }

  /** One apply as /v2/cluster_op answered it. */
  observeApply(result: ApplyResult, seconds: number): void {
    this.#applies[result].inc();
    this.#applySeconds[result].observe(seconds);
  }

  /** Releases: `count` clusters released (ok), or one refused request. */
  observeRelease(result: ReleaseResult, count = 1): void {
    if (count > 0) this.#releases.labels(result).inc(count);
  }

  observeCreate(hostType: string, seconds: number): void {
    this.#createSeconds.labels(hostType).observe(seconds);
  }

  observeRecycle(hostType: string, seconds: number): void {
    this.#recycleSeconds.labels(hostType).observe(seconds);
  }

  observeHealthFailure(hostType: string): void {
    this.#healthFailures.labels(hostType).inc();
  }

  observeOpFailure(op: string): void {
    this.#opFailures.labels(op).inc();
  }

  /** One scheduler job run. */
  observeJob(job: string, seconds: number, ok: boolean): void {
    this.#jobRuns.labels(job).inc();
    if (!ok) this.#jobFailures.labels(job).inc();
    this.#jobSeconds.labels(job).observe(seconds);
  }

  /** The Prometheus text exposition. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
