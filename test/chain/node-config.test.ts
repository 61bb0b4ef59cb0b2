import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { NodeConfig } from "../../src/lib/node-config.ts";
import { parseNodeConfig } from "../../src/chain/node-config-validation.ts";
import { BUNDLE, ensureNodeBundle } from "./helpers/chain-cluster.ts";
import { testIdentities } from "./helpers/fixtures.ts";

const identities = testIdentities(2);
const valid: NodeConfig = {
  cluster_id: "c1",
  node_id: "vp1",
  listen: { host: "127.0.0.1", port: 7051 },
  data_dir: "/tmp/x",
  consensus: { plugin: "noops", mode: "", batch_size: 500, batch_timeout_ms: 1000 },
  peers: identities.map((i) => i.peer),
  private_key: identities[1]!.keys.privateKey,
};

function errorFor(mutate: (config: any) => void): string {
  const config = structuredClone(valid) as any;
  mutate(config);
  const parsed = parseNodeConfig(config);
  assert.equal(parsed.ok, false, "expected the config to be refused");
  return (parsed as { error: string }).error;
}

describe("node config", () => {
  it("accepts the daemon's config and keeps it as is", () => {
    assert.deepEqual(parseNodeConfig(structuredClone(valid)), { ok: true, config: valid });
  });

  it("names the field that is wrong", () => {
    assert.match(errorFor((c) => delete c.cluster_id), /^cluster_id must be a non-empty string/);
    assert.match(errorFor((c) => (c.listen.port = 70000)), /^listen\.port must be an integer/);
    assert.match(errorFor((c) => (c.consensus.plugin = "raft")), /^consensus\.plugin must be one of/);
    assert.match(errorFor((c) => (c.consensus.mode = "fast")), /^consensus\.mode must be one of/);
    assert.match(errorFor((c) => (c.consensus.batch_size = 0)), /^consensus\.batch_size must be an integer/);
    assert.match(errorFor((c) => (c.peers = [])), /^peers must be a non-empty array/);
    assert.match(errorFor((c) => (c.peers[1].url = "ftp://x")), /^peers\[1\]\.url/);
    assert.match(errorFor((c) => (c.peers[0].public_key = "nope")), /^peers\[0\]\.public_key is not a PEM public key/);
    assert.match(errorFor((c) => (c.peers[1].id = "vp0")), /^peers\[1\]\.id "vp0" appears twice/);
    assert.match(errorFor((c) => (c.log = { file: "/tmp/node.log", max_bytes: 100 })), /^log\.max_bytes must be an integer from 16384/);
    assert.match(errorFor((c) => (c.log = { max_bytes: 65536 })), /^log\.file must be a non-empty string/);
    assert.match(errorFor((c) => (c.url_secret_file = "")), /^url_secret_file must be a non-empty string/);
    assert.match(errorFor((c) => (c.url_secret_file = 7)), /^url_secret_file must be a non-empty string/);
  });

  it("takes a log file and its size cap when given", () => {
    const withLog = { ...structuredClone(valid), log: { file: "/tmp/node.log", max_bytes: 65536 } };
    assert.deepEqual(parseNodeConfig(structuredClone(withLog)), { ok: true, config: withLog });
  });

  it("takes max_package_bytes from 1 to the chain node's 1 MiB ceiling", () => {
    const limited = { ...structuredClone(valid), max_package_bytes: 65_536 };
    assert.deepEqual(parseNodeConfig(structuredClone(limited)), { ok: true, config: limited });
    assert.match(errorFor((c) => (c.max_package_bytes = 2 * 1024 * 1024)), /^max_package_bytes must be an integer from 1 to 1048576/);
    assert.match(errorFor((c) => (c.max_package_bytes = "1k")), /^max_package_bytes must be an integer/);
  });

  it("keeps url_secret_file when given, and leaves it out when not", () => {
    const withFile = { ...structuredClone(valid), url_secret_file: "/config/url-secret" };
    assert.deepEqual(parseNodeConfig(structuredClone(withFile)), { ok: true, config: withFile });
    const parsed = parseNodeConfig(structuredClone(valid));
    assert.ok(parsed.ok && !("url_secret_file" in parsed.config));
  });

  it("refuses test_faults unless the environment allows them, and checks them when it does", () => {
    const faulty = { ...structuredClone(valid), test_faults: { corrupt_block: 5 } };
    const refused = parseNodeConfig(structuredClone(faulty));
    assert.match(refused.ok ? "" : refused.error, /^test_faults is for tests only: a node takes it only with CHAIN_NODE_TEST_FAULTS=1/);
    assert.deepEqual(parseNodeConfig(structuredClone(faulty), { testFaultsAllowed: true }), { ok: true, config: faulty });
    const unknown = parseNodeConfig({ ...structuredClone(valid), test_faults: { crash: true } }, { testFaultsAllowed: true });
    assert.match(unknown.ok ? "" : unknown.error, /^test_faults\.crash is not a known fault/);
    const zero = parseNodeConfig({ ...structuredClone(valid), test_faults: { corrupt_block: 0 } }, { testFaultsAllowed: true });
    assert.match(zero.ok ? "" : zero.error, /^test_faults\.corrupt_block must be an integer from 1/);
  });

  it("refuses a node that is not a peer, and a private key that is not the node's", () => {
    assert.match(errorFor((c) => (c.node_id = "vp9")), /node_id "vp9" is not one of the peers/);
    assert.match(errorFor((c) => (c.private_key = identities[0]!.keys.privateKey)), /does not belong/);
  });
});

