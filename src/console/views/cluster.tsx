/** @jsxImportSource hono/jsx */
import type { Cluster, Host } from "../../core/types.ts";
import type { ChainReading } from "../node-reader.ts";
import { ClusterActionForms, clusterState } from "./clusters.tsx";
import { duration, secondsSince, shortTime, typeLabel } from "./format.ts";

/** One cluster: what the pool knows of it, and its chain as its nodes answer right now. */
export function ClusterPage(props: { cluster: Cluster; view: { api_url: string; service_url: Record<string, string> }; host: Host | undefined; chain: ChainReading; csrf: string; now: number }) {
  const { cluster: c, chain } = props;
  return (
    <>
      <ClusterActionForms cluster={c} csrf={props.csrf} back={`/clusters/${c.id}`} />
      <dl class="facts">
        <dt>Id</dt>
        <dd class="mono">{c.id}</dd>
        <dt>Host</dt>
        <dd>{props.host?.name ?? c.host_id}</dd>
        <dt>Type</dt>
        <dd>{typeLabel(c.consensus_plugin, c.consensus_mode, c.size)}</dd>
        <dt>State</dt>
        <dd>
          {clusterState(c)} ({c.status}
          {c.op ? `, ${c.op} pending` : ""})
        </dd>
        <dt>Health</dt>
        <dd>{c.health || "unknown"}</dd>
        <dt>User</dt>
        <dd>{c.user_id || "free"}</dd>
        {c.apply_ts && (
          <>
            <dt>Applied</dt>
            <dd>
              {shortTime(c.apply_ts)} (held for {duration(secondsSince(c.apply_ts, props.now))})
            </dd>
          </>
        )}
        <dt>Created</dt>
        <dd>{shortTime(c.create_ts)}</dd>
        <dt>api_url</dt>
        <dd class="mono">{props.view.api_url || "not made yet"}</dd>
      </dl>

      <h2>Nodes</h2>
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Node</th>
              <th scope="col">Endpoint</th>
              <th scope="col" class="num">
                Chain height
              </th>
            </tr>
          </thead>
          <tbody>
            {chain.nodes.length === 0 && (
              <tr>
                <td colspan={3}>No nodes yet.</td>
              </tr>
            )}
            {chain.nodes.map((n) => (
              <tr>
                <th scope="row">{n.node}</th>
                <td class="mono">{props.view.service_url[n.node] ?? n.url}</td>
                <td class="num">{n.height ?? <span class="badge bad">{n.error}</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>

      <h2>Last blocks</h2>
      {chain.blocksError && <p class="warn">Blocks could not be read: {chain.blocksError}</p>}
      {chain.blocks.length > 0 && (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col" class="num">
                  Block
                </th>
                <th scope="col">Proposer</th>
                <th scope="col">Time</th>
                <th scope="col">Transactions</th>
              </tr>
            </thead>
            <tbody>
              {chain.blocks.map((b) => (
                <tr>
                  <td class="num">{b.number}</td>
                  <td>{b.proposer || "genesis"}</td>
                  <td>{shortTime(b.time)}</td>
                  <td>
                    {b.transactions.length === 0
                      ? "none"
                      : b.transactions.map((t) => (
                          <div class="mono">
                            {t.txid.slice(0, 12)} {t.chaincode} {t.fn}
                            {t.ok ? "" : " (failed)"}
                          </div>
                        ))}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
