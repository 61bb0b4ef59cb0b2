/**
 * Test harness for chain node clusters: real processes, real HTTP. Builds the node
 * bundle when it is missing or older than src/chain, generates keys with the daemon's
 * helper, picks free loopback ports, writes one config per node into a temp dir, starts
 * the nodes and waits until each is ready. `close()` kills every process it started and
 * removes the temp dir; processes still alive when the test process exits are killed too.
 */
import { spawn, spawnSync } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, rmdirSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ConsensusMode, ConsensusPlugin, NodeConfig } from "../../../src/lib/node-config.ts";
import { generateNodeKeys } from "../../../src/lib/node-keys.ts";

export const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
export const BUNDLE = join(ROOT, "dist", "chain-node.mjs");

const live = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of live) child.kill("SIGKILL");
});

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

function bundleIsStale(): boolean {
  if (!existsSync(BUNDLE)) return true;
  const sources = Math.max(newestMtime(join(ROOT, "src", "chain")), newestMtime(join(ROOT, "src", "lib")));
  return statSync(BUNDLE).mtimeMs < sources;
}

/** Builds dist/chain-node.mjs if needed; test files running in parallel build it once. */
export async function ensureNodeBundle(): Promise<void> {
  if (!bundleIsStale()) return;
  mkdirSync(join(ROOT, "dist"), { recursive: true });
  const lock = join(ROOT, "dist", ".build-lock");
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`${lock} held for a minute; remove it if no build runs`);
      await sleep(100);
    }
  }
  try {
    if (!bundleIsStale()) return;
    const built = spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "scripts", "build-node.ts")], {
      cwd: ROOT,
      encoding: "utf8",
    });
    if (built.status !== 0) throw new Error(`building the chain node failed:\n${built.stderr}`);
  } finally {
    rmdirSync(lock);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it answers something other than undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error: unknown) {
      lastError = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${lastError ? `: ${String(lastError)}` : ""}`);
    await sleep(20);
  }
}

export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
      const server = createServer();
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve(server));
    })),
  );
  const ports = servers.map((server) => {
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("no port");
    return address.port;
  });
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

export interface HttpReply {
  status: number;
  body: any;
}

export async function getJson(url: string): Promise<HttpReply> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  return { status: response.status, body: await response.json() };
}

export async function postJson(url: string, body: unknown): Promise<HttpReply> {
  return postRaw(url, typeof body === "string" ? body : JSON.stringify(body));
}

export async function postRaw(url: string, body: string): Promise<HttpReply> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
    signal: AbortSignal.timeout(15_000),
  });
  return { status: response.status, body: await response.json() };
}

export class TestNode {
  readonly id: string;
  /** The node's address: node-to-node routes are here, and client routes too when the cluster has no URL secret. */
  readonly url: string;
  /** Where client routes are: `url`, under the cluster's URL secret if it has one. */
  readonly clientUrl: string;
  readonly configPath: string;
  readonly config: NodeConfig;
  /** Every stdout line of every run of this node, parsed. */
  readonly events: Record<string, unknown>[] = [];
  /** Command that runs the bundle: Node by default, e.g. ["deno", "run", "-A"] for Deno. */
  readonly runtime: readonly string[];
  /** Environment variables added to the test process's for this node (e.g. CHAIN_NODE_TEST_FAULTS). */
  readonly env: Readonly<Record<string, string>>;
  #child: ChildProcess | undefined;
  #exited: Promise<number | null> | undefined;

  constructor(config: NodeConfig, configPath: string, runtime: readonly string[] = [process.execPath], urlSecret?: string, env: Readonly<Record<string, string>> = {}) {
    this.runtime = runtime;
    this.env = env;
    this.id = config.node_id;
    this.config = config;
    this.configPath = configPath;
    this.url = `http://${config.listen.host}:${config.listen.port}`;
    this.clientUrl = urlSecret === undefined ? this.url : `${this.url}/${urlSecret}`;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  get running(): boolean {
    return this.#child !== undefined;
  }

  /** Starts the process and resolves once it logs node.ready. */
  async start(): Promise<void> {
    if (this.#child) throw new Error(`${this.id} is already running`);
    const [command = process.execPath, ...runtimeArgs] = this.runtime;
    const child = spawn(command, [...runtimeArgs, BUNDLE, "--config", this.configPath], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...this.env } });
    this.#child = child;
    live.add(child);
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
    });
    let buffered = "";
    let onReady: (() => void) | undefined;
    child.stdout?.on("data", (chunk: Buffer) => {
      buffered += chunk.toString("utf8");
      let newline: number;
      while ((newline = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        try {
          const event = JSON.parse(line) as Record<string, unknown>;
          this.events.push(event);
          if (event["event"] === "node.ready") onReady?.();
        } catch {
          // not a log line
        }
      }
    });
    this.#exited = new Promise((resolve) => {
      child.on("exit", (code) => {
        live.delete(child);
        if (this.#child === child) this.#child = undefined;
        resolve(code);
      });
    });
    const exited = this.#exited;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.id} not ready after 10 s; stderr: ${stderr}`)), 10_000);
      onReady = () => {
        clearTimeout(timer);
        resolve();
      };
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`${this.id} exited with ${code} before it was ready; stderr: ${stderr}`));
      });
    });
    onReady = undefined;
  }

  /** Sends `signal` and resolves with the exit code (null if killed by the signal). */
  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> {
    const child = this.#child;
    const exited = this.#exited;
    if (!child || !exited) return null;
    child.kill(signal);
    const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
    const code = await exited;
    clearTimeout(timer);
    return code;
  }

  async rpc(method: string, params: unknown, id: number | string = 1): Promise<HttpReply> {
    return postJson(`${this.clientUrl}/chaincode`, { jsonrpc: "2.0", method, params, id });
  }

  async height(): Promise<number> {
    return (await getJson(`${this.clientUrl}/chain`)).body.height as number;
  }
}

