import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { ConfigError, loadConfigFile, parseConfig, resolveConfig } from "../../src/config/load.ts";
import type { Cluster } from "../../src/core/types.ts";
import { clusterNodeConfigs } from "../../src/drivers/node-configs.ts";
import { VERSION } from "../../src/lib/version.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

describe("config", () => {
  it("config.example.toml is valid and states exactly the defaults", () => {
    assert.deepEqual(loadConfigFile(join(ROOT, "config.example.toml")), parseConfig({}));
  });

  it("with no config: loopback 8080, ./data, one local host of capacity 4 with autofill", () => {
    const c = resolveConfig([]);
    assert.equal(c.listen, "127.0.0.1:8080");
    assert.equal(c.data_dir, "./data");
    assert.deepEqual(c.hosts.map((h) => [h.name, h.type, h.capacity, h.autofill]), [["local", "local", 4, true]]);
  });

  it("--listen and --data override the file", () => {
    const dir = mkdtempSync(join(tmpdir(), "cfg-"));
    writeFileSync(join(dir, "c.toml"), `listen = "127.0.0.1:9000"\ndata_dir = "/x"\n`);
    const c = resolveConfig(["--config", join(dir, "c.toml"), "--listen", "127.0.0.1:9100", "--data=/y"]);
    assert.equal(c.listen, "127.0.0.1:9100");
    assert.equal(c.data_dir, "/y");
  });

  it("names each wrong key", () => {
    assert.throws(
      () => parseConfig({ listen: "nope", scheduler: { health_check_s: "x" }, colour: 1 }),
      (e: unknown) => e instanceof ConfigError && /listen: listen must be HOST:PORT/.test(e.message) && /scheduler\.health_check_s: /.test(e.message) && /colour/.test(e.message),
    );
    assert.throws(() => parseConfig({ ports: { min: 9000, max: 8000 } }), /ports.min must not be above ports.max/);
    assert.throws(() => parseConfig({ api: { front_keys: ["short"] } }), /api\.front_keys\.0: an API key has at least 16 characters/);
    assert.throws(() => parseConfig({ local: { node_log_max_bytes: 100 } }), /local\.node_log_max_bytes: node_log_max_bytes must be at least 16384/);
  });

  it("local nodes' logs are capped at 10 MiB each unless the config says otherwise", () => {
    assert.equal(parseConfig({}).local.node_log_max_bytes, 10 * 1024 * 1024);
    assert.equal(parseConfig({ local: { node_log_max_bytes: 65536 } }).local.node_log_max_bytes, 65536);
    assert.throws(
      () => parseConfig({ hosts: [{ name: "x", type: "local", log_level: "loud" }] }),
      (e: unknown) => e instanceof ConfigError && /log_level: expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL, got "loud"/.test(e.message) && /hosts/.test(e.message),
      "a host's log_level is one of the API's, as POST /api/host takes it",
    );
    assert.equal(parseConfig({ hosts: [{ name: "x", type: "local", log_level: "DEBUG" }] }).hosts[0]!.log_level, "DEBUG");
    assert.equal(parseConfig({}).local.http_probe_s, 30);
    assert.equal(parseConfig({ local: { http_probe_s: 0 } }).local.http_probe_s, 0, "0: the full probe every round");
    assert.throws(() => parseConfig({ local: { http_probe_s: -1 } }), /local\.http_probe_s: http_probe_s must be 0 or more/);
  });

  it("[chaincode] max_package_bytes: 1 MiB unless lowered, never above it, and it goes into every node's config", () => {
    assert.equal(parseConfig({}).chaincode.max_package_bytes, 1024 * 1024);
    assert.equal(parseConfig({ chaincode: { max_package_bytes: 4096 } }).chaincode.max_package_bytes, 4096);
    assert.throws(() => parseConfig({ chaincode: { max_package_bytes: 2 * 1024 * 1024 } }), /chaincode\.max_package_bytes: /);
    assert.throws(() => parseConfig({ chaincode: { max_package_bytes: 0 } }), /chaincode\.max_package_bytes: /);
    const cluster = { id: "c1", size: 4, consensus_plugin: "noops", consensus_mode: "", url_secret: "" } as Cluster;
    const layout = { listen: () => ({ host: "127.0.0.1", port: 7050 }), peerUrl: (id: string) => `http://${id}`, dataDir: (id: string) => `/d/${id}`, urlSecretFile: (id: string) => `/s/${id}` };
    const config = parseConfig({ chaincode: { max_package_bytes: 4096 } });
    const nodes = clusterNodeConfigs(cluster, layout, config);
    assert.deepEqual(nodes.map((n) => n.max_package_bytes), [4096, 4096, 4096, 4096]);
  });

  it("refuses pool types and docker settings that could never run, naming the key", () => {
    const pool = (t: Record<string, unknown>) => () => parseConfig({ pool: { types: [t] } });
    assert.throws(pool({ plugin: "pbft", mode: "classic", size: 3 }), /pool\.types\.0\.size: pbft needs at least 4 nodes/);
    assert.throws(pool({ plugin: "pbft", size: 4 }), /pool\.types\.0\.mode: pbft needs classic or batch/);
    assert.throws(pool({ plugin: "noops", mode: "batch" }), /pool\.types\.0\.mode: noops takes no mode/);
    assert.throws(() => parseConfig({ docker: { subnet_pool: "10.200.0.0/33" } }), /docker\.subnet_pool: "10\.200\.0\.0\/33" is not an IPv4 CIDR/);
    assert.throws(() => parseConfig({ docker: { subnet_prefix: 14 } }), /docker\.subnet_pool: block prefix \/14 must be between \/16 and \/29/);
    assert.throws(
      () => parseConfig({ hosts: [{ name: "d", type: "docker", daemon_url: "unix:///x", nonsense: 1 }] }),
      /hosts\.0\.nonsense: unknown key/,
    );
  });

  it("an unknown command-line option is refused", () => {
    assert.throws(() => resolveConfig(["--colour", "red"]), /unknown option --colour/);
  });

  it("the version matches package.json", () => {
    assert.equal(VERSION, JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version);
  });

  it("a bad config at start is one line on stderr and exit code 2", () => {
    const dir = mkdtempSync(join(tmpdir(), "cfg-"));
    writeFileSync(join(dir, "bad.toml"), `[scheduler]\nhealth_check_s = "often"\n`);
    const r = spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "src/main.ts"), "--config", join(dir, "bad.toml")], { cwd: ROOT, encoding: "utf8" });
    assert.equal(r.status, 2);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, /scheduler\.health_check_s/);
  });

  it("a docker host the config names with plain tcp to another machine stops the start: one line, exit 2", () => {
    const dir = mkdtempSync(join(tmpdir(), "cfg-"));
    writeFileSync(join(dir, "c.toml"), `data_dir = "${join(dir, "data")}"\n[[hosts]]\nname = "far"\ntype = "docker"\ndaemon_url = "tcp://10.9.8.7:2375"\n`);
    const r = spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "src/main.ts"), "--config", join(dir, "c.toml")], { cwd: ROOT, encoding: "utf8" });
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, /hosts\.0\.daemon_url: plain tcp to 10\.9\.8\.7 gives root/);
  });

  it("refuses to listen beyond loopback without API keys", () => {
    const r = spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "src/main.ts"), "--listen", "0.0.0.0:0", "--data", mkdtempSync(join(tmpdir(), "cfg-"))], { cwd: ROOT, encoding: "utf8" });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /refusing to listen on 0\.0\.0\.0:0 without API keys/);
  });
});
