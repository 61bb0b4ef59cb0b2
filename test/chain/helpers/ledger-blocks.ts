/**
 * Writes blocks straight into a stopped node's ledger file, signed with the leader's key
 * as the leader would: the way to give a node a ledger that no running code would make
 * today (a block from before blocks were bounded, a fork), to see how the others cope.
 */
import { appendFileSync, copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { computeBlockHash, timestampFromMillis, timestampToMillis } from "../../../src/chain/ledger/block.ts";
import type { Block, Transaction, TransactionResult } from "../../../src/chain/ledger/block.ts";
import { Chain } from "../../../src/chain/ledger/chain.ts";
import { createGenesisBlock } from "../../../src/chain/ledger/genesis.ts";
import { silentLogger } from "../../../src/chain/log/logger.ts";
import { PeerKeys } from "../../../src/chain/peer/peer-keys.ts";
import type { TestNode } from "./chain-cluster.ts";

export function ledgerPath(node: TestNode): string {
  return join(node.config.data_dir, "ledger.jsonl");
}

/** The last block of a (stopped) node's ledger file. */
export function headBlock(node: TestNode): Block {
  const lines = readFileSync(ledgerPath(node), "utf8").trimEnd().split("\n");
  return JSON.parse(lines.at(-1)!) as Block;
}

/**
 * Appends to `node`'s ledger the next block, holding `transactions` with `results`, signed
 * by `signer` (the noops leader). The transactions must change no state (their results
 * must be what re-execution gives), so the block keeps the head's stateHash and replays.
 */
export function appendSignedBlock(node: TestNode, signer: TestNode, transactions: Transaction[], results: TransactionResult[]): Block {
  const head = headBlock(node);
  const unsigned = {
    number: head.number + 1,
    previousBlockHash: head.hash,
    stateHash: head.stateHash,
    proposerID: signer.id,
    timestamp: timestampFromMillis(Math.max(Date.now(), timestampToMillis(head.timestamp))),
    transactions,
    transactionResults: results,
    consensusMetadata: {},
  };
  const hash = computeBlockHash(unsigned);
  const keys = new PeerKeys({ selfId: signer.id, privateKeyPem: signer.config.private_key, peers: signer.config.peers });
  const block: Block = { ...unsigned, hash, signature: keys.sign(hash) };
  appendFileSync(ledgerPath(node), `${JSON.stringify(block)}\n`);
  return block;
}

/** An invoke transaction as a node's chaincode service makes it. */
export function invokeTransaction(uuid: string, chaincode: string, fn: string, args: string[]): Transaction {
  return { type: 2, txid: uuid, uuid, chaincodeID: { name: chaincode }, payload: { function: fn, args }, timestamp: timestampFromMillis(Date.now()) };
}

/**
 * Rewrites a stopped pbft node's ledger from block `number` on: that block's transactions
 * go through `change`, and it and every later block are executed again by the real Chain,
 * so the file is a valid hash chain that replays (pbft blocks carry no signature), with
 * the same sequence numbers and requests but another state: a ledger edited or restored
 * wrongly while the node was down. Answers the new head block.
 */
export function rewritePbftLedgerFrom(node: TestNode, number: number, change: (transactions: Transaction[]) => Transaction[]): Block {
  const blocks = readFileSync(ledgerPath(node), "utf8").trimEnd().split("\n").map((line) => JSON.parse(line) as Block);
  const dir = mkdtempSync(join(tmpdir(), "rewrite-ledger-"));
  try {
    const chain = Chain.open({ dataDir: dir, genesis: createGenesisBlock({ clusterId: node.config.cluster_id, peers: node.config.peers }), log: silentLogger });
    for (const block of blocks.slice(1)) {
      if (block.number < number) {
        const applied = chain.apply(block);
        if (!applied.ok) throw new Error(applied.message);
        continue;
      }
      const made = chain.propose({
        transactions: block.number === number ? change(block.transactions) : block.transactions,
        proposerID: block.proposerID,
        timestamp: block.timestamp,
        consensusMetadata: () => block.consensusMetadata,
        sign: () => "",
      });
      if (made.transactions.length !== block.transactions.length) throw new Error(`block ${block.number} would be cut otherwise`);
    }
    const head = chain.head;
    chain.close();
    copyFileSync(join(dir, "ledger.jsonl"), ledgerPath(node));
    return head;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
