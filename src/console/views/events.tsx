/** @jsxImportSource hono/jsx */
import type { Host } from "../../core/types.ts";
import type { PoolEvent } from "../../core/events.ts";
import { shortTime } from "./format.ts";

/** What the daemon did, newest first, from the daemon's event feed. */
export function EventsPage(props: { events: PoolEvent[]; warningsOnly: boolean; hosts: Map<string, Host> }) {
  return (
    <>
      <form method="get" action="/events" class="events-switch">
        <input id="warnings-only" type="checkbox" name="warnings" value="1" checked={props.warningsOnly} data-autosubmit="" />
        <label for="warnings-only">Warnings only</label>
        <button type="submit" class="small">
          Show
        </button>
      </form>
      <div class="table-wrap">
        <table>
          <caption class="visually-hidden">{props.warningsOnly ? "Warnings" : "Events"}</caption>
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Level</th>
              <th scope="col">What</th>
              <th scope="col">Host</th>
              <th scope="col">Cluster</th>
              <th scope="col">User</th>
              <th scope="col">Message</th>
            </tr>
          </thead>
          <tbody>
            {props.events.length === 0 && (
              <tr>
                <td colspan={7}>{props.warningsOnly ? "No warnings." : "Nothing yet."}</td>
              </tr>
            )}
            {props.events.map((e) => (
              <tr class={`level-${e.level}`} data-event-kind={e.kind}>
                <td>{shortTime(e.ts)}</td>
                <td>{e.level === "warn" ? <span class="badge bad">warning</span> : "info"}</td>
                <td>{e.kind}</td>
                <td>{e.host_id ? (props.hosts.get(e.host_id)?.name ?? e.host_id) : ""}</td>
                <td class="mono">{e.cluster_id ? <a href={`/clusters/${encodeURIComponent(e.cluster_id)}`}>{e.cluster_id.slice(0, 12)}</a> : ""}</td>
                <td>{e.user_id ?? ""}</td>
                <td>{e.message}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
