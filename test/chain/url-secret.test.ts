/**
 * A 4-node noops cluster whose nodes were given a URL secret, as real processes over real
 * HTTP: every client route of every node answers under the secret only; without it, with
 * another cluster's, or with a near miss, the answer is one and the same bare 404. The
 * node-to-node GETs need a member's signature instead, and the cluster still works through them.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { signPeerGet } from "../../src/chain/peer/peer-get-auth.ts";
import { PeerKeys } from "../../src/chain/peer/peer-keys.ts";
import { newUrlSecret } from "../../src/lib/url-secret.ts";
import { EXAMPLE02_PATH, getJson, startCluster, waitFor } from "./helpers/chain-cluster.ts";
import type { TestCluster, TestNode } from "./helpers/chain-cluster.ts";
import { fabricRequests } from "../helpers/url-secrets.ts";

const secret = newUrlSecret();
let cluster: TestCluster;
/** Another cluster, with a secret of its own. */
let other: TestCluster;
before(async () => {
  [cluster, other] = await Promise.all([startCluster({ size: 4, urlSecret: secret }), startCluster({ size: 1, urlSecret: newUrlSecret() })]);
});
after(async () => {
  await Promise.all([cluster?.close(), other?.close()]);
});

const example02 = { type: 1, chaincodeID: { path: EXAMPLE02_PATH } };
const rpc = (method: string, fn: string, args: string[]) => ({ jsonrpc: "2.0", method, params: { ...example02, ctorMsg: { function: fn, args } }, id: 1 });

async function raw(url: string, init: RequestInit = {}): Promise<{ status: number; text: string }> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(5_000) });
  return { status: response.status, text: await response.text() };
}

let txid = "";

