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
      store.blockPort("local", a[0]!, "in use");
      const again = store.leasePorts("local", "A", 4, range)!;
      assert.ok(!again.includes(a[0]!), "a blocked port is not leased again");
      store.releasePorts("B");
      assert.ok(store.leasePorts("local", "C", 4, range));
      assert.ok(store.leasePorts("other-host", "D", 10, range), "another port domain has its own range");
    });

    it("a blocked port is leased to nobody until it is due, then leased again, and blocked anew if still taken", () => {
      let now = Date.parse("2030-01-01T00:00:00.000Z");
      store.close();
      store = new PoolStore({ db: open(join(dir, "pool.db")), clock: () => now });
      const range = { min: 9000, max: 9003, retryBlockedAfterMs: 600_000 };
      assert.deepEqual(store.leasePorts("machine", "A", 1, range), [9000]);
      store.blockPort("machine", 9000, "dock: Bind for 0.0.0.0:9000 failed: port is already allocated");
      // Spread: node:sqlite answers rows with a null prototype.
      const blocked = () => store.db.prepare("SELECT port, blocked_at, blocked_why FROM port_leases WHERE cluster_id = '!blocked'").all().map((r) => ({ ...r }));
      assert.deepEqual(blocked(), [{ port: 9000, blocked_at: "2030-01-01T00:00:00.000Z", blocked_why: "dock: Bind for 0.0.0.0:9000 failed: port is already allocated" }], "when and why");

      now += 599_999;
      assert.deepEqual(store.leasePorts("machine", "A", 1, range), [9001], "not yet due: the cluster gets another port");
      assert.deepEqual(store.leasePorts("machine", "B", 3, range), undefined, "9000 is not free for anyone");
      now += 1;
      assert.deepEqual(store.leasePorts("machine", "B", 1, range), [9000], "due: leased again, for the driver to probe");
      store.blockPort("machine", 9000, "still taken");
      assert.equal(store.leasePorts("machine", "C", 3, range), undefined, "blocked anew, from now");
      assert.deepEqual(store.leasePorts("machine", "C", 2, range), [9002, 9003]);
      now += 600_000;
      store.releasePorts("C");
      assert.deepEqual(store.leasePorts("machine", "D", 3, range), [9000, 9002, 9003]);
      assert.deepEqual(blocked(), []);
      const forGood = { min: 9000, max: 9009 };
      store.blockPort("machine", 9000, "taken");
      now += 1e12;
      assert.ok(!store.leasePorts("machine", "E", 6, forGood)!.includes(9000), "without retryBlockedAfterMs a block stays");
    });

    it("migrating a v2 database moves port leases from per-host domains into one ledger per machine; old blocks are due at once", () => {
      store.close();
      const file = join(dir, "v2.db");
      const db = open(file);
      db.transaction(() => {
        for (const sql of MIGRATIONS.slice(0, 2)) db.exec(sql as string);
        db.exec("PRAGMA user_version = 2");
        const addHost = db.prepare("INSERT INTO hosts (id, name, type, daemon_url, capacity, autofill, schedulable, log_level, status, create_ts) VALUES (?, ?, ?, ?, 1, 1, 1, 'INFO', 'active', '')");
        addHost.run(["h-local", "local", "local", ""]);
        addHost.run(["h-unix", "dock", "docker", "unix:///var/run/docker.sock"]);
        addHost.run(["h-loop", "dock2", "docker", "tcp://127.0.0.1:2376"]);
        addHost.run(["h-far", "far", "docker", "tcp://10.9.8.7:2376"]);
        addHost.run(["h-far2", "far2", "swarm", "tcp://10.9.8.7:2377"]);
        const lease = db.prepare("INSERT INTO port_leases (domain, port, cluster_id) VALUES (?, ?, ?)");
        // The fight: local clusters on 7050-7053, the docker host blocked 7050 and 7051 and leased 7054.
        for (const p of [7050, 7051, 7052, 7053]) lease.run(["local", p, "L1"]);
        lease.run(["h-unix", 7050, "!blocked"]);
        lease.run(["h-unix", 7051, "!blocked"]);
        lease.run(["h-unix", 7054, "D1"]);
        // The other engine on this machine blocked 7055, which nobody else holds.
        lease.run(["h-loop", 7055, "!blocked"]);
        lease.run(["h-loop", 7050, "D2"]); // two clusters' leases on one port: one is kept
        lease.run(["h-far", 7050, "F1"]);
        lease.run(["h-far2", 7051, "F2"]);
        lease.run(["h-unix#subnet", 0, "D1"]);
      });
      db.close();

      store = new PoolStore({ db: open(file), clock: () => Date.parse("2030-01-01T00:00:00.000Z") });
      const rows = store.db.prepare("SELECT domain, port, cluster_id, blocked_at FROM port_leases ORDER BY domain, port").all().map((r) => ({ ...r }));
      assert.deepEqual(rows, [
        { domain: "engine:10.9.8.7", port: 7050, cluster_id: "F1", blocked_at: null },
        { domain: "engine:10.9.8.7", port: 7051, cluster_id: "F2", blocked_at: null },
        { domain: "h-unix#subnet", port: 0, cluster_id: "D1", blocked_at: null },
        { domain: "machine", port: 7050, cluster_id: "L1", blocked_at: null },
        { domain: "machine", port: 7051, cluster_id: "L1", blocked_at: null },
        { domain: "machine", port: 7052, cluster_id: "L1", blocked_at: null },
        { domain: "machine", port: 7053, cluster_id: "L1", blocked_at: null },
        { domain: "machine", port: 7054, cluster_id: "D1", blocked_at: null },
        { domain: "machine", port: 7055, cluster_id: "!blocked", blocked_at: "1970-01-01T00:00:00.000Z" },
      ]);
      const range = { min: 7050, max: 7059, retryBlockedAfterMs: 600_000 };
      assert.deepEqual(store.leasePorts("machine", "L1", 4, range), [7050, 7051, 7052, 7053], "a resumed creation finds its leases");
      assert.deepEqual(store.leasePorts("machine", "N", 2, range), [7055, 7056], "the old block is due at once");
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
