import { clipStrings } from "./clip.ts";

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

/** Most characters of one string field in a log line (error messages quote what callers sent). */
export const LOG_STRING_LIMIT = 500;
/** Most characters of one log line; a longer one is replaced by its head fields and its size. */
export const LOG_LINE_LIMIT = 8 * 1024;

/**
 * Every line is bounded (strings clipped to LOG_STRING_LIMIT, the line to LOG_LINE_LIMIT),
 * whatever a caller put in the fields: lines often quote what a request carried.
 */
export function createLogger(options: LoggerOptions): Logger {
  const now = options.now ?? Date.now;
  return {
    log(level, event, fields = {}) {
      const head = { ts: new Date(now()).toISOString(), level, event, node: options.nodeId, cluster: options.clusterId };
      let line = JSON.stringify({ ...head, ...(clipStrings(fields, LOG_STRING_LIMIT) as Record<string, unknown>) });
      if (line.length > LOG_LINE_LIMIT) line = JSON.stringify({ ...head, fields_dropped: true, line_characters: line.length });
      options.write(`${line}\n`);
    },
  };
}

/** A logger that drops everything, for unit tests. */
export const silentLogger: Logger = { log: () => {} };

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
