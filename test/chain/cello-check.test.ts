/**
 * A 4-node noops cluster driven over HTTP the way Cello and its clients drive one.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { CLIENT_BODY_LIMIT } from "../../src/chain/size-limits.ts";
import { sealMessage } from "../../src/chain/peer/peer-envelope.ts";
import { PeerKeys } from "../../src/chain/peer/peer-keys.ts";
import { generateNodeKeys } from "../../src/lib/node-keys.ts";
import { EXAMPLE02_PATH, getJson, postJson, postRaw, startCluster, waitFor } from "./helpers/chain-cluster.ts";
import type { TestCluster, TestNode } from "./helpers/chain-cluster.ts";

let cluster: TestCluster;
before(async () => {
  cluster = await startCluster({ size: 4 });
});
after(async () => {
  await cluster?.close();
});

const example02 = { type: 1, chaincodeID: { path: EXAMPLE02_PATH } };
const query = (node: TestNode, account: string) =>
  node.rpc("query", { ...example02, ctorMsg: { function: "query", args: [account] } });

async function everyNodeAnswers(account: string, value: string): Promise<void> {
  await waitFor(`every node to answer ${account}=${value}`, async () => {
    const answers = await Promise.all(cluster.nodes.map((node) => query(node, account)));
    return answers.every((answer) => answer.body.result?.message === value);
  }, 5_000);
}

/** Waits until all nodes report the leader's height and then answers it. */
async function settledHeight(): Promise<number> {
  return waitFor("all nodes at the same height", async () => {
    const heights = await Promise.all(cluster.nodes.map((node) => node.height()));
    return heights.every((h) => h === heights[0]) ? heights[0] : undefined;
  });
}

describe("the Cello check", () => {
  it("deploy, query, invoke, query, tx by uuid, peers, height and blocks all work", async () => {
    const vp0 = cluster.node("vp0");
    const deployed = await vp0.rpc("deploy", { ...example02, ctorMsg: { function: "init", args: ["a", "10000", "b", "20000"] } });
    assert.equal(deployed.status, 200);
    assert.equal(deployed.body.jsonrpc, "2.0");
    assert.equal(deployed.body.result.status, "OK");
    assert.match(deployed.body.result.message, /^[0-9a-f]{128}$/);

    assert.equal((await query(vp0, "a")).body.result.message, "10000");
    assert.equal((await query(vp0, "b")).body.result.message, "20000");

    const invoked = await vp0.rpc("invoke", { ...example02, ctorMsg: { function: "invoke", args: ["a", "b", "1"] } });
    assert.equal(invoked.body.result.status, "OK");
    const uuid = invoked.body.result.message as string;
    assert.match(uuid, /^[0-9a-f-]{36}$/);

    const started = Date.now();
    await waitFor("the invoke to commit on vp0", async () => (await getJson(`${vp0.url}/transactions/${uuid}`)).status === 200);
    assert.ok(Date.now() - started < 1_000, "an invoke under no load commits within a second");
    await everyNodeAnswers("a", "9999");
    await everyNodeAnswers("b", "20001");

    const committed = await getJson(`${vp0.url}/transactions/${uuid}`);
    assert.equal(committed.body.uuid, uuid);
    assert.equal(committed.body.txid, uuid);
    assert.equal(committed.body.chaincodeID.path, EXAMPLE02_PATH);
    assert.deepEqual(committed.body.payload, { function: "invoke", args: ["a", "b", "1"] });
    assert.equal(typeof committed.body.timestamp.seconds, "number");

    const peers = await getJson(`${vp0.url}/network/peers`);
    assert.equal(peers.body.peers.length, 4);
    assert.deepEqual(peers.body.peers.map((p: { ID: { name: string } }) => p.ID.name), ["vp0", "vp1", "vp2", "vp3"]);
    assert.equal(peers.body.peers[0].type, 1);
    assert.equal(peers.body.peers[1].address, new URL(cluster.node("vp1").url).host);

    const chain = await getJson(`${vp0.url}/chain`);
    assert.ok(chain.body.height > 1);
    assert.equal(typeof chain.body.currentBlockHash, "string");
    assert.equal(typeof chain.body.previousBlockHash, "string");
    for (let n = 0; n < chain.body.height; n++) {
      const block = await getJson(`${vp0.url}/chain/blocks/${n}`);
      assert.equal(block.status, 200);
      assert.ok(Array.isArray(block.body.transactions));
      assert.equal(typeof block.body.timestamp.seconds, "number");
    }
    const last = await getJson(`${vp0.url}/chain/blocks/${chain.body.height - 1}`);
    assert.equal(last.body.hash, chain.body.currentBlockHash);
  });

  it("a transaction is a 404 JSON error until it is committed", async () => {
    const missing = await getJson(`${cluster.node("vp1").url}/transactions/00000000-0000-0000-0000-000000000000`);
    assert.equal(missing.status, 404);
    assert.equal(typeof missing.body.Error, "string");
    const absent = await getJson(`${cluster.node("vp1").url}/chain/blocks/99999`);
    assert.equal(absent.status, 404);
  });
});

