import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import type { PoolEvent } from "../../src/core/events.ts";
import { createTestDaemon, type TestDaemon } from "../helpers/daemon.ts";

describe("EventFeed", () => {
  let t: TestDaemon;
  beforeEach(() => {
    t = createTestDaemon();
  });
  afterEach(async () => {
    await t.close();
  });

  it("tells every subscriber of an apply and a release the moment they commit, with the stored ids", async () => {
    await t.addMemoryHost({ ready: 2 });
    const feed = t.daemon.services.events;
    const a: PoolEvent[] = [];
    const b: PoolEvent[] = [];
    const stopA = feed.subscribe((e) => a.push(e));
    feed.subscribe((e) => b.push(e));
    const cluster = t.daemon.services.pool.apply({ user_id: "alice", allow_multiple: false });
    assert.deepEqual(a.map((e) => [e.kind, e.cluster_id, e.user_id]), [["cluster.applied", cluster.id, "alice"]]);
    stopA();
    t.daemon.services.pool.releaseCluster(cluster.id);
    assert.equal(a.length, 1, "an unsubscribed listener hears nothing more");
    assert.deepEqual(b.map((e) => e.kind), ["cluster.applied", "cluster.released"]);
    assert.deepEqual(feed.list({ afterId: b[0]!.id - 1, limit: 2 }), b);
  });

  it("subscribe and list after latestId in one turn miss nothing and repeat nothing", async () => {
    await t.addMemoryHost({ ready: 3 });
    const feed = t.daemon.services.events;
    const seen: number[] = [];
    const from = feed.latestId() - 4;
    feed.subscribe((e) => seen.push(e.id));
    for (const e of feed.list({ afterId: from })) seen.push(e.id);
    t.daemon.services.pool.apply({ user_id: "bob", allow_multiple: false });
    const expected = feed.list({ afterId: from }).map((e) => e.id);
    assert.deepEqual(seen, expected);
  });

  it("a subscriber that throws is dropped and the others still hear every event; the change stands", async () => {
    await t.addMemoryHost({ ready: 2 });
    const feed = t.daemon.services.events;
    const heard: string[] = [];
    feed.subscribe(() => {
      throw new Error("broken subscriber");
    });
    feed.subscribe((e) => heard.push(e.kind));
    const cluster = t.daemon.services.pool.apply({ user_id: "carol", allow_multiple: false });
    assert.equal(t.daemon.services.store.getCluster(cluster.id)?.user_id, "carol");
    assert.equal(feed.subscriberCount, 1);
    t.daemon.services.pool.apply({ user_id: "dave", allow_multiple: false });
    assert.deepEqual(heard, ["cluster.applied", "cluster.applied"]);
  });

  it("close ends every subscription once", () => {
    const feed = t.daemon.services.events;
    let closed = 0;
    feed.subscribe(() => {}, () => closed++);
    feed.close();
    feed.close();
    assert.equal(closed, 1);
    assert.equal(feed.subscriberCount, 0);
    let late = 0;
    feed.subscribe(() => {}, () => late++);
    assert.equal(late, 1, "subscribing to a closed feed closes at once");
  });

  it("fillup, clean and reset each record one host event with the clusters they wrote", async () => {
    const host = await t.addMemoryHost({ capacity: 3 });
    const { hosts } = t.daemon.services;
    hosts.fillup(host.id);
    hosts.clean(host.id);
    await hosts.reset(host.id);
    const events = t.daemon.services.events.list({ kinds: ["host.filled", "host.cleaned", "host.reset"] });
    assert.deepEqual(events.map((e) => [e.kind, e.level, e.data["created"] ?? e.data["clusters"]]), [
      ["host.filled", "info", 3],
      ["host.cleaned", "info", 3],
      ["host.reset", "warn", 3],
    ]);
  });

  it("a failed cluster operation is a warning naming the op", async () => {
    const host = await t.addMemoryHost({ ready: 1 });
    const driver = t.memory.get(host.id)!;
    const [cluster] = t.daemon.services.store.listClusters({ host_id: host.id });
    // The memory host's own driver object (the registry keeps it), made to fail its next stop.
    driver.stopCluster = async () => {
      throw new Error("engine said no");
    };
    await t.daemon.services.pool.operate(cluster!.id, "stop").catch(() => {});
    const failed = t.daemon.services.events.list({ warningsOnly: true });
    assert.equal(failed.length, 1);
    assert.equal(failed[0]!.kind, "cluster.op_failed");
    assert.equal(failed[0]!.data["op"], "stop");
  });
});
