/**
 * `chainpool chaincode deploy | invoke | query`: for developers at a terminal, against one
 * cluster's api_url (not the daemon): deploy a JavaScript chaincode from a file or directory,
 * call it, ask it.
 */
import { existsSync } from "node:fs";
import { packChaincode } from "./chaincode-package.ts";
import { ChainClient, parseApiUrl, type CommittedTransaction } from "./chain-client.ts";
import type { Command, CommandContext, OptionSpec } from "./command.ts";
import { CliError, EXIT, usageError } from "./exit-codes.ts";
import { json } from "./output.ts";

const CALL_OPTIONS: OptionSpec = {
  ctor: { type: "string" },
  args: { type: "string", multiple: true },
};

/** How often --wait asks the node whether the transaction is committed. */
const WAIT_POLL_MS = 100;

/** The function and arguments of a call, from --ctor, --args and the positionals after the target. */
export interface CtorMsg {
  function: string;
  args: string[];
}

/**
 * Reads the call from the command line. The function is `--ctor FN`, or the first word after
 * the target; the arguments are the remaining words, or `--args A --args B`, or one
 * `--args '["A","B"]'`. `--ctor` also takes Fabric's `-c` JSON: `{"function":"f","args":[..]}`
 * or `{"Args":["f",..]}`. A deploy with no function calls `init`.
 */
export function parseCtorMsg(rest: readonly string[], flags: CommandContext["flags"], method: "deploy" | "invoke" | "query"): CtorMsg {
  const ctor = flags["ctor"] as string | undefined;
  const argFlags = flags["args"] as unknown as string[] | undefined;
  const words = [...rest];
  let fn: string | undefined;
  let args: string[] | undefined;
  if (ctor !== undefined && ctor.trimStart().startsWith("{")) {
    const parsed = parseCtorJson(ctor);
    fn = parsed.function;
    args = parsed.args;
    if (words.length > 0 || argFlags !== undefined) throw usageError("--ctor: a JSON ctorMsg holds the arguments too; give no --args or further words with it");
  } else if (ctor !== undefined) {
    if (ctor === "") throw usageError("--ctor: the function name is empty");
    fn = ctor;
  } else if (words.length > 0) {
    fn = words.shift();
  }
  if (argFlags !== undefined) {
    if (words.length > 0) throw usageError(`--args: give the arguments either as --args or after the function, not both (got ${JSON.stringify(words[0])} too)`);
    args = argFlags.length === 1 && argFlags[0]!.trimStart().startsWith("[") ? parseArgsJson(argFlags[0]!) : argFlags;
  }
  args ??= words;
  if (fn === undefined) {
    if (method !== "deploy") throw usageError(`${method}: which function? give --ctor FN, or the function after the chaincode name`);
    fn = "init";
  }
  return { function: fn, args };
}

function parseCtorJson(text: string): CtorMsg {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw usageError(`--ctor: not valid JSON (${(err as Error).message})`);
  }
  const object = value as Record<string, unknown>;
  const rawArgs = object["args"] ?? object["Args"] ?? [];
  const args = stringArgs(rawArgs, "--ctor args");
  let fn = object["function"] ?? object["Function"];
  if (fn === undefined) fn = args.shift();
  if (typeof fn !== "string" || fn === "") throw usageError(`--ctor: expected {"function": "f", "args": [...]} or {"Args": ["f", ...]}, got ${text}`);
  return { function: fn, args };
}

function parseArgsJson(text: string): string[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw usageError(`--args: starts with "[" but is not a JSON array (${(err as Error).message}); pass such text after the function instead`);
  }
  return stringArgs(value, "--args");
}

/** Chaincode arguments are strings; numbers and booleans are taken as their text. */
function stringArgs(value: unknown, what: string): string[] {
  if (!Array.isArray(value)) throw usageError(`${what}: expected a JSON array of strings`);
  return value.map((item, index) => {
    if (typeof item === "string") return item;
    if (typeof item === "number" || typeof item === "boolean") return String(item);
    throw usageError(`${what}[${index}]: expected a string, got ${JSON.stringify(item)}`);
  });
}

function chainClient(ctx: CommandContext): ChainClient {
  return new ChainClient({ apiUrl: parseApiUrl((ctx.flags["url"] as string | undefined) ?? ctx.io.env["CHAINPOOL_API_URL"]), timeoutMs: ctx.timeoutMs });
}

function target(ctx: CommandContext, what: "PATH" | "NAME", usageLine: string): { target: string; rest: string[] } {
  const [first, ...rest] = ctx.args;
  if (first === undefined) throw usageError(`missing ${what} (usage: chainpool ${usageLine})`);
  return { target: first, rest };
}

