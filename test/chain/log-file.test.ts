import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { RotatingLogFile } from "../../src/chain/log/log-file.ts";

describe("the node's rotating log file", () => {
  const dir = mkdtempSync(join(tmpdir(), "chainpool-log-file-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("moves the file to .1 before a line would take it past the cap, so the two never hold more than twice the cap", () => {
    const path = join(dir, "node.log");
    const file = new RotatingLogFile({ path, maxBytes: 1_000 });
    const lines = Array.from({ length: 100 }, (_, i) => `${JSON.stringify({ n: i, pad: "x".repeat(i % 40) })}\n`);
    for (const line of lines) {
      file.write(line);
      assert.ok(statSync(path).size <= 1_000, `node.log is ${statSync(path).size} bytes`);
      if (existsSync(`${path}.1`)) assert.ok(statSync(`${path}.1`).size <= 1_000);
    }
    file.close();
    // Whole lines in both files, in order, and the newest ones kept.
    const kept = [...readFileSync(`${path}.1`, "utf8").split("\n"), ...readFileSync(path, "utf8").split("\n")].filter((l) => l !== "");
    assert.deepEqual(kept, lines.slice(lines.length - kept.length).map((l) => l.trimEnd()));
    assert.ok(kept.length > 10);
  });

  it("counts what a file held before the node started", () => {
    const path = join(dir, "existing.log");
    writeFileSync(path, "a".repeat(900) + "\n");
    const file = new RotatingLogFile({ path, maxBytes: 1_000 });
    file.write(`${"b".repeat(200)}\n`);
    file.close();
    assert.equal(readFileSync(`${path}.1`, "utf8"), "a".repeat(900) + "\n");
    assert.equal(readFileSync(path, "utf8"), "b".repeat(200) + "\n");
  });

  it("starts a new file when the current one was removed under it", () => {
    const path = join(dir, "removed.log");
    const file = new RotatingLogFile({ path, maxBytes: 100 });
    file.write(`${"c".repeat(60)}\n`);
    rmSync(path);
    file.write(`${"d".repeat(60)}\n`);
    file.close();
    assert.equal(readFileSync(path, "utf8"), "d".repeat(60) + "\n");
  });
});
