import { legacyPortDomain, MACHINE_DOMAIN, portDomain } from "../core/port-domain.ts";
import type { HostType } from "../core/types.ts";
import { machineAddresses } from "../lib/machine-addresses.ts";
import type { SqlDatabase } from "./sql.ts";

/** SQL to run, or a step that needs code (e.g. to work a value out of a row's fields). */
export type Migration = string | ((db: SqlDatabase) => void);

/** Ports blocked before blocks recorded when count as blocked at the epoch: due to be tried again at once. */
const LONG_AGO = "1970-01-01T00:00:00.000Z";

/**
 * Versioned schema migrations, applied in order inside one transaction each; the schema
 * version lives in SQLite's user_version. Never edit a shipped migration: add a new one.
 */
export const MIGRATIONS: readonly Migration[] = [
  // 1: hosts, clusters, port leases, release history.
  `
  CREATE TABLE hosts (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    daemon_url TEXT NOT NULL,
    capacity INTEGER NOT NULL,
    autofill INTEGER NOT NULL,
    schedulable INTEGER NOT NULL,
    log_level TEXT NOT NULL,
    status TEXT NOT NULL,
    params TEXT NOT NULL DEFAULT '{}',
    fail_count INTEGER NOT NULL DEFAULT 0,
    create_ts TEXT NOT NULL
  );
  CREATE TABLE clusters (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    host_id TEXT NOT NULL REFERENCES hosts(id),
    slot INTEGER NOT NULL,
    consensus_plugin TEXT NOT NULL,
    consensus_mode TEXT NOT NULL,
    size INTEGER NOT NULL,
    status TEXT NOT NULL,
    health TEXT NOT NULL DEFAULT '',
    user_id TEXT NOT NULL DEFAULT '',
    apply_ts TEXT,
    api_url TEXT NOT NULL DEFAULT '',
    service_url TEXT NOT NULL DEFAULT '{}',
    handle TEXT NOT NULL DEFAULT '{}',
    op TEXT,
    health_fails INTEGER NOT NULL DEFAULT 0,
    create_ts TEXT NOT NULL
  );
  CREATE INDEX clusters_free ON clusters(status, health, user_id, consensus_plugin, consensus_mode, size);
  CREATE INDEX clusters_user ON clusters(user_id);
  CREATE UNIQUE INDEX clusters_host_slot ON clusters(host_id, slot);
  CREATE INDEX clusters_op ON clusters(op) WHERE op IS NOT NULL;
  CREATE TABLE port_leases (
    domain TEXT NOT NULL,
    port INTEGER NOT NULL,
    cluster_id TEXT NOT NULL,
    PRIMARY KEY (domain, port)
  );
  CREATE INDEX port_leases_cluster ON port_leases(cluster_id);
  CREATE TABLE releases (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    cluster_id TEXT NOT NULL,
    cluster_name TEXT NOT NULL,
    host_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    consensus_plugin TEXT NOT NULL,
    consensus_mode TEXT NOT NULL,
    size INTEGER NOT NULL,
    apply_ts TEXT NOT NULL,
    release_ts TEXT NOT NULL,
    duration_s REAL NOT NULL
  );
  CREATE INDEX releases_user ON releases(user_id);
  `,
  // v2: facts about this chainpool instance, e.g. the id its Docker labels carry.
  `
  CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
  );
  `,
  // v3: a block records when and why, so that it can be tried again later. Ports blocked
  // until now were blocked for good, mostly by hosts on one machine leasing the same ports.
  `
  ALTER TABLE port_leases ADD COLUMN blocked_at TEXT;
  ALTER TABLE port_leases ADD COLUMN blocked_why TEXT NOT NULL DEFAULT '';
  UPDATE port_leases SET blocked_at = '${LONG_AGO}', blocked_why = 'blocked before blocks recorded why'
    WHERE cluster_id = '!blocked';
  `,
  // v4: hosts that publish on one machine's ports lease them from one ledger (core/port-domain.ts);
  // leases move from the old per-host domains to it. Where two leases meet on one port, a
  // cluster's lease is kept over a block; of two clusters' leases one is kept, and should
  // that port be in use, the driver that leases it next finds it taken and moves on.
  (db) => {
    const moves = new Map<string, string>([["local", MACHINE_DOMAIN]]);
    const own = machineAddresses();
    for (const host of db.prepare("SELECT id, type, daemon_url FROM hosts").all<{ id: string; type: HostType; daemon_url: string }>()) {
      moves.set(legacyPortDomain(host), portDomain(host, own));
    }
    const columns = "port, cluster_id, blocked_at, blocked_why";
    const keepLeases = db.prepare(
      `INSERT INTO port_leases (domain, ${columns}) SELECT ?, ${columns} FROM port_leases WHERE domain = ? AND cluster_id != '!blocked'
       ON CONFLICT (domain, port) DO UPDATE SET cluster_id = excluded.cluster_id, blocked_at = NULL, blocked_why = ''
       WHERE port_leases.cluster_id = '!blocked'`,
    );
    const keepBlocks = db.prepare(`INSERT OR IGNORE INTO port_leases (domain, ${columns}) SELECT ?, ${columns} FROM port_leases WHERE domain = ? AND cluster_id = '!blocked'`);
    const drop = db.prepare("DELETE FROM port_leases WHERE domain = ?");
    for (const [from, to] of moves) {
      if (from === to) continue;
      keepLeases.run([to, from]);
      keepBlocks.run([to, from]);
      drop.run([from]);
    }
  },
  // v5: each cluster's URL secret (lib/url-secret.ts). Clusters from before it have none: their
  // nodes serve at the root. At start the daemon gives one to those not made yet and recycles
  // the free ones (PoolStore.giveUrlSecrets); held ones keep their URLs until released.
  `
  ALTER TABLE clusters ADD COLUMN url_secret TEXT NOT NULL DEFAULT '';
  `,
  // v6: each host's cluster count, kept by triggers: the capacity check and the next slot of
  // every creation read it instead of counting the host's rows, which made filling a host
  // quadratic (20,000 creations spent most of 21 s counting).
  `
  ALTER TABLE hosts ADD COLUMN cluster_count INTEGER NOT NULL DEFAULT 0;
  UPDATE hosts SET cluster_count = (SELECT COUNT(*) FROM clusters WHERE host_id = hosts.id);
  CREATE TRIGGER clusters_count_insert AFTER INSERT ON clusters BEGIN
    UPDATE hosts SET cluster_count = cluster_count + 1 WHERE id = NEW.host_id;
  END;
  CREATE TRIGGER clusters_count_delete AFTER DELETE ON clusters BEGIN
    UPDATE hosts SET cluster_count = cluster_count - 1 WHERE id = OLD.host_id;
  END;
  CREATE TRIGGER clusters_count_move AFTER UPDATE OF host_id ON clusters BEGIN
    UPDATE hosts SET cluster_count = cluster_count - 1 WHERE id = OLD.host_id;
    UPDATE hosts SET cluster_count = cluster_count + 1 WHERE id = NEW.host_id;
  END;
  `,
  // v7: what the daemon did (store/event-log.ts), for /api/events, the console and operators.
  // ids are rowids: the log is trimmed from its old end and never loses its newest row, so
  // they only ever increase. Warnings get their own index: the console's warnings-only view
  // and a warnings_only feed read them without walking every event.
  `
  CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    ts TEXT NOT NULL,
    level TEXT NOT NULL,
    kind TEXT NOT NULL,
    host_id TEXT,
    cluster_id TEXT,
    user_id TEXT,
    message TEXT NOT NULL,
    data TEXT NOT NULL DEFAULT '{}'
  );
  CREATE INDEX events_warn ON events(id) WHERE level = 'warn';
  `,
  // v8: the pool's size (free clusters) once a minute (unix minute), for the console's chart:
  // sampled by the scheduler whether or not a console is open, and kept across restarts.
  `
  CREATE TABLE pool_samples (
    minute INTEGER PRIMARY KEY,
    free INTEGER NOT NULL
  );
  `,
];

export function migrate(db: SqlDatabase): number {
  const current = Number(db.prepare("PRAGMA user_version").get<{ user_version: number }>()?.user_version ?? 0);
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      const migration = MIGRATIONS[v]!;
      if (typeof migration === "string") db.exec(migration);
      else migration(db);
      db.exec(`PRAGMA user_version = ${v + 1}`);
    });
  }
  return MIGRATIONS.length;
}
