import type { CommandContext } from "./command.ts";
import { CliError, EXIT } from "./exit-codes.ts";
import { isReady, type ClusterView } from "./views.ts";

export interface PoolTarget {
  /** What the wait is for, in the progress line: "fillup local". */
  label: string;
  /** Clusters that must be gone first (reset, clean). */
  gone?: ReadonlySet<string>;
  /** Ready clusters the host must then hold. */
  ready: number;
}

/**
 * Polls the host's clusters until the target holds, printing progress: one redrawn line on a
 * terminal, a line per change otherwise, nothing with --json. Throws CliError(TIMEOUT) after
 * --timeout.
 */
export async function waitForPool(ctx: CommandContext, hostId: string, target: PoolTarget): Promise<ClusterView[]> {
  const deadline = Date.now() + ctx.timeoutMs;
  const client = ctx.client();
  let last = "";
  const show = (line: string) => {
    if (ctx.json || line === last) return;
    last = line;
    if (ctx.io.isTTY) ctx.io.err(`\r\x1b[2K${line}`);
    else ctx.io.err(`${line}\n`);
  };
  for (;;) {
    const clusters = await client.call<ClusterView[]>("GET", `/v2/clusters?host_id=${encodeURIComponent(hostId)}`);
    const left = target.gone ? clusters.filter((c) => target.gone!.has(c.id)).length : 0;
    const ready = clusters.filter((c) => isReady(c) && !target.gone?.has(c.id)).length;
    const creating = clusters.filter((c) => c.status === "creating").length;
    const done = left === 0 && ready >= target.ready;
    show(
      `${target.label}: ${left > 0 ? `${left} to remove, ` : ""}${ready}/${target.ready} ready${creating > 0 ? `, ${creating} creating` : ""}${done ? " - done" : ""}`,
    );
    if (done) {
      if (ctx.io.isTTY && !ctx.json) ctx.io.err("\n");
      return clusters;
    }
    if (Date.now() > deadline) {
      if (ctx.io.isTTY && !ctx.json) ctx.io.err("\n");
      throw new CliError(EXIT.TIMEOUT, `${target.label}: the pool did not reach ${target.ready} ready clusters within ${ctx.timeoutMs / 1000} s (now ${ready}${left > 0 ? `, ${left} still to remove` : ""})`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
