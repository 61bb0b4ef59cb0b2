/**
 * The same bundle under Deno 2, side by side with Node nodes. Deno comes from the `deno`
 * dev dependency (npm ships its binary), or DENO_BIN.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { getJson, startCluster, waitFor } from "./helpers/chain-cluster.ts";
import { fileCodePackage } from "./helpers/js-packages.ts";

// The platform package's binary itself: node_modules/.bin/deno may be a Node wrapper
// (when the deno package's postinstall did not run), which would turn SIGTERM into a kill.
const deno = process.env["DENO_BIN"] ?? fileURLToPath(new URL("../../node_modules/@deno/linux-x64-glibc/deno", import.meta.url));

describe("the chain node under Deno", () => {
  it("has a Deno 2 binary to run", () => {
    const version = spawnSync(deno, ["--version"], { encoding: "utf8" });
    assert.equal(version.status, 0, `cannot run ${deno}: ${version.error?.message ?? version.stderr}`);
    assert.match(version.stdout, /^deno 2\./);
  });

  it("a Deno leader and Node followers build one chain", async () => {
    const cluster = await startCluster({ size: 3, runtimeFor: (id) => (id === "vp0" ? [deno, "run", "-A"] : undefined) });
    try {
      const [vp0, vp1, vp2] = cluster.nodes as [typeof cluster.nodes[0], typeof cluster.nodes[0], typeof cluster.nodes[0]];
      const deployed = await vp1.rpc("deploy", { type: 1, chaincodeID: { name: "example02" }, ctorMsg: { function: "init", args: ["a", "10", "b", "5"] } });
      assert.equal(deployed.body.result?.status, "OK", JSON.stringify(deployed.body));
      const invoked = await vp2.rpc("invoke", { type: 1, chaincodeID: { name: "example02" }, ctorMsg: { function: "invoke", args: ["a", "b", "3"] } });
      const uuid = invoked.body.result.message as string;
      for (const node of cluster.nodes) {
        await waitFor(`${node.id} to commit`, async () => (await getJson(`${node.url}/transactions/${uuid}`)).status === 200);
      }
      const head = (await getJson(`${vp0.url}/chain`)).body;
      assert.deepEqual((await getJson(`${vp1.url}/chain`)).body, head);
      const started = Date.now();
      assert.equal(await vp0.stop("SIGTERM"), 0);
      assert.ok(Date.now() - started < 1_000);
    } finally {
      await cluster.close();
    }
  });

  it("a pbft cluster with a Deno primary and a Deno backup agrees with its Node nodes", async () => {
    const cluster = await startCluster({ size: 4, plugin: "pbft", mode: "batch", batchSize: 10, batchTimeoutMs: 100, runtimeFor: (id) => (id === "vp0" || id === "vp2" ? [deno, "run", "-A"] : undefined) });
    try {
      const [, vp1, , vp3] = cluster.nodes as [typeof cluster.nodes[0], typeof cluster.nodes[0], typeof cluster.nodes[0], typeof cluster.nodes[0]];
      const deployed = await vp1.rpc("deploy", { type: 1, chaincodeID: { name: "example02" }, ctorMsg: { function: "init", args: ["a", "10", "b", "5"] } });
      assert.equal(deployed.body.result?.status, "OK", JSON.stringify(deployed.body));
      const invoked = await vp3.rpc("invoke", { type: 1, chaincodeID: { name: "example02" }, ctorMsg: { function: "invoke", args: ["a", "b", "3"] } });
      const uuid = invoked.body.result.message as string;
      for (const node of cluster.nodes) {
        await waitFor(`${node.id} to commit`, async () => (await getJson(`${node.url}/transactions/${uuid}`)).status === 200);
      }
      const heads = await Promise.all(cluster.nodes.map(async (node) => (await getJson(`${node.url}/chain`)).body));
      for (const head of heads) assert.deepEqual(head, heads[0]);
    } finally {
      await cluster.close();
    }
  });

  it("a Deno node runs JavaScript chaincode (QuickJS in wasm) to the same blocks as its Node nodes", async () => {
    const cluster = await startCluster({ size: 3, runtimeFor: (id) => (id === "vp1" ? [deno, "run", "-A"] : undefined) });
    try {
      const [vp0, vp1] = cluster.nodes as [typeof cluster.nodes[0], typeof cluster.nodes[0]];
      const deployed = await vp1.rpc("deploy", { type: 2, chaincodeID: { path: "kv" }, ctorMsg: { function: "init", args: ["a", "1"] }, codePackage: fileCodePackage("shim-style.js") });
      assert.equal(deployed.body.result?.status, "OK", JSON.stringify(deployed.body));
      const name = deployed.body.result.message as string;
      const invoked = await vp0.rpc("invoke", { chaincodeID: { name }, ctorMsg: { function: "put", args: ["b", "2"] } });
      const uuid = invoked.body.result.message as string;
      for (const node of cluster.nodes) {
        await waitFor(`${node.id} to commit`, async () => (await getJson(`${node.url}/transactions/${uuid}`)).status === 200, 30_000);
      }
      const answer = await vp1.rpc("query", { chaincodeID: { name }, ctorMsg: { function: "range", args: ["", ""] } });
      assert.equal(answer.body.result?.message, "a=1,b=2");
      const heads = await Promise.all(cluster.nodes.map(async (node) => (await getJson(`${node.url}/chain`)).body));
      for (const head of heads) assert.deepEqual(head, heads[0]);
    } finally {
      await cluster.close();
    }
  });
});
