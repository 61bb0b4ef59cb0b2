import { badRequest, ChainpoolError, conflict, notFound } from "../core/errors.ts";
import { hostSpecProblems } from "../core/host-params.ts";
import type { Cluster, ConsensusType, Host, HostType } from "../core/types.ts";
import type { HostPatch, NewHost } from "../store/pool-store.ts";
import type { ServiceDeps } from "./deps.ts";

/** The host type's rules for daemon_url and params (core/host-params.ts): a 400 naming every wrong field. */
function checkHostSpec(spec: { type: HostType; daemon_url: string | undefined; params: unknown }): void {
  const problems = hostSpecProblems(spec);
  if (problems.length > 0) throw badRequest(problems.map((p) => `${p.path.join(".")}: ${p.message}`).join("; "));
}

/** The operator's verbs on hosts and on single clusters. */
export class HostService {
  readonly #d: ServiceDeps;

  constructor(deps: ServiceDeps) {
    this.#d = deps;
  }

  list(): Host[] {
    return this.#d.store.listHosts();
  }

  get(id: string): Host {
    const host = this.#d.store.getHost(id);
    if (!host) throw notFound(`host ${id} not found`);
    return host;
  }

  add(spec: NewHost): Host {
    checkHostSpec({ type: spec.type, daemon_url: spec.daemon_url, params: spec.params });
    this.#d.drivers.check({ ...spec, id: "(new)", status: "inactive", create_ts: "" });
    if (this.#d.store.getHostByName(spec.name)) throw conflict(`name: a host named ${spec.name} exists already`);
    const host = this.#d.store.insertHost(spec);
    this.#d.logger.info("host added", { host: host.id, name: host.name, type: host.type });
    return host;
  }

  async update(id: string, patch: HostPatch): Promise<Host> {
    const host = this.get(id);
    checkHostSpec({ type: host.type, daemon_url: patch.daemon_url, params: patch.params });
    this.#d.drivers.check({ ...host, ...patch });
    if (patch.name !== undefined) {
      const other = this.#d.store.getHostByName(patch.name);
      if (other && other.id !== id) throw conflict(`name: a host named ${patch.name} exists already`);
    }
    const result = this.#d.store.updateHost(id, patch);
    if (!result.ok) {
      if (result.reason === "NOT_FOUND") throw notFound(`host ${id} not found`);
      throw conflict(`capacity: host ${id} holds ${result.held} clusters; capacity cannot go below that`);
    }
    await this.#d.drivers.forget(id);
    return result.host;
  }

  async remove(id: string): Promise<void> {
    const result = this.#d.store.deleteHost(id);
    if (!result.ok) {
      if (result.reason === "NOT_FOUND") throw notFound(`host ${id} not found`);
      throw conflict(`host ${id} still holds ${result.held} clusters; clean or reset it first`);
    }
    await this.#d.drivers.forget(id);
    this.#d.logger.info("host removed", { host: id });
  }

  /**
   * fillup: create clusters up to capacity (at most `max` of them, if given: autofill fills a
   * large host in steps), spread over the pool's consensus types.
   */
  fillup(id: string, options: { max?: number } = {}): Cluster[] {
    const host = this.get(id);
    if (host.status !== "active") throw new ChainpoolError("HOST_UNAVAILABLE", `host ${id} is inactive`);
    const types = this.#d.poolTypes.filter((pt) => this.#supports(host, pt));
    if (types.length === 0) {
      this.#d.logger.warn("no pool consensus type runs on this host", { host: host.name, types: this.#d.poolTypes });
      return [];
    }
    // Counted once, then kept: creations below only ever add to them.
    const counts = this.#d.store.typeCountsOnHost(host.id);
    const made: Cluster[] = [];
    const { store } = this.#d;
    // One transaction: the clusters and the event that says so are written together.
    store.db.transaction(() => {
      while (made.length < (options.max ?? Infinity)) {
        const type = leastUsedType(types, counts);
        const result = store.createCluster(host.id, type);
        if (!result.ok) break;
        made.push(result.cluster);
        const key = typeKey(type);
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      if (made.length > 0) {
        store.events.record({ kind: "host.filled", host_id: host.id, message: `host ${host.name} filled up: ${made.length} clusters being created`, data: { created: made.length } });
      }
    });
    if (made.length > 0) {
      this.#d.logger.info("host filled up", { host: host.name, created: made.length });
      this.#d.reconciler.kick();
    }
    return made;
  }

  /**
   * clean: turn autofill off and delete the host's free clusters, those still being created
   * or recycled included; clusters users hold stay.
   */
  clean(id: string): string[] {
    const ids = this.#d.store.cleanHost(id);
    if (!ids) throw notFound(`host ${id} not found`);
    this.#d.reconciler.kick();
    return ids;
  }

  /**
   * reset: every cluster record on the host is marked for deletion first, then the driver
   * removes everything chainpool owns there; the reconciler drops the rows, and autofill
   * rebuilds the pool if it is on.
   */
  async reset(id: string): Promise<string[]> {
    const host = this.get(id);
    const { store } = this.#d;
    // The intent (every row marked, and the event) in one transaction, before the driver acts.
    const ids = store.db.transaction(() => {
      const all = store.listClusters({ host_id: id }).map((c) => c.id);
      for (const cid of all) store.markForDelete(cid);
      store.events.record({ level: "warn", kind: "host.reset", host_id: id, message: `host ${host.name} reset: all ${all.length} clusters deleted`, data: { clusters: all.length } });
      return all;
    });
    try {
      await this.#d.drivers.get(host).resetHost();
    } catch (err) {
      throw new ChainpoolError("HOST_UNAVAILABLE", `host ${id}: reset failed: ${(err as Error).message}; it will be finished by the reconciler`);
    } finally {
      this.#d.reconciler.kick();
    }
    this.#d.logger.info("host reset", { host: host.name, clusters: ids.length });
    return ids;
  }

  /**
   * Creates a cluster on the host, or with no host given on the active schedulable host with
   * the most free capacity among those that run the type.
   */
  createCluster(hostId: string | undefined, type: ConsensusType, name?: string): Cluster {
    if (hostId === undefined) {
      const candidates = this.#d.store.listHosts().filter((h) => h.status === "active" && h.schedulable && this.#supports(h, type));
      if (candidates.length === 0) throw conflict(`host_id: no active schedulable host runs ${type.plugin}`);
      const result = this.#d.store.createClusterSpread(candidates.map((h) => h.id), type, name);
      if (!result.ok) throw conflict("host_id: every active schedulable host is at capacity");
      this.#d.reconciler.kick();
      return result.cluster;
    }
    const host = this.#d.store.getHost(hostId);
    if (!host) throw notFound(`host_id: host ${hostId} not found`);
    if (!this.#supports(host, type)) throw badRequest(`consensus_plugin: ${type.plugin} is not available on ${host.type} hosts in this build`);
    const result = this.#d.store.createCluster(hostId, type, name);
    if (!result.ok) {
      if (result.reason === "HOST_NOT_FOUND") throw notFound(`host_id: host ${hostId} not found`);
      throw conflict(`host_id: host ${hostId} is at capacity`);
    }
    this.#d.reconciler.kick();
    return result.cluster;
  }

  deleteCluster(id: string): Cluster {
    const cluster = this.#d.store.getCluster(id);
    if (!cluster) throw notFound(`cluster ${id} not found`);
    const marked = this.#d.store.markForDelete(id)!;
    this.#d.reconciler.kick();
    return marked;
  }

  #supports(host: Host, type: ConsensusType): boolean {
    const plugins = this.#d.drivers.get(host).flags.plugins;
    return plugins === undefined || plugins.includes(type.plugin);
  }
}

const typeKey = (t: ConsensusType): string => `${t.plugin}/${t.mode}/${t.size}`;

/** Of `types` (not empty), the first one the host has fewest clusters of. */
function leastUsedType(types: readonly ConsensusType[], counts: ReadonlyMap<string, number>): ConsensusType {
  let best = types[0]!;
  let bestCount = Infinity;
  for (const t of types) {
    const n = counts.get(typeKey(t)) ?? 0;
    if (n < bestCount) {
      best = t;
      bestCount = n;
    }
  }
  return best;
}
