import { join } from "node:path";
import type { Block, Transaction } from "../../ledger/block.ts";
import { computeBlockHash, timestampFromMillis, timestampToMillis } from "../../ledger/block.ts";
import type { Consensus, ConsensusContext, ConsensusStatus, FrameReceipt, MessageReply, SubmitOutcome } from "../consensus.ts";
import { FrameLink } from "../../peer/frame-link.ts";
import { HttpClient } from "../../rest/http-client.ts";
import type { LogLevel } from "../../log/logger.ts";
import { LagWatch } from "../lag-watch.ts";
import { errorMessage } from "../../log/logger.ts";
import { derivePairKeys } from "../../peer/pair-keys.ts";
import { FrameCodec } from "./pbft-frames.ts";
import { PbftLogFile } from "./pbft-log.ts";
import { requestKey } from "./pbft-messages.ts";
import type { PbftBatch } from "./pbft-messages.ts";
import { PbftReplica } from "./pbft-replica.ts";
import type { TransferTarget } from "./pbft-replica.ts";
import type { PeerMessage } from "../../peer/peer-envelope.ts";
import { MAX_BATCH_BYTES, MAX_TRANSACTION_BYTES, encodedBytes } from "../../size-limits.ts";
import { parseBlock, parseTransaction } from "../../peer/wire-format.ts";
import { sharedHeight } from "../../ledger/shared-height.ts";

/** K: a checkpoint every this many sequence numbers. */
export const PBFT_CHECKPOINT_INTERVAL = 32;
/** L: the primary assigns at most this many numbers above the last stable checkpoint. */
export const PBFT_WATERMARK_WINDOW = 4 * PBFT_CHECKPOINT_INTERVAL;
/** batch mode: batches in progress at once before the next one waits and grows. */
const MAX_BATCHES_IN_PROGRESS = 4;
const TICK_MS = 20;
const STATUS_INTERVAL_MS = 500;
const REQUEST_TIMEOUT_MS = 2_000;
const VIEW_CHANGE_TIMEOUT_MS = 2_000;
/** Most blocks one state transfer holds in memory before applying them. */
const MAX_TRANSFER_BLOCKS = 100_000;

/** What a pbft block carries in `consensusMetadata` (covered by its hash). */
interface PbftBlockMetadata {
  pbft_seq: number;
  batch_digest: string;
  /** Exactly-once keys (`client:number`) of the requests it executed, in order. */
  requests: string[];
}

function readMetadata(block: Block): PbftBlockMetadata | undefined {
  const m = block.consensusMetadata as Partial<PbftBlockMetadata>;
  if (typeof m.pbft_seq !== "number" || typeof m.batch_digest !== "string" || !Array.isArray(m.requests)) return undefined;
  return m as PbftBlockMetadata;
}

const EVENT_LEVELS: Readonly<Record<string, LogLevel>> = {
  "pbft.message_rejected": "warn",
  "pbft.primary_suspected": "warn",
  "pbft.checkpoint_diverged": "error",
  "pbft.divergence_recovered": "warn",
  "pbft.request_timeout": "warn",
};

/**
 * Fabric's `pbft`: Castro–Liskov PBFT over the node's chain. The protocol is the pure
 * state machine in pbft-replica.ts; this plugin feeds it (client requests from the API,
 * MAC'd frames from `POST /peer/frame`, a clock tick every 20 ms) and carries out what it
 * decides: frames to peers (frame-link.ts), committed batches executed into blocks, and
 * state transfers.
 *
 * Every correct node makes the same block from a committed batch: the batch's proposer
 * and timestamp (set by the primary that cut it), its requests minus those executed
 * before (exactly-once by client id and request number, and by uuid), and the sequence
 * number, batch digest and request keys in `consensusMetadata`. The block's signature is
 * empty: a pbft block is proven by the quorum that committed it, not by one signer, so a
 * node takes blocks from elsewhere only by state transfer, checked against a state
 * digest (the head block hash) that f+1 replicas or a checkpoint quorum vouched for.
 */
export function createPbftConsensus(context: ConsensusContext): Consensus {
  return new PbftConsensus(context);
}

class PbftConsensus implements Consensus {
  readonly plugin = "pbft" as const;
  readonly #context: ConsensusContext;
  readonly #codec: FrameCodec;
  readonly #replica: PbftReplica;
  readonly #links = new Map<string, FrameLink>();
  readonly #http = new HttpClient();
  readonly #executedKeys = new Set<string>();
  readonly #pbftLog: PbftLogFile;
  /** Hashes of blocks being applied by state transfer (their origin is proven by then). */
  readonly #certified = new Set<string>();
  /** Which replicas (this one included) stay behind, by last executed sequence number. */
  readonly #lag = new LagWatch();
  #lastRequestNumber = 0;
  #ticker: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  #malformedMessages = 0;

