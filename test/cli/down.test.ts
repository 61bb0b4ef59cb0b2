/**
 * Stopping a daemon whose local clusters' nodes outlive it on purpose: Ctrl-C (SIGINT) at a
 * terminal says how many keep running and the command that stops them, and that command
 * works with no daemon running; `chainpool down` stops a running daemon and every node of
 * its data directory; either way the next start brings the same clusters back on their
 * ledgers, held ones still held. Real daemon processes (src/main.ts through tsx), real node
 * processes, found in /proc as the daemon finds them.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import Database from "better-sqlite3";
import { EXIT } from "../../src/cli/exit-codes.ts";
import { isRunning } from "../../src/lib/node-processes.ts";
import { ROOT, waitFor } from "../chain/helpers/chain-cluster.ts";
import { DaemonProcess, localPoolToml } from "../helpers/daemon-process.ts";
import { run } from "../helpers/exe.ts";

const OPERATOR_KEY = "down-test-operator-key-0123456789";
const FRONT_KEY = "down-test-front-key-00123456789";

interface ClusterRow {
  id: string;
  status: string;
  health: string;
  user_id: string;
}

const cli = (...args: string[]) => run(process.execPath, ["--import", "tsx", join(ROOT, "src/main.ts"), ...args]);

/** Every cluster the daemon lists, once all `count` are running, healthy, and have all their nodes up. */
async function ready(daemon: DaemonProcess, count: number, headers: Record<string, string> = {}): Promise<ClusterRow[]> {
  return waitFor(
    `${count} running healthy clusters with their nodes up`,
    async () => {
      const list = (await daemon.call("GET", "/v2/clusters", undefined, headers)).body.data as ClusterRow[];
      const up = new Set(daemon.nodeProcesses().map((p) => p.clusterId));
      return list.length === count && list.every((c) => c.status === "running" && c.health === "OK" && up.has(c.id)) ? list : undefined;
    },
    60_000,
  );
}

const logEvents = (daemon: DaemonProcess) =>
  daemon
    .log()
    .split(/\r?\n/)
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown> & { msg: string });

