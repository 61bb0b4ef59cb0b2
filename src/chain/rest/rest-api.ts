import process from "node:process";
import type { NodeConfig } from "../../lib/node-config.ts";
import type { Chain } from "../ledger/chain.ts";
import type { ChaincodeService } from "../chaincode/chaincode-service.ts";
import type { Consensus } from "../consensus/consensus.ts";
import type { Logger } from "../log/logger.ts";
import { FRAME_HEAD_BYTES, screenFrameHead } from "../consensus/pbft/pbft-frames.ts";
import { ENVELOPE_HEAD_BYTES, REJECTION_REASONS, openEnvelope, screenEnvelopeHead } from "../peer/peer-envelope.ts";
import { verifyPeerGet } from "../peer/peer-get-auth.ts";
import type { RejectionReason } from "../peer/peer-envelope.ts";
import type { PeerKeys } from "../peer/peer-keys.ts";
import type { PeerReachability } from "../peer/peer-reachability.ts";
import { PAGE_BUDGET_BYTES } from "../size-limits.ts";
import { createUrlSecretGate } from "./url-secret-gate.ts";

export interface ApiRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: URLSearchParams;
  body: string;
}

export interface ApiResponse {
  status: number;
  body: unknown;
}

export type ApiHandler = (request: ApiRequest) => Promise<ApiResponse>;

/** A route's look at the start of a request body, to refuse it before the rest is read. */
export interface BodyScreen {
  /** How many bytes of the body it needs. */
  bytes: number;
  /**
   * `head`: the first `bytes` of the body as UTF-8 (all of it when `complete`). A response
   * refuses the request; undefined lets it through.
   */
  check(head: string, complete: boolean): ApiResponse | undefined;
}

export interface RestApiOptions {
  config: NodeConfig;
  chain: Chain;
  consensus: Consensus;
  chaincode: ChaincodeService;
  keys: PeerKeys;
  reachability: PeerReachability;
  log: Logger;
  startedAt: number;
  now: () => number;
  /** The cluster's URL secret: client routes answer only under `/<secret>/`. Absent: at the root. */
  urlSecret?: string;
}

/** Fabric 0.6 peer type VALIDATOR. */
const PEER_TYPE_VALIDATOR = 1;
/** Most blocks in one GET /peer/blocks page (bytes: PAGE_BUDGET_BYTES). */
const PAGE_BLOCKS = 256;

const REJECTION_STATUS: Readonly<Record<RejectionReason, number>> = {
  malformed: 400,
  non_member: 403,
  bad_signature: 401,
  misdirected: 403,
  bad_mac: 401,
  replayed: 409,
};

/**
 * What a request without the URL secret, or with a wrong one, gets: the same bare 404 for
 * every path and method, naming nothing (not the node, the cluster, nor that a secret exists).
 */
const HIDDEN: ApiResponse = { status: 404, body: { Error: "not found" } };

/**
 * The node's REST API as a function from request to response, with no socket, so it can
 * be driven directly in tests. Public routes keep Fabric 0.6's peer shapes (errors are
 * `{"Error": "..."}` as there); `/peer/*` routes are for the other nodes. With a URL secret,
 * client routes are served under `/<secret>/` only, and the node-to-node GETs only to
 * requests a member signed (the other `/peer/` routes carry signed or MAC'd bodies).
 */
