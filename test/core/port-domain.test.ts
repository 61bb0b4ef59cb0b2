import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { portDomain } from "../../src/core/port-domain.ts";
import type { HostType } from "../../src/core/types.ts";

const own = new Set(["127.0.0.1", "192.168.4.20", "fd00::20"]);
const domainOf = (type: HostType, daemon_url: string) => portDomain({ id: "0123456789abcdef01234567", type, daemon_url }, own);

describe("portDomain: hosts that publish on one machine's ports share one ledger", () => {
  it("the local host, and docker and swarm engines on this machine, lease from the machine's ledger", () => {
    assert.equal(domainOf("local", ""), "machine");
    for (const type of ["docker", "swarm"] as const) {
      assert.equal(domainOf(type, "unix:///var/run/docker.sock"), "machine", "a unix socket");
      assert.equal(domainOf(type, "unix:///tmp/other/docker.sock"), "machine", "another engine's socket: same kernel, same ports");
      assert.equal(domainOf(type, "tcp://127.0.0.1:2375"), "machine");
      assert.equal(domainOf(type, "tcp://127.0.1.1:2375"), "machine");
      assert.equal(domainOf(type, "tcp://LocalHost:2376"), "machine");
      assert.equal(domainOf(type, "tcp://[::1]:2376"), "machine");
      assert.equal(domainOf(type, "tcp://192.168.4.20:2376"), "machine", "one of this machine's own addresses");
      assert.equal(domainOf(type, "tcp://[FD00::20]:2376"), "machine");
    }
  });

  it("an engine on another machine leases from that machine's ledger, whichever host reaches it", () => {
    assert.equal(domainOf("docker", "tcp://10.0.0.5:2376"), "engine:10.0.0.5");
    assert.equal(domainOf("swarm", "tcp://10.0.0.5:2377/"), "engine:10.0.0.5", "a docker and a swarm host on one remote machine share");
    assert.equal(domainOf("docker", "tcp://Build-1.example:2376"), "engine:build-1.example");
    assert.equal(domainOf("docker", "tcp://[fd00::5]:2376"), "engine:fd00::5");
  });

  it("a host that publishes nothing real keeps a ledger of its own", () => {
    assert.equal(domainOf("memory", "memory://m"), "0123456789abcdef01234567");
  });
});
