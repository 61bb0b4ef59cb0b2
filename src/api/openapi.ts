import { toJsonSchema } from "@valibot/to-json-schema";
import type { RouteAccess, RouteDoc } from "./route-doc.ts";

type JsonSchema = Record<string, unknown>;
export type OpenApiDocument = Record<string, unknown> & { openapi: string; paths: Record<string, Record<string, Record<string, unknown>>> };

/** The answers' shapes, as clusterView, hostView and the event log make them. */
const COMPONENT_SCHEMAS: Record<string, JsonSchema> = {
  Failure: {
    type: "object",
    description: "Cello's envelope for a refusal: `error` starts with the field or id it is about.",
    properties: { code: { type: "integer" }, status: { const: "FAIL" }, error: { type: "string" }, data: { type: "object" } },
    required: ["code", "status", "error", "data"],
  },
  Cluster: {
    type: "object",
    properties: {
      id: { type: "string" },
      name: { type: "string" },
      user_id: { type: "string", description: "\"\" when free" },
      api_url: { type: "string", description: "vp0's URL, with the cluster's URL secret as its path" },
      daemon_url: { type: "string" },
      worker_api: { type: "string" },
      consensus_plugin: { enum: ["noops", "pbft"] },
      consensus_mode: { enum: ["", "classic", "batch"] },
      size: { type: "integer" },
      host_id: { type: "string" },
      service_url: { type: "object", additionalProperties: { type: "string" }, description: "every node's URL, vp0..vpN-1" },
      status: { enum: ["creating", "running", "stopped", "deleting"] },
      health: { enum: ["", "OK", "FAIL"] },
      apply_ts: { type: "string", description: "\"\" when free" },
      create_ts: { type: "string" },
    },
  },
  ReleasedCluster: {
    type: "object",
    properties: {
      cluster_id: { type: "string" },
      cluster_name: { type: "string" },
      host_id: { type: "string" },
      user_id: { type: "string" },
      consensus_plugin: { type: "string" },
      consensus_mode: { type: "string" },
      size: { type: "integer" },
      apply_ts: { type: "string" },
      release_ts: { type: "string" },
      duration_s: { type: "number" },
    },
  },
  Host: {
    type: "object",
    properties: {
      id: { type: "string" },
      name: { type: "string" },
      type: { enum: ["local", "docker", "swarm", "memory"] },
      daemon_url: { type: "string" },
      worker_api: { type: "string" },
      capacity: { type: "integer" },
      clusters: { type: "integer" },
      autofill: { type: "boolean" },
      schedulable: { type: "boolean" },
      log_level: { type: "string" },
      status: { enum: ["active", "inactive"] },
      params: { type: "object" },
      create_ts: { type: "string" },
    },
  },
  PoolEvent: {
    type: "object",
    properties: {
      id: { type: "integer", description: "increasing, never reused: resume after the last one seen" },
      ts: { type: "string" },
      level: { enum: ["info", "warn"] },
      kind: { type: "string", description: "cluster.created, cluster.applied, cluster.released, ... (see the README)" },
      host_id: { type: ["string", "null"] },
      cluster_id: { type: ["string", "null"] },
      user_id: { type: ["string", "null"] },
      message: { type: "string" },
      data: { type: "object" },
    },
    required: ["id", "ts", "level", "kind", "host_id", "cluster_id", "user_id", "message", "data"],
  },
};

const SECURITY: Record<RouteAccess, Array<Record<string, string[]>>> = {
  front: [{ frontKey: [] }, { operatorKey: [] }],
  operator: [{ operatorKey: [] }],
  metrics: [{ metricsKey: [] }, { operatorKey: [] }],
  public: [],
};

/** A valibot schema as JSON Schema 2020-12 (what OpenAPI 3.1 speaks): the type it checks, less the checks JSON Schema cannot say. */
function jsonSchemaOf(schema: Parameters<typeof toJsonSchema>[0]): JsonSchema {
  const { $schema: _dialect, ...rest } = toJsonSchema(schema, { target: "draft-2020-12", typeMode: "output", errorMode: "ignore" }) as JsonSchema;
  return rest;
}

/** An object schema's fields, or a union's fields merged (required where every member requires it): query parameters are flat. */
function flatFields(schema: JsonSchema): { properties: Record<string, JsonSchema>; required: Set<string> } {
  const members = (schema["anyOf"] ?? schema["oneOf"]) as JsonSchema[] | undefined;
  if (!members) {
    return { properties: (schema["properties"] ?? {}) as Record<string, JsonSchema>, required: new Set((schema["required"] ?? []) as string[]) };
  }
  const parts = members.map(flatFields);
  const properties: Record<string, JsonSchema> = {};
  for (const name of new Set(parts.flatMap((p) => Object.keys(p.properties)))) {
    const variants = parts.map((p) => p.properties[name]).filter((s): s is JsonSchema => s !== undefined);
    const consts = variants.flatMap((s) => (s["const"] !== undefined ? [s["const"]] : Array.isArray(s["enum"]) ? (s["enum"] as unknown[]) : [null]));
    properties[name] = consts.every((c) => c !== null) ? { type: "string", enum: [...new Set(consts)] } : variants[0]!;
  }
  const required = new Set(Object.keys(properties).filter((name) => parts.every((p) => p.required.has(name))));
  return { properties, required };
}