describe("a cluster with a URL secret", () => {
  it("serves the Cello check under the secret: deploy, invoke, query, tx by uuid, peers, height, blocks, status", async () => {
    const vp0 = cluster.node("vp0");
    assert.equal(vp0.clientUrl, `${vp0.url}/${secret}`);
    const deployed = await vp0.rpc("deploy", { ...example02, ctorMsg: { function: "init", args: ["a", "10000", "b", "20000"] } });
    assert.equal(deployed.body.result?.status, "OK", JSON.stringify(deployed.body));
    const invoked = await vp0.rpc("invoke", { ...example02, ctorMsg: { function: "invoke", args: ["a", "b", "1"] } });
    txid = invoked.body.result.message as string;
    await waitFor("the invoke to commit on every node", async () => {
      const answers = await Promise.all(cluster.nodes.map((node) => node.rpc("query", { ...example02, ctorMsg: { function: "query", args: ["a"] } })));
      return answers.every((a) => a.body.result?.message === "9999");
    });
    for (const node of cluster.nodes) {
      assert.equal((await getJson(`${node.clientUrl}/transactions/${txid}`)).body.uuid, txid, node.id);
      const peers = (await getJson(`${node.clientUrl}/network/peers`)).body.peers as Array<{ ID: { name: string } }>;
      assert.deepEqual(peers.map((p) => p.ID.name), ["vp0", "vp1", "vp2", "vp3"], `${node.id} reaches every member with signed pings`);
      const chain = (await getJson(`${node.clientUrl}/chain`)).body;
      assert.ok(chain.height >= 3, node.id);
      assert.equal((await getJson(`${node.clientUrl}/chain/blocks/${chain.height - 1}`)).body.hash, chain.currentBlockHash);
      assert.equal((await getJson(`${node.clientUrl}/status`)).body.node_id, node.id);
    }
  });

  it("every client route of every node, without the secret or with a wrong one, is the same bare 404", async () => {
    const otherSecret = other.urlSecret!;
    const otherNode = other.node("vp0");
    assert.equal((await getJson(`${otherNode.clientUrl}/chain`)).status, 200, "the other cluster's secret opens its own node");
    const requests: Array<[string, RequestInit]> = [
      ...fabricRequests(txid),
      ["/chaincode", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(rpc("invoke", "invoke", ["a", "b", "5"])) }],
      ["/chain", { method: "POST", body: "{}" }],
      ["/nope", {}],
    ];
    const wrong = ["", `/${otherSecret}`, `/${secret.slice(0, -1)}`, `/${secret}x`, `/${secret.toLowerCase() === secret ? secret.toUpperCase() : secret.toLowerCase()}`];
    const answers = new Set<string>();
    let asked = 0;
    for (const node of cluster.nodes) {
      for (const prefix of wrong) {
        for (const [path, init] of requests) {
          const reply = await raw(`${node.url}${prefix}${path}`, init);
          assert.equal(reply.status, 404, `${node.id} ${init.method ?? "GET"} ${prefix === "" ? "" : "/<wrong>"}${path}`);
          answers.add(reply.text);
          asked++;
        }
      }
      // The node-to-node GETs, unsigned, look the same.
      for (const path of ["/peer/ping", "/peer/blocks?from=0", "/peer/blocks"]) {
        const reply = await raw(`${node.url}${path}`);
        assert.equal(reply.status, 404, `${node.id} ${path} unsigned`);
        answers.add(reply.text);
        asked++;
      }
    }
    assert.equal(asked, 4 * (wrong.length * requests.length + 3));
    assert.deepEqual([...answers], ['{"Error":"not found"}'], "one answer for all, naming nothing");
    const vp0 = cluster.node("vp0");
    const query = (await raw(`${vp0.clientUrl}/chaincode`, requests[6]![1])).text;
    assert.match(query, /"message":"9999"/, "none of the refused invokes went through");
  });

  it("a member's signed GET of /peer/blocks is served; sent to another node, or altered, it is the bare 404", async () => {
    const vp0 = cluster.node("vp0");
    const keys = new PeerKeys({ selfId: "vp0", privateKeyPem: vp0.config.private_key, peers: vp0.config.peers });
    const signed = signPeerGet({ keys, clusterId: cluster.clusterId, to: "vp1", path: "/peer/blocks", params: { from: "0" }, now: Date.now() });
    const page = await getJson(`${cluster.node("vp1").url}${signed}`);
    assert.equal(page.status, 200);
    assert.equal(page.body.blocks[0].number, 0);
    assert.equal((await raw(`${cluster.node("vp2").url}${signed}`)).status, 404, "signed for vp1, not vp2");
    assert.equal((await raw(`${cluster.node("vp1").url}${signed.replace("from=0", "from=1")}`)).status, 404, "another page than the one signed");
  });

  it("a follower restarted behind catches up from its peers, its GETs signed", async () => {
    const vp0 = cluster.node("vp0");
    const vp3: TestNode = cluster.node("vp3");
    await vp3.stop();
    for (let i = 0; i < 3; i++) {
      const invoked = await vp0.rpc("invoke", { ...example02, ctorMsg: { function: "invoke", args: ["a", "b", "1"] } });
      assert.equal(invoked.body.result?.status, "OK");
    }
    const height = await waitFor("vp0 to commit the invokes", async () => {
      const answer = await vp0.rpc("query", { ...example02, ctorMsg: { function: "query", args: ["a"] } });
      return answer.body.result?.message === "9996" ? vp0.height() : undefined;
    });
    await vp3.start();
    await waitFor("vp3 to catch up", async () => (await vp3.height()) >= height, 15_000);
    const answer = await vp3.rpc("query", { ...example02, ctorMsg: { function: "query", args: ["a"] } });
    assert.equal(answer.body.result?.message, "9996");
  });

  it("no node writes the secret to its log", () => {
    const lines = cluster.nodes.flatMap((node) => node.events.map((event) => JSON.stringify(event)));
    assert.ok(lines.length > 20, `${lines.length} log lines`);
    assert.deepEqual(lines.filter((line) => line.includes(secret)), []);
  });
});
