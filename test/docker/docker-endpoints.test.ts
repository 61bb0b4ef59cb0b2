import assert from "node:assert/strict";
import { join } from "node:path";
import { networkInterfaces } from "node:os";
import { after, before, describe, it } from "node:test";
import { LABEL } from "../../src/drivers/docker/labels.ts";
import { openBetterSqlite3 } from "../../src/store/better-sqlite3.ts";
import { getJson, postJson, waitFor } from "../chain/helpers/chain-cluster.ts";
import { DaemonProcess } from "../helpers/daemon-process.ts";
import { containersOf, dockerDaemonToml, destroyDockerDaemon, docker, dockerHostToml, dockerSkipReason, startDockerDaemon } from "../helpers/docker.ts";
import { runExample02 } from "../helpers/example02.ts";

const skip = await dockerSkipReason();

interface ClusterView {
  id: string;
  name: string;
  host_id: string;
  api_url: string;
  service_url: Record<string, string>;
}

/** An example02 call through one node's URL, as its user would send it. */
const rpc = (url: string, method: "invoke" | "query", name: string, args: string[]) =>
  postJson(`${url}/chaincode`, { jsonrpc: "2.0", method, params: { type: 1, chaincodeID: { name }, ctorMsg: { function: method, args } }, id: 1 });

/** A non-loopback IPv4 address of this machine: a port published on loopback alone must not answer there. */
const otherAddress = Object.values(networkInterfaces()).flat().find((a) => a?.family === "IPv4" && !a.internal)?.address;

/** Does the node at `url` answer /chain when asked at `hostname` instead (its port and path kept)? */
const answersAt = async (url: string, hostname: string) => {
  const at = new URL(url);
  at.hostname = hostname;
  return fetch(`${at.href.replace(/\/$/, "")}/chain`, { signal: AbortSignal.timeout(3000) }).then((r) => r.ok, () => false);
};

/**
 * A docker host with the default publish address and one with `publish_ip = "0.0.0.0"`, both
 * running 4-node pbft clusters. The health check runs once, right after creation, and then not
 * for an hour: nothing repairs a node the tests kill, so what they see is the cluster alone.
 */
describe("a docker host publishes every node's REST port", { skip }, () => {
  let d: DaemonProcess;
  let instance = "";
  before(async () => {
    const hosts = dockerHostToml("dock", { capacity: 1 }) + dockerHostToml("dock-open", { capacity: 1, params: `{ publish_ip = "0.0.0.0" }` });
    const toml = dockerDaemonToml(hosts, { tables: `[pool]\ntypes = [{ plugin = "pbft", mode = "classic", size = 4 }]\n` });
    d = await DaemonProcess.create((ports) => toml(ports).replace(/health_check_s = \d+/, "health_check_s = 3600"));
    instance = await startDockerDaemon(d);
  });
  after(() => destroyDockerDaemon(d, instance));

  const freeClusters = async () => (await d.call("POST", "/v2/clusters", { user: "", status: "running", health: "OK" })).body.data as ClusterView[];
  const hostNames = async () => Object.fromEntries(((await d.call("GET", "/api/hosts")).body.data as Array<{ id: string; name: string }>).map((h) => [h.id, h.name]));
  const nodeContainers = async (clusterId: string) => (await containersOf(instance)).filter((c) => c.Labels[LABEL.cluster] === clusterId);

  it("service_url lists every node, each published on its own port at the host's publish address, and each answers /chain", { timeout: 240_000 }, async () => {
    const free = await waitFor("a free pbft cluster on each host", async () => {
      const f = await freeClusters();
      return f.length === 2 && f;
    }, 180_000);
    const hostOf = await hostNames();
    for (const cluster of free) {
      const host = hostOf[cluster.host_id]!;
      assert.deepEqual(Object.keys(cluster.service_url).sort(), ["vp0", "vp1", "vp2", "vp3"], `${host}: every node listed`);
      assert.equal(cluster.api_url, cluster.service_url["vp0"], "api_url stays vp0's");
      const ports = Object.values(cluster.service_url).map((u) => Number(new URL(u).port));
      assert.equal(new Set(ports).size, 4, "a port of its own for each node");
      for (const [node, url] of Object.entries(cluster.service_url)) {
        const chain = await getJson(`${url}/chain`);
        assert.equal(chain.status, 200, `${host} ${node} answers at ${url}`);
        assert.ok(chain.body.height >= 1);
      }
      // What Docker was told: each node's container binds its service_url port, on the host's address.
      const expectedIp = host === "dock" ? "127.0.0.1" : "0.0.0.0";
      for (const c of await nodeContainers(cluster.id)) {
        const node = c.Labels[LABEL.node]!;
        const bindings = (await docker.getContainer(c.Id).inspect()).HostConfig.PortBindings as Record<string, Array<{ HostIp: string; HostPort: string }>>;
        assert.deepEqual(Object.values(bindings).flat(), [{ HostIp: expectedIp, HostPort: new URL(cluster.service_url[node]!).port }], `${host} ${node}`);
      }
    }
  });

  it("the default publishes on loopback only; publish_ip = 0.0.0.0 on every address", { skip: otherAddress === undefined && "this machine has no non-loopback IPv4 address", timeout: 60_000 }, async () => {
    const hostOf = await hostNames();
    for (const cluster of await freeClusters()) {
      const open = hostOf[cluster.host_id] === "dock-open";
      for (const url of Object.values(cluster.service_url)) {
        assert.equal(await answersAt(url, "127.0.0.1"), true, url);
        assert.equal(await answersAt(url, otherAddress!), open, `${url} asked at ${otherAddress} (${hostOf[cluster.host_id]})`);
      }
    }
  });

  it("pbft with vp0's container killed: an invoke sent through vp1's URL commits, with no repair", { timeout: 180_000 }, async () => {
    const applied = await d.call("POST", "/v2/cluster_op", { action: "apply", user_id: "alice", consensus_plugin: "pbft", size: 4 });
    assert.equal(applied.status, 200, JSON.stringify(applied.body));
    const cluster = applied.body.data as ClusterView;
    const { chaincode } = await runExample02(cluster.api_url); // a = 9999, b = 20001 when it returns

    const vp0 = (await nodeContainers(cluster.id)).find((c) => c.Labels[LABEL.node] === "vp0")!;
    await docker.getContainer(vp0.Id).kill();
    await waitFor("vp0 to stop answering", async () => !(await fetch(`${cluster.api_url}/chain`, { signal: AbortSignal.timeout(1000) }).then(() => true, () => false)));

    const vp1 = cluster.service_url["vp1"]!;
    const invoke = await rpc(vp1, "invoke", chaincode, ["a", "b", "10"]);
    assert.equal(invoke.body.result?.status, "OK", JSON.stringify(invoke.body));
    const uuid = invoke.body.result.message as string;
    for (const node of ["vp1", "vp2", "vp3"]) {
      const url = cluster.service_url[node]!;
      await waitFor(`${node} to commit the invoke`, async () => (await getJson(`${url}/transactions/${uuid}`)).status === 200, 90_000);
      assert.equal((await rpc(url, "query", chaincode, ["a"])).body.result?.message, "9989", `${node}: a after the invoke`);
    }
    assert.equal((await docker.getContainer(vp0.Id).inspect()).State.Running, false, "vp0 was still dead when the invoke committed: no repair did it");
    assert.ok(!d.log().includes("repairing it"), "the watchdog repaired nothing");
  });
});

