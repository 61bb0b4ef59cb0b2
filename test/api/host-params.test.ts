import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { dockerDriverFactory, imageResolver } from "../../src/drivers/docker/driver.ts";
import { swarmDriverFactory } from "../../src/drivers/docker/swarm.ts";
import { localDriverFactory } from "../../src/drivers/local/driver.ts";
import { subnetPool, type SubnetPool } from "../../src/lib/subnets.ts";
import { createTestDaemon, type TestDaemon } from "../helpers/daemon.ts";

// Adding a host contacts nothing and starts nothing: these run without a Docker engine, and no
// local node is spawned (autofill stays off).
describe("host params: each host type takes only the params it reads", () => {
  let t: TestDaemon;
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "chainpool-params-"));
    const options = { nodeImage: imageResolver({ nodeCommand: [process.execPath] }), nodeMemoryMb: 128, nodeCpus: 1 };
    t = createTestDaemon({}, {
      local: localDriverFactory({ root: join(dir, "clusters"), nodeCommand: [process.execPath] }),
      docker: dockerDriverFactory({ ...options, subnets: subnetPool("10.200.0.0/16", 26) as SubnetPool, subnetPrefix: 26, machineAddresses: new Set<string>() }),
      swarm: swarmDriverFactory(options),
    });
  });
  after(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const hosts = async () => (await t.call("GET", "/api/hosts")).body.data as Array<{ id: string; name: string; daemon_url: string; params?: unknown }>;
  const add = (body: Record<string, unknown>) => t.call("POST", "/api/host", { autofill: false, capacity: 1, ...body });
  const unix = "unix:///var/run/docker.sock";

  const refused: Array<[string, Record<string, unknown>, RegExp]> = [
    ["a local host with a daemon_url", { type: "local", daemon_url: "tcp://10.0.0.1:2375" }, /^daemon_url: local hosts take no daemon_url/],
    ["a local host with params", { type: "local", params: { public_host: "example.org" } }, /^params\.public_host: unknown param; local hosts take no params/],
    ["params as an array", { type: "local", params: ["public_host"] }, /^params: expected an object, got an array/],
    ["params as a string", { type: "docker", daemon_url: unix, params: "public_host=x" }, /^params: expected an object, got "public_host=x"/],
    ["two unknown params, both named", { type: "docker", daemon_url: unix, params: { colour: "red", size: 3 } }, /^params\.colour: unknown param; docker hosts take .*; params\.size: unknown param/],
    ["public_host with a scheme", { type: "docker", daemon_url: unix, params: { public_host: "http://example.org" } }, /^params\.public_host: "http:\/\/example\.org" is not a hostname or IP address/],
    ["public_host with a path", { type: "docker", daemon_url: unix, params: { public_host: "example.org/x" } }, /^params\.public_host: /],
    ["public_host with a port", { type: "swarm", daemon_url: unix, params: { public_host: "example.org:8080" } }, /^params\.public_host: /],
    ["public_host with a space", { type: "docker", daemon_url: unix, params: { public_host: "exa mple.org" } }, /^params\.public_host: /],
    ["public_host with a control character", { type: "docker", daemon_url: unix, params: { public_host: "example.org\n" } }, /^params\.public_host: /],
    ["public_host as an out-of-range IPv4", { type: "docker", daemon_url: unix, params: { public_host: "300.1.2.3" } }, /^params\.public_host: /],
    ["public_host as a bare IPv6", { type: "docker", daemon_url: unix, params: { public_host: "fd00::5" } }, /^params\.public_host: .*IPv6 in brackets/],
    ["public_host that is not a string", { type: "docker", daemon_url: unix, params: { public_host: 5 } }, /^params\.public_host: must be a string/],
    ["a TLS file that is an object", { type: "docker", daemon_url: unix, params: { tls_ca: { path: "/x" } } }, /^params\.tls_ca: must be a non-empty string/],
    ["insecure as a string", { type: "swarm", daemon_url: unix, params: { insecure: "true" } }, /^params\.insecure: must be true or false/],
    ["subnet_pool on a swarm host", { type: "swarm", daemon_url: unix, params: { subnet_pool: "10.9.0.0/16" } }, /^params\.subnet_pool: unknown param; swarm hosts take/],
    ["publish_ip as a name", { type: "docker", daemon_url: unix, params: { publish_ip: "localhost" } }, /^params\.publish_ip: "localhost" is not an IP address/],
    ["publish_ip as a bracketed IPv6", { type: "docker", daemon_url: unix, params: { publish_ip: "[::1]" } }, /^params\.publish_ip: .*no name, brackets or port/],
    ["publish_ip with a port", { type: "docker", daemon_url: unix, params: { publish_ip: "127.0.0.1:80" } }, /^params\.publish_ip: /],
    ["publish_ip that is not a string", { type: "docker", daemon_url: unix, params: { publish_ip: 127 } }, /^params\.publish_ip: must be a string/],
    ["node_engines on a docker host", { type: "docker", daemon_url: unix, params: { node_engines: [unix] } }, /^params\.node_engines: unknown param; docker hosts take/],
    ["node_engines as a string", { type: "swarm", daemon_url: unix, params: { node_engines: "tcp://10.0.0.6:2376" } }, /^params\.node_engines: must be a list of engine URLs/],
    ["node_engines with an http URL", { type: "swarm", daemon_url: unix, params: { node_engines: [unix, "http://10.0.0.6:2376"] } }, /^params\.node_engines: entry 1: "http:\/\/10\.0\.0\.6:2376" is not an engine URL/],
    ["node_engines with a number", { type: "swarm", daemon_url: unix, params: { node_engines: [2376] } }, /^params\.node_engines: entry 0: 2376 is not an engine URL/],
    ["node_engines naming one engine twice", { type: "swarm", daemon_url: unix, params: { node_engines: [unix, unix] } }, /^params\.node_engines: entry 1: unix:\/\/\/var\/run\/docker\.sock is named twice/],
    ["node_engines with plain tcp to another machine", { type: "swarm", daemon_url: unix, params: { node_engines: ["tcp://10.0.0.6:2375"] } }, /^params\.node_engines: entry 0: plain tcp to 10\.0\.0\.6 gives root on it/],
    ["publish_ip on a swarm host, saying why", { type: "swarm", daemon_url: unix, params: { publish_ip: "127.0.0.1" } }, /^params\.publish_ip: swarm hosts cannot publish on one address: Docker takes no address for a service's published port/],
  ];
  for (const [i, [what, body, error]] of refused.entries()) {
    it(`error: POST refuses ${what} with a 400 naming it, and adds nothing`, async () => {
      const before = (await hosts()).length;
      const r = await add({ name: `bad${i}`, ...body });
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.match(r.body.error, error);
      assert.equal((await hosts()).length, before);
    });
  }

  const accepted: Array<[string, Record<string, unknown>]> = [
    ["a local host with neither", { type: "local" }],
    ["a local host with an empty daemon_url and empty params", { type: "local", daemon_url: "", params: {} }],
    ["public_host as a hostname", { type: "docker", daemon_url: unix, params: { public_host: "pool-1.example.org" } }],
    ["public_host as an IPv4 address", { type: "swarm", daemon_url: unix, params: { public_host: "203.0.113.9" } }],
    ["public_host as a bracketed IPv6 address", { type: "docker", daemon_url: unix, params: { public_host: "[2001:db8::9]" } }],
    ["insecure and a subnet_pool on a docker host", { type: "docker", daemon_url: "tcp://10.1.2.3:2375", params: { insecure: true, subnet_pool: "10.150.0.0/16" } }],
    ["publish_ip as an IPv4 address", { type: "docker", daemon_url: unix, params: { publish_ip: "127.0.0.1" } }],
    ["publish_ip as a bare IPv6 address", { type: "docker", daemon_url: unix, params: { publish_ip: "::1" } }],
    ["node_engines on a swarm host: sockets, and tcp with insecure", { type: "swarm", daemon_url: unix, params: { insecure: true, node_engines: [unix, "unix:///run/n2.sock", "tcp://10.0.0.6:2375", "tcp://[fd00::7]:2375"] } }],
    ["publish_ip as every address", { type: "docker", daemon_url: "tcp://10.1.2.3:2375", params: { insecure: true, publish_ip: "0.0.0.0" } }],
  ];
  for (const [i, [what, body]] of accepted.entries()) {
    it(`happy: POST accepts ${what}`, async () => {
      const r = await add({ name: `good${i}`, ...body });
      assert.equal(r.status, 201, JSON.stringify(r.body));
    });
  }

  it("error: PUT applies the same rules to the host's type, and changes nothing", async () => {
    const local = await add({ name: "put-local", type: "local" });
    const docker = await add({ name: "put-docker", type: "docker", daemon_url: unix });
    const cases: Array<[string, Record<string, unknown>, RegExp]> = [
      [local.body.data.id, { daemon_url: "unix:///var/run/docker.sock" }, /^daemon_url: local hosts take no daemon_url/],
      [local.body.data.id, { params: { insecure: true } }, /^params\.insecure: unknown param; local hosts take no params/],
      [docker.body.data.id, { params: ["tls_ca"] }, /^params: expected an object, got an array/],
      [docker.body.data.id, { params: { public_host: "https://x.example" } }, /^params\.public_host: /],
      [docker.body.data.id, { params: { nonsense: 1 } }, /^params\.nonsense: unknown param; docker hosts take/],
    ];
    for (const [id, patch, error] of cases) {
      const before = JSON.stringify(await hosts());
      const r = await t.call("PUT", "/api/host", { id, ...patch });
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.match(r.body.error, error);
      assert.equal(JSON.stringify(await hosts()), before, "nothing changed");
    }
    const ok = await t.call("PUT", "/api/host", { id: docker.body.data.id, params: { public_host: "203.0.113.10" } });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
  });
});
