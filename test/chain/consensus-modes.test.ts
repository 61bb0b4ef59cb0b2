/**
 * How the noops leader cuts blocks in each consensus mode.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { getJson, startCluster, waitFor } from "./helpers/chain-cluster.ts";
import type { TestCluster } from "./helpers/chain-cluster.ts";

const example02 = { type: 1, chaincodeID: { name: "example02" } };

async function deploy(cluster: TestCluster, a: string): Promise<void> {
  const reply = await cluster.node("vp0").rpc("deploy", { ...example02, ctorMsg: { function: "init", args: ["a", a, "b", "0"] } });
  assert.equal(reply.body.result?.status, "OK", JSON.stringify(reply.body));
}

async function invokeAll(cluster: TestCluster, amounts: string[]): Promise<string[]> {
  const replies = await Promise.all(
    amounts.map((x, i) => cluster.nodes[i % cluster.nodes.length]!.rpc("invoke", { ...example02, ctorMsg: { function: "invoke", args: ["a", "b", x] } })),
  );
  return replies.map((reply) => {
    assert.equal(reply.body.result?.status, "OK", JSON.stringify(reply.body));
    return reply.body.result.message as string;
  });
}

async function blockOf(cluster: TestCluster, uuid: string): Promise<number> {
  return waitFor(`${uuid} to commit`, async () => {
    const reply = await getJson(`${cluster.node("vp0").url}/transactions/${uuid}`);
    return reply.status === 200 ? (reply.body.blockNumber as number) : undefined;
  });
}

describe("consensus modes", () => {
  it("classic: each transaction gets its own block", async () => {
    const cluster = await startCluster({ size: 2, mode: "classic" });
    try {
      await deploy(cluster, "100");
      const uuids = await invokeAll(cluster, ["1", "1", "1", "1"]);
      const blocks = await Promise.all(uuids.map((uuid) => blockOf(cluster, uuid)));
      assert.equal(new Set(blocks).size, 4);
    } finally {
      await cluster.close();
    }
  });

  it("batch: waits for batch_size transactions, or batch_timeout_ms for fewer", async () => {
    const cluster = await startCluster({ size: 2, mode: "batch", batchSize: 3, batchTimeoutMs: 300 });
    try {
      await deploy(cluster, "10");
      const full = await invokeAll(cluster, ["6", "6", "1"]);
      const blocks = await Promise.all(full.map((uuid) => blockOf(cluster, uuid)));
      assert.equal(new Set(blocks).size, 1, "three transactions fill one block");

      const block = (await getJson(`${cluster.node("vp1").url}/chain/blocks/${blocks[0]}`)).body;
      const failed = block.transactionResults.filter((r: { errorCode: number }) => r.errorCode === 1);
      assert.equal(failed.length, 1, "the second 6 out of 10 overdraws; its failure is recorded in the block");
      assert.match(failed[0].error, /insufficient funds/);
      const tx = await getJson(`${cluster.node("vp1").url}/transactions/${failed[0].uuid}`);
      assert.equal(tx.body.transactionResult.errorCode, 1);
      const a = await cluster.node("vp1").rpc("query", { ...example02, ctorMsg: { function: "query", args: ["a"] } });
      assert.equal(a.body.result.message, "3");

      const started = Date.now();
      const [lone] = await invokeAll(cluster, ["1"]);
      await blockOf(cluster, lone!);
      const waited = Date.now() - started;
      assert.ok(waited >= 250 && waited < 2_000, `a lone transaction waits for the batch timeout (${waited} ms)`);
    } finally {
      await cluster.close();
    }
  });
});
