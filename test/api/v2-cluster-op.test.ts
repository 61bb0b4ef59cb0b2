import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { createTestDaemon, type TestDaemon } from "../helpers/daemon.ts";

describe("/v2/cluster_op", () => {
  let t: TestDaemon;
  beforeEach(async () => {
    t = createTestDaemon();
    await t.addMemoryHost({
      ready: 6,
      capacity: 6,
      types: [
        { plugin: "noops", mode: "", size: 4 },
        { plugin: "pbft", mode: "batch", size: 4 },
        { plugin: "pbft", mode: "classic", size: 6 },
      ],
    });
  });
  afterEach(async () => t.close());

  const form = (fields: Record<string, string>) => ({
    body: new URLSearchParams(fields).toString(),
    headers: { "content-type": "application/x-www-form-urlencoded" },
  });

  it("apply by GET hands out a cluster with Cello's fields and HTTP status equal to code", async () => {
    const r = await t.call("GET", "/v2/cluster_op?action=apply&user_id=alice");
    assert.equal(r.status, 200);
    assert.equal(r.body.code, 200);
    assert.equal(r.body.status, "OK");
    assert.equal(r.body.error, "");
    for (const key of ["id", "name", "user_id", "api_url", "daemon_url", "worker_api", "consensus_plugin", "consensus_mode", "size", "host_id", "service_url", "status", "health", "apply_ts"]) {
      assert.ok(key in r.body.data, `data has ${key}`);
    }
    assert.equal(r.body.data.user_id, "alice");
    assert.equal(r.body.data.worker_api, r.body.data.daemon_url);
    assert.equal(r.body.data.status, "running");
    assert.equal(r.body.data.health, "OK");
    assert.notEqual(r.body.data.apply_ts, "");
  });

  it("apply by POST JSON honours plugin, mode and size", async () => {
    const r = await t.call("POST", "/v2/cluster_op", { action: "apply", user_id: "bob", consensus_plugin: "pbft", consensus_mode: "classic", size: 6 });
    assert.equal(r.status, 200);
    assert.equal(r.body.data.consensus_plugin, "pbft");
    assert.equal(r.body.data.consensus_mode, "classic");
    assert.equal(r.body.data.size, 6);
  });

  it("apply by POST form takes string values for size and allow_multiple", async () => {
    const f = form({ action: "apply", user_id: "carol", consensus_plugin: "pbft", consensus_mode: "batch", size: "4", allow_multiple: "False" });
    const r = await t.call("POST", "/v2/cluster_op", f.body, f.headers);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.data.consensus_mode, "batch");
    const again = await t.call("POST", "/v2/cluster_op", f.body, f.headers);
    assert.equal(again.body.data.id, r.body.data.id, '"False" means false: the same cluster is answered again');
  });

  it("apply without size matches any size (Cello matched nothing)", async () => {
    const r = await t.call("POST", "/v2/cluster_op", { action: "apply", user_id: "dave", consensus_plugin: "pbft", consensus_mode: "classic" });
    assert.equal(r.status, 200);
    assert.equal(r.body.data.size, 6);
  });

  it("apply honours consensus_plugin (Cello ignored it)", async () => {
    const r = await t.call("GET", "/v2/cluster_op?action=apply&user_id=erin&consensus_plugin=noops");
    assert.equal(r.body.data.consensus_plugin, "noops");
  });

  it("apply with allow_multiple false answers the cluster the user already holds", async () => {
    const a = await t.call("POST", "/v2/cluster_op", { action: "apply", user_id: "u1", allow_multiple: false });
    const b = await t.call("POST", "/v2/cluster_op", { action: "apply", user_id: "u1", allow_multiple: "false" });
    assert.equal(a.body.data.id, b.body.data.id);
    const held = t.daemon.services.store.listClusters({ user_id: "u1" });
    assert.equal(held.length, 1);
  });

  it("apply with allow_multiple true hands out another cluster each time", async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const r = await t.call("POST", "/v2/cluster_op", { action: "apply", user_id: "u2", allow_multiple: "True" });
      assert.equal(r.status, 200);
      ids.add(r.body.data.id);
    }
    assert.equal(ids.size, 3);
  });

  it("apply with no match is a 404 FAIL naming the user and the filters", async () => {
    const r = await t.call("POST", "/v2/cluster_op", { action: "apply", user_id: "zed", consensus_plugin: "pbft", size: 5 });
    assert.equal(r.status, 404);
    assert.equal(r.body.code, 404);
    assert.equal(r.body.status, "FAIL");
    assert.match(r.body.error, /zed/);
    assert.match(r.body.error, /consensus_plugin=pbft/);
    assert.match(r.body.error, /size=5/);
    assert.deepEqual(r.body.data, {});
  });

  it("release by cluster_id frees the cluster at once and recycles it under a new id", async () => {
    const a = await t.call("GET", "/v2/cluster_op?action=apply&user_id=frank");
    const id = a.body.data.id;
    const r = await t.call("GET", `/v2/cluster_op?action=release&cluster_id=${id}`);
    assert.equal(r.status, 200);
    assert.equal(r.body.data, "");
    const mine = await t.call("GET", "/v2/clusters?user_id=frank");
    assert.equal(mine.body.data.length, 0, "the cluster left the user at once");
    await t.daemon.deps.reconciler.runOnce();
    await t.daemon.deps.reconciler.runOnce();
    const gone = await t.call("GET", `/v2/cluster/${id}`);
    assert.equal(gone.status, 404);
    const free = t.daemon.services.store.listClusters({ user_id: "", status: "running", health: "OK" });
    assert.equal(free.length, 6, "the slot is back in the pool");
    assert.ok(!free.some((c) => c.id === id));
    const history = await t.call("GET", "/api/clusters?state=released");
    assert.equal(history.body.data[0].cluster_id, id);
    assert.equal(history.body.data[0].user_id, "frank");
    assert.ok(history.body.data[0].duration_s >= 0);
  });

  it("release by user_id releases every cluster the user holds", async () => {
    for (let i = 0; i < 3; i++) await t.call("POST", "/v2/cluster_op", { action: "apply", user_id: "gina", allow_multiple: true });
    const r = await t.call("POST", "/v2/cluster_op", { action: "release", user_id: "gina" });
    assert.equal(r.status, 200);
    assert.equal(r.body.data.released.length, 3);
    assert.equal(t.daemon.services.store.listClusters({ user_id: "gina" }).length, 0);
  });

  it("release of a free cluster is a 409 and changes nothing", async () => {
    const [free] = t.daemon.services.store.listClusters({ user_id: "" });
    const r = await t.call("POST", "/v2/cluster_op", { action: "release", cluster_id: free!.id });
    assert.equal(r.status, 409);
    assert.equal(t.daemon.services.store.getCluster(free!.id)!.status, "running");
  });

  it("stop, start and restart are real operations that report the new status", async () => {
    const a = await t.call("GET", "/v2/cluster_op?action=apply&user_id=hal");
    const id = a.body.data.id;
    const stop = await t.call("GET", `/v2/cluster_op?action=stop&cluster_id=${id}`);
    assert.equal(stop.status, 200);
    assert.equal(stop.body.data.status, "stopped");
    const mem = [...t.memory.values()][0]!;
    assert.equal((await mem.probe(t.daemon.services.store.getCluster(id)!)).ok, false, "the driver stopped it");
    const start = await t.call("POST", "/v2/cluster_op", { action: "start", cluster_id: id });
    assert.equal(start.body.data.status, "running");
    assert.equal((await mem.probe(t.daemon.services.store.getCluster(id)!)).ok, true);
    const restart = await t.call("POST", "/v2/cluster_op", { action: "restart", cluster_id: id });
    assert.equal(restart.body.data.status, "running");
  });

  it("a stopped cluster is not handed out", async () => {
    const store = t.daemon.services.store;
    for (const c of store.listClusters({ user_id: "" })) await t.call("POST", "/v2/cluster_op", { action: "stop", cluster_id: c.id });
    const r = await t.call("GET", "/v2/cluster_op?action=apply&user_id=ivy");
    assert.equal(r.status, 404);
  });

  describe("bad input is a 4xx naming the field, and changes nothing", () => {
    const cases: Array<[string, string, unknown, number, RegExp]> = [
      ["unknown action", "GET", "/v2/cluster_op?action=fly&user_id=x", 400, /Unknown action type "fly"/],
      ["missing action", "POST", { user_id: "x" }, 400, /^action: missing/],
      ["apply without user_id", "POST", { action: "apply" }, 400, /^user_id: /],
      ["apply with an empty user_id", "POST", { action: "apply", user_id: "  " }, 400, /^user_id: must not be empty/],
      ["size not a number", "POST", { action: "apply", user_id: "x", size: "four" }, 400, /^size: expected an integer, got "four"/],
      ["size zero", "POST", { action: "apply", user_id: "x", size: 0 }, 400, /^size: must be at least 1/],
      ["bad plugin", "POST", { action: "apply", user_id: "x", consensus_plugin: "raft" }, 400, /^consensus_plugin: expected one of/],
      ["bad boolean", "POST", { action: "apply", user_id: "x", allow_multiple: "maybe" }, 400, /^allow_multiple: expected true or false, got "maybe"/],
      ["unknown field", "POST", { action: "apply", user_id: "x", color: "red" }, 400, /^color: unknown field/],
      ["release with neither id", "POST", { action: "release" }, 400, /cluster_id/],
      ["release with both ids", "POST", { action: "release", cluster_id: "a", user_id: "b" }, 400, /cluster_id/],
      ["release of an unknown cluster", "POST", { action: "release", cluster_id: "nope123" }, 404, /nope123/],
      ["start of an unknown cluster", "GET", "/v2/cluster_op?action=start&cluster_id=nope456", 404, /nope456/],
      ["start without cluster_id", "POST", { action: "start" }, 400, /^cluster_id: /],
      ["wrong type for user_id", "POST", { action: "apply", user_id: { a: 1 } }, 400, /^user_id: expected a string/],
      ["a field given twice", "GET", "/v2/cluster_op?action=apply&user_id=a&user_id=b", 400, /^user_id: given more than once/],
    ];
    for (const [name, method, target, status, error] of cases) {
      it(name, async () => {
        const before = JSON.stringify(t.daemon.services.store.listClusters());
        const r = typeof target === "string" ? await t.call(method, target) : await t.call(method, "/v2/cluster_op", target);
        assert.equal(r.status, status, JSON.stringify(r.body));
        assert.equal(r.body.code, status);
        assert.equal(r.body.status, "FAIL");
        assert.match(r.body.error, error);
        assert.doesNotMatch(r.body.error, /\bat .*\.ts:\d+/, "no stack trace");
        assert.equal(JSON.stringify(t.daemon.services.store.listClusters()), before, "nothing changed");
      });
    }

    it("malformed JSON", async () => {
      const r = await t.call("POST", "/v2/cluster_op", "{not json", { "content-type": "application/json" });
      assert.equal(r.status, 400);
      assert.match(r.body.error, /^body: not valid JSON/);
    });

    it("a JSON array body", async () => {
      const r = await t.call("POST", "/v2/cluster_op", "[1,2]", { "content-type": "application/json" });
      assert.equal(r.status, 400);
      assert.match(r.body.error, /^body: must be a JSON object/);
    });

    it("an oversized body is a 413", async () => {
      const r = await t.call("POST", "/v2/cluster_op", JSON.stringify({ action: "apply", user_id: "x".repeat(200_000) }), { "content-type": "application/json" });
      assert.equal(r.status, 413);
      assert.equal(r.body.status, "FAIL");
      assert.match(r.body.error, /^body: larger than/);
    });

    it("an unsupported content type is a 415", async () => {
      const r = await t.call("POST", "/v2/cluster_op", "<xml/>", { "content-type": "application/xml" });
      assert.equal(r.status, 415);
    });

    it("an unknown route is a 404 envelope", async () => {
      const r = await t.call("GET", "/v2/nothing");
      assert.equal(r.status, 404);
      assert.equal(r.body.status, "FAIL");
    });
  });
});
