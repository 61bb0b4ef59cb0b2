/**
 * Every CLI command against a real daemon (dist/chainpool serve, one local host whose
 * clusters are single real node processes), through the executable's CLI, with the exit
 * codes scripts rely on.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import Database from "better-sqlite3";
import { EXIT } from "../../src/cli/exit-codes.ts";
import { waitFor } from "../chain/helpers/chain-cluster.ts";
import { DaemonProcess, localPoolToml } from "../helpers/daemon-process.ts";
import { ensureExe, run, type RunResult } from "../helpers/exe.ts";

const OPERATOR_KEY = "cli-test-operator-key-0123456789";
const FRONT_KEY = "cli-test-front-key-000123456789";

interface Cluster {
  id: string;
  name: string;
  status: string;
  health: string;
  user_id: string;
  api_url: string;
  size: number;
}

describe("chainpool CLI commands against a running daemon", () => {
  let exe: string;
  let daemon: DaemonProcess;
  let scratch: string;
  const env = () => ({ ...process.env, CHAINPOOL_URL: daemon.url, CHAINPOOL_API_KEY: OPERATOR_KEY });
  const cli = (...args: string[]): Promise<RunResult> => run(exe, args, { env: env() });
  const ok = async (...args: string[]): Promise<string> => {
    const r = await cli(...args);
    assert.equal(r.code, EXIT.OK, `chainpool ${args.join(" ")} -> ${r.code}: ${r.stderr}`);
    return r.stdout;
  };
  const okJson = async <T>(...args: string[]): Promise<T> => JSON.parse(await ok(...args, "--json")) as T;
  const clusters = () => okJson<Cluster[]>("clusters", "ls");

  before(async () => {
    exe = await ensureExe();
    scratch = mkdtempSync(join(tmpdir(), "chainpool-cli-"));
    daemon = await DaemonProcess.create(
      localPoolToml({ capacity: 2, size: 1, autofill: false, operatorKey: OPERATOR_KEY, frontKey: FRONT_KEY }),
      { command: [exe, "serve"] },
    );
    await daemon.start();
  });

  after(async () => {
    await daemon.destroy();
    rmSync(scratch, { recursive: true, force: true });
  });

  it("version prints its own version and the daemon's", async () => {
    const v = await okJson<{ version: string; runtime: string; daemon: { version: string } }>("version");
    assert.equal(v.daemon.version, v.version);
    assert.match(v.runtime, /^sea v24\./);
    assert.match(await ok("version"), /^chainpool \d+\.\d+\.\d+ \(sea v24\.[^)]*\)\ndaemon: \S+ at http/);
  });

  it("hosts ls shows a table for people and JSON for scripts", async () => {
    const table = await ok("hosts", "ls");
    assert.match(table.split("\n")[0]!, /^ID\s+NAME\s+TYPE\s+STATUS\s+CLUSTERS/);
    assert.match(table, /\blocal\s+local\s+active\s+0\/2\b/);
    const hosts = await okJson<Array<{ name: string; capacity: number }>>("hosts", "ls");
    assert.deepEqual(hosts.map((h) => [h.name, h.capacity]), [["local", 2]]);
  });

  it("hosts add and hosts rm register and remove a host; a missing one is exit 5", async () => {
    const added = await okJson<{ id: string; name: string; capacity: number; autofill: boolean }>("hosts", "add", "spare", "--capacity", "1");
    assert.deepEqual([added.name, added.capacity, added.autofill], ["spare", 1, false]);
    assert.match(await ok("hosts", "ls"), /\bspare\b/);
    assert.match(await ok("hosts", "rm", "spare"), /host spare removed/);
    assert.doesNotMatch(await ok("hosts", "ls"), /\bspare\b/);
    const missing = await cli("hosts", "rm", "spare");
    assert.equal(missing.code, EXIT.NOT_FOUND);
    assert.match(missing.stderr, /^chainpool: host "spare" not found/);
    const bad = await cli("hosts", "add", "bad name");
    assert.equal(bad.code, EXIT.USAGE);
    assert.match(bad.stderr, /^chainpool: name: /);
  });

  it("hosts fillup shows progress until the host is full of ready clusters", async () => {
    const r = await cli("hosts", "fillup", "local");
    assert.equal(r.code, EXIT.OK, r.stderr);
    const lines = r.stderr.trimEnd().split("\n");
    assert.match(lines[0]!, /^fillup local: 2 clusters asked for$/);
    assert.match(lines.at(-1)!, /^fillup local: 2\/2 ready - done$/);
    assert.ok(lines.length >= 3, `progress was shown while waiting:\n${r.stderr}`);
    const list = await clusters();
    assert.equal(list.length, 2);
    assert.ok(list.every((c) => c.status === "running" && c.health === "OK"));
  });

  it("clusters ls and clusters get show the pool", async () => {
    const list = await clusters();
    const table = await ok("clusters", "ls", "--host", "local");
    for (const c of list) assert.match(table, new RegExp(`^${c.id}\\s+${c.name}\\s+noopsx1\\s+running\\s+OK\\s+-\\s+http`, "m"));
    const one = await okJson<Cluster>("clusters", "get", list[0]!.id);
    assert.equal(one.id, list[0]!.id);
    assert.match(await ok("clusters", "get", list[0]!.id), new RegExp(`^id:\\s+${list[0]!.id}$`, "m"));
    assert.equal((await cli("clusters", "get", "0123456789abcdef01234567")).code, EXIT.NOT_FOUND);
  });

  it("apply prints a working api_url; with none free it is exit 6", async () => {
    const api = (await ok("apply", "alice")).trim();
    const chain = await fetch(`${api}/chain`);
    assert.equal(chain.status, 200);
    const held = (await clusters()).filter((c) => c.user_id === "alice");
    assert.equal(held.length, 1);
    assert.equal(held[0]!.api_url, api);
    const none = await cli("apply", "bob", "--size", "7");
    assert.equal(none.code, EXIT.NO_CLUSTER);
    assert.match(none.stderr, /no free cluster for user bob matching size=7/);
  });

  it("clusters rotate-secret prints the new api_url; the old one is a bare 404 at once, the ledger the same", async () => {
    const [held] = (await clusters()).filter((c) => c.user_id === "alice");
    const height = (await (await fetch(`${held!.api_url}/chain`)).json()) as { height: number };
    const fresh = (await ok("clusters", "rotate-secret", held!.id)).trim();
    assert.match(fresh, /^http:\/\/127\.0\.0\.1:\d+\/[A-Za-z0-9_-]{32}$/);
    assert.notEqual(fresh, held!.api_url);
    assert.equal(new URL(fresh).origin, new URL(held!.api_url).origin, "same node, new secret");
    const old = await fetch(`${held!.api_url}/chain`);
    assert.deepEqual([old.status, await old.text()], [404, '{"Error":"not found"}']);
    assert.deepEqual(await (await fetch(`${fresh}/chain`)).json(), height);
    assert.equal((await clusters()).find((c) => c.id === held!.id)!.api_url, fresh);
    assert.equal((await cli("clusters", "rotate-secret", "0123456789abcdef01234567")).code, EXIT.NOT_FOUND);
  });

  it("chaincode commands work at the api_url apply handed out, and a rotated-away one is exit 5", async () => {
    const [held] = (await clusters()).filter((c) => c.user_id === "alice");
    const api = held!.api_url;
    const name = (await ok("chaincode", "deploy", "map", "--url", api)).trim();
    assert.match((await ok("chaincode", "invoke", name, "put", "owner", "alice", "--wait", "--url", api)).split("\n")[0]!, /^\S+$/);
    assert.equal(await ok("chaincode", "query", name, "get", "owner", "--url", api), "alice\n");
    const fresh = (await ok("clusters", "rotate-secret", held!.id)).trim();
    const stale = await cli("chaincode", "query", name, "get", "owner", "--url", api);
    assert.equal(stale.code, EXIT.NOT_FOUND, stale.stderr);
    assert.match(stale.stderr, /no cluster answers at this URL \(HTTP 404\).*rotate-secret/);
    assert.equal(await ok("chaincode", "query", name, "get", "owner", "--url", fresh), "alice\n", "the ledger kept");
  });

  it("a front key may apply but not use operator commands (exit 4); a wrong key is exit 4", async () => {
    const front = await run(exe, ["apply", "carol", "--json"], { env: { ...env(), CHAINPOOL_API_KEY: FRONT_KEY } });
    assert.equal(front.code, EXIT.OK, front.stderr);
    const denied = await run(exe, ["hosts", "ls"], { env: { ...env(), CHAINPOOL_API_KEY: FRONT_KEY } });
    assert.equal(denied.code, EXIT.UNAUTHORIZED);
    const wrong = await run(exe, ["stat", "--key", "not-the-key-at-all-0000"], { env: env() });
    assert.equal(wrong.code, EXIT.UNAUTHORIZED);
    assert.match(wrong.stderr, /API key not recognised/);
  });

  it("release gives back a user's clusters, which are recycled", async () => {
    const before = (await clusters()).filter((c) => c.user_id !== "").map((c) => c.id);
    assert.equal(before.length, 2);
    const r = await okJson<{ released: string[] }>("release", "--user", "alice");
    assert.equal(r.released.length, 1);
    const byId = await okJson<{ released: string[] }>("release", "--cluster", before.find((id) => id !== r.released[0])!);
    assert.equal(byId.released.length, 1);
    assert.equal((await cli("release")).code, EXIT.USAGE);
    await waitFor("the released clusters to be replaced", async () => {
      const list = await clusters();
      return list.length === 2 && list.every((c) => !before.includes(c.id) && c.health === "OK" && c.user_id === "") ? list : undefined;
    }, 30_000);
  });

  it("clusters rm deletes one and clusters create --wait makes a ready one", async () => {
    const [first] = await clusters();
    assert.match(await ok("clusters", "rm", first!.id), /deleting/);
    await waitFor("the cluster to go", async () => ((await clusters()).some((c) => c.id === first!.id) ? undefined : true), 20_000);
    const made = await okJson<Cluster>("clusters", "create", "local", "--size", "1", "--wait");
    assert.equal(made.status, "running");
    assert.equal(made.health, "OK");
    assert.equal((await fetch(`${made.api_url}/chain`)).status, 200);
  });

  it("stat reports the pool as JSON and as text", async () => {
    const s = await okJson<{ hosts: { total: number }; clusters: { total: number; free: number; in_use: number }; released_total: number }>("stat");
    assert.equal(s.hosts.total, 1);
    assert.equal(s.clusters.total, 2);
    assert.equal(s.released_total, 2);
    assert.match(await ok("stat"), /^released_total: 2$/m);
  });

  it("backup writes a consistent copy of the database that opens", async () => {
    const file = join(scratch, "copy.db");
    assert.match(await ok("backup", file), /bytes written to/);
    const db = new Database(file, { readonly: true });
    try {
      assert.equal(db.prepare("PRAGMA integrity_check").pluck().get(), "ok");
      assert.equal(db.prepare("SELECT COUNT(*) FROM clusters").pluck().get(), 2);
      assert.equal(db.prepare("SELECT COUNT(*) FROM releases").pluck().get(), 2);
    } finally {
      db.close();
    }
  });

  it("hosts clean deletes the free clusters, hosts reset empties the host, both waiting", async () => {
    const clean = await cli("hosts", "clean", "local");
    assert.equal(clean.code, EXIT.OK, clean.stderr);
    assert.match(clean.stderr, /clean local: 0\/0 ready - done/);
    assert.equal((await clusters()).length, 0);
    await ok("hosts", "fillup", "local");
    assert.equal((await clusters()).length, 2);
    await ok("apply", "dave");
    const reset = await cli("hosts", "reset", "local", "--json");
    assert.equal(reset.code, EXIT.OK, reset.stderr);
    assert.equal((JSON.parse(reset.stdout) as { deleted: string[] }).deleted.length, 2);
    assert.equal((await clusters()).length, 0);
  });

  it("--wait that cannot be met is exit 7 after --timeout", async () => {
    // 64 nodes do not fit the 40 ports this daemon has: the cluster never gets ready.
    const started = Date.now();
    const r = await cli("clusters", "create", "local", "--size", "64", "--wait", "--timeout", "1.5");
    assert.equal(r.code, EXIT.TIMEOUT, r.stderr);
    assert.ok(Date.now() - started >= 1_500);
    assert.match(r.stderr, /not ready within 1\.5 s/);
    const [stuck] = await clusters();
    assert.equal(stuck?.size, 64);
    await ok("clusters", "rm", stuck!.id);
  });

  it("scripts can tell an unreachable daemon (3) from a usage error (2)", async () => {
    const down = await run(exe, ["stat", "--url", "http://127.0.0.1:9"], { env: env() });
    assert.equal(down.code, EXIT.UNREACHABLE);
    assert.match(down.stderr, /^chainpool: cannot reach the chainpool daemon at http:\/\/127\.0\.0\.1:9/);
    const usage = await cli("clusters", "frobnicate");
    assert.equal(usage.code, EXIT.USAGE);
    assert.match(usage.stderr, /clusters: unknown subcommand "frobnicate" \(known: ls, get, create, rotate-secret, rm\)/);
    const flag = await cli("stat", "--bogus");
    assert.equal(flag.code, EXIT.USAGE);
  });

  it("--config takes the daemon's address and operator key from its config file", async () => {
    const s = await run(exe, ["stat", "--json", "--config", daemon.configFile], { env: { PATH: process.env["PATH"] } });
    assert.equal(s.code, EXIT.OK, s.stderr);
    assert.equal((JSON.parse(s.stdout) as { hosts: { total: number } }).hosts.total, 1);
  });

  it("check-config, in-process too: good file 0, each wrong key named, exit 2", async () => {
    const bad = join(scratch, "bad.toml");
    writeFileSync(bad, `log_level = "loud"\n[api]\nfront_keys = ["short"]\n[[hosts]]\nname = "x"\ntype = "vm"\n`);
    const r = await cli("check-config", bad, "--json");
    assert.equal(r.code, EXIT.USAGE);
    const problems = (JSON.parse(r.stdout) as { problems: string[] }).problems.map((p) => p.split(":")[0]);
    assert.deepEqual(problems, ["log_level", "api.front_keys.0", "hosts.0.type"]);
    assert.equal((await cli("check-config", daemon.configFile)).code, EXIT.OK);
    assert.equal((await cli("check-config", join(scratch, "missing.toml"))).code, EXIT.USAGE);
  });
});
