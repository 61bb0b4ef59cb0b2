import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import { PbftLogFile } from "../../src/chain/consensus/pbft/pbft-log.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "pbft-log-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const batch = { proposer: "vp0", timestamp: 1, requests: [] };

describe("the pbft log", () => {
  it("gives back after a restart what was prepared and pre-prepared above the stable checkpoint, the latest view of each", () => {
    const path = join(dir, "pbft-log.jsonl");
    const file = new PbftLogFile(path);
    file.append({ type: "preprepared", entry: { seq: 3, view: 0, digest: "a" } });
    file.append({ type: "prepared", entry: { seq: 3, view: 0, digest: "a", batch } });
    file.append({ type: "preprepared", entry: { seq: 3, view: 2, digest: "a" } });
    file.append({ type: "prepared", entry: { seq: 4, view: 1, digest: "", batch: null } });
    file.close();
    const reopened = new PbftLogFile(path);
    const recovered = reopened.log.recovered();
    assert.deepEqual(recovered.prePrepared, [{ seq: 3, view: 2, digest: "a" }]);
    assert.deepEqual(recovered.prepared.map((p) => [p.seq, p.view, p.digest]), [[3, 0, "a"], [4, 1, ""]]);
    reopened.close();
  });

  it("a stable checkpoint drops what it covers and rewrites the file; a torn last line is ignored", () => {
    const path = join(dir, "pbft-log.jsonl");
    const file = new PbftLogFile(path);
    for (let seq = 1; seq <= 40; seq++) file.append({ type: "prepared", entry: { seq, view: 0, digest: `d${seq}`, batch } });
    file.append({ type: "stable", seq: 32 });
    file.close();
    assert.equal(readFileSync(path, "utf8").trim().split("\n").length, 1 + 8, "the stable record and what is above it");
    writeFileSync(path, `${readFileSync(path, "utf8")}{"type":"prepared","entry":{"seq":41`);
    const reopened = new PbftLogFile(path);
    assert.deepEqual(reopened.log.recovered().prepared.map((p) => p.seq), [33, 34, 35, 36, 37, 38, 39, 40]);
    reopened.close();
  });
});
