import { randomBytes } from "node:crypto";
import type Docker from "dockerode";
import type { Cluster, Host } from "../../core/types.ts";
import type { ClusterRuntime, DriverContext, DriverFactory, HostDriver, ProbeResult } from "../contract.ts";
import { clusterNodeConfigs, type NodeLayout, NODE_PLUGINS, nodeIds, URL_SECRET_FILE } from "../node-configs.ts";
import { NodePorts } from "../node-ports.ts";
import { probeEngineNodes, untilHealthy } from "../probe.ts";
import { connectDocker, parseDockerHost, parseNodeEngines, removeQuietly } from "./connect.ts";
import { hostImage, PORT_TAKEN, type DockerDriverOptions } from "./driver.ts";
import { CONTAINER_LAYOUT, DATA_DIR, ensureNodeImage, NODE_UID } from "./image.ts";
import { LABEL, NODE_PORT, ownedBy } from "./labels.ts";

/** An address as the host part of a URL: an IPv6 address in brackets. */
const urlHost = (addr: string) => (addr.includes(":") ? `[${addr}]` : addr);

/** Where swarm hands a node its config: a secret, readable by the node's user only. */
const SECRET_FILE = "/run/secrets/config.json";

/** As in a docker container, but the URL secret is a swarm secret of its own, beside the config's. */
const SWARM_LAYOUT: NodeLayout = { ...CONTAINER_LAYOUT, urlSecretFile: () => `/run/secrets/${URL_SECRET_FILE}` };

/** Task states in which a task's container may be serving. */
const SERVING_STATES = new Set(["ready", "starting", "running"]);

type SecretReference = NonNullable<Docker.ContainerSpec["Secrets"]>[number];

/** A swarm node a cluster's node may be placed on. */
interface SwarmNode {
  id: string;
  addr: string;
}

/**
 * One swarm node's own engine, named in the host's `node_engines`: the node image is loaded
 * there (no registry needed), and a cluster's volumes on that node are removed there (swarm
 * removes services, tasks and containers everywhere, but leaves volumes on the node that made
 * them). `nodeId` is what the engine says it is in the swarm, asked when needed.
 */
interface NodeEngine {
  url: string;
  docker: Docker;
  nodeId: string | undefined;
  /** The image load in flight, shared by whoever asks meanwhile. */
  loading: Promise<void> | undefined;
  /** The last outcome, for the log: "ready" or why not. */
  status: string;
}

/** The swarm node id a task or service is pinned to by its `node.id==` constraint. */
const pinnedNode = (constraints: readonly string[] | undefined) => {
  for (const c of constraints ?? []) {
    const m = /^node\.id\s*==\s*(\S+)$/.exec(c);
    if (m) return m[1];
  }
  return undefined;
};

const withTimeout = <T>(p: Promise<T>, ms: number): Promise<T> =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref?.())]);

/**
 * The `swarm` host, a Swarm manager: each node is a service with one replica on an overlay
 * network of the cluster's own, its config a swarm secret and its ledger a named volume (so
 * stop, which scales to 0, and start keep it). Node i is pinned to the (i mod n)-th swarm
 * node that can run it (the manager daemon_url names first, then the others by id), which
 * spreads a cluster over the swarm and keeps each volume where its node runs. Without a
 * registry the image reaches a swarm node only through its engine in `node_engines`; those
 * engines also serve to remove volumes, which swarm leaves on the node that made them.
 *
 * Services use DNS round robin, and every node's REST port is published in host mode on the
 * swarm node it is placed on: both work without IPVS, which the routing mesh needs and many
 * kernels (this CI's among them) lack. Each node's URL is its swarm node's address (or the
 * host's public_host); api_url is vp0's. Swarm cannot publish a service's port on one address
 * (Docker takes none): host-mode ports listen on every address of their node, which is why
 * swarm hosts refuse `publish_ip` (core/host-params.ts).
 */
