import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { waitFor } from "../chain/helpers/chain-cluster.ts";
import { DaemonProcess, localHostToml } from "../helpers/daemon-process.ts";
import { openBetterSqlite3 } from "../../src/store/better-sqlite3.ts";
import { join } from "node:path";

describe("SIGKILL of the daemon, then restart: the pool converges", () => {
  let d: DaemonProcess;
  before(async () => {
    d = await DaemonProcess.create(localHostToml(3));
  });
  after(async () => d.destroy());

  /** Waits for 3 free healthy clusters, then checks every node process belongs to a row and vice versa. */
  const converged = async () => {
    await waitFor("three free healthy clusters", async () => (await d.call("GET", "/api/stat")).body.data.clusters.free === 3, 90_000);
    const rows = (await d.call("GET", "/api/clusters?state=active")).body.data as Array<{ id: string; size: number }>;
    assert.equal(rows.length, 3, "no cluster lost, none created twice");
    // The sweep may still be removing strays from the crash: wait for it, then hold it to exactly the rows.
    const known = new Set(rows.map((r) => r.id));
    await waitFor("no stray node processes", () => d.nodeProcesses().every((p) => known.has(p.clusterId)), 30_000);
    const procs = d.nodeProcesses();
    assert.equal(procs.length, 12, "4 processes for each of 3 clusters, no more");
    for (const row of rows) assert.equal(procs.filter((p) => p.clusterId === row.id).length, row.size);
    const db = openBetterSqlite3(join(d.dir, "data", "chainpool.db"));
    try {
      const leases = db.prepare("SELECT COUNT(*) AS n FROM port_leases WHERE cluster_id != '!blocked'").get<{ n: number }>()!.n;
      assert.equal(leases, 12, "port leases match the live nodes");
    } finally {
      db.close();
    }
    return rows;
  };

  it("killed during autofill: no leaked process, no lost cluster", { timeout: 180_000 }, async () => {
    await d.start();
    // Autofill starts at once; kill while the first clusters are being made.
    await waitFor("node processes being started", () => d.nodeProcesses().length > 0, 20_000);
    assert.equal(await d.kill("SIGKILL"), null);
    await d.start();
    await converged();
  });

  it("killed during recycle: the released slot comes back fresh, nothing twice", { timeout: 180_000 }, async () => {
    const applied = await d.call("POST", "/v2/cluster_op", { action: "apply", user_id: "crash" });
    assert.equal(applied.status, 200);
    const id = applied.body.data.id;
    await d.call("POST", "/v2/cluster_op", { action: "release", cluster_id: id });
    await sleep(150); // into the drop/recreate
    await d.kill("SIGKILL");
    await d.start();
    const rows = await converged();
    assert.ok(!rows.some((r) => r.id === id), "the released cluster was not handed back in its used state");
    const history = (await d.call("GET", "/api/clusters?state=released")).body.data as Array<{ cluster_id: string }>;
    assert.equal(history.filter((h) => h.cluster_id === id).length, 1, "the release is recorded once");
  });
});
