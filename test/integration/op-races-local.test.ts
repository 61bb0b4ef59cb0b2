/**
 * Releases, deletes and cleans that arrive while other work runs on the same cluster, through
 * a real daemon whose clusters are real node processes: a release or delete always wins, no
 * user ever receives a cluster holding another user's state, and clean leaves no free cluster.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import { BUNDLE, getJson, postJson, waitFor } from "../chain/helpers/chain-cluster.ts";
import { DaemonProcess, localPoolToml } from "../helpers/daemon-process.ts";

const MAP = { type: 1, chaincodeID: { path: "github.com/hyperledger/fabric/examples/chaincode/go/map" } };
const rpc = (method: string, fn: string, args: string[]) => ({ jsonrpc: "2.0", method, params: { ...MAP, ctorMsg: { function: fn, args } }, id: 1 });

/** Deploys map on the cluster and puts `key` = `value`, waiting until vp0 answers it. */
async function putSecret(apiUrl: string, key: string, value: string): Promise<void> {
  const deploy = await postJson(`${apiUrl}/chaincode`, rpc("deploy", "init", []));
  assert.equal(deploy.body.result?.status, "OK", JSON.stringify(deploy.body));
  const put = await postJson(`${apiUrl}/chaincode`, rpc("invoke", "put", [key, value]));
  assert.equal(put.body.result?.status, "OK", JSON.stringify(put.body));
  await waitFor(`${key} committed`, async () => (await postJson(`${apiUrl}/chaincode`, rpc("query", "get", [key]))).body.result?.message === value, 15_000);
}

/**
 * A local pool whose nodes start only while the gate file exists (a shell waits for it, then
 * execs the chain node): with the gate closed, a creation or restart is provably in flight.
 */
function gatedPool(gate: string, options: { capacity: number; autofill: boolean }) {
  const wait = `until [ -e '${gate}' ]; do sleep 0.05; done; exec "$0" "$@"`;
  return (ports: { listen: number; min: number; max: number }) => `${localPoolToml({ ...options, size: 2 })(ports)}
[local]
node_command = ["sh", "-c", ${JSON.stringify(wait)}, ${JSON.stringify(process.execPath)}, ${JSON.stringify(BUNDLE)}]
`;
}

describe("release, delete and clean against work in flight, on real node processes", () => {
  let d: DaemonProcess | undefined;
  afterEach(async () => {
    await d?.destroy();
    d = undefined;
  });

  const free = async (daemon: DaemonProcess) => (await daemon.call("GET", "/v2/clusters?user_id=&status=running&health=OK")).body.data as any[];

  let gateDir: string;
  let gate: string;
  beforeEach(() => {
    gateDir = mkdtempSync(join(tmpdir(), "chainpool-gate-"));
    gate = join(gateDir, "gate");
    writeFileSync(gate, "");
  });
  afterEach(() => rmSync(gateDir, { recursive: true, force: true }));

  /** Sends `second` while a restart of the cluster waits at the closed gate, then opens it. */
  async function duringRestart(daemon: DaemonProcess, cluster: { id: string }, second: () => Promise<{ status: number }>) {
    const before = new Set(daemon.nodeProcesses().map((p) => p.pid));
    rmSync(gate);
    const restart = daemon.call("POST", "/v2/cluster_op", { action: "restart", cluster_id: cluster.id });
    await waitFor("the restarted nodes waiting at the gate", () => {
      const now = daemon.nodeProcesses().filter((p) => p.clusterId === cluster.id);
      return now.length === 2 && now.every((p) => !before.has(p.pid));
    }, 30_000);
    assert.equal((await second()).status, 200);
    writeFileSync(gate, "");
    return restart;
  }

  it("a release sent during a restart wins: the next user gets a fresh cluster, never alice's ledger", { timeout: 180_000 }, async () => {
    d = await DaemonProcess.create(gatedPool(gate, { capacity: 1, autofill: true }));
    await d.start();
    await waitFor("one free cluster", async () => (await free(d!)).length === 1, 60_000);
    const alice = (await d.call("POST", "/v2/cluster_op", { action: "apply", user_id: "alice" })).body.data;
    await putSecret(alice.api_url, "alice-secret", "alice's value");

    const restart = await duringRestart(d, alice, () => d!.call("POST", "/v2/cluster_op", { action: "release", user_id: "alice" }));

    const bobs = await waitFor(
      "a cluster for bob",
      async () => {
        const r = await d!.call("POST", "/v2/cluster_op", { action: "apply", user_id: "bob" });
        return r.status === 200 && r.body.data;
      },
      60_000,
    );
    assert.notEqual(bobs.id, alice.id, "a successor under a new id");
    assert.equal((await getJson(`${bobs.api_url}/chain`)).body.height, 1, "an empty ledger");
    const peek = await postJson(`${bobs.api_url}/chaincode`, rpc("query", "get", ["alice-secret"]));
    assert.notEqual(peek.body.result?.message, "alice's value");
    assert.ok(!d.nodeProcesses().some((p) => p.clusterId === alice.id), "nothing of alice's cluster runs");
    assert.equal(restart.status, 200, JSON.stringify(restart.body));
    assert.equal(restart.body.data.status, "deleting", "the restart's reply shows the release");
  });

  it("a delete sent during a restart wins: the cluster and its processes are gone", { timeout: 180_000 }, async () => {
    d = await DaemonProcess.create(gatedPool(gate, { capacity: 1, autofill: false }));
    await d.start();
    const host = (await d.call("GET", "/api/hosts")).body.data[0];
    assert.equal((await d.call("POST", "/api/host_op", { id: host.id, action: "fillup" })).status, 200);
    await waitFor("one free cluster", async () => (await free(d!)).length === 1, 60_000);
    const alice = (await d.call("POST", "/v2/cluster_op", { action: "apply", user_id: "alice" })).body.data;

    await duringRestart(d, alice, () => d!.call("DELETE", "/api/cluster", { id: alice.id }));
    await waitFor("the cluster deleted", async () => (await d!.call("GET", `/api/cluster/${alice.id}`)).status === 404, 60_000);
    await waitFor("its processes gone", () => d!.nodeProcesses().length === 0, 30_000);
    assert.equal((await d.call("GET", "/api/stat")).body.data.clusters.total, 0);
  });

  it("clean while clusters are being created leaves no free cluster, those still being created included", { timeout: 180_000 }, async () => {
    rmSync(gate);
    d = await DaemonProcess.create(gatedPool(gate, { capacity: 2, autofill: true }));
    await d.start();
    const host = (await d.call("GET", "/api/hosts")).body.data[0];
    await waitFor("two clusters being created", async () => (await d!.call("GET", "/v2/clusters?status=creating")).body.data.length === 2, 30_000);
    await waitFor("their nodes waiting at the gate", () => d!.nodeProcesses().length === 4, 30_000);
    const clean = await d.call("POST", "/api/host_op", { id: host.id, action: "clean" });
    assert.equal(clean.status, 200, JSON.stringify(clean.body));
    writeFileSync(gate, "");
    await waitFor("the host empty", async () => (await d!.call("GET", "/api/stat")).body.data.clusters.total === 0, 60_000);
    await waitFor("no node process left", () => d!.nodeProcesses().length === 0, 30_000);
    assert.equal((await d.call("GET", `/api/host/${host.id}`)).body.data.autofill, false);
    assert.equal((await free(d)).length, 0);
  });
});
