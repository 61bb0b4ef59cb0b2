import assert from "node:assert/strict";
import { setImmediate } from "node:timers";
import { afterEach, describe, it } from "node:test";
import type { Host } from "../../src/core/types.ts";
import { createMemoryDriver, type MemoryDriver } from "../../src/drivers/memory.ts";
import { HEALTH_SPREAD, Watchdog, type WatchdogPacing } from "../../src/services/watchdog.ts";
import { createTestDaemon, type TestDaemon } from "../helpers/daemon.ts";

/** A clock that only moves when slept on: pacing runs without waiting, and each probe sees the instant its wave was due. */
function fakeTime() {
  let now = 0;
  const sleeps: number[] = [];
  return {
    now: () => now,
    sleeps,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      now += ms;
      await new Promise((r) => setImmediate(r));
    },
  };
}

/** Counts turns of the event loop (setImmediate callbacks) until stopped: a job that never gives the loop back lets none run. */
function loopTurns() {
  let turns = 0;
  let stopped = false;
  const turn = () => {
    if (stopped) return;
    turns++;
    setImmediate(turn);
  };
  setImmediate(turn);
  return { stop: () => ((stopped = true), turns) };
}

describe("the watchdog's jobs pace a large fleet", () => {
  let t: TestDaemon;
  afterEach(async () => t.close());

  /** A daemon whose memory hosts' probes and pings are counted, each pending for one loop turn. */
  function daemonWithCountedDriver() {
    const calls = { probes: [] as number[], inflight: 0, most: 0 };
    let clock = () => 0;
    const counted = (host: Host): MemoryDriver => {
      const inner = createMemoryDriver(host);
      const pending = async <T>(work: () => Promise<T>): Promise<T> => {
        calls.inflight++;
        calls.most = Math.max(calls.most, calls.inflight);
        await new Promise((r) => setImmediate(r));
        calls.inflight--;
        return work();
      };
      return {
        ...inner,
        probe: (c) => (calls.probes.push(clock()), pending(() => inner.probe(c))),
        ping: () => pending(() => inner.ping()),
      };
    };
    t = createTestDaemon({}, { memory: counted });
    return { calls, setClock: (c: () => number) => (clock = c) };
  }

  it("health probes start in waves spread over the period, with a bounded number in flight", async () => {
    const { calls, setClock } = daemonWithCountedDriver();
    await t.addMemoryHost({ ready: 250, capacity: 250 });
    calls.probes.length = 0; // the first health checks of creation
    const time = fakeTime();
    setClock(time.now);
    const pacing: WatchdogPacing = { healthPeriodMs: 10_000, batch: 50, concurrency: 20, now: time.now, sleep: time.sleep };
    const watchdog = new Watchdog(t.daemon.deps, t.daemon.services.hosts, pacing);
    await watchdog.checkClusters();
    assert.equal(calls.probes.length, 250, "every cluster probed once");
    const perInstant = new Map<number, number>();
    for (const at of calls.probes) perInstant.set(at, (perInstant.get(at) ?? 0) + 1);
    // 5 waves of 50, due every 10 s * HEALTH_SPREAD / 5 = 1.6 s.
    const spacing = (10_000 * HEALTH_SPREAD) / 5;
    assert.deepEqual([...perInstant.keys()].sort((a, b) => a - b), [0, 1, 2, 3, 4].map((w) => w * spacing));
    assert.ok([...perInstant.values()].every((n) => n === 50), `50 probes a wave: ${[...perInstant.values()]}`);
    assert.ok(calls.most <= 20, `at most 20 probes in flight, saw ${calls.most}`);
    assert.ok(time.now() <= 10_000, "the run ends within its period");
    const c = t.daemon.services.store.listClusters();
    assert.ok(c.every((x) => x.health === "OK"));
  });

  it("a pool that fits in one wave is probed at once, as before (no waiting)", async () => {
    const { calls } = daemonWithCountedDriver();
    await t.addMemoryHost({ ready: 10, capacity: 10 });
    calls.probes.length = 0;
    const time = fakeTime();
    const watchdog = new Watchdog(t.daemon.deps, t.daemon.services.hosts, { healthPeriodMs: 10_000, batch: 50, now: time.now, sleep: time.sleep });
    await watchdog.checkClusters();
    assert.equal(calls.probes.length, 10);
    assert.deepEqual(time.sleeps, []);
  });

  it("the health job still resets a free cluster that fails, when probed in waves", async () => {
    t = createTestDaemon({ scheduler: { health_failures: 1 } });
    const host = await t.addMemoryHost({ ready: 30, capacity: 30 });
    const victim = t.daemon.services.store.listClusters()[17]!;
    t.memory.get(host.id)!.breakCluster(victim.id);
    const time = fakeTime();
    const watchdog = new Watchdog(t.daemon.deps, t.daemon.services.hosts, { healthPeriodMs: 5000, batch: 7, now: time.now, sleep: time.sleep });
    await watchdog.checkClusters();
    assert.equal(time.sleeps.length, 4, "30 clusters in waves of 7: 5 waves, 4 waits");
    await t.daemon.deps.reconciler.runOnce();
    const now = t.daemon.services.store.listClusters();
    assert.equal(now.length, 30);
    assert.ok(!now.some((c) => c.id === victim.id), "the broken free cluster was dropped and recreated");
  });

  it("host pings run a bounded number at once, giving the loop back between batches", async () => {
    const { calls } = daemonWithCountedDriver();
    for (let i = 0; i < 12; i++) await t.addMemoryHost({ ready: 0 });
    const watchdog = new Watchdog(t.daemon.deps, t.daemon.services.hosts, { batch: 4, concurrency: 3 });
    const turns = loopTurns();
    await watchdog.checkHosts();
    assert.ok(turns.stop() > 0);
    assert.ok(calls.most <= 3, `at most 3 pings in flight, saw ${calls.most}`);
    assert.ok(t.daemon.services.store.listHosts().every((h) => h.status === "active"));
  });

  it("autofill fills hosts a batch at a time and gives the event loop back between batches", async () => {
    t = createTestDaemon();
    const hosts = t.daemon.services.hosts;
    const made = Array.from({ length: 6 }, (_, i) =>
      hosts.add({ name: `auto${i}`, type: "memory", daemon_url: "", capacity: 25, autofill: true, schedulable: true, log_level: "INFO", params: {} }),
    );
    const full = hosts.add({ name: "full", type: "memory", daemon_url: "", capacity: 1, autofill: true, schedulable: true, log_level: "INFO", params: {} });
    t.daemon.services.store.createCluster(full.id, { plugin: "noops", mode: "", size: 4 });
    const watchdog = new Watchdog(t.daemon.deps, hosts, { batch: 10 });
    const turns = loopTurns();
    await watchdog.autofill();
    assert.ok(turns.stop() > 0, "the loop turned while autofill ran");
    for (const h of made) assert.equal(t.daemon.services.store.countClustersOnHost(h.id), 25);
    assert.equal(t.daemon.services.store.countClustersOnHost(full.id), 1);
  });

  it("the sweep reads what rows claim a page at a time, giving the loop back, and still removes only orphans", async () => {
    t = createTestDaemon();
    const host = await t.addMemoryHost({ ready: 60, capacity: 60 });
    const mem = t.memory.get(host.id)!;
    await mem.createCluster({ ...t.daemon.services.store.listClusters()[0]!, id: "orphan" });
    const watchdog = new Watchdog(t.daemon.deps, t.daemon.services.hosts, { batch: 1 }); // pages of 20 ids
    const turns = loopTurns();
    await watchdog.sweep();
    assert.ok(turns.stop() > 0);
    assert.equal(mem.live.size, 60);
    assert.ok(!mem.live.has("orphan"));
  });
});
