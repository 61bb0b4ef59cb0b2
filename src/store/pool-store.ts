import type {
  Cluster,
  ClusterOp,
  ClusterStatus,
  ConsensusType,
  Health,
  Host,
  HostStatus,
  HostType,
  ReleasedCluster,
} from "../core/types.ts";
import type { EventKind } from "../core/events.ts";
import { newId, nowIso } from "../lib/ids.ts";
import { newUrlSecret } from "../lib/url-secret.ts";
import { EventLog } from "./event-log.ts";
import { migrate } from "./migrations.ts";
import type { SqlDatabase, SqlValue } from "./sql.ts";

/**
 * One host's clusters by what they are doing (PoolStore.clusterCountsByHost), split for the
 * console's capacity bars, every cluster in one part: held by a user; failed (free, health
 * FAIL); creating (free, being made or remade); free (ready to hand out); other (stopped, or
 * on their way out).
 */
export interface HostClusterCounts {
  held: number;
  failed: number;
  creating: number;
  free: number;
  other: number;
  total: number;
}

/** Filters accepted by cluster listings; every key is optional and exact. */
export interface ClusterFilter {
  consensus_plugin?: string;
  consensus_mode?: string;
  size?: number;
  /** "" selects free clusters. */
  user_id?: string;
  host_id?: string;
  status?: string;
  health?: string;
}

export interface ApplyRequest {
  user_id: string;
  consensus_plugin?: string;
  consensus_mode?: string;
  size?: number;
  allow_multiple: boolean;
  /** Most clusters the user may hold at once; 0 or absent means no limit. */
  max_per_user?: number;
}

export type ClaimResult =
  | { ok: true; cluster: Cluster; reused: boolean }
  | { ok: false; reason: "NONE_AVAILABLE" }
  | { ok: false; reason: "USER_LIMIT"; held: number };

/** A host as the operator describes it; id, status and creation time are the store's. */
export type NewHost = Omit<Host, "id" | "status" | "create_ts">;

export type HostPatch = Partial<Omit<NewHost, "type">>;

export type CreateClusterResult =
  | { ok: true; cluster: Cluster }
  | { ok: false; reason: "HOST_NOT_FOUND" | "HOST_FULL" };

/** Ports to lease from, [min, max], and when a blocked one may be tried again (never, if absent). */
export interface PortRange {
  min: number;
  max: number;
  retryBlockedAfterMs?: number;
}

export interface PoolStats {
  hosts: { total: number; by_status: Record<string, number>; by_type: Record<string, number> };
  clusters: {
    total: number;
    free: number;
    in_use: number;
    by_status: Record<string, number>;
    by_health: Record<string, number>;
    by_type: Record<string, number>;
    by_user: Record<string, number>;
  };
  released_total: number;
}

interface ClusterRow {
  id: string;
  name: string;
  host_id: string;
  slot: number;
  consensus_plugin: string;
  consensus_mode: string;
  size: number;
  status: string;
  health: string;
  user_id: string;
  apply_ts: string | null;
  api_url: string;
  service_url: string;
  url_secret: string;
  handle: string;
  op: string | null;
  health_fails: number;
  create_ts: string;
}

interface HostRow {
  id: string;
  name: string;
  type: string;
  daemon_url: string;
  capacity: number;
  autofill: number;
  schedulable: number;
  log_level: string;
  status: string;
  params: string;
  fail_count: number;
  create_ts: string;
}

const toCluster = (r: ClusterRow): Cluster => ({
  id: r.id,
  name: r.name,
  host_id: r.host_id,
  consensus_plugin: r.consensus_plugin as Cluster["consensus_plugin"],
  consensus_mode: r.consensus_mode as Cluster["consensus_mode"],
  size: r.size,
  status: r.status as ClusterStatus,
  health: r.health as Health,
  user_id: r.user_id,
  apply_ts: r.apply_ts,
  api_url: r.api_url,
  service_url: JSON.parse(r.service_url) as Record<string, string>,
  url_secret: r.url_secret,
  handle: JSON.parse(r.handle) as Record<string, unknown>,
  op: r.op as ClusterOp | null,
  create_ts: r.create_ts,
});

const toHost = (r: HostRow): Host => ({
  id: r.id,
  name: r.name,
  type: r.type as HostType,
  daemon_url: r.daemon_url,
  capacity: r.capacity,
  autofill: r.autofill === 1,
  schedulable: r.schedulable === 1,
  log_level: r.log_level,
  status: r.status as HostStatus,
  params: JSON.parse(r.params) as Record<string, unknown>,
  create_ts: r.create_ts,
});

/** The event a finished op records (create, delete and recycle record their own). */
const FINISHED_OP_EVENTS: Partial<Record<ClusterOp, EventKind>> = {
  start: "cluster.started",
  stop: "cluster.stopped",
  restart: "cluster.restarted",
  rotate: "cluster.secret_rotated",
};

const FILTER_COLUMNS = ["consensus_plugin", "consensus_mode", "size", "user_id", "host_id", "status", "health"] as const;

/**
 * The pool's persistent state and every transaction on it. Each method that changes state
 * is one SQLite transaction, so a crash leaves either the old state or the new one.
 */
export class PoolStore {
  readonly db: SqlDatabase;
  /** What the daemon did; each method below that changes state records its event in its own transaction. */
  readonly events: EventLog;
  readonly #clock: () => number;
  readonly #urlSecrets: boolean;

