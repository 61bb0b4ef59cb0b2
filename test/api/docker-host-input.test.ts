import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { dockerDriverFactory, imageResolver } from "../../src/drivers/docker/driver.ts";
import { swarmDriverFactory } from "../../src/drivers/docker/swarm.ts";
import { subnetPool, type SubnetPool } from "../../src/lib/subnets.ts";
import { createTestDaemon, type TestDaemon } from "../helpers/daemon.ts";

// Adding a host contacts nothing: these run without a Docker engine.
describe("docker and swarm hosts: what the operator API accepts", () => {
  let t: TestDaemon;
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "chainpool-tls-"));
    for (const f of ["ca.pem", "cert.pem", "key.pem"]) writeFileSync(join(dir, f), "-----BEGIN TEST-----\n");
    const options = { nodeImage: imageResolver({ nodeCommand: [process.execPath] }), nodeMemoryMb: 128, nodeCpus: 1 };
    t = createTestDaemon({}, {
      docker: dockerDriverFactory({ ...options, subnets: subnetPool("10.200.0.0/16", 26) as SubnetPool, subnetPrefix: 26, machineAddresses: new Set<string>() }),
      swarm: swarmDriverFactory(options),
    });
  });
  after(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const add = (body: Record<string, unknown>) => t.call("POST", "/api/host", { capacity: 2, ...body });
  const hostCount = async () => (await t.call("GET", "/api/hosts")).body.data.length as number;

  const refused: Array<[string, Record<string, unknown>, RegExp]> = [
    ["no daemon_url", { name: "a", type: "docker" }, /^daemon_url: required/],
    ["a daemon_url of another scheme", { name: "a", type: "docker", daemon_url: "http://1.2.3.4:2375" }, /^daemon_url: "http:\/\/1\.2\.3\.4:2375" is neither/],
    ["a relative unix socket", { name: "a", type: "docker", daemon_url: "unix://docker.sock" }, /^daemon_url: a unix socket URL needs an absolute path/],
    ["plain tcp to another machine", { name: "a", type: "docker", daemon_url: "tcp://10.1.2.3:2375" }, /^daemon_url: plain tcp to 10\.1\.2\.3 gives root/],
    ["half of the TLS files", { name: "a", type: "swarm", daemon_url: "tcp://10.1.2.3:2376", params: { tls_ca: "/x" } }, /^params\.tls_cert: TLS needs tls_ca, tls_cert and tls_key together/],
    ["an unreadable TLS file", { name: "a", type: "docker", daemon_url: "tcp://10.1.2.3:2376", params: { tls_ca: "/nonexistent/ca.pem", tls_cert: "/x", tls_key: "/y" } }, /^params\.tls_ca: cannot read \/nonexistent\/ca\.pem: ENOENT/],
    ["an unknown param", { name: "a", type: "docker", daemon_url: "unix:///var/run/docker.sock", params: { tls: true } }, /^params\.tls: unknown param/],
    ["insecure that is not a boolean", { name: "a", type: "docker", daemon_url: "tcp://10.1.2.3:2375", params: { insecure: "yes" } }, /^params\.insecure: must be true or false/],
    ["a bad subnet_pool", { name: "a", type: "docker", daemon_url: "unix:///var/run/docker.sock", params: { subnet_pool: "10.300.0.0/16" } }, /^params\.subnet_pool: "10\.300\.0\.0\/16" is not an IPv4 CIDR/],
    ["subnet_pool on a swarm host", { name: "a", type: "swarm", daemon_url: "unix:///var/run/docker.sock", params: { subnet_pool: "10.9.0.0/16" } }, /^params\.subnet_pool: unknown param; swarm hosts take/],
  ];
  for (const [what, body, error] of refused) {
    it(`refuses ${what} with a 400 naming the field, and adds nothing`, async () => {
      const before = await hostCount();
      const r = await add(body);
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.match(r.body.error, error);
      assert.equal(await hostCount(), before);
    });
  }

  const accepted: Array<[string, Record<string, unknown>]> = [
    ["a unix socket", { type: "docker", daemon_url: "unix:///var/run/docker.sock" }],
    ["plain tcp on loopback", { type: "docker", daemon_url: "tcp://127.0.0.1:2375" }],
    ["plain tcp elsewhere with insecure = true", { type: "swarm", daemon_url: "tcp://10.1.2.3:2375", params: { insecure: true } }],
    ["tcp with all three TLS files", { type: "docker", daemon_url: "tcp://[fd00::5]:2376", params: { public_host: "203.0.113.9" } }],
  ];
  for (const [i, [what, body]] of accepted.entries()) {
    it(`accepts ${what}`, async () => {
      const params = what.startsWith("tcp with all three") ? { ...(body["params"] as object), tls_ca: join(dir, "ca.pem"), tls_cert: join(dir, "cert.pem"), tls_key: join(dir, "key.pem") } : body["params"];
      const r = await add({ ...body, ...(params !== undefined && { params }), name: `ok${i}` });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.equal(r.body.data.type, body["type"]);
    });
  }

  it("checks an update the same way: a patch to plain tcp elsewhere is refused and changes nothing", async () => {
    const r = await add({ name: "patched", type: "docker", daemon_url: "unix:///var/run/docker.sock" });
    const put = await t.call("PUT", "/api/host", { id: r.body.data.id, daemon_url: "tcp://10.1.2.3:2375" });
    assert.equal(put.status, 400);
    assert.match(put.body.error, /^daemon_url: plain tcp/);
    assert.equal((await t.call("GET", `/api/host/${r.body.data.id}`)).body.data.daemon_url, "unix:///var/run/docker.sock");
  });
});

describe("cluster creation without a host", () => {
  let t: TestDaemon;
  before(() => {
    t = createTestDaemon();
  });
  after(() => t.close());

  it("spreads over active schedulable hosts by free capacity, never over capacity", async () => {
    const a = await t.addMemoryHost({ name: "a", capacity: 3 });
    const b = await t.addMemoryHost({ name: "b", capacity: 1 });
    const c = await t.addMemoryHost({ name: "c", capacity: 5 });
    await t.call("PUT", "/api/host", { id: c.id, schedulable: false });
    const replies = await Promise.all(Array.from({ length: 6 }, () => t.call("POST", "/api/cluster", { size: 4 })));
    assert.deepEqual(replies.map((r) => r.status).sort(), [201, 201, 201, 201, 409, 409]);
    const placed = replies.filter((r) => r.status === 201).map((r) => r.body.data.host_id);
    assert.equal(placed.filter((h) => h === a.id).length, 3);
    assert.equal(placed.filter((h) => h === b.id).length, 1);
    assert.match(replies.find((r) => r.status === 409)!.body.error, /^host_id: every active schedulable host is at capacity/);
  });
});