  constructor(context: ConsensusContext) {
    this.#context = context;
    const { config, chain, keys, log, now } = context;
    const members = config.peers.map((peer) => peer.id);
    const pairKeys = derivePairKeys({ clusterId: config.cluster_id, selfId: config.node_id, privateKeyPem: config.private_key, peers: config.peers });
    this.#codec = new FrameCodec({ selfId: config.node_id, pairKeys, epoch: now() });

    const executed = this.#readExecuted();
    const stableSeq = Math.floor(executed / PBFT_CHECKPOINT_INTERVAL) * PBFT_CHECKPOINT_INTERVAL;
    this.#pbftLog = new PbftLogFile(join(config.data_dir, "pbft-log.jsonl"));
    const { mode, batch_size: batchSize, batch_timeout_ms: batchTimeoutMs } = config.consensus;
    this.#replica = new PbftReplica(
      {
        id: config.node_id,
        members,
        checkpointInterval: PBFT_CHECKPOINT_INTERVAL,
        watermarkWindow: PBFT_WATERMARK_WINDOW,
        mode,
        batchSize,
        batchTimeoutMs,
        maxBatchesInProgress: MAX_BATCHES_IN_PROGRESS,
        maxBatchBytes: MAX_BATCH_BYTES,
        requestTimeoutMs: REQUEST_TIMEOUT_MS + 2 * batchTimeoutMs,
        viewChangeTimeoutMs: VIEW_CHANGE_TIMEOUT_MS,
        statusIntervalMs: STATUS_INTERVAL_MS,
        executed,
        stable: { seq: stableSeq, digest: this.#digestAt(stableSeq) },
        recovered: this.#pbftLog.log.recovered(),
        now: now(),
      },
      {
        send: (to, message) => this.#links.get(to)?.push(message),
        execute: (seq, digest, batch) => this.#execute(seq, digest, batch),
        isExecuted: (request) => this.#executedKeys.has(requestKey(request)),
        stateDigest: () => chain.head.hash,
        verifyRequest: (request) => this.#codec.verifyRequest(request),
        sign: (text) => keys.sign(text),
        verify: (replica, text, signature) => keys.verify(replica, text, signature),
        startTransfer: (target) => void this.#transfer(target),
        log: (event, fields) => log.log(EVENT_LEVELS[event] ?? "info", event, fields),
        persist: (record) => this.#pbftLog.append(record),
      },
    );
    for (const peer of config.peers) {
      if (peer.id === config.node_id) continue;
      this.#links.set(peer.id, new FrameLink({ peerId: peer.id, url: peer.url, codec: this.#codec, http: this.#http, log, now }));
    }
  }

