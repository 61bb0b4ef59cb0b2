import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { LABEL } from "../../src/drivers/docker/labels.ts";
import { openBetterSqlite3 } from "../../src/store/better-sqlite3.ts";
import { getJson, waitFor } from "../chain/helpers/chain-cluster.ts";
import { DaemonProcess } from "../helpers/daemon-process.ts";
import { containersOf, dockerDaemonToml, destroyDockerDaemon, dockerHostToml, dockerSkipReason, startDockerDaemon } from "../helpers/docker.ts";

const skip = await dockerSkipReason();

/** What the drivers log when a port they were leased is held by something chainpool does not own. */
const FOUND_TAKEN = /taken by something chainpool does not own|in use by something else/;

describe("a local host and a docker host on this machine's engine share one port ledger", { skip }, () => {
  let d: DaemonProcess;
  let instance = "";
  before(async () => {
    // Both hosts publish on this machine's ports, from the same [ports] range.
    d = await DaemonProcess.create(
      dockerDaemonToml(`
[[hosts]]
name = "local"
type = "local"
capacity = 2
autofill = true
${dockerHostToml("dock", { capacity: 2 })}`),
    );
    instance = await startDockerDaemon(d);
  });
  after(() => destroyDockerDaemon(d, instance));

  it("fills both hosts with every cluster healthy, no port leased twice and none found taken", { timeout: 240_000 }, async () => {
    const free = await waitFor("four free healthy clusters", async () => {
      const f = (await d.call("POST", "/v2/clusters", { user: "", status: "running", health: "OK" })).body.data as Array<{ id: string; host_id: string; api_url: string; service_url: Record<string, string> }>;
      return f.length === 4 && f;
    }, 180_000).catch((err) => {
      const problems = d.log().split("\n").filter((l) => /"(warn|error)"/.test(l));
      throw new Error(`${(err as Error).message}; daemon said: ${problems.slice(-5).join("\n")}`);
    });
    const hosts = (await d.call("GET", "/api/hosts")).body.data as Array<{ id: string; name: string }>;
    const hostOf = Object.fromEntries(hosts.map((h) => [h.id, h.name]));
    assert.deepEqual(free.map((c) => hostOf[c.host_id]).sort(), ["dock", "dock", "local", "local"]);

    const taken = d.log().split("\n").filter((l) => FOUND_TAKEN.test(l));
    assert.deepEqual(taken, [], "no host finds a port the other host's clusters hold");

    // The ports in use: every local node's, and the host port every docker node publishes.
    const localPorts = free.filter((c) => hostOf[c.host_id] === "local").flatMap((c) => Object.values(c.service_url).map((u) => Number(new URL(u).port)));
    const published = (await containersOf(instance)).flatMap((c) => c.Ports.filter((p) => p.PublicPort !== undefined).map((p) => p.PublicPort));
    assert.equal(localPorts.length, 8);
    assert.equal(new Set(published).size, 8);
    assert.equal(new Set([...localPorts, ...published]).size, 16, "no port serves two clusters");

    const db = openBetterSqlite3(join(d.dir, "data", "chainpool.db"));
    try {
      const leases = db.prepare("SELECT domain, port, cluster_id FROM port_leases WHERE domain NOT LIKE '%#subnet'").all<{ domain: string; port: number; cluster_id: string }>();
      assert.equal(new Set(leases.map((l) => l.domain)).size, 1, `one ledger for the machine: ${JSON.stringify(leases)}`);
      assert.deepEqual(leases.map((l) => l.port).sort((a, b) => a - b), [...localPorts, ...published].sort((a, b) => a - b), "exactly the ports in use are leased, none blocked");
    } finally {
      db.close();
    }
    for (const c of free) assert.equal((await getJson(`${c.api_url}/chain`)).status, 200);
  });
});
