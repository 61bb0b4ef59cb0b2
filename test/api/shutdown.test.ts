import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import type { ShutdownRequest } from "../../src/services/shutdown.ts";
import { createTestDaemon, type TestDaemon } from "../helpers/daemon.ts";

const OPERATOR = "shutdown-test-operator-key-0123";
const FRONT = "shutdown-test-front-key-01234567";

describe("POST /api/shutdown", () => {
  let t: TestDaemon;
  let asked: ShutdownRequest[];
  const start = (raw: Record<string, unknown> = {}) => {
    t = createTestDaemon(raw);
    asked = [];
    t.daemon.services.shutdown.onRequest((r) => asked.push(r));
  };
  afterEach(async () => t.close());

  it("asks the process to stop, with or without its local nodes, and says what it is about to do", async () => {
    start();
    await t.addMemoryHost({ ready: 2 });
    const r = await t.call("POST", "/api/shutdown", { stop_local_nodes: "True" });
    assert.equal(r.status, 200, r.body.error);
    assert.deepEqual(
      { ...r.body.data, pid: typeof r.body.data.pid },
      { stopping: true, pid: "number", data_dir: t.dir, local_nodes: { nodes: 0, clusters: 0, action: "stop" }, other_clusters_running: 2 },
    );
    assert.deepEqual(asked.map((a) => a.stopLocalNodes), [true]);
    const keep = await t.call("POST", "/api/shutdown", {});
    assert.equal(keep.body.data.local_nodes.action, "keep");
    assert.deepEqual(asked.map((a) => a.stopLocalNodes), [true, false]);
  });

  it("takes the data directory it is meant for, and refuses another one with a 409 naming data_dir", async () => {
    start();
    assert.equal((await t.call("POST", "/api/shutdown", { data_dir: `${t.dir}/` })).status, 200);
    const other = await t.call("POST", "/api/shutdown", { stop_local_nodes: true, data_dir: "/var/lib/some-other-pool" });
    assert.equal(other.status, 409);
    assert.match(other.body.error, /^data_dir: this daemon's data directory is .* not \/var\/lib\/some-other-pool$/);
    assert.equal(asked.length, 1, "the refused request stopped nothing");
  });

  it("bad input is a 400 naming the field, and stops nothing", async () => {
    start();
    const unknown = await t.call("POST", "/api/shutdown", { stop_clusters: true });
    assert.equal(unknown.status, 400);
    assert.match(unknown.body.error, /^stop_clusters: unknown field/);
    const bad = await t.call("POST", "/api/shutdown", { stop_local_nodes: "maybe" });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error, /^stop_local_nodes: expected true or false/);
    assert.equal(asked.length, 0);
  });

  it("needs an operator key: a front key is a 403 and stops nothing", async () => {
    start({ api: { operator_keys: [OPERATOR], front_keys: [FRONT] } });
    const front = await t.call("POST", "/api/shutdown", { stop_local_nodes: true }, { authorization: `Bearer ${FRONT}` });
    assert.equal(front.status, 403);
    const none = await t.call("POST", "/api/shutdown", { stop_local_nodes: true });
    assert.equal(none.status, 401);
    assert.equal(asked.length, 0);
    const operator = await t.call("POST", "/api/shutdown", { stop_local_nodes: true }, { authorization: `Bearer ${OPERATOR}` });
    assert.equal(operator.status, 200);
    assert.equal(asked.length, 1);
  });

  it("is a 409 in a daemon no chainpool serve process runs", async () => {
    t = createTestDaemon();
    const r = await t.call("POST", "/api/shutdown", { stop_local_nodes: true });
    assert.equal(r.status, 409);
    assert.match(r.body.error, /^shutdown: this daemon runs inside another program/);
  });
});
