/** `chainpool clusters ls | get | create | rotate-secret | rm`, over the operator API. */
import { positional, type Command } from "./command.ts";
import { CliError, EXIT, usageError } from "./exit-codes.ts";
import { findHost } from "./hosts.ts";
import { json, keyValues, table } from "./output.ts";
import { isReady, typeName, type ClusterView } from "./views.ts";

interface ReleasedView {
  cluster_id: string;
  user_id: string;
  apply_ts: string;
  release_ts: string;
  duration_s?: number;
}

export const clustersCommands: Record<string, Command> = {
  "clusters ls": {
    usage: "[--user U] [--host HOST] [--released]",
    summary: "list clusters (or, with --released, the release history)",
    options: { user: { type: "string" }, host: { type: "string" }, released: { type: "boolean" } },
    async run(ctx) {
      positional(ctx, [], "clusters ls");
      const client = ctx.client();
      const user = ctx.flags["user"] as string | undefined;
      if (ctx.flags["released"]) {
        if (ctx.flags["host"] !== undefined) throw usageError("--host: not available with --released");
        const rows = await client.call<ReleasedView[]>("GET", `/api/clusters?state=released${user !== undefined ? `&user_id=${encodeURIComponent(user)}` : ""}`);
        if (ctx.json) ctx.io.out(json(rows));
        else ctx.io.out(table([["CLUSTER", "USER", "APPLIED", "RELEASED", "SECONDS"], ...rows.map((r) => [r.cluster_id, r.user_id, r.apply_ts, r.release_ts, r.duration_s ?? ""])]));
        return EXIT.OK;
      }
      const query = new URLSearchParams();
      if (user !== undefined) query.set("user_id", user);
      if (ctx.flags["host"] !== undefined) query.set("host_id", (await findHost(ctx, ctx.flags["host"] as string)).id);
      const clusters = await client.call<ClusterView[]>("GET", `/v2/clusters${query.size > 0 ? `?${query}` : ""}`);
      if (ctx.json) ctx.io.out(json(clusters));
      else
        ctx.io.out(
          table([
            ["ID", "NAME", "TYPE", "STATUS", "HEALTH", "USER", "API_URL"],
            ...clusters.map((c) => [c.id, c.name, typeName(c), c.status, c.health || "-", c.user_id || "-", c.api_url || "-"]),
          ]),
        );
      return EXIT.OK;
    },
  },

  "clusters get": {
    usage: "ID",
    summary: "show one cluster",
    async run(ctx) {
      const [id] = positional(ctx, ["ID"], "clusters get ID");
      const cluster = await ctx.client().call<ClusterView>("GET", `/api/cluster/${encodeURIComponent(id!)}`);
      ctx.io.out(ctx.json ? json(cluster) : keyValues(cluster as unknown as Record<string, unknown>));
      return EXIT.OK;
    },
  },

  "clusters create": {
    usage: "HOST [--plugin noops|pbft] [--mode classic|batch] [--size N] [--name NAME] [--wait] [--timeout S]",
    summary: "create a cluster on a host; --wait until it is ready",
    options: { plugin: { type: "string" }, mode: { type: "string" }, size: { type: "string" }, name: { type: "string" }, wait: { type: "boolean" } },
    async run(ctx) {
      const [ref] = positional(ctx, ["HOST"], `clusters create ${this.usage}`);
      const host = await findHost(ctx, ref!);
      const body: Record<string, unknown> = { host_id: host.id };
      if (ctx.flags["plugin"] !== undefined) body["consensus_plugin"] = ctx.flags["plugin"];
      if (ctx.flags["mode"] !== undefined) body["consensus_mode"] = ctx.flags["mode"];
      if (ctx.flags["size"] !== undefined) body["size"] = ctx.flags["size"];
      if (ctx.flags["name"] !== undefined) body["name"] = ctx.flags["name"];
      const client = ctx.client();
      let cluster = await client.call<ClusterView>("POST", "/api/cluster", body);
      if (ctx.flags["wait"]) {
        const deadline = Date.now() + ctx.timeoutMs;
        while (!isReady(cluster)) {
          if (Date.now() > deadline) throw new CliError(EXIT.TIMEOUT, `cluster ${cluster.id} not ready within ${ctx.timeoutMs / 1000} s (${cluster.status}, health ${cluster.health || "unknown"})`);
          await new Promise((r) => setTimeout(r, 250));
          cluster = await client.call<ClusterView>("GET", `/api/cluster/${cluster.id}`);
        }
      }
      ctx.io.out(ctx.json ? json(cluster) : `cluster ${cluster.name} ${cluster.id} on ${host.name}: ${cluster.status}${cluster.api_url ? ` at ${cluster.api_url}` : ""}\n`);
      return EXIT.OK;
    },
  },

  "clusters rotate-secret": {
    usage: "ID",
    summary: "give a cluster a new URL secret: its old URLs stop working; prints the new api_url",
    async run(ctx) {
      const [id] = positional(ctx, ["ID"], "clusters rotate-secret ID");
      const cluster = await ctx.client().call<ClusterView>("POST", "/api/cluster_op", { id, action: "rotate_secret" });
      ctx.io.out(ctx.json ? json(cluster) : `${cluster.api_url}\n`);
      return EXIT.OK;
    },
  },

  "clusters rm": {
    usage: "ID",
    summary: "delete a cluster (its nodes and ledger go)",
    async run(ctx) {
      const [id] = positional(ctx, ["ID"], "clusters rm ID");
      const cluster = await ctx.client().call<ClusterView>("DELETE", "/api/cluster", { id });
      ctx.io.out(ctx.json ? json(cluster) : `cluster ${cluster.name} ${cluster.id}: deleting\n`);
      return EXIT.OK;
    },
  },
};
