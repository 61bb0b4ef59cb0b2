import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { LABEL } from "../../src/drivers/docker/labels.ts";
import { getJson, waitFor } from "../chain/helpers/chain-cluster.ts";
import { DaemonProcess } from "../helpers/daemon-process.ts";
import { containersOf, dockerDaemonToml, destroyDockerDaemon, docker, dockerHostToml, dockerSkipReason, networksOf, startDockerDaemon } from "../helpers/docker.ts";
import { checkStopStartRestart, runExample02 } from "../helpers/example02.ts";

const skip = await dockerSkipReason();

/** Runs a script with the node runtime inside a node container. */
const nodeExec = (container: string, script: string) =>
  execFileSync("docker", ["exec", container, "/chainpool/bin/node", "-e", script], { encoding: "utf8", timeout: 30_000 }).trim();

describe("a docker host: clusters as real containers", { skip }, () => {
  let d: DaemonProcess;
  let instance = "";
  before(async () => {
    d = await DaemonProcess.create(dockerDaemonToml(dockerHostToml("dock", { capacity: 2 })));
    instance = await startDockerDaemon(d);
  });
  after(() => destroyDockerDaemon(d, instance));

  const freeClusters = async () => (await d.call("POST", "/v2/clusters", { user: "", status: "running", health: "OK" })).body.data as any[];
  const clusterContainers = async (id: string) => (await containersOf(instance)).filter((c) => c.Labels[LABEL.cluster] === id);

  it("fills the pool with labelled, limited, unprivileged containers on networks of their own", { timeout: 120_000 }, async () => {
    const free = await waitFor("two free clusters", async () => {
      const f = await freeClusters();
      return f.length === 2 && f;
    }, 90_000);
    const containers = await containersOf(instance);
    assert.equal(containers.length, 8, "2 clusters x 4 node containers");
    for (const c of containers) {
      assert.equal(c.State, "running");
      assert.ok(free.some((f) => f.id === c.Labels[LABEL.cluster]), "every container belongs to a pool row");
      const info = await docker.getContainer(c.Id).inspect();
      assert.equal(info.Config.User, "65532:65532", "nodes do not run as root");
      assert.deepEqual(info.HostConfig.CapDrop, ["ALL"]);
      assert.equal(info.HostConfig.Memory, 256 * 1024 * 1024);
      assert.equal(info.HostConfig.NanoCpus, 1e9);
    }
    const networks = await networksOf(instance);
    assert.equal(networks.length, 2);
    const subnets = networks.map((n) => n.IPAM?.Config![0]!.Subnet);
    assert.equal(new Set(subnets).size, 2);
    for (const s of subnets) assert.match(s!, /^10\.200\.\d+\.\d+\/26$/);
    // Every node is published, on loopback (api_url's host for an engine on a unix socket), at its service_url port.
    for (const c of containers) {
      const cluster = free.find((f) => f.id === c.Labels[LABEL.cluster])!;
      const url = new URL(cluster.service_url[c.Labels[LABEL.node]!]);
      assert.deepEqual(c.Ports.filter((p) => p.PublicPort !== undefined).map((p) => [p.IP, p.PublicPort]), [[url.hostname, Number(url.port)]]);
    }
  });

  it("runs example02 through api_url, keeps the ledger across stop/start/restart, and recycles on release", { timeout: 180_000 }, async () => {
    await waitFor("two free clusters", async () => (await freeClusters()).length === 2, 90_000);
    const applied = await d.call("POST", "/v2/cluster_op", { action: "apply", user_id: "alice", size: 4 });
    assert.equal(applied.status, 200, JSON.stringify(applied.body));
    const { id, api_url, name } = applied.body.data;
    assert.match(api_url, /^http:\/\/127\.0\.0\.1:\d+\/[A-Za-z0-9_-]{32}$/, "the published port, then the cluster's URL secret");
    const example = await runExample02(api_url);
    assert.equal((await getJson(`${api_url}/network/peers`)).body.peers.length, 4);

    await checkStopStartRestart(d, { id, api_url }, example, async () => {
      assert.ok((await clusterContainers(id)).every((c) => c.State === "exited"), "stop stops every container");
    });

    const rel = await d.call("POST", "/v2/cluster_op", { action: "release", cluster_id: id });
    assert.equal(rel.status, 200);
    const successor = await waitFor("the recycled cluster back in the pool", async () => (await freeClusters()).find((c) => c.name === name), 90_000);
    assert.notEqual(successor.id, id, "a new id");
    assert.equal((await getJson(`${successor.api_url}/chain`)).body.height, 1, "an empty ledger");
    assert.equal((await clusterContainers(id)).length, 0, "no container of the released cluster is left");
    assert.ok(!(await networksOf(instance)).some((n) => n.Labels?.[LABEL.cluster] === id), "nor its network");
  });

  it("keeps clusters' networks apart: a node reaches its own peers but no other cluster's", { timeout: 60_000 }, async () => {
    const [a, b] = await waitFor("two free clusters", async () => {
      const f = await freeClusters();
      return f.length === 2 && f;
    }, 90_000);
    const aVp1 = (await clusterContainers(a.id)).find((c) => c.Labels[LABEL.node] === "vp1")!;
    const bVp1 = (await clusterContainers(b.id)).find((c) => c.Labels[LABEL.node] === "vp1")!;
    const bIp = Object.values((await docker.getContainer(bVp1.Id).inspect()).NetworkSettings.Networks)[0]!.IPAddress;
    const probe = (url: string) =>
      `fetch(${JSON.stringify(url)}, { signal: AbortSignal.timeout(10_000) }).then((r) => console.log("reached", r.status), () => console.log("unreachable"))`;
    // Each under its own cluster's URL secret, so that only the network can stand in the way.
    const secret = (view: { api_url: string }) => new URL(view.api_url).pathname;
    assert.equal(nodeExec(aVp1.Id, probe(`http://vp2:7050${secret(a)}/chain`)), "reached 200", "its own peer by name");
    assert.equal(nodeExec(aVp1.Id, probe(`http://${bIp}:7050${secret(b)}/chain`)), "unreachable", "another cluster's node");
  });

  it("notices a killed node container of a free cluster: FAIL, then the cluster is reset", { timeout: 180_000 }, async () => {
    const [victim] = await waitFor("two free clusters", async () => {
      const f = await freeClusters();
      return f.length === 2 && f;
    }, 90_000);
    const vp2 = (await clusterContainers(victim.id)).find((c) => c.Labels[LABEL.node] === "vp2")!;
    await docker.getContainer(vp2.Id).kill();
    await waitFor("the broken cluster replaced", async () => (await d.call("GET", `/v2/cluster/${victim.id}`)).status === 404, 60_000);
    await waitFor("the pool full again", async () => (await freeClusters()).length === 2, 90_000);
    assert.equal((await clusterContainers(victim.id)).length, 0);
    assert.equal((await containersOf(instance)).length, 8);
  });

  it("SIGTERM, then a new daemon adopts the containers instead of making them again", { timeout: 120_000 }, async () => {
    await waitFor("two free clusters", async () => (await freeClusters()).length === 2, 90_000);
    const before = (await containersOf(instance)).map((c) => c.Id).sort();
    assert.equal(await d.kill("SIGTERM"), 0);
    await d.start();
    await waitFor("health checked again", async () => (await freeClusters()).length === 2, 30_000);
    assert.deepEqual((await containersOf(instance)).map((c) => c.Id).sort(), before, "the same containers, none duplicated");
  });
});
