import type { EventFeed } from "../services/event-feed.ts";
import type { HostService } from "../services/hosts.ts";
import type { PoolMetrics } from "../services/metrics.ts";
import type { PoolService } from "../services/pool.ts";
import type { Shutdown } from "../services/shutdown.ts";
import type { Watchdog } from "../services/watchdog.ts";
import type { PoolStore } from "../store/pool-store.ts";
import type { Logger } from "../lib/logger.ts";
import type { RateLimiter } from "./rate-limit.ts";

/** Services the handlers reach through `c.var.services`. */
export interface Services {
  pool: PoolService;
  hosts: HostService;
  watchdog: Watchdog;
  shutdown: Shutdown;
  /** What the daemon did: history and live events (GET /api/events, the console). */
  events: EventFeed;
  /** Prometheus metrics (GET /metrics). */
  metrics: PoolMetrics;
  store: PoolStore;
  logger: Logger;
  version: string;
}

/** What a caller's key opens: front (/v2), operator (/v2, /api, /metrics), metrics (/metrics only). */
export type Role = "front" | "operator" | "metrics";

export interface AppEnv {
  Variables: {
    services: Services;
    requestId: string;
    role: Role;
    /** Who is calling, for per-key limits: a digest of the API key, never the key ("loopback" with no keys). */
    caller: string;
    /** Applies per API key, when `api.apply_rate_per_key` is set. */
    applyLimiter: RateLimiter | undefined;
    /** Largest request body accepted, in bytes. */
    maxBodyBytes: number;
    /** Whether /v2 answers show the host's daemon_url and worker_api (`api.show_daemon_url`). */
    showDaemonUrl: boolean;
    /** Milliseconds between heartbeat comments on an event stream. */
    eventHeartbeatMs: number;
  };
}