/** Polls the transaction until it is committed on the node asked, up to --timeout. */
async function waitForCommit(ctx: CommandContext, client: ChainClient, uuid: string): Promise<CommittedTransaction> {
  const deadline = Date.now() + ctx.timeoutMs;
  for (;;) {
    const committed = await client.transaction(uuid);
    if (committed) return committed;
    if (Date.now() > deadline) throw new CliError(EXIT.TIMEOUT, `transaction ${uuid} not committed within ${ctx.timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, WAIT_POLL_MS));
  }
}

const BUILTIN_HINT = "map, chaincode_example02";

export const chaincodeCommands: Record<string, Command> = {
  "chaincode deploy": {
    usage: "PATH [FN [ARG...]] --url API_URL [--ctor FN] [--args ARG]...",
    summary: `deploy a chaincode: a .js file, a .tar.gz, or a directory with a package.json (packed here), or a built-in (${BUILTIN_HINT}); prints its name`,
    options: CALL_OPTIONS,
    async run(ctx) {
      const { target: path, rest } = target(ctx, "PATH", `chaincode deploy ${this.usage}`);
      const ctorMsg = parseCtorMsg(rest, ctx.flags, "deploy");
      const client = chainClient(ctx);
      let params: Record<string, unknown>;
      let packed: Awaited<ReturnType<typeof packChaincode>> | undefined;
      if (existsSync(path)) {
        packed = await packChaincode(path);
        params = { type: 2, chaincodeID: { path: packed.label }, ctorMsg, codePackage: packed.bytes.toString("base64") };
      } else {
        // Not on disk: a built-in chaincode's path or short name, as Cello's clients deploy them.
        params = { type: 1, chaincodeID: { path }, ctorMsg };
      }
      let name: string;
      try {
        name = await client.chaincode("deploy", params);
      } catch (err) {
        if (!packed && err instanceof CliError && err.exitCode === EXIT.FAILED) {
          throw new CliError(EXIT.USAGE, `${path}: no such file or directory, nor a built-in chaincode of the cluster (${BUILTIN_HINT}): ${err.message}`);
        }
        throw err;
      }
      if (ctx.json) {
        ctx.io.out(json({ name, path: packed?.label ?? path, ...(packed && { kind: packed.kind, package_bytes: packed.bytes.length, files: packed.files }) }));
      } else {
        ctx.io.out(`${name}\n`);
      }
      return EXIT.OK;
    },
  },

  "chaincode invoke": {
    usage: "NAME [FN [ARG...]] --url API_URL [--ctor FN] [--args ARG]... [--wait] [--timeout S]",
    summary: "invoke a chaincode (ordered, on every node); prints the transaction uuid; --wait also its result once committed (its events on stderr)",
    options: { ...CALL_OPTIONS, wait: { type: "boolean" } },
    async run(ctx) {
      const { target: name, rest } = target(ctx, "NAME", `chaincode invoke ${this.usage}`);
      const ctorMsg = parseCtorMsg(rest, ctx.flags, "invoke");
      const client = chainClient(ctx);
      const uuid = await client.chaincode("invoke", { chaincodeID: { name }, ctorMsg });
      if (!ctx.flags["wait"]) {
        ctx.io.out(ctx.json ? json({ uuid }) : `${uuid}\n`);
        return EXIT.OK;
      }
      const committed = await waitForCommit(ctx, client, uuid);
      const result = committed.transactionResult;
      const failed = result?.errorCode === 1;
      if (ctx.json) {
        ctx.io.out(json({ uuid, block: committed.blockNumber, ok: !failed, result: result?.result ?? "", error: result?.error ?? "", ...(result?.events !== undefined && { events: result.events }) }));
      } else {
        ctx.io.out(`${uuid}\n`);
        if (!failed && result?.result) ctx.io.out(`${result.result}\n`);
        // Events are for the person watching, beside the answer scripts read from stdout.
        for (const event of result?.events ?? []) ctx.io.err(`event ${event.name}: ${event.payload}\n`);
      }
      if (failed) {
        if (!ctx.json) ctx.io.err(`chainpool: transaction ${uuid} failed in block ${committed.blockNumber}: ${result?.error}\n`);
        return EXIT.FAILED;
      }
      return EXIT.OK;
    },
  },

  "chaincode query": {
    usage: "NAME [FN [ARG...]] --url API_URL [--ctor FN] [--args ARG]...",
    summary: "ask a chaincode, on the node at API_URL, without a transaction; prints the answer",
    options: CALL_OPTIONS,
    async run(ctx) {
      const { target: name, rest } = target(ctx, "NAME", `chaincode query ${this.usage}`);
      const ctorMsg = parseCtorMsg(rest, ctx.flags, "query");
      const answer = await chainClient(ctx).chaincode("query", { chaincodeID: { name }, ctorMsg });
      ctx.io.out(ctx.json ? json({ result: answer }) : `${answer}\n`);
      return EXIT.OK;
    },
  },
};