describe("chain-node command line", () => {
  let dir: string;
  before(async () => {
    await ensureNodeBundle();
    dir = mkdtempSync(join(tmpdir(), "chain-cli-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  function run(...args: string[]) {
    return spawnSync(process.execPath, [BUNDLE, ...args], { encoding: "utf8", timeout: 10_000 });
  }

  it("exits 2 with one line on stderr for a bad config", () => {
    const path = join(dir, "bad.json");
    writeFileSync(path, JSON.stringify({ ...valid, consensus: { ...valid.consensus, batch_size: -1 } }));
    const result = run("--config", path);
    assert.equal(result.status, 2);
    assert.equal(result.stderr.trim().split("\n").length, 1);
    assert.match(result.stderr, /consensus\.batch_size must be an integer/);
  });

  it("exits 2 without --config, or with a file that is not JSON", () => {
    assert.equal(run().status, 2);
    const path = join(dir, "garbage.json");
    writeFileSync(path, "{");
    const result = run("--config", path);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /cannot read config/);
  });

  it("exits 2 when url_secret_file is missing or holds no secret, naming the field and never quoting the text", () => {
    const config = { ...valid, data_dir: join(dir, "data"), listen: { host: "127.0.0.1", port: 1 } };
    const missing = join(dir, "missing.json");
    writeFileSync(missing, JSON.stringify({ ...config, url_secret_file: join(dir, "no-such-file") }));
    const gone = run("--config", missing);
    assert.equal(gone.status, 2);
    assert.match(gone.stderr, /url_secret_file: cannot read .*no-such-file/);
    const nearMiss = "AbCdEfGhIjKlMnOpQrStUvWx Yz";
    writeFileSync(join(dir, "bad-secret"), `${nearMiss}\n`);
    const bad = join(dir, "bad-secret.json");
    writeFileSync(bad, JSON.stringify({ ...config, url_secret_file: join(dir, "bad-secret") }));
    const refused = run("--config", bad);
    assert.equal(refused.status, 2);
    assert.equal(refused.stderr.trim().split("\n").length, 1);
    assert.match(refused.stderr, /url_secret_file .*bad-secret holds no URL secret/);
    assert.ok(!refused.stderr.includes("AbCdEfGh"), refused.stderr);
  });

  it("exits 2 for a config with test_faults unless CHAIN_NODE_TEST_FAULTS=1", () => {
    const path = join(dir, "faults.json");
    writeFileSync(path, JSON.stringify({ ...valid, data_dir: join(dir, "data"), test_faults: { corrupt_block: 3 } }));
    const result = spawnSync(process.execPath, [BUNDLE, "--config", path], { encoding: "utf8", timeout: 10_000, env: { ...process.env, CHAIN_NODE_TEST_FAULTS: "" } });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /test_faults is for tests only/);
  });

  it("exits 2 for pbft with fewer than 4 peers", () => {
    const path = join(dir, "pbft.json");
    const config = { ...valid, data_dir: join(dir, "data"), listen: { host: "127.0.0.1", port: 1 }, consensus: { ...valid.consensus, plugin: "pbft" } };
    writeFileSync(path, JSON.stringify(config));
    const result = run("--config", path);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /consensus\.plugin "pbft" needs at least 4 peers/);
  });
});
