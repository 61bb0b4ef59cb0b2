/** @jsxImportSource hono/jsx */
import { HOST_LOG_LEVELS, HOST_TYPES, type Host } from "../../core/types.ts";
import { Csrf } from "./layout.tsx";

export interface HostRow {
  host: Host;
  clusters: number;
  /** Clusters users hold on it. */
  held: number;
}

/** What each action can do to a host now; a button that cannot apply is disabled and says why. */
export function hostActions(row: HostRow) {
  const { host, clusters } = row;
  return {
    fillup: host.status !== "active" ? "the host is inactive" : clusters >= host.capacity ? "the host is full" : "",
    clean: clusters === 0 ? "the host holds no clusters" : "",
    reset: clusters === 0 ? "the host holds no clusters" : "",
    delete: clusters > 0 ? "the host still holds clusters; clean or reset it first" : "",
  };
}

export function HostsTable(props: { rows: HostRow[]; csrf: string }) {
  return (
    <>
      <p>
        <a class="button" href="/hosts/new">
          Add a host
        </a>
      </p>
      <div class="table-wrap">
        <table>
          <caption class="visually-hidden">Hosts</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Type</th>
              <th scope="col">Daemon URL</th>
              <th scope="col">Status</th>
              <th scope="col">Schedulable</th>
              <th scope="col">Autofill</th>
              <th scope="col" class="num">
                Clusters / capacity
              </th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {props.rows.length === 0 && (
              <tr>
                <td colspan={8}>No hosts yet.</td>
              </tr>
            )}
            {props.rows.map((row) => {
              const { host } = row;
              const why = hostActions(row);
              return (
                <tr data-host={host.name}>
                  <th scope="row">
                    <a href={`/clusters?view=active&host=${encodeURIComponent(host.id)}`}>{host.name}</a>
                  </th>
                  <td data-label="Type">{host.type}</td>
                  <td data-label="Daemon URL" class="mono">{host.daemon_url || "—"}</td>
                  <td data-label="Status">
                    <span class={`badge ${host.status === "active" ? "good" : "bad"}`}>{host.status}</span>
                  </td>
                  <td data-label="Schedulable">{host.schedulable ? "yes" : "no"}</td>
                  <td data-label="Autofill">{host.autofill ? "on" : "off"}</td>
                  <td data-label="Clusters / capacity" class="num">
                    {row.clusters} / {host.capacity}
                  </td>
                  <td data-label="Actions" class="actions">
                    <a class="button small" href={`/hosts/${encodeURIComponent(host.id)}/edit`} aria-label={`Edit ${host.name}`}>
                      Edit
                    </a>
                    <form method="post" action={`/hosts/${encodeURIComponent(host.id)}/fillup`}>
                      <Csrf token={props.csrf} />
                      <ActionButton label="Fill up" host={host.name} why={why.fillup} />
                    </form>
                    <form method="post" action={`/hosts/${encodeURIComponent(host.id)}/clean`}>
                      <Csrf token={props.csrf} />
                      <ActionButton label="Clean" host={host.name} why={why.clean} />
                    </form>
                    <form method="get" action={`/hosts/${encodeURIComponent(host.id)}/reset`}>
                      <ActionButton label="Reset…" host={host.name} why={why.reset} danger />
                    </form>
                    <form method="get" action={`/hosts/${encodeURIComponent(host.id)}/delete`}>
                      <ActionButton label="Delete…" host={host.name} why={why.delete} danger />
                    </form>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </>
  );
}

function ActionButton(props: { label: string; host: string; why: string; danger?: boolean }) {
  const name = `${props.label.replace("…", "")} ${props.host}`;
  return (
    <button type="submit" class={`small${props.danger ? " danger" : ""}`} disabled={props.why !== ""} aria-label={name} title={props.why || name}>
      {props.label}
    </button>
  );
}

/** What a reset or delete will destroy, said before it is done. */
export function HostConfirm(props: { action: "reset" | "delete"; row: HostRow; users: string[]; csrf: string }) {
  const { host, clusters, held } = props.row;
  const id = encodeURIComponent(host.id);
  return (
    <section class="confirm" aria-labelledby="confirm-h">
      <h2 id="confirm-h">{props.action === "reset" ? `Reset host ${host.name}?` : `Delete host ${host.name}?`}</h2>
      {props.action === "reset" ? (
        <>
          <p>
            This destroys all <strong data-testid="destroy-count">{clusters}</strong> cluster{clusters === 1 ? "" : "s"} on {host.name} with their ledgers, and everything else chainpool runs
            there ({host.type === "local" ? "node processes and their data" : "containers, services, networks and volumes"}).
          </p>
          {held > 0 ? (
            <p class="warn">
              {held} of them {held === 1 ? "is" : "are"} held by users ({props.users.join(", ")}), who lose {held === 1 ? "it" : "them"} at once.
            </p>
          ) : (
            <p>No user holds any of them.</p>
          )}
          <p>{host.autofill ? "Autofill is on: the pool is rebuilt afterwards." : "Autofill is off: the host stays empty until filled up."}</p>
        </>
      ) : (
        <p>
          This removes {host.name} ({host.type}
          {host.daemon_url ? `, ${host.daemon_url}` : ""}) from chainpool. It holds no clusters; nothing runs there is touched.
        </p>
      )}
      <form method="post" action={`/hosts/${id}/${props.action}`} class="row">
        <Csrf token={props.csrf} />
        <button type="submit" class="danger">
          {props.action === "reset" ? `Reset ${host.name}` : `Delete ${host.name}`}
        </button>
        <a class="button" href="/hosts">
          Cancel
        </a>
      </form>
    </section>
  );
}

export interface HostFormValues {
  name: string;
  type: string;
  daemon_url: string;
  capacity: string;
  autofill: boolean;
  schedulable: boolean;
  log_level: string;
  params: string;
}

/** Add (no id) or edit a host. Checked by the same rules as POST and PUT /api/host. */
export function HostForm(props: { id?: string; values: HostFormValues; error?: string; csrf: string }) {
  const v = props.values;
  const editing = props.id !== undefined;
  return (
    <form method="post" action={editing ? `/hosts/${encodeURIComponent(props.id!)}/edit` : "/hosts/new"} class="form" novalidate>
      <Csrf token={props.csrf} />
      {props.error && (
        <p class="flash error" role="alert" id="form-error">
          {props.error}
        </p>
      )}
      <label for="f-name">Name</label>
      <input id="f-name" name="name" value={v.name} required autocomplete="off" />
      <label for="f-type">Type</label>
      {editing ? (
        <input id="f-type" value={v.type} disabled />
      ) : (
        <select id="f-type" name="type">
          {HOST_TYPES.filter((t) => t !== "memory" || v.type === "memory").map((t) => (
            <option value={t} selected={v.type === t}>
              {t}
            </option>
          ))}
        </select>
      )}
      <label for="f-daemon">Daemon URL</label>
      <input id="f-daemon" name="daemon_url" value={v.daemon_url} aria-describedby="f-daemon-help" autocomplete="off" />
      <p id="f-daemon-help" class="help">
        Empty for a local host; unix:///var/run/docker.sock or tcp://HOST:2376 for docker and swarm.
      </p>
      <label for="f-capacity">Capacity</label>
      <input id="f-capacity" name="capacity" value={v.capacity} inputmode="numeric" />
      <div class="check">
        <input id="f-autofill" type="checkbox" name="autofill" value="true" checked={v.autofill} />
        <label for="f-autofill">Autofill (keep the host at capacity)</label>
      </div>
      <div class="check">
        <input id="f-schedulable" type="checkbox" name="schedulable" value="true" checked={v.schedulable} />
        <label for="f-schedulable">Schedulable (new clusters may go here)</label>
      </div>
      <label for="f-log">Log level</label>
      <select id="f-log" name="log_level">
        {HOST_LOG_LEVELS.map((l) => (
          <option value={l} selected={v.log_level === l}>
            {l}
          </option>
        ))}
      </select>
      <label for="f-params">Params (JSON object)</label>
      <textarea id="f-params" name="params" rows={4} aria-describedby="f-params-help">
        {v.params}
      </textarea>
      <p id="f-params-help" class="help">
        e.g. {'{"public_host": "10.0.0.5", "tls_ca": "/etc/chainpool/ca.pem"}'}. Values shown as "(set)" are kept unless changed.
      </p>
      <div class="row">
        <button type="submit">{editing ? "Save" : "Add host"}</button>
        <a class="button" href="/hosts">
          Cancel
        </a>
      </div>
    </form>
  );
}
