import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import type { Cluster, Host } from "../../core/types.ts";
import { findNodeProcesses, isNodeProcess, isRunning, terminate } from "../../lib/node-processes.ts";
import type { NodeConfig } from "../../lib/node-config.ts";
import { NODE_LOG_DEFAULT_BYTES } from "../../lib/node-config.ts";
import type { ClusterRuntime, DriverContext, DriverFactory, HostDriver } from "../contract.ts";
import { clusterNodeConfigs, NODE_PLUGINS, nodeIds, URL_SECRET_FILE } from "../node-configs.ts";
import { createJsonGetter } from "../json-getter.ts";
import { answersChain, probeChainNodes } from "../probe.ts";

export interface LocalDriverOptions {
  /** Directory under which each cluster gets `<cluster id>/vpN/`. */
  root: string;
  /** Command that runs one chain node; `--config FILE` is appended. */
  nodeCommand: readonly string[];
  /** Each node's node.log moves to node.log.1 when it would grow past this (default 10 MiB). */
  nodeLogMaxBytes?: number;
  /**
   * The full HTTP probe of a healthy cluster runs at most this often (default 30 s); the rounds
   * in between check that each node's process is alive, which asks nothing of the nodes. A
   * cluster whose last probe failed, or whose processes are not known, gets the full probe
   * every round. 0: the full probe every round.
   */
  httpProbeEveryMs?: number;
}

const LOOPBACK = "127.0.0.1";

/** Is the TCP port free to bind on loopback right now? */
function portFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const server = createServer();
    server.once("error", () => done(false));
    server.listen({ port, host: LOOPBACK, exclusive: true }, () => server.close(() => done(true)));
  });
}

/**
 * The `local` host: each node of a cluster is a child process of the chain node program on
 * loopback ports leased from the pool store. Nodes are detached, so they outlive a daemon
 * crash; a restarted daemon finds them again by their command line and adopts them.
 */
