import { readFileSync } from "node:fs";
import { parse as parseToml } from "smol-toml";
import * as v from "valibot";
import { ConfigSchema, type Config } from "./schema.ts";

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Names each wrong key: "scheduler.health_check_s: Invalid type: Expected number but received \"x\"". */
export function formatIssues(issues: readonly v.BaseIssue<unknown>[]): string[] {
  return issues.map((issue) => {
    const path = v.getDotPath(issue) ?? "(root)";
    if (issue.kind === "schema" && issue.type === "strict_object" && issue.input !== undefined) {
      return `${path}: unknown key`;
    }
    return `${path}: ${issue.message}`;
  });
}

export function parseConfig(raw: unknown): Config {
  const result = v.safeParse(ConfigSchema, raw);
  if (!result.success) throw new ConfigError(formatIssues(result.issues).join("; "));
  return result.output;
}

function readTomlFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`);
  }
  try {
    return parseToml(text) as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError(`${file}: ${(err as Error).message.split("\n")[0]}`);
  }
}

export function loadConfigFile(file: string): Config {
  return parseConfig(readTomlFile(file));
}

/** Validates a config file without using it: every problem, one per entry, each naming its key. */
export function checkConfigFile(file: string): { ok: true; config: Config } | { ok: false; problems: string[] } {
  let raw: Record<string, unknown>;
  try {
    raw = readTomlFile(file);
  } catch (err) {
    return { ok: false, problems: [(err as Error).message] };
  }
  const result = v.safeParse(ConfigSchema, raw);
  return result.success ? { ok: true, config: result.output } : { ok: false, problems: formatIssues(result.issues) };
}

export interface CliOverrides {
  config?: string;
  listen?: string;
  data?: string;
}

export function parseArgs(argv: readonly string[]): CliOverrides {
  const out: CliOverrides = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
    const value = () => {
      const next = inline ?? argv[++i];
      if (next === undefined) throw new ConfigError(`${flag} needs a value`);
      return next;
    };
    switch (flag) {
      case "--config":
        out.config = value();
        break;
      case "--listen":
        out.listen = value();
        break;
      case "--data":
        out.data = value();
        break;
      default:
        throw new ConfigError(`unknown option ${arg} (known: --config FILE, --listen HOST:PORT, --data DIR)`);
    }
  }
  return out;
}

/** argv -> config: the file (if any), then command-line overrides, validated as one. */
export function resolveConfig(argv: readonly string[]): Config {
  const args = parseArgs(argv);
  const base: Record<string, unknown> = {};
  if (args.config) Object.assign(base, readTomlFile(args.config));
  if (args.listen !== undefined) base["listen"] = args.listen;
  if (args.data !== undefined) base["data_dir"] = args.data;
  return parseConfig(base);
}
