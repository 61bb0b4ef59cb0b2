import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { createTestDaemon, type TestDaemon } from "../helpers/daemon.ts";

describe("/api operator API", () => {
  let t: TestDaemon;
  beforeEach(() => {
    t = createTestDaemon();
  });
  afterEach(async () => t.close());

  const addHost = (fields: Record<string, unknown> = {}) =>
    t.call("POST", "/api/host", { name: "h1", type: "memory", daemon_url: "memory://h1", capacity: 3, ...fields });

  it("health answers the version without a key", async () => {
    const r = await t.call("GET", "/api/health");
    assert.equal(r.status, 200);
    assert.equal(r.body.data.status, "OK");
    assert.match(r.body.data.version, /^\d+\.\d+\.\d+/);
  });

  it("adds, lists, gets, updates and removes a host", async () => {
    const added = await addHost();
    assert.equal(added.status, 201);
    assert.equal(added.body.code, 201);
    const id = added.body.data.id;
    assert.equal(added.body.data.status, "active");
    assert.equal((await t.call("GET", "/api/hosts")).body.data.length, 1);
    assert.equal((await t.call("GET", `/api/host/${id}`)).body.data.name, "h1");
    const upd = await t.call("PUT", "/api/host", { id, capacity: "5", schedulable: "False", name: "h1b" });
    assert.equal(upd.status, 200);
    assert.equal(upd.body.data.capacity, 5);
    assert.equal(upd.body.data.schedulable, false);
    assert.equal(upd.body.data.name, "h1b");
    const del = await t.call("DELETE", "/api/host", { id });
    assert.equal(del.status, 200);
    assert.equal((await t.call("GET", `/api/host/${id}`)).status, 404);
  });

  it("takes worker_api as daemon_url and a form body", async () => {
    const r = await t.call("POST", "/api/host", new URLSearchParams({ name: "h2", type: "memory", worker_api: "memory://w", capacity: "2", autofill: "false" }).toString(), {
      "content-type": "application/x-www-form-urlencoded",
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.data.daemon_url, "memory://w");
  });

  it("refuses to remove a host that holds clusters, or to drop capacity below them", async () => {
    const id = (await addHost()).body.data.id;
    await t.call("POST", "/api/host_op", { id, action: "fillup" });
    const del = await t.call("DELETE", "/api/host", { id });
    assert.equal(del.status, 409);
    assert.match(del.body.error, /holds 3 clusters/);
    const upd = await t.call("PUT", "/api/host", { id, capacity: 1 });
    assert.equal(upd.status, 409);
    assert.match(upd.body.error, /^capacity: /);
    assert.equal((await t.call("GET", `/api/host/${id}`)).body.data.capacity, 3, "nothing changed");
  });

  it("host_op fillup creates up to capacity, clean deletes free clusters and turns autofill off", async () => {
    const id = (await addHost({ autofill: true })).body.data.id;
    await t.daemon.deps.reconciler.runOnce();
    const fill = await t.call("POST", "/api/host_op", { id, action: "fillup" });
    assert.equal(fill.status, 200);
    await t.daemon.deps.reconciler.runOnce();
    assert.equal(t.daemon.services.store.countClustersOnHost(id), 3);
    await t.call("POST", "/v2/cluster_op", { action: "apply", user_id: "keep" });
    const clean = await t.call("POST", "/api/host_op", { id, action: "clean" });
    assert.equal(clean.body.data.deleted.length, 2);
    await t.daemon.deps.reconciler.runOnce();
    assert.equal(t.daemon.services.store.countClustersOnHost(id), 1, "the cluster in use stays");
    assert.equal((await t.call("GET", `/api/host/${id}`)).body.data.autofill, false);
  });

  it("host_op reset removes everything chainpool made on the host, then autofill rebuilds", async () => {
    const id = (await addHost({ autofill: true })).body.data.id;
    await t.daemon.deps.reconciler.runOnce();
    const mem = t.memory.get(id)!;
    assert.equal(mem.live.size, 3);
    await t.call("POST", "/v2/cluster_op", { action: "apply", user_id: "u" });
    const reset = await t.call("POST", "/api/host_op", { id, action: "reset" });
    assert.equal(reset.status, 200);
    assert.equal(reset.body.data.deleted.length, 3);
    await t.daemon.deps.reconciler.runOnce();
    assert.equal(mem.live.size, 0);
    assert.equal(t.daemon.services.store.countClustersOnHost(id), 0);
    t.daemon.services.watchdog.autofill();
    await t.daemon.deps.reconciler.runOnce();
    assert.equal(mem.live.size, 3);
  });

  it("creates a cluster at once in state creating, and deletes it", async () => {
    const hostId = (await addHost()).body.data.id;
    const c = await t.call("POST", "/api/cluster", { host_id: hostId, consensus_plugin: "pbft", consensus_mode: "batch", size: 4, name: "mine" });
    assert.equal(c.status, 201);
    assert.equal(c.body.data.status, "creating");
    assert.equal(c.body.data.name, "mine");
    await t.daemon.deps.reconciler.runOnce();
    const got = await t.call("GET", `/api/cluster/${c.body.data.id}`);
    assert.equal(got.body.data.status, "running");
    assert.equal(got.body.data.health, "OK");
    const del = await t.call("DELETE", "/api/cluster", { id: c.body.data.id });
    assert.equal(del.body.data.status, "deleting");
    await t.daemon.deps.reconciler.runOnce();
    assert.equal((await t.call("GET", `/api/cluster/${c.body.data.id}`)).status, 404);
  });

  it("lists active clusters and the release history with durations", async () => {
    await t.addMemoryHost({ ready: 2 });
    const a = await t.call("POST", "/v2/cluster_op", { action: "apply", user_id: "hist" });
    await t.call("POST", "/v2/cluster_op", { action: "release", cluster_id: a.body.data.id });
    const active = await t.call("GET", "/api/clusters?state=active");
    assert.equal(active.body.data.length, 2);
    const released = await t.call("GET", "/api/clusters?state=released");
    assert.equal(released.body.data.length, 1);
    const r = released.body.data[0];
    assert.equal(r.user_id, "hist");
    assert.ok(r.apply_ts && r.release_ts && typeof r.duration_s === "number");
  });

  it("stat counts hosts and clusters by status, health, type and holder", async () => {
    await t.addMemoryHost({ ready: 3 });
    await t.call("POST", "/v2/cluster_op", { action: "apply", user_id: "s1" });
    const r = await t.call("GET", "/api/stat");
    assert.equal(r.body.data.hosts.total, 1);
    assert.equal(r.body.data.clusters.total, 3);
    assert.equal(r.body.data.clusters.free, 2);
    assert.equal(r.body.data.clusters.in_use, 1);
    assert.equal(r.body.data.clusters.by_user.s1, 1);
    assert.equal(r.body.data.clusters.by_type["noops//4"], 3);
    assert.equal(r.body.data.clusters.by_health.OK, 3);
  });

  describe("bad input is a 4xx naming the field or id, and changes nothing", () => {
    const cases: Array<[string, string, string, unknown, number, RegExp]> = [
      ["host without name", "POST", "/api/host", { type: "memory" }, 400, /^name: /],
      ["host with a bad type", "POST", "/api/host", { name: "x", type: "vm" }, 400, /^type: expected one of/],
      ["host with a negative capacity", "POST", "/api/host", { name: "x", type: "memory", capacity: -1 }, 400, /^capacity: must be at least 0/],
      ["host with an unknown field", "POST", "/api/host", { name: "x", type: "memory", colour: 1 }, 400, /^colour: unknown host field/],
      ["host of a type this daemon lacks", "POST", "/api/host", { name: "x", type: "swarm" }, 400, /^type: host type "swarm" is not supported/],
      ["host with a bad name", "POST", "/api/host", { name: "a b", type: "memory" }, 400, /^name: /],
      ["update of an unknown host", "PUT", "/api/host", { id: "nohost1", capacity: 2 }, 404, /nohost1/],
      ["update without id", "PUT", "/api/host", { capacity: 2 }, 400, /^id: /],
      ["delete of an unknown host", "DELETE", "/api/host", { id: "nohost2" }, 404, /nohost2/],
      ["host_op with an unknown action", "POST", "/api/host_op", { id: "x", action: "explode" }, 400, /^action: expected one of/],
      ["host_op on an unknown host", "POST", "/api/host_op", { id: "nohost3", action: "fillup" }, 404, /nohost3/],
      ["cluster on an unknown host", "POST", "/api/cluster", { host_id: "nohost4" }, 404, /nohost4/],
      ["cluster with a bad size", "POST", "/api/cluster", { host_id: "x", size: "many" }, 400, /^size: /],
      ["pbft cluster without a mode", "POST", "/api/cluster", { host_id: "x", consensus_plugin: "pbft" }, 400, /^consensus_mode: /],
      ["delete of an unknown cluster", "DELETE", "/api/cluster", { id: "nocl1" }, 404, /nocl1/],
      ["clusters with a bad state", "GET", "/api/clusters?state=gone", undefined, 400, /^state: /],
      ["get of an unknown host", "GET", "/api/host/nohost5", undefined, 404, /nohost5/],
    ];
    for (const [name, method, path, body, status, error] of cases) {
      it(name, async () => {
        const before = JSON.stringify([t.daemon.services.store.listHosts(), t.daemon.services.store.listClusters()]);
        const r = await t.call(method, path, body);
        assert.equal(r.status, status, JSON.stringify(r.body));
        assert.equal(r.body.code, status);
        assert.equal(r.body.status, "FAIL");
        assert.match(r.body.error, error);
        assert.equal(JSON.stringify([t.daemon.services.store.listHosts(), t.daemon.services.store.listClusters()]), before);
      });
    }

    it("a full host refuses another cluster with a 409", async () => {
      const hostId = (await addHost({ capacity: 1 })).body.data.id;
      assert.equal((await t.call("POST", "/api/cluster", { host_id: hostId })).status, 201);
      const r = await t.call("POST", "/api/cluster", { host_id: hostId });
      assert.equal(r.status, 409);
      assert.match(r.body.error, /capacity/);
    });

    it("a second host with the same name is a 409", async () => {
      await addHost();
      const r = await addHost();
      assert.equal(r.status, 409);
      assert.match(r.body.error, /^name: /);
    });
  });
});
