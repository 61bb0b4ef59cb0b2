import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Hono } from "hono";
import type { AppEnv, Services } from "./api/env.ts";
import { createApp, type AppOptions } from "./app.ts";
import { consoleLiveViews } from "./console/console-app.tsx";
import { LiveHub } from "./console/live-hub.ts";
import { SessionStore } from "./console/sessions.ts";
import { ConfigError } from "./config/load.ts";
import type { Config } from "./config/schema.ts";
import { portDomain } from "./core/port-domain.ts";
import type { HostType } from "./core/types.ts";
import type { DriverFactory } from "./drivers/contract.ts";
import { dockerDriverFactory, imageResolver } from "./drivers/docker/driver.ts";
import { swarmDriverFactory } from "./drivers/docker/swarm.ts";
import { localDriverFactory } from "./drivers/local/driver.ts";
import { subnetPool } from "./lib/subnets.ts";
import { createLogger, type Logger } from "./lib/logger.ts";
import { machineAddresses } from "./lib/machine-addresses.ts";
import { runtimeKind } from "./lib/runtime.ts";
import { VERSION } from "./lib/version.ts";
import { Scheduler } from "./scheduler/scheduler.ts";
import type { ServiceDeps } from "./services/deps.ts";
import { DriverRegistry } from "./services/drivers.ts";
import { EventFeed } from "./services/event-feed.ts";
import { PoolMetrics } from "./services/metrics.ts";
import { HostService } from "./services/hosts.ts";
import { LocalNodes, type NodeCount } from "./services/local-nodes.ts";
import { PoolService } from "./services/pool.ts";
import { Reconciler } from "./services/reconciler.ts";
import { Shutdown } from "./services/shutdown.ts";
import { Watchdog } from "./services/watchdog.ts";
import { openDatabase } from "./store/open.ts";
import { PoolStore } from "./store/pool-store.ts";

export interface DaemonOptions {
  config: Config;
  logger?: Logger;
  /** Driver factories by host type; default: the real ones this build has. */
  factories?: Partial<Record<HostType, DriverFactory>>;
  /** The console's clock (session expiry), in ms since the epoch; tests move it. Default Date.now. */
  consoleClock?: () => number;
}

export interface Daemon {
  app: Hono<AppEnv>;
  services: Services;
  deps: ServiceDeps;
  scheduler: Scheduler;
  /** Starts the scheduler (the HTTP listener is main's business). */
  start(): void;
  /**
   * Stops the scheduler and the reconciler, waits for driver work in flight at most
   * `graceMs` (default: until it ends), closes the database. Work still running then is
   * left as the intent it was written as, for the next start. With `stopLocalNodes` (a
   * `chainpool down`), every running local cluster is then given the op `start` for the next
   * start, and once the database and drivers are closed (nothing can start a node any more)
   * every node of this data directory is killed. Answers the local nodes left running, or
   * stopped. Idempotent: a second call answers the first one's result.
   */
  close(options?: { graceMs?: number; stopLocalNodes?: boolean }): Promise<DaemonCloseReport>;
}

export interface DaemonCloseReport {
  /** The local hosts' nodes: still running (kept for the next start to adopt), or stopped. */
  localNodes: NodeCount & { stopped: boolean };
}

/**
 * The chain node program as this build runs it: the executable itself (`chainpool node`)
 * when running as one; otherwise this runtime with the bundle scripts/build-node.ts makes.
 */
export function defaultNodeCommand(): string[] {
  const kind = runtimeKind();
  if (kind === "sea") return [process.execPath, "node"];
  const bundle = fileURLToPath(new URL("../dist/chain-node.mjs", import.meta.url));
  // Deno needs the node's permissions named; the node reads its config, writes its ledger, serves and calls peers.
  if (kind === "deno") return [process.execPath, "run", "--allow-net", "--allow-read", "--allow-write", "--allow-env", bundle];
  return [process.execPath, bundle];
}