describe("chaincodes over JSON-RPC", () => {
  it("the map chaincode stores, lists and removes keys, on every node", async () => {
    const vp1 = cluster.node("vp1");
    const map = { type: 1, chaincodeID: { path: "github.com/hyperledger/fabric/examples/chaincode/go/map" } };
    assert.equal((await vp1.rpc("deploy", { ...map, ctorMsg: { function: "init", args: [] } })).body.result.status, "OK");
    for (const [key, value] of [["k2", "v2"], ["k1", "v1"], ["gone", "x"]] as const) {
      assert.equal((await vp1.rpc("invoke", { ...map, ctorMsg: { function: "put", args: [key, value] } })).body.result.status, "OK");
    }
    await vp1.rpc("invoke", { ...map, ctorMsg: { args: ["remove", "gone"] } });
    for (const node of cluster.nodes) {
      await waitFor(`${node.id} to list the map keys`, async () => {
        const keys = await node.rpc("query", { type: 1, chaincodeID: { name: "map" }, ctorMsg: { function: "keys", args: [] } });
        return keys.body.result?.message === '["k1","k2"]';
      });
    }
    const value = await cluster.node("vp3").rpc("query", { ...map, ctorMsg: { function: "get", args: ["k1"] } });
    assert.equal(value.body.result.message, "v1");
  });

  it("an invoke sent to a follower is forwarded, ordered and committed everywhere", async () => {
    const vp2 = cluster.node("vp2");
    const before = (await query(vp2, "a")).body.result.message as string;
    const invoked = await vp2.rpc("invoke", { ...example02, ctorMsg: { function: "invoke", args: ["a", "b", "10"] } });
    assert.equal(invoked.body.result.status, "OK");
    const uuid = invoked.body.result.message as string;
    for (const node of cluster.nodes) {
      await waitFor(`${node.id} to hold ${uuid}`, async () => (await getJson(`${node.url}/transactions/${uuid}`)).status === 200);
    }
    await everyNodeAnswers("a", String(Number(before) - 10));
  });

  it("a burst of invokes to several nodes commits every one, in the same order everywhere", async () => {
    const map = { type: 1, chaincodeID: { name: "map" } };
    const replies = await Promise.all(
      Array.from({ length: 20 }, (_, i) => cluster.nodes[i % 4]!.rpc("invoke", { ...map, ctorMsg: { function: "put", args: [`burst${i}`, `${i}`] } })),
    );
    const uuids = replies.map((reply) => reply.body.result.message as string);
    await waitFor("the burst to commit on vp3", async () => {
      const found = await Promise.all(uuids.map((uuid) => getJson(`${cluster.node("vp3").url}/transactions/${uuid}`)));
      return found.every((reply) => reply.status === 200);
    });
  });

  it("refuses what a chaincode refuses, with Fabric's error codes", async () => {
    const vp1 = cluster.node("vp1");
    const overdraw = await vp1.rpc("invoke", { ...example02, ctorMsg: { function: "invoke", args: ["a", "b", "100000000"] } });
    assert.equal(overdraw.body.error.code, -32002);
    assert.match(overdraw.body.error.data, /insufficient funds/);

    const unknown = await vp1.rpc("invoke", { type: 1, chaincodeID: { name: "nope" }, ctorMsg: { function: "x", args: [] } });
    assert.equal(unknown.body.error.code, -32002);
    assert.match(unknown.body.error.message, /unknown chaincode "nope"/);

    const unknownDeploy = await vp1.rpc("deploy", { type: 1, chaincodeID: { path: "github.com/x/nope" }, ctorMsg: { function: "init", args: [] } });
    assert.equal(unknownDeploy.body.error.code, -32001);

    const badInit = await vp1.rpc("deploy", { ...example02, ctorMsg: { function: "init", args: ["a", "x", "b", "1"] } });
    assert.equal(badInit.body.error.code, -32001);
    assert.match(badInit.body.error.data, /non-negative integer/);

    const noAccount = await query(vp1, "zz");
    assert.equal(noAccount.body.error.code, -32003);
  });

  it("answers bad JSON-RPC input with -32700, -32600, -32601 and -32602, never a stack", async () => {
    const url = `${cluster.node("vp3").url}/chaincode`;
    const parseError = await postRaw(url, "{not json");
    assert.equal(parseError.status, 400);
    assert.equal(parseError.body.error.code, -32700);
    assert.equal(parseError.body.id, null);
    assert.equal((await postJson(url, { jsonrpc: "1.0", method: "query", id: 1 })).body.error.code, -32600);
    assert.equal((await postJson(url, { jsonrpc: "2.0", method: "terminate", params: {}, id: 1 })).body.error.code, -32601);
    const badParams = await postJson(url, { jsonrpc: "2.0", method: "invoke", params: { type: 1, ctorMsg: { function: "f", args: [] } }, id: 9 });
    assert.equal(badParams.body.error.code, -32602);
    assert.match(badParams.body.error.message, /params\.chaincodeID/);
    assert.equal(badParams.body.id, 9);
    for (const reply of [parseError, badParams]) assert.doesNotMatch(JSON.stringify(reply.body), /at .*\.(ts|mjs|js):\d+/);
  });

  it("rejects a body over the client limit (a 1 MiB chaincode package in base64, and its envelope) with 413", async () => {
    const reply = await postRaw(`${cluster.node("vp0").url}/chaincode`, JSON.stringify({ pad: "x".repeat(CLIENT_BODY_LIMIT + 10) }));
    assert.equal(reply.status, 413);
    assert.match(reply.body.Error, /larger than/);
  });

  it("answers unknown routes and methods with JSON errors", async () => {
    const missing = await getJson(`${cluster.node("vp0").url}/nope`);
    assert.equal(missing.status, 404);
    assert.equal(typeof missing.body.Error, "string");
    const wrongMethod = await postJson(`${cluster.node("vp0").url}/chain`, {});
    assert.equal(wrongMethod.status, 405);
  });
});