export function createRestApi(options: RestApiOptions): ApiHandler & {
  rejections: () => Record<RejectionReason, number>;
  /** What the HTTP server runs on the first bytes of a body (see BodyScreen). */
  screen: (method: string, path: string) => BodyScreen | undefined;
  /** A path as log lines may show it (see UrlSecretGate.redact). */
  redactPath: (path: string) => string;
} {
  const { config, chain, consensus, chaincode, keys, reachability, log } = options;
  const gate = createUrlSecretGate(options.urlSecret);
  const rejected = Object.fromEntries(REJECTION_REASONS.map((reason) => [reason, 0])) as Record<RejectionReason, number>;
  /** Counts, logs and answers a refused node-to-node message or frame. */
  const refuse = (reason: RejectionReason, error: string): ApiResponse => {
    rejected[reason]++;
    log.log("warn", "peer.message_rejected", { reason, error });
    return { status: REJECTION_STATUS[reason], body: { Error: error } };
  };
  const screens: Record<string, BodyScreen> = {
    "/peer/message": {
      bytes: ENVELOPE_HEAD_BYTES,
      check: (head, complete) => {
        const refused = screenEnvelopeHead(keys, config.cluster_id, head, complete);
        return refused ? refuse(refused.reason, refused.error) : undefined;
      },
    },
    "/peer/frame": {
      bytes: FRAME_HEAD_BYTES,
      check: (head, complete) => {
        if (!consensus.receiveFrame) return notFound(`consensus ${consensus.plugin} takes no frames`);
        const refused = screenFrameHead(head, complete, config.node_id, (id) => keys.isMember(id));
        return refused ? refuse(refused.reason, refused.error) : undefined;
      },
    },
  };
  const addresses = new Map(config.peers.map((peer) => [peer.id, new URL(peer.url).host]));

  /** A diverged node answers no reads from its state until it has the others' again (see consensus.diverged). */
  const refusedRead = (): ApiResponse | undefined => {
    const reason = consensus.diverged?.();
    return reason === undefined ? undefined : { status: 503, body: { Error: reason } };
  };

  const chainInfo = () => ({
    height: chain.height,
    currentBlockHash: chain.head.hash,
    previousBlockHash: chain.head.previousBlockHash,
  });

  // `peer`: a node-to-node route, outside the URL secret.
  const routes: { method: string; pattern: RegExp; peer?: true; handle: (match: string[], request: ApiRequest) => Promise<ApiResponse> | ApiResponse }[] = [
    { method: "GET", pattern: /^\/chain\/?$/, handle: () => refusedRead() ?? { status: 200, body: chainInfo() } },
    {
      method: "GET",
      pattern: /^\/chain\/blocks\/([^/]+)\/?$/,
      handle: ([raw = ""]) => {
        if (!/^\d{1,15}$/.test(raw)) return notFound(`block number "${raw}" is not a non-negative integer`, 400);
        const refused = refusedRead();
        if (refused) return refused;
        const block = chain.block(Number(raw));
        if (!block) return notFound(`block ${raw} not found (height ${chain.height})`);
        return { status: 200, body: block };
      },
    },
    {
      method: "GET",
      pattern: /^\/transactions\/([^/]+)\/?$/,
      handle: ([uuid = ""]) => {
        const refused = refusedRead();
        if (refused) return refused;
        const committed = chain.transaction(safeDecode(uuid));
        if (!committed) return notFound(`transaction ${uuid} is not committed`);
        return {
          status: 200,
          body: { ...committed.transaction, blockNumber: committed.blockNumber, transactionResult: committed.result },
        };
      },
    },
    {
      method: "GET",
      pattern: /^\/network\/peers\/?$/,
      handle: async () => {
        const ids = await reachability.reachable();
        return {
          status: 200,
          body: { peers: ids.map((id) => ({ ID: { name: id }, address: addresses.get(id) ?? "", type: PEER_TYPE_VALIDATOR })) },
        };
      },
    },
    { method: "POST", pattern: /^\/chaincode\/?$/, handle: async (_, request) => chaincode.handle(request.body) },
    {
      method: "GET",
      pattern: /^\/status\/?$/,
      handle: async () => {
        const reachable = await reachability.reachable();
        return {
          status: 200,
          body: {
            node_id: config.node_id,
            cluster_id: config.cluster_id,
            ...chainInfo(),
            consensus: consensus.status(),
            peers_connected: reachable.filter((id) => id !== config.node_id),
            rejected_messages: { ...rejected },
            uptime_ms: options.now() - options.startedAt,
            memory: memory(),
          },
        };
      },
    },
    { method: "GET", pattern: /^\/peer\/ping$/, peer: true, handle: () => ({ status: 200, body: { node_id: config.node_id, cluster_id: config.cluster_id } }) },
    {
      method: "GET",
      pattern: /^\/peer\/blocks$/,
      peer: true,
      handle: (_, request) => {
        const from = Number(request.query.get("from") ?? "0");
        if (!Number.isSafeInteger(from) || from < 0) return notFound("from must be a non-negative integer", 400);
        return { status: 200, body: { height: chain.height, blocks: chain.blocksFrom(from, PAGE_BLOCKS, PAGE_BUDGET_BYTES) } };
      },
    },
    {
      method: "POST",
      pattern: /^\/peer\/message$/,
      peer: true,
      handle: async (_, request) => {
        let input: unknown;
        try {
          input = JSON.parse(request.body);
        } catch {
          input = undefined;
        }
        const opened = openEnvelope(keys, config.cluster_id, input);
        if (!opened.ok) return refuse(opened.reason, opened.error);
        return consensus.onMessage(opened.message);
      },
    },
    {
      method: "POST",
      pattern: /^\/peer\/frame$/,
      peer: true,
      handle: (_, request) => {
        if (!consensus.receiveFrame) return notFound(`consensus ${consensus.plugin} takes no frames`);
        const received = consensus.receiveFrame(request.body);
        if (received.rejected) return refuse(received.rejected, received.error);
        return { status: 200, body: { ok: true } };
      },
    },
  ];

  const handler = async (request: ApiRequest): Promise<ApiResponse> => {
    const routed = gate.route(request.path);
    if (routed.kind === "hidden") return HIDDEN;
    const peer = routed.kind === "peer";
    if (peer && gate.enabled && request.method === "GET") {
      const signed = verifyPeerGet({ keys, clusterId: config.cluster_id, path: routed.path, query: request.query, now: options.now() });
      if (!signed) return HIDDEN;
    }
    const path = routed.path;
    let pathMatched = false;
    for (const route of routes) {
      if ((route.peer === true) !== peer) continue;
      const match = route.pattern.exec(path);
      if (!match) continue;
      pathMatched = true;
      if (route.method !== request.method) continue;
      return route.handle(match.slice(1), { ...request, path });
    }
    if (pathMatched) return { status: 405, body: { Error: `${request.method} is not allowed on ${path}` } };
    return notFound(`no route for ${request.method} ${path}`);
  };
  return Object.assign(handler, {
    rejections: () => ({ ...rejected }),
    screen: (method: string, path: string) => (method === "POST" ? screens[path] : undefined),
    redactPath: gate.redact,
  });
}

function notFound(message: string, status = 404): ApiResponse {
  return { status, body: { Error: message } };
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Resident and heap size, for the daemon's watchdog and for sizing a pool. */
function memory(): { rss_bytes: number; heap_total_bytes: number; heap_used_bytes: number } {
  const usage = process.memoryUsage();
  return { rss_bytes: usage.rss, heap_total_bytes: usage.heapTotal, heap_used_bytes: usage.heapUsed };
}
