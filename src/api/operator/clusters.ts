import { Hono } from "hono";
import * as v from "valibot";
import { CONSENSUS_MODES, CONSENSUS_PLUGINS } from "../../lib/node-config.ts";
import type { AppEnv } from "../env.ts";
import type { RouteDoc } from "../route-doc.ts";
import { ok } from "../envelope.ts";
import { choiceField, idField, intField, onlyKeys, parseInput, readInput } from "../input.ts";
import { clusterView } from "../views.ts";
import { badRequest } from "../../core/errors.ts";

const CreateSchema = v.object({
  /** Absent: the active schedulable host with the most room. */
  host_id: v.optional(idField()),
  consensus_plugin: v.optional(choiceField(CONSENSUS_PLUGINS), "noops"),
  consensus_mode: v.optional(choiceField(CONSENSUS_MODES), ""),
  size: v.optional(intField(1, 64), 4),
  name: v.optional(v.pipe(idField(63), v.regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, "letters, digits, '_', '.', '-' only"))),
});

const DeleteSchema = v.object({ id: idField() });
const RotateSchema = v.object({ id: idField(), action: choiceField(["rotate_secret"] as const) });
const ListSchema = v.object({
  state: v.optional(choiceField(["active", "released"] as const), "active"),
  user_id: v.optional(idField()),
});

export const operatorClustersDocs: RouteDoc[] = [
  {
    method: "POST",
    path: "/api/cluster",
    summary: "Create a cluster (answers at once, state creating)",
    description: "Without host_id, on the active schedulable host with the most room that runs the type.",
    access: "operator",
    input: { in: "body", schema: CreateSchema },
    answer: { envelope: "Cluster", status: 201 },
    errors: { 404: "no such host", 409: "the host is full, or no host runs the type" },
  },
  { method: "DELETE", path: "/api/cluster", summary: "Delete a cluster (a held one is released first)", access: "operator", input: { in: "body", schema: DeleteSchema }, answer: { envelope: "Cluster" }, errors: { 404: "no such cluster" } },
  {
    method: "POST",
    path: "/api/cluster_op",
    summary: "Give a cluster a new URL secret",
    description: "Answers the cluster with its new URLs once no node serves the old ones; the holder keeps it and its ledger.",
    access: "operator",
    input: { in: "body", schema: RotateSchema },
    answer: { envelope: "Cluster" },
    errors: { 404: "no such cluster", 409: "the cluster is busy, not running or stopped, or has no secret" },
  },
  { method: "GET", path: "/api/cluster/:id", summary: "One cluster", access: "operator", params: { id: "the cluster's id" }, answer: { envelope: "Cluster" }, errors: { 404: "no such cluster" } },
  {
    method: "GET",
    path: "/api/clusters",
    summary: "Clusters now (state=active), or the release history with durations (state=released)",
    access: "operator",
    input: { in: "query", schema: ListSchema },
    answer: { envelope: { type: "array", items: { oneOf: [{ $ref: "#/components/schemas/Cluster" }, { $ref: "#/components/schemas/ReleasedCluster" }] } } },
  },
  { method: "GET", path: "/api/stat", summary: "Counts of hosts and clusters by status, health, type and user", access: "operator", answer: { envelope: { type: "object" } } },
];

export const operatorClusters = new Hono<AppEnv>();

/** POST /api/cluster: create one on a host (or the one with most room); answers at once, state creating. */
operatorClusters.post("/cluster", async (c) => {
  const input = await readInput(c);
  onlyKeys(input, ["host_id", "consensus_plugin", "consensus_mode", "size", "name"], "field");
  const req = parseInput(CreateSchema, input);
  if (req.consensus_plugin === "noops" && req.consensus_mode !== "") throw badRequest("consensus_mode: noops takes no mode");
  if (req.consensus_plugin === "pbft") {
    if (req.consensus_mode === "") throw badRequest("consensus_mode: pbft needs classic or batch");
    if (req.size < 4) throw badRequest("size: pbft needs at least 4 nodes");
  }
  const { hosts, store } = c.var.services;
  const cluster = hosts.createCluster(req.host_id, { plugin: req.consensus_plugin, mode: req.consensus_mode, size: req.size }, req.name);
  return ok(c, clusterView(cluster, store.getHost(cluster.host_id)), 201);
});

/** DELETE /api/cluster {id} */
operatorClusters.delete("/cluster", async (c) => {
  const input = await readInput(c);
  onlyKeys(input, ["id"], "field");
  const { id } = parseInput(DeleteSchema, input);
  const { hosts, store } = c.var.services;
  const cluster = hosts.deleteCluster(id);
  return ok(c, clusterView(cluster, store.getHost(cluster.host_id)));
});

/**
 * POST /api/cluster_op {id, action: rotate_secret}: a fresh URL secret for the cluster; answers
 * the cluster with its new URLs once no node serves the old ones (the ledger is kept).
 */
operatorClusters.post("/cluster_op", async (c) => {
  const input = await readInput(c);
  onlyKeys(input, ["id", "action"], "field");
  const { id } = parseInput(RotateSchema, input);
  const { pool, store } = c.var.services;
  const cluster = await pool.rotateUrlSecret(id);
  return ok(c, clusterView(cluster, store.getHost(cluster.host_id)));
});

/** GET /api/cluster/<id> */
operatorClusters.get("/cluster/:id", (c) => {
  const { pool, store } = c.var.services;
  const cluster = pool.get(c.req.param("id"));
  return ok(c, clusterView(cluster, store.getHost(cluster.host_id)));
});

/** GET /api/clusters?state=active|released[&user_id=...] */
operatorClusters.get("/clusters", async (c) => {
  const input = await readInput(c);
  onlyKeys(input, ["state", "user_id"], "filter");
  const q = parseInput(ListSchema, input);
  const { store } = c.var.services;
  if (q.state === "released") {
    return ok(c, store.listReleased(q.user_id === undefined ? {} : { user_id: q.user_id }));
  }
  const hosts = new Map(store.listHosts().map((h) => [h.id, h] as const));
  const list = store.listClusters(q.user_id === undefined ? {} : { user_id: q.user_id });
  return ok(c, list.map((cl) => clusterView(cl, hosts.get(cl.host_id))));
});

/** GET /api/stat */
operatorClusters.get("/stat", (c) => ok(c, c.var.services.store.stats()));
