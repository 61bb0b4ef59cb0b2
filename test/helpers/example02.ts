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
  return { query, txid };
}
