/**
 * Health of local clusters between full probes: every round checks each node's process alive
 * and asks the nodes nothing; the full HTTP probe runs at most every `http_probe_s`, and every
 * round after a failure. Real node processes of a local host, through the daemon's driver.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Cluster, Host } from "../../src/core/types.ts";
import { defaultNodeCommand } from "../../src/daemon.ts";
import type { HostDriver } from "../../src/drivers/contract.ts";
import { localDriverFactory } from "../../src/drivers/local/driver.ts";
import { findNodeProcesses, terminate } from "../../src/lib/node-processes.ts";
import { waitFor } from "../chain/helpers/chain-cluster.ts";
import { createTestDaemon, type TestDaemon } from "../helpers/daemon.ts";

describe("local cluster health between full probes", () => {
  let dir: string;
  let t: TestDaemon;
  let driver: HostDriver;
  let cluster: Cluster;
  const root = () => join(dir, "clusters");
  const pidOf = (node: string) => findNodeProcesses(root()).find((p) => p.clusterId === cluster.id && p.nodeId === node)!.pid;
  /** Runs `f` with the nodes frozen (SIGSTOP): a request to one would go unanswered until its timeout. */
  const frozen = async <T,>(nodes: string[], f: () => Promise<T>): Promise<T> => {
    const pids = nodes.map(pidOf);
    for (const pid of pids) process.kill(pid, "SIGSTOP");
    try {
      return await f();
    } finally {
      for (const pid of pids) process.kill(pid, "SIGCONT");
    }
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "chainpool-local-health-"));
    t = createTestDaemon({ scheduler: { ready_timeout_s: 60 } }, { local: localDriverFactory({ root: root(), nodeCommand: defaultNodeCommand(), httpProbeEveryMs: 3_600_000 }) });
    const added = await t.call("POST", "/api/host", { name: "here", type: "local", capacity: 1, autofill: false });
    assert.equal(added.status, 201, JSON.stringify(added.body));
    const host = added.body.data as Host;
    const made = await t.call("POST", "/api/cluster", { host_id: host.id, consensus_plugin: "noops", size: 4 });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    await t.daemon.deps.reconciler.runOnce();
    cluster = t.daemon.services.store.getCluster(made.body.data.id)!;
    assert.equal(cluster.status, "running");
    driver = t.daemon.deps.drivers.get(t.daemon.services.store.getHost(host.id)!);
  });
  after(async () => {
    await terminate(findNodeProcesses(root()).map((p) => p.pid), 500);
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("passes the full probe, then asks the nodes nothing until it is due again", async () => {
    assert.deepEqual(await driver.probe(cluster), { ok: true }, "the first probe is the full one");
    // Every node frozen: a request to any of them would time out; the round checks processes only.
    assert.deepEqual(await frozen(["vp0", "vp1", "vp2", "vp3"], () => driver.probe(cluster)), { ok: true });
  });

  it("fails a cluster whose node died at once, naming it, without asking the others", async () => {
    process.kill(pidOf("vp2"), "SIGKILL");
    const failed = await waitFor("the dead node noticed", async () => {
      const r = await frozen(["vp0", "vp1", "vp3"], () => driver.probe(cluster));
      return !r.ok && r;
    }, 30_000);
    assert.equal(failed.reason, "vp2: its process has exited");
    assert.deepEqual(failed.failedNodes, ["vp2"]);
  });

  it("after a failure the full probe runs every round until it passes", async () => {
    await driver.repairCluster!(cluster);
    const stuck = await frozen(["vp1"], () => driver.probe(cluster));
    assert.equal(stuck.ok, false, "a frozen member fails the full probe that is due after the failure");
    assert.match(stuck.reason ?? "", /vp1/);
    assert.equal((await frozen(["vp1"], () => driver.probe(cluster))).ok, false, "and the next round probes in full again");
    assert.deepEqual(await driver.probe(cluster), { ok: true }, "running again, it passes");
    assert.deepEqual(await frozen(["vp1"], () => driver.probe(cluster)), { ok: true }, "then the rounds check processes only");
  });
});
