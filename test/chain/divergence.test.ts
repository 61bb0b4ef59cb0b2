/**
 * A node whose state diverges, on real clusters of node processes: one node is started
 * with a test fault (`test_faults.corrupt_block`, taken only with CHAIN_NODE_TEST_FAULTS=1)
 * that makes its own execution of one block store a wrong balance. Nothing else is faked:
 * its blocks, checkpoints and statuses go over real HTTP, the detection is the real one
 * (pbft: the next quorum checkpoint; noops: the leader's next block), and so is the
 * recovery (its ledger file rolled back, the agreed blocks fetched and re-executed).
 * The cluster keeps committing throughout, and afterwards every node holds the same chain.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PBFT_CHECKPOINT_INTERVAL } from "../../src/chain/consensus/pbft/pbft-consensus.ts";
import { TEST_FAULTS_ENV } from "../../src/lib/node-config.ts";
import { getJson, startCluster, waitFor } from "./helpers/chain-cluster.ts";
import { rewritePbftLedgerFrom } from "./helpers/ledger-blocks.ts";
import type { TestCluster, TestNode } from "./helpers/chain-cluster.ts";

const example02 = { type: 1, chaincodeID: { name: "example02" } };

async function invoke(via: TestNode, args: string[]): Promise<string> {
  const reply = await via.rpc("invoke", { ...example02, ctorMsg: { function: "invoke", args } });
  assert.equal(reply.body.result?.status, "OK", `${via.id}: ${JSON.stringify(reply.body)}`);
  return reply.body.result.message as string;
}

async function query(via: TestNode, account: string): Promise<string> {
  const reply = await via.rpc("query", { ...example02, ctorMsg: { function: "query", args: [account] } });
  assert.equal(reply.body.result?.status, "OK", `${via.id}: ${JSON.stringify(reply.body)}`);
  return reply.body.result.message as string;
}

async function status(node: TestNode): Promise<any> {
  return (await getJson(`${node.clientUrl}/status`)).body;
}

async function committedOn(nodes: readonly TestNode[], uuids: readonly string[], timeoutMs = 30_000): Promise<void> {
  for (const node of nodes) {
    await waitFor(
      `${node.id} to commit ${uuids.length} transactions`,
      async () => {
        for (const uuid of uuids) if ((await getJson(`${node.clientUrl}/transactions/${uuid}`)).status !== 200) return false;
        return true;
      },
      timeoutMs,
    );
  }
}

/** Every node at the same height with the same blocks, block by block. */
async function assertSameChain(nodes: readonly TestNode[]): Promise<number> {
  const height = await waitFor("the nodes to reach the same head", async () => {
    const heads = await Promise.all(nodes.map(async (node) => (await getJson(`${node.clientUrl}/chain`)).body));
    return heads.every((h) => h.height === heads[0].height && h.currentBlockHash === heads[0].currentBlockHash) ? (heads[0].height as number) : undefined;
  }, 30_000);
  for (let n = 0; n < height; n++) {
    const blocks = await Promise.all(nodes.map((node) => getJson(`${node.clientUrl}/chain/blocks/${n}`)));
    for (const [i, block] of blocks.entries()) assert.deepEqual(block.body, blocks[0]!.body, `block ${n} on ${nodes[i]!.id}`);
  }
  return height;
}

/** The events of `node` named in `names`, in the order it logged them. */
function eventsOf(node: TestNode, names: readonly string[]): Record<string, unknown>[] {
  return node.events.filter((e) => names.includes(e["event"] as string));
}

/**
 * Invokes through every node in turn, one after another, until `done` holds (checked every
 * few invokes), and answers their uuids. Each one must be taken: the cluster commits
 * throughout, whatever the diverged node is doing.
 */
async function invokeUntil(cluster: TestCluster, what: string, done: () => Promise<boolean>, limit: number): Promise<string[]> {
  const uuids: string[] = [];
  for (let i = 0; ; i++) {
    if (i % 4 === 0 && (await done())) return uuids;
    if (i >= limit) throw new Error(`${what}: not reached after ${limit} invokes`);
    uuids.push(await invoke(cluster.nodes[i % cluster.nodes.length]!, ["a", "b", "1"]));
  }
}

