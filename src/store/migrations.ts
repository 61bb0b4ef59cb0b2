import type { SqlDatabase } from "./sql.ts";

/**
 * Versioned schema migrations, applied in order inside one transaction each; the schema
 * version lives in SQLite's user_version. Never edit a shipped migration: add a new one.
 */
export const MIGRATIONS: readonly string[] = [
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
];

export function migrate(db: SqlDatabase): number {
  const current = Number(db.prepare("PRAGMA user_version").get<{ user_version: number }>()?.user_version ?? 0);
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.exec(`PRAGMA user_version = ${v + 1}`);
    });
  }
  return MIGRATIONS.length;
}
