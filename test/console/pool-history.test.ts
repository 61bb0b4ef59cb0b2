import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { poolSeries, poolSeriesStart } from "../../src/console/pool-history.ts";

describe("poolSeries", () => {
  const t0 = Date.parse("2026-01-01T10:00:00Z");
  const minute = (ms: number) => Math.floor(ms / 60_000);

  it("answers the last hour minute by minute, each note carried over the minutes without one, the current minute live", () => {
    const now = t0 + 4 * 60_000 + 30_000;
    const samples = [
      { minute: minute(t0 - 90 * 60_000), free: 99 }, // the last note before the window: carried into it
      { minute: minute(t0), free: 3 },
      { minute: minute(t0 + 3 * 60_000), free: 7 },
    ];
    const { t, free } = poolSeries(samples, now, 5);
    assert.equal(t.length, 60);
    assert.equal(t[59], minute(now) * 60, "the current minute's start, in unix seconds");
    assert.equal(t[0], poolSeriesStart(now) * 60);
    assert.equal(t[1]! - t[0]!, 60);
    assert.deepEqual(free.slice(-6), [99, 3, 3, 3, 7, 5]);
    assert.equal(free[0], 99, "carried in from before the window");
  });

  it("is null before the first note, and live in the current minute", () => {
    const { free } = poolSeries([], t0, 4);
    assert.ok(free.slice(0, 59).every((v) => v === null));
    assert.equal(free[59], 4);
  });
});
