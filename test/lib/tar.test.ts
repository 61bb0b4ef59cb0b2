import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { buffer } from "node:stream/consumers";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { tarStream } from "../../src/lib/tar.ts";
import { subnetPool } from "../../src/lib/subnets.ts";

describe("the tar writer the docker driver sends images and configs with", () => {
  it("writes an archive GNU tar reads back: names, long names, modes, owners and contents", async () => {
    const dir = mkdtempSync(join(tmpdir(), "chainpool-tar-"));
    try {
      const file = join(dir, "blob");
      const blob = Buffer.alloc(1000, 7);
      writeFileSync(file, blob);
      const long = `${"deep/".repeat(25)}name.txt`; // 133 characters: needs the ustar prefix field
      const archive = await buffer(
        tarStream([
          { kind: "dir", name: "config", mode: 0o700, uid: 65532, gid: 65532 },
          { kind: "data", name: "config/config.json", data: '{"a":1}', mode: 0o600, uid: 65532, gid: 65532 },
          { kind: "file", name: "bin/blob", source: file, mode: 0o755 },
          { kind: "data", name: long, data: "x" },
        ]),
      );
      assert.equal(archive.length % 512, 0);
      const list = spawnSync("tar", ["-tv", "--numeric-owner", "-f", "-"], { input: archive, encoding: "utf8" });
      assert.equal(list.status, 0, list.stderr);
      const lines = list.stdout.trim().split("\n");
      assert.match(lines[0]!, /^drwx------ 65532\/65532 +0 .* config\/$/);
      assert.match(lines[1]!, /^-rw------- 65532\/65532 +7 .* config\/config\.json$/);
      assert.match(lines[2]!, /^-rwxr-xr-x 0\/0 +1000 .* bin\/blob$/);
      assert.ok(lines[3]!.endsWith(long), lines[3]);
      const out = join(dir, "out");
      spawnSync("mkdir", [out]);
      const x = spawnSync("tar", ["-x", "-C", out, "-f", "-"], { input: archive });
      assert.equal(x.status, 0, String(x.stderr));
      assert.deepEqual(await buffer((await import("node:fs")).createReadStream(join(out, "bin/blob"))), blob);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("subnet pools", () => {
  it("cuts a range into aligned blocks with their gateways", () => {
    const pool = subnetPool("10.200.0.0/16", 26);
    assert.ok(typeof pool !== "string");
    assert.equal(pool.count, 1024);
    assert.deepEqual(pool.block(0), { subnet: "10.200.0.0/26", gateway: "10.200.0.1" });
    assert.deepEqual(pool.block(5), { subnet: "10.200.1.64/26", gateway: "10.200.1.65" });
    assert.deepEqual(pool.block(1023), { subnet: "10.200.255.192/26", gateway: "10.200.255.193" });
  });

  it("says what is wrong with a bad range", () => {
    assert.match(String(subnetPool("10.200.0.1/16", 26)), /has host bits set/);
    assert.match(String(subnetPool("10.200.0.0/16", 12)), /block prefix \/12 must be between \/16 and \/29/);
    assert.match(String(subnetPool("fd00::/64", 80)), /is not an IPv4 CIDR/);
  });
});
