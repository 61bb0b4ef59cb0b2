/** @jsxImportSource hono/jsx */
import type { Host } from "../../core/types.ts";
import type { HostClusterCounts } from "../../store/pool-store.ts";

export interface OverviewData {
  tiles: { free: number; inUse: number; creating: number; failing: number; releasedToday: number };
  hosts: Array<{ host: Host; counts: HostClusterCounts }>;
  /** "plugin/mode/size" -> clusters. */
  byType: Record<string, number>;
  appliesLastHour: number;
  /** The chart's series, one point per minute of the last hour (unix seconds): the page carries them, so drawing it needs no request. */
  chart: { t: number[]; free: Array<number | null>; applies: number[] };
}

const TILES = [
  { key: "free", label: "Free", href: "/clusters?view=active&state=free" },
  { key: "inUse", label: "In use", href: "/clusters?view=in-use" },
  { key: "creating", label: "Creating", href: "/clusters?view=active&state=creating" },
  { key: "failing", label: "Failing", href: "/clusters?view=active&state=failing" },
  { key: "releasedToday", label: "Released today", href: "/clusters?view=released&since=today" },
] as const;

const PARTS = ["free", "held", "creating", "failed", "other"] as const;
const PART_LABEL: Record<(typeof PARTS)[number], string> = { free: "free", held: "held", creating: "creating", failed: "failed", other: "stopped or leaving" };

export function Overview(props: { data: OverviewData }) {
  const { data } = props;
  return (
    <>
      <section aria-labelledby="tiles-h">
        <h2 id="tiles-h" class="visually-hidden">
          Clusters at a glance
        </h2>
        <ul class="tiles">
          {TILES.map((t) => (
            <li>
              <a class={`tile tile-${t.key}`} href={t.href} data-testid={`tile-${t.key}`}>
                <span class="tile-n">{data.tiles[t.key]}</span>
                <span class="tile-label">{t.label}</span>
              </a>
            </li>
          ))}
        </ul>
      </section>

      <section aria-labelledby="chart-h">
        <h2 id="chart-h">Last hour</h2>
        <figure class="chart-box">
          <div id="pool-chart" class="chart" data-series={JSON.stringify(data.chart)} role="img" aria-label="Pool size (free clusters) and applies per minute over the last hour"></div>
          <figcaption>
            Free clusters and applies per minute; {data.appliesLastHour} {data.appliesLastHour === 1 ? "apply" : "applies"} in the last hour.
          </figcaption>
        </figure>
      </section>

      <section aria-labelledby="capacity-h">
        <h2 id="capacity-h">Capacity by host</h2>
        {data.hosts.length === 0 ? (
          <p>
            No hosts yet. <a href="/hosts/new">Add one</a>.
          </p>
        ) : (
          <ul class="capacity">
            {data.hosts.map(({ host, counts }) => {
              const of = Math.max(host.capacity, counts.total, 1);
              const summary = PARTS.filter((p) => counts[p] > 0).map((p) => `${counts[p]} ${PART_LABEL[p]}`).join(", ") || "empty";
              return (
                <li>
                  <div class="capacity-head">
                    <a href={`/clusters?view=active&host=${encodeURIComponent(host.id)}`}>{host.name}</a>
                    <span>
                      {counts.total} / {host.capacity}
                      {host.status !== "active" && <span class="badge bad"> inactive</span>}
                    </span>
                  </div>
                  <div class="bar" role="img" aria-label={`${host.name}: ${summary}, capacity ${host.capacity}`}>
                    {PARTS.map((p) => (counts[p] > 0 ? <span class={`seg seg-${p}`} style={`width:${(counts[p] / of) * 100}%`}></span> : ""))}
                  </div>
                  <p class="capacity-legend">{summary}</p>
                </li>
              );
            })}
          </ul>
        )}
      </section>

      <section aria-labelledby="types-h">
        <h2 id="types-h">Clusters by consensus type</h2>
        <table class="narrow">
          <thead>
            <tr>
              <th scope="col">Type</th>
              <th scope="col" class="num">
                Clusters
              </th>
            </tr>
          </thead>
          <tbody>
            {Object.entries(data.byType).length === 0 && (
              <tr>
                <td colspan={2}>none</td>
              </tr>
            )}
            {Object.entries(data.byType).map(([type, n]) => {
              const [plugin = "", mode = "", size = ""] = type.split("/");
              return (
                <tr>
                  <td>
                    <a href={`/clusters?view=active&type=${encodeURIComponent(type)}`}>{`${plugin}${mode ? `/${mode}` : ""} × ${size}`}</a>
                  </td>
                  <td class="num">{n}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </section>
    </>
  );
}