export function localDriverFactory(options: LocalDriverOptions): DriverFactory {
  const root = resolve(options.root);
  return (host: Host, ctx: DriverContext): HostDriver => {
    const clusterDir = (id: string) => join(root, id);
    const processesOf = (id: string) => findNodeProcesses(root).filter((p) => p.clusterId === id);
    const log = ctx.logger.child({ host: host.name });
    /** The health probes' connections to this host's nodes, kept between rounds. */
    const probeHttp = createJsonGetter();
    const httpProbeEveryMs = options.httpProbeEveryMs ?? 30_000;
    /** Each cluster's node processes, as started or found running: what the rounds between full probes check. */
    const nodePids = new Map<string, Map<string, number>>();
    /** When each cluster last passed the full probe (none: due now). */
    const passedAt = new Map<string, number>();
    let scannedAt = -Infinity;
    const configFile = (clusterId: string, nodeId: string) => join(clusterDir(clusterId), nodeId, "config.json");
    const notePids = (clusterId: string, pids: ReadonlyMap<string, number | undefined>) => {
      const known = new Map<string, number>();
      for (const [node, pid] of pids) if (pid !== undefined) known.set(node, pid);
      nodePids.set(clusterId, known);
    };
    const forget = (clusterId: string) => {
      nodePids.delete(clusterId);
      passedAt.delete(clusterId);
    };
    /**
     * The cluster's node processes, or undefined while some are not known (a restarted daemon
     * adopting running nodes): then one scan of /proc learns every cluster's, at most every
     * 30 s (it reads each process's command line: about 20 ms among 1,000 nodes).
     */
    const pidsOf = (cluster: Cluster): ReadonlyMap<string, number> | undefined => {
      const complete = () => {
        const pids = nodePids.get(cluster.id);
        return pids !== undefined && nodeIds(cluster).every((id) => pids.has(id)) ? pids : undefined;
      };
      if (complete() === undefined && Date.now() - scannedAt >= 30_000) {
        scannedAt = Date.now();
        const found = new Map<string, Map<string, number>>();
        for (const p of findNodeProcesses(root)) (found.get(p.clusterId) ?? found.set(p.clusterId, new Map()).get(p.clusterId)!).set(p.nodeId, p.pid);
        for (const [id, pids] of found) if (!nodePids.has(id) || nodePids.get(id)!.size < pids.size) nodePids.set(id, pids);
      }
      return complete();
    };
    // Set by dispose(): the daemon is stopping, and `chainpool down` kills every node it
    // finds once the drivers are closed, so none may be started behind its back (a restart
    // in flight would otherwise spawn after the kill).
    let disposed = false;

    const nodeLog = (dir: string) => ({ file: join(dir, "node.log"), max_bytes: options.nodeLogMaxBytes ?? NODE_LOG_DEFAULT_BYTES });
    const writeNodeConfig = (dir: string, config: NodeConfig) =>
      writeFileSync(join(dir, "config.json"), JSON.stringify(config, null, 2), { mode: 0o600 });

    /**
     * The node writes node.log itself, so that it can rotate it (a file a parent redirected
     * stdout into could only grow); stdout and stderr go to node.err, which holds only what
     * is printed before the log opens (a bad config) or by the runtime itself (a crash).
     */
    const spawnNode = (cluster: Cluster, nodeId: string): number | undefined => {
      if (disposed) throw new Error(`not starting node ${nodeId} of ${cluster.id}: the daemon is stopping`);
      const dir = join(clusterDir(cluster.id), nodeId);
      // A config written by an older daemon, or with another cap: bring its log settings up to date.
      const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as NodeConfig;
      const wanted = nodeLog(dir);
      if (config.log?.file !== wanted.file || config.log.max_bytes !== wanted.max_bytes) writeNodeConfig(dir, { ...config, log: wanted });
      const out = openSync(join(dir, "node.err"), "a");
      try {
        const [cmd, ...args] = options.nodeCommand;
        const child = spawn(cmd!, [...args, "--config", join(dir, "config.json")], {
          detached: true,
          stdio: ["ignore", out, out],
        });
        child.on("error", (err) => log.error("chain node failed to spawn", { cluster: cluster.id, node: nodeId, err }));
        child.unref();
        return child.pid;
      } finally {
        closeSync(out);
      }
    };

    /** The last lines of a node's log and of what it printed itself, to say why it exited. */
    const logTail = (cluster: Cluster, nodeId: string) => {
      const lines = (file: string) => {
        try {
          return readFileSync(join(clusterDir(cluster.id), nodeId, file), "utf8").trim().split("\n").filter((line) => line !== "").slice(-3);
        } catch {
          return [];
        }
      };
      return [...lines("node.log"), ...lines("node.err")].slice(-3).join(" | ");
    };

    /**
     * Waits until every node answers /chain; fails early when a node process died. `pids` are
     * the nodes' processes (as spawned, or as found running): checking those is a signal each,
     * where finding them again by command line reads every process's in /proc (20 ms with
     * 1,000 nodes on the machine, every 30 ms, for each cluster being made).
     */
    const waitUp = async (cluster: Cluster, urls: Record<string, string>, pids: ReadonlyMap<string, number | undefined>) => {
      const deadline = Date.now() + ctx.readyTimeoutMs;
      const pending = new Set(Object.keys(urls));
      while (pending.size > 0) {
        if (Date.now() > deadline) throw new Error(`nodes ${[...pending].join(",")} of ${cluster.id} did not answer within ${ctx.readyTimeoutMs} ms`);
        for (const node of pending) {
          const pid = pids.get(node);
          if (pid === undefined || !isRunning(pid)) throw new Error(`node ${node} of ${cluster.id} exited: ${logTail(cluster, node)}`);
          if (await answersChain(cluster, urls[node]!, 500)) pending.delete(node);
        }
        if (pending.size > 0) await new Promise((r) => setTimeout(r, 30));
      }
    };

    const urlsOf = (ports: readonly number[]) =>
      Object.fromEntries(ports.map((port, i) => [`vp${i}`, `http://${LOOPBACK}:${port}`]));

    const leaseFreePorts = async (cluster: Cluster): Promise<number[]> => {
      for (let attempt = 0; attempt < 20; attempt++) {
        const ports = ctx.ports.lease(cluster.id, cluster.size);
        const busy: number[] = [];
        for (const port of ports) if (!(await portFree(port))) busy.push(port);
        if (busy.length === 0) return ports;
        log.warn("ports in use by something else; leasing others", { cluster: cluster.id, busy });
        for (const port of busy) ctx.ports.block(port, `cannot bind ${LOOPBACK}:${port}: in use`);
      }
      throw new Error(`could not find ${cluster.size} free ports for ${cluster.id}`);
    };

    const removeFiles = (id: string) => rmSync(clusterDir(id), { recursive: true, force: true });

    /** Writes the node's URL secret file whole (a node starting meanwhile reads the old one or the new one). */
    const writeUrlSecret = (cluster: Cluster, nodeId: string) => {
      const file = join(clusterDir(cluster.id), nodeId, URL_SECRET_FILE);
      writeFileSync(`${file}.tmp`, `${cluster.url_secret}\n`, { mode: 0o600 });
      renameSync(`${file}.tmp`, file);
    };

    const driver: HostDriver = {
      name: "local",
      flags: { sweep: true, repair: true, plugins: NODE_PLUGINS },
      async ping() {
        // This machine is always reachable; what can fail is the node program being gone.
        const program = options.nodeCommand.find((arg) => /\.(m?js|ts)$/.test(arg));
        return program === undefined || existsSync(program);
      },

      async createCluster(cluster): Promise<ClusterRuntime> {
        // Clear whatever an earlier attempt left: a crash may have come at any point.
        await terminate(processesOf(cluster.id).map((p) => p.pid));
        removeFiles(cluster.id);
        const ports = await leaseFreePorts(cluster);
        const service_url = urlsOf(ports);
        ctx.saveHandle(cluster.id, { dir: clusterDir(cluster.id), ports });
        const configs = clusterNodeConfigs(cluster, {
          listen: (_id, i) => ({ host: LOOPBACK, port: ports[i]! }),
          peerUrl: (id) => service_url[id]!,
          dataDir: (id) => join(clusterDir(cluster.id), id, "data"),
          urlSecretFile: (id) => join(clusterDir(cluster.id), id, URL_SECRET_FILE),
        }, ctx);
        for (const config of configs) {
          mkdirSync(config.data_dir, { recursive: true });
          const dir = join(clusterDir(cluster.id), config.node_id);
          writeNodeConfig(dir, { ...config, log: nodeLog(dir) });
          if (config.url_secret_file !== undefined) writeUrlSecret(cluster, config.node_id);
        }
        const pids = new Map(configs.map((c) => [c.node_id, spawnNode(cluster, c.node_id)] as const));
        forget(cluster.id);
        await waitUp(cluster, service_url, pids);
        notePids(cluster.id, pids);
        return { api_url: service_url["vp0"]!, service_url, handle: { dir: clusterDir(cluster.id), ports } };
      },

      async removeCluster(cluster) {
        forget(cluster.id);
        await terminate(processesOf(cluster.id).map((p) => p.pid));
        removeFiles(cluster.id);
      },

      async stopCluster(cluster) {
        forget(cluster.id);
        await terminate(processesOf(cluster.id).map((p) => p.pid));
      },

      async startCluster(cluster) {
        if (!existsSync(clusterDir(cluster.id))) throw new Error(`cluster ${cluster.id} has no files under ${root}`);
        const pids = new Map<string, number | undefined>(processesOf(cluster.id).map((p) => [p.nodeId, p.pid]));
        for (const id of nodeIds(cluster)) if (!pids.has(id)) pids.set(id, spawnNode(cluster, id));
        forget(cluster.id);
        await waitUp(cluster, cluster.service_url, pids);
        notePids(cluster.id, pids);
      },

      async restartCluster(cluster) {
        await driver.stopCluster(cluster);
        await driver.startCluster(cluster);
      },

      async rotateUrlSecret(cluster) {
        if (!existsSync(clusterDir(cluster.id))) throw new Error(`cluster ${cluster.id} has no files under ${root}`);
        for (const id of nodeIds(cluster)) writeUrlSecret(cluster, id);
        // A node reads its secret at start: the restart is what kills the old URLs.
        if (cluster.status === "running") await driver.restartCluster(cluster);
      },

      /**
       * Every round: each node's process is alive (a dead node fails its cluster at once, as
       * the HTTP probe would). At most every httpProbeEveryMs, and every round after a failure
       * or while the processes are not known: the full HTTP probe. Every node, its peers and
       * the daemon share this machine's loopback: what a follower's own pings would add, the
       * daemon's requests to it tell already (see ProbeOptions).
       */
      async probe(cluster) {
        const pids = pidsOf(cluster);
        if (pids !== undefined) {
          const gone = nodeIds(cluster).filter((id) => !isNodeProcess(pids.get(id)!, configFile(cluster.id, id)));
          if (gone.length > 0) {
            passedAt.delete(cluster.id);
            return { ok: false, reason: gone.map((id) => `${id}: its process has exited`).join("; "), failedNodes: gone };
          }
          const passed = passedAt.get(cluster.id);
          if (passed !== undefined && Date.now() - passed < httpProbeEveryMs) return { ok: true };
        }
        const result = await probeChainNodes(cluster, cluster.service_url, { peerView: "vp0", get: probeHttp.get });
        if (result.ok) passedAt.set(cluster.id, Date.now());
        else passedAt.delete(cluster.id);
        return result;
      },

      async repairCluster(cluster) {
        // A node that died is started again on its own ledger; it catches up from its peers.
        await driver.startCluster(cluster);
      },

      async sweep(known, graceMs) {
        const removed = new Set<string>();
        const strays = findNodeProcesses(root).filter((p) => !known.has(p.clusterId));
        const byCluster = new Map<string, number[]>();
        for (const p of strays) byCluster.set(p.clusterId, [...(byCluster.get(p.clusterId) ?? []), p.pid]);
        let dirs: string[] = [];
        try {
          dirs = readdirSync(root);
        } catch {
          /* nothing made yet */
        }
        const now = Date.now();
        const oldEnough = (id: string) => {
          try {
            return now - statSync(clusterDir(id)).mtimeMs >= graceMs;
          } catch {
            return true; // processes without files: nothing to wait for
          }
        };
        for (const id of new Set([...byCluster.keys(), ...dirs.filter((d) => !known.has(d))])) {
          if (!oldEnough(id)) continue;
          forget(id);
          await terminate(byCluster.get(id) ?? []);
          removeFiles(id);
          removed.add(id);
        }
        if (removed.size > 0) log.info("swept clusters no database row claims", { clusters: [...removed] });
        return [...removed];
      },

      async resetHost() {
        nodePids.clear();
        passedAt.clear();
        await terminate(findNodeProcesses(root).map((p) => p.pid));
        rmSync(root, { recursive: true, force: true });
        mkdirSync(root, { recursive: true });
      },

      async dispose() {
        // Nodes are left running on purpose: the next daemon adopts them.
        disposed = true;
        probeHttp.close();
      },
    };
    return driver;
  };
}
