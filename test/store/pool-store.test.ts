import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, it } from "node:test";
import { openBetterSqlite3 } from "../../src/store/better-sqlite3.ts";
import { MIGRATIONS } from "../../src/store/migrations.ts";
import { nodeSqliteAvailable, openNodeSqlite } from "../../src/store/node-sqlite.ts";
import { URL_SECRET_PATTERN } from "../../src/lib/url-secret.ts";
import { PoolStore } from "../../src/store/pool-store.ts";
import type { SqlDatabase, SqlParams } from "../../src/store/sql.ts";

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

/**
 * Every SQL statement written in pool-store.ts, as a pattern: a template literal's `${...}`
 * parts (filters, column lists) match anything. The suite must run each one on each driver,
 * since the drivers differ in what they accept (better-sqlite3 refuses one value bound to a
 * `?1` used three times; node:sqlite took it).
 */
const STATEMENTS = (() => {
  const source = readFileSync(fileURLToPath(new URL("../../src/store/pool-store.ts", import.meta.url)), "utf8");
  const squash = (sql: string) => sql.replace(/\s+/g, " ").trim();
  const literals = [...source.matchAll(/`((?:SELECT|INSERT|UPDATE|DELETE)\b[^`]*)`|"((?:SELECT|INSERT|UPDATE|DELETE)\b[^"]*)"/g)].map((m) => squash(m[1] ?? m[2]!));
  return literals.map((sql) => ({
    sql,
    pattern: new RegExp(`^${sql.split(/\$\{[^}]*\}/).map((part) => part.replace(/[.*+?^$()[\]{}|\\]/g, "\\$&")).join(".*")}$`),
  }));
})();

/** The database, recording the text of every statement it runs. */
function recording(db: SqlDatabase, ran: Set<string>): SqlDatabase {
  const prepare = db.prepare.bind(db);
  return Object.assign(Object.create(db) as SqlDatabase, {
    prepare(sql: string) {
      const statement = prepare(sql);
      const text = sql.replace(/\s+/g, " ").trim();
      const ranOk = <R,>(result: R): R => (ran.add(text), result);
      return {
        run: (params?: SqlParams) => ranOk(statement.run(params)),
        get: <T,>(params?: SqlParams) => ranOk(statement.get<T>(params)),
        all: <T,>(params?: SqlParams) => ranOk(statement.all<T>(params)),
      };
    },
    transaction: db.transaction.bind(db),
    exec: db.exec.bind(db),
    backup: db.backup.bind(db),
    close: db.close.bind(db),
  });
}

for (const [driverName, open] of drivers) {
  describe(`PoolStore on ${driverName}`, () => {
    let dir: string;
    let store: PoolStore;
    const ran = new Set<string>();
    const noops = { plugin: "noops" as const, mode: "" as const, size: 4 };
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), "chainpool-store-"));
      store = new PoolStore({ db: recording(open(join(dir, "pool.db")), ran) });
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

    it("claimFreeCluster refuses past max_per_user and says how many the user holds", () => {
      const h = host(3);
      ready(h.id, 3);
      assert.ok(store.claimFreeCluster({ user_id: "u", allow_multiple: true, max_per_user: 2 }).ok);
      assert.ok(store.claimFreeCluster({ user_id: "u", allow_multiple: true, max_per_user: 2 }).ok);
      assert.deepEqual(store.claimFreeCluster({ user_id: "u", allow_multiple: true, max_per_user: 2 }), { ok: false, reason: "USER_LIMIT", held: 2 });
      assert.ok(store.claimFreeCluster({ user_id: "v", allow_multiple: true, max_per_user: 2 }).ok);
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
      store = new PoolStore({ db: recording(open(join(dir, "pool.db")), ran), clock: () => now });
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

    it("a host's cluster count follows every insert and delete, and a database from before it is counted at upgrade", () => {
      const h = host(4);
      const other = host(4);
      ready(h.id, 3);
      ready(other.id, 1);
      const count = () => store.countClustersOnHost(h.id);
      assert.equal(count(), 3);
      assert.ok(store.claimFreeCluster({ user_id: "u", allow_multiple: true }).ok);
      store.releaseCluster(store.listClusters({ user_id: "u" })[0]!.id);
      store.replaceCluster(store.listClusters({ status: "deleting" })[0]!.id);
      assert.equal(count() + store.countClustersOnHost(other.id), 4, "a recycle neither adds nor drops one");
      store.deleteClusterRow(store.listClusters({ host_id: h.id })[0]!.id);
      assert.equal(count() + store.countClustersOnHost(other.id), 3);
      assert.equal(count(), store.listClusters({ host_id: h.id }).length);
      assert.equal(store.countClustersOnHost("no-such-host"), 0);

      store.close();
      const file = join(dir, "v5.db");
      const db = open(file);
      db.transaction(() => {
        for (const m of MIGRATIONS.slice(0, 5)) (typeof m === "string" ? db.exec(m) : m(db));
        db.exec("PRAGMA user_version = 5");
        db.prepare("INSERT INTO hosts (id, name, type, daemon_url, capacity, autofill, schedulable, log_level, status, create_ts) VALUES ('old', 'old', 'memory', '', 9, 0, 1, 'INFO', 'active', '')").run();
        const add = db.prepare("INSERT INTO clusters (id, name, host_id, slot, consensus_plugin, consensus_mode, size, status, create_ts) VALUES (?, ?, 'old', ?, 'noops', '', 4, 'running', '')");
        for (const slot of [0, 1, 3]) add.run([`c${slot}`, `old_${slot}`, slot]);
      });
      db.close();
      store = new PoolStore({ db: recording(open(file), ran) });
      assert.equal(store.countClustersOnHost("old"), 3);
      const made = store.createCluster("old", noops);
      assert.ok(made.ok);
      assert.equal(made.cluster.name, "old_2", "the next slot is the gap, from the upgraded count");
      assert.equal(store.countClustersOnHost("old"), 4);
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

      store = new PoolStore({ db: recording(open(file), ran), clock: () => Date.parse("2030-01-01T00:00:00.000Z") });
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

    it("every new cluster and every recycled successor gets a fresh URL secret; with secrets off, none", () => {
      const h = host(3);
      ready(h.id, 2);
      const [a, b] = store.listClusters();
      for (const c of [a!, b!]) assert.match(c.url_secret, URL_SECRET_PATTERN);
      assert.notEqual(a!.url_secret, b!.url_secret);
      assert.ok(store.claimFreeCluster({ user_id: "u", allow_multiple: false }).ok);
      const held = store.listClusters({ user_id: "u" })[0]!;
      assert.ok(store.releaseCluster(held.id).ok);
      const successor = store.replaceCluster(held.id)!;
      assert.match(successor.url_secret, URL_SECRET_PATTERN);
      assert.notEqual(successor.url_secret, held.url_secret, "a recycle changes the secret");
      const off = new PoolStore({ db: recording(open(join(dir, "off.db")), ran), urlSecrets: false });
      try {
        const hOff = off.insertHost({ name: "off", type: "memory", daemon_url: "", capacity: 1, autofill: false, schedulable: true, log_level: "INFO", params: {} });
        const made = off.createCluster(hOff.id, noops);
        assert.ok(made.ok);
        assert.equal(made.cluster.url_secret, "");
      } finally {
        off.close();
      }
    });

    it("rotateUrlSecret writes a new secret with the op rotate, from running or stopped with no op owed, never for a cluster without one", () => {
      const h = host(2);
      ready(h.id, 1);
      const [c] = store.listClusters();
      const rotated = store.rotateUrlSecret(c!.id);
      assert.ok(rotated.ok);
      assert.equal(rotated.cluster.op, "rotate");
      assert.equal(rotated.cluster.status, "running");
      assert.match(rotated.cluster.url_secret, URL_SECRET_PATTERN);
      assert.notEqual(rotated.cluster.url_secret, c!.url_secret);
      const again = store.rotateUrlSecret(c!.id);
      assert.equal(!again.ok && again.reason, "BUSY");
      assert.equal(store.getCluster(c!.id)!.url_secret, rotated.cluster.url_secret, "a refused rotation changes nothing");
      assert.ok(store.finishOp(c!.id, "rotate", "running"));
      assert.ok(store.requestOp(c!.id, "stop", ["running"]).ok);
      assert.ok(store.finishOp(c!.id, "stop", "stopped"));
      assert.ok(store.rotateUrlSecret(c!.id).ok, "a stopped cluster's secret can be rotated too");
      assert.ok(store.finishOp(c!.id, "rotate", "deleting"));
      const deleting = store.rotateUrlSecret(c!.id);
      assert.equal(!deleting.ok && deleting.reason, "WRONG_STATUS");
      const missing = store.rotateUrlSecret("nope");
      assert.equal(!missing.ok && missing.reason, "NOT_FOUND");
      // As a cluster from before secrets, or made with them off.
      store.db.prepare("UPDATE clusters SET url_secret = '', status = 'running' WHERE id = ?").run([c!.id]);
      const none = store.rotateUrlSecret(c!.id);
      assert.equal(!none.ok && none.reason, "NO_SECRET");
      assert.equal(store.getCluster(c!.id)!.url_secret, "");
    });

    it("giveUrlSecrets: clusters from before secrets get one if not made yet, are recycled if free, kept if held", () => {
      store.close();
      const file = join(dir, "v4.db");
      const db = open(file);
      db.transaction(() => {
        for (const sql of MIGRATIONS.slice(0, 3)) db.exec(sql as string);
        (MIGRATIONS[3] as (d: SqlDatabase) => void)(db);
        db.exec("PRAGMA user_version = 4");
        db.prepare("INSERT INTO hosts (id, name, type, daemon_url, capacity, autofill, schedulable, log_level, status, create_ts) VALUES ('h', 'h', 'memory', '', 5, 0, 1, 'INFO', 'active', '')").run();
        const add = db.prepare(
          "INSERT INTO clusters (id, name, host_id, slot, consensus_plugin, consensus_mode, size, status, health, user_id, op, create_ts) VALUES (?, ?, 'h', ?, 'noops', '', 4, ?, 'OK', ?, ?, '')",
        );
        add.run(["creating", "c0", 0, "creating", "", "create"]);
        add.run(["free", "c1", 1, "running", "", null]);
        add.run(["held", "c2", 2, "running", "alice", null]);
        add.run(["starting", "c3", 3, "running", "", "start"]);
        add.run(["dropping", "c4", 4, "deleting", "", "delete"]);
      });
      db.close();
      store = new PoolStore({ db: recording(open(file), ran) });
      assert.deepEqual(store.listClusters().map((c) => [c.id, c.url_secret]), [["creating", ""], ["free", ""], ["held", ""], ["starting", ""], ["dropping", ""]]);
      const given = store.giveUrlSecrets();
      assert.deepEqual(given.secured, ["creating"]);
      assert.deepEqual(given.recycled.sort(), ["free", "starting"]);
      const now = new Map(store.listClusters().map((c) => [c.id, c]));
      assert.match(now.get("creating")!.url_secret, URL_SECRET_PATTERN);
      assert.equal(now.get("creating")!.op, "create");
      for (const id of ["free", "starting"]) assert.deepEqual([now.get(id)!.status, now.get(id)!.op], ["deleting", "recycle"]);
      assert.deepEqual([now.get("held")!.op, now.get("held")!.user_id, now.get("held")!.url_secret], [null, "alice", ""], "a held one keeps its URLs");
      assert.deepEqual([now.get("dropping")!.op, now.get("dropping")!.url_secret], ["delete", ""]);
      assert.deepEqual(store.giveUrlSecrets(), { secured: [], recycled: [] }, "a second start finds nothing to do");
    });

    it("recordHealth turns FAIL only after the configured number of consecutive failures", () => {
      const h = host(1);
      ready(h.id, 1);
      const [c] = store.listClusters();
      assert.equal(store.recordHealth(c!.id, false, 2), "OK");
      assert.equal(store.recordHealth(c!.id, false, 2), "FAIL");
      assert.equal(store.recordHealth(c!.id, true, 2), "OK");
    });

    it("recordHealth of a passing probe writes nothing when the cluster is OK already", () => {
      const h = host(1);
      ready(h.id, 1);
      const [c] = store.listClusters();
      // Another connection's data_version moves with every commit that changed the file.
      const watcher = open(join(dir, "pool.db"));
      const version = () => watcher.prepare("PRAGMA data_version").get<{ data_version: number }>()!.data_version;
      try {
        assert.equal(store.recordHealth(c!.id, false, 3), "OK");
        const afterFailure = version();
        assert.equal(store.recordHealth(c!.id, true, 3), "OK");
        const afterRecovery = version();
        assert.notEqual(afterRecovery, afterFailure, "clearing a failure count is written");
        assert.equal(store.recordHealth(c!.id, true, 3), "OK");
        assert.equal(store.recordHealth(c!.id, true, 3), "OK");
        assert.equal(version(), afterRecovery, "passing probes of an OK cluster wrote to the database");
        assert.equal(store.getCluster(c!.id)!.health, "OK");
      } finally {
        watcher.close();
      }
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

    it("a deleted cluster's slot is reused: the lowest free slot, not one past the top", () => {
      const h = host(3);
      ready(h.id, 3);
      const named = (n: string) => store.listClusters({ host_id: h.id }).find((c) => c.name === `${h.name}_${n}`)!;
      store.deleteClusterRow(named("1").id);
      const middle = store.createCluster(h.id, noops);
      assert.ok(middle.ok);
      assert.equal(middle.cluster.name, `${h.name}_1`, "the gap in the middle");
      store.deleteClusterRow(named("0").id);
      const first = store.createCluster(h.id, noops);
      assert.ok(first.ok);
      assert.equal(first.cluster.name, `${h.name}_0`, "the gap at slot 0");
      const spread = store.createClusterSpread([h.id], noops);
      assert.equal(spread.ok, false, "full again");
    });

    it("hosts: listed, found by name, deleted only when empty, back active after a good check", () => {
      const a = host(1);
      const b = host(1);
      assert.deepEqual(store.listHosts().map((h) => h.id).sort(), [a.id, b.id].sort());
      assert.equal(store.getHostByName(b.name)!.id, b.id);
      assert.equal(store.getHostByName("no-such-host"), undefined);
      ready(a.id, 1);
      assert.deepEqual(store.deleteHost(a.id), { ok: false, reason: "HOLDS_CLUSTERS", held: 1 });
      assert.deepEqual(store.deleteHost(b.id), { ok: true });
      assert.deepEqual(store.deleteHost(b.id), { ok: false, reason: "NOT_FOUND" });
      assert.equal(store.recordHostCheck(a.id, false, 1), "inactive");
      assert.equal(store.recordHostCheck(a.id, true, 1), "active");
      assert.equal(store.getHost(a.id)!.status, "active");
    });

    it("instanceId is made once and kept", () => {
      const id = store.instanceId();
      assert.match(id, /^[0-9a-f]+$/);
      assert.equal(store.instanceId(), id);
    });

    it("releaseUser releases every cluster the user holds and records each in the history", () => {
      const h = host(3);
      ready(h.id, 3);
      store.claimFreeCluster({ user_id: "u", allow_multiple: true });
      store.claimFreeCluster({ user_id: "u", allow_multiple: true });
      store.claimFreeCluster({ user_id: "v", allow_multiple: true });
      assert.equal(store.releaseUser("u").length, 2);
      assert.deepEqual(store.releaseUser("nobody"), []);
      assert.equal(store.listReleased({ user_id: "u" }).length, 2);
      assert.equal(store.listReleased({ user_id: "v" }).length, 0);
      assert.ok(store.listClusters({ user_id: "u" }).length === 0);
    });

    it("requestOp sets an op only from the allowed statuses and only when none is owed", () => {
      const h = host(1);
      ready(h.id, 1);
      const [c] = store.listClusters();
      assert.equal(store.requestOp(c!.id, "stop", ["stopped"]).ok, false);
      const stop = store.requestOp(c!.id, "stop", ["running"]);
      assert.ok(stop.ok && stop.cluster.op === "stop");
      const again = store.requestOp(c!.id, "restart", ["running"]);
      assert.equal(!again.ok && again.reason, "BUSY");
      assert.equal(!store.requestOp("nope", "stop", ["running"]).ok, true);
    });

    it("finishOp clears only the op it finished: a release written meanwhile stays owed", () => {
      const h = host(1);
      ready(h.id, 1);
      const [c] = store.listClusters();
      assert.ok(store.claimFreeCluster({ user_id: "u", allow_multiple: false }).ok);
      assert.ok(store.requestOp(c!.id, "restart", ["running"]).ok);
      assert.ok(store.releaseCluster(c!.id).ok);
      assert.equal(store.finishOp(c!.id, "restart", "running"), false);
      const now = store.getCluster(c!.id)!;
      assert.equal(now.op, "recycle");
      assert.equal(now.status, "deleting");
      assert.ok(store.replaceCluster(c!.id), "the recycle still makes its successor");
    });

    it("replaceCluster makes no successor when a delete replaced the recycle", () => {
      const h = host(1);
      ready(h.id, 1);
      const [c] = store.listClusters();
      assert.ok(store.claimFreeCluster({ user_id: "u", allow_multiple: false }).ok);
      store.releaseCluster(c!.id);
      const marked = store.markForDelete(c!.id)!;
      assert.equal(marked.op, "delete");
      assert.equal(store.replaceCluster(c!.id), undefined);
      assert.deepEqual(store.listClusters(), []);
      assert.equal(store.listReleased().length, 1, "the release was recorded once, not again by the delete");
    });

    it("markForDelete of a held cluster records its release; markForRecycle takes only free idle clusters", () => {
      const h = host(3);
      ready(h.id, 3);
      const [a, b, c] = store.listClusters();
      store.claimFreeCluster({ user_id: "u", allow_multiple: true });
      const held = store.listClusters({ user_id: "u" })[0]!;
      store.markForDelete(held.id);
      assert.equal(store.listReleased({ user_id: "u" }).length, 1);
      const free = [a, b, c].filter((x) => x!.id !== held.id);
      assert.equal(store.markForRecycle(free[0]!.id), true);
      assert.equal(store.markForRecycle(free[0]!.id), false, "an op is already owed");
      assert.equal(store.markForRecycle("nope"), false);
      assert.equal(store.getCluster(free[0]!.id)!.op, "recycle");
    });

    it("cleanHost marks every free cluster for deletion whatever op it owed, keeps held ones, and turns autofill off", () => {
      const h = host(4);
      store.updateHost(h.id, { autofill: true });
      ready(h.id, 3);
      const creating = store.createCluster(h.id, noops);
      assert.ok(creating.ok);
      const claim = store.claimFreeCluster({ user_id: "u", allow_multiple: false });
      assert.ok(claim.ok);
      const recycling = store.listClusters({ user_id: "" }).find((c) => c.op === null)!;
      store.markForRecycle(recycling.id);
      const ids = store.cleanHost(h.id)!;
      assert.equal(ids.length, 3);
      assert.ok(!ids.includes(claim.cluster.id));
      assert.ok(ids.includes(creating.cluster.id) && ids.includes(recycling.id));
      assert.ok(store.listClusters({ user_id: "" }).every((c) => c.op === "delete" && c.status === "deleting"));
      assert.equal(store.getCluster(claim.cluster.id)!.op, null);
      assert.equal(store.getHost(h.id)!.autofill, false);
      assert.deepEqual(store.cleanHost(h.id), [], "a second clean has nothing left to mark");
      assert.equal(store.cleanHost("nope"), undefined);
    });

    it("pendingOps pages through owed work in creation order; saveHandle keeps the driver's handle", () => {
      const h = host(5);
      const made = Array.from({ length: 5 }, () => store.createCluster(h.id, noops)).map((r) => (r.ok ? r.cluster.id : ""));
      const first = store.pendingOps(0, 2);
      assert.deepEqual(first.map((p) => p.id), made.slice(0, 2));
      const rest = store.pendingOps(first[1]!.seq, 10);
      assert.deepEqual(rest.map((p) => p.id), made.slice(2));
      store.saveHandle(made[0]!, { pids: [1, 2] });
      assert.deepEqual(store.getCluster(made[0]!)!.handle, { pids: [1, 2] });
    });

    it("saveRuntime replaces a cluster's URLs and handle (a repair that moved a node)", () => {
      const h = host(2);
      ready(h.id, 2);
      const [a, b] = store.listClusters().map((x) => x.id);
      store.saveRuntime(a!, { api_url: "http://10.0.0.2:7050", service_url: { vp1: "http://10.0.0.3:7051" }, handle: { moved: ["vp1"] } });
      const saved = store.getCluster(a!)!;
      assert.equal(saved.api_url, "http://10.0.0.2:7050");
      assert.deepEqual(saved.service_url, { vp1: "http://10.0.0.3:7051" });
      assert.deepEqual(saved.handle, { moved: ["vp1"] });
      assert.equal(store.getCluster(b!)!.api_url, "x", "only the one cluster");
    });

    it("probeablePage and clusterIdPage walk the fleet a page at a time; clusterCount counts every cluster from the hosts' counts", () => {
      const h = host(6);
      ready(h.id, 4);
      const [a, b, c, d] = store.listClusters().map((x) => x.id);
      store.requestOp(b!, "stop", ["running"]); // owes an op: not probed
      store.createCluster(h.id, noops); // creating: not probed
      assert.equal(store.clusterCount(), 5);
      const first = store.probeablePage(0, 2);
      assert.deepEqual(first.map((p) => p.cluster.id), [a, c]);
      assert.equal(first[0]!.cluster.service_url.constructor, Object, "whole clusters, as listClusters answers them");
      assert.deepEqual(store.probeablePage(first[1]!.seq, 2).map((p) => p.cluster.id), [d]);
      const ids = store.clusterIdPage(0, 4);
      assert.equal(ids.length, 4);
      assert.equal(store.clusterIdPage(ids[3]!.seq, 4).length, 1);
    });

    it("hostsToFill lists active autofill hosts below capacity; typeCountsOnHost counts a host's clusters by type", () => {
      const full = store.insertHost({ name: "full", type: "memory", daemon_url: "", capacity: 1, autofill: true, schedulable: true, log_level: "INFO", params: {} });
      const room = store.insertHost({ name: "room", type: "memory", daemon_url: "", capacity: 3, autofill: true, schedulable: true, log_level: "INFO", params: {} });
      host(3); // autofill off
      ready(full.id, 1);
      ready(room.id, 1);
      store.createCluster(room.id, { plugin: "pbft", mode: "batch", size: 4 });
      assert.deepEqual(store.hostsToFill().map((x) => x.name), ["room"]);
      assert.deepEqual([...store.typeCountsOnHost(room.id)].sort(), [["noops//4", 1], ["pbft/batch/4", 1]]);
      store.recordHostCheck(room.id, false, 1);
      assert.deepEqual(store.hostsToFill(), [], "an inactive host is not filled");
    });

    it("a good check of a host already active changes no row; one after failures resets the count", () => {
      const h = host(1);
      const changes = () => store.db.prepare("SELECT total_changes() AS n").get<{ n: number }>()!.n;
      const before = changes();
      assert.equal(store.recordHostCheck(h.id, true, 2), "active");
      assert.equal(changes(), before);
      assert.equal(store.recordHostCheck(h.id, false, 2), "active");
      assert.equal(store.recordHostCheck(h.id, true, 2), "active");
      assert.equal(store.recordHostCheck(h.id, false, 2), "active", "the count started again from 0");
      assert.equal(store.recordHostCheck(h.id, false, 2), "inactive");
      assert.equal(store.recordHostCheck(h.id, true, 2), "active");
    });

    it("a passing probe of a cluster already healthy changes no row (a large fleet's health job writes nothing)", () => {
      const h = host(1);
      ready(h.id, 1);
      const [c] = store.listClusters();
      const changes = () => store.db.prepare("SELECT total_changes() AS n").get<{ n: number }>()!.n;
      const before = changes();
      assert.equal(store.recordHealth(c!.id, true, 2), "OK");
      assert.equal(changes(), before);
      store.recordHealth(c!.id, false, 2);
      store.recordHealth(c!.id, true, 2);
      assert.equal(store.db.prepare("SELECT health_fails AS n FROM clusters WHERE id = ?").get<{ n: number }>([c!.id])!.n, 0, "a failure count is still reset");
    });

    it("recordPassedProbe heals a running cluster with no op owed, and leaves one that changed while probed as it is", () => {
      const h = host(2);
      ready(h.id, 2);
      const [a, b] = store.listClusters();
      store.recordHealth(a!.id, false, 1);
      store.recordHealth(b!.id, false, 1);
      store.requestOp(b!.id, "stop", ["running"]);
      store.recordPassedProbe(a!.id);
      store.recordPassedProbe(b!.id);
      assert.equal(store.getCluster(a!.id)!.health, "OK");
      assert.equal(store.getCluster(b!.id)!.health, "FAIL", "stopping meanwhile: not recorded");
      const changes = () => store.db.prepare("SELECT total_changes() AS n").get<{ n: number }>()!.n;
      const before = changes();
      store.recordPassedProbe(a!.id);
      assert.equal(changes(), before, "healthy already: nothing written");
    });

    it("the jobs' paged queries read only what they answer: no scan of the table for no work owed, no sort of every running cluster per page", () => {
      const texts = new Set<string>();
      const db = recording(open(join(dir, "plans.db")), texts);
      const s = new PoolStore({ db });
      s.pendingOps(0, 10);
      s.probeablePage(0, 10);
      const plan = (pattern: RegExp) => {
        const sql = [...texts].find((t) => pattern.test(t))!;
        return db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all<{ detail: string }>([0, 10]).map((r) => r.detail).join(" | ");
      };
      const pending = plan(/op IS NOT NULL/);
      assert.match(pending, /USING INDEX clusters_op/, pending);
      const probeable = plan(/'running' AND op IS NULL/);
      assert.match(probeable, /INTEGER PRIMARY KEY/, probeable);
      assert.doesNotMatch(probeable, /TEMP B-TREE/, probeable);
      s.close();
    });

    it("stats counts hosts and clusters by status, health, type and user", () => {
      const h = host(3);
      ready(h.id, 2);
      store.createCluster(h.id, noops);
      store.claimFreeCluster({ user_id: "u", allow_multiple: false });
      const stats = store.stats();
      assert.deepEqual(stats.hosts, { total: 1, by_status: { active: 1 }, by_type: { memory: 1 } });
      assert.equal(stats.clusters.total, 3);
      assert.equal(stats.clusters.free, 1);
      assert.equal(stats.clusters.in_use, 1);
      assert.deepEqual(stats.clusters.by_status, { creating: 1, running: 2 });
      assert.deepEqual(stats.clusters.by_health, { OK: 2, unknown: 1 });
      assert.deepEqual(stats.clusters.by_type, { "noops//4": 3 });
      assert.deepEqual(stats.clusters.by_user, { u: 1 });
      assert.equal(stats.released_total, 0);
      const other = host(2);
      ready(other.id, 2);
      const [stopping, failing] = store.listClusters({ host_id: other.id });
      store.requestOp(stopping!.id, "stop", ["running"]); // running and healthy, but owes an op: not free
      store.recordHealth(failing!.id, false, 1);
      const more = store.stats();
      assert.equal(more.clusters.free, 1);
      assert.equal(more.clusters.total, 5);
      assert.deepEqual(more.clusters.by_health, { OK: 3, FAIL: 1, unknown: 1 });
    });

    it("clusterCountsByHost puts every cluster of a host in one part: free, held, creating, failed or other", () => {
      const h = host(6);
      ready(h.id, 3);
      store.createCluster(h.id, noops);
      const claim = store.claimFreeCluster({ user_id: "u", allow_multiple: false });
      assert.ok(claim.ok);
      const free = store.listClusters({ user_id: "" }).filter((c) => c.status === "running");
      store.recordHealth(free[0]!.id, false, 1);
      store.requestOp(free[1]!.id, "stop", ["running"]);
      const counts = store.clusterCountsByHost().get(h.id)!;
      assert.deepEqual(counts, { held: 1, failed: 1, creating: 1, free: 0, other: 1, total: 4 });
      assert.equal(store.clusterCountsByHost().get("nope"), undefined);
    });

    it("pool-size notes: one per minute (a later one replaces it), a day kept, the last before a window leading it, across a reopen", () => {
      const m = 29_000_000;
      store.recordPoolSample(m - 2000, 1); // more than a day before the newest: forgotten
      store.recordPoolSample(m - 100, 8);
      store.recordPoolSample(m - 10, 9);
      store.recordPoolSample(m, 4);
      store.recordPoolSample(m, 5);
      store.recordPoolSample(m + 1, 6);
      store.close();
      store = new PoolStore({ db: recording(open(join(dir, "pool.db")), ran) });
      assert.deepEqual(store.poolSamples(m), [{ minute: m - 10, free: 9 }, { minute: m, free: 5 }, { minute: m + 1, free: 6 }]);
      assert.deepEqual(store.poolSamples(m - 5000), [{ minute: m - 100, free: 8 }, { minute: m - 10, free: 9 }, { minute: m, free: 5 }, { minute: m + 1, free: 6 }]);
      assert.deepEqual(store.poolSamples(m + 2), [{ minute: m + 1, free: 6 }], "the last note before a window with none in it");
    });

    it("countFree and clusterCountsByType agree with stats() through their indexes alone", () => {
      const h = host(6);
      ready(h.id, 4);
      store.createCluster(h.id, { plugin: "pbft", mode: "batch", size: 4 });
      assert.ok(store.claimFreeCluster({ user_id: "u", allow_multiple: false }).ok);
      const [stopping, failing] = store.listClusters({ user_id: "" }).filter((c) => c.status === "running");
      store.requestOp(stopping!.id, "stop", ["running"]); // running and healthy, but owes an op: not free
      store.recordHealth(failing!.id, false, 1);
      const stats = store.stats();
      assert.equal(stats.clusters.free, 1);
      assert.equal(store.countFree(), stats.clusters.free);
      assert.deepEqual(store.clusterCountsByType(), stats.clusters.by_type);
      assert.deepEqual(store.clusterCountsByType(), { "noops//4": 4, "pbft/batch/4": 1 });
    });

    it("appliesPerMinute counts held and released applies once each, by minute; releasedSince counts releases", () => {
      const h = host(3);
      ready(h.id, 3);
      const since = new Date(Date.now() - 60_000).toISOString();
      const a = store.claimFreeCluster({ user_id: "a", allow_multiple: false });
      const b = store.claimFreeCluster({ user_id: "b", allow_multiple: false });
      assert.ok(a.ok && b.ok);
      assert.ok(store.releaseCluster(a.cluster.id).ok);
      const perMinute = store.appliesPerMinute(since);
      assert.equal(Object.values(perMinute).reduce((x, y) => x + y, 0), 2, JSON.stringify(perMinute));
      for (const key of Object.keys(perMinute)) assert.match(key, /^\d{4}-\d\d-\d\dT\d\d:\d\d$/);
      assert.equal(store.releasedSince(since), 1);
      assert.equal(store.releasedSince(new Date(Date.now() + 60_000).toISOString()), 0);
      assert.deepEqual(store.appliesPerMinute(new Date(Date.now() + 60_000).toISOString()), {});
    });

    it("clusterCounts groups clusters by state, host and type; countPendingOps counts the work owed", () => {
      const h = host(6);
      ready(h.id, 3);
      assert.ok(store.claimFreeCluster({ user_id: "u", allow_multiple: false }).ok);
      const [, second, third] = store.listClusters({ host_id: h.id });
      store.recordHealth(second!.user_id === "" ? second!.id : third!.id, false, 1);
      assert.ok(store.createCluster(h.id, noops).ok);
      const counts = Object.fromEntries(store.clusterCounts().map((r) => [r.state, [r.host, r.consensus_plugin, r.consensus_mode, r.size, r.n]]));
      assert.deepEqual(counts, {
        in_use: [h.name, "noops", "", "4", 1],
        failed: [h.name, "noops", "", "4", 1],
        free: [h.name, "noops", "", "4", 1],
        creating: [h.name, "noops", "", "4", 1],
      });
      assert.equal(store.countPendingOps(), 1);
    });

    // Last in this suite: the tests above are what runs the statements.
    it("the tests above run every SQL statement of the store", () => {
      const missed = STATEMENTS.filter(({ pattern }) => ![...ran].some((text) => pattern.test(text))).map(({ sql }) => sql);
      assert.ok(STATEMENTS.length > 30, `found ${STATEMENTS.length} statements in pool-store.ts`);
      assert.deepEqual(missed, [], "statements no test ran");
    });
  });
}
