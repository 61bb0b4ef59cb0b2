import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Cluster, Host } from "../../src/core/types.ts";
import { createMemoryDriver } from "../../src/drivers/memory.ts";

const host: Host = { id: "h1", name: "sim", type: "memory", daemon_url: "", capacity: 10, autofill: false, schedulable: true, log_level: "INFO", status: "active", params: {}, create_ts: "" };
const cluster = (id: string): Cluster => ({
  id, name: id, host_id: "h1", consensus_plugin: "noops", consensus_mode: "", size: 4, status: "running", health: "OK",
  user_id: "", apply_ts: null, api_url: "", service_url: {}, url_secret: "", handle: {}, op: null, create_ts: "",
});

describe("memory host simulation (the fleet benchmark's hosts)", () => {
  it("holds the clusters it is told exist, as a real host does across a daemon restart", async () => {
    const d = createMemoryDriver(host, undefined, { existing: ["a", "b"] });
    assert.deepEqual(await d.probe(cluster("a")), { ok: true });
    assert.equal((await d.probe(cluster("c"))).ok, false);
    assert.deepEqual(await d.sweep!(new Set(["a"]), 0), ["b"]);
  });

  it("a failed call changes nothing: the operation throws, the probe and ping answer not ok", async () => {
    const d = createMemoryDriver(host, undefined, { existing: ["a"], failureRate: 1 });
    await assert.rejects(d.createCluster(cluster("n")), /simulated failure: create n on sim/);
    await assert.rejects(d.removeCluster(cluster("a")), /simulated failure: remove a/);
    assert.equal((await d.probe(cluster("a"))).ok, false);
    assert.equal(await d.ping(), false);
    assert.deepEqual([...d.live], ["a"]);
  });

  it("draws each call's latency from the range with the given randomness, and fails by the rate", async () => {
    const draws = [0, 0.5, 0.99];
    let i = 0;
    const d = createMemoryDriver(host, undefined, { latencyMs: [0, 2], failureRate: 0.5, random: () => draws[i++ % draws.length]! });
    // Each call draws latency, then failure: (0 -> 0 ms, 0.5 -> not below 0.5: ok), (0.99 -> ~2 ms, 0 -> fails).
    assert.equal(await d.ping(), true);
    assert.equal(await d.ping(), false);
  });
});
