import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import type { PoolEvent } from "../../src/core/events.ts";
import { openBetterSqlite3 } from "../../src/store/better-sqlite3.ts";
import { nodeSqliteAvailable, openNodeSqlite } from "../../src/store/node-sqlite.ts";
import { PoolStore } from "../../src/store/pool-store.ts";
import type { SqlDatabase } from "../../src/store/sql.ts";

/** Every driver this runtime loads, or those STORE_DRIVERS names (as in pool-store.test.ts). */
const all: Array<[string, (file: string) => SqlDatabase]> = [["better-sqlite3", openBetterSqlite3]];
if (nodeSqliteAvailable() || process.env["STORE_DRIVERS"]) all.push(["node:sqlite", openNodeSqlite]);
const chosen = process.env["STORE_DRIVERS"]?.split(",");
const drivers = chosen ? all.filter(([name]) => chosen.includes(name)) : all;

for (const [driverName, open] of drivers) {
  describe(`event log on ${driverName}`, () => {
    let dir: string;
    let now: number;
    let store: PoolStore;
    const noops = { plugin: "noops" as const, mode: "" as const, size: 4 };
    const make = (events?: { keepCount?: number; keepMs?: number }) =>
      new PoolStore({ db: open(join(dir, "pool.db")), clock: () => now, ...(events && { events }) });
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), "chainpool-events-"));
      now = Date.parse("2030-01-01T00:00:00.000Z");
      store = make();
    });
    afterEach(() => {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const host = () => store.insertHost({ name: `h${Math.random().toString(16).slice(2, 8)}`, type: "memory", daemon_url: "", capacity: 8, autofill: false, schedulable: true, log_level: "INFO", params: {} });
    const readyCluster = (hostId: string) => {
      const made = store.createCluster(hostId, noops);
      assert.ok(made.ok);
      store.markCreated(made.cluster.id, { api_url: "http://127.0.0.1:1", service_url: {}, handle: {} });
      store.recordHealth(made.cluster.id, true, 2);
      return made.cluster.id;
    };

    it("records a cluster's life as it happens, each event with the change that made it", () => {
      const h = host();
      const id = readyCluster(h.id);
      assert.ok(store.claimFreeCluster({ user_id: "alice", allow_multiple: false }).ok);
      assert.ok(store.releaseCluster(id).ok);
      const next = store.replaceCluster(id)!;
      const kinds = store.events.list({ limit: 1000 }).map((e) => [e.kind, e.cluster_id, e.user_id]);
      assert.deepEqual(kinds, [
        ["host.added", null, null],
        ["cluster.created", id, null],
        ["cluster.health_ok", id, null],
        ["cluster.applied", id, "alice"],
        ["cluster.released", id, "alice"],
        ["cluster.recycled", id, null],
      ]);
      const recycled = store.events.list({ kinds: ["cluster.recycled"] })[0]!;
      assert.equal(recycled.data["successor"], next.id);
      assert.equal(recycled.host_id, h.id);
    });

    it("a transaction that rolls back leaves no event, and listeners never hear of it", () => {
      const heard: PoolEvent[] = [];
      store.events.onCommit((e) => heard.push(e));
      const before = store.events.latestId();
      assert.throws(() =>
        store.db.transaction(() => {
          host();
          throw new Error("crash before commit");
        }),
      );
      assert.equal(store.events.latestId(), before);
      assert.equal(heard.length, 0);
      host();
      assert.equal(heard.length, 1);
      assert.equal(heard[0]!.id, store.events.latestId());
    });

    it("listeners hear of events only after the commit, in id order", () => {
      const h = host();
      const seenInside: number[] = [];
      const heard: number[] = [];
      store.events.onCommit((e) => heard.push(e.id));
      store.db.transaction(() => {
        readyCluster(h.id);
        readyCluster(h.id);
        seenInside.push(heard.length);
      });
      assert.deepEqual(seenInside, [0]);
      assert.equal(heard.length, 4);
      assert.deepEqual(heard, [...heard].sort((a, b) => a - b));
    });

    it("health and host status record changes only, warnings as warn", () => {
      const h = host();
      const id = readyCluster(h.id);
      store.recordHealth(id, true, 2); // OK again: no change
      store.recordHealth(id, false, 2); // one failure: no change yet
      store.recordHealth(id, false, 2); // FAIL
      store.recordHealth(id, false, 2); // still FAIL
      store.recordHealth(id, true, 2); // OK again
      store.recordHostCheck(h.id, false, 1);
      store.recordHostCheck(h.id, false, 1);
      store.recordHostCheck(h.id, true, 1);
      const tail = store.events.list({ kinds: ["cluster.health_ok", "cluster.health_fail", "host.active", "host.inactive"] });
      assert.deepEqual(
        tail.map((e) => [e.kind, e.level, e.data["from"]]),
        [
          ["cluster.health_ok", "info", ""],
          ["cluster.health_fail", "warn", "OK"],
          ["cluster.health_ok", "info", "FAIL"],
          ["host.inactive", "warn", undefined],
          ["host.active", "info", undefined],
        ],
      );
      assert.deepEqual(store.events.list({ warningsOnly: true }).map((e) => e.kind), ["cluster.health_fail", "host.inactive"]);
    });

    it("lists after a resume point, before one, and the newest", () => {
      const h = host();
      for (let i = 0; i < 5; i++) readyCluster(h.id);
      const all = store.events.list({ limit: 1000 });
      assert.equal(all.length, 11);
      assert.deepEqual(store.events.list({ afterId: all[3]!.id, limit: 2 }).map((e) => e.id), [all[4]!.id, all[5]!.id]);
      assert.deepEqual(store.events.list({ beforeId: all[3]!.id, limit: 2 }).map((e) => e.id), [all[1]!.id, all[2]!.id]);
      assert.deepEqual(store.events.list({ limit: 2 }).map((e) => e.id), [all[9]!.id, all[10]!.id]);
      assert.deepEqual(store.events.list({ afterId: all[10]!.id }), []);
    });

    it("keeps the newest events by count as they are written, and ids keep growing after an age trim empties the log", () => {
      store.close();
      store = make({ keepCount: 100, keepMs: 60_000 });
      const h = host();
      store.db.transaction(() => {
        for (let i = 0; i < 600; i++) store.events.record({ kind: "host.updated", host_id: h.id, message: `edit ${i}` });
      });
      const kept = store.events.list({ limit: 10_000 });
      // Trimmed every 256 writes: never more than keepCount + 256 rows.
      assert.ok(kept.length <= 100 + 256, `${kept.length} events kept`);
      const newest = store.events.latestId();
      now += 120_000;
      store.events.trim();
      assert.deepEqual(store.events.list({ limit: 10 }).map((e) => e.id), [newest], "the newest event is never trimmed");
      store.events.record({ kind: "host.updated", host_id: h.id, message: "later" });
      assert.equal(store.events.latestId(), newest + 1);
      assert.equal(store.events.oldestId(), newest);
    });
  });
}
