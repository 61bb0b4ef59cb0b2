/**
 * Intents written while a driver operation runs on the same cluster: a release or a delete
 * always wins over the start/stop/restart/repair/create/recycle in flight, and clean removes
 * free clusters whatever they are doing. The driver is the memory host with gates that hold
 * an operation open until the test lets it go, so each interleaving is exact, not timed.
 */
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import type { Host } from "../../src/core/types.ts";
import { createMemoryDriver, type MemoryDriver } from "../../src/drivers/memory.ts";
import { createTestDaemon, type TestDaemon } from "../helpers/daemon.ts";

type Gated = "createCluster" | "removeCluster" | "restartCluster" | "stopCluster" | "repairCluster";

/** Holds the next call of a driver method open until `open()`; `entered` resolves once it is called. */
class Gates {
  readonly #held = new Map<Gated, { entered: () => void; wait: Promise<void> }>();

  hold(method: Gated): { entered: Promise<void>; open: () => void } {
    let open!: () => void;
    let entered!: () => void;
    const wait = new Promise<void>((r) => (open = r));
    const enteredP = new Promise<void>((r) => (entered = r));
    this.#held.set(method, { entered, wait });
    return { entered: enteredP, open };
  }

  async pass(method: Gated): Promise<void> {
    const gate = this.#held.get(method);
    if (!gate) return;
    this.#held.delete(method);
    gate.entered();
    await gate.wait;
  }
}

function gatedMemoryDriver(host: Host, gates: Gates): MemoryDriver {
  const inner = createMemoryDriver(host);
  const wrap =
    <A extends unknown[], R>(method: Gated, fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      await gates.pass(method);
      return fn(...args);
    };
  return {
    ...inner,
    createCluster: wrap("createCluster", inner.createCluster),
    removeCluster: wrap("removeCluster", inner.removeCluster),
    restartCluster: wrap("restartCluster", inner.restartCluster),
    stopCluster: wrap("stopCluster", inner.stopCluster),
    repairCluster: wrap("repairCluster", inner.repairCluster!),
  };
}

describe("a release or delete during another operation wins", () => {
  let t: TestDaemon;
  let gates: Gates;
  const drivers = new Map<string, MemoryDriver>();
  beforeEach(() => {
    gates = new Gates();
    t = createTestDaemon(
      { scheduler: { health_failures: 1 } },
      {
        memory: (host) => {
          const d = gatedMemoryDriver(host, gates);
          drivers.set(host.id, d);
          t.memory.set(host.id, d);
          return d;
        },
      },
    );
  });
  afterEach(async () => t.close());
  const store = () => t.daemon.services.store;
  const settle = () => t.daemon.deps.reconciler.runOnce();
  /** Waits until nothing is owed and nothing runs: ops started by a kick included. */
  const settleAll = async () => {
    for (let i = 0; i < 20 && (store().pendingOps(0, 1).length > 0 || i === 0); i++) await settle();
    assert.deepEqual(store().pendingOps(0, 10), [], "no op left owed");
  };

  for (const action of ["restart", "stop"] as const) {
    it(`a release sent while a ${action} runs recycles the cluster: new id, and the old one is never handed out`, async () => {
      await t.addMemoryHost({ ready: 1, capacity: 1 });
      const alice = (await t.call("POST", "/v2/cluster_op", { action: "apply", user_id: "alice" })).body.data;
      const gate = gates.hold(action === "restart" ? "restartCluster" : "stopCluster");
      const op = t.call("POST", "/v2/cluster_op", { action, cluster_id: alice.id });
      await gate.entered;
      const rel = await t.call("POST", "/v2/cluster_op", { action: "release", user_id: "alice" });
      assert.equal(rel.status, 200, JSON.stringify(rel.body));
      gate.open();
      const answered = await op;
      assert.equal(answered.status, 200, JSON.stringify(answered.body));
      assert.equal(answered.body.data.status, "deleting", "the reply shows the release won");
      await settleAll();
      const now = store().listClusters();
      assert.equal(now.length, 1);
      assert.notEqual(now[0]!.id, alice.id, "a successor under a new id");
      assert.equal((await t.call("GET", `/v2/cluster/${alice.id}`)).status, 404);
      const bob = await t.call("POST", "/v2/cluster_op", { action: "apply", user_id: "bob" });
      assert.equal(bob.status, 200);
      assert.notEqual(bob.body.data.id, alice.id, "bob never gets alice's cluster");
    });
  }

  it("a delete sent while a restart runs deletes the cluster", async () => {
    const host = await t.addMemoryHost({ ready: 1, capacity: 1 });
    const alice = (await t.call("POST", "/v2/cluster_op", { action: "apply", user_id: "alice" })).body.data;
    const gate = gates.hold("restartCluster");
    const op = t.call("POST", "/v2/cluster_op", { action: "restart", cluster_id: alice.id });
    await gate.entered;
    assert.equal((await t.call("DELETE", "/api/cluster", { id: alice.id })).status, 200);
    gate.open();
    await op;
    await settleAll();
    assert.deepEqual(store().listClusters(), []);
    assert.equal(t.memory.get(host.id)!.live.size, 0, "removed from the host");
  });

  it("a delete sent while a recycle removes the old cluster leaves no successor", async () => {
    const host = await t.addMemoryHost({ ready: 1, capacity: 1 });
    const alice = (await t.call("POST", "/v2/cluster_op", { action: "apply", user_id: "alice" })).body.data;
    const gate = gates.hold("removeCluster");
    assert.equal((await t.call("POST", "/v2/cluster_op", { action: "release", cluster_id: alice.id })).status, 200);
    const running = settle();
    await gate.entered;
    assert.equal((await t.call("DELETE", "/api/cluster", { id: alice.id })).status, 200);
    gate.open();
    await running;
    await settleAll();
    assert.deepEqual(store().listClusters(), []);
    assert.equal(t.memory.get(host.id)!.live.size, 0);
  });

  it("a delete sent while the cluster is being created removes what the creation made", async () => {
    const host = await t.addMemoryHost({ capacity: 1 });
    const gate = gates.hold("createCluster");
    const made = await t.call("POST", "/api/cluster", { host_id: host.id, consensus_plugin: "noops", size: 4 });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const running = settle();
    await gate.entered;
    assert.equal((await t.call("DELETE", "/api/cluster", { id: made.body.data.id })).status, 200);
    gate.open();
    await running;
    await settleAll();
    assert.deepEqual(store().listClusters(), []);
    assert.equal(t.memory.get(host.id)!.live.size, 0, "nothing left on the host");
  });

  it("a release sent while a held cluster is repaired waits for the repair, then recycles it", async () => {
    const host = await t.addMemoryHost({ ready: 1, capacity: 1 });
    const alice = (await t.call("POST", "/v2/cluster_op", { action: "apply", user_id: "alice" })).body.data;
    t.memory.get(host.id)!.breakCluster(alice.id);
    const gate = gates.hold("repairCluster");
    const check = t.daemon.services.watchdog.checkClusters();
    await gate.entered;
    assert.equal((await t.call("POST", "/v2/cluster_op", { action: "release", cluster_id: alice.id })).status, 200);
    await settle();
    assert.equal(store().getCluster(alice.id)?.op, "recycle", "the recycle waits while the repair holds the cluster");
    gate.open();
    await check;
    await settleAll();
    const now = store().listClusters();
    assert.equal(now.length, 1);
    assert.notEqual(now[0]!.id, alice.id);
  });

  it("a restart asked for while a repair runs waits for the repair, then restarts", async () => {
    const host = await t.addMemoryHost({ ready: 1, capacity: 1 });
    const alice = (await t.call("POST", "/v2/cluster_op", { action: "apply", user_id: "alice" })).body.data;
    t.memory.get(host.id)!.breakCluster(alice.id);
    const repairing = gates.hold("repairCluster");
    const check = t.daemon.services.watchdog.checkClusters();
    await repairing.entered;
    const restarting = gates.hold("restartCluster");
    const restart = t.call("POST", "/v2/cluster_op", { action: "restart", cluster_id: alice.id });
    repairing.open();
    await check;
    await restarting.entered; // the restart itself ran, after the repair
    restarting.open();
    const answered = await restart;
    assert.equal(answered.status, 200, JSON.stringify(answered.body));
    assert.equal(store().getCluster(alice.id)!.op, null, "answered once its own op is done");
  });
});

