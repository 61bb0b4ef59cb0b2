import { Buffer } from "node:buffer";
import { join } from "node:path";
import { computeBlockHash } from "./block.ts";
import type { Block, ChaincodeRef, Timestamp, Transaction, TransactionResult, UnsignedBlock } from "./block.ts";
import { canonicalJson } from "./canonical-json.ts";
import type { ChaincodeResult } from "../chaincode/chaincode.ts";
import { executeBlock, executeTransaction, queryChaincode } from "../chaincode/executor.ts";
import { JsEngine } from "../chaincode/js/engine.ts";
import { JsChaincodes } from "../chaincode/js/js-chaincodes.ts";
import { LedgerFile } from "./ledger-file.ts";
import type { LedgerDurability } from "./ledger-file.ts";
import type { Logger } from "../log/logger.ts";
import { BLOCK_RESERVE_BYTES, MAX_BLOCK_BYTES, encodedBytes } from "../size-limits.ts";
import { parseBlock } from "../peer/wire-format.ts";
import { StateOverlay, WorldState } from "./world-state.ts";

export interface ChainOptions {
  /** Directory of this node's ledger; `ledger.jsonl` lives in it. */
  dataDir: string;
  /** The cluster's block 0; a ledger that starts differently belongs to another cluster. */
  genesis: Block;
  log: Logger;
  /** When appended blocks reach the disk (default "each": before `propose`/`apply` return). */
  durability?: LedgerDurability;
  /**
   * The JavaScript chaincode runtime (default: one of its own, its engine not loaded). Its
   * engine must be loaded before a block with a JavaScript deploy is executed: the node
   * loads it at start when the ledger holds one (see JsEngine.prepareFor).
   */
  js?: JsChaincodes;
}

export interface CommittedTransaction {
  transaction: Transaction;
  result: TransactionResult;
  blockNumber: number;
}

export interface Proposal {
  /** Candidates in order; the block takes the longest prefix that fits MAX_BLOCK_BYTES (at least one). */
  transactions: Transaction[];
  proposerID: string;
  timestamp: Timestamp;
  /** The block's consensus metadata, given the transactions it took. */
  consensusMetadata: (taken: readonly Transaction[]) => Record<string, unknown>;
  /** Signs the block hash with the proposer's key. */
  sign: (hash: string) => string;
}

/**
 * What `apply` made of a block: APPENDED and KNOWN (already held, same hash) are fine;
 * GAP means blocks are missing before it; CONFLICT that another block holds its number;
 * INVALID that it does not follow from this chain (hash, results or stateHash differ).
 */
export type ApplyOutcome =
  | { ok: true; outcome: "APPENDED" | "KNOWN" }
  | { ok: false; outcome: "GAP" | "CONFLICT" | "INVALID"; message: string };

export class GenesisMismatchError extends Error {}

/**
 * The ledger of one node: the hash-chained blocks, the world state they lead to and an
 * index of committed transactions. Blocks enter only through `propose` (the orderer
 * executes and signs a new block) or `apply` (a block from elsewhere is re-executed and
 * must match), each written to disk before any state changes.
 */
export class Chain {
  readonly #file: LedgerFile;
  readonly #blocks: Block[] = [];
  /** Each block's encoded size once known (counted when first needed, not at replay). */
  readonly #blockBytes: (number | undefined)[] = [];
  readonly #state = new WorldState();
  readonly #transactions = new Map<string, { blockNumber: number; index: number }>();
  readonly #listeners = new Set<(block: Block) => void>();
  readonly #log: Logger;
  readonly #js: JsChaincodes;

  private constructor(file: LedgerFile, log: Logger, js: JsChaincodes) {
    this.#file = file;
    this.#log = log;
    this.#js = js;
  }

