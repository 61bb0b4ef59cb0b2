/** `chainpool hosts ls | add | rm | fillup | clean | reset`, over the operator API. */
import { positional, type Command, type CommandContext } from "./command.ts";
import { CliError, EXIT, usageError } from "./exit-codes.ts";
import { json, table } from "./output.ts";
import { waitForPool } from "./progress.ts";
import type { HostView } from "./views.ts";

/** A host named by id or by name. */
export async function findHost(ctx: CommandContext, ref: string): Promise<HostView> {
  const hosts = await ctx.client().call<HostView[]>("GET", "/api/hosts");
  const host = hosts.find((h) => h.id === ref) ?? hosts.find((h) => h.name === ref);
  if (!host) throw new CliError(EXIT.NOT_FOUND, `host ${JSON.stringify(ref)} not found (known: ${hosts.map((h) => h.name).join(", ") || "none"})`);
  return host;
}

const intFlag = (ctx: CommandContext, name: string): number | undefined => {
  const text = ctx.flags[name] as string | undefined;
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw usageError(`--${name}: expected a whole number, got ${JSON.stringify(text)}`);
  return n;
};

const WAIT_OPTIONS = { "no-wait": { type: "boolean" } } as const;

export const hostsCommands: Record<string, Command> = {
  "hosts ls": {
    usage: "",
    summary: "list hosts with their clusters and capacity",
    async run(ctx) {
      positional(ctx, [], "hosts ls");
      const hosts = await ctx.client().call<HostView[]>("GET", "/api/hosts");
      if (ctx.json) ctx.io.out(json(hosts));
      else
        ctx.io.out(
          table([
            ["ID", "NAME", "TYPE", "STATUS", "CLUSTERS", "AUTOFILL", "SCHEDULABLE", "DAEMON_URL"],
            ...hosts.map((h) => [h.id, h.name, h.type, h.status, `${h.clusters}/${h.capacity}`, h.autofill, h.schedulable, h.daemon_url || "-"]),
          ]),
        );
      return EXIT.OK;
    },
  },

  "hosts add": {
    usage: "NAME [--type local|docker|swarm] [--daemon-url URL] [--capacity N] [--autofill] [--unschedulable]",
    summary: "register a host",
    options: { type: { type: "string" }, "daemon-url": { type: "string" }, capacity: { type: "string" }, autofill: { type: "boolean" }, unschedulable: { type: "boolean" } },
    async run(ctx) {
      const [name] = positional(ctx, ["NAME"], `hosts add ${this.usage}`);
      const capacity = intFlag(ctx, "capacity");
      const body: Record<string, unknown> = {
        name,
        ...(ctx.flags["type"] !== undefined && { type: ctx.flags["type"] }),
        ...(ctx.flags["daemon-url"] !== undefined && { daemon_url: ctx.flags["daemon-url"] }),
        ...(capacity !== undefined && { capacity }),
        autofill: ctx.flags["autofill"] === true,
        schedulable: ctx.flags["unschedulable"] !== true,
      };
      const host = await ctx.client().call<HostView>("POST", "/api/host", body);
      ctx.io.out(ctx.json ? json(host) : `host ${host.name} added: ${host.id}\n`);
      return EXIT.OK;
    },
  },

  "hosts rm": {
    usage: "HOST",
    summary: "remove a host that holds no cluster in use",
    async run(ctx) {
      const [ref] = positional(ctx, ["HOST"], "hosts rm HOST");
      const host = await findHost(ctx, ref!);
      await ctx.client().call("DELETE", "/api/host", { id: host.id });
      ctx.io.out(ctx.json ? json({ removed: host.id }) : `host ${host.name} removed\n`);
      return EXIT.OK;
    },
  },

  "hosts fillup": {
    usage: "HOST [--no-wait] [--timeout S]",
    summary: "create clusters up to capacity; shows progress until all are ready",
    options: WAIT_OPTIONS,
    async run(ctx) {
      const [ref] = positional(ctx, ["HOST"], "hosts fillup HOST");
      const host = await findHost(ctx, ref!);
      const { created } = await ctx.client().call<{ created: string[] }>("POST", "/api/host_op", { id: host.id, action: "fillup" });
      if (!ctx.json) ctx.io.err(`fillup ${host.name}: ${created.length} clusters asked for\n`);
      const clusters = ctx.flags["no-wait"] ? undefined : await waitForPool(ctx, host.id, { label: `fillup ${host.name}`, ready: host.capacity });
      if (ctx.json) ctx.io.out(json({ host: host.id, created, ready: clusters?.length }));
      return EXIT.OK;
    },
  },

  "hosts clean": {
    usage: "HOST [--no-wait] [--timeout S]",
    summary: "turn autofill off and delete the host's free clusters",
    options: WAIT_OPTIONS,
    async run(ctx) {
      const [ref] = positional(ctx, ["HOST"], "hosts clean HOST");
      const host = await findHost(ctx, ref!);
      const { deleted } = await ctx.client().call<{ deleted: string[] }>("POST", "/api/host_op", { id: host.id, action: "clean" });
      if (!ctx.json) ctx.io.err(`clean ${host.name}: ${deleted.length} free clusters to delete\n`);
      if (!ctx.flags["no-wait"]) await waitForPool(ctx, host.id, { label: `clean ${host.name}`, gone: new Set(deleted), ready: 0 });
      if (ctx.json) ctx.io.out(json({ host: host.id, deleted }));
      return EXIT.OK;
    },
  },

  "hosts reset": {
    usage: "HOST [--no-wait] [--timeout S]",
    summary: "delete every cluster on the host; with autofill on, shows progress until it is full again",
    options: WAIT_OPTIONS,
    async run(ctx) {
      const [ref] = positional(ctx, ["HOST"], "hosts reset HOST");
      const host = await findHost(ctx, ref!);
      const { deleted } = await ctx.client().call<{ deleted: string[] }>("POST", "/api/host_op", { id: host.id, action: "reset" });
      if (!ctx.json) ctx.io.err(`reset ${host.name}: ${deleted.length} clusters to delete\n`);
      if (!ctx.flags["no-wait"]) {
        await waitForPool(ctx, host.id, { label: `reset ${host.name}`, gone: new Set(deleted), ready: host.autofill ? host.capacity : 0 });
      }
      if (ctx.json) ctx.io.out(json({ host: host.id, deleted }));
      return EXIT.OK;
    },
  },
};