  start(): void {
    if (this.#closed) return;
    this.#replica.start();
    this.#ticker = setInterval(() => {
      const now = this.#context.now();
      this.#replica.tick(now);
      this.#observeSelf(now);
    }, TICK_MS);
  }

  /**
   * Orders every invoke, as Fabric 0.6's pbft did: no pre-check, because this node's state
   * may lag the others' (a deploy committed elsewhere a moment ago), and a refusal here
   * would depend on which node the client asked. A failing invoke is recorded as failed
   * in its block, the same on every node.
   */
  async submit(tx: Transaction): Promise<SubmitOutcome> {
    const request = this.#codec.authenticate({ client: this.#context.config.node_id, number: this.#nextRequestNumber(), operation: tx });
    const result = this.#replica.submit(request, this.#context.now());
    if (result === "full") return { ok: false, reason: "UNAVAILABLE", message: "too many requests wait for ordering; try again" };
    return { ok: true };
  }

  receiveFrame(frame: string): FrameReceipt {
    const opened = this.#codec.open(frame);
    if (!opened.ok) return { rejected: opened.reason, error: opened.error };
    if (opened.malformed > 0) {
      this.#malformedMessages += opened.malformed;
      this.#context.log.log("warn", "pbft.malformed_messages", { from: opened.from, count: opened.malformed });
    }
    const now = this.#context.now();
    // Commits in one frame often release many batches: their blocks share one fsync.
    this.#context.chain.syncOnce(() => {
      for (const message of opened.messages) {
        if (message.type === "status") this.#lag.observe(opened.from, message.executed, now);
        this.#replica.receive(opened.from, message, now);
      }
    });
    return {};
  }

  async onMessage(message: PeerMessage): Promise<MessageReply> {
    return { status: 400, body: { Error: `pbft takes its messages as frames on POST /peer/frame, not kind "${message.kind}"` } };
  }

  diverged(): string | undefined {
    const status = this.#replica.status();
    if (!status.diverged) return undefined;
    const last = status.last_divergence;
    const where = last === null ? "" : last.own === "" ? ` before sequence number ${last.seq}` : ` at checkpoint ${last.seq}`;
    return `this node's state diverged from the quorum's${where}; it is recovering it by state transfer: ask another node, or again shortly`;
  }

  verifyBlockOrigin(block: Block): string | null {
    if (!readMetadata(block)) return `block ${block.number} carries no pbft sequence number`;
    if (!this.#certified.has(block.hash)) return `block ${block.number} is taken only by state transfer, against a state digest f+1 replicas vouched for`;
    return null;
  }

  status(): ConsensusStatus {
    const { config } = this.#context;
    const replica = this.#replica.status();
    return {
      plugin: this.plugin,
      mode: config.consensus.mode,
      role: replica.primary === config.node_id ? "primary" : "backup",
      ...replica,
      f: this.#replica.f,
      quorum: this.#replica.quorum,
      batch_size: config.consensus.batch_size,
      batch_timeout_ms: config.consensus.batch_timeout_ms,
      checkpoint_interval: PBFT_CHECKPOINT_INTERVAL,
      malformed_messages: this.#malformedMessages,
      links: Object.fromEntries([...this.#links.values()].map((link) => [link.peerId, link.status()])),
      lagging: this.#observeSelf(this.#context.now()).lagging(this.#context.now()),
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#ticker);
    for (const link of this.#links.values()) link.close();
    this.#http.close();
    this.#pbftLog.close();
  }

  /** This replica's own progress (null batches included, which make no block) for the lag watch. */
  #observeSelf(now: number): LagWatch {
    this.#lag.observe(this.#context.config.node_id, this.#replica.lastExecuted, now);
    return this.#lag;
  }

  /** What the ledger says was executed: the request keys (kept in #executedKeys), and the last sequence number. */
  #readExecuted(): number {
    const { chain } = this.#context;
    this.#executedKeys.clear();
    let executed = 0;
    for (let n = 1; n < chain.height; n++) {
      const meta = readMetadata(chain.block(n) as Block);
      if (!meta) continue;
      for (const key of meta.requests) this.#executedKeys.add(key);
      executed = Math.max(executed, meta.pbft_seq);
    }
    return executed;
  }

  /** Unique per node across restarts: microseconds of the wall clock, or one more than the last. */
  #nextRequestNumber(): number {
    this.#lastRequestNumber = Math.max(this.#lastRequestNumber + 1, this.#context.now() * 1000);
    return this.#lastRequestNumber;
  }

  /** The state digest after `seq`: the hash of the last block at or below it. */
  #digestAt(seq: number): string {
    const { chain } = this.#context;
    for (let n = chain.height - 1; n >= 1; n--) {
      const block = chain.block(n) as Block;
      const meta = readMetadata(block);
      if (meta && meta.pbft_seq <= seq) return block.hash;
    }
    return (chain.block(0) as Block).hash;
  }

  #execute(seq: number, digest: string, batch: PbftBatch): void {
    const { chain, log } = this.#context;
    const transactions: Transaction[] = [];
    const keys: string[] = [];
    const batchKeys = new Set<string>();
    const uuids = new Set<string>();
    for (const request of batch.requests) {
      const key = requestKey(request);
      if (this.#executedKeys.has(key) || batchKeys.has(key)) continue;
      batchKeys.add(key);
      const parsed = parseTransaction(request.operation);
      if (!parsed.ok) continue; // every correct node skips it the same way
      const tx = parsed.value;
      if (uuids.has(tx.uuid) || chain.transaction(tx.uuid)) continue;
      if (encodedBytes(tx) > MAX_TRANSACTION_BYTES) continue; // cannot fit a block; its node refused it already
      uuids.add(tx.uuid);
      transactions.push(tx);
      keys.push(key);
    }
    for (const key of batchKeys) this.#executedKeys.add(key);
    // Never earlier than the previous block, so block times only move forward.
    const timestamp = timestampFromMillis(Math.max(batch.timestamp, timestampToMillis(chain.head.timestamp)));
    const keyOf = new Map(transactions.map((tx, index) => [tx.uuid, keys[index] as string]));
    // A batch whose transactions and results outgrow one block becomes several, cut where
    // chain.propose stops; every node cuts at the same places, since execution is the same.
    let rest = transactions;
    while (rest.length > 0) {
      let block: Block;
      try {
        block = chain.propose({
          transactions: rest,
          proposerID: batch.proposer,
          timestamp,
          consensusMetadata: (taken) =>
            ({ pbft_seq: seq, batch_digest: digest, requests: taken.map((tx) => keyOf.get(tx.uuid) ?? "") }) satisfies PbftBlockMetadata,
          sign: () => "",
        });
      } catch (error: unknown) {
        // The ledger cannot be written: this node cannot go on agreeing with the others.
        log.log("error", "pbft.execute_failed", { seq, error: errorMessage(error) });
        throw error;
      }
      rest = rest.slice(block.transactions.length);
      log.log("info", "block.committed", {
        number: block.number,
        hash: block.hash,
        seq,
        transactions: block.transactions.length,
        failed: block.transactionResults.filter((r) => r.errorCode !== 0).length,
        ...(rest.length > 0 ? { full: true } : {}),
      });
    }
  }

  async #transfer(target: TransferTarget): Promise<void> {
    const { log, now } = this.#context;
    for (const source of target.sources) {
      if (this.#closed) return;
      try {
        const outcome = await this.#transferFrom(source, target);
        if (typeof outcome !== "string") {
          this.#replica.transferDone(target.seq, target.digest, now(), outcome.forked);
          return;
        }
        log.log("warn", "pbft.transfer_source_failed", { source, seq: target.seq, reason: outcome });
      } catch (error: unknown) {
        log.log("error", "pbft.transfer_failed", { source, error: errorMessage(error) });
      }
    }
    this.#replica.transferFailed();
  }

  /**
   * Fetches the blocks up to the one whose hash is `target.digest`, checks the hash chain,
   * then applies them. They are fetched from the last block this ledger shares with the
   * source: its head when it is merely behind; an earlier one when its own blocks left the
   * agreed chain (a divergence), which are then rolled back, but only once the source's
   * blocks are in hand and proven to chain to the vouched-for digest. Answers whether it
   * rolled back (`forked`), or why this source would not do.
   */
  async #transferFrom(source: string, target: TransferTarget): Promise<{ forked: boolean } | string> {
    const { chain, transport, log } = this.#context;
    if (chain.head.hash === target.digest && !target.diverged) return { forked: false };
    const shared = await sharedHeight(chain, transport, source);
    if (typeof shared === "string") return shared;
    const base = chain.block(shared - 1) as Block;
    const collected: Block[] = [];
    let reached = base.hash === target.digest;
    while (!reached) {
      const fetched = await transport.fetchBlocks(source, shared + collected.length, 5_000);
      if (!fetched.ok) return fetched.error;
      if (fetched.page.blocks.length === 0) return `${source} has no block with hash ${target.digest}`;
      for (const raw of fetched.page.blocks) {
        const parsed = parseBlock(raw);
        if (!parsed.ok) return parsed.error;
        collected.push(parsed.value);
        if (parsed.value.hash === target.digest) {
          reached = true;
          break;
        }
      }
      if (collected.length > MAX_TRANSFER_BLOCKS) return `more than ${MAX_TRANSFER_BLOCKS} blocks to transfer`;
    }
    // The vouched-for digest is the last block's hash; the chain of hashes proves every block before it.
    let previous = base.hash;
    for (const [index, block] of collected.entries()) {
      if (block.number !== shared + index || block.previousBlockHash !== previous || computeBlockHash(block) !== block.hash || !readMetadata(block)) {
        return `block ${block.number} from ${source} does not chain to the vouched-for state`;
      }
      previous = block.hash;
    }
    if (chain.block(shared - 1)?.hash !== base.hash) return `the ledger changed while blocks were fetched from ${source}`;
    const forked = shared < chain.height;
    if (forked) {
      log.log("warn", "pbft.ledger_rolled_back", { from_height: chain.height, to_height: shared, head: base.hash, source });
      chain.rollbackTo(shared);
      this.#readExecuted();
    }
    for (const block of collected) {
      this.#certified.add(block.hash);
      const applied = chain.apply(block);
      this.#certified.delete(block.hash);
      if (!applied.ok) return applied.message;
      for (const key of readMetadata(block)?.requests ?? []) this.#executedKeys.add(key);
      log.log("info", "block.committed", { number: block.number, hash: block.hash, transactions: block.transactions.length, by: "state_transfer" });
    }
    log.log("info", "sync.caught_up", { source, height: chain.height, seq: target.seq });
    return { forked };
  }
}

