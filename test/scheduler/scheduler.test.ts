import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createLogger } from "../../src/lib/logger.ts";
import { Scheduler } from "../../src/scheduler/scheduler.ts";

describe("Scheduler", () => {
  it("never runs a job twice at once", async () => {
    let running = 0;
    let most = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const s = new Scheduler({
      logger: createLogger({ write: () => {} }),
      jobs: [{ name: "slow", everySeconds: 60, run: async () => { running++; most = Math.max(most, running); await gate; running--; } }],
    });
    const first = s.runNow("slow");
    const second = s.runNow("slow");
    release();
    await Promise.all([first, second]);
    assert.equal(most, 1);
  });

  it("logs a failing job and keeps the schedule going", async () => {
    const lines: string[] = [];
    let runs = 0;
    const s = new Scheduler({
      logger: createLogger({ json: true, write: (l) => lines.push(l) }),
      jobs: [{ name: "flaky", everySeconds: 60, run: () => { runs++; throw new Error("boom"); } }],
    });
    await s.runNow("flaky");
    await s.runNow("flaky");
    assert.equal(runs, 2);
    assert.equal(lines.length, 2);
    const line = JSON.parse(lines[0]!);
    assert.equal(line.msg, "scheduled job failed");
    assert.equal(line.job, "flaky");
    assert.equal(line.err.message, "boom");
  });

  it("start runs each job at once and stop waits for runs in progress", async () => {
    let done = 0;
    const s = new Scheduler({
      logger: createLogger({ write: () => {} }),
      jobs: [{ name: "j", everySeconds: 3600, run: async () => { await new Promise((r) => setTimeout(r, 50)); done++; } }],
    });
    s.start();
    await s.stop();
    assert.equal(done, 1);
    await s.stop();
  });
});
