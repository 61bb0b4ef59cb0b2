/**
 * `chainpool backup` while applies run: the copy is taken on the daemon's connection while it
 * serves, opens, passes SQLite's integrity check, and holds one moment of the pool: between
 * the applies answered before the backup began and those answered once it ended.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import Database from "better-sqlite3";
import { runCli } from "../../src/cli/run.ts";
import { createTestDaemon, type TestDaemon } from "../helpers/daemon.ts";
import { listen } from "../helpers/http.ts";

describe("backup while applies run", () => {
  let t: TestDaemon;
  let server: { url: string; close: () => Promise<void> };
  let dir: string;
  before(async () => {
    t = createTestDaemon();
    await t.addMemoryHost({ capacity: 400, ready: 400 });
    server = await listen(t.daemon.app);
    dir = mkdtempSync(join(tmpdir(), "chainpool-backup-"));
  });
  after(async () => {
    await server.close();
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("each copy opens, is intact, and is one consistent moment of the pool", async () => {
    let answered = 0;
    let next = 0;
    const apply = async () => {
      while (next < 400) {
        const user = `user-${next++}`;
        const res = await fetch(`${server.url}/v2/cluster_op`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ action: "apply", user_id: user }) });
        assert.equal(res.status, 200);
        await res.arrayBuffer();
        answered++;
      }
    };
    const load = Promise.all(Array.from({ length: 16 }, apply));
    const copies: Array<{ file: string; before: number; after: number }> = [];
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, 20));
      const file = join(dir, `copy-${i}.db`);
      const out: string[] = [];
      const before = answered;
      const code = await runCli(["backup", file, "--url", server.url], { out: (s) => out.push(s), err: (s) => out.push(s), env: {}, isTTY: false });
      assert.equal(code, 0, out.join(""));
      copies.push({ file, before, after: answered });
    }
    await load;
    assert.ok(copies.some((c) => c.before > 0 && c.after < 400), `a backup ran while applies did: ${JSON.stringify(copies)}`);

    for (const copy of copies) {
      const db = new Database(copy.file, { readonly: true });
      try {
        assert.equal(db.prepare("PRAGMA integrity_check").pluck().get(), "ok");
        assert.equal(db.prepare("PRAGMA foreign_key_check").all().length, 0);
        assert.equal(db.prepare("SELECT COUNT(*) FROM clusters").pluck().get(), 400);
        const held = db.prepare("SELECT COUNT(*) FROM clusters WHERE user_id != ''").pluck().get() as number;
        // In flight at most 16 more than answered: a claim committed whose reply was on its way.
        assert.ok(held >= copy.before && held <= copy.after + 16, `held ${held}, answered ${copy.before}..${copy.after}`);
        assert.equal(db.prepare("SELECT COUNT(*) FROM clusters WHERE user_id != '' AND apply_ts IS NULL").pluck().get(), 0);
        assert.equal(db.prepare("SELECT COUNT(*) FROM (SELECT user_id FROM clusters WHERE user_id != '' GROUP BY user_id HAVING COUNT(*) > 1)").pluck().get(), 0);
      } finally {
        db.close();
      }
    }
  });

  it("needs the operator key when keys are set", async () => {
    const keyed = createTestDaemon({ api: { operator_keys: ["backup-operator-key-0123456"], front_keys: ["backup-front-key-0123456789"] } });
    try {
      assert.equal((await keyed.call("GET", "/api/backup")).status, 401);
      assert.equal((await keyed.call("GET", "/api/backup", undefined, { authorization: "Bearer backup-front-key-0123456789" })).status, 403);
      const res = await keyed.daemon.app.request("/api/backup", { headers: { authorization: "Bearer backup-operator-key-0123456" } });
      assert.equal(res.status, 200);
      assert.equal(Buffer.from(await res.arrayBuffer()).subarray(0, 16).toString("latin1"), "SQLite format 3\0");
      const odd = await keyed.call("GET", "/api/backup?file=/etc/passwd", undefined, { authorization: "Bearer backup-operator-key-0123456" });
      assert.equal(odd.status, 400);
      assert.match(odd.body.error, /^file: unknown field/);
    } finally {
      await keyed.close();
    }
  });
});