describe("stopping a daemon with local clusters", () => {
  const daemons: DaemonProcess[] = [];
  after(async () => {
    for (const d of daemons) await d.destroy();
  });

  it("Ctrl-C keeps the nodes running and says how many and how to stop them; that command stops them; the next start brings the clusters back", async () => {
    const daemon = await DaemonProcess.create(localPoolToml({ capacity: 2, size: 1, autofill: true }), { terminal: true });
    daemons.push(daemon);
    await daemon.start();
    await ready(daemon, 2);
    const held = (await daemon.call("POST", "/v2/cluster_op", { action: "apply", user_id: "alice" })).body.data.id as string;
    const before = (await ready(daemon, 2)).map((c) => c.id).sort();
    const pids = daemon.nodeProcesses().map((p) => p.pid);
    assert.equal(pids.length, 2);

    assert.equal(await daemon.kill("SIGINT"), 0, daemon.log().slice(-3000));
    // The log says it as one event with the count and the command...
    const kept = logEvents(daemon).find((e) => e.msg === "local nodes keep running; the next start adopts them");
    assert.ok(kept, `no "local nodes keep running" event in:\n${daemon.log().slice(-3000)}`);
    assert.equal(kept["nodes"], 2);
    assert.equal(kept["clusters"], 2);
    const stopWith = kept["stop_with"] as string;
    assert.match(stopWith, / down --config \S+ --data \S+$/);
    // ...and the terminal gets it in words, last.
    const lines = daemon.log().trimEnd().split(/\r?\n/);
    assert.deepEqual(lines.slice(-2), [
      "chainpool: 2 local cluster nodes (2 clusters) keep running; the next start adopts them.",
      `chainpool: to stop them too: ${stopWith}`,
    ]);
    assert.deepEqual(pids.filter(isRunning), pids, "the nodes kept running");

    // The command it printed stops them, with no daemon running.
    const down = await run("sh", ["-c", stopWith]);
    assert.equal(down.code, EXIT.OK, down.stderr);
    assert.match(down.stdout, /^down: no daemon at http:\/\/127\.0\.0\.1:\d+; stopped 2 local nodes \(2 clusters\) of \S+ left running/);
    assert.deepEqual(daemon.nodeProcesses(), []);
    assert.deepEqual(pids.filter(isRunning), []);
    const again = await run("sh", ["-c", stopWith]);
    assert.equal(again.code, EXIT.OK, again.stderr);
    assert.match(again.stdout, /nothing to stop/);

    // The next start: the same clusters (not recycled ones), started again; alice keeps hers.
    await daemon.start();
    assert.deepEqual((await ready(daemon, 2)).map((c) => c.id).sort(), before);
    const reapplied = (await daemon.call("POST", "/v2/cluster_op", { action: "apply", user_id: "alice" })).body.data;
    assert.equal(reapplied.id, held);
  });

  it("chainpool down stops a running daemon and every node of its local clusters; the next start brings them back", async () => {
    const daemon = await DaemonProcess.create(localPoolToml({ capacity: 2, size: 1, autofill: true, operatorKey: OPERATOR_KEY, frontKey: FRONT_KEY }));
    daemons.push(daemon);
    await daemon.start();
    const auth = { authorization: `Bearer ${OPERATOR_KEY}` };
    await ready(daemon, 2, auth);
    const held = (await daemon.call("POST", "/v2/cluster_op", { action: "apply", user_id: "alice" }, auth)).body.data.id as string;
    const before = (await ready(daemon, 2, auth)).map((c) => c.id).sort();
    const pids = daemon.nodeProcesses().map((p) => p.pid);
    const dataDir = join(daemon.dir, "data");

    // Refused, and nothing stops: a front key; a data directory that is not this daemon's.
    const front = await cli("down", "--url", daemon.url, "--key", FRONT_KEY, "--data", dataDir);
    assert.equal(front.code, EXIT.UNAUTHORIZED, front.stderr);
    const elsewhere = await cli("down", "--config", daemon.configFile, "--data", join(daemon.dir, "elsewhere"));
    assert.equal(elsewhere.code, EXIT.FAILED, elsewhere.stderr);
    assert.match(elsewhere.stderr, /data_dir: this daemon's data directory is /);
    assert.equal((await daemon.call("GET", "/api/health")).status, 200);
    assert.deepEqual(pids.filter(isRunning), pids);

    const down = await cli("down", "--config", daemon.configFile);
    assert.equal(down.code, EXIT.OK, down.stderr);
    assert.match(down.stdout, /^down: stopped the daemon at http:\/\/127\.0\.0\.1:\d+ \(pid \d+\) and its 2 local nodes \(2 clusters\)/);
    assert.equal(await daemon.exited(), 0, daemon.log().slice(-3000));
    assert.deepEqual(daemon.nodeProcesses(), [], "no node of this data directory runs");
    assert.deepEqual(pids.filter(isRunning), []);
    const stopped = logEvents(daemon).find((e) => e.msg === "local nodes stopped; the next start starts their clusters again");
    assert.equal(stopped?.["nodes"], 2);

    // The intent was written before the kill: each cluster is owed a start.
    const db = new Database(join(dataDir, "chainpool.db"), { readonly: true });
    try {
      const ops = db.prepare("SELECT id, status, op, user_id FROM clusters ORDER BY id").all();
      assert.deepEqual(ops, before.map((id) => ({ id, status: "running", op: "start", user_id: id === held ? "alice" : "" })));
    } finally {
      db.close();
    }

    await daemon.start();
    assert.deepEqual((await ready(daemon, 2, auth)).map((c) => c.id).sort(), before);
    const reapplied = (await daemon.call("POST", "/v2/cluster_op", { action: "apply", user_id: "alice" }, auth)).body.data;
    assert.equal(reapplied.id, held);
  });
});