export function swarmDriverFactory(options: Omit<DockerDriverOptions, "subnets" | "subnetPrefix" | "machineAddresses">): DriverFactory {
  const factory: DriverFactory = (host: Host, ctx: DriverContext): HostDriver => {
    const address = parseDockerHost(host);
    const docker = connectDocker(host, address);
    const image = hostImage(docker, options.nodeImage);
    const log = ctx.logger.child({ host: host.name });
    const owned = ownedBy(ctx.instance, host.id);
    const name = (id: string, node?: string) => (node === undefined ? `chainpool-${id}` : `chainpool-${id}-${node}`);
    const labels = (clusterId: string, node?: string): Record<string, string> => ({
      [LABEL.instance]: ctx.instance,
      [LABEL.host]: host.id,
      [LABEL.cluster]: clusterId,
      ...(node !== undefined && { [LABEL.node]: node }),
    });
    let warnedNotManager = false;
    const nodeEngines: NodeEngine[] = parseNodeEngines(host).map(({ url, address: a }) => ({ url, docker: connectDocker(host, a), nodeId: undefined, loading: undefined, status: "" }));
    const warnedUnfed = new Set<string>();
    let selfNodeId: string | undefined;

    const servicesOf = (clusterId?: string) => docker.listServices({ filters: { label: owned(clusterId) } });

    const removeAll = async (clusterId?: string) => {
      const filters = { label: owned(clusterId) };
      const services = await servicesOf(clusterId);
      await Promise.all(services.map((s) => removeQuietly(() => docker.getService(s.ID!).remove())));
      const secrets = await docker.listSecrets({ filters });
      await Promise.all(secrets.map((s) => removeQuietly(() => docker.getSecret(s.ID).remove())));
      const networks = await docker.listNetworks({ filters });
      await Promise.all(networks.map((n) => removeQuietly(() => docker.getNetwork(n.Id).remove(), 200)));
      // Task containers go away shortly after their service; their volumes only then.
      const { Volumes } = await docker.listVolumes({ filters });
      await Promise.all((Volumes ?? []).map((v) => removeQuietly(() => docker.getVolume(v.Name).remove(), 200)));
      await removeVolumesOnNodes(clusterId);
    };

    /**
     * The swarm nodes ready to run tasks: the manager daemon_url names first (vp0 goes there,
     * so api_url stays put when a worker dies), then the others by id.
     */
    const swarmNodes = async (): Promise<SwarmNode[]> => {
      selfNodeId ??= ((await docker.info()) as { Swarm?: { NodeID?: string } }).Swarm?.NodeID || undefined;
      const nodes = (await docker.listNodes()) as Array<{ ID: string; Status?: { State?: string; Addr?: string }; Spec?: { Availability?: string } }>;
      return nodes
        .filter((n) => n.Status?.State === "ready" && n.Spec?.Availability === "active")
        .map((n) => ({ id: n.ID, addr: n.Status?.Addr ?? "" }))
        .sort((a, b) => (a.id === selfNodeId ? -1 : b.id === selfNodeId ? 1 : a.id.localeCompare(b.id)));
    };

    /** Asks each node engine not yet matched to a ready swarm node which node it is. */
    const identifyEngines = async (ready: ReadonlySet<string>) => {
      await Promise.all(
        nodeEngines
          .filter((e) => e.nodeId === undefined || !ready.has(e.nodeId))
          .map(async (e) => {
            try {
              e.nodeId = ((await withTimeout(e.docker.info(), 5000)) as { Swarm?: { NodeID?: string } }).Swarm?.NodeID || undefined;
            } catch {
              e.nodeId = undefined;
            }
          }),
      );
    };

    /** Node engines of ready swarm nodes (not the manager's own: daemon_url is that engine). */
    const liveEngines = async (nodes?: SwarmNode[]) => {
      const ready = new Set((nodes ?? (await swarmNodes())).map((n) => n.id));
      await identifyEngines(ready);
      const seen = new Set<string>([selfNodeId ?? ""]);
      return nodeEngines.filter((e) => {
        if (e.nodeId === undefined || !ready.has(e.nodeId) || seen.has(e.nodeId)) return false;
        seen.add(e.nodeId);
        return true;
      });
    };

    /** Loads the node image onto one node engine unless it has it; one load at a time per engine. */
    const feed = (e: NodeEngine, source: Exclude<Awaited<ReturnType<typeof options.nodeImage>>, string>) => {
      e.loading ??= withTimeout(ensureNodeImage(e.docker, source), 10 * 60_000)
        .then(
          (imported) => {
            if (imported || e.status !== "ready") log.info("node image ready on swarm node", { engine: e.url, swarm_node: e.nodeId, image: source.tag, loaded: imported });
            e.status = "ready";
          },
          (err: unknown) => {
            const why = (err as Error).message;
            if (e.status !== why) log.warn("cannot load the node image onto a swarm node; no cluster node goes there until it can", { engine: e.url, swarm_node: e.nodeId, err });
            e.status = why;
            throw err;
          },
        )
        .finally(() => {
          e.loading = undefined;
        });
      return e.loading;
    };

    /**
     * Where a cluster's nodes may go: with the operator's image (`docker.image`, from a
     * registry every node reaches), every ready swarm node. With chainpool's own image, the
     * nodes that have it: the manager (imported through daemon_url) and each node engine it
     * was loaded onto; a ready swarm node with no engine in node_engines gets no node, since
     * its tasks would never find the image.
     */
    const placement = async (): Promise<SwarmNode[]> => {
      const nodes = await swarmNodes();
      const source = await options.nodeImage();
      if (typeof source === "string") return nodes;
      await image.get();
      const engines = await liveEngines(nodes);
      const fed = new Set<string>([selfNodeId ?? ""]);
      await Promise.all(engines.map((e) => feed(e, source).then(() => fed.add(e.nodeId!), () => undefined)));
      for (const n of nodes) {
        if (fed.has(n.id) || warnedUnfed.has(n.id)) continue;
        warnedUnfed.add(n.id);
        log.warn("swarm node gets no cluster node: the node image cannot reach it; name its engine in params.node_engines, or set docker.image to an image from a registry", { swarm_node: n.id, addr: n.addr });
      }
      return nodes.filter((n) => fed.has(n.id));
    };

    /** Each node's URL: its swarm node's address (or public_host) and its published port. */
    const publicHost = typeof host.params["public_host"] === "string" ? host.params["public_host"] : undefined;
    const nodeUrl = (addr: string, port: number) => `http://${publicHost ?? urlHost(addr)}:${port}`;

    /** Removes the cluster's volumes from every live node engine; an engine that fails is left to the sweep. */
    const removeVolumesOnNodes = async (clusterId?: string) => {
      const filters = { label: owned(clusterId) };
      const engines = nodeEngines.length === 0 ? [] : await liveEngines();
      await Promise.all(
        engines.map(async (e) => {
          try {
            const { Volumes } = await e.docker.listVolumes({ filters });
            await Promise.all((Volumes ?? []).map((v) => removeQuietly(() => e.docker.getVolume(v.Name).remove(), 200)));
          } catch (err) {
            log.warn("cannot remove a cluster's volumes on a swarm node yet; the sweep will", { engine: e.url, cluster: clusterId, err });
          }
        }),
      );
    };

    const probe = (cluster: Cluster): Promise<ProbeResult> =>
      probeEngineNodes(
        cluster,
        async () => {
          const services = await servicesOf(cluster.id);
          const nodeOf = new Map(services.map((s) => [s.ID!, s.Spec?.Labels?.[LABEL.node]]));
          const tasks = (await docker.listTasks({ filters: { service: [...nodeOf.keys()], "desired-state": ["running"] } })) as Array<{ ServiceID: string; Status?: { State?: string } }>;
          return tasks.filter((t) => t.Status?.State === "running").map((t) => nodeOf.get(t.ServiceID));
        },
        { name: "swarm", units: "services without a running task" },
      );
    const waitReady = (cluster: Cluster) => untilHealthy(cluster, probe, ctx.readyTimeoutMs, 100);

    /** Rewrites each service's spec (scale, force a new task) through Docker's versioned update. */
    const updateServices = async (cluster: Cluster, change: (spec: Docker.ServiceSpec) => Docker.ServiceSpec) => {
      const services = await servicesOf(cluster.id);
      if (services.length === 0) throw new Error(`cluster ${cluster.id} has no services on ${host.name}`);
      await Promise.all(
        services.map(async (s) => {
          const service = docker.getService(s.ID!);
          const info = await service.inspect();
          await service.update({ ...change(info.Spec), version: info.Version.Index });
        }),
      );
    };
    const scale = (replicas: number) => (spec: Docker.ServiceSpec) => ({ ...spec, Mode: { Replicated: { Replicas: replicas } } });

    /**
     * A swarm secret holding the cluster's URL secret for one node. Swarm secrets cannot be
     * changed, so each rotation makes new ones: the name carries a random suffix.
     */
    const createUrlSecret = async (cluster: Cluster, node: string): Promise<SecretReference> => {
      const secretName = `${name(cluster.id, node)}-url-${randomBytes(4).toString("hex")}`;
      const secret = await docker.createSecret({
        Name: secretName,
        Labels: labels(cluster.id, node),
        Data: Buffer.from(`${cluster.url_secret}\n`).toString("base64"),
      });
      return { SecretID: secret.id, SecretName: secretName, File: { Name: URL_SECRET_FILE, UID: String(NODE_UID), GID: String(NODE_UID), Mode: 0o400 } };
    };

    /** Waits until no task of the cluster that may be serving mounts a URL secret other than `current`. */
    const untilOnlyCurrentSecret = async (cluster: Cluster, current: ReadonlySet<string>) => {
      const deadline = Date.now() + ctx.readyTimeoutMs;
      for (;;) {
        const services = await servicesOf(cluster.id);
        const tasks = (await docker.listTasks({ filters: { service: services.map((s) => s.ID!) } })) as Array<{
          Status?: { State?: string };
          Spec?: { ContainerSpec?: { Secrets?: SecretReference[] } };
        }>;
        const stale = tasks.filter((t) => {
          if (!SERVING_STATES.has(t.Status?.State ?? "")) return false;
          const mounted = (t.Spec?.ContainerSpec?.Secrets ?? []).filter((ref) => ref.File?.Name === URL_SECRET_FILE);
          return mounted.some((ref) => !current.has(ref.SecretName ?? ""));
        });
        if (stale.length === 0) return;
        if (Date.now() > deadline) throw new Error(`cluster ${cluster.id}: ${stale.length} task(s) still serve under the old URL secret after ${ctx.readyTimeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };

    /** Removes the cluster's swarm secrets no service names any more (earlier URL secrets); best effort, removeAll gets the rest. */
    const removeUnusedSecrets = async (cluster: Cluster) => {
      const services = await servicesOf(cluster.id);
      const named = new Set(services.flatMap((s) => ((s.Spec?.TaskTemplate as Docker.ContainerTaskSpec | undefined)?.ContainerSpec?.Secrets ?? []).map((ref) => ref.SecretID)));
      for (const secret of await docker.listSecrets({ filters: { label: owned(cluster.id) } })) {
        if (named.has(secret.ID)) continue;
        await docker.getSecret(secret.ID).remove().catch((err: unknown) => log.debug("an earlier URL secret stays until the cluster goes", { cluster: cluster.id, err }));
      }
    };

    /**
     * Why a node's service cannot publish `port`, if that is what keeps it from running: a
     * task whose proxy could not bind it (the task fails, and its retries fail alike), or one
     * that waits because another service holds it in host mode. Tasks already acted on
     * (`seen`) are passed over: they speak of a port the node has left.
     */
    const portTakenReason = async (serviceId: string, port: number, seen: Set<string>): Promise<string | undefined> => {
      const tasks = (await docker.listTasks({ filters: { service: [serviceId] } })) as Array<{ ID: string; DesiredState?: string; Status?: { Err?: string } }>;
      const mentions = new RegExp(`:${port}\\b`);
      for (const task of tasks) {
        const err = task.Status?.Err ?? "";
        if (seen.has(task.ID) || !PORT_TAKEN.test(err)) continue;
        if (!mentions.test(err) && task.DesiredState !== "running") continue;
        for (const t of tasks) seen.add(t.ID);
        return err;
      }
      return undefined;
    };

    /** Publishes a node's service on another host port; swarm replaces its task. */
    const republish = async (serviceId: string, port: number) => {
      const service = docker.getService(serviceId);
      const info = await service.inspect();
      const endpoint = info.Spec.EndpointSpec ?? {};
      const ports = (endpoint.Ports ?? []).map((p: Docker.PortConfig) => ({ ...p, PublishedPort: port }));
      await service.update({ ...info.Spec, EndpointSpec: { ...endpoint, Ports: ports }, version: info.Version.Index });
    };

    /**
     * Waits until a new cluster is healthy, as the docker driver does at container start when
     * a node's host port is taken by something chainpool does not own: that port is blocked,
     * the node is published on another leased one, and the wait starts again.
     */
    const untilHealthyOnFreePorts = async (
      cluster: Cluster,
      serviceOf: ReadonlyMap<string, string>,
      ports: NodePorts,
      runtimeOf: () => Pick<ClusterRuntime, "api_url" | "service_url">,
      saveHandle: () => void,
    ): Promise<void> => {
      const seen = new Set<string>();
      const moves = new Map<string, number>();
      let deadline = Date.now() + ctx.readyTimeoutMs;
      for (;;) {
        const result = await probe({ ...cluster, ...runtimeOf() });
        if (result.ok) return;
        let moved = false;
        for (const node of result.failedNodes ?? []) {
          const service = serviceOf.get(node);
          const port = ports.of(node);
          const taken = service === undefined ? undefined : await portTakenReason(service, port, seen);
          if (service === undefined || taken === undefined) continue;
          const count = (moves.get(node) ?? 0) + 1;
          if (count > 10) throw new Error(`no free host port for node ${node} of ${cluster.id} after 10 tries`);
          moves.set(node, count);
          log.warn("host port taken by something chainpool does not own; leasing another", { cluster: cluster.id, node, port });
          const fresh = ports.move(node, taken);
          saveHandle();
          await republish(service, fresh);
          moved = true;
        }
        if (moved) {
          deadline = Date.now() + ctx.readyTimeoutMs;
        } else if (Date.now() > deadline) {
          throw new Error(`cluster ${cluster.id} not healthy within ${ctx.readyTimeoutMs} ms: ${result.reason}`);
        } else {
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    };

    /**
     * What the manager cannot see on the other swarm nodes: containers and volumes there of
     * clusters no row claims (left on a node that was down while its cluster went), and the
     * volume a node left on a swarm node it was moved off (a repair). Containers of live
     * services are swarm's to manage.
     */
    const sweepNodeEngines = async (known: ReadonlySet<string>, cutoff: number) => {
      if (nodeEngines.length === 0) return;
      const pinnedTo = new Map<string, string | undefined>();
      for (const s of await servicesOf()) {
        const labelsOf = s.Spec?.Labels ?? {};
        pinnedTo.set(`${labelsOf[LABEL.cluster]}/${labelsOf[LABEL.node]}`, pinnedNode((s.Spec?.TaskTemplate as Docker.ContainerTaskSpec | undefined)?.Placement?.Constraints));
      }
      const filters = { label: owned() };
      for (const e of await liveEngines()) {
        try {
          const strayIds: string[] = [];
          for (const c of await e.docker.listContainers({ all: true, filters })) {
            const id = c.Labels?.[LABEL.cluster];
            if (id !== undefined && !known.has(id) && c.Created * 1000 <= cutoff) strayIds.push(c.Id);
          }
          await Promise.all(strayIds.map((id) => removeQuietly(() => e.docker.getContainer(id).remove({ force: true, v: true }))));
          const { Volumes } = await e.docker.listVolumes({ filters });
          const stray = (Volumes ?? []).filter((v) => {
            const id = v.Labels?.[LABEL.cluster];
            if (id === undefined) return false;
            if (!known.has(id)) return Date.parse((v as { CreatedAt?: string }).CreatedAt ?? "") <= cutoff;
            const on = pinnedTo.get(`${id}/${v.Labels?.[LABEL.node]}`);
            return on !== undefined && on !== e.nodeId;
          });
          await Promise.all(stray.map((v) => removeQuietly(() => e.docker.getVolume(v.Name).remove(), 200)));
          if (strayIds.length + stray.length > 0) log.info("swept what clusters left on a swarm node", { engine: e.url, containers: strayIds.length, volumes: stray.map((v) => v.Name) });
        } catch (err) {
          log.warn("cannot sweep a swarm node's engine", { engine: e.url, err });
        }
      }
    };

    /** Loads the image onto every live node engine in the background (host checks call this). */
    let feeding: Promise<unknown> | undefined;
    const feedAll = () => {
      feeding ??= placement()
        .catch(() => undefined)
        .finally(() => {
          feeding = undefined;
        });
    };

    const driver: HostDriver = {
      name: "swarm",
      flags: { sweep: true, repair: true, plugins: NODE_PLUGINS },

      async ping() {
        try {
          const info = (await Promise.race([
            docker.info(),
            new Promise((_, reject) => setTimeout(() => reject(new Error("timeout")), 5000)),
          ])) as { Swarm?: { ControlAvailable?: boolean } };
          if (info.Swarm?.ControlAvailable === true) {
            if (nodeEngines.length > 0) feedAll();
            return true;
          }
          if (!warnedNotManager) log.warn("daemon_url is not a swarm manager", { daemon_url: host.daemon_url });
          warnedNotManager = true;
          return false;
        } catch {
          return false;
        }
      },

      async createCluster(cluster): Promise<ClusterRuntime> {
        await removeAll(cluster.id);
        const tag = await image.get();
        const nodes = await placement();
        if (nodes.length === 0) throw new Error(`swarm ${host.name} has no ready, active node that has the node image`);
        const ports = new NodePorts({ leaser: ctx.ports, clusterId: cluster.id, nodes: nodeIds(cluster) });
        // Node i runs on swarm node i mod n, so its published port is that node's.
        const placed = (i: number) => nodes[i % nodes.length]!;
        const handle = () => ({ network: name(cluster.id), port: ports.of("vp0"), ports: ports.toRecord(), swarm_nodes: nodeIds(cluster).map((_, i) => placed(i).id) });
        ctx.saveHandle(cluster.id, handle());
        const network = await docker.createNetwork({
          Name: name(cluster.id),
          Driver: "overlay",
          CheckDuplicate: true,
          Labels: labels(cluster.id),
        });
        const configs = clusterNodeConfigs(cluster, SWARM_LAYOUT, ctx);
        const services = await Promise.all(
          configs.map(async (config, i) => {
            const node = config.node_id;
            const secret = await docker.createSecret({
              Name: name(cluster.id, node),
              Labels: labels(cluster.id, node),
              Data: Buffer.from(JSON.stringify(config)).toString("base64"),
            });
            const urlSecret = cluster.url_secret === "" ? [] : [await createUrlSecret(cluster, node)];
            const service = await docker.createService({
              Name: name(cluster.id, node),
              Labels: labels(cluster.id, node),
              TaskTemplate: {
                ContainerSpec: {
                  Image: tag,
                  Args: ["--config", SECRET_FILE],
                  Labels: labels(cluster.id, node),
                  Secrets: [{ SecretID: secret.id, SecretName: name(cluster.id, node), File: { Name: "config.json", UID: String(NODE_UID), GID: String(NODE_UID), Mode: 0o400 } }, ...urlSecret],
                  Mounts: [{ Type: "volume", Source: name(cluster.id, node), Target: DATA_DIR, VolumeOptions: { NoCopy: false, Labels: labels(cluster.id, node), DriverConfig: { Name: "local", Options: {} } } }],
                  CapabilityDrop: ["ALL"],
                  StopGracePeriod: 2e9,
                },
                Resources: { Limits: { NanoCPUs: Math.round(options.nodeCpus * 1e9), MemoryBytes: options.nodeMemoryMb * 1024 * 1024 } },
                RestartPolicy: { Condition: "any", Delay: 1e9 },
                Placement: { Constraints: [`node.id==${placed(i).id}`] },
                Networks: [{ Target: network.id, Aliases: [node] }],
                LogDriver: { Name: "json-file", Options: { "max-size": "1m", "max-file": "2" } },
              },
              Mode: { Replicated: { Replicas: 1 } },
              EndpointSpec: {
                Mode: "dnsrr",
                Ports: [{ Protocol: "tcp", TargetPort: NODE_PORT, PublishedPort: ports.of(node), PublishMode: "host" }],
              },
            } as Docker.CreateServiceOptions);
            return [node, service.id as string] as const;
          }),
        );
        const runtimeOf = () => {
          const service_url = Object.fromEntries(nodeIds(cluster).map((node, i) => [node, nodeUrl(placed(i).addr, ports.of(node))]));
          return { api_url: service_url["vp0"]!, service_url };
        };
        await untilHealthyOnFreePorts(cluster, new Map(services), ports, runtimeOf, () => ctx.saveHandle(cluster.id, handle()));
        return { ...runtimeOf(), handle: handle() };
      },

      removeCluster: (cluster) => removeAll(cluster.id),

      async stopCluster(cluster) {
        await updateServices(cluster, scale(0));
      },

      async startCluster(cluster) {
        await updateServices(cluster, scale(1));
        await waitReady(cluster);
      },

      async restartCluster(cluster) {
        await updateServices(cluster, (spec) => {
          const template = spec.TaskTemplate as Docker.ContainerTaskSpec;
          return { ...scale(1)(spec), TaskTemplate: { ...template, ForceUpdate: (template.ForceUpdate ?? 0) + 1 } };
        });
        await waitReady(cluster);
      },

      async rotateUrlSecret(cluster) {
        const services = await servicesOf(cluster.id);
        if (services.length === 0) throw new Error(`cluster ${cluster.id} has no services on ${host.name}`);
        const current = new Set<string>();
        // Each service gets a new swarm secret in place of its URL secret; swarm replaces its
        // task (stopping the old one first), on the same volume: the ledger stays.
        await Promise.all(
          services.map(async (s) => {
            const ref = await createUrlSecret(cluster, s.Spec?.Labels?.[LABEL.node] ?? "");
            current.add(ref.SecretName!);
            const service = docker.getService(s.ID!);
            const info = await service.inspect();
            const template = info.Spec.TaskTemplate as Docker.ContainerTaskSpec;
            const secrets = (template.ContainerSpec?.Secrets ?? []).filter((r) => r.File?.Name !== URL_SECRET_FILE);
            await service.update({
              ...info.Spec,
              TaskTemplate: { ...template, ContainerSpec: { ...template.ContainerSpec, Secrets: [...secrets, ref] } },
              version: info.Version.Index,
            });
          }),
        );
        if (cluster.status === "running") {
          await untilOnlyCurrentSecret(cluster, current);
          await waitReady(cluster);
        }
        await removeUnusedSecrets(cluster);
      },

      probe,

      /**
       * Swarm restarts dead tasks by itself; a stopped or stuck service gets a fresh task. A
       * node pinned to a swarm node that is gone (down, drained, or without the image) is
       * pinned to a live one instead, the one holding fewest of the cluster's nodes: it starts
       * there on an empty volume and takes the ledger from its peers (pbft state transfer).
       * Its URL then changes; the runtime answered carries the new service_url (vp0 sits on
       * the manager, so api_url stays). The URLs are worked out from where the services are
       * pinned, so a repair after a crash mid-move stores them all the same.
       */
      async repairCluster(cluster) {
        const result = await probe(cluster);
        const failed = new Set(result.failedNodes ?? []);
        const services = await servicesOf(cluster.id);
        const live = await placement();
        const liveIds = new Set(live.map((n) => n.id));
        const pinned = new Map(services.map((s) => [s.Spec?.Labels?.[LABEL.node] ?? "", pinnedNode((s.Spec?.TaskTemplate as Docker.ContainerTaskSpec | undefined)?.Placement?.Constraints)]));
        const load = (id: string) => [...pinned.values()].filter((p) => p === id).length;
        const moves = new Map<string, SwarmNode>();
        for (const [node, on] of pinned) {
          if (!failed.has(node) || on === undefined || liveIds.has(on) || live.length === 0) continue;
          const target = [...live].sort((a, b) => load(a.id) - load(b.id))[0]!;
          moves.set(node, target);
          pinned.set(node, target.id);
        }
        const handle = cluster.handle as { swarm_nodes?: string[] };
        if (moves.size > 0) {
          // Where each node goes, before swarm is told: a crash now still finds its resources.
          ctx.saveHandle(cluster.id, { ...cluster.handle, swarm_nodes: nodeIds(cluster).map((node, i) => pinned.get(node) ?? handle.swarm_nodes?.[i] ?? "") });
          log.warn("moving nodes off swarm nodes that are gone; they refill their ledgers from their peers", { cluster: cluster.id, moves: Object.fromEntries([...moves].map(([n, t]) => [n, t.id])) });
        }
        await Promise.all(
          services
            .filter((s) => failed.has(s.Spec?.Labels?.[LABEL.node] ?? ""))
            .map(async (s) => {
              const service = docker.getService(s.ID!);
              const info = await service.inspect();
              const template = info.Spec.TaskTemplate as Docker.ContainerTaskSpec;
              const target = moves.get(s.Spec?.Labels?.[LABEL.node] ?? "");
              const placement = target === undefined ? template.Placement : { ...template.Placement, Constraints: [`node.id==${target.id}`] };
              await service.update({ ...scale(1)(info.Spec), TaskTemplate: { ...template, Placement: placement, ForceUpdate: (template.ForceUpdate ?? 0) + 1 }, version: info.Version.Index });
            }),
        );
        // Every node's URL from where it is pinned now; unknown nodes (none live) keep theirs.
        const addrOf = new Map((await swarmNodes()).map((n) => [n.id, n.addr]));
        const ports = (cluster.handle as { ports?: Record<string, number> }).ports ?? {};
        const service_url = { ...cluster.service_url };
        for (const [node, on] of pinned) {
          const addr = on === undefined ? undefined : addrOf.get(on);
          const port = ports[node];
          if (addr !== undefined && port !== undefined && node in service_url) service_url[node] = nodeUrl(addr, port);
        }
        const runtime = { api_url: service_url["vp0"] ?? cluster.api_url, service_url, handle: { ...cluster.handle, swarm_nodes: nodeIds(cluster).map((node, i) => pinned.get(node) ?? handle.swarm_nodes?.[i] ?? "") } };
        await waitReady({ ...cluster, ...runtime });
        const changed = JSON.stringify(runtime.service_url) !== JSON.stringify(cluster.service_url);
        return changed || moves.size > 0 ? runtime : undefined;
      },

      async sweep(known, graceMs) {
        const cutoff = Date.now() - graceMs;
        const stray = (labelsOf: Record<string, string> | undefined, created: string | undefined) => {
          const id = labelsOf?.[LABEL.cluster];
          return id !== undefined && !known.has(id) && Date.parse(created ?? "") <= cutoff ? id : undefined;
        };
        const ids = new Set<string>();
        for (const s of await servicesOf()) {
          const id = stray(s.Spec?.Labels, s.CreatedAt);
          if (id) ids.add(id);
        }
        for (const n of await docker.listNetworks({ filters: { label: owned() } })) {
          const id = stray(n.Labels, n.Created);
          if (id) ids.add(id);
        }
        for (const s of await docker.listSecrets({ filters: { label: owned() } })) {
          const id = stray(s.Spec?.Labels, s.CreatedAt);
          if (id) ids.add(id);
        }
        for (const id of ids) await removeAll(id);
        if (ids.size > 0) log.info("swept clusters no database row claims", { clusters: [...ids] });
        await sweepNodeEngines(known, cutoff);
        return [...ids];
      },

      resetHost: () => removeAll(),

      async dispose() {
        // Services stay: the next daemon adopts them by their labels.
      },
    };
    return driver;
  };
  factory.check = (host) => {
    parseDockerHost(host);
    parseNodeEngines(host);
  };
  return factory;
}
