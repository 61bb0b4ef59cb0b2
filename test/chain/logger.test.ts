import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LOG_LINE_LIMIT, LOG_STRING_LIMIT, createLogger } from "../../src/chain/log/logger.ts";

function capture(): { lines: string[]; log: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  return { lines, log: createLogger({ nodeId: "vp0", clusterId: "c1", write: (line) => lines.push(line), now: () => 0 }) };
}

describe("the chain node's logger", () => {
  it("clips every string a line quotes, however deep, and says how much it left out", () => {
    const { lines, log } = capture();
    const huge = "A".repeat(4 * 1024 * 1024);
    log.log("warn", "peer.message_rejected", { error: `sender "${huge}" is not a member`, nested: { list: [huge] } });
    assert.equal(lines.length, 1);
    const line = lines[0]!;
    assert.ok(line.length < 4 * LOG_STRING_LIMIT, `${line.length} characters`);
    const event = JSON.parse(line) as { error: string; nested: { list: string[] }; event: string; node: string };
    assert.equal(event.event, "peer.message_rejected");
    assert.equal(event.node, "vp0");
    assert.match(event.error, /^sender "A+…\[\d+ more characters\]$/);
    assert.match(event.nested.list[0]!, /more characters\]$/);
  });

  it("replaces a line longer than the line cap by its head fields and its size", () => {
    const { lines, log } = capture();
    const many = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`field${i}`, "x".repeat(LOG_STRING_LIMIT)]));
    log.log("info", "something.big", many);
    const line = lines[0]!;
    assert.ok(line.length <= LOG_LINE_LIMIT);
    const event = JSON.parse(line) as Record<string, unknown>;
    assert.equal(event["event"], "something.big");
    assert.equal(event["fields_dropped"], true);
    assert.ok((event["line_characters"] as number) > LOG_LINE_LIMIT);
  });

  it("leaves ordinary lines as they are", () => {
    const { lines, log } = capture();
    log.log("info", "block.committed", { number: 3, hash: "ab".repeat(32) });
    assert.deepEqual(JSON.parse(lines[0]!), { ts: new Date(0).toISOString(), level: "info", event: "block.committed", node: "vp0", cluster: "c1", number: 3, hash: "ab".repeat(32) });
  });
});
