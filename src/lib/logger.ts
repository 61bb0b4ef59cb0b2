/** One line per event: JSON when stdout is not a terminal, readable text when it is. */
export type LogLevel = "debug" | "info" | "warn" | "error";
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  /** Least level written; default "info". */
  level?: LogLevel;
  /** Force JSON lines (default: JSON unless stdout is a TTY). */
  json?: boolean;
  /** Where lines go; default process.stdout. */
  write?: (line: string) => void;
}

export function createLogger(options: LoggerOptions = {}, base: Record<string, unknown> = {}): Logger {
  const min = ORDER[options.level ?? "info"];
  const json = options.json ?? !process.stdout.isTTY;
  const write = options.write ?? ((line: string) => process.stdout.write(line + "\n"));
  const log = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[level] < min) return;
    const all = { ...base, ...fields };
    if (json) {
      write(JSON.stringify({ ts: new Date().toISOString(), level, msg, ...all }, errorReplacer));
    } else {
      const extra = Object.entries(all)
        // A stack or other multi-line string stays on the event's one line.
        .map(([k, v]) => `${k}=${typeof v === "string" ? v.replaceAll("\n", "\\n") : JSON.stringify(v, errorReplacer)}`)
        .join(" ");
      write(`${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${msg}${extra ? " " + extra : ""}`);
    }
  };
  return {
    debug: (m, f) => log("debug", m, f),
    info: (m, f) => log("info", m, f),
    warn: (m, f) => log("warn", m, f),
    error: (m, f) => log("error", m, f),
    child: (fields) => createLogger(options, { ...base, ...fields }),
  };
}

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message };
  return value;
}

/** A logger that drops everything, for tests that do not read logs. */
export const silentLogger: Logger = createLogger({ write: () => {} , level: "error"});
