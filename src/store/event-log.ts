import type { EventKind, EventLevel, NewEvent, PoolEvent } from "../core/events.ts";
import type { SqlDatabase, SqlValue } from "./sql.ts";

/** What to read from the log. */
export interface EventQuery {
  /** Only events after this id (a resume point), oldest first. Without it: the newest `limit`. */
  afterId?: number;
  /** Only events before this id (paging back through history). */
  beforeId?: number;
  /** Only `warn` events. */
  warningsOnly?: boolean;
  /** Only these kinds (empty or absent: all). */
  kinds?: readonly EventKind[];
  /** Most events answered; default 100. */
  limit?: number;
}

interface EventRow {
  id: number;
  ts: string;
  level: string;
  kind: string;
  host_id: string | null;
  cluster_id: string | null;
  user_id: string | null;
  message: string;
  data: string;
}

const toEvent = (r: EventRow): PoolEvent => ({
  id: r.id,
  ts: r.ts,
  level: r.level as EventLevel,
  kind: r.kind as EventKind,
  host_id: r.host_id,
  cluster_id: r.cluster_id,
  user_id: r.user_id,
  message: r.message,
  data: JSON.parse(r.data) as Record<string, unknown>,
});

/** Inserts between trims by count: the delete is a primary-key range, amortised to nothing. */
const TRIM_EVERY = 256;

/**
 * The events table (migration v7): what the daemon did, written by the store in the same
 * transaction as the change it records, and told to listeners only once that commits, so a
 * crash never leaves an event without its change nor a change without its event. Bounded:
 * the newest `keepCount` rows, none older than `keepMs` (trim), and never the newest row, so
 * ids keep increasing after any trim (SQLite picks the next rowid after the largest).
 */
export class EventLog {
  readonly #db: SqlDatabase;
  readonly #keepCount: number;
  readonly #keepMs: number;
  readonly #clock: () => number;
  readonly #listeners = new Set<(event: PoolEvent) => void>();

  constructor(options: {
    db: SqlDatabase;
    /** Most events kept; default 10,000. */
    keepCount?: number;
    /** Oldest event kept, in milliseconds of age; default 7 days. */
    keepMs?: number;
    /** Milliseconds since the epoch; tests pass their own. */
    clock?: () => number;
  }) {
    this.#db = options.db;
    this.#keepCount = options.keepCount ?? 10_000;
    this.#keepMs = options.keepMs ?? 7 * 86_400_000;
    this.#clock = options.clock ?? Date.now;
  }

  /**
   * Writes an event in the transaction in progress (call it inside the one that makes the
   * change); listeners hear of it after the commit, and never if it rolls back.
   */
  record(e: NewEvent): void {
    const ts = new Date(this.#clock()).toISOString();
    const level = e.level ?? "info";
    const data = e.data === undefined ? "{}" : JSON.stringify(e.data);
    const host = e.host_id ?? null;
    const cluster = e.cluster_id ?? null;
    const user = e.user_id === undefined || e.user_id === "" ? null : e.user_id;
    const row = this.#db
      .prepare("INSERT INTO events (ts, level, kind, host_id, cluster_id, user_id, message, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id")
      .get<{ id: number }>([ts, level, e.kind, host, cluster, user, e.message, data])!;
    const id = Number(row.id);
    if (id % TRIM_EVERY === 0) this.#db.prepare("DELETE FROM events WHERE id <= ?").run([id - this.#keepCount]);
    if (this.#listeners.size === 0) return;
    const event: PoolEvent = { id, ts, level, kind: e.kind, host_id: host, cluster_id: cluster, user_id: user, message: e.message, data: e.data ?? {} };
    this.#db.afterCommit(() => {
      for (const listener of this.#listeners) {
        // The change is committed whatever a listener does: its failure must not reach the caller.
        try {
          listener(event);
        } catch {
          /* listeners report their own faults (services/event-feed.ts) */
        }
      }
    });
  }

  /** Hears every event once its transaction has committed, in id order. Answers the unsubscribe. */
  onCommit(listener: (event: PoolEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Events, oldest first (see EventQuery). */
  list(query: EventQuery = {}): PoolEvent[] {
    const where: string[] = [];
    const values: SqlValue[] = [];
    if (query.afterId !== undefined) {
      where.push("id > ?");
      values.push(query.afterId);
    }
    if (query.beforeId !== undefined) {
      where.push("id < ?");
      values.push(query.beforeId);
    }
    if (query.warningsOnly) where.push("level = 'warn'");
    if (query.kinds && query.kinds.length > 0) {
      where.push(`kind IN (${query.kinds.map(() => "?").join(", ")})`);
      values.push(...query.kinds);
    }
    const limit = query.limit ?? 100;
    const filter = where.length > 0 ? ` WHERE ${where.join(" AND ")}` : "";
    // From a resume point: the next ones. Otherwise the newest, turned oldest first.
    if (query.afterId !== undefined) {
      return this.#db.prepare(`SELECT * FROM events${filter} ORDER BY id LIMIT ?`).all<EventRow>([...values, limit]).map(toEvent);
    }
    return this.#db.prepare(`SELECT * FROM events${filter} ORDER BY id DESC LIMIT ?`).all<EventRow>([...values, limit]).map(toEvent).reverse();
  }

  /** The newest event's id; 0 when none was ever kept. */
  latestId(): number {
    return Number(this.#db.prepare("SELECT MAX(id) AS id FROM events").get<{ id: number | null }>()?.id ?? 0);
  }

  /** The oldest event kept's id; 0 when none. A resume from before it has lost events. */
  oldestId(): number {
    return Number(this.#db.prepare("SELECT MIN(id) AS id FROM events").get<{ id: number | null }>()?.id ?? 0);
  }

  /** Drops events past the count and age bounds, never the newest. Answers how many went. */
  trim(): number {
    return this.#db.transaction(() => {
      const newest = this.latestId();
      const cutoff = new Date(this.#clock() - this.#keepMs).toISOString();
      return this.#db.prepare("DELETE FROM events WHERE id < ? AND (id <= ? OR ts < ?)").run([newest, newest - this.#keepCount, cutoff]).changes;
    });
  }
}
