import assert from "node:assert/strict";
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import { computeBlockHash } from "../../src/chain/ledger/block.ts";
import type { Block } from "../../src/chain/ledger/block.ts";
import { Chain, GenesisMismatchError } from "../../src/chain/ledger/chain.ts";
import { createGenesisBlock } from "../../src/chain/ledger/genesis.ts";
import { silentLogger } from "../../src/chain/log/logger.ts";
import { PeerKeys } from "../../src/chain/peer/peer-keys.ts";
import { testIdentities, tx } from "./helpers/fixtures.ts";

const identities = testIdentities(2);
const peers = identities.map((identity) => identity.peer);
const genesis = createGenesisBlock({ clusterId: "c1", peers });
const leaderKeys = new PeerKeys({ selfId: "vp0", privateKeyPem: identities[0]!.keys.privateKey, peers });

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "chain-ledger-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function open(dataDir = join(dir, "a")): Chain {
  return Chain.open({ dataDir, genesis, log: silentLogger });
}

function propose(chain: Chain, ...txs: ReturnType<typeof tx>[]): Block {
  return chain.propose({
    transactions: txs,
    proposerID: "vp0",
    timestamp: { seconds: 1_700_000_000 + chain.height, nanos: 0 },
    consensusMetadata: () => ({}),
    sign: (hash) => leaderKeys.sign(hash),
  });
}

function withAmounts(chain: Chain): Block[] {
  return [
    propose(chain, tx("deploy", { name: "example02" }, "init", ["a", "10", "b", "20"])),
    propose(chain, tx("invoke", { name: "example02" }, "invoke", ["a", "b", "3"])),
    propose(chain, tx("invoke", { name: "example02" }, "invoke", ["a", "b", "4"])),
  ];
}

describe("genesis", () => {
  it("is the same for the same cluster and members, whatever the PEM line breaks", () => {
    const again = createGenesisBlock({
      clusterId: "c1",
      peers: peers.map((peer) => ({ ...peer, public_key: `${peer.public_key}\n\n`, url: "http://elsewhere:1" })),
    });
    assert.equal(again.hash, genesis.hash);
    assert.equal(genesis.number, 0);
  });

  it("differs between clusters and between member sets", () => {
    assert.notEqual(createGenesisBlock({ clusterId: "c2", peers }).hash, genesis.hash);
    assert.notEqual(createGenesisBlock({ clusterId: "c1", peers: testIdentities(2).map((i) => i.peer) }).hash, genesis.hash);
  });
});

