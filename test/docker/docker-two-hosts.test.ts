import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { readFileSync } from "node:fs";
import Docker from "dockerode";
import { freePorts, getJson, waitFor } from "../chain/helpers/chain-cluster.ts";
import { DaemonProcess } from "../helpers/daemon-process.ts";
import { containersOf, dockerDaemonToml, destroyDockerDaemon, docker, dockerHostToml, dockerSkipReason, SecondDockerd, startDockerDaemon } from "../helpers/docker.ts";

const skip = await dockerSkipReason();

describe("two docker hosts: a second dockerd in a network namespace of its own, reached over TLS", { skip }, () => {
  let second: SecondDockerd;
  let d: DaemonProcess;
  let instance = "";
  before(async () => {
    const [tlsPort] = await freePorts(1);
    second = new SecondDockerd(`/tmp/cp-d2-${process.pid}`, { tlsPort: tlsPort! });
    await second.start();
    d = await DaemonProcess.create(
      dockerDaemonToml(
        dockerHostToml("one", { capacity: 2, autofill: false }) +
          // The second engine is reached the way a remote one would be: tcp with TLS and a client
          // certificate, at an address of its own, where it publishes the nodes' ports.
          `
[[hosts]]
name = "two"
type = "docker"
daemon_url = "tcp://${SecondDockerd.ADDRESS}:${second.tlsPort}"
capacity = 2
autofill = false
params = { tls_ca = "${second.tlsFiles.ca}", tls_cert = "${second.tlsFiles.cert}", tls_key = "${second.tlsFiles.key}", subnet_pool = "${SecondDockerd.SUBNET_POOL}", publish_ip = "${SecondDockerd.ADDRESS}" }
`,
      ),
    );
    instance = await startDockerDaemon(d);
  });
  after(async () => {
    second.resume();
    await destroyDockerDaemon(d, instance, [docker, second.engine]);
    await second.stop();
  });

  it("the TLS listener refuses a client without a certificate the CA signed", async () => {
    const bare = new Docker({ host: SecondDockerd.ADDRESS, port: second.tlsPort!, protocol: "https", ca: readFileSync(second.tlsFiles.ca) });
    await assert.rejects(bare.ping());
    const client = new Docker({ host: SecondDockerd.ADDRESS, port: second.tlsPort!, protocol: "https", ...Object.fromEntries(Object.entries(second.tlsFiles).map(([k, f]) => [k, readFileSync(f)])) });
    assert.equal(String(await client.ping()), "OK", "with the client certificate it answers");
  });

  it("spreads parallel creations over both hosts by free capacity and never over capacity", { timeout: 240_000 }, async () => {
    const hosts = (await d.call("GET", "/api/hosts")).body.data as Array<{ id: string; name: string }>;
    const byName = Object.fromEntries(hosts.map((h) => [h.name, h.id]));
    const created = await Promise.all(Array.from({ length: 5 }, () => d.call("POST", "/api/cluster", { consensus_plugin: "noops", size: 4 })));
    assert.deepEqual(created.map((r) => r.status).sort(), [201, 201, 201, 201, 409], "4 fit, the fifth finds every host full");
    const placed = created.filter((r) => r.status === 201).map((r) => r.body.data.host_id as string);
    assert.equal(placed.filter((h) => h === byName["one"]).length, 2);
    assert.equal(placed.filter((h) => h === byName["two"]).length, 2);

    await waitFor("four free healthy clusters", async () => (await d.call("GET", "/api/stat")).body.data.clusters.free === 4, 180_000).catch((err) => {
      const problems = d.log().split("\n").filter((l) => /"(warn|error)"/.test(l));
      throw new Error(`${(err as Error).message}; daemon said: ${problems.slice(-5).join("\n")}`);
    });
    assert.equal((await containersOf(instance)).length, 8, "two clusters on the first engine");
    assert.equal((await containersOf(instance, second.engine)).length, 8, "two on the second, which built its own node image");
    const images = await second.engine.listImages({ filters: { reference: ["chainpool-node"] } });
    assert.equal(images.length, 1);
    // Its clusters' networks are in its own namespace, and so are their firewall rules: none here,
    // where they once mixed with the main engine's (whose start flushed the other's).
    const here = execFileSync("iptables-save", { encoding: "utf8" });
    assert.ok(here.includes("DOCKER-ISOLATION"), "the main engine's rules are read");
    assert.ok(!here.includes(SecondDockerd.SUBNET_POOL.split(".").slice(0, 2).join(".") + "."), "no rule for the second engine's cluster subnets");

    for (let i = 0; i < 4; i++) {
      const applied = await d.call("POST", "/v2/cluster_op", { action: "apply", user_id: `user${i}` });
      assert.equal(applied.status, 200);
      assert.equal((await getJson(`${applied.body.data.api_url}/chain`)).status, 200);
    }
  });

  it("a host whose engine stops answering turns inactive and its clusters FAIL; new clusters go elsewhere", { timeout: 120_000 }, async () => {
    const two = ((await d.call("GET", "/api/hosts")).body.data as Array<{ id: string; name: string }>).find((h) => h.name === "two")!;
    second.pause();
    await waitFor("host two inactive", async () => (await d.call("GET", `/api/host/${two.id}`)).body.data.status === "inactive", 60_000);
    const onTwo = ((await d.call("GET", "/api/clusters?state=active")).body.data as Array<{ host_id: string; health: string }>).filter((c) => c.host_id === two.id);
    assert.equal(onTwo.length, 2);
    assert.ok(onTwo.every((c) => c.health === "FAIL"), JSON.stringify(onTwo));
    const [one] = (await d.call("GET", "/api/hosts")).body.data.filter((h: { name: string }) => h.name === "one");
    await d.call("PUT", "/api/host", { id: one.id, capacity: 3 });
    const r = await d.call("POST", "/api/cluster", { consensus_plugin: "noops", size: 4 });
    assert.equal(r.status, 201);
    assert.equal(r.body.data.host_id, one.id, "an inactive host is not scheduled");
  });
});
