/**
 * Capability URLs on a docker host and on a swarm host, against real containers and
 * services: every Fabric route of every published node needs the cluster's own secret
 * (another cluster's, or none, is the same bare 404); a rotation kills the old URLs by the
 * time it answers and keeps the ledger (docker: the file replaced in each container, which
 * restarts; swarm: a new swarm secret per service, whose task is replaced on its volume);
 * a recycle changes the secret; no log holds one. The docker daemon also runs with
 * api.show_daemon_url = false: /v2 answers blank daemon_url and worker_api, /api shows them.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { LABEL } from "../../src/drivers/docker/labels.ts";
import { waitFor } from "../chain/helpers/chain-cluster.ts";
import { DaemonProcess } from "../helpers/daemon-process.ts";
import { containersOf, DOCKER_SOCKET, dockerDaemonToml, destroyDockerDaemon, docker, dockerHostToml, dockerSkipReason, startDockerDaemon, useSwarmDaemon } from "../helpers/docker.ts";
import { runExample02 } from "../helpers/example02.ts";
import { answers, applyTwoApart, type ClusterUrls, everyRouteHidden, everyRouteOpen, rotateAndCheck, secretOf } from "../helpers/url-secrets.ts";

const skip = await dockerSkipReason();

/** Everything the containers of an instance wrote to stdout and stderr. */
async function containerLogs(instance: string): Promise<string> {
  let text = "";
  for (const c of await containersOf(instance)) text += (await docker.getContainer(c.Id).logs({ stdout: true, stderr: true, follow: false })).toString("utf8");
  return text;
}

describe("capability URLs on a docker host", { skip }, () => {
  let d: DaemonProcess;
  let instance = "";
  const secretsSeen = new Set<string>();
  /** The logs of containers removed by the test's release, which had seen every kind of request. */
  let logsOfGone = "";
  before(async () => {
    d = await DaemonProcess.create(dockerDaemonToml(dockerHostToml("dock", { capacity: 2 }), { tables: "[api]\nshow_daemon_url = false" }));
    instance = await startDockerDaemon(d);
  });
  after(() => destroyDockerDaemon(d, instance));

  const freeClusters = async () => (await d.call("POST", "/v2/clusters", { user: "", status: "running", health: "OK" })).body.data as ClusterUrls[];

  it("every route needs the cluster's own secret; a rotation kills the old URL at once and keeps the ledger; a recycle changes it", { timeout: 240_000 }, async () => {
    await waitFor("two free clusters", async () => (await freeClusters()).length === 2, 120_000);
    const { alice, example } = await applyTwoApart(d.call.bind(d), secretsSeen);
    const aliceSecret = secretOf(alice);

    // api.show_daemon_url = false: /v2 hides the operator's Docker endpoint, /api shows it.
    const applied = alice as ClusterUrls & { daemon_url: string; worker_api: string };
    assert.deepEqual([applied.daemon_url, applied.worker_api], ["", ""], "in the apply's answer");
    const v2 = (await d.call("GET", `/v2/cluster/${alice.id}`)).body.data;
    assert.deepEqual([v2.daemon_url, v2.worker_api], ["", ""]);
    const operator = (await d.call("GET", `/api/cluster/${alice.id}`)).body.data;
    assert.deepEqual([operator.daemon_url, operator.worker_api], [`unix://${DOCKER_SOCKET}`, `unix://${DOCKER_SOCKET}`]);

    const containersBefore = (await containersOf(instance)).filter((c) => c.Labels[LABEL.cluster] === alice.id).map((c) => c.Id).sort();
    const fresh = await rotateAndCheck(d.call.bind(d), alice, example, secretsSeen);
    const freshSecret = secretOf(fresh);
    assert.equal(await example.query("a"), undefined, "a client still on the old URL gets nothing");
    const after = (await containersOf(instance)).filter((c) => c.Labels[LABEL.cluster] === alice.id).map((c) => c.Id).sort();
    assert.deepEqual(after, containersBefore, "the same containers, restarted");

    logsOfGone = await containerLogs(instance);
    assert.equal((await d.call("POST", "/v2/cluster_op", { action: "release", cluster_id: alice.id })).status, 200);
    const successor = await waitFor("alice's cluster recycled", async () => (await freeClusters()).find((c) => c.name === alice.name), 120_000);
    const successorSecret = secretOf(successor);
    secretsSeen.add(successorSecret);
    assert.ok(![aliceSecret, freshSecret].includes(successorSecret), "a recycle makes a new secret");
    assert.equal(await answers(fresh.api_url), false, "the released cluster's URL is dead");
  });

  it("neither the daemon's log nor any container's holds a secret", async () => {
    assert.ok(secretsSeen.size >= 4);
    const logs = `${d.log()}\n${logsOfGone}\n${await containerLogs(instance)}`;
    assert.ok(logs.length > 5_000, `${logs.length} characters of logs`);
    for (const secret of secretsSeen) assert.ok(!logs.includes(secret), "a secret in a log");
  });
});

describe("capability URLs on a swarm host", { skip }, () => {
  const swarm = useSwarmDaemon();

  const freeClusters = async () => (await swarm.d.call("POST", "/v2/clusters", { user: "", status: "running", health: "OK" })).body.data as ClusterUrls[];
  const urlSecrets = async () =>
    (await docker.listSecrets({ filters: { label: [`${LABEL.instance}=${swarm.instance}`] } })).filter((s) => /-url-[0-9a-f]{8}$/.test(s.Spec?.Name ?? ""));

  it("every route needs the secret; a rotation kills the old URL at once, keeps the ledger and leaves no old swarm secret", { timeout: 300_000 }, async () => {
    await waitFor("a free cluster", async () => (await freeClusters()).length === 1, 150_000);
    const held = (await swarm.d.call("POST", "/v2/cluster_op", { action: "apply", user_id: "swarm-user" })).body.data as ClusterUrls;
    const secret = secretOf(held);
    const example = await runExample02(held.api_url);
    await everyRouteOpen(held, example.txid);
    await everyRouteHidden(held, "", example.txid);
    const before = (await urlSecrets()).map((s) => s.ID).sort();
    assert.equal(before.length, 4, "one URL secret per node");

    // The ledger lives on in the volumes.
    await rotateAndCheck(swarm.d.call.bind(swarm.d), held, example, new Set());
    const after = (await urlSecrets()).map((s) => s.ID);
    assert.equal(after.length, 4, "the old URL secrets are gone");
    assert.ok(after.every((id) => !before.includes(id)));
    assert.ok(!swarm.d.log().includes(secret), "no secret in the daemon's log");
  });
});
