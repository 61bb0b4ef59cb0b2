import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LABEL } from "../../src/drivers/docker/labels.ts";
import { getJson, waitFor } from "../chain/helpers/chain-cluster.ts";
import { docker, dockerSkipReason, useSwarmDaemon } from "../helpers/docker.ts";
import { runExample02 } from "../helpers/example02.ts";

const skip = await dockerSkipReason();

describe("a swarm host: a single-node swarm running clusters as services", { skip }, () => {
  const swarm = useSwarmDaemon();

  const services = async () => docker.listServices({ filters: { label: [`${LABEL.instance}=${swarm.instance}`] } });
  const freeClusters = async () => (await swarm.d.call("POST", "/v2/clusters", { user: "", status: "running", health: "OK" })).body.data as any[];

  it("publishes every node in host mode: service_url lists each, on its service's port, and each answers /chain", { timeout: 240_000 }, async () => {
    const [cluster] = await waitFor("a free cluster", async () => {
      const f = await freeClusters();
      return f.length === 1 && f;
    }, 150_000);
    const { api_url, service_url } = cluster as { api_url: string; service_url: Record<string, string> };
    assert.deepEqual(Object.keys(service_url).sort(), ["vp0", "vp1", "vp2", "vp3"]);
    assert.equal(api_url, service_url["vp0"], "api_url stays vp0's");
    for (const s of await services()) {
      const node = s.Spec?.Labels?.[LABEL.node]!;
      const url = service_url[node]!;
      assert.deepEqual(s.Spec?.EndpointSpec?.Ports?.map((p) => [p.PublishedPort, p.PublishMode]), [[Number(new URL(url).port), "host"]], `${node} is published at its service_url port`);
      const chain = await getJson(`${url}/chain`);
      assert.equal(chain.status, 200, `${node} answers at ${url}`);
      assert.ok(chain.body.height >= 1);
    }
  });

  it("runs a cluster end to end: example02 through api_url, stop/start keeps the ledger, release recycles", { timeout: 240_000 }, async () => {
    await waitFor("a free cluster", async () => (await freeClusters()).length === 1, 150_000);
    const list = await services();
    assert.equal(list.length, 4, "one service per node");
    for (const s of list) {
      assert.equal(s.Spec?.Mode?.Replicated?.Replicas, 1);
      assert.equal(s.Spec?.EndpointSpec?.Mode, "dnsrr");
    }
    const vp0 = list.find((s) => s.Spec?.Labels?.[LABEL.node] === "vp0")!;
    assert.equal(vp0.Spec?.EndpointSpec?.Ports?.[0]?.PublishMode, "host");

    const applied = await swarm.d.call("POST", "/v2/cluster_op", { action: "apply", user_id: "swarm-user" });
    assert.equal(applied.status, 200, JSON.stringify(applied.body));
    const { id, api_url, name } = applied.body.data;
    const { query } = await runExample02(api_url);
    const height = (await getJson(`${api_url}/chain`)).body.height as number;

    const stop = await swarm.d.call("POST", "/v2/cluster_op", { action: "stop", cluster_id: id });
    assert.equal(stop.body.data.status, "stopped");
    assert.ok((await services()).every((s) => s.Spec?.Mode?.Replicated?.Replicas === 0), "stop scales every node to 0");
    const start = await swarm.d.call("POST", "/v2/cluster_op", { action: "start", cluster_id: id });
    assert.equal(start.body.data.status, "running", JSON.stringify(start.body));
    assert.equal(await query("a"), "9999", "the ledger lives in the node's volume across stop/start");
    assert.equal((await getJson(`${api_url}/chain`)).body.height, height);

    const rel = await swarm.d.call("POST", "/v2/cluster_op", { action: "release", cluster_id: id });
    assert.equal(rel.status, 200);
    const successor = await waitFor("the recycled cluster back in the pool", async () => (await freeClusters()).find((c) => c.name === name), 150_000);
    assert.notEqual(successor.id, id);
    assert.equal((await getJson(`${successor.api_url}/chain`)).body.height, 1, "a fresh ledger: the old volumes went with the old cluster");
    assert.deepEqual(Object.keys(successor.service_url).sort(), ["vp0", "vp1", "vp2", "vp3"], "the successor lists every node too");
    for (const url of Object.values(successor.service_url as Record<string, string>)) assert.equal((await getJson(`${url}/chain`)).status, 200, url);
    assert.ok((await services()).every((s) => s.Spec?.Labels?.[LABEL.cluster] === successor.id), "no service of the released cluster is left");
    const secrets = await docker.listSecrets({ filters: { label: [`${LABEL.instance}=${swarm.instance}`] } });
    assert.equal(secrets.length, 8, "each node's config and its URL secret");
    assert.equal(secrets.filter((s) => /-url-[0-9a-f]{8}$/.test(s.Spec?.Name ?? "")).length, 4);
    assert.ok(secrets.every((s) => s.Spec?.Labels?.[LABEL.cluster] === successor.id));
  });
});
