/**
 * Blocks stay small enough for every node to take them (issue 9, item 2): a user who
 * stores a big value and then invokes `get` on it many times at once must not be able to
 * make the orderer cut a block the followers refuse, and a follower that cannot take a
 * block by push must catch up by pulling. Real node processes, real HTTP.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import { MAX_BLOCK_BYTES, MAX_RESULT_BYTES, PEER_BODY_LIMIT } from "../../src/chain/size-limits.ts";
import { getJson, startCluster, waitFor } from "./helpers/chain-cluster.ts";
import type { TestCluster, TestNode } from "./helpers/chain-cluster.ts";
import { appendSignedBlock, invokeTransaction } from "./helpers/ledger-blocks.ts";
import { pipelinedPosts } from "./helpers/pipelined.ts";
const map = { type: 1, chaincodeID: { name: "map" } };
const BIG = "x".repeat(1_000_000);

function rpcBody(method: string, fn: string, args: string[], id: number): string {
  return JSON.stringify({ jsonrpc: "2.0", method, params: { ...map, ctorMsg: { function: fn, args } }, id });
}

async function committed(node: TestNode, uuid: string): Promise<{ blockNumber: number; transactionResult: { errorCode: number; result: string; error: string } }> {
  return waitFor(`${uuid} to commit on ${node.id}`, async () => {
    const reply = await getJson(`${node.url}/transactions/${uuid}`);
    return reply.status === 200 ? reply.body : undefined;
  }, 30_000);
}

/** Deploys map and stores BIG under "big" through vp0. */
async function storeBigValue(cluster: TestCluster): Promise<void> {
  const vp0 = cluster.node("vp0");
  const deployed = await vp0.rpc("deploy", { ...map, ctorMsg: { function: "init", args: [] } });
  assert.equal(deployed.body.result?.status, "OK", JSON.stringify(deployed.body));
  const put = await vp0.rpc("invoke", { ...map, ctorMsg: { function: "put", args: ["big", BIG] } });
  assert.equal(put.body.result?.status, "OK", JSON.stringify(put.body).slice(0, 300));
  assert.equal((await committed(vp0, put.body.result.message)).transactionResult.errorCode, 0);
}

/** `count` invokes of `get big`, pipelined over `sockets` connections to vp0; answers their uuids. */
async function pipelinedGets(cluster: TestCluster, count: number, sockets: number): Promise<string[]> {
  const perSocket = Array.from({ length: sockets }, (_, s) =>
    Array.from({ length: count / sockets }, (_, i) => rpcBody("invoke", "get", ["big"], s * 1000 + i)),
  );
  const replies = (await Promise.all(perSocket.map((bodies) => pipelinedPosts(`${cluster.node("vp0").url}/chaincode`, bodies)))).flat();
  return replies.map((reply) => {
    assert.equal(reply.status, 200, reply.body.slice(0, 300));
    return JSON.parse(reply.body).result.message as string;
  });
}

/** Waits until every node has vp0's height and head hash. */
async function converged(cluster: TestCluster, timeoutMs = 30_000): Promise<number> {
  return waitFor("every node to hold vp0's head", async () => {
    const heads = await Promise.all(cluster.nodes.map((node) => getJson(`${node.url}/chain`)));
    const [first] = heads;
    const same = heads.every((h) => h.body.height === first!.body.height && h.body.currentBlockHash === first!.body.currentBlockHash);
    return same ? (first!.body.height as number) : undefined;
  }, timeoutMs);
}

async function blockSizes(node: TestNode, from: number, height: number): Promise<number[]> {
  const sizes: number[] = [];
  for (let n = from; n < height; n++) {
    const block = await getJson(`${node.url}/chain/blocks/${n}`);
    sizes.push(Buffer.byteLength(JSON.stringify(block.body), "utf8"));
  }
  return sizes;
}