const VALUES_NOTE = "Numbers and booleans may be sent as JSON values or as text (\"4\", \"False\"); values are taken exactly as sent.";

function operation(route: RouteDoc): Record<string, unknown> {
  const parameters: Array<Record<string, unknown>> = [];
  for (const [name, description] of Object.entries(route.params ?? {})) parameters.push({ name, in: "path", required: true, description, schema: { type: "string" } });
  let requestBody: Record<string, unknown> | undefined;
  if (route.input) {
    const schema = jsonSchemaOf(route.input.schema);
    if (route.input.in === "query") {
      const { properties, required } = flatFields(schema);
      for (const [name, s] of Object.entries(properties)) {
        const { description, ...rest } = s as { description?: string };
        parameters.push({ name, in: "query", required: required.has(name), ...(description !== undefined && { description }), schema: rest });
      }
    } else {
      requestBody = {
        required: true,
        description: VALUES_NOTE,
        content: Object.fromEntries(["application/json", "application/x-www-form-urlencoded", "multipart/form-data"].map((type) => [type, { schema }])),
      };
    }
  }
  for (const [name, description] of Object.entries(route.headers ?? {})) parameters.push({ name, in: "header", required: false, description, schema: { type: "string" } });

  const answer = route.answer;
  const status = "raw" in answer ? "200" : String(answer.status ?? 200);
  const ok =
    "raw" in answer
      ? { description: answer.description, content: { [answer.raw]: { schema: { type: "string" } } } }
      : {
          description: "Cello's envelope; `data` holds the answer",
          content: {
            "application/json": {
              schema: {
                type: "object",
                properties: {
                  code: { type: "integer" },
                  status: { const: "OK" },
                  error: { const: "" },
                  data: typeof answer.envelope === "string" ? { $ref: `#/components/schemas/${answer.envelope}` } : answer.envelope,
                },
                required: ["code", "status", "error", "data"],
              },
            },
          },
        };
  if (route.path === "/api/events") {
    (ok.content as Record<string, unknown>)["text/event-stream"] = { schema: { type: "string", description: "id: EVENT_ID / data: PoolEvent JSON, one message per event" } };
  }
  const failure = (description: string) => ({ description, content: { "application/json": { schema: { $ref: "#/components/schemas/Failure" } } } });
  const responses: Record<string, unknown> = { [status]: ok, "400": failure("bad input: the error names the field, and nothing changed") };
  if (route.access !== "public") {
    responses["401"] = failure("API key missing or not recognised");
    responses["403"] = failure("a key that does not open this route");
  }
  for (const [code, description] of Object.entries(route.errors ?? {})) responses[code] = failure(description);
  return {
    operationId: `${route.method.toLowerCase()}${route.path.replace(/[/:_]+(\w)/g, (_m, ch: string) => ch.toUpperCase())}`,
    summary: route.summary,
    ...(route.description !== undefined && { description: route.description }),
    tags: [route.path.startsWith("/v2") ? "front (/v2)" : route.path === "/metrics" ? "monitoring" : "operator (/api)"],
    security: SECURITY[route.access],
    ...(parameters.length > 0 && { parameters }),
    ...(requestBody && { requestBody }),
    responses,
  };
}

/** `/api/host/:id` as OpenAPI writes it: `/api/host/{id}`. */
export const openApiPath = (path: string) => path.replace(/:(\w+)/g, "{$1}");

/**
 * The OpenAPI 3.1 document of the routes given, their inputs converted from the valibot
 * schemas the handlers parse with (@valibot/to-json-schema, JSON Schema 2020-12).
 */
export function openApiDocument(options: { version: string; routes: readonly RouteDoc[] }): OpenApiDocument {
  const paths: OpenApiDocument["paths"] = {};
  for (const route of options.routes) {
    const item = (paths[openApiPath(route.path)] ??= {});
    item[route.method.toLowerCase()] = operation(route);
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "chainpool",
      version: options.version,
      description:
        "A pool of ready blockchain clusters behind Hyperledger Cello's REST API v2. /v2 is the front API (front or operator key), " +
        "/api the operator API (operator key), /metrics Prometheus (operator or metrics key). With no keys configured the daemon " +
        "serves loopback only and asks for none. " + VALUES_NOTE,
      license: { name: "Apache-2.0", identifier: "Apache-2.0" },
    },
    tags: [
      { name: "front (/v2)", description: "For front web services: apply, release, list." },
      { name: "operator (/api)", description: "Hosts, clusters, events, backup, shutdown." },
      { name: "monitoring", description: "Prometheus." },
    ],
    paths,
    components: {
      schemas: COMPONENT_SCHEMAS,
      securitySchemes: {
        frontKey: { type: "http", scheme: "bearer", description: "a key from api.front_keys: /v2 only" },
        operatorKey: { type: "http", scheme: "bearer", description: "a key from api.operator_keys: /v2, /api and /metrics" },
        metricsKey: { type: "http", scheme: "bearer", description: "a key from api.metrics_keys: /metrics only" },
      },
    },
  };
}
