import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type Docker from "dockerode";
import { LABEL } from "../../src/drivers/docker/labels.ts";
import { waitFor } from "../chain/helpers/chain-cluster.ts";
import { DaemonProcess } from "../helpers/daemon-process.ts";
import { containersOf, dockerDaemonToml, destroyDockerDaemon, docker, dockerHostToml, dockerSkipReason, startDockerDaemon } from "../helpers/docker.ts";

const skip = await dockerSkipReason();

describe("what chainpool does not own on a docker host survives reset and the sweep", { skip }, () => {
  let d: DaemonProcess;
  let instance = "";
  const made: { containers: Docker.Container[]; networks: Docker.Network[] } = { containers: [], networks: [] };
  before(async () => {
    d = await DaemonProcess.create(dockerDaemonToml(dockerHostToml("dock", { capacity: 1 })));
    instance = await startDockerDaemon(d);
  });
  after(async () => {
    for (const c of made.containers) await c.remove({ force: true }).catch(() => undefined);
    for (const n of made.networks) await n.remove().catch(() => undefined);
    await destroyDockerDaemon(d, instance);
  });

  const exists = async (x: Docker.Container | Docker.Network) => {
    try {
      await x.inspect();
      return true;
    } catch {
      return false;
    }
  };

  it("removes its own strays after the grace period and never touches the rest", { timeout: 180_000 }, async () => {
    const free = await waitFor("a free cluster", async () => {
      const f = (await d.call("GET", "/v2/clusters?user_id=")).body.data as Array<{ id: string; health: string }>;
      return f.length === 1 && f[0]!.health === "OK" && f;
    }, 90_000);
    const [host] = (await d.call("GET", "/api/hosts")).body.data;
    const image = (await containersOf(instance))[0]!.Image;
    const tag = `${process.pid}-${Date.now()}`;
    const idle = (name: string, labels: Record<string, string>) =>
      docker.createContainer({ name, Image: image, Entrypoint: ["/chainpool/bin/node", "-e", "setInterval(() => {}, 1e9)"], Labels: labels });

    // Not chainpool's at all.
    const foreign = await idle(`foreign-${tag}`, { purpose: "test" });
    const foreignNet = await docker.createNetwork({ Name: `foreign-net-${tag}` });
    // Another chainpool instance's, on what this daemon calls the same host.
    const other = { [LABEL.instance]: "another-instance", [LABEL.host]: host.id, [LABEL.cluster]: "0123456789abcdef01234567" };
    const otherContainer = await idle(`other-${tag}`, other);
    const otherNet = await docker.createNetwork({ Name: `other-net-${tag}`, Labels: other });
    // This instance's, but no row claims it: a stray the sweep must take.
    const stray = { [LABEL.instance]: instance, [LABEL.host]: host.id, [LABEL.cluster]: "ffffffffffffffffffffffff", [LABEL.node]: "vp0" };
    const strayContainer = await idle(`stray-${tag}`, stray);
    const strayNet = await docker.createNetwork({ Name: `stray-net-${tag}`, Labels: stray });
    made.containers.push(foreign, otherContainer, strayContainer);
    made.networks.push(foreignNet, otherNet, strayNet);
    // The stray is left created, not started: the sweep may take it any moment from now on.
    for (const c of [foreign, otherContainer]) await c.start();

    await waitFor("the sweep to remove the stray", async () => !(await exists(strayContainer)) && !(await exists(strayNet)), 60_000);
    for (const x of [foreign, foreignNet, otherContainer, otherNet]) assert.ok(await exists(x), "the sweep leaves what is not this instance's");
    assert.equal((await foreign.inspect()).State.Running, true);

    const reset = await d.call("POST", "/api/host_op", { action: "reset", id: host.id });
    assert.equal(reset.status, 200, JSON.stringify(reset.body));
    await waitFor("the pool rebuilt", async () => {
      const f = (await d.call("GET", "/v2/clusters?user_id=")).body.data as Array<{ id: string; health: string }>;
      return f.length === 1 && f[0]!.health === "OK" && f[0]!.id !== free[0]!.id;
    }, 90_000);
    for (const x of [foreign, foreignNet, otherContainer, otherNet]) assert.ok(await exists(x), "reset leaves what is not this instance's");
    assert.equal((await foreign.inspect()).State.Running, true);
    assert.equal((await otherContainer.inspect()).State.Running, true);
    assert.equal((await containersOf(instance)).length, 4, "only the rebuilt cluster's nodes are this instance's");
  });
});
