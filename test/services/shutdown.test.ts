/**
 * Shutdown with driver work in flight: close() waits at most its grace period, and work cut
 * short stays written as intent (the cluster's op), so the next start does it again.
 */
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { Host } from "../../src/core/types.ts";
import { createMemoryDriver } from "../../src/drivers/memory.ts";
import { openDatabase } from "../../src/store/open.ts";
import { PoolStore } from "../../src/store/pool-store.ts";
import { createTestDaemon } from "../helpers/daemon.ts";

describe("daemon close() with a creation in flight", () => {
  it("returns within its grace period and leaves the create op for the next start", async () => {
    let calls = 0;
    const t = createTestDaemon({}, {
      // A host whose creations never finish: the worst case a shutdown meets.
      memory: (host: Host) => ({ ...createMemoryDriver(host), createCluster: () => (calls++, new Promise<never>(() => {})) }),
    });
    const host = await t.addMemoryHost({ capacity: 1 });
    const made = t.daemon.services.store.createCluster(host.id, { plugin: "noops", mode: "", size: 4 });
    assert.ok(made.ok);
    t.daemon.deps.reconciler.kick();
    while (calls === 0) await new Promise((r) => setImmediate(r));

    const started = Date.now();
    await t.daemon.close({ graceMs: 300 });
    const took = Date.now() - started;
    assert.ok(took >= 250 && took < 2_000, `close took ${took} ms`);

    const store = new PoolStore({ db: openDatabase(join(t.dir, "chainpool.db")) });
    try {
      const row = store.getCluster(made.cluster.id);
      assert.equal(row?.op, "create");
      assert.equal(row?.status, "creating");
    } finally {
      store.close();
      rmSync(t.dir, { recursive: true, force: true });
    }
  });

  it("with no grace given, waits for work in flight to finish", async () => {
    let finish!: () => void;
    const t = createTestDaemon({}, {
      memory: (host: Host) => {
        const base = createMemoryDriver(host);
        return { ...base, createCluster: (c) => new Promise((done) => (finish = () => done(base.createCluster(c)))) };
      },
    });
    const host = await t.addMemoryHost({ capacity: 1 });
    const made = t.daemon.services.store.createCluster(host.id, { plugin: "noops", mode: "", size: 4 });
    assert.ok(made.ok);
    t.daemon.deps.reconciler.kick();
    while (!finish) await new Promise((r) => setImmediate(r));
    let closed = false;
    const closing = t.daemon.close().then(() => (closed = true));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(closed, false);
    finish();
    await closing;
    const store = new PoolStore({ db: openDatabase(join(t.dir, "chainpool.db")) });
    try {
      assert.equal(store.getCluster(made.cluster.id)?.op, null);
    } finally {
      store.close();
      rmSync(t.dir, { recursive: true, force: true });
    }
  });
});
