import type Docker from "dockerode";
import { badRequest } from "../../core/errors.ts";
import { publishAddress } from "../../core/publish-address.ts";
import type { Cluster, Host } from "../../core/types.ts";
import { nodesPerBlock, type SubnetPool, subnetPool } from "../../lib/subnets.ts";
import type { ClusterRuntime, DriverContext, DriverFactory, HostDriver, ProbeResult } from "../contract.ts";
import { clusterNodeConfigs, NODE_PLUGINS, nodeIds, URL_SECRET_FILE } from "../node-configs.ts";
import { NodePorts } from "../node-ports.ts";
import { probeEngineNodes, untilHealthy } from "../probe.ts";
import { connectDocker, isConflict, isNotFound, parseDockerHost, publicAddress, removeQuietly } from "./connect.ts";
import { CONFIG_DIR, CONTAINER_LAYOUT, ensureNodeImage, NODE_UID, type NodeImageSource, nodeImageSource } from "./image.ts";
import { LABEL, NODE_PORT, ownedBy } from "./labels.ts";
import { type TarEntry, tarStream } from "../../lib/tar.ts";

export interface DockerDriverOptions {
  /** The node image every docker and swarm host runs: one `imageResolver` per daemon, shared. */
  nodeImage: () => Promise<NodeImageSource | string>;
  nodeMemoryMb: number;
  nodeCpus: number;
  subnets: SubnetPool;
  subnetPrefix: number;
  /** This machine's own addresses: a host whose api_url names one of them publishes on it alone (core/publish-address.ts). */
  machineAddresses: ReadonlySet<string>;
}

/**
 * The node image: the operator's own tag, or the content made from the command local nodes
 * run with (`image` unset). Worked out once per daemon: hashing ~100 MB takes a moment.
 */
export function imageResolver(options: { nodeCommand: readonly string[]; image?: string }): () => Promise<NodeImageSource | string> {
  let source: Promise<NodeImageSource> | undefined;
  return () => {
    if (options.image) return Promise.resolve(options.image);
    source ??= nodeImageSource(options.nodeCommand).catch((err) => {
      source = undefined;
      throw err;
    });
    return source;
  };
}

/**
 * Per-host image presence, checked once per driver; checked again after a failure, or when
 * Docker says the image is gone (someone removed it), which `check` is given to look at.
 */
export function hostImage(docker: Docker, resolve: () => Promise<NodeImageSource | string>): { get(): Promise<string>; check(err: unknown): void } {
  let ready: Promise<string> | undefined;
  return {
    get() {
      ready ??= resolve()
        .then(async (source) => {
          if (typeof source === "string") return source;
          await ensureNodeImage(docker, source);
          return source.tag;
        })
        .catch((err) => {
          ready = undefined;
          throw err;
        });
      return ready;
    },
    check(err) {
      if (isNotFound(err) && /image/i.test(String((err as Error).message))) ready = undefined;
    },
  };
}

