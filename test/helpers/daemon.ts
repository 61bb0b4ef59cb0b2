import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../../src/config/load.ts";
import type { Config } from "../../src/config/schema.ts";
import type { Host } from "../../src/core/types.ts";
import { createDaemon, type Daemon } from "../../src/daemon.ts";
import type { DriverFactory } from "../../src/drivers/contract.ts";
import { createMemoryDriver, type MemoryDriver } from "../../src/drivers/memory.ts";
import { silentLogger } from "../../src/lib/logger.ts";

export interface TestDaemon {
  daemon: Daemon;
  config: Config;
  dir: string;
  /** The memory driver made for each memory host, by host id. */
  memory: Map<string, MemoryDriver>;
  /** Calls the app in-process (no socket) and answers the parsed envelope. */
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Reply>;
  /** Adds a memory host with `ready` clusters already running and healthy. */
  addMemoryHost(options?: { name?: string; capacity?: number; ready?: number; types?: Array<{ plugin: "noops" | "pbft"; mode: "" | "classic" | "batch"; size: number }> }): Promise<Host>;
  close(): Promise<void>;
}

export interface Reply {
  status: number;
  body: { code: number; status: "OK" | "FAIL"; error: string; data: any };
}

let seq = 0;

/**
 * A daemon on a temp directory with a real SQLite file, memory hosts only, and its
 * scheduler not started: tests drive the jobs themselves.
 */
export function createTestDaemon(raw: Record<string, unknown> = {}, extraFactories: Record<string, DriverFactory> = {}, options: { consoleClock?: () => number } = {}): TestDaemon {
  const dir = mkdtempSync(join(tmpdir(), `chainpool-test-${process.pid}-${seq++}-`));
  const config = parseConfig({ data_dir: dir, hosts: [], ...raw });
  const memory = new Map<string, MemoryDriver>();
  const daemon = createDaemon({
    config,
    logger: silentLogger,
    ...(options.consoleClock && { consoleClock: options.consoleClock }),
    factories: {
      memory: (host) => {
        const d = createMemoryDriver(host);
        memory.set(host.id, d);
        return d;
      },
      ...extraFactories,
    },
  });
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> => {
    const init: RequestInit = { method, headers: { ...headers } };
    if (body !== undefined) {
      if (typeof body === "string") init.body = body;
      else {
        init.body = JSON.stringify(body);
        (init.headers as Record<string, string>)["content-type"] ??= "application/json";
      }
    }
    const res = await daemon.app.request(path, init);
    const text = await res.text();
    let parsed: Reply["body"];
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new Error(`non-JSON reply ${res.status}: ${text}`);
    }
    return { status: res.status, body: parsed };
  };
  const t: TestDaemon = {
    daemon,
    config,
    dir,
    memory,
    call,
    async addMemoryHost(options = {}) {
      const name = options.name ?? `mem${seq++}`;
      const types = options.types ?? [{ plugin: "noops" as const, mode: "" as const, size: 4 }];
      const host = daemon.services.hosts.add({
        name,
        type: "memory",
        daemon_url: `memory://${name}`,
        capacity: options.capacity ?? Math.max(options.ready ?? 0, 4),
        autofill: false,
        schedulable: true,
        log_level: "INFO",
        params: {},
      });
      const store = daemon.services.store;
      for (let i = 0; i < (options.ready ?? 0); i++) {
        const type = types[i % types.length]!;
        const made = store.createCluster(host.id, type);
        if (!made.ok) throw new Error(`cannot create on ${name}: ${made.reason}`);
      }
      await daemon.deps.reconciler.runOnce();
      return host;
    },
    async close() {
      await daemon.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return t;
}
