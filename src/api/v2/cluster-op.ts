import { Hono, type Context } from "hono";
import * as v from "valibot";
import { badRequest, ChainpoolError } from "../../core/errors.ts";
import { describeValue } from "../../core/values.ts";
import type { ApplyResult } from "../../services/metrics.ts";
import { CONSENSUS_MODES, CONSENSUS_PLUGINS } from "../../lib/node-config.ts";
import type { AppEnv } from "../env.ts";
import type { RouteDoc } from "../route-doc.ts";
import { ok } from "../envelope.ts";
import { boolField, choiceField, idField, intField, onlyKeys, parseInput, readInput } from "../input.ts";
import { clusterView } from "../views.ts";

const KEYS = ["action", "user_id", "cluster_id", "consensus_plugin", "consensus_mode", "size", "allow_multiple"] as const;
const ACTIONS = ["apply", "release", "start", "stop", "restart"] as const;

const ApplySchema = v.object({
  user_id: idField(),
  consensus_plugin: v.optional(choiceField(CONSENSUS_PLUGINS)),
  consensus_mode: v.optional(choiceField(CONSENSUS_MODES)),
  size: v.optional(intField(1, 64)),
  allow_multiple: v.optional(boolField(), false),
});

const ClusterIdSchema = v.object({ cluster_id: idField() });
const ReleaseUserSchema = v.object({ user_id: idField() });

/** Every action's fields at once, for the OpenAPI document; the handler parses each action with its own schema above. */
const ClusterOpSchema = v.variant("action", [
  v.object({ action: v.literal("apply"), ...ApplySchema.entries }),
  v.object({ action: v.literal("release"), cluster_id: v.optional(ClusterIdSchema.entries.cluster_id), user_id: v.optional(ReleaseUserSchema.entries.user_id) }),
  v.object({ action: v.picklist(["start", "stop", "restart"]), ...ClusterIdSchema.entries }),
]);

const OP_DESCRIPTION =
  "apply: hands a free matching cluster to user_id (with allow_multiple false, a matching one the user holds is answered again). " +
  "release: by cluster_id or by user_id (every cluster the user holds); the cluster is recycled. start, stop, restart: by cluster_id; the ledger is kept.";

export const clusterOpDocs: RouteDoc[] = (["GET", "POST"] as const).map((method) => ({
  method,
  path: "/v2/cluster_op",
  summary: `Apply for, release, start, stop or restart a cluster${method === "GET" ? " (fields in the query string)" : " (fields in the body)"}`,
  description: OP_DESCRIPTION,
  access: "front",
  input: { in: method === "GET" ? "query" : "body", schema: ClusterOpSchema },
  answer: { envelope: "Cluster" },
  errors: { 404: "no free cluster matches (apply), or no such cluster", 409: "pool.max_clusters_per_user reached, or the cluster is not held / busy", 429: "api.apply_rate_per_key passed (Retry-After)" },
}));

/** GET /v2/cluster_op?action=... and POST /v2/cluster_op {action, ...}. */
export const clusterOp = new Hono<AppEnv>();

clusterOp.on(["GET", "POST"], "/", async (c) => {
  const input = await readInput(c);
  onlyKeys(input, KEYS, "field");
  const action = input["action"];
  if (action === undefined || action === "") throw badRequest("action: missing");
  if (typeof action !== "string" || !(ACTIONS as readonly string[]).includes(action)) {
    throw badRequest(`action: Unknown action type ${describeValue(action)} (accepted: ${ACTIONS.join(", ")})`);
  }
  const { pool, store, metrics } = c.var.services;
  switch (action as (typeof ACTIONS)[number]) {
    case "apply": {
      const started = performance.now();
      try {
        const answer = apply(c, input);
        metrics.observeApply("ok", (performance.now() - started) / 1000);
        return answer;
      } catch (err) {
        metrics.observeApply(applyResult(err), (performance.now() - started) / 1000);
        throw err;
      }
    }
    case "release": {
      const hasCluster = input["cluster_id"] !== undefined;
      const hasUser = input["user_id"] !== undefined;
      if (hasCluster === hasUser) throw badRequest("cluster_id: give either cluster_id or user_id to release");
      if (hasCluster) {
        pool.releaseCluster(parseInput(ClusterIdSchema, input).cluster_id);
        return ok(c, "");
      }
      const { user_id } = parseInput(ReleaseUserSchema, input);
      const released = pool.releaseUser(user_id);
      return ok(c, { released });
    }
    case "start":
    case "stop":
    case "restart": {
      const { cluster_id } = parseInput(ClusterIdSchema, input);
      const cluster = await pool.operate(cluster_id, action as "start" | "stop" | "restart");
      return ok(c, clusterView(cluster, store.getHost(cluster.host_id), { daemonUrl: c.var.showDaemonUrl }));
    }
  }
});

/** An apply: one claim transaction; answers the cluster (a matching one the user holds again, unless allow_multiple). */
function apply(c: Context<AppEnv>, input: Record<string, unknown>) {
  const { pool, store } = c.var.services;
  // An empty filter means "any", as Cello's front pages sent it.
  for (const key of ["consensus_plugin", "consensus_mode", "size"]) if (input[key] === "") delete input[key];
  const req = parseInput(ApplySchema, input);
  const wait = c.var.applyLimiter?.take(c.var.caller) ?? 0;
  if (wait > 0) {
    const seconds = Math.ceil(wait);
    c.header("retry-after", String(seconds));
    throw new ChainpoolError("RATE_LIMITED", `action: apply is limited to ${c.var.applyLimiter!.perSecond} per second per API key (api.apply_rate_per_key); retry in ${seconds} s`);
  }
  // noops has no modes: a mode sent with noops does not narrow the match.
  const mode = req.consensus_plugin === "noops" ? undefined : req.consensus_mode;
  const cluster = pool.apply({
    user_id: req.user_id,
    allow_multiple: req.allow_multiple,
    ...(req.consensus_plugin !== undefined && { consensus_plugin: req.consensus_plugin }),
    ...(mode !== undefined && { consensus_mode: mode }),
    ...(req.size !== undefined && { size: req.size }),
  });
  return ok(c, clusterView(cluster, store.getHost(cluster.host_id), { daemonUrl: c.var.showDaemonUrl }));
}

/** The metrics' name for how an apply failed. */
function applyResult(err: unknown): ApplyResult {
  if (!(err instanceof ChainpoolError)) return "error";
  switch (err.code) {
    case "NO_CLUSTER_AVAILABLE":
      return "none_available";
    case "CONFLICT":
      return "user_limit";
    case "RATE_LIMITED":
      return "rate_limited";
    case "BAD_REQUEST":
      return "bad_request";
    default:
      return "error";
  }
}
