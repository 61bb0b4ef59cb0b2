/**
 * PBFT on an in-process network with a virtual clock: lossy, duplicating, reordering
 * links (seeded), crashes, restarts and lying primaries. After every scenario the
 * correct replicas hold identical ledgers and no sequence number executed two batches.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { batchDigest } from "../../src/chain/consensus/pbft/pbft-messages.ts";
import { decideNewView } from "../../src/chain/consensus/pbft/pbft-replica.ts";
import { GENESIS_HASH, SimNetwork, blockHash } from "./helpers/pbft-sim.ts";
import type { SimNode } from "./helpers/pbft-sim.ts";

function assertSameLedgers(net: SimNetwork, nodes: readonly SimNode[] = net.live()): void {
  const [first, ...rest] = nodes;
  assert.ok(first);
  for (const node of rest) {
    assert.deepEqual(
      node.ledger.blocks.map((b) => b.hash),
      first.ledger.blocks.map((b) => b.hash),
      `${node.id}'s ledger differs from ${first.id}'s`,
    );
  }
  for (const [seq, byDigest] of net.executions) {
    assert.ok(byDigest.size <= 1, `sequence number ${seq} executed ${byDigest.size} different batches`);
  }
}

/** Lets the replicas finish in-flight work, then waits until every listed node holds the same ledger. */
function settle(net: SimNetwork, nodes: readonly SimNode[] = net.live()): void {
  net.runUntil("the ledgers to converge", () => nodes.every((n) => n.ledger.head === nodes[0]!.ledger.head && n.replica.lastExecuted === nodes[0]!.replica.lastExecuted));
  assertSameLedgers(net, nodes);
}

function submitMany(net: SimNetwork, count: number, via: readonly string[] = net.ids): string[] {
  return Array.from({ length: count }, (_, i) => net.submit(via[i % via.length]!));
}

