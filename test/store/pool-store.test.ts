import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import { openBetterSqlite3 } from "../../src/store/better-sqlite3.ts";
import { MIGRATIONS } from "../../src/store/migrations.ts";
import { nodeSqliteAvailable, openNodeSqlite } from "../../src/store/node-sqlite.ts";
import { PoolStore } from "../../src/store/pool-store.ts";
import type { SqlDatabase } from "../../src/store/sql.ts";

/**
 * The same suite runs against every SQL driver this runtime can load, or against those
 * STORE_DRIVERS names (test/store/node24.test.ts runs it under Node 24 with node:sqlite,
 * the driver the single executable embeds; a named driver that cannot load fails the suite).
 */
const all: Array<[string, (file: string) => SqlDatabase]> = [["better-sqlite3", openBetterSqlite3]];
if (nodeSqliteAvailable() || process.env["STORE_DRIVERS"]) all.push(["node:sqlite", openNodeSqlite]);
const chosen = process.env["STORE_DRIVERS"]?.split(",");
const drivers = chosen ? all.filter(([name]) => chosen.includes(name)) : all;
if (chosen && drivers.length !== chosen.length) throw new Error(`STORE_DRIVERS=${chosen.join(",")}: known drivers are ${all.map(([n]) => n).join(", ")}`);

for (const [driverName, open] of drivers) {
  describe(`PoolStore on ${driverName}`, () => {
    let dir: string;
    let store: PoolStore;
    const noops = { plugin: "noops" as const, mode: "" as const, size: 4 };
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), "chainpool-store-"));
      store = new PoolStore({ db: open(join(dir, "pool.db")) });
    });
    afterEach(() => {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    });

    const host = (capacity = 4) =>
      store.insertHost({ name: `h${Math.random().toString(16).slice(2, 8)}`, type: "memory", daemon_url: "", capacity, autofill: false, schedulable: true, log_level: "INFO", params: {} });
    const ready = (hostId: string, n: number) => {
      for (let i = 0; i < n; i++) {
        const made = store.createCluster(hostId, noops);
        assert.ok(made.ok);
        store.markCreated(made.cluster.id, { api_url: "x", service_url: {}, handle: {} });
        store.recordHealth(made.cluster.id, true, 2);
      }
    };

    it("migrations run once and reopen cleanly at the latest version", () => {
      store.close();
      const db = open(join(dir, "pool.db"));
      const again = new PoolStore({ db });
      assert.equal(db.prepare("PRAGMA user_version").get<{ user_version: number }>()!.user_version, MIGRATIONS.length);
      again.close();
      store = new PoolStore({ db: open(join(dir, "pool.db")) });
    });

    it("createCluster never exceeds a host's capacity", () => {
      const h = host(3);
      const results = Array.from({ length: 5 }, () => store.createCluster(h.id, noops));
      assert.equal(results.filter((r) => r.ok).length, 3);
      assert.deepEqual(results.slice(3).map((r) => !r.ok && r.reason), ["HOST_FULL", "HOST_FULL"]);
      assert.deepEqual(
        store.listClusters({ host_id: h.id }).map((c) => c.name).sort(),
        [`${h.name}_0`, `${h.name}_1`, `${h.name}_2`],
      );
    });

    it("claimFreeCluster hands out only running, healthy, unheld clusters on active schedulable hosts", () => {
      const h = host(4);
      ready(h.id, 2);
      const creating = store.createCluster(h.id, noops);
      assert.ok(creating.ok);
      const a = store.claimFreeCluster({ user_id: "a", allow_multiple: true });
      const b = store.claimFreeCluster({ user_id: "b", allow_multiple: true });
      const c = store.claimFreeCluster({ user_id: "c", allow_multiple: true });
      assert.ok(a.ok && b.ok);
      assert.notEqual(a.cluster.id, b.cluster.id);
      assert.equal(c.ok, false, "the creating cluster is not free");
      store.releaseCluster(a.cluster.id);
      assert.equal(store.claimFreeCluster({ user_id: "d", allow_multiple: true }).ok, false, "a released cluster is never handed out in its used state");
    });

    it("an unschedulable or inactive host's clusters are not free", () => {
      const h = host(2);
      ready(h.id, 2);
      store.updateHost(h.id, { schedulable: false });
      assert.equal(store.claimFreeCluster({ user_id: "a", allow_multiple: true }).ok, false);
      store.updateHost(h.id, { schedulable: true });
      store.recordHostCheck(h.id, false, 1);
      assert.equal(store.claimFreeCluster({ user_id: "a", allow_multiple: true }).ok, false);
      assert.ok(store.listClusters({ host_id: h.id }).every((c) => c.health === "FAIL"), "an unreachable host's clusters turn FAIL");
    });

    it("replaceCluster keeps the slot: same host, type and name, new id, state creating", () => {
      const h = host(1);
      ready(h.id, 1);
      const [old] = store.listClusters();
      const claim = store.claimFreeCluster({ user_id: "u", allow_multiple: false });
      assert.ok(claim.ok);
      store.releaseCluster(old!.id);
      const next = store.replaceCluster(old!.id)!;
      assert.notEqual(next.id, old!.id);
      assert.equal(next.name, old!.name);
      assert.equal(next.host_id, h.id);
      assert.equal(next.status, "creating");
      assert.equal(next.op, "create");
      assert.equal(store.listClusters().length, 1);
      assert.equal(store.listReleased()[0]!.user_id, "u");
    });

    it("leasePorts never gives one port twice and answers a resumed lease with the same ports", () => {
      const range = { min: 9000, max: 9009 };
      const a = store.leasePorts("local", "A", 4, range)!;
      const b = store.leasePorts("local", "B", 4, range)!;
      assert.equal(new Set([...a, ...b]).size, 8);
      assert.deepEqual(store.leasePorts("local", "A", 4, range), a);
      assert.equal(store.leasePorts("local", "C", 4, range), undefined, "only 2 ports left");
      store.blockPort("local", a[0]!);
      const again = store.leasePorts("local", "A", 4, range)!;
      assert.ok(!again.includes(a[0]!), "a blocked port is not leased again");
      store.releasePorts("B");
      assert.ok(store.leasePorts("local", "C", 4, range));
      assert.ok(store.leasePorts("other-host", "D", 10, range), "another port domain has its own range");
    });

    it("recordHealth turns FAIL only after the configured number of consecutive failures", () => {
      const h = host(1);
      ready(h.id, 1);
      const [c] = store.listClusters();
      assert.equal(store.recordHealth(c!.id, false, 2), "OK");
      assert.equal(store.recordHealth(c!.id, false, 2), "FAIL");
      assert.equal(store.recordHealth(c!.id, true, 2), "OK");
    });

    it("a failed transaction leaves nothing behind", () => {
      const h = host(2);
      assert.throws(() =>
        store.db.transaction(() => {
          store.createCluster(h.id, noops);
          throw new Error("boom");
        }),
      );
      assert.equal(store.listClusters().length, 0);
    });
  });
}
