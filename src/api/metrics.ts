import { Hono } from "hono";
import type { AppEnv } from "./env.ts";
import type { RouteDoc } from "./route-doc.ts";
import { onlyKeys, readInput } from "./input.ts";

export const metricsDocs: RouteDoc[] = [
  {
    method: "GET",
    path: "/metrics",
    summary: "Prometheus metrics (text format 0.0.4)",
    description: "Opens to operator keys and to api.metrics_keys.",
    access: "metrics",
    answer: { raw: "text/plain; version=0.0.4; charset=utf-8", description: "Prometheus text exposition" },
  },
];

export const metrics = new Hono<AppEnv>();

/**
 * GET /metrics: Prometheus text format. The pool's gauges are read from the store now;
 * counters and histograms hold what happened since the daemon started.
 */
metrics.get("/", async (c) => {
  onlyKeys(await readInput(c), [], "field");
  const { contentType, body } = await c.var.services.metrics.render();
  return c.body(body, 200, { "content-type": contentType, "cache-control": "no-store" });
});
