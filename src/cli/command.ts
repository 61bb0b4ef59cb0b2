/** The shape of a CLI command and what it gets to run. */
import type { ParseArgsConfig } from "node:util";
import type { ApiClient } from "./client.ts";
import { usageError, type ExitCode } from "./exit-codes.ts";
import type { CliIo } from "./output.ts";

export type OptionSpec = NonNullable<ParseArgsConfig["options"]>;

export interface CommandContext {
  io: CliIo;
  /** Positional arguments after the command's name. */
  args: string[];
  flags: Record<string, string | boolean | undefined>;
  /** --json: one JSON document on stdout, nothing else. */
  json: boolean;
  /** --timeout in milliseconds: per request, and for --wait. */
  timeoutMs: number;
  /** The daemon's API client (from --url/--key, CHAINPOOL_URL/CHAINPOOL_API_KEY, or --config). */
  client(): ApiClient;
}

export interface Command {
  /** One line: arguments and options. */
  usage: string;
  /** What it does, for help. */
  summary: string;
  options?: OptionSpec;
  run(ctx: CommandContext): Promise<ExitCode>;
}

/** The positional arguments a command needs, by name, or a usage error naming the missing one. */
export function positional(ctx: CommandContext, names: readonly string[], usageLine: string): string[] {
  if (ctx.args.length < names.length) throw usageError(`missing ${names[ctx.args.length]} (usage: chainpool ${usageLine})`);
  if (ctx.args.length > names.length) throw usageError(`unexpected argument ${JSON.stringify(ctx.args[names.length])} (usage: chainpool ${usageLine})`);
  return ctx.args;
}
