import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { randomUUID } from "node:crypto";
import { authenticate, keyMatcher, type AuthOptions } from "./api/auth.ts";
import { RateLimiter } from "./api/rate-limit.ts";
import type { AppEnv, Services } from "./api/env.ts";
import { failBody, ok } from "./api/envelope.ts";
import { metrics, metricsDocs } from "./api/metrics.ts";
import { ClientClosedError } from "./api/input.ts";
import { backup, backupDocs } from "./api/operator/backup.ts";
import { hosts, hostsDocs } from "./api/operator/hosts.ts";
import { operatorClusters, operatorClustersDocs } from "./api/operator/clusters.ts";
import { events, eventsDocs } from "./api/operator/events.ts";
import { openApiDocs, openApiRoutes } from "./api/operator/openapi.ts";
import { shutdown, shutdownDocs } from "./api/operator/shutdown.ts";
import type { RouteDoc } from "./api/route-doc.ts";
import { clusterOp, clusterOpDocs } from "./api/v2/cluster-op.ts";
import { cluster, clusters, clustersDocs } from "./api/v2/clusters.ts";
import { createConsole, type ConsoleOptions } from "./console/console-app.tsx";
import { ChainpoolError, httpStatus } from "./core/errors.ts";

export interface AppOptions {
  services: Services;
  auth: AuthOptions;
  /** Largest request body accepted, in bytes. */
  maxBodyBytes: number;
  /** Applies per second per API key; 0 or absent: no limit. */
  applyRatePerKey?: number;
  /** Whether /v2 answers show the host's daemon_url and worker_api; default true (Cello's answers did). */
  showDaemonUrl?: boolean;
  /** Milliseconds between heartbeats on GET /api/events streams; default 15 s. */
  eventHeartbeatMs?: number;
  /** The operator console at `/` (its sessions and live feed); absent: no console. */
  console?: Omit<ConsoleOptions, "keys">;
}

const healthDocs: RouteDoc[] = [
  { method: "GET", path: "/api/health", summary: "Liveness and version (no key needed)", access: "public", answer: { envelope: { type: "object", properties: { status: { const: "OK" }, version: { type: "string" } } } } },
];

/** Every route of the APIs, as GET /api/openapi.json documents them (a test checks none is missing). */
export const ROUTE_DOCS: readonly RouteDoc[] = [
  ...clusterOpDocs,
  ...clustersDocs,
  ...healthDocs,
  ...hostsDocs,
  ...operatorClustersDocs,
  ...backupDocs,
  ...shutdownDocs,
  ...eventsDocs,
  ...openApiDocs,
  ...metricsDocs,
];

/** The Hono app: middleware, the one error mapping, and the two APIs' routes. */
export function createApp(options: AppOptions): Hono<AppEnv> {
  const { services } = options;
  const app = new Hono<AppEnv>();
  const log = services.logger;
  const applyLimiter = options.applyRatePerKey ? new RateLimiter({ perSecond: options.applyRatePerKey }) : undefined;

  app.use(async (c, next) => {
    c.set("services", services);
    c.set("maxBodyBytes", options.maxBodyBytes);
    c.set("applyLimiter", applyLimiter);
    c.set("showDaemonUrl", options.showDaemonUrl ?? true);
    c.set("eventHeartbeatMs", options.eventHeartbeatMs ?? 15_000);
    const requestId = c.req.header("x-request-id")?.slice(0, 64) || randomUUID();
    c.set("requestId", requestId);
    c.header("x-request-id", requestId);
    const started = performance.now();
    await next();
    // One line per request; health checks only at debug, they come every few seconds.
    const line = { request_id: requestId, method: c.req.method, path: c.req.path, status: c.res.status, ms: Math.round((performance.now() - started) * 10) / 10 };
    if (c.req.path === "/api/health") log.debug("request", line);
    else log.info("request", line);
  });

  // Hono answers HEAD with the GET handler and drops the body: on a route whose GET acts
  // (cluster_op hands out and releases clusters; backup copies the database) that would do
  // the work for a reply no one reads. Those answer 405 to HEAD and do nothing.
  for (const [path, allow] of [["/v2/cluster_op", "GET, POST"], ["/api/backup", "GET"]] as const) {
    app.use(path, async (c, next) => {
      if (c.req.method !== "HEAD") return next();
      return c.json(failBody(405, `method: HEAD is not taken on ${path}, whose GET acts; send ${allow.replace(", ", " or ")}`), 405, { allow });
    });
  }

  app.get("/api/health", (c) => ok(c, { status: "OK", version: services.version }));

  app.use("/v2/*", authenticate(options.auth, "front"));
  app.route("/v2/cluster_op", clusterOp);
  app.route("/v2/clusters", clusters);
  app.route("/v2/cluster", cluster);

  app.use("/metrics", authenticate(options.auth, "metrics"));
  app.route("/metrics", metrics);

  app.use("/api/*", authenticate(options.auth, "operator"));
  app.route("/api", hosts);
  app.route("/api", operatorClusters);
  app.route("/api", backup);
  app.route("/api", shutdown);
  app.route("/api", events);
  app.route("/api", openApiRoutes({ version: services.version, routes: ROUTE_DOCS }));

  // The console last: its pages sit at `/`, beside (never inside) /v2 and /api.
  if (options.console) app.route("/", createConsole({ ...options.console, keys: keyMatcher(options.auth) }) as unknown as Hono<AppEnv>);

  app.notFound((c) => c.json(failBody(404, `no route for ${c.req.method} ${new URL(c.req.url).pathname}`), 404));

  app.onError((err, c) => {
    if (err instanceof ClientClosedError) {
      // Not a fault here: a client that hung up mid-body, or one too slow for the listener's timeout.
      log.warn("client closed the connection before the body arrived", { request_id: c.get("requestId"), method: c.req.method, path: c.req.path, reason: (err.cause as Error | undefined)?.message ?? err.message });
      return c.json(failBody(400, `body: ${err.message}`), 400);
    }
    if (err instanceof ChainpoolError) {
      const status = httpStatus(err.code);
      if (status >= 500) log.error("request failed", { request_id: c.get("requestId"), path: c.req.path, err });
      return c.json(failBody(status, err.message), status);
    }
    if (err instanceof HTTPException) {
      const status = err.status as ContentfulStatusCode;
      return c.json(failBody(status, err.message || "request rejected"), status);
    }
    log.error("unexpected error", { request_id: c.get("requestId"), path: c.req.path, err, stack: (err as Error).stack });
    return c.json(failBody(500, `internal error (request ${c.get("requestId")})`), 500);
  });

  return app;
}
