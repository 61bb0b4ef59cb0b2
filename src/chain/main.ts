/**
 * The chain node program: `chain-node --config FILE`. The composition root and the only
 * file that touches the process: arguments, exit codes, signals.
 *
 * Exit codes: 0 after SIGTERM/SIGINT; 2 for a bad command line or config (one line on
 * stderr says what is wrong); 1 when the node cannot run (port in use, another cluster's
 * ledger in data_dir, an unexpected error).
 */
import { readFileSync } from "node:fs";
import process from "node:process";
import { parseArgs } from "node:util";
import { startChainNode, UnsupportedConsensusError } from "./chain-node.ts";
import { GenesisMismatchError } from "./ledger/chain.ts";
import { RotatingLogFile } from "./log/log-file.ts";
import { createLogger, errorMessage } from "./log/logger.ts";
import { parseNodeConfig, parseUrlSecret } from "./node-config-validation.ts";
import { TEST_FAULTS_ENV } from "../lib/node-config.ts";

const startedAt = performance.now();

function die(code: number, message: string): never {
  process.stderr.write(`chain-node: ${message}\n`);
  process.exit(code);
}

function readConfigPath(): string {
  try {
    const { values } = parseArgs({ options: { config: { type: "string" } }, strict: true });
    if (values.config) return values.config;
  } catch (error: unknown) {
    die(2, `${errorMessage(error)} (usage: chain-node --config FILE)`);
  }
  die(2, "missing --config FILE (usage: chain-node --config FILE)");
}

const configPath = readConfigPath();
let raw: unknown;
try {
  raw = JSON.parse(readFileSync(configPath, "utf8"));
} catch (error: unknown) {
  die(2, `cannot read config ${configPath}: ${errorMessage(error)}`);
}
const parsed = parseNodeConfig(raw, { testFaultsAllowed: process.env[TEST_FAULTS_ENV] === "1" });
if (!parsed.ok) die(2, `config ${configPath}: ${parsed.error}`);
const config = parsed.config;
function openLogFile(): RotatingLogFile | undefined {
  if (!config.log) return undefined;
  try {
    return new RotatingLogFile({ path: config.log.file, maxBytes: config.log.max_bytes });
  } catch (error: unknown) {
    die(1, `cannot open log.file ${config.log.file}: ${errorMessage(error)}`);
  }
}
const logFile = openLogFile();
let urlSecret: string | undefined;
if (config.url_secret_file !== undefined) {
  let text: string;
  try {
    text = readFileSync(config.url_secret_file, "utf8");
  } catch (error: unknown) {
    die(2, `config ${configPath}: url_secret_file: cannot read ${config.url_secret_file}: ${errorMessage(error)}`);
  }
  const secret = parseUrlSecret(text);
  if (!secret.ok) die(2, `config ${configPath}: url_secret_file ${config.url_secret_file} ${secret.error}`);
  urlSecret = secret.secret;
}
const log = createLogger({
  nodeId: config.node_id,
  clusterId: config.cluster_id,
  write: logFile ? (line) => logFile.write(line) : (line) => process.stdout.write(line),
});

let node: Awaited<ReturnType<typeof startChainNode>> | undefined;
let stopping = false;
function stop(signal: string): void {
  if (stopping) return;
  stopping = true;
  log.log("info", "node.stopping", { signal });
  if (!node) process.exit(0);
  // The ledger is fsync'd per block, so nothing is lost if closing takes too long.
  setTimeout(() => process.exit(0), 800).unref();
  node.close().then(
    () => {
      log.log("info", "node.stopped", {});
      process.exit(0);
    },
    (error: unknown) => {
      log.log("error", "node.stop_failed", { error: errorMessage(error) });
      process.exit(1);
    },
  );
}
process.on("uncaughtException", (error) => {
  log.log("error", "node.crashed", { error: errorMessage(error) });
  process.exit(1);
});
process.on("unhandledRejection", (error) => {
  log.log("error", "node.crashed", { error: errorMessage(error) });
  process.exit(1);
});
process.on("SIGTERM", () => stop("SIGTERM"));
process.on("SIGINT", () => stop("SIGINT"));

try {
  node = await startChainNode({ config, log, ...(urlSecret !== undefined && { urlSecret }) });
} catch (error: unknown) {
  const code = error instanceof UnsupportedConsensusError ? 2 : 1;
  if (!(error instanceof GenesisMismatchError || error instanceof UnsupportedConsensusError)) {
    log.log("error", "node.start_failed", { error: errorMessage(error) });
  }
  die(code, errorMessage(error));
}
if (stopping) {
  await node.close();
  process.exit(0);
}
log.log("info", "node.ready", { ready_ms: Math.round(performance.now() - startedAt) });
