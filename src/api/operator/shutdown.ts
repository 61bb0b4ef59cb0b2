import { Hono } from "hono";
import { realpathSync } from "node:fs";
import { resolve } from "node:path";
import * as v from "valibot";
import { conflict } from "../../core/errors.ts";
import type { AppEnv } from "../env.ts";
import type { RouteDoc } from "../route-doc.ts";
import { ok } from "../envelope.ts";
import { boolField, idField, onlyKeys, parseInput, readInput } from "../input.ts";

const ShutdownSchema = v.object({
  /** Stop the local hosts' nodes too (`chainpool down`); default: they keep running for the next start to adopt. */
  stop_local_nodes: v.optional(boolField(), false),
  /** The data directory the caller means (absolute); a daemon serving another one refuses, changing nothing. */
  data_dir: v.optional(idField(4096)),
});

const real = (path: string) => {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
};

export const shutdownDocs: RouteDoc[] = [
  {
    method: "POST",
    path: "/api/shutdown",
    summary: "Stop the daemon as on SIGTERM (with stop_local_nodes, its local clusters' nodes too)",
    access: "operator",
    input: { in: "body", schema: ShutdownSchema },
    answer: { envelope: { type: "object" } },
    errors: { 409: "data_dir names another daemon's directory, or the daemon runs inside another program" },
  },
];

export const shutdown = new Hono<AppEnv>();

/**
 * POST /api/shutdown {stop_local_nodes?, data_dir?}: the daemon stops as on SIGTERM (requests
 * in flight finish, work in flight gets its grace) and exits 0. With stop_local_nodes, the
 * nodes of its local clusters are killed too once the database is closed; each running local
 * cluster is first given the op `start`, so the next start brings it back on its ledger.
 * Docker and swarm clusters are left running either way: the next start adopts them by label.
 * Answers before stopping, with what it is about to do.
 */
shutdown.post("/shutdown", async (c) => {
  const input = await readInput(c);
  onlyKeys(input, ["stop_local_nodes", "data_dir"], "field");
  const req = parseInput(ShutdownSchema, input);
  const { shutdown: control, store } = c.var.services;
  if (req.data_dir !== undefined && real(req.data_dir) !== real(control.dataDir)) {
    throw conflict(`data_dir: this daemon's data directory is ${control.dataDir}, not ${req.data_dir}`);
  }
  const local = new Set(store.listHosts().filter((h) => h.type === "local").map((h) => h.id));
  const otherClusters = store.listClusters({ status: "running" }).filter((cl) => !local.has(cl.host_id)).length;
  const localNodes = control.localNodes.count();
  const requestId = c.get("requestId");
  if (!control.request({ stopLocalNodes: req.stop_local_nodes, requestId })) {
    throw conflict("shutdown: this daemon runs inside another program, not as a chainpool serve process; stop that program");
  }
  return ok(c, {
    stopping: true,
    pid: process.pid,
    data_dir: control.dataDir,
    local_nodes: { ...localNodes, action: req.stop_local_nodes ? "stop" : "keep" },
    other_clusters_running: otherClusters,
  });
});
