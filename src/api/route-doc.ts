import type * as v from "valibot";

/** Who may call a route: the key it needs beyond loopback. */
export type RouteAccess = "front" | "operator" | "metrics" | "public";

/** What a route answers. */
export type RouteAnswer =
  /** Cello's envelope whose `data` is this (a component name from openapi.ts, or a JSON Schema). */
  | { envelope: string | Record<string, unknown>; status?: number }
  /** A body of its own (an event stream, a file, text). */
  | { raw: string; description: string };

/**
 * One route as the OpenAPI document shows it, written beside its handler and holding the
 * very valibot schema the handler parses its input with, so the two cannot drift; a test
 * fails when a route of the app has no entry.
 */
export interface RouteDoc {
  method: "GET" | "POST" | "PUT" | "DELETE";
  /** The full path as the app registers it (`/api/host/:id`). */
  path: string;
  summary: string;
  description?: string;
  access: RouteAccess;
  /** Where the fields come from (the query string for GET, the body otherwise) and their schema. */
  input?: { in: "query" | "body"; schema: v.GenericSchema };
  /** Path parameters, by name. */
  params?: Record<string, string>;
  /** Headers the route reads, by name. */
  headers?: Record<string, string>;
  answer: RouteAnswer;
  /** Error statuses worth naming beyond 400/401/403 (e.g. 404, 409). */
  errors?: Record<number, string>;
}
