/** @jsxImportSource hono/jsx */
import type { Cluster, Host, ReleasedCluster } from "../../core/types.ts";
import { duration, secondsSince, shortTime, typeLabel } from "./format.ts";
import { Csrf } from "./layout.tsx";

export const CLUSTER_VIEWS = [
  { id: "active", label: "Active" },
  { id: "in-use", label: "In use" },
  { id: "released", label: "Released" },
] as const;
export type ClusterViewId = (typeof CLUSTER_VIEWS)[number]["id"];

/** The states the overview's tiles link to; one cluster can be in one only. */
export const CLUSTER_STATES = ["free", "held", "creating", "failing", "stopped", "deleting"] as const;
export type ClusterState = (typeof CLUSTER_STATES)[number];

export function clusterState(c: Cluster): ClusterState {
  if (c.user_id !== "") return "held";
  if (c.health === "FAIL") return "failing";
  if (c.status === "creating" || c.op === "create" || c.op === "recycle") return "creating";
  if (c.status === "deleting") return "deleting";
  if (c.status === "stopped") return "stopped";
  return c.status === "running" && c.health === "OK" && c.op === null ? "free" : "creating";
}

export interface ClusterFilters {
  host: string;
  state: string;
  type: string;
  user: string;
  since: string;
}

/** What each cluster action can do now ("" = it can), so that a button that cannot apply is disabled. */
export function clusterActions(c: Cluster) {
  const busy = c.op !== null ? `${c.op} in progress` : "";
  const gone = c.status === "deleting" ? "the cluster is being removed" : "";
  return {
    start: gone || busy || (c.status !== "stopped" ? "the cluster is not stopped" : ""),
    stop: gone || busy || (c.status !== "running" ? "the cluster is not running" : ""),
    restart: gone || busy || (c.status !== "running" && c.status !== "stopped" ? "the cluster is not made yet" : ""),
    release: gone || (c.user_id === "" ? "no user holds the cluster" : ""),
    delete: gone,
  };
}

export function ClusterTabs(props: { view: ClusterViewId }) {
  return (
    <nav aria-label="Cluster lists" class="tabs">
      <ul>
        {CLUSTER_VIEWS.map((v) => (
          <li>
            <a href={`/clusters?view=${v.id}`} aria-current={props.view === v.id ? "page" : undefined}>
              {v.label}
            </a>
          </li>
        ))}
      </ul>
    </nav>
  );
}

export function ClusterFilterForm(props: { view: ClusterViewId; filters: ClusterFilters; hosts: Host[]; types: string[] }) {
  const f = props.filters;
  return (
    <form method="get" action="/clusters" class="filters" role="search" aria-label="Filter clusters">
      <input type="hidden" name="view" value={props.view} />
      <div>
        <label for="q-host">Host</label>
        <select id="q-host" name="host">
          <option value="">any</option>
          {props.hosts.map((h) => (
            <option value={h.id} selected={f.host === h.id}>
              {h.name}
            </option>
          ))}
        </select>
      </div>
      {props.view === "active" && (
        <div>
          <label for="q-state">State</label>
          <select id="q-state" name="state">
            <option value="">any</option>
            {CLUSTER_STATES.map((s) => (
              <option value={s} selected={f.state === s}>
                {s}
              </option>
            ))}
          </select>
        </div>
      )}
      {props.view !== "released" && (
        <div>
          <label for="q-type">Type</label>
          <select id="q-type" name="type">
            <option value="">any</option>
            {props.types.map((t) => (
              <option value={t} selected={f.type === t}>
                {t.split("/").filter(Boolean).join("/")}
              </option>
            ))}
          </select>
        </div>
      )}
      {props.view !== "active" && (
        <div>
          <label for="q-user">User</label>
          <input id="q-user" name="user" value={f.user} autocomplete="off" />
        </div>
      )}
      {props.view === "released" && (
        <div>
          <label for="q-since">Released</label>
          <select id="q-since" name="since">
            <option value="">any time</option>
            <option value="today" selected={f.since === "today"}>
              today (UTC)
            </option>
          </select>
        </div>
      )}
      <button type="submit">Filter</button>
    </form>
  );
}

export function ClusterActionForms(props: { cluster: Cluster; csrf: string; back: string }) {
  const c = props.cluster;
  const why = clusterActions(c);
  const id = encodeURIComponent(c.id);
  const act = (action: keyof typeof why, label: string, danger = false) => (
    <form method="post" action={`/clusters/${id}/${action}`}>
      <Csrf token={props.csrf} />
      <input type="hidden" name="back" value={props.back} />
      <button type="submit" class={`small${danger ? " danger" : ""}`} disabled={why[action] !== ""} title={why[action] || `${label} ${c.name}`} aria-label={`${label} ${c.name}`}>
        {label}
      </button>
    </form>
  );
  // Delete first shows what it destroys (ClusterConfirm), as a host's reset does.
  const confirmFirst = (action: "delete", label: string) => (
    <form method="get" action={`/clusters/${id}/${action}`}>
      <input type="hidden" name="back" value={props.back} />
      <button type="submit" class="small danger" disabled={why[action] !== ""} title={why[action] || `${label} ${c.name}`} aria-label={`${label} ${c.name}`}>
        {label}…
      </button>
    </form>
  );
  return (
    <div class="actions">
      {act("start", "Start")}
      {act("stop", "Stop")}
      {act("restart", "Restart")}
      {act("release", "Release", true)}
      {confirmFirst("delete", "Delete")}
    </div>
  );
}