describe("chain", () => {
  it("with background durability a block is in the file at once, before its fsync, and survives close and reopen", () => {
    const chain = Chain.open({ dataDir: join(dir, "bg"), genesis, log: silentLogger, durability: "background" });
    const block = propose(chain, tx("deploy", { name: "map" }, "init", []));
    assert.equal(readFileSync(join(dir, "bg", "ledger.jsonl"), "utf8").trim().split("\n").length, 2, "written before propose returned");
    chain.close();
    const reopened = Chain.open({ dataDir: join(dir, "bg"), genesis, log: silentLogger, durability: "background" });
    assert.equal(reopened.head.hash, block.hash);
    reopened.close();
  });

  it("a fresh chain has height 1: just genesis", () => {
    const chain = open();
    assert.equal(chain.height, 1);
    assert.equal(chain.head.hash, genesis.hash);
    chain.close();
  });

  it("links every block to the previous hash and signs it", () => {
    const chain = open();
    const blocks = withAmounts(chain);
    assert.equal(chain.height, 4);
    let previous = genesis;
    for (const block of blocks) {
      assert.equal(block.previousBlockHash, previous.hash);
      assert.equal(computeBlockHash(block), block.hash);
      assert.ok(leaderKeys.verify("vp0", block.hash, block.signature));
      previous = block;
    }
    assert.deepEqual(chain.query({ name: "example02" }, "query", ["a"]), { ok: true, value: "3" });
    chain.close();
  });

  it("survives a reopen: blocks, state and transaction index are rebuilt by replay", () => {
    const chain = open();
    const blocks = withAmounts(chain);
    chain.close();
    const reopened = open();
    assert.equal(reopened.height, 4);
    assert.deepEqual(reopened.block(3), blocks[2]);
    assert.deepEqual(reopened.query({ name: "example02" }, "query", ["b"]), { ok: true, value: "27" });
    const uuid = blocks[1]!.transactions[0]!.uuid;
    assert.equal(reopened.transaction(uuid)?.blockNumber, 2);
    reopened.close();
  });

  it("drops a torn last line (a crash mid-write) and keeps appending after it", () => {
    const chain = open();
    withAmounts(chain);
    chain.close();
    const file = join(dir, "a", "ledger.jsonl");
    appendFileSync(file, '{"number":4,"previousBl');
    const reopened = open();
    assert.equal(reopened.height, 4);
    propose(reopened, tx("invoke", { name: "example02" }, "invoke", ["a", "b", "1"]));
    reopened.close();
    const lines = readFileSync(file, "utf8").split("\n");
    assert.equal(lines.at(-1), "");
    assert.equal(lines.length, 6);
    assert.equal(open().height, 5);
  });

  it("cuts off a block that no longer verifies, and everything after it", () => {
    const chain = open();
    withAmounts(chain);
    chain.close();
    const file = join(dir, "a", "ledger.jsonl");
    const lines = readFileSync(file, "utf8").split("\n");
    lines[2] = lines[2]!.replace('"3"', '"300"');
    writeFileSync(file, lines.join("\n"));
    const reopened = open();
    assert.equal(reopened.height, 2);
    assert.deepEqual(reopened.query({ name: "example02" }, "query", ["a"]), { ok: true, value: "10" });
    reopened.close();
  });

  it("rolls back to a height: file, state and transaction index keep only the blocks kept, and the agreed blocks apply after", () => {
    const leader = open(join(dir, "leader"));
    const agreed = withAmounts(leader);
    const chain = open();
    chain.apply(structuredClone(agreed[0]!));
    // This ledger leaves the agreed chain at block 2.
    const own = [propose(chain, tx("invoke", { name: "example02" }, "invoke", ["a", "b", "9"])), propose(chain, tx("invoke", { name: "example02" }, "invoke", ["b", "a", "1"]))];
    assert.deepEqual(chain.query({ name: "example02" }, "query", ["a"]), { ok: true, value: "2" });
    chain.rollbackTo(2);
    assert.equal(chain.height, 2);
    assert.equal(chain.head.hash, agreed[0]!.hash);
    assert.deepEqual(chain.query({ name: "example02" }, "query", ["a"]), { ok: true, value: "10" });
    assert.equal(chain.transaction(own[0]!.transactions[0]!.uuid), undefined);
    assert.equal(readFileSync(join(dir, "a", "ledger.jsonl"), "utf8").trim().split("\n").length, 2, "the file holds genesis and block 1");
    for (const block of agreed.slice(1)) assert.deepEqual(chain.apply(structuredClone(block)), { ok: true, outcome: "APPENDED" });
    assert.equal(chain.head.hash, leader.head.hash);
    chain.close();
    const reopened = open();
    assert.equal(reopened.head.hash, leader.head.hash, "what the rollback and the applies wrote replays to the agreed chain");
    assert.deepEqual(reopened.query({ name: "example02" }, "query", ["b"]), { ok: true, value: "27" });
    assert.throws(() => reopened.rollbackTo(0), /genesis stays/);
    reopened.close();
    leader.close();
  });

  it("a test fault corrupts the execution of one block once: its stateHash differs, a replay or a second try does not", () => {
    const leader = open(join(dir, "leader"));
    const agreed = withAmounts(leader);
    const chain = Chain.open({ dataDir: join(dir, "f"), genesis, log: silentLogger, faults: { corruptBlock: 2 } });
    assert.deepEqual(chain.apply(structuredClone(agreed[0]!)), { ok: true, outcome: "APPENDED" });
    const refused = chain.apply(structuredClone(agreed[1]!));
    assert.equal(refused.ok ? "" : refused.message, "block 2's stateHash differs from re-execution");
    assert.deepEqual(chain.apply(structuredClone(agreed[1]!)), { ok: true, outcome: "APPENDED" });
    chain.close();
    const proposer = Chain.open({ dataDir: join(dir, "p"), genesis, log: silentLogger, faults: { corruptBlock: 1 } });
    const [wrong] = withAmounts(proposer);
    assert.notEqual(wrong!.stateHash, agreed[0]!.stateHash);
    assert.equal(wrong!.transactionResults[0]!.errorCode, 0, "results are as usual; only a write is wrong");
    proposer.close();
    const replayed = Chain.open({ dataDir: join(dir, "p"), genesis, log: silentLogger, faults: { corruptBlock: 1 } });
    assert.equal(replayed.height, 1, "replay re-executes block 1 correctly and finds that it does not verify");
    replayed.close();
    leader.close();
  });

  it("refuses a data_dir that holds another cluster's ledger", () => {
    const other = Chain.open({ dataDir: join(dir, "a"), genesis: createGenesisBlock({ clusterId: "other", peers }), log: silentLogger });
    other.close();
    assert.throws(() => open(), GenesisMismatchError);
  });

  it("a follower applies the leader's blocks and reaches the same hashes", () => {
    const leader = open(join(dir, "leader"));
    const follower = open(join(dir, "follower"));
    for (const block of withAmounts(leader)) assert.deepEqual(follower.apply(structuredClone(block)), { ok: true, outcome: "APPENDED" });
    assert.equal(follower.head.hash, leader.head.hash);
    assert.deepEqual(follower.apply(structuredClone(leader.block(2)!)), { ok: true, outcome: "KNOWN" });
    leader.close();
    follower.close();
  });

  it("apply refuses gaps, bad links, wrong hashes, wrong results, wrong stateHash and repeated transactions", () => {
    const leader = open(join(dir, "leader"));
    const follower = open(join(dir, "follower"));
    const [b1, b2] = withAmounts(leader) as [Block, Block, Block];
    assert.equal(follower.apply(b2).ok ? "" : (follower.apply(b2) as { outcome: string }).outcome, "GAP");

    const rehash = (block: Block): Block => ({ ...block, hash: computeBlockHash(block) });
    const outcome = (block: Block) => {
      const applied = follower.apply(block);
      return applied.ok ? applied.outcome : applied.outcome;
    };
    assert.equal(outcome({ ...b1, previousBlockHash: "00" }), "INVALID");
    assert.equal(outcome({ ...b1, stateHash: "00" }), "INVALID");
    assert.equal(outcome(rehash({ ...b1, stateHash: "00" })), "INVALID");
    assert.equal(outcome(rehash({ ...b1, transactionResults: [{ ...b1.transactionResults[0]!, errorCode: 1 }] })), "INVALID");
    assert.equal(outcome(b1), "APPENDED");
    assert.equal(outcome({ ...b1, hash: "ff" }), "CONFLICT");
    const repeat = rehash({ ...b2, transactions: [b1.transactions[0]!], previousBlockHash: b1.hash });
    assert.equal(outcome(repeat), "INVALID");
    assert.equal(follower.height, 2);
    leader.close();
    follower.close();
  });
});
