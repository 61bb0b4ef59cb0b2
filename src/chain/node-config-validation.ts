import { createPrivateKey, createPublicKey } from "node:crypto";
import type { KeyObject } from "node:crypto";
import { CONSENSUS_MODES, CONSENSUS_PLUGINS, NODE_LOG_MIN_BYTES, TEST_FAULTS_ENV } from "../lib/node-config.ts";
import type { ConsensusMode, ConsensusPlugin, NodeConfig, NodeLogConfig, NodePeer, NodeTestFaults } from "../lib/node-config.ts";
import { URL_SECRET_PATTERN } from "../lib/url-secret.ts";
import { MAX_CODE_PACKAGE_BYTES } from "./size-limits.ts";

export type ConfigParseResult = { ok: true; config: NodeConfig } | { ok: false; error: string };

/**
 * Checks a parsed config file field by field (the chain node carries no schema library,
 * to stay dependency-free) and answers the first problem as one sentence naming the field.
 * Beyond shapes it checks what would otherwise fail later and less clearly: peer ids are
 * unique, this node is one of the peers, every key parses as Ed25519 and the private key
 * belongs to this node's public key.
 */
export function parseNodeConfig(input: unknown, options: { testFaultsAllowed?: boolean } = {}): ConfigParseResult {
  try {
    return { ok: true, config: readConfig(input, options.testFaultsAllowed ?? false) };
  } catch (error: unknown) {
    if (error instanceof ConfigError) return { ok: false, error: error.message };
    throw error;
  }
}

class ConfigError extends Error {}

function fail(message: string): never {
  throw new ConfigError(message);
}

function readConfig(input: unknown, testFaultsAllowed: boolean): NodeConfig {
  const root = readObject(input, "config");
  const clusterId = readString(root, "cluster_id", "cluster_id");
  const nodeId = readString(root, "node_id", "node_id");
  const listenObject = readObject(root["listen"], "listen");
  const host = readString(listenObject, "host", "listen.host");
  const port = readInteger(listenObject, "port", "listen.port", 1, 65_535);
  const dataDir = readString(root, "data_dir", "data_dir");
  const consensusObject = readObject(root["consensus"], "consensus");
  const plugin = readChoice<ConsensusPlugin>(consensusObject, "plugin", "consensus.plugin", CONSENSUS_PLUGINS);
  const mode = readChoice<ConsensusMode>(consensusObject, "mode", "consensus.mode", CONSENSUS_MODES);
  const batchSize = readInteger(consensusObject, "batch_size", "consensus.batch_size", 1, 100_000);
  const batchTimeoutMs = readInteger(consensusObject, "batch_timeout_ms", "consensus.batch_timeout_ms", 0, 3_600_000);
  const peers = readPeers(root["peers"]);
  const privateKey = readString(root, "private_key", "private_key");
  const log = root["log"] === undefined ? undefined : readLog(root["log"]);
  const urlSecretFile = root["url_secret_file"] === undefined ? undefined : readString(root, "url_secret_file", "url_secret_file");
  const testFaults = root["test_faults"] === undefined ? undefined : readTestFaults(root["test_faults"], testFaultsAllowed);
  const maxPackageBytes = root["max_package_bytes"] === undefined ? undefined : readInteger(root, "max_package_bytes", "max_package_bytes", 1, MAX_CODE_PACKAGE_BYTES);

  if (plugin === "pbft" && peers.length < 4) {
    fail(`consensus.plugin "pbft" needs at least 4 peers (N >= 3f+1 with f >= 1), not ${peers.length}`);
  }
  const self = peers.find((peer) => peer.id === nodeId);
  if (!self) fail(`node_id "${nodeId}" is not one of the peers (${peers.map((p) => p.id).join(", ")})`);
  const privateKeyObject = parseKey(() => createPrivateKey(privateKey), "private_key", "private");
  const derivedPublic = createPublicKey(privateKeyObject).export({ type: "spki", format: "der" });
  const declaredPublic = createPublicKey(self.public_key).export({ type: "spki", format: "der" });
  if (!derivedPublic.equals(declaredPublic)) {
    fail(`private_key does not belong to the public_key of peer "${nodeId}"`);
  }
  return {
    cluster_id: clusterId,
    node_id: nodeId,
    listen: { host, port },
    data_dir: dataDir,
    consensus: { plugin, mode, batch_size: batchSize, batch_timeout_ms: batchTimeoutMs },
    peers,
    private_key: privateKey,
    ...(log && { log }),
    ...(urlSecretFile !== undefined && { url_secret_file: urlSecretFile }),
    ...(testFaults && { test_faults: testFaults }),
    ...(maxPackageBytes !== undefined && { max_package_bytes: maxPackageBytes }),
  };
}