describe("block size", () => {
  it("noops: 40 pipelined invokes that each answer a 1 MB value leave every node on the same head, in blocks under the limit", async () => {
    // batch mode with room for all 40: without a byte bound they would share one 40 MB block.
    const cluster = await startCluster({ size: 4, mode: "batch", batchSize: 40, batchTimeoutMs: 2_000 });
    try {
      await storeBigValue(cluster);
      const before = await cluster.node("vp0").height();
      const uuids = await pipelinedGets(cluster, 40, 4);
      const vp0 = cluster.node("vp0");
      for (const uuid of uuids) {
        const tx = await committed(vp0, uuid);
        assert.equal(tx.transactionResult.errorCode, 0, tx.transactionResult.error);
        assert.equal(tx.transactionResult.result.length, BIG.length);
      }
      const height = await converged(cluster);
      const sizes = await blockSizes(vp0, before, height);
      assert.ok(sizes.length >= 10, `40 results of 1 MB need at least 10 blocks, got ${sizes.length}`);
      for (const [i, size] of sizes.entries()) assert.ok(size <= MAX_BLOCK_BYTES, `block ${before + i} is ${size} bytes`);
    } finally {
      await cluster.close();
    }
  });

  it("noops: a block too large to push (from before blocks were bounded) reaches every follower by pull", async () => {
    const cluster = await startCluster({ size: 4 });
    try {
      await storeBigValue(cluster);
      const height = await converged(cluster);
      // vp0 restarts with one more block in its ledger: 20 gets of the 1 MB value, 20 MB in all.
      const vp0 = cluster.node("vp0");
      await vp0.stop();
      const transactions = Array.from({ length: 20 }, () => invokeTransaction(randomUUID(), "map", "get", ["big"]));
      const results = transactions.map((tx) => ({ uuid: tx.uuid, errorCode: 0 as const, result: BIG, error: "" }));
      const legacy = appendSignedBlock(vp0, vp0, transactions, results);
      assert.ok(Buffer.byteLength(JSON.stringify(legacy)) > PEER_BODY_LIMIT, "the block is larger than any push a follower takes");
      await vp0.start();

      assert.equal(await converged(cluster), height + 1);
      for (const node of cluster.nodes) assert.equal((await getJson(`${node.url}/chain`)).body.currentBlockHash, legacy.hash);
      assert.ok(vp0.events.some((e) => e["event"] === "feed.push_too_large"), "vp0 told the followers to pull instead");
    } finally {
      await cluster.close();
    }
  });

  it("noops: an invoke whose result is too large for a block is refused with the reason; a query still answers it", async () => {
    const cluster = await startCluster({ size: 2 });
    try {
      const vp0 = cluster.node("vp0");
      const deployed = await vp0.rpc("deploy", { ...map, ctorMsg: { function: "init", args: [] } });
      assert.equal(deployed.body.result?.status, "OK", JSON.stringify(deployed.body));
      // Three keys of 600,000 characters: `keys` answers a JSON array of 1.8 MB, more than
      // MAX_RESULT_BYTES (a 1 MiB chaincode package in base64 and its envelope).
      const names = ["a", "b", "c"];
      assert.ok(names.length * 600_000 > MAX_RESULT_BYTES);
      for (const name of names) {
        const put = await vp0.rpc("invoke", { ...map, ctorMsg: { function: "put", args: [name.repeat(600_000), "v"] } });
        assert.equal(put.body.result?.status, "OK");
        await committed(vp0, put.body.result.message);
      }
      const height = await vp0.height();
      const invoked = await cluster.node("vp1").rpc("invoke", { ...map, ctorMsg: { function: "keys", args: [] } });
      assert.equal(invoked.status, 400);
      assert.equal(invoked.body.error.code, -32002);
      assert.match(invoked.body.error.data, new RegExp(`the result takes \\d+ bytes, more than the ${MAX_RESULT_BYTES} a block may record for one transaction \\(a query answers it\\)`));
      assert.equal(await vp0.height(), height, "nothing was ordered");
      const queried = await vp0.rpc("query", { ...map, ctorMsg: { function: "keys", args: [] } });
      assert.equal(queried.body.result?.status, "OK");
      assert.equal((JSON.parse(queried.body.result.message) as string[]).length, names.length);
    } finally {
      await cluster.close();
    }
  });

  it("pbft: a batch whose results outgrow a block becomes several blocks, the same on every replica", async () => {
    const cluster = await startCluster({ size: 4, plugin: "pbft", mode: "batch", batchSize: 20, batchTimeoutMs: 2_000 });
    try {
      await storeBigValue(cluster);
      const vp0 = cluster.node("vp0");
      const before = await vp0.height();
      const uuids = await pipelinedGets(cluster, 20, 4);
      for (const uuid of uuids) {
        const tx = await committed(vp0, uuid);
        assert.equal(tx.transactionResult.errorCode, 0, tx.transactionResult.error);
      }
      const height = await converged(cluster);
      const sizes = await blockSizes(vp0, before, height);
      assert.ok(sizes.length >= 5, `20 results of 1 MB need at least 5 blocks, got ${sizes.length}`);
      for (const [i, size] of sizes.entries()) assert.ok(size <= MAX_BLOCK_BYTES, `block ${before + i} is ${size} bytes`);
      const seqs = await Promise.all(sizes.map(async (_, i) => (await getJson(`${vp0.url}/chain/blocks/${before + i}`)).body.consensusMetadata.pbft_seq));
      assert.ok(new Set(seqs).size < seqs.length, `one batch made several blocks (sequence numbers ${seqs.join(", ")})`);
    } finally {
      await cluster.close();
    }
  });
});
