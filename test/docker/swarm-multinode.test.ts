import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type Docker from "dockerode";
import { LABEL } from "../../src/drivers/docker/labels.ts";
import { getJson, postJson, waitFor } from "../chain/helpers/chain-cluster.ts";
import { DaemonProcess } from "../helpers/daemon-process.ts";
import { destroyDockerDaemon, dockerDaemonToml, dockerSkipReason, startDockerDaemon } from "../helpers/docker.ts";
import { runExample02 } from "../helpers/example02.ts";
import { MultiNodeSwarm, type SwarmMachine } from "../helpers/multinode-swarm.ts";

const skip = await dockerSkipReason();

/** example02's query of `who` through one node's URL (the chaincode deployed through api_url). */
async function queryAt(url: string, chaincode: string, who: string): Promise<string | undefined> {
  const body = { jsonrpc: "2.0", method: "query", params: { type: 1, chaincodeID: { name: chaincode }, ctorMsg: { function: "query", args: [who] } }, id: 1 };
  return (await postJson(`${url}/chaincode`, body).catch(() => ({ body: {} as any }))).body.result?.message as string | undefined;
}

/**
 * chainpool on a real 3-node swarm (one manager, two workers, each a dockerd in its own
 * network namespace, test/helpers/multinode-swarm.ts), with the node image made by chainpool
 * and carried to every node through `node_engines`: no registry anywhere.
 */