describe("node-to-node authentication", () => {
  const blocksMessage = (from: string, to: string) => ({ cluster_id: cluster.clusterId, from, to, kind: "blocks", body: { blocks: [] } });

  async function rejectedCounts(node: TestNode): Promise<Record<string, number>> {
    return (await getJson(`${node.url}/status`)).body.rejected_messages;
  }

  it("a message from vp0 signed with another key is refused with 401 and counted", async () => {
    const vp1 = cluster.node("vp1");
    const before = await rejectedCounts(vp1);
    const forger = generateNodeKeys();
    const keys = new PeerKeys({ selfId: "vp0", privateKeyPem: forger.privateKey, peers: [{ id: "vp0", url: "http://x", public_key: forger.publicKey }] });
    const reply = await postJson(`${vp1.url}/peer/message`, sealMessage(keys, blocksMessage("vp0", "vp1")));
    assert.equal(reply.status, 401);
    const after = await rejectedCounts(vp1);
    assert.equal(after["bad_signature"], (before["bad_signature"] ?? 0) + 1);
  });

  it("a message from a node outside the cluster is refused with 403 and counted", async () => {
    const vp1 = cluster.node("vp1");
    const before = await rejectedCounts(vp1);
    const outsider = generateNodeKeys();
    const keys = new PeerKeys({ selfId: "vp9", privateKeyPem: outsider.privateKey, peers: [{ id: "vp9", url: "http://x", public_key: outsider.publicKey }] });
    const reply = await postJson(`${vp1.url}/peer/message`, sealMessage(keys, blocksMessage("vp9", "vp1")));
    assert.equal(reply.status, 403);
    const after = await rejectedCounts(vp1);
    assert.equal(after["non_member"], (before["non_member"] ?? 0) + 1);
  });

  it("a member other than the leader cannot push blocks, and the leader cannot push unsigned ones", async () => {
    const vp1 = cluster.node("vp1");
    const vp2 = cluster.node("vp2");
    const peers = cluster.nodes.map((node) => node.config.peers).at(0) ?? [];
    const vp2Keys = new PeerKeys({ selfId: "vp2", privateKeyPem: vp2.config.private_key, peers });
    const fromFollower = await postJson(`${vp1.url}/peer/message`, sealMessage(vp2Keys, blocksMessage("vp2", "vp1")));
    assert.equal(fromFollower.status, 403);

    const height = await settledHeight();
    const head = (await getJson(`${vp1.url}/chain/blocks/${height - 1}`)).body;
    const forgedBlock = {
      ...head,
      number: height,
      previousBlockHash: head.hash,
      transactions: [],
      transactionResults: [],
      proposerID: "vp0",
      signature: vp2Keys.sign(head.hash),
    };
    const vp0Keys = new PeerKeys({ selfId: "vp0", privateKeyPem: cluster.node("vp0").config.private_key, peers });
    const pushed = await postJson(
      `${vp1.url}/peer/message`,
      sealMessage(vp0Keys, { ...blocksMessage("vp0", "vp1"), body: { blocks: [forgedBlock] } }),
    );
    assert.equal(pushed.status, 200);
    assert.equal(pushed.body.height, height);
    assert.match(pushed.body.error, /signature/);
    assert.equal(await vp1.height(), height);
  });
});