export interface ClusterOptions {
  size?: number;
  clusterId?: string;
  plugin?: ConsensusPlugin;
  mode?: ConsensusMode;
  batchSize?: number;
  batchTimeoutMs?: number;
  /** Start the processes (default) or only write their configs. */
  start?: boolean;
  /** Command per node that runs the bundle; Node when it answers undefined. */
  runtimeFor?: (nodeId: string) => readonly string[] | undefined;
  /** The cluster's URL secret, written to a file each node's config names; none by default. */
  urlSecret?: string;
  /** Fields added to one node's config (e.g. test_faults), and variables to its environment. */
  configFor?: (nodeId: string) => Partial<NodeConfig> | undefined;
  envFor?: (nodeId: string) => Record<string, string> | undefined;
}

export interface TestCluster {
  clusterId: string;
  dir: string;
  /** The URL secret its nodes were started with, if any. */
  urlSecret: string | undefined;
  nodes: TestNode[];
  node(id: string): TestNode;
  close(): Promise<void>;
}

export async function startCluster(options: ClusterOptions = {}): Promise<TestCluster> {
  await ensureNodeBundle();
  const size = options.size ?? 4;
  const clusterId = options.clusterId ?? `test-${Math.random().toString(36).slice(2, 10)}`;
  const dir = mkdtempSync(join(tmpdir(), "chainpool-chain-"));
  const ports = await freePorts(size);
  const identities = ports.map((port, index) => ({ id: `vp${index}`, port, keys: generateNodeKeys() }));
  const peers = identities.map((identity) => ({
    id: identity.id,
    url: `http://127.0.0.1:${identity.port}`,
    public_key: identity.keys.publicKey,
  }));
  const nodes = identities.map((identity) => {
    const config: NodeConfig = {
      cluster_id: clusterId,
      node_id: identity.id,
      listen: { host: "127.0.0.1", port: identity.port },
      data_dir: join(dir, identity.id),
      consensus: {
        plugin: options.plugin ?? "noops",
        mode: options.mode ?? "",
        batch_size: options.batchSize ?? 500,
        batch_timeout_ms: options.batchTimeoutMs ?? 1000,
      },
      peers,
      private_key: identity.keys.privateKey,
      ...options.configFor?.(identity.id),
    };
    if (options.urlSecret !== undefined) {
      config.url_secret_file = join(dir, `${identity.id}.url-secret`);
      writeFileSync(config.url_secret_file, `${options.urlSecret}\n`, { mode: 0o600 });
    }
    const configPath = join(dir, `${identity.id}.json`);
    writeFileSync(configPath, JSON.stringify(config, null, 2));
    return new TestNode(config, configPath, options.runtimeFor?.(identity.id), options.urlSecret, options.envFor?.(identity.id));
  });
  const cluster: TestCluster = {
    clusterId,
    dir,
    urlSecret: options.urlSecret,
    nodes,
    node(id) {
      const found = nodes.find((node) => node.id === id);
      if (!found) throw new Error(`no node ${id}`);
      return found;
    },
    async close() {
      await Promise.all(nodes.map((node) => node.stop("SIGKILL")));
      rmSync(dir, { recursive: true, force: true });
    },
  };
  if (options.start ?? true) {
    try {
      await Promise.all(nodes.map((node) => node.start()));
    } catch (error: unknown) {
      await cluster.close();
      throw error;
    }
  }
  return cluster;
}

/** The Fabric path of chaincode_example02, as Cello's check deploys it. */
export const EXAMPLE02_PATH = "github.com/hyperledger/fabric/examples/chaincode/go/chaincode_example02";