/** Faults for tests: refused outright unless the environment allows them, so no real cluster runs one by mistake. */
function readTestFaults(value: unknown, allowed: boolean): NodeTestFaults {
  if (!allowed) fail(`test_faults is for tests only: a node takes it only with ${TEST_FAULTS_ENV}=1 in its environment`);
  const object = readObject(value, "test_faults");
  for (const key of Object.keys(object)) if (key !== "corrupt_block") fail(`test_faults.${key} is not a known fault (corrupt_block)`);
  return object["corrupt_block"] === undefined ? {} : { corrupt_block: readInteger(object, "corrupt_block", "test_faults.corrupt_block", 1, Number.MAX_SAFE_INTEGER) };
}

function readLog(value: unknown): NodeLogConfig {
  const object = readObject(value, "log");
  return {
    file: readString(object, "file", "log.file"),
    max_bytes: readInteger(object, "max_bytes", "log.max_bytes", NODE_LOG_MIN_BYTES, Number.MAX_SAFE_INTEGER),
  };
}

/**
 * The URL secret from the text of `url_secret_file` (one line; a final newline is fine), or
 * why not. The message never quotes the text: it may be a secret with a typo in it.
 */
export function parseUrlSecret(text: string): { ok: true; secret: string } | { ok: false; error: string } {
  const secret = text.replace(/\r?\n$/, "");
  if (!URL_SECRET_PATTERN.test(secret)) {
    return { ok: false, error: `holds no URL secret (one line of 22 to 256 characters A-Z a-z 0-9 _ -, ${secret.length} characters found)` };
  }
  return { ok: true, secret };
}

function readPeers(value: unknown): NodePeer[] {
  if (!Array.isArray(value) || value.length === 0) fail("peers must be a non-empty array");
  const peers: NodePeer[] = [];
  const seen = new Set<string>();
  value.forEach((item: unknown, index: number) => {
    const field = `peers[${index}]`;
    const object = readObject(item, field);
    const id = readString(object, "id", `${field}.id`);
    if (seen.has(id)) fail(`${field}.id "${id}" appears twice`);
    seen.add(id);
    const url = readString(object, "url", `${field}.url`);
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      fail(`${field}.url "${url}" is not a URL`);
    }
    if (parsed.protocol !== "http:") fail(`${field}.url "${url}" must be an http:// URL`);
    const publicKey = readString(object, "public_key", `${field}.public_key`);
    parseKey(() => createPublicKey(publicKey), `${field}.public_key`, "public");
    peers.push({ id, url: url.replace(/\/+$/, ""), public_key: publicKey });
  });
  return peers;
}

function parseKey(parse: () => KeyObject, field: string, kind: "public" | "private"): KeyObject {
  let key: KeyObject;
  try {
    key = parse();
  } catch {
    fail(`${field} is not a PEM ${kind} key`);
  }
  if (key.asymmetricKeyType !== "ed25519") {
    fail(`${field} must be an Ed25519 key, not ${key.asymmetricKeyType ?? "unknown"}`);
  }
  return key;
}

function readObject(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail(`${field} must be an object`);
  return value as Record<string, unknown>;
}

function readString(object: Record<string, unknown>, key: string, field: string): string {
  const value = object[key];
  if (typeof value !== "string" || value.trim() === "") fail(`${field} must be a non-empty string`);
  return value;
}

function readInteger(object: Record<string, unknown>, key: string, field: string, min: number, max: number): number {
  const value = object[key];
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    fail(`${field} must be an integer from ${min} to ${max}`);
  }
  return value;
}

function readChoice<T extends string>(
  object: Record<string, unknown>,
  key: string,
  field: string,
  choices: readonly T[],
): T {
  const value = object[key];
  if (typeof value !== "string" || !(choices as readonly string[]).includes(value)) {
    fail(`${field} must be one of ${choices.map((c) => JSON.stringify(c)).join(", ")}`);
  }
  return value as T;
}
