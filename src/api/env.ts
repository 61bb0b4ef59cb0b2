import type { HostService } from "../services/hosts.ts";
import type { PoolService } from "../services/pool.ts";
import type { Shutdown } from "../services/shutdown.ts";
import type { Watchdog } from "../services/watchdog.ts";
import type { PoolStore } from "../store/pool-store.ts";
import type { Logger } from "../lib/logger.ts";

/** Services the handlers reach through `c.var.services`. */
export interface Services {
  pool: PoolService;
  hosts: HostService;
  watchdog: Watchdog;
  shutdown: Shutdown;
  store: PoolStore;
  logger: Logger;
  version: string;
}

export type Role = "front" | "operator";

export interface AppEnv {
  Variables: {
    services: Services;
    requestId: string;
    role: Role;
    /** Largest request body accepted, in bytes. */
    maxBodyBytes: number;
  };
}