describe("the cluster's ledgers", () => {
  it("are identical on every node, block by block", async () => {
    const height = await settledHeight();
    assert.ok(height > 5);
    for (let n = 0; n < height; n++) {
      const blocks = await Promise.all(cluster.nodes.map((node) => getJson(`${node.url}/chain/blocks/${n}`)));
      for (const block of blocks.slice(1)) assert.deepEqual(block.body, blocks[0]!.body, `block ${n}`);
    }
  });

  it("/status tells the node, the chain, the consensus and the connected peers", async () => {
    const status = (await getJson(`${cluster.node("vp0").url}/status`)).body;
    assert.equal(status.node_id, "vp0");
    assert.equal(status.cluster_id, cluster.clusterId);
    assert.equal(typeof status.height, "number");
    assert.equal(typeof status.currentBlockHash, "string");
    assert.deepEqual(
      { plugin: status.consensus.plugin, leader: status.consensus.leader, role: status.consensus.role },
      { plugin: "noops", leader: "vp0", role: "leader" },
    );
    assert.deepEqual(status.peers_connected, ["vp1", "vp2", "vp3"]);
    const follower = (await getJson(`${cluster.node("vp3").url}/status`)).body;
    assert.equal(follower.consensus.role, "follower");
    assert.deepEqual(follower.peers_connected, ["vp0", "vp1", "vp2"]);
  });
});
