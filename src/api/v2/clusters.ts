import { Hono } from "hono";
import * as v from "valibot";
import { CLUSTER_STATUSES, HEALTHS } from "../../core/types.ts";
import { CONSENSUS_MODES, CONSENSUS_PLUGINS } from "../../lib/node-config.ts";
import type { ClusterFilter } from "../../store/pool-store.ts";
import type { AppEnv } from "../env.ts";
import type { RouteDoc } from "../route-doc.ts";
import { ok } from "../envelope.ts";
import { choiceField, definedOnly, exactString, idField, intField, onlyKeys, parseInput, readInput } from "../input.ts";
import { clusterView } from "../views.ts";
import { badRequest } from "../../core/errors.ts";

/** The only filters /clusters takes; Cello passed whatever came straight to MongoDB. */
const FILTER_KEYS = ["consensus_plugin", "consensus_mode", "size", "user_id", "user", "host_id", "status", "health"] as const;

const FilterSchema = v.object({
  consensus_plugin: v.optional(choiceField(CONSENSUS_PLUGINS)),
  consensus_mode: v.optional(choiceField(CONSENSUS_MODES)),
  size: v.optional(intField(1, 64)),
  // "" selects free clusters; any other user id is taken exactly, as apply takes it.
  user_id: v.optional(exactString(128)),
  host_id: v.optional(idField()),
  status: v.optional(choiceField(CLUSTER_STATUSES)),
  health: v.optional(choiceField(HEALTHS)),
});

export const clustersDocs: RouteDoc[] = [
  ...(["GET", "POST"] as const).map(
    (method): RouteDoc => ({
      method,
      path: "/v2/clusters",
      summary: `The clusters matching every filter given${method === "GET" ? " (query string)" : " (body)"}`,
      description: "user_id \"\" selects free clusters; `user` is taken for user_id. Any other filter is a 400.",
      access: "front",
      input: { in: method === "GET" ? "query" : "body", schema: FilterSchema },
      answer: { envelope: { type: "array", items: { $ref: "#/components/schemas/Cluster" } } },
    }),
  ),
  {
    method: "GET",
    path: "/v2/cluster/:id",
    summary: "One cluster",
    access: "front",
    params: { id: "the cluster's id" },
    answer: { envelope: "Cluster" },
    errors: { 404: "no such cluster" },
  },
];

/** GET /v2/clusters?... and POST /v2/clusters {...}. */
export const clusters = new Hono<AppEnv>();

clusters.on(["GET", "POST"], "/", async (c) => {
  const input = await readInput(c);
  onlyKeys(input, FILTER_KEYS, "filter");
  if ("user" in input) {
    if ("user_id" in input) throw badRequest("user: give user or user_id, not both");
    input["user_id"] = input["user"];
    delete input["user"];
  }
  const filter: ClusterFilter = definedOnly(parseInput(FilterSchema, input));
  const { pool, store } = c.var.services;
  const hosts = new Map(store.listHosts().map((h) => [h.id, h] as const));
  return ok(c, pool.list(filter).map((cl) => clusterView(cl, hosts.get(cl.host_id), { daemonUrl: c.var.showDaemonUrl })));
});

/** GET /v2/cluster/<id>. */
export const cluster = new Hono<AppEnv>();

cluster.get("/:id", (c) => {
  const { pool, store } = c.var.services;
  const found = pool.get(c.req.param("id"));
  return ok(c, clusterView(found, store.getHost(found.host_id), { daemonUrl: c.var.showDaemonUrl }));
});
