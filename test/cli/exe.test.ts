/**
 * dist/chainpool as a sysadmin gets it: copied alone into an empty directory and run with a
 * PATH that holds no node, npm or node_modules. It serves, hands out a cluster whose nodes
 * are the executable itself (`chainpool node`), and stops cleanly on SIGTERM.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { findNodeProcesses, terminate } from "../../src/lib/node-processes.ts";
import { freePorts, waitFor } from "../chain/helpers/chain-cluster.ts";
import { ensureExe, run } from "../helpers/exe.ts";
import { assertConsoleServes } from "../helpers/console.ts";

const OPERATOR_KEY = "exe-test-operator-key-0123456789";

describe("the single executable, alone in an empty directory", () => {
  let dir: string;
  let exe: string;
  let env: NodeJS.ProcessEnv;
  let url: string;
  let daemon: ChildProcess | undefined;

  const serve = () => {
    const log = join(dir, "serve.log");
    const child = spawn(exe, ["serve", "--config", "config.toml"], { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout!.on("data", (d: Buffer) => writeFileSync(log, d, { flag: "a" }));
    child.stderr!.on("data", (d: Buffer) => writeFileSync(log, d, { flag: "a" }));
    return child;
  };
  const stop = (child: ChildProcess) =>
    new Promise<{ code: number | null; ms: number }>((done) => {
      const started = Date.now();
      child.once("exit", (code) => done({ code, ms: Date.now() - started }));
      child.kill("SIGTERM");
    });
  const cli = (...args: string[]) => run(exe, [...args, "--url", url], { cwd: dir, env: { ...env, CHAINPOOL_API_KEY: OPERATOR_KEY } });

  before(async () => {
    const built = await ensureExe();
    dir = mkdtempSync(join(tmpdir(), "chainpool-exe-"));
    exe = join(dir, "chainpool");
    copyFileSync(built, exe);
    mkdirSync(join(dir, "bin")); // the only PATH entry: empty
    env = { PATH: join(dir, "bin"), HOME: dir, LANG: "C" };
    const [listen] = await freePorts(1);
    const min = 21000 + (process.pid % 200) * 20;
    url = `http://127.0.0.1:${listen}`;
    writeFileSync(
      join(dir, "config.toml"),
      `listen = "127.0.0.1:${listen}"
data_dir = "data"
[api]
operator_keys = ["${OPERATOR_KEY}"]
[ports]
min = ${min}
max = ${min + 19}
[scheduler]
autofill_s = 0.5
reconcile_s = 0.5
health_check_s = 1
[[hosts]]
name = "local"
type = "local"
capacity = 2
`,
    );
  });

  after(async () => {
    if (daemon && daemon.exitCode === null) daemon.kill("SIGKILL");
    await terminate(findNodeProcesses(join(dir, "data", "clusters")).map((p) => p.pid), 500);
    rmSync(dir, { recursive: true, force: true });
  });

  it("finds no node on its PATH (the check this test rests on)", async () => {
    await assert.rejects(run("node", ["--version"], { env }), /ENOENT/);
  });

  it("serve, apply, use api_url, release, then SIGTERM exits 0", async () => {
    daemon = serve();
    await waitFor("the executable to serve", async () => (await fetch(`${url}/api/health`).catch(() => undefined))?.ok, 20_000);
    await assertConsoleServes(url);
    // Both clusters ready first: the one not applied for must still run at the restart below.
    await waitFor(
      "a full pool",
      async () => {
        const r = await cli("clusters", "ls", "--json");
        const list = r.code === 0 ? (JSON.parse(r.stdout) as Array<{ status: string; health: string }>) : [];
        return list.length === 2 && list.every((c) => c.status === "running" && c.health === "OK");
      },
      30_000,
    );
    const applied = await waitFor(
      "apply to find a ready cluster",
      async () => {
        const r = await cli("apply", "alice", "--json");
        return r.code === 0 ? (JSON.parse(r.stdout) as { id: string; api_url: string }) : r.code === 6 ? undefined : assert.fail(`apply: ${r.code} ${r.stderr}`);
      },
      30_000,
    );
    const chain = await fetch(`${applied.api_url}/chain`);
    assert.equal(chain.status, 200);
    assert.equal(typeof ((await chain.json()) as { height: number }).height, "number");

    // Every node of the cluster is this executable in its `node` role.
    const nodes = findNodeProcesses(join(dir, "data", "clusters")).filter((p) => p.clusterId === applied.id);
    assert.equal(nodes.length, 4);
    for (const node of nodes) {
      const argv = readFileSync(`/proc/${node.pid}/cmdline`, "utf8").split("\0");
      assert.deepEqual(argv.slice(0, 2), [exe, "node"]);
    }

    const released = await cli("release", "--user", "alice", "--json");
    assert.equal(released.code, 0, released.stderr);
    assert.deepEqual(JSON.parse(released.stdout), { released: [applied.id] });

    const { code, ms } = await stop(daemon);
    assert.equal(code, 0, readFileSync(join(dir, "serve.log"), "utf8").slice(-2000));
    assert.ok(ms < 10_000, `SIGTERM took ${ms} ms`);
  });

  it("a restarted executable adopts the nodes the last one left running", async () => {
    const before = new Map(findNodeProcesses(join(dir, "data", "clusters")).map((p) => [`${p.clusterId}/${p.nodeId}`, p.pid]));
    assert.ok(before.size > 0, "nodes of ready clusters outlive the daemon");
    daemon = serve();
    await waitFor("the executable to serve again", async () => (await fetch(`${url}/api/health`).catch(() => undefined))?.ok, 20_000);
    const ready = await waitFor(
      "the pool to be full again",
      async () => {
        const r = await cli("clusters", "ls", "--json");
        const list = JSON.parse(r.stdout) as Array<{ id: string; status: string; health: string }>;
        return list.length === 2 && list.every((c) => c.status === "running" && c.health === "OK") ? list : undefined;
      },
      30_000,
    );
    const now = new Set(findNodeProcesses(join(dir, "data", "clusters")).map((p) => p.pid));
    let adopted = 0;
    for (const cluster of ready) {
      for (const [key, pid] of before) {
        if (!key.startsWith(`${cluster.id}/`)) continue;
        assert.ok(now.has(pid), `${key} kept its process`);
        adopted++;
      }
    }
    assert.ok(adopted >= 4, `at least one ready cluster's nodes were adopted, not restarted (${adopted})`);
    assert.equal((await stop(daemon)).code, 0);
  });

  it("a bad config at start is one line on stderr and exit 2", async () => {
    writeFileSync(join(dir, "bad.toml"), `listen = 8080\n[scheduler]\nreconcile = 1\n`);
    const r = await run(exe, ["serve", "--config", "bad.toml"], { cwd: dir, env });
    assert.equal(r.code, 2);
    assert.equal(r.stdout, "");
    const lines = r.stderr.trimEnd().split("\n");
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /^chainpool: listen: .*; scheduler\.reconcile: unknown key$/);
  });

  it("check-config names each wrong key and exits 2; a good file exits 0", async () => {
    const bad = await run(exe, ["check-config", "bad.toml"], { cwd: dir, env });
    assert.equal(bad.code, 2);
    assert.deepEqual(
      bad.stderr.trimEnd().split("\n").map((l) => l.split(": ")[1]),
      ["listen", "scheduler.reconcile"],
    );
    const good = await run(exe, ["check-config", "config.toml"], { cwd: dir, env });
    assert.equal(good.code, 0, good.stderr);
    assert.match(good.stdout, /config\.toml: ok/);
  });
});
