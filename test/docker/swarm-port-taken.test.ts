import assert from "node:assert/strict";
import { join } from "node:path";
import { connect, createServer, type Server } from "node:net";
import { after, before, describe, it } from "node:test";
import { LABEL } from "../../src/drivers/docker/labels.ts";
import { openBetterSqlite3 } from "../../src/store/better-sqlite3.ts";
import { getJson, waitFor } from "../chain/helpers/chain-cluster.ts";
import { DaemonProcess } from "../helpers/daemon-process.ts";
import { dockerDaemonToml, destroyDockerDaemon, docker, dockerHostToml, dockerSkipReason, ensureSwarm, startDockerDaemon } from "../helpers/docker.ts";

const skip = await dockerSkipReason();

describe("a swarm host whose host-mode port is held by something else", { skip }, () => {
  let d: DaemonProcess;
  let instance = "";
  let leaveSwarm: () => void = () => undefined;
  let foreign: Server | undefined;
  let taken = 0;
  before(async () => {
    leaveSwarm = await ensureSwarm();
    d = await DaemonProcess.create((ports) => {
      taken = ports.min; // the first port the swarm host would lease
      return dockerDaemonToml(dockerHostToml("swarm", { type: "swarm", capacity: 1 }))(ports);
    });
    // A plain listener, not chainpool's, on every address, as another program on the swarm node would be.
    foreign = createServer((socket) => socket.end("foreign\n"));
    await new Promise<void>((done, fail) => foreign!.once("error", fail).listen({ port: taken, host: "0.0.0.0" }, done));
    instance = await startDockerDaemon(d);
  });
  after(async () => {
    await destroyDockerDaemon(d, instance);
    leaveSwarm();
    await new Promise((done) => foreign?.close(done));
  });

  it("blocks that port, publishes vp0 on another leased one and the cluster becomes healthy", { timeout: 240_000 }, async () => {
    const [cluster] = await waitFor("a free healthy cluster", async () => {
      const f = (await d.call("POST", "/v2/clusters", { user: "", status: "running", health: "OK" })).body.data as Array<{ id: string; api_url: string }>;
      return f.length === 1 && f;
    }, 180_000).catch((err) => {
      const problems = d.log().split("\n").filter((l) => /"(warn|error)"/.test(l));
      throw new Error(`${(err as Error).message}; daemon said: ${problems.slice(-5).join("\n")}`);
    });
    const port = Number(new URL(cluster!.api_url).port);
    assert.notEqual(port, taken, "api_url is not the port the listener holds");
    assert.equal((await getJson(`${cluster!.api_url}/chain`)).status, 200);

    const services = await docker.listServices({ filters: { label: [`${LABEL.instance}=${instance}`] } });
    const vp0 = services.find((s) => s.Spec?.Labels?.[LABEL.node] === "vp0")!;
    assert.deepEqual(vp0.Spec?.EndpointSpec?.Ports?.map((p) => [p.PublishedPort, p.PublishMode]), [[port, "host"]], "vp0 is published on the new port");

    const blocked = d.log().split("\n").filter((l) => l.includes("taken by something chainpool does not own") && l.includes(`"port":${taken}`));
    assert.ok(blocked.length >= 1, "the swarm driver says which port it found taken");
    const db = openBetterSqlite3(join(d.dir, "data", "chainpool.db"));
    try {
      const row = db.prepare("SELECT cluster_id FROM port_leases WHERE port = ? AND domain NOT LIKE '%#subnet'").get<{ cluster_id: string }>([taken]);
      assert.equal(row?.cluster_id, "!blocked", "the taken port is blocked, not leased to the cluster");
    } finally {
      db.close();
    }
    // The listener was left alone.
    const reply = await new Promise<string>((done, fail) => {
      const socket = connect(taken, "127.0.0.1");
      let text = "";
      socket.on("data", (b: Buffer) => (text += b.toString())).on("end", () => done(text)).on("error", fail);
    });
    assert.equal(reply, "foreign\n");
  });
});