  constructor(options: {
    db: SqlDatabase;
    /** Milliseconds since the epoch; tests pass their own. Decides when blocked ports are due again. */
    clock?: () => number;
    /** Whether each new cluster (and each recycled successor) gets a fresh URL secret: `pool.url_secrets`, default true. */
    urlSecrets?: boolean;
    /** Bounds of the event log: most events kept (default 10,000) and their oldest age in ms (default 7 days). */
    events?: { keepCount?: number; keepMs?: number };
  }) {
    this.db = options.db;
    this.#clock = options.clock ?? Date.now;
    this.#urlSecrets = options.urlSecrets ?? true;
    migrate(this.db);
    this.events = new EventLog({ db: this.db, clock: this.#clock, ...options.events });
  }

  close(): void {
    this.db.close();
  }

  // ---------------------------------------------------------------- hosts

  listHosts(): Host[] {
    return this.db.prepare("SELECT * FROM hosts ORDER BY create_ts, name").all<HostRow>().map(toHost);
  }

  getHost(id: string): Host | undefined {
    const row = this.db.prepare("SELECT * FROM hosts WHERE id = ?").get<HostRow>([id]);
    return row ? toHost(row) : undefined;
  }

  /**
   * This instance's id, made on first use and kept for good: Docker resources carry it as a
   * label, so two chainpool daemons sharing one Docker host never touch each other's.
   */
  instanceId(): string {
    return this.db.transaction(() => {
      const row = this.db.prepare("SELECT value FROM meta WHERE key = 'instance_id'").get<{ value: string }>();
      if (row) return row.value;
      const id = newId();
      this.db.prepare("INSERT INTO meta (key, value) VALUES ('instance_id', ?)").run([id]);
      return id;
    });
  }

  getHostByName(name: string): Host | undefined {
    const row = this.db.prepare("SELECT * FROM hosts WHERE name = ?").get<HostRow>([name]);
    return row ? toHost(row) : undefined;
  }

  insertHost(h: NewHost): Host {
    return this.db.transaction(() => {
      const id = newId();
      this.db
        .prepare(
          `INSERT INTO hosts (id, name, type, daemon_url, capacity, autofill, schedulable, log_level, status, params, create_ts)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, ?)`,
        )
        .run([id, h.name, h.type, h.daemon_url, h.capacity, h.autofill ? 1 : 0, h.schedulable ? 1 : 0, h.log_level, JSON.stringify(h.params), nowIso()]);
      this.events.record({ kind: "host.added", host_id: id, message: `host ${h.name} added (${h.type}, capacity ${h.capacity})`, data: { name: h.name, type: h.type, capacity: h.capacity } });
      return this.getHost(id)!;
    });
  }

  /** Applies a patch; refuses (returns the conflict) to drop capacity below the clusters held. */
  updateHost(id: string, patch: HostPatch): { ok: true; host: Host } | { ok: false; reason: "NOT_FOUND" | "CAPACITY_BELOW_USE"; held?: number } {
    return this.db.transaction(() => {
      const host = this.getHost(id);
      if (!host) return { ok: false, reason: "NOT_FOUND" } as const;
      if (patch.capacity !== undefined) {
        const held = this.countClustersOnHost(id);
        if (patch.capacity < held) return { ok: false, reason: "CAPACITY_BELOW_USE", held } as const;
      }
      const sets: string[] = [];
      const values: SqlValue[] = [];
      for (const [key, value] of Object.entries(patch)) {
        if (value === undefined) continue;
        sets.push(`${key} = ?`);
        values.push(typeof value === "boolean" ? (value ? 1 : 0) : key === "params" ? JSON.stringify(value) : (value as SqlValue));
      }
      if (sets.length > 0) {
        this.db.prepare(`UPDATE hosts SET ${sets.join(", ")} WHERE id = ?`).run([...values, id]);
        const fields = Object.keys(patch).filter((k) => patch[k as keyof HostPatch] !== undefined);
        this.events.record({ kind: "host.updated", host_id: id, message: `host ${host.name} updated: ${fields.join(", ")}`, data: { fields } });
      }
      return { ok: true, host: this.getHost(id)! } as const;
    });
  }

  deleteHost(id: string): { ok: true } | { ok: false; reason: "NOT_FOUND" | "HOLDS_CLUSTERS"; held?: number } {
    return this.db.transaction(() => {
      const host = this.getHost(id);
      if (!host) return { ok: false, reason: "NOT_FOUND" } as const;
      const held = this.countClustersOnHost(id);
      if (held > 0) return { ok: false, reason: "HOLDS_CLUSTERS", held } as const;
      this.db.prepare("DELETE FROM hosts WHERE id = ?").run([id]);
      this.events.record({ kind: "host.removed", host_id: id, message: `host ${host.name} removed`, data: { name: host.name } });
      return { ok: true } as const;
    });
  }

  /** Records one reachability result; returns the host's status after it. */
  recordHostCheck(id: string, reachable: boolean, failuresToInactive: number): HostStatus {
    const before = this.db.prepare("SELECT name, status, fail_count FROM hosts WHERE id = ?").get<{ name: string; status: HostStatus; fail_count: number }>([id]);
    if (reachable) {
      // Nothing written for a host that was fine already (every check of a healthy fleet).
      if (!before || (before.status === "active" && before.fail_count === 0)) return "active";
      return this.db.transaction(() => {
        this.db.prepare("UPDATE hosts SET status = 'active', fail_count = 0 WHERE id = ?").run([id]);
        if (before.status !== "active") this.events.record({ kind: "host.active", host_id: id, message: `host ${before.name} is reachable again` });
        return "active" as const;
      });
    }
    return this.db.transaction(() => {
      this.db.prepare("UPDATE hosts SET fail_count = fail_count + 1 WHERE id = ?").run([id]);
      const row = this.db.prepare("SELECT fail_count FROM hosts WHERE id = ?").get<{ fail_count: number }>([id]);
      if (row && row.fail_count >= failuresToInactive) {
        this.db.prepare("UPDATE hosts SET status = 'inactive' WHERE id = ?").run([id]);
        // Clusters on an unreachable host cannot be healthy.
        this.db.prepare("UPDATE clusters SET health = 'FAIL' WHERE host_id = ? AND status IN ('running','stopped')").run([id]);
        if (before && before.status !== "inactive") {
          this.events.record({ level: "warn", kind: "host.inactive", host_id: id, message: `host ${before.name} is unreachable (${row.fail_count} failed checks); its clusters count as FAIL`, data: { failures: row.fail_count } });
        }
        return "inactive";
      }
      return this.getHost(id)?.status ?? "inactive";
    });
  }

  /** The clusters on the host, as the hosts row's trigger-kept count says (no row scan). */
  countClustersOnHost(hostId: string): number {
    return this.db.prepare("SELECT cluster_count AS n FROM hosts WHERE id = ?").get<{ n: number }>([hostId])?.n ?? 0;
  }

  // ---------------------------------------------------------------- clusters

  getCluster(id: string): Cluster | undefined {
    const row = this.db.prepare("SELECT * FROM clusters WHERE id = ?").get<ClusterRow>([id]);
    return row ? toCluster(row) : undefined;
  }

  listClusters(filter: ClusterFilter = {}): Cluster[] {
    const where: string[] = [];
    const values: SqlValue[] = [];
    for (const key of FILTER_COLUMNS) {
      const value = filter[key];
      if (value === undefined) continue;
      where.push(`${key} = ?`);
      values.push(value);
    }
    const sql = `SELECT * FROM clusters${where.length ? " WHERE " + where.join(" AND ") : ""} ORDER BY create_ts, name`;
    return this.db.prepare(sql).all<ClusterRow>(values).map(toCluster);
  }

  /**
   * A page of the clusters the health job probes (running, no op owed), in rowid order after
   * `cursor`: the job walks the fleet a page at a time instead of holding every row at once.
   */
  probeablePage(cursor: number, limit: number): Array<{ seq: number; cluster: Cluster }> {
    return this.db
      // `+status`: walk the table in rowid order from the cursor; through the status index every
      // page would first sort all running clusters.
      .prepare("SELECT rowid AS seq, * FROM clusters WHERE +status = 'running' AND op IS NULL AND rowid > ? ORDER BY rowid LIMIT ?")
      .all<ClusterRow & { seq: number }>([cursor, limit])
      .map((r) => ({ seq: r.seq, cluster: toCluster(r) }));
  }

  /** How many clusters there are, from the hosts' trigger-kept counts: no cluster row or index entry is read. */
  clusterCount(): number {
    return this.db.prepare("SELECT COALESCE(SUM(cluster_count), 0) AS n FROM hosts").get<{ n: number }>()!.n;
  }

  /** A page of every cluster id, in rowid order after `cursor` (the sweep's list of what rows claim). */
  clusterIdPage(cursor: number, limit: number): Array<{ seq: number; id: string }> {
    return this.db.prepare("SELECT rowid AS seq, id FROM clusters WHERE rowid > ? ORDER BY rowid LIMIT ?").all<{ seq: number; id: string }>([cursor, limit]);
  }

  /** Active autofill hosts below capacity (by the trigger-kept count: no cluster row is read). */
  hostsToFill(): Host[] {
    return this.db
      .prepare("SELECT * FROM hosts WHERE autofill = 1 AND status = 'active' AND cluster_count < capacity ORDER BY create_ts, name")
      .all<HostRow>()
      .map(toHost);
  }

  /** The host's clusters by consensus type, "plugin/mode/size" -> count. */
  typeCountsOnHost(hostId: string): Map<string, number> {
    const rows = this.db
      .prepare("SELECT consensus_plugin || '/' || consensus_mode || '/' || size AS k, COUNT(*) AS n FROM clusters WHERE host_id = ? GROUP BY k")
      .all<{ k: string; n: number }>([hostId]);
    return new Map(rows.map((r) => [r.k, r.n]));
  }

  /**
   * Inserts a cluster row in state `creating` with op `create`, if the host has room.
   * The capacity check and the insert are one transaction, so parallel creations can
   * never push a host past its capacity.
   */
  createCluster(hostId: string, type: ConsensusType, name?: string): CreateClusterResult {
    return this.db.transaction(() => {
      const host = this.getHost(hostId);
      if (!host) return { ok: false, reason: "HOST_NOT_FOUND" } as const;
      if (this.countClustersOnHost(hostId) >= host.capacity) return { ok: false, reason: "HOST_FULL" } as const;
      const slot = this.nextSlot(host.id);
      const cluster = this.insertClusterRow(host, type, slot, name ?? `${host.name}_${slot}`);
      return { ok: true, cluster } as const;
    });
  }

  /**
   * Creates a cluster on whichever of the candidate hosts has the most free capacity, in one
   * transaction: parallel creations spread out and never push a host over its capacity.
   */
  createClusterSpread(hostIds: readonly string[], type: ConsensusType, name?: string): CreateClusterResult {
    return this.db.transaction(() => {
      let best: { host: Host; free: number } | undefined;
      for (const id of hostIds) {
        const host = this.getHost(id);
        if (!host) continue;
        const free = host.capacity - this.countClustersOnHost(id);
        if (free > 0 && (!best || free > best.free)) best = { host, free };
      }
      if (!best) return { ok: false, reason: "HOST_FULL" } as const;
      const slot = this.nextSlot(best.host.id);
      return { ok: true, cluster: this.insertClusterRow(best.host, type, slot, name ?? `${best.host.name}_${slot}`) } as const;
    });
  }

  private insertClusterRow(host: Host, type: ConsensusType, slot: number, name: string): Cluster {
    const id = newId();
    this.db
      .prepare(
        `INSERT INTO clusters (id, name, host_id, slot, consensus_plugin, consensus_mode, size, status, op, url_secret, create_ts)
         VALUES (?, ?, ?, ?, ?, ?, ?, 'creating', 'create', ?, ?)`,
      )
      .run([id, name, host.id, slot, type.plugin, type.mode, type.size, this.#urlSecrets ? newUrlSecret() : "", nowIso()]);
    return this.getCluster(id)!;
  }

  /**
   * The host's lowest free slot. Slots are usually dense, so MAX(slot) + 1 (one index seek)
   * is the answer unless clusters were deleted; only then is the gap searched for.
   */
  private nextSlot(hostId: string): number {
    const n = this.countClustersOnHost(hostId);
    const { top } = this.db.prepare("SELECT MAX(slot) AS top FROM clusters WHERE host_id = ?").get<{ top: number | null }>([hostId])!;
    if (top === null) return 0;
    if (top + 1 === n) return n;
    const gap = this.db
      .prepare(
        // Plain `?` three times: better-sqlite3 refuses one value bound to a numbered `?1` used thrice.
        `SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM clusters WHERE host_id = ? AND slot = 0) THEN 0
           ELSE (SELECT MIN(c.slot) + 1 FROM clusters c WHERE c.host_id = ?
                 AND NOT EXISTS (SELECT 1 FROM clusters d WHERE d.host_id = ? AND d.slot = c.slot + 1)) END AS slot`,
      )
      .get<{ slot: number }>([hostId, hostId, hostId])!;
    return gap.slot;
  }

  /**
   * apply: one transaction. With allow_multiple false, a cluster the user already holds that
   * matches is answered again; otherwise one free matching cluster is taken. A free cluster
   * is unheld, running, healthy, with no pending op, on an active schedulable host.
   */
  claimFreeCluster(req: ApplyRequest): ClaimResult {
    return this.db.transaction((): ClaimResult => {
      const filters: string[] = [];
      const values: SqlValue[] = [];
      if (req.consensus_plugin !== undefined) {
        filters.push("c.consensus_plugin = ?");
        values.push(req.consensus_plugin);
      }
      if (req.consensus_mode !== undefined) {
        filters.push("c.consensus_mode = ?");
        values.push(req.consensus_mode);
      }
      if (req.size !== undefined) {
        filters.push("c.size = ?");
        values.push(req.size);
      }
      const extra = filters.length ? " AND " + filters.join(" AND ") : "";
      if (!req.allow_multiple) {
        const held = this.db
          .prepare(`SELECT c.* FROM clusters c WHERE c.user_id = ? AND c.status != 'deleting'${extra} ORDER BY c.apply_ts LIMIT 1`)
          .get<ClusterRow>([req.user_id, ...values]);
        if (held) return { ok: true, cluster: toCluster(held), reused: true };
      }
      // Inside the claim's transaction: concurrent applies by one user never pass the limit.
      if (req.max_per_user) {
        const held = this.db.prepare("SELECT COUNT(*) AS n FROM clusters WHERE user_id = ?").get<{ n: number }>([req.user_id])!.n;
        if (held >= req.max_per_user) return { ok: false, reason: "USER_LIMIT", held };
      }
      // Pick and take in one statement: the subquery chooses, the guard re-checks, RETURNING answers.
      const taken = this.db
        .prepare(
          `UPDATE clusters SET user_id = ?, apply_ts = ?
           WHERE user_id = '' AND id = (
             SELECT c.id FROM clusters c JOIN hosts h ON h.id = c.host_id
             WHERE c.status = 'running' AND c.health = 'OK' AND c.user_id = '' AND c.op IS NULL
               AND h.status = 'active' AND h.schedulable = 1${extra}
             LIMIT 1)
           RETURNING *`,
        )
        .get<ClusterRow>([req.user_id, nowIso(), ...values]);
      if (!taken) return { ok: false, reason: "NONE_AVAILABLE" };
      this.events.record({
        kind: "cluster.applied",
        host_id: taken.host_id,
        cluster_id: taken.id,
        user_id: req.user_id,
        message: `cluster ${taken.name} applied for by ${req.user_id}`,
      });
      return { ok: true, cluster: toCluster(taken), reused: false };
    });
  }

  /**
   * release: the cluster leaves its user at once (history row written), and is marked
   * deleting with op `recycle` in the same transaction; the reconciler drops and recreates it.
   */
  releaseCluster(id: string): { ok: true; cluster: Cluster } | { ok: false; reason: "NOT_FOUND" | "NOT_HELD" } {
    return this.db.transaction(() => {
      const cluster = this.getCluster(id);
      if (!cluster) return { ok: false, reason: "NOT_FOUND" } as const;
      if (cluster.user_id === "") return { ok: false, reason: "NOT_HELD" } as const;
      this.recordRelease(cluster, "release");
      this.db
        .prepare("UPDATE clusters SET user_id = '', apply_ts = NULL, status = 'deleting', op = 'recycle' WHERE id = ?")
        .run([id]);
      return { ok: true, cluster: this.getCluster(id)! } as const;
    });
  }

  /** Releases every cluster the user holds; returns their ids (none is fine). */
  releaseUser(userId: string): string[] {
    return this.db.transaction(() => {
      const ids = this.db.prepare("SELECT id FROM clusters WHERE user_id = ?").all<{ id: string }>([userId]).map((r) => r.id);
      for (const id of ids) this.releaseCluster(id);
      return ids;
    });
  }

  /** The history row and the event of a cluster leaving its user: `by` a release, or a delete of a held cluster. */
  private recordRelease(cluster: Cluster, by: "release" | "delete"): void {
    const release = nowIso();
    const applied = cluster.apply_ts ?? release;
    const duration = Math.max(0, (Date.parse(release) - Date.parse(applied)) / 1000);
    this.db
      .prepare(
        `INSERT INTO releases (cluster_id, cluster_name, host_id, user_id, consensus_plugin, consensus_mode, size, apply_ts, release_ts, duration_s)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run([cluster.id, cluster.name, cluster.host_id, cluster.user_id, cluster.consensus_plugin, cluster.consensus_mode, cluster.size, applied, release, duration]);
    this.events.record({
      kind: "cluster.released",
      host_id: cluster.host_id,
      cluster_id: cluster.id,
      user_id: cluster.user_id,
      message: `cluster ${cluster.name} released by ${cluster.user_id}${by === "delete" ? " (deleted)" : ""} after ${Math.round(duration)} s`,
      data: { duration_s: duration, by },
    });
  }

  listReleased(filter: { user_id?: string; limit?: number } = {}): ReleasedCluster[] {
    const columns = "cluster_id, cluster_name, host_id, user_id, consensus_plugin, consensus_mode, size, apply_ts, release_ts, duration_s";
    const limit = filter.limit ?? 1000;
    return filter.user_id === undefined
      ? this.db.prepare(`SELECT ${columns} FROM releases ORDER BY seq DESC LIMIT ?`).all<ReleasedCluster>([limit])
      : this.db.prepare(`SELECT ${columns} FROM releases WHERE user_id = ? ORDER BY seq DESC LIMIT ?`).all<ReleasedCluster>([filter.user_id, limit]);
  }

  /** Sets the op (intent) for a cluster, only from the given statuses. Returns the cluster or why not. */
  requestOp(
    id: string,
    op: ClusterOp,
    fromStatuses: readonly ClusterStatus[],
    nextStatus?: ClusterStatus,
  ): { ok: true; cluster: Cluster } | { ok: false; reason: "NOT_FOUND" | "BUSY" | "WRONG_STATUS"; cluster?: Cluster } {
    return this.db.transaction(() => {
      const cluster = this.getCluster(id);
      if (!cluster) return { ok: false, reason: "NOT_FOUND" } as const;
      if (cluster.op !== null) return { ok: false, reason: "BUSY", cluster } as const;
      if (!fromStatuses.includes(cluster.status)) return { ok: false, reason: "WRONG_STATUS", cluster } as const;
      this.db.prepare("UPDATE clusters SET op = ?, status = ? WHERE id = ?").run([op, nextStatus ?? cluster.status, id]);
      return { ok: true, cluster: this.getCluster(id)! } as const;
    });
  }

  /**
   * Gives a cluster a fresh URL secret and the op `rotate`, which hands it to the nodes, in
   * one transaction: from then on the views show only the new URLs, and the old ones die as
   * the nodes take the new secret. From running or stopped with no op owed, and only for a
   * cluster that has a secret (its nodes read it from a file the driver can replace).
   */
  rotateUrlSecret(id: string): { ok: true; cluster: Cluster } | { ok: false; reason: "NOT_FOUND" | "BUSY" | "WRONG_STATUS" | "NO_SECRET"; cluster?: Cluster } {
    return this.db.transaction(() => {
      const cluster = this.getCluster(id);
      if (!cluster) return { ok: false, reason: "NOT_FOUND" } as const;
      if (cluster.op !== null) return { ok: false, reason: "BUSY", cluster } as const;
      if (cluster.status !== "running" && cluster.status !== "stopped") return { ok: false, reason: "WRONG_STATUS", cluster } as const;
      if (cluster.url_secret === "") return { ok: false, reason: "NO_SECRET", cluster } as const;
      this.db.prepare("UPDATE clusters SET url_secret = ?, op = 'rotate' WHERE id = ?").run([newUrlSecret(), id]);
      return { ok: true, cluster: this.getCluster(id)! } as const;
    });
  }

  /**
   * At start, with secrets on: clusters without a URL secret (from before secrets, or made
   * with them off) get one where that is safe. One not made yet gets it now (its creation
   * starts from scratch); a free one is recycled, so that no apply hands out a cluster anyone
   * can reach; a held one keeps its open URLs until it is released. One transaction.
   */
  giveUrlSecrets(): { secured: string[]; recycled: string[] } {
    return this.db.transaction(() => {
      const secured = this.db
        .prepare("SELECT id FROM clusters WHERE url_secret = '' AND op = 'create'")
        .all<{ id: string }>()
        .map((r) => r.id);
      const give = this.db.prepare("UPDATE clusters SET url_secret = ? WHERE id = ?");
      for (const id of secured) give.run([newUrlSecret(), id]);
      const recycled = this.db
        .prepare(
          `UPDATE clusters SET status = 'deleting', op = 'recycle'
           WHERE url_secret = '' AND user_id = '' AND (op IS NULL OR op IN ('start', 'stop', 'restart')) RETURNING id`,
        )
        .all<{ id: string }>()
        .map((r) => r.id);
      return { secured, recycled };
    });
  }

  /** Marks a cluster for deletion (op delete), recording a release if it was held. */
  markForDelete(id: string): Cluster | undefined {
    return this.db.transaction(() => {
      const cluster = this.getCluster(id);
      if (!cluster) return undefined;
      if (cluster.user_id !== "") this.recordRelease(cluster, "delete");
      this.db.prepare("UPDATE clusters SET status = 'deleting', op = 'delete', user_id = '', apply_ts = NULL WHERE id = ?").run([id]);
      return this.getCluster(id);
    });
  }

  /**
   * clean, in one transaction: autofill off, and every free cluster on the host marked for
   * deletion whatever it is doing (creating, recycling, starting): a creation or recycle in
   * flight ends in a delete, not in a free cluster on a cleaned host. Answers the ids.
   */
  cleanHost(hostId: string): string[] | undefined {
    return this.db.transaction(() => {
      if (this.db.prepare("UPDATE hosts SET autofill = 0 WHERE id = ?").run([hostId]).changes === 0) return undefined;
      const ids = this.db
        .prepare(
          `UPDATE clusters SET status = 'deleting', op = 'delete'
           WHERE host_id = ? AND user_id = '' AND (op IS NULL OR op != 'delete') RETURNING id`,
        )
        .all<{ id: string }>([hostId])
        .map((r) => r.id);
      this.events.record({ kind: "host.cleaned", host_id: hostId, message: `host cleaned: ${ids.length} free clusters to delete, autofill off`, data: { clusters: ids.length } });
      return ids;
    });
  }

  /** Marks a free cluster to be dropped and recreated (the reset of a broken free cluster). */
  markForRecycle(id: string): boolean {
    return (
      this.db
        .prepare("UPDATE clusters SET status = 'deleting', op = 'recycle' WHERE id = ? AND user_id = '' AND op IS NULL")
        .run([id]).changes === 1
    );
  }

  /**
   * Records what the driver made, after creation: the cluster is running, health unknown.
   * False when a delete replaced the create meanwhile (the delete is still owed).
   */
  markCreated(id: string, runtime: { api_url: string; service_url: Record<string, string>; handle: Record<string, unknown> }): boolean {
    return this.db.transaction(() => {
      const done = this.db
        .prepare("UPDATE clusters SET status = 'running', op = NULL, health = '', health_fails = 0, api_url = ?, service_url = ?, handle = ? WHERE id = ? AND op = 'create'")
        .run([runtime.api_url, JSON.stringify(runtime.service_url), JSON.stringify(runtime.handle), id]).changes === 1;
      if (done) {
        const c = this.#eventSubject(id);
        this.events.record({ kind: "cluster.created", host_id: c?.host_id ?? null, cluster_id: id, message: `cluster ${c?.name ?? id} created; checking its health` });
      }
      return done;
    });
  }

  /** What an event about a cluster names: its host, name and user. */
  #eventSubject(id: string): { host_id: string; name: string; user_id: string } | undefined {
    return this.db.prepare("SELECT host_id, name, user_id FROM clusters WHERE id = ?").get<{ host_id: string; name: string; user_id: string }>([id]);
  }

  /** A running cluster's new addresses and handle, after a repair moved nodes; the rest of the row stays. */
  saveRuntime(id: string, runtime: { api_url: string; service_url: Record<string, string>; handle: Record<string, unknown> }): void {
    this.db.prepare("UPDATE clusters SET api_url = ?, service_url = ?, handle = ? WHERE id = ?").run([runtime.api_url, JSON.stringify(runtime.service_url), JSON.stringify(runtime.handle), id]);
  }

  /** Saves the driver's handle before the outside world is touched, so a crash can find what was started. */
  saveHandle(id: string, handle: Record<string, unknown>): void {
    this.db.prepare("UPDATE clusters SET handle = ? WHERE id = ?").run([JSON.stringify(handle), id]);
  }

  /**
   * Clears `op` once the driver has done it, only if it is still the op owed: a release or a
   * delete written while it ran replaced it, and must not be wiped out. True if it was cleared.
   */
  finishOp(id: string, op: ClusterOp, status: ClusterStatus): boolean {
    return this.db.transaction(() => {
      const done = this.db.prepare("UPDATE clusters SET op = NULL, status = ? WHERE id = ? AND op = ?").run([status, id, op]).changes === 1;
      const kind = FINISHED_OP_EVENTS[op];
      if (done && kind) {
        const c = this.#eventSubject(id);
        this.events.record({ kind, host_id: c?.host_id ?? null, cluster_id: id, user_id: c?.user_id ?? null, message: `cluster ${c?.name ?? id}: ${op} done` });
      }
      return done;
    });
  }

  /**
   * Records a passing probe of a cluster that is still running with no op owed, in one
   * statement: the health job needs no re-read of the row for the probes that pass (nearly
   * all of a large fleet's), and one already healthy is not written at all. A cluster that
   * changed while it was probed (released, stopped, deleted) is left as it is.
   */
  recordPassedProbe(id: string): void {
    const before = this.#healthBefore("AND status = 'running' AND op IS NULL", id);
    if (before && (before.health !== "OK" || before.health_fails !== 0)) this.#recordHealthOk(id, before);
  }

  /** Records a health probe; `failuresToFail` consecutive failures turn the health to FAIL. */
  recordHealth(id: string, ok: boolean, failuresToFail: number): Health {
    const before = this.#healthBefore("", id);
    if (!before) return "";
    if (ok) {
      // A cluster that was healthy already (nearly every probe of a large fleet) is only read:
      // nothing is written to the WAL.
      if (before.health !== "OK" || before.health_fails !== 0) this.#recordHealthOk(id, before);
      return "OK";
    }
    const about = { host_id: before.host_id, cluster_id: id, user_id: before.user_id };
    return this.db.transaction(() => {
      this.db.prepare("UPDATE clusters SET health_fails = health_fails + 1 WHERE id = ?").run([id]);
      const row = this.db.prepare("SELECT health_fails, health FROM clusters WHERE id = ?").get<{ health_fails: number; health: Health }>([id]);
      if (!row) return "";
      if (row.health_fails >= failuresToFail) {
        this.db.prepare("UPDATE clusters SET health = 'FAIL' WHERE id = ?").run([id]);
        if (before.health !== "FAIL") {
          this.events.record({ level: "warn", kind: "cluster.health_fail", ...about, message: `cluster ${before.name} failed ${row.health_fails} health checks in a row`, data: { from: before.health, failures: row.health_fails } });
        }
        return "FAIL";
      }
      return row.health;
    });
  }

  #healthBefore(condition: string, id: string): HealthBefore | undefined {
    return this.db
      .prepare(`SELECT host_id, name, user_id, health, health_fails FROM clusters WHERE id = ? ${condition}`)
      .get<HealthBefore>([id]);
  }

  /** Turns a cluster healthy, with the event that says so when its health changed. */
  #recordHealthOk(id: string, before: HealthBefore): void {
    this.db.transaction(() => {
      this.db.prepare("UPDATE clusters SET health = 'OK', health_fails = 0 WHERE id = ?").run([id]);
      if (before.health === "OK") return;
      const message = before.health === "" ? `cluster ${before.name} is healthy${before.user_id === "" ? " and ready" : ""}` : `cluster ${before.name} is healthy again`;
      this.events.record({ kind: "cluster.health_ok", host_id: before.host_id, cluster_id: id, user_id: before.user_id, message, data: { from: before.health } });
    });
  }

  /** Drops a deleted cluster's row and its port leases. */
  deleteClusterRow(id: string): void {
    this.db.transaction(() => {
      const c = this.#eventSubject(id);
      this.#dropClusterRow(id);
      if (c) this.events.record({ kind: "cluster.deleted", host_id: c.host_id, cluster_id: id, message: `cluster ${c.name} deleted` });
    });
  }

  #dropClusterRow(id: string): void {
    this.db.prepare("DELETE FROM port_leases WHERE cluster_id = ?").run([id]);
    this.db.prepare("DELETE FROM clusters WHERE id = ?").run([id]);
  }

  /**
   * The second half of a recycle, after the driver removed the old cluster: one transaction
   * drops the old row and inserts its successor (new id, same host, type and name) in state
   * creating, so the pool slot is never lost and never doubled.
   */
  replaceCluster(id: string): Cluster | undefined {
    return this.db.transaction(() => {
      const old = this.db.prepare("SELECT * FROM clusters WHERE id = ?").get<ClusterRow>([id]);
      if (!old) return undefined;
      const host = this.getHost(old.host_id);
      this.#dropClusterRow(id);
      // A delete (or a clean) written while the old one was being removed wins: no successor.
      if (!host || old.op !== "recycle") {
        this.events.record({ kind: "cluster.deleted", host_id: old.host_id, cluster_id: id, message: `cluster ${old.name} deleted` });
        return undefined;
      }
      const type = { plugin: old.consensus_plugin as Cluster["consensus_plugin"], mode: old.consensus_mode as Cluster["consensus_mode"], size: old.size };
      const next = this.insertClusterRow(host, type, old.slot, old.name);
      this.events.record({ kind: "cluster.recycled", host_id: old.host_id, cluster_id: id, message: `cluster ${old.name} removed; its successor ${next.id} is being created`, data: { successor: next.id } });
      return next;
    });
  }

  /**
   * Clusters with work owed, in creation order, after `cursor` (a rowid): a pass walks them
   * a page at a time, so a backlog of thousands costs the same per op as a backlog of one.
   */
  pendingOps(cursor: number, limit: number): Array<{ seq: number; id: string }> {
    return this.db
      // `+rowid`: read the clusters with an op through the partial index clusters_op (a sort of
      // the backlog alone); walking the table by rowid read every cluster to find none owed.
      .prepare("SELECT rowid AS seq, id FROM clusters WHERE op IS NOT NULL AND +rowid > ? ORDER BY +rowid LIMIT ?")
      .all<{ seq: number; id: string }>([cursor, limit]);
  }

  // ---------------------------------------------------------------- ports

  /**
   * Leases `count` ports from [min, max] in a port domain (one machine's ports: see
   * core/port-domain.ts) for a cluster. One transaction: no port is given twice. Leases the
   * cluster already holds are answered again, so a resumed creation reuses them. A port
   * blocked at least `retryBlockedAfterMs` ago is free again: the driver that leases it next
   * probes it, and blocks it anew if it is still taken.
   */
  leasePorts(domain: string, clusterId: string, count: number, range: PortRange): number[] | undefined {
    return this.db.transaction(() => {
      const held = this.db
        .prepare("SELECT port FROM port_leases WHERE domain = ? AND cluster_id = ? ORDER BY port")
        .all<{ port: number }>([domain, clusterId])
        .map((r) => r.port);
      if (held.length >= count) return held.slice(0, count);
      if (range.retryBlockedAfterMs !== undefined) {
        const due = new Date(this.#clock() - range.retryBlockedAfterMs).toISOString();
        this.db.prepare("DELETE FROM port_leases WHERE domain = ? AND cluster_id = '!blocked' AND blocked_at <= ?").run([domain, due]);
      }
      const used = new Set(
        this.db
          .prepare("SELECT port FROM port_leases WHERE domain = ? AND port BETWEEN ? AND ?")
          .all<{ port: number }>([domain, range.min, range.max])
          .map((r) => r.port),
      );
      const fresh: number[] = [];
      for (let p = range.min; p <= range.max && held.length + fresh.length < count; p++) {
        if (!used.has(p)) fresh.push(p);
      }
      if (held.length + fresh.length < count) return undefined;
      const insert = this.db.prepare("INSERT INTO port_leases (domain, port, cluster_id) VALUES (?, ?, ?)");
      for (const p of fresh) insert.run([domain, p, clusterId]);
      return [...held, ...fresh].sort((a, b) => a - b);
    });
  }

  /**
   * Takes back one leased port that a driver found taken by something chainpool does not own,
   * and leases it to nobody until it is due to be tried again (see leasePorts); records when
   * and why.
   */
  blockPort(domain: string, port: number, why: string): void {
    this.db
      .prepare("UPDATE port_leases SET cluster_id = '!blocked', blocked_at = ?, blocked_why = ? WHERE domain = ? AND port = ?")
      .run([new Date(this.#clock()).toISOString(), why, domain, port]);
  }

  releasePorts(clusterId: string): void {
    this.db.prepare("DELETE FROM port_leases WHERE cluster_id = ?").run([clusterId]);
  }

  // ---------------------------------------------------------------- stats

  /**
   * Applies per minute since `since` (ISO time), keyed by "YYYY-MM-DDTHH:MM" (UTC): those still
   * held and those released since, each counted once (a release clears the cluster's apply_ts).
   */
  appliesPerMinute(since: string): Record<string, number> {
    const rows = this.db
      .prepare(
        `SELECT k, SUM(n) AS n FROM (
           SELECT substr(apply_ts, 1, 16) AS k, COUNT(*) AS n FROM clusters WHERE apply_ts >= ? GROUP BY k
           UNION ALL
           SELECT substr(apply_ts, 1, 16) AS k, COUNT(*) AS n FROM releases WHERE apply_ts >= ? GROUP BY k
         ) GROUP BY k`,
      )
      .all<{ k: string; n: number }>([since, since]);
    return Object.fromEntries(rows.map((r) => [r.k, r.n]));
  }

  /** Every host's clusters by what they are doing (see HostClusterCounts): one grouped scan. */
  clusterCountsByHost(): Map<string, HostClusterCounts> {
    const rows = this.db
      .prepare(
        `SELECT host_id,
           SUM(user_id != '') AS held,
           SUM(user_id = '' AND health = 'FAIL') AS failed,
           SUM(user_id = '' AND health != 'FAIL' AND (status = 'creating' OR op IN ('create', 'recycle'))) AS creating,
           SUM(user_id = '' AND status = 'running' AND health = 'OK' AND op IS NULL) AS free,
           COUNT(*) AS total
         FROM clusters GROUP BY host_id`,
      )
      .all<HostClusterCounts & { host_id: string }>();
    return new Map(rows.map(({ host_id, ...counts }) => [host_id, { ...counts, other: counts.total - counts.held - counts.failed - counts.creating - counts.free }]));
  }

  /** Clusters by consensus type ("plugin/mode/size"), as stats() has them, from the clusters_free index alone. */
  clusterCountsByType(): Record<string, number> {
    const rows = this.db
      .prepare("SELECT consensus_plugin, consensus_mode, size, COUNT(*) AS n FROM clusters GROUP BY consensus_plugin, consensus_mode, size")
      .all<{ consensus_plugin: string; consensus_mode: string; size: number; n: number }>();
    return Object.fromEntries(rows.map((r) => [`${r.consensus_plugin}/${r.consensus_mode}/${r.size}`, r.n]));
  }

  /** How many releases happened at or after `since` (ISO time). */
  releasedSince(since: string): number {
    return this.db.prepare("SELECT COUNT(*) AS n FROM releases WHERE release_ts >= ?").get<{ n: number }>([since])!.n;
  }

  /** Clusters with an op owed (the partial index clusters_op answers it). */
  countPendingOps(): number {
    return this.db.prepare("SELECT COUNT(*) AS n FROM clusters WHERE op IS NOT NULL").get<{ n: number }>()!.n;
  }

  /**
   * Notes the pool's size (free clusters) for unix minute `minute` (a later note for the same
   * minute replaces it), and forgets notes older than `keepMinutes` before it (default a day).
   */
  recordPoolSample(minute: number, free: number, keepMinutes = 24 * 60): void {
    this.db.transaction(() => {
      this.db.prepare("INSERT INTO pool_samples (minute, free) VALUES (?, ?) ON CONFLICT(minute) DO UPDATE SET free = excluded.free").run([minute, free]);
      this.db.prepare("DELETE FROM pool_samples WHERE minute < ?").run([minute - keepMinutes]);
    });
  }

  /** The pool-size notes from unix minute `from` on, oldest first, led by the last one before it (what carries into the window), if any. */
  poolSamples(from: number): Array<{ minute: number; free: number }> {
    return this.db
      .prepare(
        `SELECT minute, free FROM (SELECT minute, free FROM pool_samples WHERE minute < ? ORDER BY minute DESC LIMIT 1)
         UNION ALL SELECT minute, free FROM pool_samples WHERE minute >= ? ORDER BY minute`,
      )
      .all<{ minute: number; free: number }>([from, from])
      .map((r) => ({ minute: r.minute, free: r.free }));
  }

  /** Free clusters (unheld, running, healthy, no op owed), as stats() counts them, through the clusters_free and op indexes alone. */
  countFree(): number {
    const ready = this.db.prepare("SELECT COUNT(*) AS n FROM clusters WHERE status = 'running' AND health = 'OK' AND user_id = ''").get<{ n: number }>()!.n;
    return ready - this.#countReadyOwingOp();
  }

  /** Unheld running healthy clusters that owe an op (not free): through the op index, the backlog alone. */
  #countReadyOwingOp(): number {
    return this.db.prepare("SELECT COUNT(*) AS n FROM clusters WHERE op IS NOT NULL AND +status = 'running' AND +health = 'OK' AND +user_id = ''").get<{ n: number }>()!.n;
  }

  /** Clusters counted by state, host name and consensus type, for metrics: one grouped scan. */
  clusterCounts(): Array<{ state: string; host: string; consensus_plugin: string; consensus_mode: string; size: string; n: number }> {
    return this.db
      .prepare(
        `SELECT CASE
             WHEN c.user_id != '' THEN 'in_use'
             WHEN c.status IN ('creating', 'deleting', 'stopped') THEN c.status
             WHEN c.health = 'FAIL' THEN 'failed'
             WHEN c.health = 'OK' AND c.op IS NULL THEN 'free'
             ELSE 'pending' END AS state,
           h.name AS host, c.consensus_plugin, c.consensus_mode, CAST(c.size AS TEXT) AS size, COUNT(*) AS n
         FROM clusters c JOIN hosts h ON h.id = c.host_id
         GROUP BY state, h.name, c.consensus_plugin, c.consensus_mode, c.size`,
      )
      .all();
  }

  stats(): PoolStats {
    const group = (sql: string): Record<string, number> =>
      Object.fromEntries(this.db.prepare(sql).all<{ k: string; n: number }>().map((r) => [r.k, r.n]));
    const count = (sql: string) => this.db.prepare(sql).get<{ n: number }>()!.n;
    // The clusters in one pass over the clusters_free index, which holds every column grouped
    // by, in its own order (no sort): one row per status, health, holder and type. A large
    // fleet is mostly unheld, so this is a few rows; a separate query per figure read the
    // table five times over (75 ms at 100,000 clusters, against 20).
    const rows = this.db
      .prepare(
        `SELECT status, health, user_id, consensus_plugin, consensus_mode, size, COUNT(*) AS n FROM clusters
         GROUP BY status, health, user_id, consensus_plugin, consensus_mode, size`,
      )
      .all<{ status: string; health: string; user_id: string; consensus_plugin: string; consensus_mode: string; size: number; n: number }>();
    const clusters = { total: 0, free: 0, in_use: 0, by_status: {}, by_health: {}, by_type: {}, by_user: {} } as PoolStats["clusters"];
    const add = (into: Record<string, number>, key: string, n: number) => (into[key] = (into[key] ?? 0) + n);
    for (const r of rows) {
      clusters.total += r.n;
      add(clusters.by_status, r.status, r.n);
      add(clusters.by_health, r.health === "" ? "unknown" : r.health, r.n);
      add(clusters.by_type, `${r.consensus_plugin}/${r.consensus_mode}/${r.size}`, r.n);
      if (r.user_id !== "") {
        clusters.in_use += r.n;
        add(clusters.by_user, r.user_id, r.n);
      } else if (r.status === "running" && r.health === "OK") clusters.free += r.n;
    }
    // Free also means no op owed: those that owe one are counted through the op index (the backlog alone).
    clusters.free -= this.#countReadyOwingOp();
    return {
      hosts: {
        total: count("SELECT COUNT(*) AS n FROM hosts"),
        by_status: group("SELECT status AS k, COUNT(*) AS n FROM hosts GROUP BY status"),
        by_type: group("SELECT type AS k, COUNT(*) AS n FROM hosts GROUP BY type"),
      },
      clusters,
      released_total: count("SELECT COUNT(*) AS n FROM releases"),
    };
  }

}

interface HealthBefore {
  host_id: string;
  name: string;
  user_id: string;
  health: Health;
  health_fails: number;
}
