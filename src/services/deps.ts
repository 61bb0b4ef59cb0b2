import type { ConsensusType } from "../core/types.ts";
import type { Logger } from "../lib/logger.ts";
import type { PoolStore } from "../store/pool-store.ts";
import type { DriverRegistry } from "./drivers.ts";
import type { PoolMetrics } from "./metrics.ts";
import type { Reconciler } from "./reconciler.ts";

/** Everything services need, built once in the composition root. */
export interface ServiceDeps {
  store: PoolStore;
  drivers: DriverRegistry;
  reconciler: Reconciler;
  logger: Logger;
  /** Counters and histograms of what the services do (GET /metrics). */
  metrics: PoolMetrics;
  /** Consensus types autofill spreads the pool over. */
  poolTypes: readonly ConsensusType[];
  /** Most clusters one user may hold at once (0: no limit). */
  maxClustersPerUser: number;
  scheduler: {
    hostFailures: number;
    healthFailures: number;
    sweepGraceMs: number;
  };
}