describe("pbft on a simulated network", () => {
  it("orders requests sent to any replica, exactly once, in classic mode: one request per block", () => {
    const net = new SimNetwork({ seed: 1 });
    const keys = submitMany(net, 30);
    net.runUntil("all requests to execute", () => net.executedEverywhere(keys));
    settle(net);
    const blocks = net.node("vp0").ledger.blocks;
    assert.equal(blocks.length, 30);
    assert.ok(blocks.every((b) => b.requests.length === 1));
    assert.equal(new Set(blocks.flatMap((b) => b.requests)).size, 30);
    assert.ok(net.node("vp2").replica.status().last_stable_checkpoint >= 25, "checkpoints became stable and the log was collected");
  });

  it("batch mode puts up to batch_size requests in one block, and a lone one after batch_timeout", () => {
    const net = new SimNetwork({ seed: 2, mode: "batch", batchSize: 10, batchTimeoutMs: 200 });
    const full = submitMany(net, 20, ["vp0"]);
    net.runUntil("20 requests", () => net.executedEverywhere(full));
    assert.deepEqual(net.node("vp1").ledger.blocks.map((b) => b.requests.length), [10, 10]);
    const start = net.now;
    const [lone] = submitMany(net, 1, ["vp0"]);
    net.runUntil("the lone request", () => net.executedEverywhere([lone!]));
    assert.ok(net.now - start >= 200, "a lone request waits for the batch timeout");
    settle(net);
  });

  it("keeps one order on links that drop, duplicate and reorder frames", () => {
    const net = new SimNetwork({ seed: 3, dropRate: 0.05, duplicateRate: 0.1, minDelayMs: 1, maxDelayMs: 40 });
    const keys = submitMany(net, 40);
    net.runUntil("all requests to execute", () => net.executedEverywhere(keys), 60_000);
    settle(net);
    assert.equal(new Set(net.node("vp3").ledger.blocks.flatMap((b) => b.requests)).size, 40);
  });

  it("a resent request executes once", () => {
    const net = new SimNetwork({ seed: 4 });
    const node = net.node("vp1");
    const request = node.codec.authenticate({ client: "vp1", number: 99, operation: { op: "put" } });
    assert.equal(node.replica.submit(request, net.now), "accepted");
    assert.equal(node.replica.submit(request, net.now), "duplicate");
    net.runUntil("the request", () => net.executedEverywhere(["vp1:99"]));
    assert.equal(node.replica.submit(request, net.now), "duplicate");
    net.node("vp0").replica.receive("vp1", { type: "request", request }, net.now);
    net.run(500);
    settle(net);
    assert.equal(net.node("vp0").ledger.blocks.filter((b) => b.requests.includes("vp1:99")).length, 1);
  });

  it("the primary crashes: a view change follows and requests commit again", () => {
    const net = new SimNetwork({ seed: 5 });
    const before = submitMany(net, 5);
    net.runUntil("first requests", () => net.executedEverywhere(before));
    net.crash("vp0");
    const after = submitMany(net, 5, ["vp1", "vp2", "vp3"]);
    net.runUntil("requests after the crash", () => net.executedEverywhere(after));
    for (const node of net.live()) {
      assert.ok(node.replica.view >= 1, `${node.id} moved past view 0`);
      assert.notEqual(node.replica.status().primary, "vp0");
    }
    settle(net);
  });

  it("f backups crash: progress continues; f+1 crash: no progress, no divergence; back: progress resumes", () => {
    const net = new SimNetwork({ seed: 6, size: 7 }); // f = 2
    net.crash("vp5");
    net.crash("vp6");
    const first = submitMany(net, 10, ["vp0", "vp1"]);
    net.runUntil("progress with f backups down", () => net.executedEverywhere(first));
    net.crash("vp4");
    const stalled = submitMany(net, 5, ["vp0", "vp1"]);
    net.run(3_000);
    for (const node of net.live()) assert.ok(!stalled.some((k) => node.ledger.executed.has(k)), `${node.id} executed without a quorum`);
    assertSameLedgers(net);
    net.restart("vp4");
    net.restart("vp5");
    net.restart("vp6");
    net.runUntil("progress after the backups came back", () => net.executedEverywhere(stalled));
    const more = submitMany(net, 5, ["vp2", "vp6"]);
    net.runUntil("new requests after recovery", () => net.executedEverywhere(more));
    settle(net);
  });

  it("a replica that restarts after the others moved past a checkpoint catches up by state transfer", () => {
    const net = new SimNetwork({ seed: 7 });
    net.crash("vp3");
    const missed = submitMany(net, 23, ["vp0", "vp1", "vp2"]);
    net.runUntil("requests without vp3", () => net.executedEverywhere(missed));
    assert.ok(net.node("vp0").replica.status().last_stable_checkpoint >= 20);
    net.restart("vp3", { wipe: true });
    net.runUntil("vp3 to catch up", () => net.node("vp3").ledger.head === net.node("vp0").ledger.head);
    assert.ok(net.logs.some((l) => l.node === "vp3" && l.event === "pbft.state_transferred"));
    const more = submitMany(net, 4);
    net.runUntil("new requests everywhere", () => net.executedEverywhere(more));
    settle(net);
  });

  for (const lie of ["equivocate", "split", "three_way", "wrong_digest", "outside_watermarks"] as const) {
    it(`a Byzantine primary (${lie.replace("_", " ")}) gets no conflicting batch committed${lie === "split" ? "" : " and is replaced by a view change"}`, () => {
      const net = new SimNetwork({ seed: 8 });
      const honest = submitMany(net, 3, ["vp1"]);
      net.runUntil("honest requests", () => net.executedEverywhere(honest));
      net.node("vp0").lie = lie;
      const keys = submitMany(net, 6, ["vp1", "vp2", "vp3"]);
      net.runUntil("requests after the lie", () => net.executedEverywhere(keys));
      const correct = ["vp1", "vp2", "vp3"].map((id) => net.node(id));
      if (lie === "split") {
        // One backup told otherwise is outvoted: the primary and two backups still make a quorum;
        // the misled backup catches up by state transfer, with no view change needed.
        assert.ok(net.logs.some((l) => l.node === "vp1" && l.event === "pbft.state_transfer"));
      } else {
        for (const node of correct) assert.ok(node.replica.view >= 1, `${node.id} changed view`);
        // three_way: no backup sees two pre-prepares, but none gathers a quorum, so the request timers fire.
        if (lie !== "three_way") assert.ok(net.logs.some((l) => l.event === "pbft.primary_suspected"), "the lie was noticed");
      }
      settle(net, correct);
    });
  }

  it("forged, misdirected and replayed frames are refused and counted; a replayed message counts once", () => {
    const net = new SimNetwork({ seed: 9 });
    const keys = submitMany(net, 3);
    net.runUntil("requests", () => net.executedEverywhere(keys));
    const sample = net.wire.find((w) => w.from === "vp1" && w.to === "vp2")!;
    const vp2 = net.node("vp2");
    net.inject("vp2", sample.frame);
    assert.equal(vp2.rejectedFrames["replayed"], 1);
    const lines = sample.frame.split("\n");
    lines[5] = lines[5]!.replace(/"view":0/, '"view":7');
    net.inject("vp2", lines.join("\n"));
    assert.equal(vp2.rejectedFrames["bad_mac"], 1);
    net.inject("vp2", sample.frame.replace(/^vp1/, "mallory"));
    assert.equal(vp2.rejectedFrames["non_member"], 1);
    net.inject("vp3", sample.frame);
    assert.equal(net.node("vp3").rejectedFrames["misdirected"], 1);
    // A member resending an old commit in a fresh frame changes nothing: votes count once.
    const commit = { type: "commit" as const, view: 0, seq: 1, digest: "f".repeat(64) };
    for (let i = 0; i < 5; i++) net.inject("vp2", net.node("vp1").codec.seal("vp2", [commit]));
    net.run(200);
    settle(net);
    // A forged request (bad authenticator) relayed by a member is refused.
    const forged = { ...net.node("vp1").codec.authenticate({ client: "vp3", number: 1, operation: { op: "evil" } }) };
    net.inject("vp0", net.node("vp1").codec.seal("vp0", [{ type: "request", request: forged }]));
    net.run(1_000);
    assert.equal(net.node("vp0").replica.status().rejected.bad_request, 1);
    assert.ok(!net.node("vp0").ledger.executed.has("vp3:1"));
  });

  it("new-view selection keeps a prepared batch, fills holes with null requests, and refuses a batch that is not the digest's", () => {
    const batch = { proposer: "vp0", timestamp: 1, requests: [] };
    const digest = batchDigest(batch);
    const cset = [{ seq: 0, digest: "g" }];
    const prepared = { view: 1, replica: "vp1", h: 0, cset, pset: [{ seq: 2, view: 0, digest, batch }], qset: [{ seq: 2, view: 0, digest }] };
    const sawIt = { view: 1, replica: "vp2", h: 0, cset, pset: [], qset: [{ seq: 2, view: 0, digest }] };
    const sawNothing = { view: 1, replica: "vp3", h: 0, cset, pset: [], qset: [] };
    assert.deepEqual(decideNewView([prepared, sawIt, sawNothing], 3, 1, 10), {
      checkpoint: { seq: 0, digest: "g" },
      entries: [
        { seq: 1, digest: "", batch: null },
        { seq: 2, digest, batch },
      ],
    });
    const tampered = { ...prepared, pset: [{ seq: 2, view: 0, digest, batch: { ...batch, timestamp: 2 } }] };
    assert.equal(decideNewView([tampered, sawIt, sawNothing], 3, 1, 10), undefined, "undecidable until more view-changes arrive");
    const onlyOneSaw = { ...sawIt, qset: [] };
    assert.equal(decideNewView([prepared, onlyOneSaw, sawNothing], 3, 1, 10), undefined, "A2 needs f+1 pre-prepared");
  });

  it("f+1 replicas crash, the primary among them, and restart (one with its data lost): nothing diverges and all requests from live clients commit", () => {
    for (let seed = 2000; seed < 2014; seed += 2) {
      const net = new SimNetwork({ seed, dropRate: 0.03, duplicateRate: 0.05, maxDelayMs: 30, mode: seed % 4 ? "batch" : "classic", batchSize: 4, batchTimeoutMs: 20, size: seed % 3 === 0 ? 7 : 4 });
      const f = Math.floor((net.ids.length - 1) / 3);
      const victims = net.ids.slice(0, f + 1);
      const early = submitMany(net, 10, net.ids.filter((id) => !victims.includes(id)));
      net.run(100 + (seed % 5) * 50);
      for (const id of victims) net.crash(id);
      const stalled = submitMany(net, 10, net.ids.filter((id) => !victims.includes(id)));
      net.run(1_500);
      assertSameLedgers(net);
      // Without its data a replica counts as faulty: at most f of them.
      victims.forEach((id, i) => net.restart(id, { wipe: i === 0 }));
      const late = submitMany(net, 10);
      net.runUntil(`seed ${seed}: all requests`, () => net.executedEverywhere([...early, ...stalled, ...late]), 120_000);
      settle(net);
    }
  });

  it("stays safe and live across seeds with lossy links and a primary crash", () => {
    for (let seed = 100; seed < 108; seed++) {
      const net = new SimNetwork({ seed, dropRate: 0.03, duplicateRate: 0.05, maxDelayMs: 30, mode: seed % 2 === 0 ? "classic" : "batch", batchSize: 4, batchTimeoutMs: 30 });
      const first = submitMany(net, 12);
      net.run(100 + (seed % 5) * 37);
      net.crash(net.ids[seed % 4]!);
      const rest = submitMany(net, 8, net.ids.filter((id) => !net.node(id).crashed));
      net.runUntil(`seed ${seed}: all requests`, () => net.executedEverywhere([...first, ...rest].filter((k) => !net.node(k.split(":")[0]!).crashed)), 60_000);
      settle(net);
    }
  });
});

