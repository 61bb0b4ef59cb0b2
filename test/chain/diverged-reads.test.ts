/**
 * A node whose consensus says its state diverged answers no reads from it: /chain, blocks,
 * transactions and queries are 503 with the reason, while /status (which reports the
 * divergence) and invokes go on. The REST layer on a real ledger; consensus is a stand-in
 * whose divergence the test switches (the real detection is tested in pbft-sim and on real
 * clusters in divergence.test.ts).
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { ChaincodeService } from "../../src/chain/chaincode/chaincode-service.ts";
import type { Consensus } from "../../src/chain/consensus/consensus.ts";
import { Chain } from "../../src/chain/ledger/chain.ts";
import { createGenesisBlock } from "../../src/chain/ledger/genesis.ts";
import { silentLogger } from "../../src/chain/log/logger.ts";
import { PeerKeys } from "../../src/chain/peer/peer-keys.ts";
import type { PeerReachability } from "../../src/chain/peer/peer-reachability.ts";
import { createRestApi } from "../../src/chain/rest/rest-api.ts";
import type { NodeConfig } from "../../src/lib/node-config.ts";
import { testIdentities, tx } from "./helpers/fixtures.ts";

const identities = testIdentities(4);
const peers = identities.map((identity) => identity.peer);
const dir = mkdtempSync(join(tmpdir(), "diverged-reads-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("reads on a diverged node", () => {
  it("answer 503 naming why while it is diverged, and as usual before and after; /status and invokes go on", async () => {
    const config: NodeConfig = {
      cluster_id: "c1",
      node_id: "vp1",
      listen: { host: "127.0.0.1", port: 1 },
      data_dir: dir,
      consensus: { plugin: "pbft", mode: "classic", batch_size: 10, batch_timeout_ms: 10 },
      peers,
      private_key: identities[1]!.keys.privateKey,
    };
    const chain = Chain.open({ dataDir: dir, genesis: createGenesisBlock({ clusterId: "c1", peers }), log: silentLogger });
    const deploy = tx("deploy", { name: "example02" }, "init", ["a", "10", "b", "20"]);
    chain.propose({ transactions: [deploy], proposerID: "vp0", timestamp: { seconds: 1, nanos: 0 }, consensusMetadata: () => ({}), sign: () => "" });
    let diverged: string | undefined;
    const submitted: string[] = [];
    const consensus: Consensus = {
      plugin: "pbft",
      start() {},
      async submit(transaction) {
        submitted.push(transaction.uuid);
        return { ok: true };
      },
      async onMessage() {
        return { status: 400, body: {} };
      },
      verifyBlockOrigin: () => null,
      diverged: () => diverged,
      status: () => ({ plugin: "pbft", mode: "classic", diverged: diverged !== undefined }),
      async close() {},
    };
    const api = createRestApi({
      config,
      chain,
      consensus,
      chaincode: new ChaincodeService({ chain, consensus, log: silentLogger, now: () => 0 }),
      keys: new PeerKeys({ selfId: "vp1", privateKeyPem: identities[1]!.keys.privateKey, peers }),
      reachability: { reachable: async () => ["vp1"] } as unknown as PeerReachability,
      log: silentLogger,
      startedAt: 0,
      now: () => 0,
    });
    const get = (path: string) => api({ method: "GET", path, query: new URLSearchParams(), body: "" });
    const rpc = (method: string, fn: string, args: string[]) =>
      api({ method: "POST", path: "/chaincode", query: new URLSearchParams(), body: JSON.stringify({ jsonrpc: "2.0", method, params: { type: 1, chaincodeID: { name: "example02" }, ctorMsg: { function: fn, args } }, id: 7 }) });
    const reads = () => [get("/chain"), get("/chain/blocks/1"), get(`/transactions/${deploy.uuid}`), rpc("query", "query", ["a"])];

    for (const reply of await Promise.all(reads())) assert.equal(reply.status, 200, JSON.stringify(reply.body));

    diverged = "this node's state diverged from the quorum's at checkpoint 32; it is recovering it by state transfer: ask another node, or again shortly";
    const [chainInfo, block, transaction, query] = await Promise.all(reads());
    for (const reply of [chainInfo!, block!, transaction!]) assert.deepEqual(reply, { status: 503, body: { Error: diverged } });
    assert.equal(query!.status, 503);
    assert.deepEqual((query!.body as { error: unknown }).error, { code: -32003, message: `Query failure: ${diverged}`, data: diverged });
    assert.equal((await get("/chain/blocks/x")).status, 400, "a bad block number is still the client's error");
    const status = await get("/status");
    assert.equal(status.status, 200);
    assert.equal((status.body as { consensus: { diverged: boolean } }).consensus.diverged, true);
    const invoked = await rpc("invoke", "invoke", ["a", "b", "1"]);
    assert.equal(invoked.status, 200, "an invoke is ordered by the others whatever this node's state");
    assert.equal(submitted.length, 1);

    diverged = undefined;
    for (const reply of await Promise.all(reads())) assert.equal(reply.status, 200, JSON.stringify(reply.body));
    chain.close();
  });
});