  /**
   * Loads the ledger and replays it into state. A torn last line is dropped; a block that
   * no longer verifies is cut off with everything after it (catch-up fetches them again).
   * Throws GenesisMismatchError when the file holds another cluster's chain.
   */
  static open(options: ChainOptions): Chain {
    const { file, contents } = LedgerFile.open(join(options.dataDir, "ledger.jsonl"));
    const chain = new Chain(file, options.log, options.js ?? new JsChaincodes({ engine: new JsEngine(), log: options.log }));
    file.durability = options.durability ?? "each";
    if (contents.droppedBytes > 0) {
      options.log.log("warn", "ledger.torn_tail_dropped", { bytes: contents.droppedBytes });
    }
    const [first, ...rest] = contents.records;
    if (first === undefined) {
      file.truncate(0);
      file.append(options.genesis);
    } else {
      const parsed = parseBlock(first);
      if (!parsed.ok || parsed.value.hash !== options.genesis.hash) {
        file.close();
        throw new GenesisMismatchError(
          `${file.path} starts with another genesis block than cluster ${String(options.genesis.consensusMetadata["cluster_id"])}'s`,
        );
      }
    }
    chain.#commit(options.genesis, new Map());
    for (const record of rest) {
      const parsed = parseBlock(record);
      const verdict = parsed.ok ? chain.#verify(parsed.value) : { ok: false as const, message: parsed.error };
      if (!verdict.ok) {
        options.log.log("warn", "ledger.invalid_tail_dropped", {
          from_block: chain.height,
          blocks: contents.records.length - chain.height,
          reason: verdict.message,
        });
        file.truncate(chain.height);
        break;
      }
      chain.#commit((parsed as { value: Block }).value, verdict.writes);
    }
    return chain;
  }

  /** Number of blocks, genesis included. */
  get height(): number {
    return this.#blocks.length;
  }

  get head(): Block {
    const head = this.#blocks.at(-1);
    if (!head) throw new Error("A chain always holds its genesis block");
    return head;
  }

  block(number: number): Block | undefined {
    return this.#blocks[number];
  }

  /** Blocks from `from` on, at most `maxCount` and `maxBytes` of JSON (but always one, if there is one). */
  blocksFrom(from: number, maxCount: number, maxBytes: number): Block[] {
    const blocks: Block[] = [];
    let bytes = 0;
    for (let n = from; n < this.#blocks.length && blocks.length < maxCount; n++) {
      const block = this.#blocks[n];
      if (!block) break;
      bytes += this.blockBytes(n);
      if (blocks.length > 0 && bytes > maxBytes) break;
      blocks.push(block);
    }
    return blocks;
  }

  /** Block `number`'s size as stored and sent (UTF-8 bytes of its JSON); 0 when absent. */
  blockBytes(number: number): number {
    const block = this.#blocks[number];
    if (!block) return 0;
    const bytes = this.#blockBytes[number] ?? encodedBytes(block);
    this.#blockBytes[number] = bytes;
    return bytes;
  }

  transaction(uuid: string): CommittedTransaction | undefined {
    const location = this.#transactions.get(uuid);
    if (!location) return undefined;
    const block = this.#blocks[location.blockNumber];
    const transaction = block?.transactions[location.index];
    const result = block?.transactionResults[location.index];
    if (!transaction || !result) return undefined;
    return { transaction, result, blockNumber: location.blockNumber };
  }

