/**
 * What the daemon did, as the events table records it and /api/events and the console show
 * it. This is a public interface: kinds and fields are only ever added, never renamed.
 */

/** Every kind of event, by what it is about. */
export const EVENT_KINDS = [
  // A cluster's life. `created`: its nodes run (health not checked yet); `health_ok` right after
  // a creation is the moment it is ready to hand out (data.from is "").
  "cluster.created",
  "cluster.applied",
  "cluster.released",
  "cluster.recycled",
  "cluster.deleted",
  "cluster.started",
  "cluster.stopped",
  "cluster.restarted",
  "cluster.secret_rotated",
  "cluster.health_ok",
  "cluster.health_fail",
  "cluster.op_failed",
  // A host's.
  "host.added",
  "host.updated",
  "host.removed",
  "host.filled",
  "host.cleaned",
  "host.reset",
  "host.active",
  "host.inactive",
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

export const EVENT_LEVELS = ["info", "warn"] as const;
export type EventLevel = (typeof EVENT_LEVELS)[number];

/** One recorded event. */
export interface PoolEvent {
  /** Increasing, never reused: resume a feed after the last id seen. */
  id: number;
  /** ISO 8601 UTC, when the change was written. */
  ts: string;
  /** `warn`: something went wrong or needs a look (health FAIL, host inactive, an op failed). */
  level: EventLevel;
  kind: EventKind;
  host_id: string | null;
  cluster_id: string | null;
  user_id: string | null;
  /** One line for people. */
  message: string;
  /** Kind-specific details (e.g. a recycle's `successor`, a release's `duration_s`). */
  data: Record<string, unknown>;
}

/** An event as a state change records it; id and ts are the store's. */
export interface NewEvent {
  level?: EventLevel;
  kind: EventKind;
  host_id?: string | null;
  cluster_id?: string | null;
  user_id?: string | null;
  message: string;
  data?: Record<string, unknown>;
}
