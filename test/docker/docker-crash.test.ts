import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { LABEL } from "../../src/drivers/docker/labels.ts";
import { openBetterSqlite3 } from "../../src/store/better-sqlite3.ts";
import { waitFor } from "../chain/helpers/chain-cluster.ts";
import { DaemonProcess } from "../helpers/daemon-process.ts";
import { containersOf, dockerDaemonToml, destroyDockerDaemon, dockerHostToml, dockerSkipReason, networksOf, startDockerDaemon } from "../helpers/docker.ts";

const skip = await dockerSkipReason();

describe("SIGKILL of the daemon while it makes docker clusters, then restart", { skip }, () => {
  let d: DaemonProcess;
  let instance = "";
  before(async () => {
    d = await DaemonProcess.create(dockerDaemonToml(dockerHostToml("dock", { capacity: 3 })));
  });
  after(() => destroyDockerDaemon(d, instance));

  it("converges: no duplicate, no leaked container or network, every lease matches", { timeout: 240_000 }, async () => {
    instance = await startDockerDaemon(d);
    // Kill while the first node containers are being made, before any cluster is healthy.
    await waitFor("node containers being made", async () => (await containersOf(instance)).length > 0, 60_000);
    assert.equal(await d.kill("SIGKILL"), null);
    const left = await containersOf(instance);
    assert.ok(left.length > 0 && left.length < 12, `killed mid-way (${left.length} containers)`);
    await d.start();

    await waitFor("three free healthy clusters", async () => (await d.call("GET", "/api/stat")).body.data.clusters.free === 3, 120_000);
    const rows = (await d.call("GET", "/api/clusters?state=active")).body.data as Array<{ id: string; size: number }>;
    assert.equal(rows.length, 3, "no cluster lost, none created twice");
    const known = new Set(rows.map((r) => r.id));
    // The sweep removes strays after its grace period; hold it to exactly the rows then.
    await waitFor("no stray container", async () => (await containersOf(instance)).every((c) => known.has(c.Labels[LABEL.cluster]!)), 60_000);
    const containers = await containersOf(instance);
    assert.equal(containers.length, 12, "4 containers for each of 3 clusters, no more");
    for (const row of rows) assert.equal(containers.filter((c) => c.Labels[LABEL.cluster] === row.id && c.State === "running").length, row.size);
    const names = new Set(containers.map((c) => c.Names[0]));
    assert.equal(names.size, 12);
    const networks = await networksOf(instance);
    assert.deepEqual(new Set(networks.map((n) => n.Labels?.[LABEL.cluster])), known, "one network per cluster, none leaked");
    const db = openBetterSqlite3(join(d.dir, "data", "chainpool.db"));
    try {
      const ports = db.prepare("SELECT cluster_id FROM port_leases WHERE domain NOT LIKE '%#subnet' AND cluster_id != '!blocked'").all<{ cluster_id: string }>();
      assert.deepEqual(new Set(ports.map((p) => p.cluster_id)), known, "host port leases for live clusters only");
      assert.equal(ports.length, 12, "one per node of each live cluster: every node is published");
      // Blocks found taken (by other test daemons' networks on this engine) are marked '!blocked'.
      const subnets = db.prepare("SELECT cluster_id FROM port_leases WHERE domain LIKE '%#subnet' AND cluster_id != '!blocked'").all<{ cluster_id: string }>();
      assert.equal(subnets.length, 3, "one subnet lease per live cluster");
    } finally {
      db.close();
    }
  });
});
