/**
 * `chainpool <command>`: the CLI. Every command but check-config and install-service talks
 * to a running daemon over its APIs; none of them opens the database.
 */
import { parseArgs } from "node:util";
import { ConfigError, loadConfigFile } from "../config/load.ts";
import { ApiClient } from "./client.ts";
import { backupCommand, checkConfigCommand, installServiceCommand } from "./admin.ts";
import { chaincodeCommands } from "./chaincode.ts";
import { clustersCommands } from "./clusters.ts";
import { downCommand } from "./down.ts";
import { CliError, EXIT, usageError, type ExitCode } from "./exit-codes.ts";
import { hostsCommands } from "./hosts.ts";
import type { CliIo } from "./output.ts";
import type { Command, CommandContext, OptionSpec } from "./command.ts";
import { poolCommands } from "./pool.ts";

const GLOBAL_OPTIONS: OptionSpec = {
  url: { type: "string" },
  key: { type: "string" },
  config: { type: "string" },
  json: { type: "boolean" },
  timeout: { type: "string" },
  help: { type: "boolean", short: "h" },
};

/** Command name (one or two words) -> command. */
const COMMANDS: Record<string, Command> = {
  ...hostsCommands,
  ...clustersCommands,
  ...poolCommands,
  ...chaincodeCommands,
  "check-config": checkConfigCommand,
  backup: backupCommand,
  down: downCommand,
  "install-service": installServiceCommand,
};

export function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  chainpool ${name}${c.usage ? ` ${c.usage}` : ""}\n      ${c.summary}`);
  return `Usage:
  chainpool serve [--config FILE] [--listen HOST:PORT] [--data DIR]
      run the daemon (also with no command)
  chainpool node --config FILE
      run one chain node
${lines.join("\n")}

Daemon options: --url URL (or CHAINPOOL_URL; default http://127.0.0.1:8080),
  --key KEY (or CHAINPOOL_API_KEY), or --config FILE to take both from the daemon's config
  (its listen address and first operator key); --json for scripts; --timeout SECONDS.
chaincode commands talk to one cluster instead: --url is its api_url (or CHAINPOOL_API_URL),
  as apply printed it; arguments starting with "-" go after "--" or in --args '["-1"]'.
Exit codes: 0 ok, 1 failed, 2 usage or bad request, 3 daemon (or cluster) unreachable, 4 not authorized,
  5 not found, 6 no free cluster (apply), 7 --wait timed out (or down: the daemon still stopping).
`;
}

function clientFrom(flags: CommandContext["flags"], env: CliIo["env"], timeoutMs: number): ApiClient {
  let url = (flags["url"] as string | undefined) ?? env["CHAINPOOL_URL"];
  let key = (flags["key"] as string | undefined) ?? env["CHAINPOOL_API_KEY"];
  const configFile = flags["config"] as string | undefined;
  if (configFile) {
    const config = loadConfigFile(configFile);
    const listen = config.listen.replace(/^0\.0\.0\.0:/, "127.0.0.1:").replace(/^\[::\]:/, "[::1]:");
    url ??= `http://${listen}`;
    key ??= config.api.operator_keys[0];
  }
  return new ApiClient({ url: url ?? "http://127.0.0.1:8080", ...(key !== undefined && key !== "" && { key }), timeoutMs });
}

/** Runs one CLI command; answers the exit code. Expected failures are one line on stderr. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  try {
    if (argv.length === 0 || argv[0] === "help" || argv[0] === "--help" || argv[0] === "-h") {
      io.out(usage());
      return EXIT.OK;
    }
    if (argv[0] === "--version") argv = ["version", ...argv.slice(1)];
    const two = `${argv[0]} ${argv[1] ?? ""}`;
    const [name, rest] = COMMANDS[two] ? [two, argv.slice(2)] : [argv[0]!, argv.slice(1)];
    const command = COMMANDS[name];
    if (!command) {
      const group = Object.keys(COMMANDS).filter((n) => n.startsWith(`${argv[0]} `));
      throw usageError(
        group.length > 0
          ? `${argv[0]}: unknown subcommand ${JSON.stringify(argv[1] ?? "")} (known: ${group.map((g) => g.split(" ")[1]).join(", ")})`
          : `unknown command ${JSON.stringify(argv[0])}; see chainpool --help`,
      );
    }
    let parsed;
    try {
      parsed = parseArgs({ args: [...rest], options: { ...GLOBAL_OPTIONS, ...command.options }, allowPositionals: true, strict: true });
    } catch (err) {
      throw usageError(`${name}: ${(err as Error).message.split("\n")[0]} (usage: chainpool ${name} ${command.usage})`);
    }
    const flags = parsed.values as CommandContext["flags"];
    if (flags["help"]) {
      io.out(`chainpool ${name} ${command.usage}\n  ${command.summary}\n`);
      return EXIT.OK;
    }
    const timeoutText = flags["timeout"] as string | undefined;
    const timeoutS = timeoutText === undefined ? 30 : Number(timeoutText);
    if (!(timeoutS > 0)) throw usageError(`--timeout: expected a number of seconds above 0, got ${JSON.stringify(timeoutText)}`);
    let client: ApiClient | undefined;
    return await command.run({
      io,
      args: parsed.positionals,
      flags,
      json: flags["json"] === true,
      timeoutMs: timeoutS * 1000,
      client: () => (client ??= clientFrom(flags, io.env, timeoutS * 1000)),
    });
  } catch (err) {
    if (err instanceof CliError) {
      io.err(`chainpool: ${err.message}\n`);
      return err.exitCode;
    }
    if (err instanceof ConfigError) {
      io.err(`chainpool: ${(err as Error).message}\n`);
      return EXIT.USAGE;
    }
    io.err(`chainpool: unexpected error: ${(err as Error).stack ?? String(err)}\n`);
    return EXIT.FAILED;
  }
}
