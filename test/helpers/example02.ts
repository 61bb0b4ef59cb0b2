import assert from "node:assert/strict";
import { EXAMPLE02_PATH, getJson, postJson, waitFor } from "../chain/helpers/chain-cluster.ts";

const rpc = (method: string, chaincodeID: Record<string, string>, fn: string, args: string[]) => ({
  jsonrpc: "2.0",
  method,
  params: { type: 1, chaincodeID, ctorMsg: { function: fn, args } },
  id: 1,
});

export interface Example02 {
  query(who: string): Promise<string | undefined>;
  txid: string;
  /** The deployed chaincode's name, for calls through another node's URL. */
  chaincode: string;
}

/**
 * The spec's check through a cluster's api_url: deploy example02 with a=10000 b=20000, invoke
 * a->b 1, and see a=9999 b=20001 and the transaction by its uuid.
 */
export async function runExample02(apiUrl: string): Promise<Example02> {
  const deploy = await postJson(`${apiUrl}/chaincode`, rpc("deploy", { path: EXAMPLE02_PATH }, "init", ["a", "10000", "b", "20000"]));
  assert.equal(deploy.body.result?.status, "OK", JSON.stringify(deploy.body));
  const cc = { name: deploy.body.result.message as string };
  const query = async (who: string) => (await postJson(`${apiUrl}/chaincode`, rpc("query", cc, "query", [who]))).body.result?.message as string | undefined;
  assert.equal(await query("a"), "10000");
  assert.equal(await query("b"), "20000");
  const invoke = await postJson(`${apiUrl}/chaincode`, rpc("invoke", cc, "invoke", ["a", "b", "1"]));
  const txid = invoke.body.result.message as string;
  await waitFor("the invoke to commit", async () => (await query("a")) === "9999", 15_000);
  assert.equal(await query("b"), "20001");
  assert.equal((await getJson(`${apiUrl}/transactions/${txid}`)).status, 200);
  return { query, txid, chaincode: cc.name };
}

/**
 * stop, start and restart of an applied cluster through /v2/cluster_op: after stop its REST
 * API is gone (and `stopped` checks the driver's side), after start and restart the example02
 * state and the chain height are what they were.
 */
export async function checkStopStartRestart(
  d: { call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> },
  cluster: { id: string; api_url: string },
  example: Example02,
  stopped: () => Promise<void>,
): Promise<void> {
  const { id, api_url } = cluster;
  const height = (await getJson(`${api_url}/chain`)).body.height as number;
  const stop = await d.call("POST", "/v2/cluster_op", { action: "stop", cluster_id: id });
  assert.equal(stop.body.data.status, "stopped", JSON.stringify(stop.body));
  await stopped();
  await assert.rejects(fetch(`${api_url}/chain`, { signal: AbortSignal.timeout(1000) }));
  const start = await d.call("POST", "/v2/cluster_op", { action: "start", cluster_id: id });
  assert.equal(start.body.data.status, "running", JSON.stringify(start.body));
  assert.equal(await example.query("a"), "9999", "the ledger survives stop/start");
  assert.equal((await getJson(`${api_url}/chain`)).body.height, height);
  const restart = await d.call("GET", `/v2/cluster_op?action=restart&cluster_id=${id}`);
  assert.equal(restart.body.data.status, "running");
  assert.equal(await example.query("b"), "20001", "and restart");
}
