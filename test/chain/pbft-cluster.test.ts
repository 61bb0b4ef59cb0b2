/**
 * PBFT on real node processes: Cello's example02 check in both modes, the primary killed
 * (view change, then commits again), a node restarted after the others passed a
 * checkpoint (state transfer, same /chain), forged and replayed frames refused.
 * After each, every running node holds the same blocks.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { derivePairKeys } from "../../src/chain/peer/pair-keys.ts";
import { FrameCodec } from "../../src/chain/consensus/pbft/pbft-frames.ts";
import { PBFT_CHECKPOINT_INTERVAL } from "../../src/chain/consensus/pbft/pbft-consensus.ts";
import { getJson, postRaw, startCluster, waitFor } from "./helpers/chain-cluster.ts";
import type { TestCluster, TestNode } from "./helpers/chain-cluster.ts";

const example02 = { type: 1, chaincodeID: { name: "example02" } };

async function invoke(via: TestNode, args: string[]): Promise<string> {
  const reply = await via.rpc("invoke", { ...example02, ctorMsg: { function: "invoke", args } });
  assert.equal(reply.body.result?.status, "OK", JSON.stringify(reply.body));
  return reply.body.result.message as string;
}

async function query(via: TestNode, account: string): Promise<string> {
  const reply = await via.rpc("query", { ...example02, ctorMsg: { function: "query", args: [account] } });
  assert.equal(reply.body.result?.status, "OK", JSON.stringify(reply.body));
  return reply.body.result.message as string;
}

async function committedOn(nodes: readonly TestNode[], uuids: readonly string[], timeoutMs = 20_000): Promise<void> {
  for (const node of nodes) {
    await waitFor(
      `${node.id} to commit ${uuids.length} transactions`,
      async () => {
        for (const uuid of uuids) if ((await getJson(`${node.url}/transactions/${uuid}`)).status !== 200) return false;
        return true;
      },
      timeoutMs,
    );
  }
}

async function status(node: TestNode): Promise<any> {
  return (await getJson(`${node.url}/status`)).body;
}

async function assertSameChain(nodes: readonly TestNode[]): Promise<void> {
  const height = await waitFor("the nodes to reach the same head", async () => {
    const heads = await Promise.all(nodes.map(async (node) => (await getJson(`${node.url}/chain`)).body));
    return heads.every((h) => h.height === heads[0].height && h.currentBlockHash === heads[0].currentBlockHash) ? (heads[0].height as number) : undefined;
  });
  for (let n = 0; n < height; n++) {
    const blocks = await Promise.all(nodes.map((node) => getJson(`${node.url}/chain/blocks/${n}`)));
    for (const block of blocks.slice(1)) assert.deepEqual(block.body, blocks[0]!.body, `block ${n}`);
  }
}

async function example02Check(cluster: TestCluster): Promise<void> {
  const [vp0, vp1, vp2, vp3] = cluster.nodes as [TestNode, TestNode, TestNode, TestNode];
  const deployed = await vp1.rpc("deploy", { type: 1, chaincodeID: { name: "example02" }, ctorMsg: { function: "init", args: ["a", "10000", "b", "20000"] } });
  assert.equal(deployed.body.result?.status, "OK", JSON.stringify(deployed.body));
  const uuid = await invoke(vp2, ["a", "b", "1"]);
  await committedOn(cluster.nodes, [uuid]);
  assert.equal(await query(vp3, "a"), "9999");
  assert.equal(await query(vp0, "b"), "20001");
  await assertSameChain(cluster.nodes);
}

describe("pbft example02 check", () => {
  it("classic: deploy, invoke, query agree on every node, one block per invoke", async () => {
    const cluster = await startCluster({ size: 4, plugin: "pbft", mode: "classic" });
    try {
      await example02Check(cluster);
      const uuids = await Promise.all(["1", "1", "1"].map((x, i) => invoke(cluster.nodes[i]!, ["a", "b", x])));
      await committedOn(cluster.nodes, uuids);
      const blocks = await Promise.all(uuids.map(async (uuid) => (await getJson(`${cluster.node("vp3").url}/transactions/${uuid}`)).body.blockNumber));
      assert.equal(new Set(blocks).size, 3);
      await assertSameChain(cluster.nodes);
    } finally {
      await cluster.close();
    }
  });

  it("batch, on 6 nodes: requests share blocks and every node agrees", async () => {
    const cluster = await startCluster({ size: 6, plugin: "pbft", mode: "batch", batchSize: 5, batchTimeoutMs: 200 });
    try {
      await example02Check(cluster);
      const uuids = await Promise.all(Array.from({ length: 10 }, (_, i) => invoke(cluster.nodes[i % 6]!, ["a", "b", "1"])));
      await committedOn(cluster.nodes, uuids);
      const blocks = await Promise.all(uuids.map(async (uuid) => (await getJson(`${cluster.node("vp5").url}/transactions/${uuid}`)).body.blockNumber));
      assert.ok(new Set(blocks).size < 10, `10 invokes share blocks (${new Set(blocks).size} blocks)`);
      assert.equal(await query(cluster.node("vp4"), "a"), "9989");
      await assertSameChain(cluster.nodes);
    } finally {
      await cluster.close();
    }
  });
});

describe("pbft faults on real processes", () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startCluster({ size: 4, plugin: "pbft", mode: "classic" });
    const deployed = await cluster.node("vp1").rpc("deploy", { type: 1, chaincodeID: { name: "example02" }, ctorMsg: { function: "init", args: ["a", "100000", "b", "0"] } });
    assert.equal(deployed.body.result?.status, "OK", JSON.stringify(deployed.body));
  });
  after(async () => {
    await cluster?.close();
  });

  /** The node the others take for primary (a loaded machine may have changed views already). */
  async function currentPrimary(): Promise<TestNode> {
    const running = cluster.nodes.filter((node) => node.running);
    return cluster.node((await status(running[running.length - 1]!)).consensus.primary as string);
  }
  let killed: TestNode;

  it("the primary is killed: a view change follows and invokes commit again", async () => {
    const primary = await currentPrimary();
    const viewBefore = (await status(primary)).consensus.view as number;
    const others = cluster.nodes.filter((node) => node !== primary);
    await primary.stop("SIGKILL");
    killed = primary;
    const uuids = [await invoke(others[0]!, ["a", "b", "1"]), await invoke(others[2]!, ["a", "b", "1"])];
    await committedOn(others, uuids, 30_000);
    for (const node of others) {
      const consensus = (await status(node)).consensus;
      assert.ok(consensus.view > viewBefore, `${node.id} moved from view ${viewBefore} (now ${consensus.view})`);
      assert.notEqual(consensus.primary, primary.id);
    }
    await assertSameChain(others);
  });

  it("a node restarted after the others passed a checkpoint catches up by state transfer", async () => {
    const others = cluster.nodes.filter((node) => node !== killed);
    const before = await Promise.all(others.map(async (node) => (await status(node)).consensus.last_stable_checkpoint as number));
    const uuids: string[] = [];
    for (let i = 0; i < PBFT_CHECKPOINT_INTERVAL + 4; i++) uuids.push(await invoke(others[i % 3]!, ["a", "b", "1"]));
    await committedOn(others, uuids, 30_000);
    for (const [i, node] of others.entries()) {
      await waitFor(`${node.id} to make a new checkpoint stable`, async () => ((await status(node)).consensus.last_stable_checkpoint as number) > before[i]!);
    }
    // The others' links to the dead node still hold what they sent it lately (a frame that
    // fails is dropped, the next one takes what queued since, after a pause of up to 1 s).
    // Delivered to the restarted node, those messages would let it replay the missing
    // numbers instead of fetching the state. Wait until two more frames to it failed on
    // every link: the second one left after everything sent for those numbers was queued.
    const sentBefore = await Promise.all(others.map(async (node) => (await status(node)).consensus.links[killed.id].frames_sent as number));
    for (const [i, node] of others.entries()) {
      await waitFor(`${node.id}'s link to ${killed.id} to drop what it queued`, async () => ((await status(node)).consensus.links[killed.id].frames_sent as number) >= sentBefore[i]! + 2);
    }
    const eventsBefore = killed.events.length;
    await killed.start();
    const restartedAt = killed.events.slice(eventsBefore).find((e) => e["event"] === "node.started")!["height"] as number;
    const height = await waitFor("the restarted node to catch up", async () => {
      const [mine, theirs] = await Promise.all([getJson(`${killed.url}/chain`), getJson(`${others[0]!.url}/chain`)]);
      return mine.body.height === theirs.body.height && mine.body.currentBlockHash === theirs.body.currentBlockHash ? (mine.body.height as number) : undefined;
    }, 20_000);
    assert.ok(height > restartedAt, `${killed.id} restarted at height ${restartedAt}, behind the others (${height})`);
    assert.ok(((await status(killed)).consensus.state_transfers as number) >= 1, `${killed.id} counts a state transfer`);
    const committed = killed.events.slice(eventsBefore).filter((e) => e["event"] === "block.committed" && (e["number"] as number) < height);
    assert.deepEqual(
      committed.map((e) => [e["number"], e["by"]]),
      Array.from({ length: height - restartedAt }, (_, i) => [restartedAt + i, "state_transfer"]),
      `${killed.id} took every missing block by state transfer`,
    );
    await waitFor("the restarted node to learn the current view", async () => (await status(killed)).consensus.view === (await status(others[0]!)).consensus.view);
    // It takes part again: with one other backup down, a quorum needs it.
    const primary = await currentPrimary();
    const backup = others.find((node) => node !== primary)!;
    await backup.stop("SIGKILL");
    await committedOn(cluster.nodes.filter((node) => node !== backup), [await invoke(killed, ["a", "b", "1"])], 30_000);
    await backup.start();
    await assertSameChain(cluster.nodes);
  });

  it("a forged frame is refused with 401 and a replayed one with 409, both counted", async () => {
    const vp1 = cluster.node("vp1");
    const before = (await status(vp1)).rejected_messages;
    const config = cluster.node("vp2").config;
    // vp2's own keys, but an epoch older than the run vp1 hears from: a recorded frame played back.
    const codec = new FrameCodec({ selfId: "vp2", pairKeys: derivePairKeys({ clusterId: config.cluster_id, selfId: "vp2", privateKeyPem: config.private_key, peers: config.peers }), epoch: 1 });
    const frame = codec.seal("vp1", [{ type: "checkpoint", seq: 1_000_000, digest: "x" }]);
    const replayed = await postRaw(`${vp1.url}/peer/frame`, frame);
    assert.equal(replayed.status, 409, "a frame of an earlier run is a replay");
    const forged = frame.replace('"digest":"x"', '"digest":"y"');
    const refused = await postRaw(`${vp1.url}/peer/frame`, forged);
    assert.equal(refused.status, 401);
    assert.match(refused.body.Error, /MAC/);
    const after = (await status(vp1)).rejected_messages;
    assert.equal(after.replayed, before.replayed + 1);
    assert.equal(after.bad_mac, before.bad_mac + 1);
  });

  it("f+1 nodes down: an invoke is taken but not committed, and nothing diverges; back up: it commits", async () => {
    const primary = await currentPrimary();
    const [down1, down2, up] = cluster.nodes.filter((node) => node !== primary) as [TestNode, TestNode, TestNode];
    await down1.stop("SIGKILL");
    await down2.stop("SIGKILL");
    const heights = await Promise.all([primary.height(), up.height()]);
    const uuid = await invoke(up, ["a", "b", "1"]);
    await waitFor("the invoke to be outstanding", async () => ((await status(up)).consensus.outstanding as number) === 1);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    assert.deepEqual(await Promise.all([primary.height(), up.height()]), heights, "no quorum, no block");
    assert.equal((await getJson(`${primary.url}/transactions/${uuid}`)).status, 404);
    await Promise.all([down1.start(), down2.start()]);
    await committedOn(cluster.nodes, [uuid], 40_000);
    await assertSameChain(cluster.nodes);
  });
});
