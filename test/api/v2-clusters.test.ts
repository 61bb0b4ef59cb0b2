import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { createTestDaemon, type TestDaemon } from "../helpers/daemon.ts";

describe("/v2/clusters and /v2/cluster/<id>", () => {
  let t: TestDaemon;
  beforeEach(async () => {
    t = createTestDaemon();
    await t.addMemoryHost({
      ready: 4,
      types: [
        { plugin: "noops", mode: "", size: 4 },
        { plugin: "pbft", mode: "classic", size: 4 },
      ],
    });
    await t.call("POST", "/v2/cluster_op", { action: "apply", user_id: "alice", consensus_plugin: "pbft" });
  });
  afterEach(async () => t.close());

  it("GET without filters lists every cluster", async () => {
    const r = await t.call("GET", "/v2/clusters");
    assert.equal(r.status, 200);
    assert.equal(r.body.data.length, 4);
  });

  it("POST with user '' lists the free clusters of a type (the seed's form)", async () => {
    const r = await t.call("POST", "/v2/clusters", { consensus_plugin: "pbft", consensus_mode: "classic", size: 4, user: "" });
    assert.equal(r.status, 200);
    assert.equal(r.body.data.length, 1);
    assert.equal(r.body.data[0].user_id, "");
  });

  it("POST without user lists every cluster of a type", async () => {
    const r = await t.call("POST", "/v2/clusters", { consensus_plugin: "pbft", consensus_mode: "classic", size: "4" });
    assert.equal(r.body.data.length, 2);
  });

  it("GET by user_id lists that user's clusters", async () => {
    const r = await t.call("GET", "/v2/clusters?user_id=alice");
    assert.equal(r.body.data.length, 1);
    assert.equal(r.body.data[0].user_id, "alice");
  });

  it("filters on host_id, status and health", async () => {
    const [host] = t.daemon.services.store.listHosts();
    const r = await t.call("POST", "/v2/clusters", { host_id: host!.id, status: "running", health: "OK" });
    assert.equal(r.body.data.length, 4);
    const none = await t.call("GET", "/v2/clusters?status=stopped");
    assert.equal(none.body.data.length, 0);
  });

  it("an unknown filter is a 400 naming it (Cello passed it to the database)", async () => {
    const r = await t.call("POST", "/v2/clusters", { "$where": "1" });
    assert.equal(r.status, 400);
    assert.match(r.body.error, /^\$where: unknown filter/);
  });

  it("a malformed filter value is a 400 naming the field", async () => {
    const r = await t.call("GET", "/v2/clusters?size=big");
    assert.equal(r.status, 400);
    assert.match(r.body.error, /^size: /);
    const s = await t.call("GET", "/v2/clusters?status=flying");
    assert.match(s.body.error, /^status: expected one of/);
  });

  it("cluster/<id> answers the cluster object", async () => {
    const [one] = t.daemon.services.store.listClusters();
    const r = await t.call("GET", `/v2/cluster/${one!.id}`);
    assert.equal(r.status, 200);
    assert.equal(r.body.data.id, one!.id);
    assert.equal(r.body.data.name, one!.name);
  });

  it("cluster/<unknown> is a 404 naming the id", async () => {
    const r = await t.call("GET", "/v2/cluster/0123456789abcdef");
    assert.equal(r.status, 404);
    assert.equal(r.body.code, 404);
    assert.match(r.body.error, /0123456789abcdef/);
  });
});
