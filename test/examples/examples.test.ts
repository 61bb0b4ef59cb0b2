/**
 * The chaincode examples under examples/, deployed and driven as their READMEs show, with
 * dist/chainpool's `chaincode` commands against the api_url (URL secret included) of real
 * 4-node noops and pbft clusters: every node ends at the same height and answers every
 * query the same.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { EXIT } from "../../src/cli/exit-codes.ts";
import type { ConsensusPlugin } from "../../src/lib/node-config.ts";
import { newUrlSecret } from "../../src/lib/url-secret.ts";
import { getJson, ROOT, startCluster, waitFor, type TestCluster } from "../chain/helpers/chain-cluster.ts";
import { ensureExe, run, type RunResult } from "../helpers/exe.ts";

const EXAMPLES = join(ROOT, "examples");

for (const plugin of ["noops", "pbft"] as const satisfies readonly ConsensusPlugin[]) {
  describe(`the chaincode examples on a 4-node ${plugin} cluster, through the CLI`, () => {
    let exe: string;
    let cluster: TestCluster;
    let apiUrl: string;
    let scratch: string;
    const cli = (...args: string[]): Promise<RunResult> => run(exe, ["chaincode", ...args], { env: { ...process.env, CHAINPOOL_API_URL: apiUrl } });
    const ok = async (...args: string[]): Promise<string> => {
      const r = await cli(...args);
      assert.equal(r.code, EXIT.OK, `chainpool chaincode ${args.join(" ")} -> ${r.code}: ${r.stderr}`);
      return r.stdout;
    };
    const okJson = async (...args: string[]): Promise<any> => JSON.parse(await ok(...args, "--json"));
    /** A query's answer, parsed as JSON. */
    const ask = async (...args: string[]): Promise<any> => JSON.parse(await ok("query", ...args));
    /** Every node at the same height, then the same answer to the query from each. */
    const agreed = async (...query: string[]): Promise<string> => {
      await waitFor(
        "every node at the same height",
        async () => new Set(await Promise.all(cluster.nodes.map(async (node) => (await getJson(`${node.clientUrl}/chain`)).body.height))).size === 1,
        30_000,
      );
      const answers = await Promise.all(
        cluster.nodes.map(async (node) => {
          const r = await run(exe, ["chaincode", "query", ...query, "--url", node.clientUrl]);
          assert.equal(r.code, EXIT.OK, `${node.id}: ${r.stderr}`);
          return r.stdout;
        }),
      );
      assert.equal(new Set(answers).size, 1, `nodes answer differently: ${JSON.stringify(answers)}`);
      return answers[0]!;
    };

    before(async () => {
      exe = await ensureExe();
      scratch = mkdtempSync(join(tmpdir(), "chainpool-examples-"));
      cluster = await startCluster({ size: 4, plugin, mode: "batch", batchSize: 20, batchTimeoutMs: 20, urlSecret: newUrlSecret() });
      apiUrl = cluster.nodes[0]!.clientUrl;
    });

    after(async () => {
      await cluster?.close();
      rmSync(scratch, { recursive: true, force: true });
    });

    it("marbles (shim style): composite-key index, range queries, events, refusals", async () => {
      const cc = (await ok("deploy", join(EXAMPLES, "marbles-shim"))).trim();
      assert.match(cc, /^[0-9a-f]{64}$/, "the name is a SHA-256");
      for (const [name, color, size] of [["marble1", "blue", "35"], ["marble2", "red", "50"], ["marble3", "blue", "70"]] as const) {
        const created = await cli("invoke", cc, "initMarble", name, color, size, "tom", "--wait");
        assert.equal(created.code, EXIT.OK, created.stderr);
        assert.match(created.stderr, new RegExp(`^event MarbleCreated: \\{.*"name":"${name}"`, "m"));
      }
      assert.deepEqual(await ask(cc, "readMarble", "marble1"), { docType: "marble", name: "marble1", color: "blue", size: 35, owner: "tom" });

      const duplicate = await cli("invoke", cc, "initMarble", "marble1", "green", "1", "ann", "--wait");
      assert.equal(duplicate.code, EXIT.FAILED);
      assert.match(duplicate.stderr, /marble marble1 already exists/);

      assert.deepEqual((await ask(cc, "getMarblesByRange", "marble1", "marble3")).map((m: { Key: string }) => m.Key), ["marble1", "marble2"]);
      const moved = await okJson("invoke", cc, "transferMarblesBasedOnColor", "blue", "jerry", "--wait");
      assert.equal(moved.ok, true);
      assert.deepEqual(JSON.parse(moved.result), ["marble1", "marble3"]);
      assert.deepEqual(moved.events.map((e: { name: string }) => e.name), ["MarblesTransferred"]);
      assert.deepEqual(JSON.parse(moved.events[0].payload), { color: "blue", to: "jerry", marbles: ["marble1", "marble3"] });
      assert.equal((await ask(cc, "readMarble", "marble3")).owner, "jerry");

      await ok("invoke", cc, "delete", "marble1", "--wait");
      assert.deepEqual(await ask(cc, "getMarblesByColor", "blue"), ["marble3"]);
      // An open range lists marbles only: the color~name index entries are composite keys.
      assert.deepEqual((await ask(cc, "getMarblesByRange", "", "")).map((m: { Key: string }) => m.Key), ["marble2", "marble3"]);
      const missing = await cli("query", cc, "readMarble", "marble1");
      assert.equal(missing.code, EXIT.FAILED);
      assert.match(missing.stderr, /marble marble1 does not exist/);
      assert.deepEqual(JSON.parse(await agreed(cc, "getMarblesByRange", "", "")).length, 2);
    });

    it("asset-transfer (contract style, several files): InitLedger at deploy, Name:fn routing, owner index", async () => {
      const cc = (await ok("deploy", join(EXAMPLES, "asset-contract"), "--ctor", "InitLedger")).trim();
      const all = await ask(cc, "GetAllAssets");
      assert.deepEqual(all.map((a: { ID: string }) => a.ID), ["asset1", "asset2", "asset3", "asset4"]);
      assert.equal(typeof all[0].UpdatedAt, "number");

      const transferred = (await ok("invoke", cc, "TransferAsset", "asset1", "Ana", "--wait")).split("\n");
      assert.equal(transferred[1], "Tomoko", "the previous owner, as the transaction's answer");
      await ok("invoke", cc, "CreateAsset", "asset5", "purple", "15", "Ana", "900", "--wait");
      assert.deepEqual((await ask(cc, "AssetQueries:AssetsByOwner", "Ana")).map((a: { ID: string }) => a.ID), ["asset1", "asset5"]);
      assert.deepEqual((await ask(cc, "AssetQueries:AssetsInRange", "asset2", "asset4")).map((a: { ID: string }) => a.ID), ["asset2", "asset3"]);
      assert.deepEqual(await ask(cc, "AssetQueries:CountByOwner"), { Ana: 2, Brad: 1, "Jin Soo": 1, Max: 1 });
      assert.equal(await ok("query", cc, "AssetExists", "asset9"), "false\n");

      const bad = await cli("invoke", cc, "CreateAsset", "asset6", "red", "big", "Bo", "1", "--wait");
      assert.equal(bad.code, EXIT.FAILED);
      assert.match(bad.stderr, /Size must be a non-negative integer, got "big"/);
      const unknown = await cli("query", cc, "Nope:ReadAsset", "asset1");
      assert.equal(unknown.code, EXIT.FAILED);
      assert.match(unknown.stderr, /no contract named "Nope"/);
      await agreed(cc, "AssetQueries:CountByOwner");
    });

    it("ts-token (TypeScript): compiled with tsc against types/, deployed with a Mint at deploy", async () => {
      const project = join(scratch, "ts-token");
      cpSync(join(EXAMPLES, "ts-token"), project, { recursive: true, filter: (path) => !path.includes("dist") });
      // The example's tsconfig takes the declarations from ../../types: in the copy, the repository's.
      const config = JSON.parse(readFileSync(join(project, "tsconfig.json"), "utf8"));
      writeFileSync(join(project, "tsconfig.json"), JSON.stringify({ ...config, include: ["src", join(ROOT, "types")] }));
      const built = spawnSync(process.execPath, [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", project], { encoding: "utf8" });
      assert.equal(built.status, 0, built.stdout + built.stderr);
      const cc = (await ok("deploy", project, "--ctor", "Mint", "--args", "alice", "--args", "1000")).trim();
      await ok("invoke", cc, "Transfer", "alice", "bob", "250", "--wait");
      assert.equal(await ok("query", cc, "BalanceOf", "bob"), "250\n");
      assert.deepEqual(await ask(cc, "Holders"), { alice: "750", bob: "250" });
      const overdraft = await cli("invoke", cc, "Transfer", "bob", "carol", "251", "--wait");
      assert.equal(overdraft.code, EXIT.FAILED);
      assert.match(overdraft.stderr, /bob holds 250, cannot send 251/);
      assert.equal(await agreed(cc, "TotalSupply"), "1000\n");
    });
  });
}