describe("a node whose state diverges (real processes, a test fault in one node's execution)", () => {
  it("pbft: caught at the next checkpoint, rolled back, state-transferred, counted in /status; all four agree after, and it votes again", async () => {
    const cluster = await startCluster({
      size: 4,
      plugin: "pbft",
      mode: "classic",
      configFor: (id) => (id === "vp3" ? { test_faults: { corrupt_block: 5 } } : undefined),
      envFor: (id) => (id === "vp3" ? { [TEST_FAULTS_ENV]: "1" } : undefined),
    });
    try {
      const [vp0, vp1, vp2, vp3] = cluster.nodes as [TestNode, TestNode, TestNode, TestNode];
      const deployed = await vp1.rpc("deploy", { ...example02, ctorMsg: { function: "init", args: ["a", "100000", "b", "0"] } });
      assert.equal(deployed.body.result?.status, "OK", JSON.stringify(deployed.body));
      const recovered = async () => {
        const consensus = (await status(vp3)).consensus;
        return consensus.divergences >= 1 && consensus.diverged === false;
      };
      // One block per invoke: block 5 goes wrong on vp3, the checkpoint at 32 shows it.
      const uuids = await invokeUntil(cluster, "vp3 to diverge and recover", recovered, 8 * PBFT_CHECKPOINT_INTERVAL);
      assert.ok(uuids.length >= PBFT_CHECKPOINT_INTERVAL - 1, `the checkpoint came after ${uuids.length} invokes`);
      uuids.push(...(await Promise.all(cluster.nodes.map((node) => invoke(node, ["b", "a", "1"])))));
      await committedOn(cluster.nodes, uuids);
      const height = await assertSameChain(cluster.nodes);
      assert.ok(height >= uuids.length + 2, `every invoke made its block (height ${height})`);

      const consensus = (await status(vp3)).consensus;
      assert.equal(consensus.divergences, 1);
      assert.equal(consensus.diverged, false);
      assert.equal(consensus.last_divergence.seq, PBFT_CHECKPOINT_INTERVAL);
      assert.notEqual(consensus.last_divergence.own, consensus.last_divergence.quorum, "its own digest (or none, if the transfer found it) is not the quorum's");
      assert.equal(consensus.last_divergence.quorum, (await getJson(`${vp0.clientUrl}/chain/blocks/${PBFT_CHECKPOINT_INTERVAL}`)).body.hash, "the quorum's digest is the agreed block 32's hash");
      for (const node of [vp0, vp1, vp2]) assert.equal((await status(node)).consensus.divergences, 0, `${node.id} diverged from nothing`);
      const story = eventsOf(vp3, ["chain.test_fault_fired", "pbft.checkpoint_diverged", "pbft.ledger_rolled_back", "pbft.divergence_recovered"]);
      const names = story.map((e) => e["event"]);
      // Found at the checkpoint (diverged, then rolled back) or, when vp3 was behind as the quorum formed, by the transfer it started (the other way round).
      assert.deepEqual([names[0], names.at(-1), names.length], ["chain.test_fault_fired", "pbft.divergence_recovered", 4], names.join(", "));
      assert.deepEqual(new Set(names.slice(1, 3)), new Set(["pbft.checkpoint_diverged", "pbft.ledger_rolled_back"]));
      assert.equal(story[0]!["number"], 5);
      assert.equal(story.find((e) => e["event"] === "pbft.ledger_rolled_back")!["to_height"], 5, "rolled back to the last block it shared with the quorum: block 4, height 5");
      assert.equal(await query(vp3, "a"), await query(vp0, "a"));
      assert.equal(await query(vp3, "b"), await query(vp0, "b"));

      // It takes part again: with another backup down, no quorum forms without its votes.
      const primary = cluster.node((await status(vp0)).consensus.primary as string);
      const backup = [vp0, vp1, vp2].find((node) => node !== primary)!;
      await backup.stop("SIGKILL");
      const rest = cluster.nodes.filter((node) => node !== backup);
      await committedOn(rest, [await invoke(vp3, ["a", "b", "1"])]);
      await backup.start();
      await assertSameChain(cluster.nodes);
    } finally {
      await cluster.close();
    }
  });

  it("pbft: a ledger rewritten while the node was down (a valid chain, but not the quorum's, below its own stable checkpoint) is found, rolled back and replaced", async () => {
    const cluster = await startCluster({ size: 4, plugin: "pbft", mode: "classic" });
    try {
      const [vp0, vp1, vp2] = cluster.nodes as [TestNode, TestNode, TestNode, TestNode];
      const deployed = await vp1.rpc("deploy", { ...example02, ctorMsg: { function: "init", args: ["a", "100000", "b", "0"] } });
      assert.equal(deployed.body.result?.status, "OK", JSON.stringify(deployed.body));
      const first: string[] = [];
      for (let i = 0; i < PBFT_CHECKPOINT_INTERVAL + 4; i++) first.push(await invoke(cluster.nodes[i % 4]!, ["a", "b", "1"]));
      await committedOn(cluster.nodes, first);
      await waitFor("vp2 to make checkpoint 32 stable", async () => (await status(vp2)).consensus.last_stable_checkpoint >= PBFT_CHECKPOINT_INTERVAL);
      await vp2.stop();
      // Block 3 moved 2 instead of 1; every later block executed again on that state.
      const forged = rewritePbftLedgerFrom(vp2, 3, (transactions) => transactions.map((tx) => ({ ...tx, payload: { ...tx.payload, args: ["a", "b", "2"] } })));
      const eventsBefore = vp2.events.length;
      await vp2.start();
      assert.equal((await getJson(`${vp2.clientUrl}/chain`)).body.currentBlockHash, forged.hash, "vp2 replayed the rewritten ledger");
      assert.notEqual(forged.hash, (await getJson(`${vp0.clientUrl}/chain/blocks/${forged.number}`)).body.hash);
      const recovered = async () => {
        const consensus = (await status(vp2)).consensus;
        return consensus.divergences >= 1 && consensus.diverged === false;
      };
      const more = await invokeUntil(cluster, "vp2 to diverge and recover", recovered, 8 * PBFT_CHECKPOINT_INTERVAL);
      await committedOn(cluster.nodes, [...first, ...more]);
      await assertSameChain(cluster.nodes);
      const consensus = (await status(vp2)).consensus;
      assert.equal(consensus.divergences, 1);
      assert.ok(consensus.last_divergence.seq > PBFT_CHECKPOINT_INTERVAL, `found at ${consensus.last_divergence.seq}, after its own stable checkpoint`);
      const rolledBack = vp2.events.slice(eventsBefore).find((e) => e["event"] === "pbft.ledger_rolled_back");
      assert.equal(rolledBack?.["to_height"], 3, "rolled back to block 2, the last one it shared with the quorum");
      assert.equal(await query(vp2, "b"), await query(vp0, "b"));
    } finally {
      await cluster.close();
    }
  });

  it("noops: a follower that cannot take the leader's block counts it, rebuilds, takes it from the leader; all four agree after", async () => {
    const cluster = await startCluster({
      size: 4,
      plugin: "noops",
      mode: "classic",
      configFor: (id) => (id === "vp2" ? { test_faults: { corrupt_block: 3 } } : undefined),
      envFor: (id) => (id === "vp2" ? { [TEST_FAULTS_ENV]: "1" } : undefined),
    });
    try {
      const [vp0, vp1, vp2] = cluster.nodes as [TestNode, TestNode, TestNode, TestNode];
      const deployed = await vp1.rpc("deploy", { ...example02, ctorMsg: { function: "init", args: ["a", "100000", "b", "0"] } });
      assert.equal(deployed.body.result?.status, "OK", JSON.stringify(deployed.body));
      const recovered = async () => {
        const consensus = (await status(vp2)).consensus;
        return consensus.divergences >= 1 && consensus.diverged === false;
      };
      const uuids = await invokeUntil(cluster, "vp2 to diverge and recover", recovered, 200);
      uuids.push(...(await Promise.all(cluster.nodes.map((node) => invoke(node, ["b", "a", "1"])))));
      await committedOn(cluster.nodes, uuids);
      await assertSameChain(cluster.nodes);
      const consensus = (await status(vp2)).consensus;
      assert.equal(consensus.divergences, 1);
      assert.equal(consensus.last_divergence.number, 3);
      assert.equal(consensus.last_divergence.leader, (await getJson(`${vp0.clientUrl}/chain/blocks/3`)).body.hash);
      assert.match(consensus.last_divergence.reason, /block 3's stateHash differs from re-execution/);
      assert.equal((await status(vp1)).consensus.divergences, 0);
      const story = eventsOf(vp2, ["chain.test_fault_fired", "noops.diverged", "noops.divergence_recovered"]);
      assert.deepEqual(story.map((e) => e["event"]), ["chain.test_fault_fired", "noops.diverged", "noops.divergence_recovered"]);
      assert.equal(await query(vp2, "a"), await query(vp0, "a"));
    } finally {
      await cluster.close();
    }
  });
});
