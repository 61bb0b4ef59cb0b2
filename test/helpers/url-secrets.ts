/**
 * Checks of capability URLs against real nodes, for the local, docker and swarm tests alike:
 * what a view's URLs look like, and that every Fabric route a Cello-era client appends to
 * them answers under the cluster's secret only.
 */
import assert from "node:assert/strict";
import { getJson, waitFor } from "../chain/helpers/chain-cluster.ts";
import { type Example02, runExample02 } from "./example02.ts";

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

/** What the URL-secret tests ask of a test daemon (DaemonProcess.call). */
type DaemonCall = (method: string, path: string, body?: unknown) => Promise<{ status: number; body: { data?: unknown } }>;

/**
 * alice and bob each apply for a cluster; alice's runs example02 through her api_url. Checks
 * that every route answers under her secret and hides behind no secret or bob's, and bob's
 * behind hers. Adds both secrets to `seen`; answers both views and the example.
 */
export async function applyTwoApart(call: DaemonCall, seen: Set<string>): Promise<{ alice: ClusterUrls; bob: ClusterUrls; example: Example02 }> {
  const alice = (await call("POST", "/v2/cluster_op", { action: "apply", user_id: "alice" })).body.data as ClusterUrls;
  const bob = (await call("POST", "/v2/cluster_op", { action: "apply", user_id: "bob" })).body.data as ClusterUrls;
  const [aliceSecret, bobSecret] = [secretOf(alice), secretOf(bob)];
  assert.notEqual(aliceSecret, bobSecret);
  seen.add(aliceSecret).add(bobSecret);
  const example = await runExample02(alice.api_url);
  await everyRouteOpen(alice, example.txid);
  await everyRouteHidden(alice, "", example.txid);
  await everyRouteHidden(alice, `/${bobSecret}`, example.txid);
  await everyRouteHidden(bob, `/${aliceSecret}`, example.txid);
  return { alice, bob, example };
}

/**
 * Rotates the cluster's secret (`POST /api/cluster_op rotate_secret`) and checks what a
 * rotation must do, with no wait: a new secret, every route hidden under the old one and open
 * under the new, the ledger kept. Adds the new secret to `seen`; answers the new view.
 */
export async function rotateAndCheck(call: DaemonCall, view: ClusterUrls, example: Example02, seen: Set<string>): Promise<ClusterUrls> {
  const old = secretOf(view);
  const height = (await getJson(`${view.api_url}/chain`)).body.height as number;
  const rotated = await call("POST", "/api/cluster_op", { id: view.id, action: "rotate_secret" });
  assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
  const fresh = rotated.body.data as ClusterUrls;
  assert.equal(fresh.id, view.id);
  const secret = secretOf(fresh);
  assert.notEqual(secret, old);
  seen.add(secret);
  await everyRouteHidden(fresh, `/${old}`, example.txid);
  await everyRouteOpen(fresh, example.txid);
  assert.equal((await getJson(`${fresh.api_url}/chain`)).body.height, height, "the ledger is kept");
  return fresh;
}
