/**
 * The systemd unit: the repo's deploy/chainpool.service is what install-service writes, it
 * passes `systemd-analyze verify` with no warning, and install-service lays out a working
 * install (executable, unit, a config that check-config accepts) under a root directory.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { serviceUnit, SERVICE_DEFAULTS } from "../../src/cli/service-unit.ts";
import { ROOT } from "../chain/helpers/chain-cluster.ts";
import { ensureExe, run } from "../helpers/exe.ts";

/** systemd-analyze verify on a unit text whose ExecStart is `bin`: exit code and everything it said. */
function verify(dir: string, unit: string): { status: number | null; said: string } {
  const file = join(dir, "chainpool.service");
  writeFileSync(file, unit);
  const r = spawnSync("systemd-analyze", ["verify", "--man=no", file], { encoding: "utf8" });
  if (r.error) throw new Error(`systemd-analyze: ${r.error.message} (Debian's systemd package has it; .ci/run installs it)`);
  return { status: r.status, said: (r.stdout + r.stderr).trim() };
}

describe("the systemd service", () => {
  let exe: string;
  let dir: string;
  before(async () => {
    exe = await ensureExe();
    dir = mkdtempSync(join(tmpdir(), "chainpool-systemd-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("deploy/chainpool.service is the unit install-service writes", () => {
    assert.equal(readFileSync(join(ROOT, "deploy", "chainpool.service"), "utf8"), serviceUnit());
  });

  it("has the paths, user and hardening the issue asks for", () => {
    const unit = serviceUnit();
    for (const line of [
      "ExecStart=/usr/local/bin/chainpool serve --config /etc/chainpool/config.toml --data /var/lib/chainpool",
      "User=chainpool",
      "StateDirectory=chainpool",
      "NoNewPrivileges=true",
      "ProtectSystem=strict",
      "PrivateTmp=true",
      "Restart=on-failure",
      "KillMode=process",
    ]) {
      assert.ok(unit.split("\n").includes(line), `unit has ${line}`);
    }
  });

  it("passes systemd-analyze verify without a word (ExecStart pointed at the built executable)", () => {
    const result = verify(dir, serviceUnit({ ...SERVICE_DEFAULTS, bin: exe }));
    assert.equal(result.status, 0, result.said);
    assert.equal(result.said, "");
  });

  it("the verify check itself catches a bad unit", () => {
    const bad = verify(dir, serviceUnit({ ...SERVICE_DEFAULTS, bin: exe }).replace("\nKillMode=process\n", "\nKillMode=sometimes\n"));
    assert.match(bad.said, /kill mode/i);
  });

  it("install-service --root lays out executable, unit and a valid config with keys", async () => {
    const root = join(dir, "root");
    const r = await run(exe, ["install-service", "--root", root, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const installed = join(root, "usr/local/bin/chainpool");
    accessSync(installed, constants.X_OK);
    assert.equal(statSync(installed).size, statSync(exe).size);
    assert.equal(readFileSync(join(root, "etc/systemd/system/chainpool.service"), "utf8"), serviceUnit());
    const config = join(root, "etc/chainpool/config.toml");
    assert.equal(statSync(config).mode & 0o777, 0o640);
    const check = await run(exe, ["check-config", config, "--json"]);
    assert.equal(check.code, 0, check.stdout + check.stderr);
    assert.match(readFileSync(config, "utf8"), /operator_keys = \["[A-Za-z0-9_-]{32}"\]/);
    // A second run keeps the config (and its keys).
    const before = readFileSync(config, "utf8");
    assert.equal((await run(exe, ["install-service", "--root", root])).code, 0);
    assert.equal(readFileSync(config, "utf8"), before);
  });
});
