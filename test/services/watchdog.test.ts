import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { createTestDaemon, type TestDaemon } from "../helpers/daemon.ts";

describe("watchdog and reconciler on a memory host", () => {
  let t: TestDaemon;
  beforeEach(() => {
    t = createTestDaemon({
      scheduler: { health_failures: 2, host_failures: 1 },
      pool: {
        types: [
          { plugin: "noops", mode: "", size: 4 },
          { plugin: "pbft", mode: "batch", size: 4 },
        ],
      },
    });
  });
  afterEach(async () => t.close());
  const store = () => t.daemon.services.store;
  const wd = () => t.daemon.services.watchdog;
  const settle = () => t.daemon.deps.reconciler.runOnce();

  it("a free cluster that stays unhealthy is reset: dropped and recreated under a new id", async () => {
    const host = await t.addMemoryHost({ ready: 1, capacity: 1 });
    const [c] = store().listClusters();
    t.memory.get(host.id)!.breakCluster(c!.id);
    await wd().checkClusters();
    assert.equal(store().getCluster(c!.id)!.health, "OK", "one failure is not enough");
    await wd().checkClusters();
    await settle();
    await settle();
    const now = store().listClusters();
    assert.equal(now.length, 1);
    assert.notEqual(now[0]!.id, c!.id);
    assert.equal(now[0]!.health, "OK");
    assert.equal(now[0]!.name, c!.name);
  });

  it("a cluster in use that turns unhealthy is repaired in place, keeping its id and user", async () => {
    const host = await t.addMemoryHost({ ready: 1, capacity: 1 });
    const claim = t.daemon.services.pool.apply({ user_id: "u", allow_multiple: false });
    t.memory.get(host.id)!.breakCluster(claim.id);
    await wd().checkClusters();
    await wd().checkClusters();
    assert.equal(store().getCluster(claim.id)!.health, "FAIL");
    await wd().checkClusters();
    const after = store().getCluster(claim.id)!;
    assert.equal(after.health, "OK", "the repair healed it");
    assert.equal(after.user_id, "u");
  });

  it("an unreachable host turns inactive, its clusters FAIL and nothing is handed out from it", async () => {
    const host = await t.addMemoryHost({ ready: 2 });
    t.memory.get(host.id)!.setReachable(false);
    await wd().checkHosts();
    assert.equal(store().getHost(host.id)!.status, "inactive");
    assert.ok(store().listClusters().every((c) => c.health === "FAIL"));
    assert.throws(() => t.daemon.services.pool.apply({ user_id: "x", allow_multiple: false }), /no free cluster/);
    t.memory.get(host.id)!.setReachable(true);
    await wd().checkHosts();
    assert.equal(store().getHost(host.id)!.status, "active");
  });

  it("autofill keeps autofill hosts at capacity, spread over the pool's consensus types", async () => {
    const host = t.daemon.services.hosts.add({ name: "auto", type: "memory", daemon_url: "", capacity: 4, autofill: true, schedulable: true, log_level: "INFO", params: {} });
    wd().autofill();
    await settle();
    const types = store().listClusters({ host_id: host.id }).map((c) => c.consensus_plugin).sort();
    assert.deepEqual(types, ["noops", "noops", "pbft", "pbft"]);
    wd().autofill();
    assert.equal(store().countClustersOnHost(host.id), 4, "never past capacity");
    assert.equal(t.memory.get(host.id)!.live.size, 4);
  });

  it("the sweep removes driver resources that no row claims", async () => {
    const host = await t.addMemoryHost({ ready: 2 });
    const mem = t.memory.get(host.id)!;
    await mem.createCluster({ ...store().listClusters()[0]!, id: "orphan-1" });
    assert.equal(mem.live.size, 3);
    await wd().sweep();
    assert.equal(mem.live.size, 2);
    assert.ok(!mem.live.has("orphan-1"));
  });

  it("work written down before a crash is finished by the next daemon on the same database", async () => {
    const host = await t.addMemoryHost({ ready: 2 });
    const [a, b] = store().listClusters();
    t.daemon.services.pool.apply({ user_id: "u", allow_multiple: false });
    // Intent recorded, no driver call yet: what a crash right after the release leaves.
    const held = store().listClusters({ user_id: "u" })[0]!;
    store().releaseCluster(held.id);
    store().createCluster(host.id, { plugin: "noops", mode: "", size: 4 });
    const dir = t.dir;
    const config = t.config;
    await t.daemon.close();
    const { createDaemon } = await import("../../src/daemon.ts");
    const { createMemoryDriver } = await import("../../src/drivers/memory.ts");
    const { silentLogger } = await import("../../src/lib/logger.ts");
    const next = createDaemon({ config, logger: silentLogger, factories: { memory: (h) => createMemoryDriver(h) } });
    try {
      await next.deps.reconciler.runOnce();
      await next.deps.reconciler.runOnce();
      const all = next.services.store.listClusters();
      assert.equal(all.length, 3, "nothing lost, nothing created twice");
      assert.ok(all.every((c) => c.status === "running" && c.op === null && c.health === "OK"));
      assert.ok(!all.some((c) => c.id === held.id), "the released cluster was recycled under a new id");
      assert.ok([a!.id, b!.id].filter((id) => id !== held.id).every((id) => all.some((c) => c.id === id)));
    } finally {
      await next.close();
      void dir;
    }
  });
});