export function ActiveTable(props: { clusters: Cluster[]; hosts: Map<string, Host>; csrf: string; back: string; inUse: boolean; now: number; truncated: number }) {
  return (
    <div class="table-wrap">
      <table>
        <caption class="visually-hidden">{props.inUse ? "Clusters in use" : "Active clusters"}</caption>
        <thead>
          <tr>
            <th scope="col">Cluster</th>
            <th scope="col">Host</th>
            <th scope="col">Type</th>
            <th scope="col">State</th>
            <th scope="col">Health</th>
            <th scope="col">User</th>
            <th scope="col">{props.inUse ? "Applied (held for)" : "Applied"}</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {props.clusters.length === 0 && (
            <tr>
              <td colspan={8}>No clusters match.</td>
            </tr>
          )}
          {props.clusters.map((c) => (
            <tr data-cluster={c.id}>
              <th scope="row">
                <a href={`/clusters/${encodeURIComponent(c.id)}`}>{c.name}</a>
              </th>
              <td data-label="Host">{props.hosts.get(c.host_id)?.name ?? c.host_id}</td>
              <td data-label="Type">{typeLabel(c.consensus_plugin, c.consensus_mode, c.size)}</td>
              <td data-label="State">
                {clusterState(c)}
                {c.op ? ` (${c.op})` : ""}
              </td>
              <td data-label="Health">
                <span class={`badge ${c.health === "OK" ? "good" : c.health === "FAIL" ? "bad" : ""}`}>{c.health || "unknown"}</span>
              </td>
              <td data-label="User">{c.user_id}</td>
              <td data-label="Applied">
                {shortTime(c.apply_ts)}
                {c.apply_ts && props.inUse ? ` (${duration(secondsSince(c.apply_ts, props.now))})` : ""}
              </td>
              <td data-label="Actions">
                <ClusterActionForms cluster={c} csrf={props.csrf} back={props.back} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {props.truncated > 0 && <p class="help">{props.truncated} more not shown; narrow the filters.</p>}
    </div>
  );
}

export function ReleasedTable(props: { rows: ReleasedCluster[]; hosts: Map<string, Host> }) {
  return (
    <div class="table-wrap">
      <table>
        <caption class="visually-hidden">Released clusters</caption>
        <thead>
          <tr>
            <th scope="col">User</th>
            <th scope="col">Cluster</th>
            <th scope="col">Host</th>
            <th scope="col">Type</th>
            <th scope="col">Applied</th>
            <th scope="col">Released</th>
            <th scope="col" class="num">
              Held for
            </th>
          </tr>
        </thead>
        <tbody>
          {props.rows.length === 0 && (
            <tr>
              <td colspan={7}>No releases match.</td>
            </tr>
          )}
          {props.rows.map((r) => (
            <tr>
              <td data-label="User">{r.user_id}</td>
              <td data-label="Cluster" class="mono">{r.cluster_name}</td>
              <td data-label="Host">{props.hosts.get(r.host_id)?.name ?? r.host_id}</td>
              <td data-label="Type">{typeLabel(r.consensus_plugin, r.consensus_mode, r.size)}</td>
              <td data-label="Applied">{shortTime(r.apply_ts)}</td>
              <td data-label="Released">{shortTime(r.release_ts)}</td>
              <td data-label="Held for" class="num">{duration(r.duration_s)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** What deleting a cluster destroys, said before it is done: its nodes and ledger, and its user's hold on it. */
export function ClusterConfirm(props: { cluster: Cluster; host: Host | undefined; csrf: string; back: string; now: number }) {
  const c = props.cluster;
  const id = encodeURIComponent(c.id);
  const where = props.host ? `${props.host.name} (${props.host.type})` : c.host_id;
  return (
    <section class="confirm" aria-labelledby="confirm-h">
      <h2 id="confirm-h">Delete cluster {c.name}?</h2>
      <p>
        This destroys its <strong data-testid="destroy-count">{c.size}</strong> node{c.size === 1 ? "" : "s"} on {where}, with their ledger and whatever chaincode runs on them. It is not
        recreated in its place: the pool refills only by autofill or a fill-up.
      </p>
      {c.user_id !== "" ? (
        <p class="warn">
          {c.user_id} holds it{c.apply_ts ? ` (applied ${duration(secondsSince(c.apply_ts, props.now))} ago)` : ""} and loses it at once.
        </p>
      ) : (
        <p>No user holds it.</p>
      )}
      <form method="post" action={`/clusters/${id}/delete`} class="row">
        <Csrf token={props.csrf} />
        <input type="hidden" name="back" value={props.back} />
        <button type="submit" class="danger">
          Delete {c.name}
        </button>
        <a class="button" href={props.back}>
          Cancel
        </a>
      </form>
    </section>
  );
}
