import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { LABEL } from "../../src/drivers/docker/labels.ts";
import { waitFor } from "../chain/helpers/chain-cluster.ts";
import { DaemonProcess } from "../helpers/daemon-process.ts";
import { containersOf, dockerDaemonToml, destroyDockerDaemon, docker, dockerHostToml, dockerSkipReason, networksOf, startDockerDaemon } from "../helpers/docker.ts";

const skip = await dockerSkipReason();
const CLUSTERS = 40;
// What is under test is one host holding 40 clusters' networks, ports and subnets at once, made
// 8 at a time. One node each keeps the suite's time in bounds on 2 cores (160 node containers
// take ~2.5 min here); SCALE_NODES=4 runs the full-size version.
const NODES = Number(process.env["SCALE_NODES"] ?? 1);

describe(`${CLUSTERS} docker clusters of ${NODES} node(s) on one host, made 8 at a time`, { skip }, () => {
  let d: DaemonProcess;
  let instance = "";
  before(async () => {
    // Well over the ~31 networks Docker's default address pools allow on one host.
    const toml = dockerDaemonToml(dockerHostToml("dock", { capacity: CLUSTERS, autofill: false }), {
      // Made 8 at a time; on a 2-core machine 160 starting nodes answer slowly for a while.
      scheduler: "max_parallel_ops = 8\nhealth_failures = 5\n",
      tables: `[docker]\nnode_memory_mb = 128\n[pool]\ntypes = [{ plugin = "noops", mode = "", size = ${NODES} }]\n`,
    });
    // Every node publishes a port: the full-size run needs 160, past the 40 of the test range
    // (a port another test daemon holds is found taken and moved, as in production).
    d = await DaemonProcess.create((ports) => toml({ ...ports, max: Math.max(ports.max, ports.min + CLUSTERS * NODES - 1) }));
    instance = await startDockerDaemon(d);
  });
  after(() => destroyDockerDaemon(d, instance));

  it("fills up with no port or subnet collision, every cluster healthy", { timeout: 420_000 }, async () => {
    const [host] = (await d.call("GET", "/api/hosts")).body.data;
    const fill = await d.call("POST", "/api/host_op", { action: "fillup", id: host.id });
    assert.equal(fill.status, 200, JSON.stringify(fill.body));
    await waitFor(`${CLUSTERS} free healthy clusters`, async () => (await d.call("GET", "/api/stat")).body.data.clusters.free === CLUSTERS, 400_000);

    const clusters = (await d.call("GET", "/api/clusters?state=active")).body.data as Array<{ id: string; api_url: string }>;
    assert.equal(clusters.length, CLUSTERS);
    assert.equal(new Set(clusters.map((c) => c.api_url)).size, CLUSTERS, "every api_url its own host port");
    const networks = await networksOf(instance);
    assert.equal(networks.length, CLUSTERS);
    assert.equal(new Set(networks.map((n) => n.IPAM?.Config![0]!.Subnet)).size, CLUSTERS, "every network its own subnet");
    const containers = await containersOf(instance);
    assert.equal(containers.length, CLUSTERS * NODES);
    assert.ok(containers.every((c) => c.State === "running"));
    // On loopback: api_url's host for an engine on a unix socket, and the default publish address then.
    const published = containers.flatMap((c) => c.Ports.filter((p) => p.PublicPort !== undefined && p.IP === "127.0.0.1").map((p) => p.PublicPort));
    assert.equal(new Set(published).size, CLUSTERS * NODES, "one published port per node, all different");
    for (const n of networks) {
      const members = Object.keys((await docker.getNetwork(n.Id).inspect()).Containers ?? {});
      const owners = new Set(containers.filter((c) => members.includes(c.Id)).map((c) => c.Labels[LABEL.cluster]));
      assert.deepEqual([...owners], [n.Labels?.[LABEL.cluster]], "a network holds its own cluster's nodes only");
    }
  });
});
