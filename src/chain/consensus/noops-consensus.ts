import { clearImmediate, setImmediate } from "node:timers";
import type { Block, Transaction } from "../ledger/block.ts";
import { timestampFromMillis, timestampToMillis } from "../ledger/block.ts";
import { BlockSync } from "../ledger/block-sync.ts";
import type { Consensus, ConsensusContext, ConsensusStatus, MessageReply, SubmitOutcome } from "./consensus.ts";
import { BLOCKS_MESSAGE, FollowerFeed } from "../ledger/follower-feed.ts";
import { LagWatch } from "./lag-watch.ts";
import { errorMessage } from "../log/logger.ts";
import type { PeerMessage } from "../peer/peer-envelope.ts";
import { MAX_TRANSACTION_BYTES, encodedBytes } from "../size-limits.ts";
import { parseBlock, parseTransaction } from "../peer/wire-format.ts";
import { sharedHeight } from "../ledger/shared-height.ts";

/** Message kind a follower uses to hand a transaction to the leader; the reply is a SubmitOutcome. */
export const SUBMIT_MESSAGE = "submit";

/** How long a follower waits for the leader to take a forwarded transaction. */
const FORWARD_TIMEOUT_MS = 3_000;
/** Most transactions waiting for a block; beyond it the leader turns new ones away. */
const MAX_PENDING = 10_000;
/** How long the leader waits for each peer while recovering blocks at start. */
const LEADER_RECOVERY_FETCH_MS = 1_000;
/** First and longest pause before a follower tries again to recover from a divergence, in ms. */
const DIVERGENCE_RETRY_MIN_MS = 250;
const DIVERGENCE_RETRY_MAX_MS = 5_000;

/** A block of the leader's that this follower could not take because its own state or chain differs. */
interface NoopsDivergence {
  /** The leader's block's number and hash. */
  number: number;
  leader: string;
  /** This follower's head hash then. */
  own: string;
  reason: string;
}

/**
 * Fabric's `noops`: no agreement protocol. The first peer (vp0) is the leader: it orders
 * every transaction, cuts, executes and signs blocks and feeds them to the followers.
 * Followers forward transactions to the leader, accept only blocks signed by it
 * (re-executing each), and catch up from any peer at start or when they see a gap.
 * At start the leader too asks the followers for blocks it lacks (its own, signed by
 * it, which a lost or cut-off ledger tail may have dropped) before it cuts any block, so
 * it never forks the chain the followers already hold.
 *
 * A follower that cannot take a block the leader signed (its re-execution gives another
 * stateHash or results, or the block does not link to its head) has left the leader's
 * chain: it counts the divergence, refuses reads, finds the last block it shares with
 * the leader, rolls back to it (rebuilding its state from its blocks), and pulls the
 * leader's blocks from there; it retries with growing pauses until it holds the block it
 * had refused.
 *
 * Cutting: mode "classic" makes one block per transaction as soon as it arrives; mode ""
 * cuts as soon as the leader is free, with whatever is pending (up to batch_size), so a
 * lone transaction commits at once and a burst shares blocks; mode "batch" waits until
 * batch_size transactions are pending or the oldest has waited batch_timeout_ms. In every
 * mode a block also ends where its next transaction and result would take it past
 * MAX_BLOCK_BYTES (chain.propose decides, since results count); the rest then goes into
 * the next block at once, as a full batch would.
 */
export function createNoopsConsensus(context: ConsensusContext): Consensus {
  return new NoopsConsensus(context);
}

