import assert from "node:assert/strict";
import { join } from "node:path";
import { connect, createServer, type Server } from "node:net";
import { after, before, describe, it } from "node:test";
import { LABEL } from "../../src/drivers/docker/labels.ts";
import { openBetterSqlite3 } from "../../src/store/better-sqlite3.ts";
import { getJson, waitFor } from "../chain/helpers/chain-cluster.ts";
import { DaemonProcess } from "../helpers/daemon-process.ts";
import { containersOf, dockerDaemonToml, destroyDockerDaemon, dockerHostToml, dockerSkipReason, startDockerDaemon } from "../helpers/docker.ts";

const skip = await dockerSkipReason();

describe("a docker host whose node port is held by something else", { skip }, () => {
  let d: DaemonProcess;
  let instance = "";
  let foreign: Server | undefined;
  let taken = 0;
  before(async () => {
    d = await DaemonProcess.create((ports) => {
      taken = ports.min + 1; // vp1's: a cluster's ports are leased at once, lowest first, vp0 the lowest
      return dockerDaemonToml(dockerHostToml("dock", { capacity: 1 }))(ports);
    });
    // A plain listener, not chainpool's, on every address, as another program would be.
    foreign = createServer((socket) => socket.end("foreign\n"));
    await new Promise<void>((done, fail) => foreign!.once("error", fail).listen({ port: taken, host: "0.0.0.0" }, done));
    instance = await startDockerDaemon(d);
  });
  after(async () => {
    await destroyDockerDaemon(d, instance);
    await new Promise((done) => foreign?.close(done));
  });

  it("blocks that port, publishes vp1 on another leased one and the cluster becomes healthy", { timeout: 180_000 }, async () => {
    const [cluster] = await waitFor("a free healthy cluster", async () => {
      const f = (await d.call("POST", "/v2/clusters", { user: "", status: "running", health: "OK" })).body.data as Array<{ id: string; service_url: Record<string, string> }>;
      return f.length === 1 && f;
    }, 120_000).catch((err) => {
      const problems = d.log().split("\n").filter((l) => /"(warn|error)"/.test(l));
      throw new Error(`${(err as Error).message}; daemon said: ${problems.slice(-5).join("\n")}`);
    });
    const vp1 = cluster!.service_url["vp1"]!;
    const port = Number(new URL(vp1).port);
    assert.notEqual(port, taken, "vp1's URL is not the port the listener holds");
    for (const url of Object.values(cluster!.service_url)) assert.equal((await getJson(`${url}/chain`)).status, 200, url);
    const container = (await containersOf(instance)).find((c) => c.Labels[LABEL.node] === "vp1")!;
    assert.deepEqual(container.Ports.filter((p) => p.PublicPort !== undefined).map((p) => p.PublicPort), [port], "vp1 is published on the new port");

    const blocked = d.log().split("\n").filter((l) => l.includes("taken by something chainpool does not own") && l.includes('"node":"vp1"') && l.includes(`"port":${taken}`));
    assert.ok(blocked.length >= 1, "the docker driver says which port it found taken");
    const db = openBetterSqlite3(join(d.dir, "data", "chainpool.db"));
    try {
      const row = db.prepare("SELECT cluster_id FROM port_leases WHERE port = ? AND domain NOT LIKE '%#subnet'").get<{ cluster_id: string }>([taken]);
      assert.equal(row?.cluster_id, "!blocked", "the taken port is blocked, not leased to the cluster");
    } finally {
      db.close();
    }
    const reply = await new Promise<string>((done, fail) => {
      const socket = connect(taken, "127.0.0.1");
      let text = "";
      socket.on("data", (b: Buffer) => (text += b.toString())).on("end", () => done(text)).on("error", fail);
    });
    assert.equal(reply, "foreign\n", "the listener was left alone");
  });
});