  /** What the transaction would do if it were the next one: a check before ordering it. */
  precheck(tx: Transaction): TransactionResult {
    return executeTransaction(new StateOverlay(this.#state), tx, this.#js);
  }

  query(ref: ChaincodeRef, fn: string, args: readonly string[]): ChaincodeResult {
    return queryChaincode(this.#state, ref, fn, args, this.#js, this.head.timestamp);
  }

  /**
   * Executes the longest prefix of the proposed transactions whose block stays within
   * MAX_BLOCK_BYTES (results included: only execution tells how large they are), signs
   * it, writes it and commits it. The caller reads `block.transactions.length` to learn
   * how many were taken and proposes the rest in the next block.
   */
  propose(proposal: Proposal): Block {
    if (proposal.transactions.length === 0) throw new Error("a proposed block needs at least one transaction");
    const execution = executeBlock(this.#state, proposal.transactions, MAX_BLOCK_BYTES - BLOCK_RESERVE_BYTES, this.#js);
    const transactions = proposal.transactions.slice(0, execution.results.length);
    const unsigned: UnsignedBlock = {
      number: this.height,
      previousBlockHash: this.head.hash,
      stateHash: execution.stateHash,
      proposerID: proposal.proposerID,
      timestamp: proposal.timestamp,
      transactions,
      transactionResults: execution.results,
      consensusMetadata: proposal.consensusMetadata(transactions),
    };
    const hash = computeBlockHash(unsigned);
    const block: Block = { ...unsigned, hash, signature: proposal.sign(hash) };
    const json = Buffer.from(JSON.stringify(block), "utf8");
    if (json.length > MAX_BLOCK_BYTES) {
      // Consensus metadata larger than its reserve (very long node ids): one transaction fewer.
      if (transactions.length > 1) return this.propose({ ...proposal, transactions: transactions.slice(0, -1) });
      throw new Error(`block ${block.number} would take ${json.length} bytes, more than MAX_BLOCK_BYTES (${MAX_BLOCK_BYTES})`);
    }
    this.#file.appendEncoded(json);
    this.#blockBytes[block.number] = json.length;
    this.#commit(block, execution.writes);
    return block;
  }

  /**
   * Re-executes a block that another node ordered and appends it if it follows from this
   * chain exactly. The caller has already checked who signed it (that is consensus'
   * business); this checks everything else.
   */
  apply(block: Block): ApplyOutcome {
    if (block.number < this.height) {
      return this.#blocks[block.number]?.hash === block.hash
        ? { ok: true, outcome: "KNOWN" }
        : { ok: false, outcome: "CONFLICT", message: `block ${block.number} differs from the one held` };
    }
    if (block.number > this.height) {
      return { ok: false, outcome: "GAP", message: `block ${block.number} arrived at height ${this.height}` };
    }
    const verdict = this.#verify(block);
    if (!verdict.ok) return { ok: false, outcome: "INVALID", message: verdict.message };
    this.#file.append(block);
    this.#commit(block, verdict.writes);
    return { ok: true, outcome: "APPENDED" };
  }

  /** Runs `run` (synchronous) with the blocks it commits written to disk by one fsync at its end. */
  syncOnce<T>(run: () => T): T {
    return this.#file.syncOnce(run);
  }

  /** Calls `listener` after each block is committed; answers a function that unsubscribes. */
  onCommit(listener: (block: Block) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Resolves with the transaction's result once committed, or undefined after `timeoutMs`. */
  waitForTransaction(uuid: string, timeoutMs: number): Promise<TransactionResult | undefined> {
    const committed = this.transaction(uuid);
    if (committed) return Promise.resolve(committed.result);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        unsubscribe();
        resolve(undefined);
      }, timeoutMs);
      const unsubscribe = this.onCommit(() => {
        const found = this.transaction(uuid);
        if (!found) return;
        clearTimeout(timer);
        unsubscribe();
        resolve(found.result);
      });
    });
  }

  /** The JavaScript chaincode runtime this chain executes with. */
  get js(): JsChaincodes {
    return this.#js;
  }

  close(): void {
    this.#file.close();
    this.#js.close();
  }

  #verify(block: Block): { ok: true; writes: Map<string, string | null> } | { ok: false; message: string } {
    const head = this.head;
    if (block.number !== this.height) return { ok: false, message: `block ${block.number} is not next (${this.height})` };
    if (block.previousBlockHash !== head.hash) {
      return { ok: false, message: `block ${block.number} does not link to block ${head.number}'s hash` };
    }
    if (computeBlockHash(block) !== block.hash) return { ok: false, message: `block ${block.number} has a wrong hash` };
    const seen = new Set<string>();
    for (const tx of block.transactions) {
      if (seen.has(tx.uuid) || this.#transactions.has(tx.uuid)) {
        return { ok: false, message: `block ${block.number} repeats transaction ${tx.uuid}` };
      }
      seen.add(tx.uuid);
    }
    const execution = executeBlock(this.#state, block.transactions, Infinity, this.#js);
    if (canonicalJson(execution.results) !== canonicalJson(block.transactionResults)) {
      return { ok: false, message: `block ${block.number}'s transaction results differ from re-execution` };
    }
    if (execution.stateHash !== block.stateHash) {
      return { ok: false, message: `block ${block.number}'s stateHash differs from re-execution` };
    }
    return { ok: true, writes: execution.writes };
  }

  #commit(block: Block, writes: Map<string, string | null>): void {
    this.#blocks.push(block);
    this.#state.apply(writes);
    block.transactions.forEach((tx, index) => this.#transactions.set(tx.uuid, { blockNumber: block.number, index }));
    for (const listener of this.#listeners) {
      try {
        listener(block);
      } catch (error: unknown) {
        this.#log.log("error", "chain.listener_failed", { error: String(error) });
      }
    }
  }
}
