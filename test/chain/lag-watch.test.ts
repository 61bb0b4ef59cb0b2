import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LagWatch } from "../../src/chain/consensus/lag-watch.ts";

describe("LagWatch", () => {
  it("a follower that keeps moving while behind is not stalled; one that stops is, from when it stopped", () => {
    const watch = new LagWatch();
    watch.observe("vp0", 5, 0);
    watch.observe("vp1", 5, 0);
    assert.deepEqual(watch.lagging(0), {});
    // The leader moves on; vp1 follows a block behind, always moving.
    for (let t = 100; t <= 5_000; t += 100) {
      watch.observe("vp0", 5 + t / 100, t);
      watch.observe("vp1", 4 + t / 100, t);
    }
    assert.deepEqual(watch.lagging(5_050), { vp1: { behind: 1, stalled_ms: 50 } });
    // vp1 stops at 54 while the leader goes on.
    watch.observe("vp0", 60, 6_000);
    watch.observe("vp0", 70, 9_000);
    assert.deepEqual(watch.lagging(12_000), { vp1: { behind: 16, stalled_ms: 7_000 } });
    watch.observe("vp1", 70, 12_500);
    assert.deepEqual(watch.lagging(13_000), {});
  });

  it("after a long idle spell, a follower that falls behind is stalled from that moment, not from its last move", () => {
    const watch = new LagWatch();
    watch.observe("vp0", 5, 0);
    watch.observe("vp1", 5, 0);
    watch.observe("vp0", 6, 3_600_000);
    assert.deepEqual(watch.lagging(3_600_200), { vp1: { behind: 1, stalled_ms: 200 } });
  });

  it("a member first seen behind counts from then", () => {
    const watch = new LagWatch();
    watch.observe("vp0", 9, 1_000);
    watch.observe("vp2", 3, 2_000);
    assert.deepEqual(watch.lagging(2_500), { vp2: { behind: 6, stalled_ms: 500 } });
  });
});