class NoopsConsensus implements Consensus {
  readonly plugin = "noops" as const;
  readonly #context: ConsensusContext;
  readonly #leaderId: string;
  readonly #isLeader: boolean;
  readonly #pending: { tx: Transaction; arrivedAt: number }[] = [];
  readonly #pendingIds = new Set<string>();
  readonly #feeds: FollowerFeed[] = [];
  readonly #sync: BlockSync;
  /** Leader: which followers stay behind it. */
  readonly #lag = new LagWatch();
  #cutTimer: ReturnType<typeof setTimeout> | undefined;
  #cutSoon: ReturnType<typeof setImmediate> | undefined;
  #unsubscribe: (() => void) | undefined;
  /** Leader: false until the start-up recovery round is over; no block is cut before. */
  #recovered = false;
  /** Leader: the last block was full by bytes, so what is pending makes the next one at once. */
  #overflowing = false;
  #closed = false;
  /** Follower: the leader's block it could not take, from then until it holds that block. */
  #diverged: NoopsDivergence | undefined;
  #divergences = 0;
  #lastDivergence: NoopsDivergence | undefined;
  #recovering = false;
  #recoveryFailures = 0;
  #recoveryTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(context: ConsensusContext) {
    this.#context = context;
    const leader = context.config.peers[0];
    if (!leader) throw new Error("noops needs at least one peer");
    this.#leaderId = leader.id;
    this.#isLeader = context.config.node_id === leader.id;
    // The leader first (it has every block), then the others; never this node itself.
    const sources = [leader.id, ...context.config.peers.slice(1).map((peer) => peer.id)].filter(
      (id) => id !== context.config.node_id,
    );
    this.#sync = new BlockSync({
      chain: context.chain,
      transport: context.transport,
      log: context.log,
      sources: () => sources,
      verifyBlockOrigin: (block) => this.verifyBlockOrigin(block),
      ...(this.#isLeader ? { fetchTimeoutMs: LEADER_RECOVERY_FETCH_MS } : { onDiverged: (block, reason) => this.#diverge(block, reason) }),
    });
  }

  start(): void {
    const { config, chain, transport, log } = this.#context;
    if (this.#isLeader) {
      const now = this.#context.now;
      this.#lag.observe(config.node_id, chain.height, now());
      for (const peer of config.peers) {
        if (peer.id === config.node_id) continue;
        const onFollowerHeight = (height: number) => this.#lag.observe(peer.id, height, now());
        this.#feeds.push(new FollowerFeed({ peerId: peer.id, chain, transport, log, onFollowerHeight }));
      }
      this.#unsubscribe = chain.onCommit(() => {
        this.#lag.observe(config.node_id, chain.height, now());
        for (const feed of this.#feeds) feed.kick();
      });
      const heightAtStart = chain.height;
      void this.#sync.catchUp(true).then(() => {
        this.#recovered = true;
        if (chain.height > heightAtStart) log.log("warn", "noops.leader_recovered_blocks", { from_height: heightAtStart, height: chain.height });
        for (const feed of this.#feeds) feed.kick();
        this.#scheduleCut();
      });
    } else {
      this.#sync.catchUpInBackground();
    }
  }

  async submit(tx: Transaction): Promise<SubmitOutcome> {
    if (this.#isLeader) return this.#admit(tx);
    const sent = await this.#context.transport.send(this.#leaderId, SUBMIT_MESSAGE, { transaction: tx }, FORWARD_TIMEOUT_MS);
    if (!sent.ok) {
      return { ok: false, reason: "UNAVAILABLE", message: `ordering node ${this.#leaderId} is unreachable: ${sent.error}` };
    }
    return readSubmitOutcome(sent.body);
  }

  async onMessage(message: PeerMessage): Promise<MessageReply> {
    const body = (message.body ?? {}) as Record<string, unknown>;
    switch (message.kind) {
      case SUBMIT_MESSAGE: {
        if (!this.#isLeader) return { status: 409, body: { Error: `${this.#context.config.node_id} is not the noops leader` } };
        const parsed = parseTransaction(body["transaction"]);
        if (!parsed.ok) return { status: 400, body: { Error: parsed.error } };
        // The follower's chaincode service refused larger ones already; this is for any other sender.
        const bytes = encodedBytes(parsed.value);
        if (bytes > MAX_TRANSACTION_BYTES) {
          return { status: 200, body: { ok: false, reason: "REFUSED", message: `the transaction takes ${bytes} bytes, more than the ${MAX_TRANSACTION_BYTES} a block may hold for one` } };
        }
        return { status: 200, body: this.#admit(parsed.value) };
      }
      case BLOCKS_MESSAGE: {
        if (message.from !== this.#leaderId) {
          return { status: 403, body: { Error: `only the leader ${this.#leaderId} pushes blocks` } };
        }
        if (!Array.isArray(body["blocks"])) return { status: 400, body: { Error: "body.blocks must be an array" } };
        const leaderHeight = typeof body["height"] === "number" ? body["height"] : 0;
        return { status: 200, body: this.#acceptPushed(body["blocks"], leaderHeight) };
      }
      default:
        return { status: 400, body: { Error: `noops has no message kind "${message.kind}"` } };
    }
  }

  verifyBlockOrigin(block: Block): string | null {
    if (block.proposerID !== this.#leaderId) return `block ${block.number} was proposed by "${block.proposerID}", not the leader ${this.#leaderId}`;
    if (!this.#context.keys.verify(this.#leaderId, block.hash, block.signature)) {
      return `block ${block.number} does not carry a valid signature of ${this.#leaderId}`;
    }
    return null;
  }

  status(): ConsensusStatus {
    const { config } = this.#context;
    const status: ConsensusStatus = {
      plugin: this.plugin,
      mode: config.consensus.mode,
      leader: this.#leaderId,
      role: this.#isLeader ? "leader" : "follower",
      batch_size: config.consensus.batch_size,
      batch_timeout_ms: config.consensus.batch_timeout_ms,
    };
    if (!this.#isLeader) {
      status["divergences"] = this.#divergences;
      status["last_divergence"] = this.#lastDivergence ? { ...this.#lastDivergence } : null;
      status["diverged"] = this.#diverged !== undefined;
    }
    if (this.#isLeader) {
      status["pending"] = this.#pending.length;
      status["followers"] = Object.fromEntries(this.#feeds.map((feed) => [feed.peerId, feed.status()]));
      status["lagging"] = this.#lag.lagging(this.#context.now());
    }
    return status;
  }

  diverged(): string | undefined {
    if (!this.#diverged) return undefined;
    return `this node's state diverged from the leader's at block ${this.#diverged.number}; it is recovering it from ${this.#leaderId}: ask another node, or again shortly`;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#recoveryTimer);
    clearTimeout(this.#cutTimer);
    if (this.#cutSoon !== undefined) clearImmediate(this.#cutSoon);
    this.#unsubscribe?.();
    for (const feed of this.#feeds) feed.close();
    this.#sync.close();
  }

  /** Leader: takes a transaction into the queue unless its pre-check fails. Idempotent by uuid. */
  #admit(tx: Transaction): SubmitOutcome {
    if (this.#pendingIds.has(tx.uuid) || this.#context.chain.transaction(tx.uuid)) return { ok: true };
    const precheck = this.#context.chain.precheck(tx);
    if (precheck.errorCode !== 0) return { ok: false, reason: "REFUSED", message: precheck.error };
    if (this.#pending.length >= MAX_PENDING) {
      return { ok: false, reason: "UNAVAILABLE", message: `the leader's queue is full (${MAX_PENDING} transactions)` };
    }
    this.#pending.push({ tx, arrivedAt: this.#context.now() });
    this.#pendingIds.add(tx.uuid);
    this.#scheduleCut();
    return { ok: true };
  }

  #scheduleCut(): void {
    if (this.#closed || !this.#recovered || this.#pending.length === 0 || this.#cutSoon !== undefined) return;
    const { mode, batch_size: batchSize, batch_timeout_ms: timeoutMs } = this.#context.config.consensus;
    const oldest = this.#pending[0]?.arrivedAt ?? this.#context.now();
    const waited = this.#context.now() - oldest;
    if (mode !== "batch" || this.#pending.length >= batchSize || waited >= timeoutMs || this.#overflowing) {
      clearTimeout(this.#cutTimer);
      this.#cutTimer = undefined;
      // setImmediate, not now: transactions that arrive in the same turn share the block.
      this.#cutSoon = setImmediate(() => {
        this.#cutSoon = undefined;
        this.#cut();
      });
    } else if (this.#cutTimer === undefined) {
      this.#cutTimer = setTimeout(() => {
        this.#cutTimer = undefined;
        this.#scheduleCut();
      }, timeoutMs - waited);
    }
  }

  #cut(): void {
    const { chain, config, keys, log, now } = this.#context;
    const limit = config.consensus.mode === "classic" ? 1 : config.consensus.batch_size;
    const candidates = this.#pending.slice(0, limit).map((pending) => pending.tx);
    if (candidates.length === 0) return;
    // Never earlier than the previous block, so block times only move forward.
    const timestamp = timestampFromMillis(Math.max(now(), timestampToMillis(chain.head.timestamp)));
    let block: Block;
    try {
      block = chain.propose({
        transactions: candidates,
        proposerID: config.node_id,
        timestamp,
        consensusMetadata: () => ({}),
        sign: (hash) => keys.sign(hash),
      });
    } catch (error: unknown) {
      // Nothing was committed (the append failed before the state changed): the candidates stay queued; retry.
      log.log("error", "block.propose_failed", { error: errorMessage(error), transactions: candidates.length });
      this.#cutTimer ??= setTimeout(() => {
        this.#cutTimer = undefined;
        this.#scheduleCut();
      }, 1_000);
      return;
    }
    const taken = block.transactions.length;
    this.#pending.splice(0, taken);
    for (const tx of block.transactions) this.#pendingIds.delete(tx.uuid);
    this.#overflowing = taken < candidates.length;
    log.log("info", "block.committed", {
      number: block.number,
      hash: block.hash,
      transactions: taken,
      failed: block.transactionResults.filter((r) => r.errorCode !== 0).length,
      ...(this.#overflowing ? { full: true } : {}),
    });
    this.#scheduleCut();
  }

  /**
   * Follower: applies pushed blocks in order; answers the height reached (and why it
   * stopped). A push without blocks from a leader that is ahead means the blocks were too
   * large to push: they are pulled instead.
   */
  #acceptPushed(rawBlocks: unknown[], leaderHeight: number): { height: number; error?: string } {
    const { chain, log } = this.#context;
    // Recovering from a divergence: it pulls the leader's blocks itself.
    if (this.#diverged) return { height: chain.height, error: "this node is recovering from a divergence" };
    if (rawBlocks.length === 0 && leaderHeight > chain.height) this.#sync.catchUpInBackground();
    for (const raw of rawBlocks) {
      const parsed = parseBlock(raw);
      if (!parsed.ok) return { height: chain.height, error: parsed.error };
      const block = parsed.value;
      if (block.number > chain.height) {
        // The leader resends from the height in the reply; pulling as well covers a leader in backoff.
        this.#sync.catchUpInBackground();
        break;
      }
      if (block.number === chain.height) {
        const origin = this.verifyBlockOrigin(block);
        if (origin !== null) {
          log.log("warn", "block.rejected", { number: block.number, reason: origin });
          return { height: chain.height, error: origin };
        }
      }
      const applied = chain.apply(block);
      if (!applied.ok) {
        log.log("warn", "block.rejected", { number: block.number, reason: applied.message });
        // Signed by the leader, yet not what this node makes of it: its chain or state is not the leader's.
        if ((applied.outcome === "INVALID" || applied.outcome === "CONFLICT") && this.verifyBlockOrigin(block) === null) this.#diverge(block, applied.message);
        return { height: chain.height, error: applied.message };
      }
      if (applied.outcome === "APPENDED") {
        log.log("info", "block.committed", { number: block.number, hash: block.hash, transactions: block.transactions.length });
      }
    }
    return { height: chain.height };
  }

  /** Fabric 0.6 stopped here; this follower counts it, stops serving reads, and recovers from the leader. */
  #diverge(block: Block, reason: string): void {
    if (this.#diverged) return;
    const divergence: NoopsDivergence = { number: block.number, leader: block.hash, own: this.#context.chain.head.hash, reason };
    this.#diverged = divergence;
    this.#divergences++;
    this.#lastDivergence = divergence;
    this.#context.log.log("error", "noops.diverged", { ...divergence, divergences: this.#divergences });
    void this.#recover();
  }

  /**
   * Back to the last block shared with the leader (state rebuilt from the kept blocks, so
   * a state that no longer matched its blocks is made anew too), then the leader's blocks
   * from there. Done once it holds the leader's block it had refused; else again later.
   */
  async #recover(): Promise<void> {
    const divergence = this.#diverged;
    if (!divergence || this.#recovering || this.#closed) return;
    this.#recovering = true;
    const { chain, transport, log } = this.#context;
    try {
      const shared = await sharedHeight(chain, transport, this.#leaderId);
      if (typeof shared === "string") {
        log.log("warn", "noops.recovery_failed", { reason: `${this.#leaderId}: ${shared}` });
      } else if (!this.#closed) {
        if (shared < chain.height) log.log("warn", "noops.ledger_rolled_back", { from_height: chain.height, to_height: shared });
        chain.rollbackTo(shared);
        await this.#sync.catchUp();
        if (chain.block(divergence.number)?.hash === divergence.leader) {
          this.#diverged = undefined;
          this.#recoveryFailures = 0;
          log.log("warn", "noops.divergence_recovered", { number: divergence.number, height: chain.height, divergences: this.#divergences });
          return;
        }
        log.log("warn", "noops.recovery_failed", { reason: `block ${divergence.number} still cannot be taken (height ${chain.height})` });
      }
    } catch (error: unknown) {
      log.log("error", "noops.recovery_failed", { reason: errorMessage(error) });
    } finally {
      this.#recovering = false;
    }
    if (this.#closed) return;
    this.#recoveryFailures++;
    const delay = Math.min(DIVERGENCE_RETRY_MAX_MS, DIVERGENCE_RETRY_MIN_MS * 2 ** (this.#recoveryFailures - 1));
    this.#recoveryTimer = setTimeout(() => {
      this.#recoveryTimer = undefined;
      void this.#recover();
    }, delay);
  }
}

function readSubmitOutcome(body: unknown): SubmitOutcome {
  const reply = body as { ok?: unknown; reason?: unknown; message?: unknown } | null;
  if (reply?.ok === true) return { ok: true };
  const reason = reply?.reason === "REFUSED" ? "REFUSED" : "UNAVAILABLE";
  const message = typeof reply?.message === "string" ? reply.message : "the leader answered an unreadable reply";
  return { ok: false, reason, message };
}
