import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { publishAddress } from "../../src/core/publish-address.ts";

const own = new Set(["127.0.0.1", "192.168.4.20", "fd00::20"]);
const of = (daemon_url: string, params: Record<string, unknown> = {}) =>
  publishAddress({ id: "0123456789abcdef01234567", type: "docker", daemon_url, params }, own);

describe("publishAddress: where a docker host publishes its nodes' ports", () => {
  it("publish_ip wins whatever api_url says", () => {
    assert.deepEqual(of("unix:///var/run/docker.sock", { publish_ip: "0.0.0.0" }), { ip: "0.0.0.0", rule: "param" });
    assert.deepEqual(of("tcp://10.0.0.5:2376", { publish_ip: "10.0.0.5", public_host: "pool.example.org" }), { ip: "10.0.0.5", rule: "param" });
    assert.deepEqual(of("unix:///var/run/docker.sock", { publish_ip: "::1" }), { ip: "::1", rule: "param" });
  });

  it("loopback when api_url sends clients to loopback: a local engine's default, and a tunnelled one's", () => {
    assert.deepEqual(of("unix:///var/run/docker.sock"), { ip: "127.0.0.1", rule: "loopback" }, "api_url is 127.0.0.1 for a unix socket");
    assert.deepEqual(of("tcp://127.0.0.1:2376"), { ip: "127.0.0.1", rule: "loopback" });
    assert.deepEqual(of("unix:///var/run/docker.sock", { public_host: "localhost" }), { ip: "127.0.0.1", rule: "loopback" });
    assert.deepEqual(of("unix:///var/run/docker.sock", { public_host: "127.0.0.2" }), { ip: "127.0.0.2", rule: "loopback" });
    assert.deepEqual(of("unix:///var/run/docker.sock", { public_host: "[::1]" }), { ip: "::1", rule: "loopback" });
  });

  it("this machine's own address when api_url names it and the engine runs here", () => {
    assert.deepEqual(of("unix:///var/run/docker.sock", { public_host: "192.168.4.20" }), { ip: "192.168.4.20", rule: "own" });
    assert.deepEqual(of("tcp://192.168.4.20:2376"), { ip: "192.168.4.20", rule: "own" });
    assert.deepEqual(of("unix:///var/run/docker.sock", { public_host: "[FD00::20]" }), { ip: "fd00::20", rule: "own" });
  });

  it("every address when chainpool cannot know the engine machine's own: a remote engine, a name, an address not this machine's", () => {
    const everywhere = { ip: "0.0.0.0", rule: "everywhere" };
    assert.deepEqual(of("tcp://10.0.0.5:2376"), everywhere, "a remote engine (behind NAT its address may be on none of its interfaces)");
    assert.deepEqual(of("tcp://10.0.0.5:2376", { public_host: "192.168.4.20" }), everywhere, "this machine's address, but the engine is elsewhere");
    assert.deepEqual(of("unix:///var/run/docker.sock", { public_host: "pool.example.org" }), everywhere, "a name cannot be bound");
    assert.deepEqual(of("unix:///var/run/docker.sock", { public_host: "203.0.113.9" }), everywhere, "a NAT address of this machine");
  });
});
