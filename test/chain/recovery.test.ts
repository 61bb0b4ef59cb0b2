/**
 * Nodes that stop, crash and come back: ledgers survive, missed blocks are caught up, and
 * every node ends with the same chain.
 */
import assert from "node:assert/strict";
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { getJson, startCluster, waitFor } from "./helpers/chain-cluster.ts";
import type { TestCluster, TestNode } from "./helpers/chain-cluster.ts";

let cluster: TestCluster;
before(async () => {
  cluster = await startCluster({ size: 4 });
  const deployed = await cluster.node("vp0").rpc("deploy", { type: 1, chaincodeID: { name: "map" }, ctorMsg: { function: "init", args: [] } });
  assert.equal(deployed.body.result.status, "OK");
});
after(async () => {
  await cluster?.close();
});

let counter = 0;
async function put(via: TestNode, count: number): Promise<string[]> {
  const uuids: string[] = [];
  for (let i = 0; i < count; i++) {
    counter++;
    const reply = await via.rpc("invoke", { type: 1, chaincodeID: { name: "map" }, ctorMsg: { function: "put", args: [`k${counter}`, `v${counter}`] } });
    assert.equal(reply.body.result?.status, "OK", JSON.stringify(reply.body));
    uuids.push(reply.body.result.message);
  }
  return uuids;
}

async function committedOn(node: TestNode, uuids: string[]): Promise<void> {
  await waitFor(`${node.id} to commit ${uuids.length} transactions`, async () => {
    const found = await Promise.all(uuids.map((uuid) => getJson(`${node.url}/transactions/${uuid}`)));
    return found.every((reply) => reply.status === 200);
  });
}

async function assertSameChain(nodes: TestNode[]): Promise<void> {
  const height = await waitFor("the nodes to reach the same height", async () => {
    const heights = await Promise.all(nodes.map((node) => node.height()));
    return heights.every((h) => h === heights[0]) ? heights[0] : undefined;
  });
  for (let n = 0; n < height; n++) {
    const blocks = await Promise.all(nodes.map((node) => getJson(`${node.url}/chain/blocks/${n}`)));
    for (const block of blocks.slice(1)) assert.deepEqual(block.body, blocks[0]!.body, `block ${n}`);
  }
}

describe("recovery", () => {
  it("SIGTERM stops a node within a second with exit code 0", async () => {
    const vp3 = cluster.node("vp3");
    const started = Date.now();
    assert.equal(await vp3.stop("SIGTERM"), 0);
    assert.ok(Date.now() - started < 1_000, `stopped in ${Date.now() - started} ms`);
    await vp3.start();
  });

  it("a stopped follower keeps its ledger and, restarted, catches up the blocks it missed", async () => {
    const vp2 = cluster.node("vp2");
    await committedOn(vp2, await put(cluster.node("vp0"), 2));
    const heightBefore = await vp2.height();
    assert.equal(await vp2.stop("SIGTERM"), 0);

    const missed = await put(cluster.node("vp1"), 5);
    await committedOn(cluster.node("vp0"), missed);

    await vp2.start();
    const started = vp2.events.filter((event) => event["event"] === "node.started").at(-1);
    assert.equal(started?.["height"], heightBefore, "the ledger was loaded from disk before any catch-up");
    await committedOn(vp2, missed);
    await assertSameChain(cluster.nodes);
  });

  it("a SIGKILLed node recovers, dropping a torn last line", async () => {
    const vp1 = cluster.node("vp1");
    assert.equal(await vp1.stop("SIGKILL"), null);
    appendFileSync(join(vp1.config.data_dir, "ledger.jsonl"), '{"number":99,"previousBlockHash":"ab');
    const missed = await put(cluster.node("vp0"), 3);
    await vp1.start();
    assert.ok(vp1.events.some((event) => event["event"] === "ledger.torn_tail_dropped"));
    await committedOn(vp1, missed);
    await assertSameChain(cluster.nodes);
  });

  it("a SIGKILLed leader comes back with its ledger and keeps ordering", async () => {
    const vp0 = cluster.node("vp0");
    const height = await vp0.height();
    await vp0.stop("SIGKILL");
    await vp0.start();
    assert.equal(await vp0.height(), height);
    await committedOn(cluster.node("vp3"), await put(cluster.node("vp3"), 2));
    await assertSameChain(cluster.nodes);
  });

  it("a leader that lost the tail of its ledger takes it back from the followers instead of forking", async () => {
    const vp0 = cluster.node("vp0");
    await committedOn(cluster.node("vp1"), await put(vp0, 3));
    const height = await vp0.height();
    await vp0.stop("SIGKILL");
    const file = join(vp0.config.data_dir, "ledger.jsonl");
    const lines = readFileSync(file, "utf8").split("\n").filter((line) => line !== "");
    writeFileSync(file, `${lines.slice(0, -2).join("\n")}\n`);
    await vp0.start();
    await waitFor("vp0 to recover its lost blocks", async () => (await vp0.height()) === height);
    await waitFor("vp0 to log the recovery", () => vp0.events.some((event) => event["event"] === "noops.leader_recovered_blocks"));
    await committedOn(cluster.node("vp2"), await put(vp0, 1));
    await assertSameChain(cluster.nodes);
  });

  it("while the leader is down, invokes fail cleanly and a restarted follower catches up from another follower", async () => {
    const [vp0, vp1, vp2, vp3] = cluster.nodes as [TestNode, TestNode, TestNode, TestNode];
    await vp3.stop("SIGTERM");
    const missed = await put(vp1, 3);
    await committedOn(vp2, missed);
    await vp0.stop("SIGTERM");

    const refused = await vp1.rpc("invoke", { type: 1, chaincodeID: { name: "map" }, ctorMsg: { function: "put", args: ["x", "y"] } });
    assert.equal(refused.status, 503);
    assert.equal(refused.body.error.code, -32002);
    assert.match(refused.body.error.message, /vp0 is unreachable/);

    await vp3.start();
    await committedOn(vp3, missed);

    await vp0.start();
    await committedOn(vp3, await put(vp2, 1));
    await assertSameChain(cluster.nodes);
  });
});

describe("genesis", () => {
  it("a different cluster gets a different genesis block", async () => {
    const other = await startCluster({ size: 1 });
    try {
      const mine = (await getJson(`${cluster.node("vp0").url}/chain/blocks/0`)).body;
      const theirs = (await getJson(`${other.node("vp0").url}/chain/blocks/0`)).body;
      assert.notEqual(theirs.hash, mine.hash);
      assert.equal(theirs.consensusMetadata.cluster_id, other.clusterId);
      assert.equal((await getJson(`${other.node("vp0").url}/chain`)).body.height, 1);
    } finally {
      await other.close();
    }
  });
});
