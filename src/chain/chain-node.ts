import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { NodeConfig } from "../lib/node-config.ts";
import { Chain } from "./ledger/chain.ts";
import { ChaincodeService } from "./chaincode/chaincode-service.ts";
import { JsEngine } from "./chaincode/js/engine.ts";
import { JsChaincodes } from "./chaincode/js/js-chaincodes.ts";
import type { Consensus, ConsensusFactory } from "./consensus/consensus.ts";
import { createGenesisBlock } from "./ledger/genesis.ts";
import { HttpClient } from "./rest/http-client.ts";
import { startHttpServer } from "./rest/http-server.ts";
import type { RunningHttpServer } from "./rest/http-server.ts";
import type { Logger } from "./log/logger.ts";
import { createNoopsConsensus } from "./consensus/noops-consensus.ts";
import { createPbftConsensus } from "./consensus/pbft/pbft-consensus.ts";
import { PeerKeys } from "./peer/peer-keys.ts";
import { PeerReachability } from "./peer/peer-reachability.ts";
import { PeerTransport } from "./peer/peer-transport.ts";
import { createRestApi } from "./rest/rest-api.ts";
import { CLIENT_BODY_LIMIT, PEER_BODY_LIMIT } from "./size-limits.ts";

/** A GET carries no body; a POST to /peer/* up to PEER_BODY_LIMIT, any other up to CLIENT_BODY_LIMIT. */
export function bodyLimit(method: string, path: string): number {
  if (method === "GET" || method === "HEAD") return 0;
  return path.startsWith("/peer/") ? PEER_BODY_LIMIT : CLIENT_BODY_LIMIT;
}

function readLedgerBytes(dataDir: string): Uint8Array {
  try {
    return readFileSync(join(dataDir, "ledger.jsonl"));
  } catch {
    return new Uint8Array();
  }
}

/** Consensus plugins this build can run; config may name others that are not built yet. */
const CONSENSUS_FACTORIES: Partial<Record<NodeConfig["consensus"]["plugin"], ConsensusFactory>> = {
  noops: createNoopsConsensus,
  pbft: createPbftConsensus,
};

export class UnsupportedConsensusError extends Error {}

export interface ChainNodeOptions {
  config: NodeConfig;
  log: Logger;
  now?: () => number;
  /** The cluster's URL secret, read from `config.url_secret_file`; absent when the config names none. */
  urlSecret?: string;
}

export interface RunningChainNode {
  readonly chain: Chain;
  /** Stops consensus, the server and outgoing connections, and closes the ledger; idempotent. */
  close(): Promise<void>;
}

/**
 * Builds and starts one chain node: ledger (replayed from data_dir), identity, transport,
 * consensus, REST API, then the HTTP server, then consensus. Throws on what prevents
 * running (another cluster's ledger, a port in use, an unsupported plugin).
 */
export async function startChainNode(options: ChainNodeOptions): Promise<RunningChainNode> {
  const { config, log } = options;
  const now = options.now ?? Date.now;
  const startedAt = now();
  const factory = CONSENSUS_FACTORIES[config.consensus.plugin];
  if (!factory) throw new UnsupportedConsensusError(`consensus.plugin "${config.consensus.plugin}" is not supported by this chain node yet`);

  mkdirSync(config.data_dir, { recursive: true });
  const genesis = createGenesisBlock({ clusterId: config.cluster_id, peers: config.peers });
  // pbft's quorum holds every committed block (a node that lost some gets them back by state
  // transfer), so its nodes fsync in the background instead of once per block.
  const durability = config.consensus.plugin === "pbft" ? "background" : "each";
  const faults = config.test_faults?.corrupt_block === undefined ? undefined : { corruptBlock: config.test_faults.corrupt_block };
  if (faults) log.log("warn", "node.test_faults_armed", { ...config.test_faults });
  // The JavaScript chaincode engine is loaded only when something needs it: here, a ledger
  // that holds a JavaScript deploy (replay executes it); later, a request or a reply
  // carrying one (below). A node that never sees one never loads it.
  const engine = new JsEngine();
  await engine.prepareFor(readLedgerBytes(config.data_dir));
  const js = new JsChaincodes({ engine, log });
  const chain = Chain.open({ dataDir: config.data_dir, genesis, log, durability, js, ...(faults && { faults }) });
  const keys = new PeerKeys({ selfId: config.node_id, privateKeyPem: config.private_key, peers: config.peers });
  const http = new HttpClient({ prepare: (text) => engine.prepareFor(text) });
  const transport = new PeerTransport({ clusterId: config.cluster_id, keys, peers: config.peers, http, now });
  let consensus: Consensus | undefined;
  let server: RunningHttpServer | undefined;
  try {
    consensus = factory({ config, chain, keys, transport, log, now });
    const chaincode = new ChaincodeService({ chain, consensus, log, now, ...(config.max_package_bytes !== undefined && { maxPackageBytes: config.max_package_bytes }) });
    const reachability = new PeerReachability({ selfId: config.node_id, peers: config.peers, transport });
    const urlSecret = options.urlSecret;
    const api = createRestApi({ config, chain, consensus, chaincode, keys, reachability, log, startedAt, now, ...(urlSecret !== undefined && { urlSecret }) });
    server = await startHttpServer({
      host: config.listen.host,
      port: config.listen.port,
      handler: async (request) => {
        await engine.prepareFor(request.body);
        return api(request);
      },
      bodyLimit,
      screen: api.screen,
      redactPath: api.redactPath,
      log,
    });
    consensus.start();
  } catch (error: unknown) {
    await consensus?.close();
    http.close();
    chain.close();
    throw error;
  }
  log.log("info", "node.started", {
    listen: `${config.listen.host}:${config.listen.port}`,
    consensus: config.consensus.plugin,
    mode: config.consensus.mode,
    height: chain.height,
    start_ms: now() - startedAt,
  });

  const running = { consensus, server };
  let closing: Promise<void> | undefined;
  return {
    chain,
    close() {
      closing ??= (async () => {
        await running.consensus.close();
        await running.server.close();
        http.close();
        chain.close();
      })();
      return closing;
    },
  };
}