/** The host's own `subnet_pool` param, else the config's pool. */
function hostSubnets(host: Host, options: DockerDriverOptions): SubnetPool {
  const own = host.params["subnet_pool"];
  if (own === undefined) return options.subnets;
  const pool = typeof own === "string" ? subnetPool(own, options.subnetPrefix) : "must be a CIDR string";
  if (typeof pool === "string") throw badRequest(`params.subnet_pool: ${pool}`);
  return pool;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A node's URL secret file, as it goes into CONFIG_DIR beside its config. */
const urlSecretEntry = (cluster: Cluster): TarEntry => ({
  kind: "data",
  name: URL_SECRET_FILE,
  data: `${cluster.url_secret}\n`,
  mode: 0o600,
  uid: NODE_UID,
  gid: NODE_UID,
});
/**
 * An engine's word that a host port is taken: its proxy could not bind it, another container
 * of that engine publishes it, or (swarm) another service's task holds it in host mode.
 */
export const PORT_TAKEN = /address already in use|port is already allocated|host-mode port already in use/i;
const SUBNET_TAKEN = /overlap|pool/i;

/**
 * The `docker` host: each node is a container of the node image on a bridge network of the
 * cluster's own (a leased block of the subnet pool, so one host holds far more than Docker's
 * ~31 default networks); every node's REST port is published on a leased host port, at the
 * host's publish address (core/publish-address.ts). Everything is labelled with this
 * instance, host, cluster and node, and found again by those labels.
 */
export function dockerDriverFactory(options: DockerDriverOptions): DriverFactory {
  const factory: DriverFactory = (host: Host, ctx: DriverContext): HostDriver => {
    const address = parseDockerHost(host);
    const subnets = hostSubnets(host, options);
    const docker = connectDocker(host, address);
    const publicHost = publicAddress(host, address);
    const publish = publishAddress(host, options.machineAddresses);
    const image = hostImage(docker, options.nodeImage);
    const log = ctx.logger.child({ host: host.name });
    if (publish.rule === "everywhere") {
      log.warn("node ports are published on every address of the engine's machine; set params.publish_ip to narrow that", { daemon_url: host.daemon_url });
    }
    const owned = ownedBy(ctx.instance, host.id);
    const networkName = (id: string) => `chainpool-${id}`;
    const containerName = (id: string, node: string) => `chainpool-${id}-${node}`;

    const containersOf = (clusterId?: string) =>
      docker.listContainers({ all: true, filters: { label: owned(clusterId) } });
    const networksOf = (clusterId?: string) => docker.listNetworks({ filters: { label: owned(clusterId) } });

    const removeContainer = async (id: string) => {
      try {
        await docker.getContainer(id).remove({ force: true, v: true });
      } catch (err) {
        if (!isNotFound(err) && !isConflict(err)) throw err; // 409: removal already in progress
      }
    };
    const removeNetwork = (id: string) => removeQuietly(() => docker.getNetwork(id).remove());
    const removeAll = async (clusterId?: string) => {
      const containers = await containersOf(clusterId);
      await Promise.all(containers.map((c) => removeContainer(c.Id)));
      const networks = await networksOf(clusterId);
      await Promise.all(networks.map((n) => removeNetwork(n.Id)));
    };

    const createNetwork = async (cluster: Cluster): Promise<string> => {
      for (let attempt = 0; attempt < 20; attempt++) {
        const index = ctx.subnets.lease(cluster.id, subnets.count);
        const { subnet, gateway } = subnets.block(index);
        try {
          await docker.createNetwork({
            Name: networkName(cluster.id),
            Driver: "bridge",
            CheckDuplicate: true,
            IPAM: { Driver: "default", Config: [{ Subnet: subnet, Gateway: gateway }] },
            Labels: { ...labels(cluster.id) },
          });
          return subnet;
        } catch (err) {
          const message = String((err as Error).message);
          if (!SUBNET_TAKEN.test(message)) throw err;
          log.warn("subnet overlaps a network chainpool does not own; leasing another", { cluster: cluster.id, subnet });
          ctx.subnets.block(index, `${subnet}: ${message}`);
        }
      }
      throw new Error(`no free subnet for ${cluster.id} after 20 tries`);
    };

    const labels = (clusterId: string, node?: string): Record<string, string> => ({
      [LABEL.instance]: ctx.instance,
      [LABEL.host]: host.id,
      [LABEL.cluster]: clusterId,
      ...(node !== undefined && { [LABEL.node]: node }),
    });

    const createNode = async (cluster: Cluster, tag: string, node: string, config: string, port: number) => {
      const container = await docker
        .createContainer({
          name: containerName(cluster.id, node),
          Image: tag,
          Cmd: ["--config", `${CONFIG_DIR}/config.json`],
          Labels: labels(cluster.id, node),
          ExposedPorts: { [`${NODE_PORT}/tcp`]: {} },
          HostConfig: {
            NetworkMode: networkName(cluster.id),
            Memory: options.nodeMemoryMb * 1024 * 1024,
            NanoCpus: Math.round(options.nodeCpus * 1e9),
            CapDrop: ["ALL"],
            SecurityOpt: ["no-new-privileges"],
            LogConfig: { Type: "json-file", Config: { "max-size": "1m", "max-file": "2" } },
            PortBindings: { [`${NODE_PORT}/tcp`]: [{ HostIp: publish.ip, HostPort: String(port) }] },
          },
          NetworkingConfig: { EndpointsConfig: { [networkName(cluster.id)]: { Aliases: [node] } } },
        })
        .catch((err) => {
          image.check(err); // the image may have been removed from the host
          throw err;
        });
      const files: TarEntry[] = [{ kind: "data", name: "config.json", data: config, mode: 0o600, uid: NODE_UID, gid: NODE_UID }];
      if (cluster.url_secret !== "") files.push(urlSecretEntry(cluster));
      await container.putArchive(tarStream(files), { path: CONFIG_DIR });
      return container;
    };

    /** Makes and starts a node, moving it to another leased host port when something else holds its own. */
    const startNode = async (cluster: Cluster, tag: string, node: string, config: string, ports: NodePorts): Promise<void> => {
      for (let attempt = 0; attempt < 10; attempt++) {
        const port = ports.of(node);
        const container = await createNode(cluster, tag, node, config, port);
        try {
          await container.start();
          return;
        } catch (err) {
          const message = String((err as Error).message);
          if (!PORT_TAKEN.test(message)) throw err;
          log.warn("host port taken by something chainpool does not own; leasing another", { cluster: cluster.id, node, port });
          ports.move(node, message);
          await removeContainer(container.id);
        }
      }
      throw new Error(`no free host port for node ${node} of ${cluster.id} after 10 tries`);
    };

    const runtimeOf = (ports: Record<string, number>): Pick<ClusterRuntime, "api_url" | "service_url"> => {
      const service_url = Object.fromEntries(Object.entries(ports).map(([node, port]) => [node, `http://${publicHost}:${port}`]));
      return { api_url: service_url["vp0"]!, service_url };
    };

    const probe = (cluster: Cluster): Promise<ProbeResult> =>
      probeEngineNodes(
        cluster,
        async () => (await containersOf(cluster.id)).filter((c) => c.State === "running").map((c) => c.Labels[LABEL.node]),
        { name: "docker", units: "containers not running" },
      );
    const waitReady = (cluster: Cluster) => untilHealthy(cluster, probe, ctx.readyTimeoutMs, 50);

    const eachContainer = async (cluster: Cluster, act: (c: Docker.Container, info: Docker.ContainerInfo) => Promise<unknown>) => {
      const containers = await containersOf(cluster.id);
      if (containers.length === 0) throw new Error(`cluster ${cluster.id} has no containers on ${host.name}`);
      await Promise.all(
        containers.map(async (info) => {
          try {
            await act(docker.getContainer(info.Id), info);
          } catch (err) {
            if ((err as { statusCode?: number }).statusCode !== 304) throw err; // 304: already in that state
          }
        }),
      );
    };

    const driver: HostDriver = {
      name: "docker",
      flags: { sweep: true, repair: true, plugins: NODE_PLUGINS },

      async ping() {
        try {
          await Promise.race([docker.ping(), sleep(5000).then(() => Promise.reject(new Error("timeout")))]);
          return true;
        } catch {
          return false;
        }
      },

      async createCluster(cluster): Promise<ClusterRuntime> {
        if (cluster.size > nodesPerBlock(options.subnetPrefix)) {
          throw new Error(`a /${options.subnetPrefix} network holds ${nodesPerBlock(options.subnetPrefix)} nodes; cluster ${cluster.id} has ${cluster.size}`);
        }
        // Whatever an earlier attempt left goes first: a crash may have come at any point.
        const t0 = performance.now();
        const phases: Record<string, number> = {};
        const mark = (phase: string) => (phases[phase] = Math.round(performance.now() - t0));
        await removeAll(cluster.id);
        mark("cleared");
        const tag = await image.get();
        const ports = new NodePorts({ leaser: ctx.ports, clusterId: cluster.id, nodes: nodeIds(cluster) });
        ctx.saveHandle(cluster.id, { network: networkName(cluster.id), ports: ports.toRecord() });
        const subnet = await createNetwork(cluster);
        mark("network");
        const configs = clusterNodeConfigs(cluster, CONTAINER_LAYOUT, ctx);
        // Every node is made and started at once; any may move to another leased host port.
        await Promise.all(configs.map((config) => startNode(cluster, tag, config.node_id, JSON.stringify(config), ports)));
        mark("started");
        const runtime = runtimeOf(ports.toRecord());
        const handle = { network: networkName(cluster.id), subnet, port: ports.of("vp0"), ports: ports.toRecord() };
        ctx.saveHandle(cluster.id, handle);
        await waitReady({ ...cluster, ...runtime });
        mark("healthy");
        log.debug("docker cluster made", { cluster: cluster.id, ms: phases });
        return { ...runtime, handle };
      },

      removeCluster: (cluster) => removeAll(cluster.id),

      async stopCluster(cluster) {
        await eachContainer(cluster, (c) => c.stop({ t: 2 }));
      },

      async startCluster(cluster) {
        await eachContainer(cluster, (c, info) => (info.State === "running" ? Promise.resolve() : c.start()));
        await waitReady(cluster);
      },

      async restartCluster(cluster) {
        await eachContainer(cluster, (c) => c.restart({ t: 2 }));
        await waitReady(cluster);
      },

      async rotateUrlSecret(cluster) {
        await eachContainer(cluster, (c) => c.putArchive(tarStream([urlSecretEntry(cluster)]), { path: CONFIG_DIR }));
        // A node reads its secret at start: the restart (stop, then start) is what kills the old URLs.
        if (cluster.status === "running") await driver.restartCluster(cluster);
      },

      probe,

      async repairCluster(cluster) {
        // Containers that died are started again on their own ledgers; they catch up from peers.
        await driver.startCluster(cluster);
      },

      async sweep(known, graceMs) {
        const cutoff = Date.now() - graceMs;
        const removed = new Set<string>();
        for (const c of await containersOf()) {
          const id = c.Labels[LABEL.cluster];
          if (id === undefined || known.has(id) || c.Created * 1000 > cutoff) continue;
          await removeContainer(c.Id);
          removed.add(id);
        }
        for (const n of await networksOf()) {
          const id = n.Labels?.[LABEL.cluster];
          if (id === undefined || known.has(id) || Date.parse(n.Created) > cutoff) continue;
          await removeNetwork(n.Id);
          removed.add(id);
        }
        if (removed.size > 0) log.info("swept clusters no database row claims", { clusters: [...removed] });
        return [...removed];
      },

      resetHost: () => removeAll(),

      async dispose() {
        // Containers stay: the next daemon adopts them by their labels.
      },
    };
    return driver;
  };
  factory.check = (host) => {
    parseDockerHost(host);
    hostSubnets(host, options);
  };
  return factory;
}