describe("pbft: a replica whose state diverges from the quorum's", () => {
  function divergenceLogs(net: SimNetwork, id: string): string[] {
    return net.logs.filter((l) => l.node === id && (l.event === "pbft.checkpoint_diverged" || l.event === "pbft.divergence_recovered")).map((l) => l.event);
  }

  it("is caught at the next checkpoint, rolls back, state-transfers the quorum's blocks, counts it, and takes part again", () => {
    const net = new SimNetwork({ seed: 31 });
    const vp3 = net.node("vp3");
    vp3.ledger.corruptBlock = 3; // its execution errs once, at block 3 (checkpoint interval 5)
    const keys = submitMany(net, 12);
    net.runUntil("all requests everywhere", () => net.executedEverywhere(keys));
    settle(net);
    const status = vp3.replica.status();
    assert.equal(status.divergences, 1);
    assert.equal(status.diverged, false);
    // Found at a checkpoint after block 3 (5, or 10 when vp3 ran ahead of the others' votes for 5).
    const seq = status.last_divergence?.seq ?? 0;
    assert.ok(seq >= 5 && seq % 5 === 0, `diverged at checkpoint ${seq}`);
    assert.notEqual(status.last_divergence?.own, status.last_divergence?.quorum);
    assert.equal(status.last_divergence?.quorum, net.node("vp0").ledger.digestAt(seq));
    assert.deepEqual(divergenceLogs(net, "vp3"), ["pbft.checkpoint_diverged", "pbft.divergence_recovered"]);
    for (const id of ["vp0", "vp1", "vp2"]) assert.equal(net.node(id).replica.status().divergences, 0, `${id} diverged from nothing`);
    // It takes part again: with another backup down, no quorum forms without it.
    net.crash("vp2");
    const more = submitMany(net, 6, ["vp0", "vp1", "vp3"]);
    net.runUntil("requests that need vp3's votes", () => net.executedEverywhere(more));
    assert.ok(vp3.replica.status().last_stable_checkpoint >= 15, "vp3's checkpoints agree with the others' again");
    settle(net);
  });

  it("one that was cut off after its execution erred finds the fork by state transfer, rolls back, and counts it", () => {
    const net = new SimNetwork({ seed: 32 });
    const vp2 = net.node("vp2");
    vp2.ledger.corruptBlock = 2;
    const first = submitMany(net, 3, ["vp0", "vp1", "vp3"]);
    net.runUntil("vp2 to make its wrong block 2 and more", () => vp2.ledger.blocks.length >= 3);
    net.crash("vp2"); // before any checkpoint could show it
    const more = submitMany(net, 9, ["vp0", "vp1", "vp3"]);
    net.runUntil("the others to pass two checkpoints", () => net.node("vp0").replica.status().last_stable_checkpoint >= 10);
    vp2.crashed = false; // back on its links, with its diverged ledger and the protocol state it had
    net.runUntil("all requests everywhere", () => net.executedEverywhere([...first, ...more]));
    settle(net);
    const status = vp2.replica.status();
    assert.equal(status.divergences, 1);
    assert.equal(status.diverged, false);
    assert.equal(status.last_divergence?.own, "", "found by the transfer, not at a checkpoint of its own");
    assert.deepEqual(divergenceLogs(net, "vp2"), ["pbft.checkpoint_diverged", "pbft.divergence_recovered"]);
  });

  it("a diverged primary stops cutting batches; the cluster goes on and it recovers", () => {
    const net = new SimNetwork({ seed: 33 });
    const vp0 = net.node("vp0");
    vp0.ledger.corruptBlock = 4;
    const keys = submitMany(net, 15);
    net.runUntil("all requests everywhere", () => net.executedEverywhere(keys), 60_000);
    settle(net);
    assert.equal(vp0.replica.status().divergences, 1);
    assert.deepEqual(divergenceLogs(net, "vp0"), ["pbft.checkpoint_diverged", "pbft.divergence_recovered"]);
  });

  it("a ledger changed while the replica was down (below its own stable checkpoint) is rolled back to the block it shares with the quorum", () => {
    const net = new SimNetwork({ seed: 34 });
    const first = submitMany(net, 7);
    net.runUntil("the first requests", () => net.executedEverywhere(first));
    settle(net);
    net.crash("vp1");
    // Rewrites block 2 and re-links everything after it: a hash chain that replays, but is not the quorum's.
    const ledger = net.node("vp1").ledger;
    let previous = GENESIS_HASH;
    ledger.blocks.forEach((block, i) => {
      const changed = { ...block, previous, timestamp: block.timestamp + (i === 1 ? 7 : 0) };
      const { hash: _, ...unhashed } = changed;
      ledger.blocks[i] = { ...unhashed, hash: blockHash(unhashed) };
      previous = ledger.blocks[i]!.hash;
    });
    net.restart("vp1");
    const more = submitMany(net, 8, ["vp0", "vp2", "vp3"]);
    net.runUntil("all requests everywhere", () => net.executedEverywhere([...first, ...more]));
    settle(net);
    const status = net.node("vp1").replica.status();
    assert.equal(status.divergences, 1);
    assert.equal(status.diverged, false);
  });
});
