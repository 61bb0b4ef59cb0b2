import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createLogger } from "../../src/lib/logger.ts";

describe("logger", () => {
  const lines = (json: boolean) => {
    const out: string[] = [];
    const log = createLogger({ json, write: (l) => out.push(l) }).child({ request_id: "r-1" });
    const err = new Error("boom");
    log.error("request failed", { err, stack: err.stack, note: "a\nb" });
    log.debug("hidden");
    return out;
  };

  it("writes one JSON object per event when asked for JSON, with its fields and the child's", () => {
    const out = lines(true);
    assert.equal(out.length, 1);
    assert.ok(!out[0]!.includes("\n"));
    const event = JSON.parse(out[0]!) as Record<string, unknown>;
    assert.equal(event["msg"], "request failed");
    assert.equal(event["request_id"], "r-1");
    assert.deepEqual(event["err"], { name: "Error", message: "boom" });
  });

  it("keeps a multi-line stack on the event's one line in text mode", () => {
    const out = lines(false);
    assert.equal(out.length, 1);
    assert.ok(!out[0]!.includes("\n"), out[0]);
    assert.match(out[0]!, /ERROR request failed request_id=r-1 .*note=a\\nb/);
  });
});
