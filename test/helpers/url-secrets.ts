/**
 * Checks of capability URLs against real nodes, for the local, docker and swarm tests alike:
 * what a view's URLs look like, and that every Fabric route a Cello-era client appends to
 * them answers under the cluster's secret only.
 */
import assert from "node:assert/strict";
import { getJson, waitFor } from "../chain/helpers/chain-cluster.ts";

export interface ClusterUrls {
  id: string;
  name: string;
  api_url: string;
  service_url: Record<string, string>;
}

/** The bare 404 a node answers without its cluster's secret, the same for every path and method. */
export const HIDDEN = { status: 404, text: '{"Error":"not found"}' };

/** The secret in a view's URLs: api_url is ORIGIN/SECRET, every service_url entry has that one path segment too. */
export function secretOf(view: ClusterUrls): string {
  const match = /^http:\/\/[^/]+:\d+\/([A-Za-z0-9_-]{32})$/.exec(view.api_url);
  assert.ok(match, `api_url ${view.api_url} is http://HOST:PORT/SECRET`);
  const secret = match[1]!;
  assert.ok(Object.keys(view.service_url).length > 0);
  for (const [node, url] of Object.entries(view.service_url)) assert.equal(new URL(url).pathname, `/${secret}`, `service_url.${node}`);
  assert.equal(view.service_url["vp0"], view.api_url);
  return secret;
}

/** The Fabric routes a Cello-era client appends to api_url, `txid` a committed transaction's uuid. */
export function fabricRequests(txid: string): Array<[string, RequestInit]> {
  const query = { jsonrpc: "2.0", method: "query", params: { type: 1, chaincodeID: { name: "example02" }, ctorMsg: { function: "query", args: ["a"] } }, id: 1 };
  return [
    ["/chain", {}],
    ["/chain/blocks/0", {}],
    ["/chain/blocks/1", {}],
    [`/transactions/${txid}`, {}],
    ["/network/peers", {}],
    ["/status", {}],
    ["/chaincode", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(query) }],
  ];
}

export async function ask(url: string, init: RequestInit = {}): Promise<{ status: number; text: string }> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(5_000) });
  return { status: response.status, text: await response.text() };
}

/** Every node of `view`, every Fabric route, at the node's address plus `prefix` ("" = none): the bare 404. */
export async function everyRouteHidden(view: ClusterUrls, prefix: string, txid: string): Promise<void> {
  for (const [node, url] of Object.entries(view.service_url)) {
    const origin = new URL(url).origin;
    for (const [path, init] of fabricRequests(txid)) {
      const reply = await ask(`${origin}${prefix}${path}`, init);
      assert.deepEqual(reply, HIDDEN, `${node} ${init.method ?? "GET"} ${prefix === "" ? "" : "/<wrong secret>"}${path}`);
    }
  }
}

/** Every node of `view`, every Fabric route, through its service_url: answered (once every node has vp0's blocks). */
export async function everyRouteOpen(view: ClusterUrls, txid: string): Promise<void> {
  await waitFor("every node at the same height", async () => {
    const heights = await Promise.all(Object.values(view.service_url).map(async (url) => (await getJson(`${url}/chain`)).body.height as number));
    return heights.every((h) => h === heights[0]);
  });
  for (const [node, url] of Object.entries(view.service_url)) {
    for (const [path, init] of fabricRequests(txid)) {
      const reply = await ask(`${url}${path}`, init);
      assert.equal(reply.status, 200, `${node} ${init.method ?? "GET"} ${path}: ${reply.text}`);
    }
  }
}

/** Whether `url` still answers a client: a 200 from GET /chain (a refused connection or a 404 is dead). */
export async function answers(url: string): Promise<boolean> {
  try {
    return (await ask(`${url}/chain`)).status === 200;
  } catch {
    return false;
  }
}
