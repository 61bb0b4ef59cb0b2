/**
 * `[chaincode] max_package_bytes` reaches the nodes of the clusters the daemon makes: a
 * deploy over it is refused by the node it is sent to, naming the limit, and nothing is
 * ordered; one under it deploys and answers. Real daemon, real local nodes.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { getJson, postJson, waitFor } from "../chain/helpers/chain-cluster.ts";
import { textCodePackage } from "../chain/helpers/js-packages.ts";
import { DaemonProcess, localHostToml } from "../helpers/daemon-process.ts";

const LIMIT = 2048;

/** A shim-style chaincode whose source is padded with a comment to `bytes` bytes. */
function chaincodeOf(bytes: number): string {
  const source = `const shim = require("fabric-shim");
class Counter {
  async Init() { return shim.success(); }
  async Invoke(stub) {
    const { fcn } = stub.getFunctionAndParameters();
    if (fcn === "ping") return shim.success(Buffer.from("pong"));
    return shim.error("unknown function " + fcn);
  }
}
shim.start(new Counter());
`;
  return source + `// ${"x".repeat(Math.max(0, bytes - source.length - 4))}\n`;
}

describe("[chaincode] max_package_bytes on a real daemon", () => {
  let d: DaemonProcess;
  before(async () => {
    d = await DaemonProcess.create(localHostToml(1, { tables: `[chaincode]\nmax_package_bytes = ${LIMIT}` }));
    await d.start();
  });
  after(async () => d.destroy());

  it("a deploy over the limit is refused naming it, nothing is ordered; one under it deploys", { timeout: 120_000 }, async () => {
    await waitFor("a free cluster", async () => (await d.call("GET", "/api/stat")).body.data.clusters.free === 1, 60_000);
    const applied = await d.call("POST", "/v2/cluster_op", { action: "apply", user_id: "carol" });
    assert.equal(applied.status, 200, JSON.stringify(applied.body));
    const apiUrl = applied.body.data.api_url as string;
    const deploy = (source: string) =>
      postJson(`${apiUrl}/chaincode`, {
        jsonrpc: "2.0",
        method: "deploy",
        params: { type: 2, chaincodeID: { path: "counter" }, ctorMsg: { function: "init", args: [] }, codePackage: textCodePackage(source) },
        id: 1,
      });
    const height = (await getJson(`${apiUrl}/chain`)).body.height as number;

    const tooLarge = await deploy(chaincodeOf(LIMIT + 1));
    assert.equal(tooLarge.status, 400, JSON.stringify(tooLarge.body));
    assert.equal(tooLarge.body.error.code, -32001);
    assert.match(tooLarge.body.error.data, new RegExp(`${LIMIT}`), "the error names the limit");
    assert.equal((await getJson(`${apiUrl}/chain`)).body.height, height, "nothing was ordered");

    const fits = await deploy(chaincodeOf(LIMIT - 100));
    assert.equal(fits.body.result?.status, "OK", JSON.stringify(fits.body));
    const name = fits.body.result.message as string;
    const pinged = await postJson(`${apiUrl}/chaincode`, { jsonrpc: "2.0", method: "query", params: { type: 2, chaincodeID: { name }, ctorMsg: { function: "ping", args: [] } }, id: 2 });
    assert.equal(pinged.body.result?.message, "pong", JSON.stringify(pinged.body));
  });
});
