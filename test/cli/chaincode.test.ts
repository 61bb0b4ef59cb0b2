/**
 * `chainpool chaincode deploy | invoke | query` through the executable against a real 4-node
 * pbft cluster of chain node processes, at its api_url with a URL secret, as a developer
 * would use them; and the exit codes scripts rely on when something is wrong.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { EXIT } from "../../src/cli/exit-codes.ts";
import { newUrlSecret } from "../../src/lib/url-secret.ts";
import { EXAMPLE02_PATH, freePorts, getJson, ROOT, startCluster, waitFor, type TestCluster } from "../chain/helpers/chain-cluster.ts";
import { ensureExe, run, type RunResult } from "../helpers/exe.ts";

describe("chainpool chaincode against a cluster's api_url", () => {
  let exe: string;
  let cluster: TestCluster;
  let apiUrl: string;
  let scratch: string;
  /** The environment without CHAINPOOL_API_URL, so that tests say which URL they use. */
  const env = () => {
    const copy = { ...process.env };
    delete copy["CHAINPOOL_API_URL"];
    return copy;
  };
  const cli = (...args: string[]): Promise<RunResult> => run(exe, ["chaincode", ...args], { env: env() });
  const ok = async (...args: string[]): Promise<string> => {
    const r = await cli(...args);
    assert.equal(r.code, EXIT.OK, `chainpool chaincode ${args.join(" ")} -> ${r.code}: ${r.stderr}`);
    return r.stdout;
  };
  const fails = async (code: number, stderr: RegExp, ...args: string[]): Promise<RunResult> => {
    const r = await cli(...args);
    assert.equal(r.code, code, `chainpool chaincode ${args.join(" ")} -> ${r.code}: ${r.stderr}`);
    assert.match(r.stderr, stderr);
    assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
    return r;
  };

  before(async () => {
    exe = await ensureExe();
    scratch = mkdtempSync(join(tmpdir(), "chainpool-cc-cli-"));
    cluster = await startCluster({ size: 4, plugin: "pbft", mode: "batch", batchSize: 10, batchTimeoutMs: 20, urlSecret: newUrlSecret() });
    apiUrl = cluster.nodes[0]!.clientUrl;
  });

  after(async () => {
    await cluster?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  it("deploys the built-in map by path, invokes it with --wait, and queries the value back", async () => {
    const name = (await ok("deploy", "map", "--url", apiUrl)).trim();
    assert.match(name, /^[0-9a-f]{64,128}$/);
    const invoked = (await ok("invoke", name, "put", "colour", "blue", "--wait", "--url", apiUrl)).split("\n");
    assert.match(invoked[0]!, /^\S+$/, "the first line is the transaction uuid");
    const tx = await getJson(`${apiUrl}/transactions/${invoked[0]}`);
    assert.equal(tx.status, 200, "--wait returned after the commit");
    assert.equal(tx.body.transactionResult.errorCode, 0);
    assert.equal(await ok("query", name, "get", "colour", "--url", apiUrl), "blue\n");
  });

  it("passes the ctorMsg as --ctor with --args, as Fabric's JSON, and --json for scripts", async () => {
    const name = (await ok("deploy", EXAMPLE02_PATH, "--ctor", "init", "--args", '["a", 100, "b", 200]', "--url", apiUrl)).trim();
    assert.equal(await ok("query", name, "--ctor", '{"Args":["query","a"]}', "--url", apiUrl), "100\n");
    const invoked = JSON.parse(await ok("invoke", name, "--ctor", "invoke", "--args", "a", "--args", "b", "--args", "30", "--wait", "--json", "--url", apiUrl));
    assert.equal(invoked.ok, true);
    assert.equal(typeof invoked.block, "number");
    assert.deepEqual(JSON.parse(await ok("query", name, "query", "b", "--json", "--url", apiUrl)), { result: "230" });
  });

  it("takes the api_url from CHAINPOOL_API_URL when --url is not given", async () => {
    const r = await run(exe, ["chaincode", "query", "map", "get", "colour"], { env: { ...env(), CHAINPOOL_API_URL: apiUrl } });
    assert.equal(r.code, EXIT.OK, r.stderr);
    assert.equal(r.stdout, "blue\n");
  });

  it("invoke without --wait prints the uuid at once; a transaction that fails in its block is exit 1 with --wait", async () => {
    const name = (await ok("deploy", "example02", "init", "x", "5", "y", "0", "--url", apiUrl)).trim();
    const uuid = (await ok("invoke", name, "invoke", "x", "y", "1", "--url", apiUrl)).trim();
    assert.match(uuid, /^\S+$/);
    // pbft does not pre-check invokes: the overdraft is ordered, and fails in its block.
    const r = await fails(EXIT.FAILED, /transaction \S+ failed in block \d+: .*insufficient/i, "invoke", name, "invoke", "x", "y", "100", "--wait", "--url", apiUrl);
    assert.match(r.stdout, /^\S+\n$/, "the uuid still on stdout");
    assert.equal(await ok("query", name, "query", "x", "--url", apiUrl), "4\n");
  });

  it("deploys a JavaScript file (the example02 port): named by the hash of package and ctor, the same on every node", async () => {
    const file = join(ROOT, "scripts", "chaincode", "example02.js");
    const name = (await ok("deploy", file, "init", "a", "100", "b", "0", "--url", apiUrl)).trim();
    assert.match(name, /^[0-9a-f]{64}$/);
    await ok("invoke", name, "invoke", "a", "b", "40", "--wait", "--url", apiUrl);
    for (const node of cluster.nodes) {
      await waitFor(`${node.id} to commit the transfer`, async () => (await run(exe, ["chaincode", "query", name, "query", "b", "--url", node.clientUrl])).stdout === "40\n", 30_000);
    }
    const overdraft = await fails(EXIT.FAILED, /insufficient funds: a has 60, cannot move 61/, "invoke", name, "invoke", "a", "b", "61", "--wait", "--url", apiUrl);
    assert.match(overdraft.stdout, /^\S+\n$/);
  });

  it("a package with a syntax error is refused, exit 1, saying where", async () => {
    const file = join(scratch, "broken.js");
    writeFileSync(file, "const shim = require('fabric-shim');\nclass X {\n  async Init(stub) { return shim.success( }\n}\n");
    await fails(EXIT.FAILED, /deploy refused by the cluster \(-32001\).*broken|deploy refused by the cluster \(-32001\).*(line|:3)/i, "deploy", file, "--url", apiUrl);
  });

  it("a query the chaincode refuses is exit 1 with the chaincode's words", async () => {
    await fails(EXIT.FAILED, /query refused by the cluster \(-32003\).*unknown function "nope"/, "query", "map", "nope", "--url", apiUrl);
  });

  it("a URL with a wrong or no secret is exit 5, saying the api_url is wrong", async () => {
    const origin = new URL(apiUrl).origin;
    await fails(EXIT.NOT_FOUND, /no cluster answers at this URL \(HTTP 404\)/, "query", "map", "get", "k", "--url", `${origin}/${newUrlSecret()}`);
    await fails(EXIT.NOT_FOUND, /no cluster answers at this URL/, "deploy", "map", "--url", origin);
  });

  it("nothing listening is exit 3; a missing or bad --url is exit 2 naming --url", async () => {
    const [port] = await freePorts(1);
    await fails(EXIT.UNREACHABLE, /cannot reach the cluster at http:\/\/127\.0\.0\.1:\d+\/x: ECONNREFUSED/, "query", "map", "get", "k", "--url", `http://127.0.0.1:${port}/x`);
    await fails(EXIT.USAGE, /--url: the cluster's api_url is needed/, "query", "map", "get", "k");
    await fails(EXIT.USAGE, /--url: "vp0:7050" is not a URL|--url: expected an http or https URL/, "query", "map", "get", "k", "--url", "vp0:7050");
  });

  it("bad command lines and packages are exit 2 naming the flag or file, before anything is sent", async () => {
    await fails(EXIT.USAGE, /missing PATH \(usage: chainpool chaincode deploy/, "deploy", "--url", apiUrl);
    await fails(EXIT.USAGE, /invoke: which function\? give --ctor FN/, "invoke", "map", "--url", apiUrl);
    await fails(EXIT.USAGE, /--args: starts with "\[" but is not a JSON array/, "invoke", "map", "put", "--args", "[k", "--url", apiUrl);
    await fails(EXIT.USAGE, /chaincode deploy: Unknown option '--bogus'/, "deploy", "map", "--bogus", "--url", apiUrl);
    const dir = join(scratch, "no-main");
    mkdirSync(dir);
    writeFileSync(join(dir, "package.json"), "{}");
    await fails(EXIT.USAGE, /no-main\/package\.json: no "main", and no index\.js/, "deploy", dir, "--url", apiUrl);
    await fails(EXIT.USAGE, /nothing-here\.js: no such file or directory, nor a built-in chaincode of the cluster/, "deploy", join(scratch, "nothing-here.js"), "--url", apiUrl);
  });
});