describe("host_op clean", () => {
  let t: TestDaemon;
  let gates: Gates;
  beforeEach(() => {
    gates = new Gates();
    t = createTestDaemon({}, {
      memory: (host) => {
        const d = gatedMemoryDriver(host, gates);
        t.memory.set(host.id, d);
        return d;
      },
    });
  });
  afterEach(async () => t.close());

  it("removes free clusters still being created or recycled, and keeps held ones", async () => {
    const host = await t.addMemoryHost({ ready: 2, capacity: 4 });
    const store = t.daemon.services.store;
    const alice = (await t.call("POST", "/v2/cluster_op", { action: "apply", user_id: "alice" })).body.data;
    const bob = (await t.call("POST", "/v2/cluster_op", { action: "apply", user_id: "bob" })).body.data;
    // bob's release is being recycled (its removal held open) and a new cluster is being created.
    const removing = gates.hold("removeCluster");
    assert.equal((await t.call("POST", "/v2/cluster_op", { action: "release", cluster_id: bob.id })).status, 200);
    const recycling = t.daemon.deps.reconciler.runOnce();
    await removing.entered;
    const creating = gates.hold("createCluster");
    const made = await t.call("POST", "/api/cluster", { host_id: host.id, consensus_plugin: "noops", size: 4 });
    const creation = t.daemon.deps.reconciler.settle(made.body.data.id);
    await creating.entered;

    const clean = await t.call("POST", "/api/host_op", { id: host.id, action: "clean" });
    assert.equal(clean.status, 200, JSON.stringify(clean.body));
    removing.open();
    creating.open();
    await Promise.all([recycling, creation]);
    for (let i = 0; i < 20 && store.pendingOps(0, 1).length > 0; i++) await t.daemon.deps.reconciler.runOnce();

    const left = store.listClusters({ host_id: host.id });
    assert.deepEqual(left.map((c) => c.id), [alice.id], "only the held cluster stays");
    assert.deepEqual([...t.memory.get(host.id)!.live], [alice.id], "and only it exists on the host");
    assert.equal(store.getHost(host.id)!.autofill, false);
  });
});
