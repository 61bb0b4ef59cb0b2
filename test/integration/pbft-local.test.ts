/**
 * pbft clusters through a real daemon on a local host: the pool fills with pbft/classic
 * and pbft/batch clusters, each is applied by type, and Cello's example02 check passes
 * through its api_url.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { EXAMPLE02_PATH, getJson, postJson, waitFor } from "../chain/helpers/chain-cluster.ts";
import { DaemonProcess } from "../helpers/daemon-process.ts";

const rpc = (method: string, chaincodeID: Record<string, string>, fn: string, args: string[]) => ({
  jsonrpc: "2.0",
  method,
  params: { type: 1, chaincodeID, ctorMsg: { function: fn, args } },
  id: 1,
});

function pbftPoolToml({ listen, min, max }: { listen: number; min: number; max: number }): string {
  return `
listen = "127.0.0.1:${listen}"
log_json = true
[ports]
min = ${min}
max = ${max}
[pool]
types = [{ plugin = "pbft", mode = "classic", size = 4 }, { plugin = "pbft", mode = "batch", size = 4 }]
[consensus.pbft]
batch_size = 100
batch_timeout_ms = 50
[[hosts]]
name = "local"
type = "local"
capacity = 2
autofill = true
[scheduler]
host_check_s = 1
health_check_s = 1
autofill_s = 1
reconcile_s = 1
sweep_s = 1
sweep_grace_s = 2
ready_timeout_s = 20
`;
}

describe("pbft clusters through a real daemon on a local host", () => {
  let d: DaemonProcess;
  before(async () => {
    d = await DaemonProcess.create(pbftPoolToml);
    await d.start();
  });
  after(async () => d.destroy());

  for (const mode of ["classic", "batch"] as const) {
    it(`pbft/${mode}: applied by type, passes the example02 check, healthy with view and primary in /status`, { timeout: 120_000 }, async () => {
      await waitFor(
        `a free pbft/${mode} cluster`,
        async () => {
          const free = (await d.call("POST", "/v2/clusters", { user: "", status: "running", health: "OK" })).body.data as any[];
          return free.some((c) => c.consensus_plugin === "pbft" && c.consensus_mode === mode);
        },
        90_000,
      );
      const applied = await d.call("POST", "/v2/cluster_op", { action: "apply", user_id: `user-${mode}`, consensus_plugin: "pbft", consensus_mode: mode, size: 4 });
      assert.equal(applied.status, 200, JSON.stringify(applied.body));
      assert.equal(applied.body.data.consensus_plugin, "pbft");
      assert.equal(applied.body.data.consensus_mode, mode);
      const apiUrl = applied.body.data.api_url as string;

      const deploy = await postJson(`${apiUrl}/chaincode`, rpc("deploy", { path: EXAMPLE02_PATH }, "init", ["a", "10000", "b", "20000"]));
      assert.equal(deploy.body.result?.status, "OK", JSON.stringify(deploy.body));
      const cc = { name: deploy.body.result.message as string };
      const query = async (who: string) => (await postJson(`${apiUrl}/chaincode`, rpc("query", cc, "query", [who]))).body.result?.message;
      assert.equal(await query("a"), "10000");
      const invoke = await postJson(`${apiUrl}/chaincode`, rpc("invoke", cc, "invoke", ["a", "b", "1"]));
      assert.equal(invoke.body.result?.status, "OK", JSON.stringify(invoke.body));
      await waitFor("the invoke to commit", async () => (await query("a")) === "9999", 20_000);
      assert.equal(await query("b"), "20001");
      assert.equal((await getJson(`${apiUrl}/network/peers`)).body.peers.length, 4);

      const status = (await getJson(`${apiUrl}/status`)).body;
      assert.equal(status.consensus.plugin, "pbft");
      assert.equal(status.consensus.mode, mode);
      assert.equal(status.consensus.primary, "vp0");
      assert.equal(typeof status.consensus.view, "number");
      assert.equal(typeof status.consensus.last_stable_checkpoint, "number");
      assert.ok(status.consensus.last_committed >= 2);
      assert.equal(status.peers_connected.length, 3);

      const service = applied.body.data.service_url as Record<string, string>;
      const heads = await Promise.all(Object.values(service).map(async (url) => (await getJson(`${url}/chain`)).body));
      for (const head of heads) assert.deepEqual(head, heads[0], "every node holds the same chain");
    });
  }
});