/** Builds everything from a config: store -> drivers -> services -> app -> scheduler. */
export function createDaemon(options: DaemonOptions): Daemon {
  const { config } = options;
  const logger = options.logger ?? createLogger({ level: config.log_level, ...(config.log_json !== undefined && { json: config.log_json }) });
  const dataDir = resolve(config.data_dir);
  mkdirSync(dataDir, { recursive: true });
  const store = new PoolStore({
    db: openDatabase(join(dataDir, "chainpool.db"), config.sqlite_driver),
    urlSecrets: config.pool.url_secrets,
    events: { keepCount: config.events.keep, keepMs: config.events.keep_days * 86_400_000 },
  });
  const events = new EventFeed({ log: store.events, logger });
  const metrics = new PoolMetrics({ store, logger, eventSubscribers: () => events.subscriberCount });

  const nodeCommand = config.local.node_command.length > 0 ? config.local.node_command : defaultNodeCommand();
  const subnets = subnetPool(config.docker.subnet_pool, config.docker.subnet_prefix);
  if (typeof subnets === "string") throw new Error(`docker.subnet_pool: ${subnets}`); // the schema checked it already
  const dockerOptions = {
    nodeImage: imageResolver({ nodeCommand, ...(config.docker.image !== "" && { image: config.docker.image }) }),
    nodeMemoryMb: config.docker.node_memory_mb,
    nodeCpus: config.docker.node_cpus,
  };
  const ownAddresses = machineAddresses();
  const factories = options.factories ?? {
    local: localDriverFactory({ root: join(dataDir, "clusters"), nodeCommand, nodeLogMaxBytes: config.local.node_log_max_bytes, httpProbeEveryMs: config.local.http_probe_s * 1000 }),
    docker: dockerDriverFactory({ ...dockerOptions, subnets, subnetPrefix: config.docker.subnet_prefix, machineAddresses: ownAddresses }),
    swarm: swarmDriverFactory(dockerOptions),
  };
  const instance = store.instanceId();
  const retryBlockedAfterMs = config.ports.retry_blocked_s * 1000;
  const drivers = new DriverRegistry({
    factories,
    context: (host) => {
      // Hosts that publish on one machine's ports lease them from one ledger, that machine's.
      const domain = portDomain(host, ownAddresses);
      const portRange = { min: config.ports.min, max: config.ports.max, retryBlockedAfterMs };
      return {
        logger: logger.child({ driver: host.type }),
        ports: {
          lease: (clusterId, count) => {
            const ports = store.leasePorts(domain, clusterId, count, portRange);
            if (!ports) throw new Error(`no ${count} free ports left in ${config.ports.min}-${config.ports.max} on ${host.name}`);
            return ports;
          },
          block: (port, why) => store.blockPort(domain, port, `${host.name}: ${why}`),
        },
        subnets: {
          lease: (clusterId, blocks) => {
            const [index] = store.leasePorts(`${host.id}#subnet`, clusterId, 1, { min: 0, max: blocks - 1, retryBlockedAfterMs }) ?? [];
            if (index === undefined) throw new Error(`no free subnet block left on ${host.name}`);
            return index;
          },
          block: (index, why) => store.blockPort(`${host.id}#subnet`, index, why),
        },
        instance,
        saveHandle: (id, handle) => store.saveHandle(id, handle),
        consensus: config.consensus,
        chaincode: config.chaincode,
        readyTimeoutMs: config.scheduler.ready_timeout_s * 1000,
      };
    },
  });
  const reconciler = new Reconciler({
    store,
    drivers,
    logger,
    maxParallel: config.scheduler.max_parallel_ops,
    readyTimeoutMs: config.scheduler.ready_timeout_s * 1000,
    healthFailures: config.scheduler.health_failures,
    metrics,
  });
  const deps: ServiceDeps = {
    store,
    drivers,
    reconciler,
    logger,
    metrics,
    poolTypes: config.pool.types,
    maxClustersPerUser: config.pool.max_clusters_per_user,
    scheduler: {
      hostFailures: config.scheduler.host_failures,
      healthFailures: config.scheduler.health_failures,
      sweepGraceMs: config.scheduler.sweep_grace_s * 1000,
    },
  };
  const hosts = new HostService(deps);
  const pool = new PoolService(deps);
  const watchdog = new Watchdog(deps, hosts, { healthPeriodMs: config.scheduler.health_check_s * 1000 });
  const localNodes = new LocalNodes({ store, root: join(dataDir, "clusters"), logger });
  const shutdown = new Shutdown({ dataDir, localNodes });
  const services: Services = { pool, hosts, watchdog, shutdown, events, metrics, store, logger, version: VERSION };

  // Hosts named in the config are registered once; after that the database is the truth.
  for (const [i, seed] of config.hosts.entries()) {
    if (store.getHostByName(seed.name)) continue;
    if (!drivers.supports(seed.type)) {
      logger.warn("config names a host of a type this daemon does not run; skipped", { host: seed.name, type: seed.type });
      continue;
    }
    try {
      drivers.check({ ...seed, id: "(new)", status: "inactive", create_ts: "" });
    } catch (err) {
      store.close();
      throw new ConfigError(`hosts.${i}.${(err as Error).message}`);
    }
    store.insertHost(seed);
    logger.info("host registered from config", { host: seed.name, type: seed.type, capacity: seed.capacity });
  }
  // Before anything is served: no free cluster without a URL secret is handed out (those from
  // before secrets are recycled), and clusters whose nodes are gone are started again.
  if (config.pool.url_secrets) {
    const { secured, recycled } = store.giveUrlSecrets();
    if (secured.length > 0) logger.info("clusters not made yet get a URL secret", { clusters: secured });
    if (recycled.length > 0) logger.warn("free clusters without a URL secret are recycled to get one", { clusters: recycled });
  }
  localNodes.resumeMissing();

  const s = config.scheduler;
  const scheduler = new Scheduler({
    logger,
    observe: (job, seconds, ok) => metrics.observeJob(job, seconds, ok),
    jobs: [
      { name: "host-check", everySeconds: s.host_check_s, run: () => watchdog.checkHosts() },
      { name: "reconcile", everySeconds: s.reconcile_s, run: () => reconciler.runOnce() },
      { name: "cluster-health", everySeconds: s.health_check_s, run: () => watchdog.checkClusters() },
      { name: "autofill", everySeconds: s.autofill_s, run: () => watchdog.autofill() },
      { name: "sweep", everySeconds: s.sweep_s, run: () => watchdog.sweep() },
      // The count bound is kept as events are written; the age bound needs a look now and then.
      { name: "event-trim", everySeconds: 600, run: () => void store.events.trim() },
      // The console chart's pool size, noted whether or not a console is open.
      { name: "pool-sample", everySeconds: 60, run: () => store.recordPoolSample(Math.floor(Date.now() / 60_000), store.countFree()) },
    ],
  });

  // The console: sessions in memory, and one subscription to the event feed for every open tab.
  const consoleClock = options.consoleClock ?? Date.now;
  let consoleParts: AppOptions["console"];
  if (config.console.enabled) {
    consoleParts = {
      sessions: new SessionStore({ idleMs: config.console.session_idle_s * 1000, absoluteMs: config.console.session_max_s * 1000, now: consoleClock }),
      live: new LiveHub({ source: events, ...consoleLiveViews({ store, now: consoleClock }) }),
      now: consoleClock,
    };
  }

  const app = createApp({
    services,
    auth: { frontKeys: config.api.front_keys, operatorKeys: config.api.operator_keys, metricsKeys: config.api.metrics_keys },
    maxBodyBytes: config.api.max_body_bytes,
    applyRatePerKey: config.api.apply_rate_per_key,
    showDaemonUrl: config.api.show_daemon_url,
    ...(consoleParts && { console: consoleParts }),
  });

  let closing: Promise<DaemonCloseReport> | undefined;
  return {
    app,
    services,
    deps,
    scheduler,
    start: () => scheduler.start(),
    close(closeOptions = {}) {
      closing ??= (async () => {
        const deadline = Date.now() + (closeOptions.graceMs ?? Number.POSITIVE_INFINITY);
        events.close(); // open event streams end, so that no request keeps the listener waiting
        const jobs = scheduler.stop(); // no new job from here on
        const left = await reconciler.close(closeOptions);
        if (left.length > 0) logger.warn("operations in flight left for the next start", { clusters: left });
        if (Number.isFinite(deadline)) await Promise.race([jobs, new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now())).unref())]);
        else await jobs;
        // The intent before the kill: the next start brings these clusters back on their ledgers.
        if (closeOptions.stopLocalNodes) localNodes.markForRestart();
        // The store first, then (in the same tick) the drivers: a node is only ever spawned by a
        // driver right after a store read, or by one now disposed, which refuses to. So the
        // nodes found from here on are all there will be.
        store.close();
        await drivers.close();
        if (closeOptions.stopLocalNodes) return { localNodes: { ...(await localNodes.stopAll()), stopped: true } };
        return { localNodes: { ...localNodes.count(), stopped: false } };
      })();
      return closing;
    },
  };
}