/**
 * A cluster made before every node was published: its row holds vp0's URL alone and a handle
 * with vp0's port. The row is written back to that form with the daemon stopped (the
 * containers, made by this version, publish every port; a daemon never reads more than the
 * row). After the upgrade it is adopted and handed out as it is, a driver operation probes it
 * through vp0, and its successor lists every node.
 */
describe("a docker cluster from before every node was published", { skip }, () => {
  let d: DaemonProcess;
  let instance = "";
  before(async () => {
    d = await DaemonProcess.create(dockerDaemonToml(dockerHostToml("dock", { capacity: 1 })));
    instance = await startDockerDaemon(d);
  });
  after(() => destroyDockerDaemon(d, instance));

  const freeClusters = async () => (await d.call("POST", "/v2/clusters", { user: "", status: "running", health: "OK" })).body.data as ClusterView[];

  it("keeps working after the upgrade, and is recycled into one that lists every node", { timeout: 240_000 }, async () => {
    const [old] = await waitFor("a free cluster", async () => {
      const f = await freeClusters();
      return f.length === 1 && f;
    }, 120_000);
    assert.equal(await d.kill("SIGTERM"), 0);
    const db = openBetterSqlite3(join(d.dir, "data", "chainpool.db"));
    try {
      const row = db.prepare("SELECT handle FROM clusters WHERE id = ?").get<{ handle: string }>([old!.id])!;
      const { network, subnet } = JSON.parse(row.handle) as { network: string; subnet: string };
      const port = Number(new URL(old!.api_url).port);
      // Rows hold node addresses without the URL secret (the views add it): vp0's origin.
      db.prepare("UPDATE clusters SET service_url = ?, handle = ? WHERE id = ?").run([JSON.stringify({ vp0: new URL(old!.api_url).origin }), JSON.stringify({ network, subnet, port }), old!.id]);
    } finally {
      db.close();
    }
    await d.start();

    const applied = await d.call("POST", "/v2/cluster_op", { action: "apply", user_id: "bob" });
    assert.equal(applied.status, 200, JSON.stringify(applied.body));
    assert.equal(applied.body.data.id, old!.id, "the adopted cluster is handed out");
    assert.deepEqual(applied.body.data.service_url, { vp0: old!.api_url }, "its service_url as it was");
    assert.equal((await getJson(`${old!.api_url}/chain`)).status, 200);
    // restart waits until the driver's probe passes: it does, through vp0 alone.
    const restart = await d.call("POST", "/v2/cluster_op", { action: "restart", cluster_id: old!.id });
    assert.equal(restart.body.data?.status, "running", JSON.stringify(restart.body));

    const released = await d.call("POST", "/v2/cluster_op", { action: "release", cluster_id: old!.id });
    assert.equal(released.status, 200);
    const successor = await waitFor("the recycled cluster back in the pool", async () => (await freeClusters()).find((c) => c.name === old!.name), 120_000);
    assert.deepEqual(Object.keys(successor.service_url).sort(), ["vp0", "vp1", "vp2", "vp3"]);
    for (const url of Object.values(successor.service_url)) assert.equal((await getJson(`${url}/chain`)).status, 200, url);
  });
});
