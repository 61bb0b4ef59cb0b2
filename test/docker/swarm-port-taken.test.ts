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

describe("a swarm host whose host-mode ports are held by something else", { skip }, () => {
  let d: DaemonProcess;
  let instance = "";
  let leaveSwarm: () => void = () => undefined;
  const foreign: Server[] = [];
  /** node -> the port something else holds: the ports the swarm host would lease vp0 and vp2 first. */
  const taken: Record<string, number> = {};
  before(async () => {
    leaveSwarm = await ensureSwarm();
    d = await DaemonProcess.create((ports) => {
      // A cluster's ports are leased at once, lowest first, vp0 the lowest.
      taken["vp0"] = ports.min;
      taken["vp2"] = ports.min + 2;
      return dockerDaemonToml(dockerHostToml("swarm", { type: "swarm", capacity: 1 }))(ports);
    });
    // Plain listeners, not chainpool's, on every address, as another program on the swarm node would be.
    for (const port of Object.values(taken)) {
      const server = createServer((socket) => socket.end("foreign\n"));
      await new Promise<void>((done, fail) => server.once("error", fail).listen({ port, host: "0.0.0.0" }, done));
      foreign.push(server);
    }
    instance = await startDockerDaemon(d);
  });
  after(async () => {
    await destroyDockerDaemon(d, instance);
    leaveSwarm();
    for (const server of foreign) await new Promise((done) => server.close(done));
  });

  it("blocks those ports, publishes vp0 and vp2 on other leased ones and the cluster becomes healthy", { timeout: 240_000 }, async () => {
    const [cluster] = await waitFor("a free healthy cluster", async () => {
      const f = (await d.call("POST", "/v2/clusters", { user: "", status: "running", health: "OK" })).body.data as Array<{ id: string; api_url: string; service_url: Record<string, string> }>;
      return f.length === 1 && f;
    }, 180_000).catch((err) => {
      const problems = d.log().split("\n").filter((l) => /"(warn|error)"/.test(l));
      throw new Error(`${(err as Error).message}; daemon said: ${problems.slice(-5).join("\n")}`);
    });
    const services = await docker.listServices({ filters: { label: [`${LABEL.instance}=${instance}`] } });
    for (const [node, held] of Object.entries(taken)) {
      const url = cluster!.service_url[node]!;
      const port = Number(new URL(url).port);
      assert.notEqual(port, held, `${node}'s URL is not the port the listener holds`);
      assert.equal((await getJson(`${url}/chain`)).status, 200);
      const service = services.find((s) => s.Spec?.Labels?.[LABEL.node] === node)!;
      assert.deepEqual(service.Spec?.EndpointSpec?.Ports?.map((p) => [p.PublishedPort, p.PublishMode]), [[port, "host"]], `${node} is published on the new port`);
      const blocked = d.log().split("\n").filter((l) => l.includes("taken by something chainpool does not own") && l.includes(`"node":"${node}"`) && l.includes(`"port":${held}`));
      assert.ok(blocked.length >= 1, `the swarm driver says which port of ${node} it found taken`);
    }
    assert.equal(cluster!.api_url, cluster!.service_url["vp0"]);
    for (const url of Object.values(cluster!.service_url)) assert.equal((await getJson(`${url}/chain`)).status, 200, url);

    const db = openBetterSqlite3(join(d.dir, "data", "chainpool.db"));
    try {
      for (const held of Object.values(taken)) {
        const row = db.prepare("SELECT cluster_id FROM port_leases WHERE port = ? AND domain NOT LIKE '%#subnet'").get<{ cluster_id: string }>([held]);
        assert.equal(row?.cluster_id, "!blocked", `${held} is blocked, not leased to the cluster`);
      }
    } finally {
      db.close();
    }
    // The listeners were left alone.
    for (const held of Object.values(taken)) {
      const reply = await new Promise<string>((done, fail) => {
        const socket = connect(held, "127.0.0.1");
        let text = "";
        socket.on("data", (b: Buffer) => (text += b.toString())).on("end", () => done(text)).on("error", fail);
      });
      assert.equal(reply, "foreign\n");
    }
  });
});
