/**
 * Users' JavaScript chaincode on real 4-node clusters (noops and pbft), real processes and
 * HTTP: deploys of a shim-style file and a contract-style multi-file tar.gz, every stub
 * method, composite-key ranges, events at /transactions/<uuid>, invokeChaincode, bad
 * packages, hostile chaincode; after all of it every node holds the same blocks, the next
 * transaction commits, and a node restarted mid-run replays to the same state hash.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { getJson, startCluster, waitFor } from "./helpers/chain-cluster.ts";
import type { TestCluster, TestNode } from "./helpers/chain-cluster.ts";
import { fileCodePackage, tarCodePackage, textCodePackage } from "./helpers/js-packages.ts";

const SLOW_MS = 120_000;

for (const plugin of ["noops", "pbft"] as const) {
  describe(`JavaScript chaincode on a 4-node ${plugin} cluster`, () => {
    let cluster: TestCluster;
    let vp0: TestNode;
    let shimName = "";
    let contractName = "";

    before(async () => {
      cluster = await startCluster({ plugin, mode: plugin === "pbft" ? "batch" : "", batchSize: 10, batchTimeoutMs: 50 });
      vp0 = cluster.node("vp0");
    });
    after(async () => cluster?.close());

    /** Invokes through `via`, then waits until every running node has committed it; answers its result. */
    async function invoke(via: TestNode, name: string, fn: string, args: string[] = []) {
      const reply = await via.rpc("invoke", { chaincodeID: { name }, ctorMsg: { function: fn, args } });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      const uuid = reply.body.result.message as string;
      const records = await Promise.all(
        cluster.nodes
          .filter((node) => node.running)
          .map((node) =>
            waitFor(`${fn} committed on ${node.id}`, async () => {
              const found = await getJson(`${node.clientUrl}/transactions/${uuid}`);
              return found.status === 200 ? found.body : undefined;
            }, SLOW_MS),
          ),
      );
      for (const record of records) assert.deepEqual(record.transactionResult, records[0].transactionResult, `${fn}: nodes recorded different results`);
      return records[0];
    }

    async function query(node: TestNode, name: string, fn: string, args: string[] = []) {
      const reply = await node.rpc("query", { chaincodeID: { name }, ctorMsg: { function: fn, args } });
      return reply.body.result?.message ?? `error: ${reply.body.error?.data}`;
    }

    async function sameBlocksEverywhere(): Promise<number> {
      const running = cluster.nodes.filter((node) => node.running);
      const height = await waitFor("every node at the same height", async () => {
        const heights = await Promise.all(running.map((node) => node.height()));
        return heights.every((h) => h === heights[0]) ? heights[0] : undefined;
      }, SLOW_MS);
      for (let n = 1; n < height; n++) {
        const hashes = await Promise.all(running.map(async (node) => (await getJson(`${node.clientUrl}/chain/blocks/${n}`)).body.hash));
        assert.ok(hashes.every((hash) => hash === hashes[0]), `block ${n} differs between nodes`);
      }
      return height;
    }

    it("deploys a shim-style file and a contract-style tar.gz, answering their names", async () => {
      const shim = await vp0.rpc("deploy", { type: 2, chaincodeID: { path: "kv" }, ctorMsg: { function: "init", args: ["a", "1"] }, codePackage: fileCodePackage("shim-style.js") });
      assert.equal(shim.status, 200, JSON.stringify(shim.body));
      shimName = shim.body.result.message;
      assert.match(shimName, /^[0-9a-f]{64}$/);
      const contract = await cluster.node("vp1").rpc("deploy", { type: 2, chaincodeID: { path: "assets" }, codePackage: tarCodePackage("contract-style") });
      assert.equal(contract.status, 200, JSON.stringify(contract.body));
      contractName = contract.body.result.message;
      await Promise.all(cluster.nodes.map((node) => waitFor(`${node.id} to know the deploys`, async () => (await query(node, shimName, "get", ["a"])) === "1", SLOW_MS)));
    });

    it("refuses bad packages with -32001 naming the problem, ordering nothing", async () => {
      const height = await vp0.height();
      const cases: [string, RegExp][] = [
        [textCodePackage("const shim = require('fabric-shim');\nclass C {\n  async Invoke(stub) { return shim.success( }\n}\n"), /^Deployment failure: index\.js:3:\d+: SyntaxError/],
        [Buffer.from([0x00, 0xff, 0x10]).toString("base64"), /neither JavaScript text/],
        [textCodePackage("module.exports = { hello() {} };"), /neither calls shim\.start/],
        ["not base64!", /not base64/],
      ];
      for (const [codePackage, message] of cases) {
        const reply = await vp0.rpc("deploy", { type: 2, chaincodeID: { path: "bad" }, codePackage });
        assert.equal(reply.status, 400);
        assert.equal(reply.body.error.code, -32001);
        assert.match(reply.body.error.message, message);
      }
      assert.equal(await vp0.height(), height);
    });

    it("runs every stub method the same on every node, with events at /transactions/<uuid>", async () => {
      const put = await invoke(cluster.node("vp2"), shimName, "put", ["c", "3"]);
      assert.deepEqual(put.transactionResult.events, [{ name: "put", payload: "c" }]);
      await invoke(vp0, shimName, "addOwned", ["alice", "car", "red"]);
      await invoke(vp0, shimName, "addOwned", ["alice", "bike", "blue"]);
      await invoke(vp0, shimName, "addOwned", ["bob", "car", "green"]);
      await invoke(vp0, contractName, "InitLedger");
      const transfer = await invoke(vp0, contractName, "AssetContract:TransferAsset", ["asset1", "carol"]);
      assert.equal(transfer.transactionResult.result, "alice");
      const failed = await invoke(vp0, shimName, "fail", ["refused on purpose"]);
      assert.equal(failed.transactionResult.errorCode, 1);
      assert.equal(failed.transactionResult.error, "refused on purpose");
      const called = await invoke(vp0, shimName, "call", [contractName, "ReadAsset", "asset2"]);
      assert.equal(JSON.parse(called.transactionResult.result.slice(4)).Owner, "bob");
      for (const node of cluster.nodes) {
        assert.equal(await query(node, shimName, "owned", ["alice"]), "owner~item:alice/bike=blue,owner~item:alice/car=red");
        assert.equal(await query(node, shimName, "range", ["a", "z"]), "a=1,c=3");
        assert.equal(await query(node, shimName, "getLength", ["nothing"]), "0");
        assert.equal(await query(node, shimName, "get", ["written-before-failing"]), "");
      }
    });

    it("hostile chaincode fails or is neutralised identically everywhere, and the next transaction commits", { timeout: 600_000 }, async () => {
      const deployed = await vp0.rpc("deploy", { type: 2, chaincodeID: { path: "hostile" }, codePackage: fileCodePackage("hostile.js") });
      assert.equal(deployed.status, 200, JSON.stringify(deployed.body));
      const hostile = deployed.body.result.message as string;
      const outcome = async (fn: string) => {
        const record = await invoke(cluster.node("vp1"), hostile, fn);
        return record.transactionResult.errorCode === 0 ? record.transactionResult.result : `failed: ${record.transactionResult.error}`;
      };
      const now = JSON.parse(await outcome("now"));
      assert.equal(now.now, now.made);
      assert.equal(now.offset, 0);
      assert.match(await outcome("random"), /^\[0\.\d+,0\.\d+\]$/);
      assert.match(await outcome("loop"), /ran past its budget/);
      assert.match(await outcome("allocate"), /out of memory/);
      assert.match(await outcome("recurse"), /stack overflow/);
      assert.match(await outcome("bigPut"), /^failed: /);
      assert.match(await outcome("fs"), /Cannot find module 'fs'/);
      assert.equal(await outcome("process"), "undefined/undefined/undefined/undefined/undefined");
      await outcome("globals");
      await outcome("pollute");
      assert.equal(await outcome("pollutedSeen"), "undefined");
      // After all of that: the next transaction commits, and every node holds the same blocks.
      const next = await invoke(vp0, shimName, "put", ["after", "hostile"]);
      assert.equal(next.transactionResult.errorCode, 0);
      await sameBlocksEverywhere();
    });

    it("a node restarted mid-run replays its ledger, JavaScript chaincode included, to the same state hash", { timeout: 300_000 }, async () => {
      const restarted = cluster.node("vp3");
      await restarted.stop("SIGKILL");
      await invoke(vp0, shimName, "put", ["while-down", "1"]);
      await invoke(vp0, contractName, "CounterContract:Increment", ["n"]);
      await restarted.start();
      await invoke(vp0, shimName, "put", ["after-restart", "1"]);
      const height = await sameBlocksEverywhere();
      const heads = await Promise.all(cluster.nodes.map(async (node) => (await getJson(`${node.clientUrl}/chain/blocks/${height - 1}`)).body.stateHash));
      assert.ok(heads.every((hash) => hash === heads[0]), `state hashes differ: ${heads.join(" ")}`);
      assert.equal(await query(restarted, shimName, "get", ["while-down"]), "1");
      assert.equal(JSON.parse(await query(restarted, contractName, "CounterContract:Increment", ["n"])).value, 2);
    });
  });
}
