/** `chainpool apply | release | stat | version`. */
import { runtimeKind } from "../lib/runtime.ts";
import { VERSION } from "../lib/version.ts";
import { positional, type Command } from "./command.ts";
import { CliError, EXIT, usageError } from "./exit-codes.ts";
import { json, keyValues, table } from "./output.ts";
import type { ClusterView } from "./views.ts";

interface Stats {
  hosts: { total: number; by_status: Record<string, number> };
  clusters: { total: number; free: number; in_use: number; by_status: Record<string, number>; by_health: Record<string, number>; by_type: Record<string, number> };
  released_total: number;
}

export const poolCommands: Record<string, Command> = {
  apply: {
    usage: "USER [--plugin noops|pbft] [--mode classic|batch] [--size N] [--allow-multiple]",
    summary: "hand a free cluster to USER; prints its api_url (exit 6 when none is free)",
    options: { plugin: { type: "string" }, mode: { type: "string" }, size: { type: "string" }, "allow-multiple": { type: "boolean" } },
    async run(ctx) {
      const [user] = positional(ctx, ["USER"], `apply ${this.usage}`);
      const body: Record<string, unknown> = { action: "apply", user_id: user };
      if (ctx.flags["plugin"] !== undefined) body["consensus_plugin"] = ctx.flags["plugin"];
      if (ctx.flags["mode"] !== undefined) body["consensus_mode"] = ctx.flags["mode"];
      if (ctx.flags["size"] !== undefined) body["size"] = ctx.flags["size"];
      if (ctx.flags["allow-multiple"]) body["allow_multiple"] = true;
      let cluster: ClusterView;
      try {
        cluster = await ctx.client().call<ClusterView>("POST", "/v2/cluster_op", body);
      } catch (err) {
        // apply's only 404 is "no free cluster": a condition to retry on, not a missing thing.
        if (err instanceof CliError && err.exitCode === EXIT.NOT_FOUND) throw new CliError(EXIT.NO_CLUSTER, err.message);
        throw err;
      }
      ctx.io.out(ctx.json ? json(cluster) : `${cluster.api_url}\n`);
      if (!ctx.json) ctx.io.err(`cluster ${cluster.name} ${cluster.id} is ${user}'s\n`);
      return EXIT.OK;
    },
  },

  release: {
    usage: "(--user U | --cluster ID)",
    summary: "give back one cluster, or all of a user's; they are recycled",
    options: { user: { type: "string" }, cluster: { type: "string" } },
    async run(ctx) {
      positional(ctx, [], `release ${this.usage}`);
      const user = ctx.flags["user"] as string | undefined;
      const cluster = ctx.flags["cluster"] as string | undefined;
      if ((user === undefined) === (cluster === undefined)) throw usageError("release: give --user U or --cluster ID");
      const body = cluster !== undefined ? { action: "release", cluster_id: cluster } : { action: "release", user_id: user };
      const data = await ctx.client().call<unknown>("POST", "/v2/cluster_op", body);
      const released = cluster !== undefined ? [cluster] : Array.isArray(data) ? (data as string[]) : ((data as { released?: string[] }).released ?? []);
      ctx.io.out(ctx.json ? json({ released }) : `released: ${released.length > 0 ? released.join(" ") : "nothing"}\n`);
      return EXIT.OK;
    },
  },

  stat: {
    usage: "",
    summary: "pool statistics",
    async run(ctx) {
      positional(ctx, [], "stat");
      const s = await ctx.client().call<Stats>("GET", "/api/stat");
      if (ctx.json) {
        ctx.io.out(json(s));
        return EXIT.OK;
      }
      const c = s.clusters;
      ctx.io.out(
        keyValues({ hosts: s.hosts.total, clusters: c.total, free: c.free, in_use: c.in_use, released_total: s.released_total }) +
          "\n" +
          table([["TYPE", "CLUSTERS"], ...Object.entries(c.by_type).map(([k, n]) => [k, n])]) +
          "\n" +
          table([["STATUS", "CLUSTERS"], ...Object.entries(c.by_status).map(([k, n]) => [k, n])]),
      );
      return EXIT.OK;
    },
  },

  version: {
    usage: "",
    summary: "this program's version, and the daemon's if one answers",
    async run(ctx) {
      positional(ctx, [], "version");
      const client = ctx.client();
      let daemon: { url: string; version: string } | null = null;
      try {
        const health = await client.call<{ version: string }>("GET", "/api/health");
        daemon = { url: client.url, version: health.version };
      } catch {
        /* no daemon there: the client's own version is still the answer */
      }
      const runtime = `${runtimeKind()} ${"Deno" in globalThis ? "" : process.version}`.trim();
      if (ctx.json) ctx.io.out(json({ version: VERSION, runtime, daemon }));
      else ctx.io.out(`chainpool ${VERSION} (${runtime})\ndaemon: ${daemon ? `${daemon.version} at ${daemon.url}` : `not reachable at ${client.url}`}\n`);
      return EXIT.OK;
    },
  },
};
