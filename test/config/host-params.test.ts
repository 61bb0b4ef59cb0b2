import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { runCli } from "../../src/cli/run.ts";
import { ConfigError, parseConfig } from "../../src/config/load.ts";

// The hosts a config file names follow the rules POST /api/host applies (test/api/host-params.test.ts).
describe("config: [[hosts]] params follow the operator API's rules", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "cfg-params-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const checkConfig = async (toml: string) => {
    const file = join(dir, `c${Math.random().toString(36).slice(2)}.toml`);
    writeFileSync(file, toml);
    let err = "";
    const code = await runCli(["check-config", file], { out: () => {}, err: (s) => void (err += s), env: {}, isTTY: false });
    return { code, lines: err.trimEnd().split("\n").map((l) => l.slice(file.length + 2)) };
  };

  it("error: check-config prints one line per wrong host key: daemon_url and params of a local host, ill-formed docker params", async () => {
    const r = await checkConfig(`
[[hosts]]
name = "here"
type = "local"
daemon_url = "tcp://10.0.0.1:2375"
params = { colour = "red", public_host = "example.org" }

[[hosts]]
name = "dock"
type = "docker"
daemon_url = "unix:///var/run/docker.sock"
params = { public_host = "http://example.org", insecure = "yes", tls = true }
`);
    assert.equal(r.code, 2);
    assert.equal(r.lines.length, 6, r.lines.join("\n"));
    assert.match(r.lines[0]!, /^hosts\.0\.daemon_url: local hosts take no daemon_url/);
    assert.match(r.lines[1]!, /^hosts\.0\.params\.colour: unknown param; local hosts take no params/);
    assert.match(r.lines[2]!, /^hosts\.0\.params\.public_host: unknown param; local hosts take no params/);
    assert.match(r.lines[3]!, /^hosts\.1\.params\.public_host: "http:\/\/example\.org" is not a hostname or IP address/);
    assert.match(r.lines[4]!, /^hosts\.1\.params\.insecure: must be true or false/);
    assert.match(r.lines[5]!, /^hosts\.1\.params\.tls: unknown param; docker hosts take tls_ca, tls_cert, tls_key, insecure, public_host, publish_ip, subnet_pool/);
  });

  it("error: check-config refuses publish_ip on a swarm host, saying why, and a name as a docker host's publish_ip", async () => {
    const r = await checkConfig(`
[[hosts]]
name = "s"
type = "swarm"
daemon_url = "unix:///var/run/docker.sock"
params = { publish_ip = "127.0.0.1" }

[[hosts]]
name = "d"
type = "docker"
daemon_url = "unix:///var/run/docker.sock"
params = { publish_ip = "docker-1.example" }
`);
    assert.equal(r.code, 2);
    assert.equal(r.lines.length, 2, r.lines.join("\n"));
    assert.match(r.lines[0]!, /^hosts\.0\.params\.publish_ip: swarm hosts cannot publish on one address/);
    assert.match(r.lines[1]!, /^hosts\.1\.params\.publish_ip: "docker-1\.example" is not an IP address/);
  });

  it("error: check-config names a swarm host's node_engines entry that is no engine URL", async () => {
    const r = await checkConfig(`
[[hosts]]
name = "s"
type = "swarm"
daemon_url = "unix:///var/run/docker.sock"
params = { node_engines = ["unix:///run/n1.sock", "10.0.0.6:2376"] }
`);
    assert.equal(r.code, 2);
    assert.equal(r.lines.length, 1, r.lines.join("\n"));
    assert.match(r.lines[0]!, /^hosts\.0\.params\.node_engines: entry 1: "10\.0\.0\.6:2376" is not an engine URL/);
  });

  it("error: params that are an array are named", async () => {
    const r = await checkConfig(`[[hosts]]\nname = "d"\ntype = "swarm"\ndaemon_url = "unix:///x"\nparams = ["public_host"]\n`);
    assert.equal(r.code, 2);
    assert.deepEqual(r.lines.map((l) => l.split(":")[0]), ["hosts.0.params"]);
    assert.match(r.lines[0]!, /expected an object, got an array/);
  });

  it("error: parseConfig refuses the same, so the daemon does not start on it", () => {
    assert.throws(
      () => parseConfig({ hosts: [{ name: "l", type: "local", params: { public_host: "x.example" } }] }),
      (e: unknown) => e instanceof ConfigError && /^hosts\.0\.params\.public_host: unknown param/.test(e.message),
    );
  });

  it("happy: well-formed docker and swarm params and a bare local host are accepted", () => {
    const c = parseConfig({
      hosts: [
        { name: "l", type: "local" },
        { name: "d", type: "docker", daemon_url: "tcp://10.1.2.3:2375", params: { insecure: true, public_host: "pool.example.org", publish_ip: "10.1.2.3", subnet_pool: "10.150.0.0/16" } },
        { name: "s", type: "swarm", daemon_url: "unix:///var/run/docker.sock", params: { public_host: "[2001:db8::1]" } },
        { name: "s3", type: "swarm", daemon_url: "unix:///run/n1.sock", params: { node_engines: ["unix:///run/n2.sock", "tcp://10.0.0.7:2376"] } },
      ],
    });
    assert.deepEqual(c.hosts.map((h) => h.name), ["l", "d", "s", "s3"]);
  });
});
