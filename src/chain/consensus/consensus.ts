import type { ConsensusMode, ConsensusPlugin, NodeConfig } from "../../lib/node-config.ts";
import type { Block, Transaction } from "../ledger/block.ts";
import type { Chain } from "../ledger/chain.ts";
import type { Logger } from "../log/logger.ts";
import type { PeerMessage, RejectionReason } from "../peer/peer-envelope.ts";
import type { PeerKeys } from "../peer/peer-keys.ts";
import type { PeerTransport } from "../peer/peer-transport.ts";

/**
 * The seam between a node and its ordering protocol. A node hands every new transaction
 * to `submit` and every authenticated message from another node to `onMessage`; the
 * plugin decides the order and gets blocks into the chain, either as orderer
 * (`chain.propose`) or by checking someone else's (`verifyBlockOrigin`, then
 * `chain.apply`). `noops` is one plugin (vp0 orders); `pbft` is meant to be another,
 * with its own message kinds and its own proof in `Block.consensusMetadata`.
 */
export interface Consensus {
  readonly plugin: ConsensusPlugin;
  /** Begins ordering or following; called once the node's HTTP server is listening. */
  start(): void;
  /**
   * Takes a transaction accepted by this node's API. `ok` means it will be ordered (its
   * outcome, success or chaincode error, will be in a block); REFUSED that a pre-check
   * failed and it will never be; UNAVAILABLE that no orderer could take it now.
   */
  submit(tx: Transaction): Promise<SubmitOutcome>;
  /** A message whose signature and membership are already checked; answers the HTTP reply. */
  onMessage(message: PeerMessage): Promise<MessageReply>;
  /**
   * Optional: takes a raw `POST /peer/frame` body, a batch of messages the plugin
   * authenticates itself (pbft: per-pair MACs, much cheaper than a signature per
   * message). A refusal names one of the counted rejection reasons.
   */
  receiveFrame?(frame: string): FrameReceipt;
  /**
   * Whether a block not made here comes from whoever may make it (noops: signed by the
   * leader; pbft: a commit certificate). Null when it does, else the reason.
   */
  verifyBlockOrigin(block: Block): string | null;
  /**
   * Optional: why this node's state must not be read now (it diverged from the others' and
   * is being recovered), or undefined when it may. Client reads (`/chain`, blocks,
   * transactions, queries) then answer 503 with this reason.
   */
  diverged?(): string | undefined;
  /** Shown under `consensus` in GET /status. */
  status(): ConsensusStatus;
  /** Stops timers and background work; idempotent. */
  close(): Promise<void>;
}

export type SubmitOutcome = { ok: true } | { ok: false; reason: "REFUSED" | "UNAVAILABLE"; message: string };

export type FrameReceipt = { rejected?: undefined } | { rejected: RejectionReason; error: string };

export interface MessageReply {
  status: number;
  body: unknown;
}

export interface ConsensusStatus {
  plugin: ConsensusPlugin;
  mode: ConsensusMode;
  [detail: string]: unknown;
}

/** What a plugin gets from the node that runs it. */
export interface ConsensusContext {
  config: NodeConfig;
  chain: Chain;
  keys: PeerKeys;
  transport: PeerTransport;
  log: Logger;
  /** Wall clock in ms; only an orderer reads it, to stamp blocks. */
  now: () => number;
}

export type ConsensusFactory = (context: ConsensusContext) => Consensus;
