export type LogLevel = "debug" | "info" | "warn" | "error";

export interface Logger {
  /** One JSON line per event: `{"ts", "level", "event", "node", ...fields}`. */
  log(level: LogLevel, event: string, fields?: Record<string, unknown>): void;
}

export interface LoggerOptions {
  /** Added to every line so that interleaved node logs stay attributable. */
  nodeId: string;
  clusterId: string;
  /** Where lines go; stdout in the node process. */
  write: (line: string) => void;
  /** Clock for `ts`, injectable for tests. */
  now?: () => number;
}

export function createLogger(options: LoggerOptions): Logger {
  const now = options.now ?? Date.now;
  return {
    log(level, event, fields = {}) {
      const line = JSON.stringify({
        ts: new Date(now()).toISOString(),
        level,
        event,
        node: options.nodeId,
        cluster: options.clusterId,
        ...fields,
      });
      options.write(`${line}\n`);
    },
  };
}

/** A logger that drops everything, for unit tests. */
export const silentLogger: Logger = { log: () => {} };

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
