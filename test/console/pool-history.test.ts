import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PoolHistory } from "../../src/console/pool-history.ts";

describe("PoolHistory", () => {
  it("answers the last hour minute by minute, the last sample of each, carried over gaps", () => {
    const h = new PoolHistory();
    const t0 = Date.parse("2026-01-01T10:00:00Z");
    h.record(t0 - 90 * 60_000, 99); // before the window: dropped by later records, or carried in
    h.record(t0 + 5_000, 4);
    h.record(t0 + 50_000, 3); // same minute: the last one counts
    h.record(t0 + 3 * 60_000, 7);
    const { t, free } = h.series(t0 + 4 * 60_000);
    assert.equal(t.length, 60);
    assert.equal(t[59], (t0 + 4 * 60_000) / 1000);
    assert.equal(t[1]! - t[0]!, 60);
    assert.deepEqual(free.slice(-5), [3, 3, 3, 7, 7]);
    assert.equal(free[0], null, "no sample before the first in the window once older ones are dropped");
  });

  it("starts empty", () => {
    assert.ok(new PoolHistory().series(Date.now()).free.every((v) => v === null));
  });
});