describe("a swarm host on a real 3-node swarm", { skip }, () => {
  let swarm: MultiNodeSwarm;
  let d: DaemonProcess;
  let instance = "";
  let hostId = "";

  before(async () => {
    swarm = await MultiNodeSwarm.start({ nodes: 3 });
    const engines = JSON.stringify(swarm.machines.map((m) => m.url));
    d = await DaemonProcess.create(
      dockerDaemonToml(
        `
[[hosts]]
name = "swarm3"
type = "swarm"
daemon_url = "${swarm.manager.url}"
capacity = 2
autofill = true
params = { node_engines = ${engines} }
`,
        {
          scheduler: "host_failures = 1\n",
          tables: `
[pool]
types = [{ plugin = "pbft", mode = "classic", size = 4 }]
[consensus.pbft]
batch_size = 100
batch_timeout_ms = 50
`,
        },
      ),
    );
    instance = await startDockerDaemon(d);
    hostId = (await d.call("GET", "/api/hosts")).body.data[0].id;
  });

  after(async () => {
    if (d) await destroyDockerDaemon(d, instance, []);
    if (swarm) await swarm.stop();
  });

  /** Whether the daemon logged `msg` about the cluster. */
  const logged = (msg: string, clusterId: string) => d.log().split("\n").some((l) => l.includes(`"msg":"${msg}"`) && l.includes(`"cluster":"${clusterId}"`));
  const freeClusters = async () => (await d.call("POST", "/v2/clusters", { user: "", status: "running", health: "OK" })).body.data as any[];
  const byCluster = (id: string) => ({ filters: { label: [`${LABEL.cluster}=${id}`] } });
  /** The swarm node each of the cluster's nodes runs on now, by node id ("vp1" -> machine). */
  const runningOn = async (clusterId: string): Promise<Map<string, SwarmMachine>> => {
    const m = swarm.manager.engine;
    const services = await m.listServices(byCluster(clusterId));
    const nodeOf = new Map(services.map((s) => [s.ID!, s.Spec?.Labels?.[LABEL.node] ?? ""]));
    const tasks = (await m.listTasks({ filters: { service: [...nodeOf.keys()], "desired-state": ["running"] } })) as Array<{ ServiceID: string; NodeID: string; Status?: { State?: string } }>;
    const machineOf = new Map(swarm.machines.map((x) => [x.nodeId, x]));
    return new Map(tasks.filter((t) => t.Status?.State === "running").map((t) => [nodeOf.get(t.ServiceID)!, machineOf.get(t.NodeID)!]));
  };
  /** What a cluster left on one engine: containers, volumes, networks (and on the manager services and secrets). */
  const leftOn = async (engine: Docker, clusterId: string, manager: boolean): Promise<string[]> => {
    const f = byCluster(clusterId);
    const left = [
      ...(await engine.listContainers({ all: true, ...f })).map((c) => `container ${c.Names[0]}`),
      ...((await engine.listVolumes(f)).Volumes ?? []).map((v) => `volume ${v.Name}`),
      ...(await engine.listNetworks(f)).map((n) => `network ${n.Name}`),
    ];
    if (manager) {
      left.push(...(await engine.listServices(f)).map((s) => `service ${s.Spec?.Name}`));
      left.push(...(await engine.listSecrets(f)).map((s) => `secret ${s.Spec?.Name}`));
    }
    return left;
  };

  it("loads the image onto every node, spreads each cluster over them, answers on every node, runs example02, keeps the ledger across stop/start, and recycles leaving nothing on any node", { timeout: 300_000 }, async () => {
    const free = await waitFor("2 free healthy clusters", async () => {
      const f = await freeClusters();
      return f.length === 2 && f;
    }, 240_000);
    for (const m of swarm.machines) {
      const images = await m.engine.listImages({ filters: { reference: ["chainpool-node"] } });
      assert.equal(images.length, 1, `${m.name} holds the node image, loaded by chainpool without a registry`);
    }
    for (const cluster of free) {
      const placed = await runningOn(cluster.id);
      assert.deepEqual([...placed.keys()].sort(), ["vp0", "vp1", "vp2", "vp3"]);
      assert.equal(new Set([...placed.values()].map((m) => m.name)).size, 3, "4 nodes over 3 swarm nodes: every swarm node runs one");
      assert.equal(placed.get("vp0")!.name, swarm.manager.name, "vp0 runs on the manager, so api_url survives a worker");
      for (const [node, machine] of placed) {
        const url = cluster.service_url[node] as string;
        assert.equal(new URL(url).hostname, machine.address, `${node}'s URL is the address of the swarm node it runs on`);
        const chain = await getJson(`${url}/chain`);
        assert.equal(chain.status, 200, `${node} answers at its own node's address`);
        assert.equal((await getJson(`${url}/network/peers`)).body.peers.length, 4, `${node} sees its peers across the overlay`);
      }
      assert.equal(cluster.api_url, cluster.service_url.vp0);
    }

    const applied = await d.call("POST", "/v2/cluster_op", { action: "apply", user_id: "alice" });
    assert.equal(applied.status, 200, JSON.stringify(applied.body));
    const { id, api_url, name } = applied.body.data;
    const example = await runExample02(api_url);
    const height = (await getJson(`${api_url}/chain`)).body.height as number;
    const stop = await d.call("POST", "/v2/cluster_op", { action: "stop", cluster_id: id });
    assert.equal(stop.body.data.status, "stopped", JSON.stringify(stop.body));
    assert.equal((await runningOn(id)).size, 0, "stop leaves no task running");
    const start = await d.call("POST", "/v2/cluster_op", { action: "start", cluster_id: id });
    assert.equal(start.body.data.status, "running", JSON.stringify(start.body));
    assert.equal(await example.query("a"), "9999", "every node's ledger lives in its volume on its swarm node across stop/start");
    assert.equal((await getJson(`${api_url}/chain`)).body.height, height);
    assert.equal(new Set([...(await runningOn(id)).values()].map((m) => m.name)).size, 3, "and each node came back on its swarm node");

    const rel = await d.call("POST", "/v2/cluster_op", { action: "release", cluster_id: id });
    assert.equal(rel.status, 200);
    const successor = await waitFor("the recycled cluster back in the pool", async () => (await freeClusters()).find((c) => c.name === name), 180_000);
    assert.notEqual(successor.id, id);
    assert.equal((await getJson(`${successor.api_url}/chain`)).body.height, 1, "a fresh ledger");
    for (const m of swarm.machines) assert.deepEqual(await leftOn(m.engine, id, m === swarm.manager), [], `nothing of the released cluster is left on ${m.name}`);
  });

  it("a worker dies: its clusters FAIL, the free one is rebuilt on the other nodes, the held one moves its node and refills its ledger from its peers; back, the worker is swept clean", { timeout: 300_000 }, async () => {
    const [first] = await waitFor("2 free healthy clusters", async () => {
      const f = await freeClusters();
      return f.length === 2 && f;
    }, 180_000);
    const applied = await d.call("POST", "/v2/cluster_op", { action: "apply", user_id: "bob" });
    assert.equal(applied.status, 200, JSON.stringify(applied.body));
    const held = applied.body.data;
    const freeOne = (await freeClusters()).find((c) => c.id !== held.id);
    assert.ok(freeOne && first);
    const example = await runExample02(held.api_url);

    const placed = await runningOn(held.id);
    const victim = placed.get("vp1")!;
    assert.notEqual(victim, swarm.manager);
    const moved = [...placed].filter(([, m]) => m === victim).map(([node]) => node);
    const survivors = swarm.machines.filter((m) => m !== victim);
    await swarm.kill(victim);

    await waitFor("the free cluster reset and rebuilt", async () => {
      const now = await freeClusters();
      return now.length === 1 && now[0].id !== freeOne.id && now[0];
    }, 240_000);
    const rebuilt = (await freeClusters())[0];
    const rebuiltOn = await runningOn(rebuilt.id);
    assert.equal(rebuiltOn.size, 4);
    assert.ok([...rebuiltOn.values()].every((m) => survivors.includes(m)), "the rebuilt cluster runs on the live nodes only");
    assert.ok(logged("free cluster unhealthy; resetting it", freeOne.id), "the free cluster turned FAIL and was reset");

    const repaired = await waitFor("the held cluster repaired", async () => {
      const c = (await d.call("GET", `/v2/cluster/${held.id}`)).body.data;
      return c.health === "OK" && moved.every((node) => new URL(c.service_url[node]).hostname !== victim.address) && c;
    }, 240_000);
    assert.ok(logged("cluster in use unhealthy; repairing it", held.id), "the held cluster turned FAIL and was repaired");
    assert.equal(repaired.user_id, "bob", "still bob's");
    assert.equal(repaired.api_url, held.api_url, "vp0 sits on the manager: api_url stays");
    const nowOn = await runningOn(held.id);
    for (const node of moved) {
      assert.ok(survivors.includes(nowOn.get(node)!), `${node} runs on a live node`);
      const url = repaired.service_url[node] as string;
      assert.equal(new URL(url).hostname, nowOn.get(node)!.address);
      // Its volume there started empty: what it answers came from its peers.
      assert.equal(await waitFor(`${node} to answer example02's state`, async () => (await queryAt(url, example.chaincode, "a")) === "9999" && "9999", 60_000), "9999");
      assert.equal((await getJson(`${url}/chain`)).body.height, (await getJson(`${held.api_url}/chain`)).body.height, `${node}'s ledger is whole`);
    }
    assert.equal(await example.query("b"), "20001");

    await swarm.revive(victim);
    await swarm.untilReady(3);
    await waitFor(`nothing of the old clusters left on ${victim.name}`, async () => {
      const left = [...(await leftOn(victim.engine, freeOne.id, false)), ...(await leftOn(victim.engine, held.id, false))];
      return left.length === 0;
    }, 120_000);
    const ours = { filters: { label: [`${LABEL.instance}=${instance}`] } };
    assert.deepEqual((await victim.engine.listContainers({ all: true, ...ours })).map((c) => c.Names[0]), [], "no container of ours on the returned worker");
    assert.deepEqual(((await victim.engine.listVolumes(ours)).Volumes ?? []).map((v) => v.Name), [], "no volume of ours on the returned worker");
  });

  it("the manager stops answering: the host turns inactive, no new cluster goes there, and it comes back by itself", { timeout: 180_000 }, async () => {
    const host = async () => (await d.call("GET", `/api/host/${hostId}`)).body.data;
    assert.equal((await host()).status, "active");
    const before = (await d.call("GET", "/v2/clusters")).body.data.length as number;
    swarm.pause(swarm.manager);
    try {
      await waitFor("the host inactive", async () => (await host()).status === "inactive", 90_000);
      const created = await d.call("POST", "/api/cluster", { consensus_plugin: "pbft", consensus_mode: "classic", size: 4 });
      assert.equal(created.status, 409, JSON.stringify(created.body));
      assert.match(created.body.error, /^host_id: no active schedulable host/);
      assert.equal((await d.call("GET", "/v2/clusters")).body.data.length, before, "no cluster was added");
    } finally {
      swarm.resume(swarm.manager);
    }
    await waitFor("the host active again", async () => (await host()).status === "active", 90_000);
    await waitFor("a healthy free cluster again", async () => (await freeClusters()).length >= 1, 180_000);
  });

  it("without node_engines, chainpool's own image is only on the manager: every node goes there, none to a worker that lacks it", { timeout: 180_000 }, async () => {
    const [free] = await waitFor("a free healthy cluster", async () => {
      const f = await freeClusters();
      return f.length >= 1 && f;
    }, 180_000);
    // Workers as a new user has them: no node image tagged (untagged by name: running tasks keep theirs).
    for (const w of swarm.workers) {
      for (const image of await w.engine.listImages({ filters: { reference: ["chainpool-node"] } })) {
        for (const tag of image.RepoTags ?? []) await w.engine.getImage(tag).remove({ force: true });
      }
      assert.deepEqual(await w.engine.listImages({ filters: { reference: ["chainpool-node"] } }), [], `${w.name} has no node image`);
    }
    const put = await d.call("PUT", "/api/host", { id: hostId, params: {} });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    const applied = await d.call("POST", "/v2/cluster_op", { action: "apply", user_id: "carol" });
    assert.equal(applied.status, 200, JSON.stringify(applied.body));
    assert.equal((await d.call("POST", "/v2/cluster_op", { action: "release", cluster_id: applied.body.data.id })).status, 200);
    const successor = await waitFor("the recycled cluster healthy", async () => (await freeClusters()).find((c) => c.name === free.name && c.id !== free.id), 150_000);
    const placed = await runningOn(successor.id);
    assert.deepEqual([...placed.values()].map((m) => m.name), Array(4).fill(swarm.manager.name), "all four nodes on the manager, the one engine that has the image");
    assert.ok(d.log().includes('"msg":"swarm node gets no cluster node: the node image cannot reach it'), "the log says why the workers get none");
  });
});
