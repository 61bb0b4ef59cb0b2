/**
 * The byte bounds of transactions, results and blocks (size-limits.ts), on the executor
 * and on a chain with a real ledger file; the real-process side is block-size.test.ts.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import { Chain } from "../../src/chain/ledger/chain.ts";
import { executeBlock } from "../../src/chain/chaincode/executor.ts";
import { createGenesisBlock } from "../../src/chain/ledger/genesis.ts";
import { silentLogger } from "../../src/chain/log/logger.ts";
import { PeerKeys } from "../../src/chain/peer/peer-keys.ts";
import { MAX_BLOCK_BYTES, MAX_ERROR_CHARS, MAX_RESULT_BYTES, encodedBytes } from "../../src/chain/size-limits.ts";
import { WorldState } from "../../src/chain/ledger/world-state.ts";
import { testIdentities, tx } from "./helpers/fixtures.ts";

const identities = testIdentities(2);
const peers = identities.map((identity) => identity.peer);
const genesis = createGenesisBlock({ clusterId: "c1", peers });
const leaderKeys = new PeerKeys({ selfId: "vp0", privateKeyPem: identities[0]!.keys.privateKey, peers });
const map = { name: "map" };
const BIG = "x".repeat(1_000_000);

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "chain-size-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function withBigValue(): Chain {
  const chain = Chain.open({ dataDir: dir, genesis, log: silentLogger });
  for (const candidate of [tx("deploy", map, "init", []), tx("invoke", map, "put", ["big", BIG])]) {
    chain.propose({ transactions: [candidate], proposerID: "vp0", timestamp: { seconds: 1, nanos: 0 }, consensusMetadata: () => ({}), sign: (h) => leaderKeys.sign(h) });
  }
  return chain;
}

describe("size limits", () => {
  it("propose takes the longest prefix whose block, results included, stays within MAX_BLOCK_BYTES", () => {
    const chain = withBigValue();
    const gets = Array.from({ length: 10 }, () => tx("invoke", map, "get", ["big"]));
    const seen: number[] = [];
    const block = chain.propose({
      transactions: gets,
      proposerID: "vp0",
      timestamp: { seconds: 2, nanos: 0 },
      consensusMetadata: (taken) => {
        seen.push(taken.length);
        return { taken: taken.length };
      },
      sign: (h) => leaderKeys.sign(h),
    });
    assert.equal(block.transactions.length, 4, "four 1 MB results fit in 4 MiB, five do not");
    assert.deepEqual(block.transactions, gets.slice(0, 4));
    assert.deepEqual(seen, [4]);
    assert.ok(encodedBytes(block) <= MAX_BLOCK_BYTES);
    assert.equal(chain.blockBytes(block.number), encodedBytes(block));

    // The block reopens: what propose cut, replay accepts as it is.
    chain.close();
    const reopened = Chain.open({ dataDir: dir, genesis, log: silentLogger });
    assert.equal(reopened.head.hash, block.hash);
    reopened.close();
  });

  it("a result larger than a block may record fails the same way on every node, and its writes are dropped", () => {
    const state = new WorldState();
    const setup = executeBlock(state, [tx("deploy", map, "init", []), tx("invoke", map, "put", ["a".repeat(800_000), "1"]), tx("invoke", map, "put", ["b".repeat(800_000), "2"])]);
    state.apply(setup.writes);
    const keys = tx("invoke", map, "keys", []);
    const [first, second] = [executeBlock(state, [keys]), executeBlock(state, [keys])];
    assert.deepEqual(first.results, second.results);
    const [result] = first.results;
    assert.equal(result?.errorCode, 1);
    assert.match(result?.error ?? "", new RegExp(`^the result takes \\d+ bytes, more than the ${MAX_RESULT_BYTES} a block may record for one transaction \\(a query answers it\\)$`));
    assert.equal(first.stateHash, state.hash());
  });

  it("a failed transaction's long error is cut", () => {
    const state = new WorldState();
    state.apply(executeBlock(state, [tx("deploy", map, "init", [])]).writes);
    const [result] = executeBlock(state, [tx("invoke", map, "f".repeat(100_000), [])]).results;
    assert.equal(result?.errorCode, 1);
    assert.ok(result!.error.length < MAX_ERROR_CHARS + 100, `error of ${result!.error.length} characters`);
    assert.match(result!.error, /^map: unknown function "f+\.\.\. \(100060 characters, cut\)$/);
  });

  it("blocksFrom counts UTF-8 bytes, not characters, and always answers one block", () => {
    const chain = Chain.open({ dataDir: dir, genesis, log: silentLogger });
    chain.propose({ transactions: [tx("deploy", map, "init", [])], proposerID: "vp0", timestamp: { seconds: 1, nanos: 0 }, consensusMetadata: () => ({}), sign: (h) => leaderKeys.sign(h) });
    // 300,000 three-byte characters: 900 KB as UTF-8, 300,000 as a string length.
    for (const key of ["k1", "k2"]) {
      chain.propose({ transactions: [tx("invoke", map, "put", [key, "€".repeat(300_000)])], proposerID: "vp0", timestamp: { seconds: 1, nanos: 0 }, consensusMetadata: () => ({}), sign: (h) => leaderKeys.sign(h) });
    }
    assert.ok(chain.blockBytes(2) > 900_000);
    assert.equal(chain.blocksFrom(2, 10, 1024 * 1024).length, 1, "two 900 KB blocks do not fit in 1 MiB");
    assert.equal(chain.blocksFrom(2, 10, 1000).length, 1, "a page always holds one block");
    chain.close();
  });
});
