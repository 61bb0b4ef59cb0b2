/**
 * Capability URLs through a real daemon and real local node processes: an applied cluster's
 * api_url and every service_url entry carry its secret, which every node requires on every
 * Fabric route (another cluster's secret, or none, is the same bare 404); a rotation kills
 * the old URLs by the time it answers and keeps the ledger; a recycle changes the secret;
 * neither the daemon's log nor any node's holds a secret. With pool.url_secrets off the URLs
 * are plain.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { getJson, waitFor } from "../chain/helpers/chain-cluster.ts";
import { DaemonProcess, localHostToml } from "../helpers/daemon-process.ts";
import { runExample02 } from "../helpers/example02.ts";
import { answers, applyTwoApart, type ClusterUrls, everyRouteOpen, rotateAndCheck, secretOf } from "../helpers/url-secrets.ts";

/** Every node's log (and what it printed itself) under the daemon's clusters directory, as text. */
function nodeLogs(root: string): string {
  if (!existsSync(root)) return "";
  let text = "";
  for (const cluster of readdirSync(root)) {
    for (const node of readdirSync(join(root, cluster))) {
      for (const name of ["node.log", "node.log.1", "node.err"]) {
        const file = join(root, cluster, node, name);
        if (existsSync(file)) text += readFileSync(file, "utf8");
      }
    }
  }
  return text;
}

describe("capability URLs on a local host, through a real daemon", () => {
  let d: DaemonProcess;
  before(async () => {
    d = await DaemonProcess.create(localHostToml(2));
    await d.start();
  });
  after(async () => d.destroy());

  const secretsSeen = new Set<string>();
  let logsOfGone = "";

  it("every node of a cluster needs its own secret on every Fabric route; a rotation kills the old URLs at once and keeps the ledger; a recycle changes it", { timeout: 180_000 }, async () => {
    await waitFor("two free clusters", async () => (await d.call("GET", "/api/stat")).body.data.clusters.free === 2, 60_000);
    const { alice, example } = await applyTwoApart(d.call.bind(d), secretsSeen);
    assert.deepEqual(Object.keys(alice.service_url), ["vp0", "vp1", "vp2", "vp3"], "a local cluster lists every node");
    const aliceSecret = secretOf(alice);
    // No wait: the old URLs are dead when the call has answered.
    const fresh = await rotateAndCheck(d.call.bind(d), alice, example, secretsSeen);
    const freshSecret = secretOf(fresh);
    const rpc = (method: string, args: string[]) => ({ jsonrpc: "2.0", method, params: { type: 1, chaincodeID: { name: "example02" }, ctorMsg: { function: method, args } }, id: 1 });
    const queried = (await (await fetch(`${fresh.api_url}/chaincode`, { method: "POST", body: JSON.stringify(rpc("query", ["a"])) })).json()) as { result: { message: string } };
    assert.equal(queried.result.message, "9999");
    assert.equal((await d.call("GET", `/v2/cluster/${alice.id}`)).body.data.api_url, fresh.api_url);
    assert.equal((await d.call("POST", "/v2/cluster_op", { action: "apply", user_id: "alice" })).body.data.api_url, fresh.api_url, "apply answers the new URL");

    logsOfGone = nodeLogs(d.clustersRoot);
    assert.equal((await d.call("POST", "/v2/cluster_op", { action: "release", cluster_id: alice.id })).status, 200);
    const successor = await waitFor(
      "alice's cluster recycled and back in the pool",
      async () => {
        const free = (await d.call("POST", "/v2/clusters", { user: "", status: "running", health: "OK" })).body.data as ClusterUrls[];
        return free.find((c) => c.name === alice.name);
      },
      60_000,
    );
    const successorSecret = secretOf(successor);
    secretsSeen.add(successorSecret);
    assert.ok(![aliceSecret, freshSecret].includes(successorSecret), "a recycle makes a new secret");
    assert.equal((await getJson(`${successor.api_url}/chain`)).body.height, 1, "on an empty ledger");
    // The released cluster's URL is dead: its nodes are gone, and a successor on its ports refuses it.
    for (const url of Object.values(fresh.service_url)) assert.equal(await answers(url), false, `${url}/chain after release`);
  });

  it("neither the daemon's log nor any node's holds a secret", () => {
    assert.ok(secretsSeen.size >= 4);
    const daemonLog = d.log();
    assert.match(daemonLog, /cluster URL secret rotated/, "the rotation is logged, without the secret");
    const logs = `${daemonLog}\n${logsOfGone}\n${nodeLogs(d.clustersRoot)}`;
    assert.ok(logs.length > 10_000, `${logs.length} characters of logs`);
    for (const secret of secretsSeen) assert.ok(!logs.includes(secret), "a secret in a log");
  });
});

describe("with pool.url_secrets off", () => {
  let d: DaemonProcess;
  before(async () => {
    d = await DaemonProcess.create(localHostToml(1, { tables: "[pool]\nurl_secrets = false" }));
    await d.start();
  });
  after(async () => d.destroy());

  it("URLs are plain and the nodes answer at the root, as for a trusted single user", { timeout: 120_000 }, async () => {
    await waitFor("a free cluster", async () => (await d.call("GET", "/api/stat")).body.data.clusters.free === 1, 60_000);
    const held = (await d.call("POST", "/v2/cluster_op", { action: "apply", user_id: "alice" })).body.data as ClusterUrls;
    assert.match(held.api_url, /^http:\/\/127\.0\.0\.1:\d+$/);
    for (const url of Object.values(held.service_url)) assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const example = await runExample02(held.api_url);
    await everyRouteOpen(held, example.txid);
    const refused = await d.call("POST", "/api/cluster_op", { id: held.id, action: "rotate_secret" });
    assert.equal(refused.status, 409);
  });
});
