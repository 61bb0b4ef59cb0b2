import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { getJson, waitFor } from "../chain/helpers/chain-cluster.ts";
import { checkStopStartRestart, runExample02 } from "../helpers/example02.ts";
import { DaemonProcess, localHostToml } from "../helpers/daemon-process.ts";

describe("a local cluster's full life through a real daemon", () => {
  let d: DaemonProcess;
  before(async () => {
    d = await DaemonProcess.create(localHostToml(2));
    await d.start();
  });
  after(async () => d.destroy());

  const freeCount = async () => (await d.call("GET", "/api/stat")).body.data.clusters.free as number;

  it("fills the pool, runs example02, keeps the ledger across stop/start, and recycles on release", { timeout: 120_000 }, async () => {
    await waitFor("two free clusters", async () => (await freeCount()) === 2, 60_000);
    assert.equal(d.nodeProcesses().length, 8, "2 clusters x 4 node processes");

    const applied = await d.call("POST", "/v2/cluster_op", { action: "apply", user_id: "alice", consensus_plugin: "noops", size: 4 });
    assert.equal(applied.status, 200, JSON.stringify(applied.body));
    const { id, api_url, name } = applied.body.data;
    assert.match(api_url, /^http:\/\/127\.0\.0\.1:\d+\/[A-Za-z0-9_-]{32}$/, "the address, then the cluster's URL secret");

    const example = await runExample02(api_url);
    assert.equal((await getJson(`${api_url}/network/peers`)).body.peers.length, 4);
    const height = (await getJson(`${api_url}/chain`)).body.height;
    assert.ok(height > 1);
    assert.equal((await getJson(`${api_url}/chain/blocks/1`)).status, 200);

    await checkStopStartRestart(d, { id, api_url }, example, async () => {
      assert.equal(d.nodeProcesses().filter((p) => p.clusterId === id).length, 0, "stop ends the node processes");
    });

    const rel = await d.call("POST", "/v2/cluster_op", { action: "release", cluster_id: id });
    assert.equal(rel.status, 200);
    const successor = await waitFor(
      "the recycled cluster back in the pool",
      async () => {
        const free = (await d.call("POST", "/v2/clusters", { user: "", status: "running", health: "OK" })).body.data as any[];
        return free.length === 2 && free.find((c) => c.name === name);
      },
      60_000,
    );
    assert.notEqual(successor.id, id, "a new id");
    assert.equal((await getJson(`${successor.api_url}/chain`)).body.height, 1, "an empty ledger");
    assert.equal((await d.call("GET", `/v2/cluster/${id}`)).status, 404);
    assert.equal(d.nodeProcesses().length, 8);
    assert.ok(!d.nodeProcesses().some((p) => p.clusterId === id), "no process of the released cluster is left");
  });

  it("a killed node of a free cluster is noticed: the cluster turns FAIL and is reset", { timeout: 120_000 }, async () => {
    await waitFor("two free clusters", async () => (await freeCount()) === 2, 60_000);
    const free = (await d.call("GET", "/v2/clusters?user_id=")).body.data as any[];
    const victim = free[0];
    const node = d.nodeProcesses().find((p) => p.clusterId === victim.id && p.nodeId === "vp2")!;
    process.kill(node.pid, "SIGKILL");
    await waitFor("the broken cluster replaced", async () => (await d.call("GET", `/v2/cluster/${victim.id}`)).status === 404, 60_000);
    await waitFor("the pool full again", async () => (await freeCount()) === 2, 60_000);
    assert.equal(d.nodeProcesses().length, 8);
  });

  it("SIGTERM stops the daemon with exit 0 and the next daemon adopts the running nodes", { timeout: 120_000 }, async () => {
    await waitFor("two free clusters", async () => (await freeCount()) === 2, 60_000);
    const before = d.nodeProcesses().map((p) => p.pid).sort();
    assert.equal(await d.kill("SIGTERM"), 0);
    await d.start();
    await waitFor("health checked again", async () => (await freeCount()) === 2, 30_000);
    assert.deepEqual(d.nodeProcesses().map((p) => p.pid).sort(), before, "same processes, none duplicated");
  });
});
