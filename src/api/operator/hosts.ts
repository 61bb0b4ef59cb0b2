import { Hono } from "hono";
import * as v from "valibot";
import { badRequest } from "../../core/errors.ts";
import { HOST_LOG_LEVELS, HOST_TYPES } from "../../core/types.ts";
import { describeValue, isPlainObject } from "../../core/values.ts";
import type { HostPatch, NewHost } from "../../store/pool-store.ts";
import type { AppEnv } from "../env.ts";
import type { RouteDoc } from "../route-doc.ts";
import { ok } from "../envelope.ts";
import { boolField, choiceField, definedOnly, idField, intField, onlyKeys, parseInput, readInput } from "../input.ts";
import { hostView } from "../views.ts";

const HOST_FIELDS = ["name", "type", "daemon_url", "worker_api", "capacity", "autofill", "schedulable", "log_level", "params"] as const;

const name = () =>
  v.pipe(idField(63), v.regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, "letters, digits, '_', '.', '-' only, starting with a letter or digit"));
const daemonUrl = () => v.pipe(v.string("expected a string"), v.maxLength(512, "must be at most 512 characters"));
/** An object; which params it may hold is the host type's rule (core/host-params.ts, checked by the host service). */
const params = () => v.custom<Record<string, unknown>>(isPlainObject, (i) => `expected an object, got ${describeValue(i.input)}`);

const AddSchema = v.object({
  name: name(),
  type: v.optional(choiceField(HOST_TYPES), "local"),
  daemon_url: v.optional(daemonUrl(), ""),
  capacity: v.optional(intField(0, 10_000), 4),
  autofill: v.optional(boolField(), false),
  schedulable: v.optional(boolField(), true),
  log_level: v.optional(choiceField(HOST_LOG_LEVELS), "INFO"),
  params: v.optional(params(), {}),
});

const UpdateSchema = v.object({
  id: idField(),
  name: v.optional(name()),
  daemon_url: v.optional(daemonUrl()),
  capacity: v.optional(intField(0, 10_000)),
  autofill: v.optional(boolField()),
  schedulable: v.optional(boolField()),
  log_level: v.optional(choiceField(HOST_LOG_LEVELS)),
  params: v.optional(params()),
});

/** `worker_api` is Cello 0.9's name for `daemon_url`: take either. */
function aliasWorkerApi(input: Record<string, unknown>): void {
  if (input["worker_api"] === undefined) return;
  if (input["daemon_url"] !== undefined) throw badRequest("worker_api: give daemon_url or worker_api, not both");
  input["daemon_url"] = input["worker_api"];
  delete input["worker_api"];
}

/**
 * The fields of a new host, checked as POST /api/host checks them (the console's form goes
 * through here too); the host type's own rules are the host service's.
 */
export function parseNewHost(input: Record<string, unknown>): NewHost {
  onlyKeys(input, HOST_FIELDS, "host field");
  aliasWorkerApi(input);
  return parseInput(AddSchema, input);
}

/** The id and changed fields of a host update, checked as PUT /api/host checks them. */
export function parseHostUpdate(input: Record<string, unknown>): { id: string; patch: HostPatch } {
  onlyKeys(input, ["id", ...HOST_FIELDS.filter((f) => f !== "type")], "host field");
  aliasWorkerApi(input);
  const { id, ...rest } = parseInput(UpdateSchema, input);
  return { id, patch: definedOnly(rest) };
}

const DeleteSchema = v.object({ id: idField() });
const HostOpSchema = v.object({ id: idField(), action: choiceField(["fillup", "clean", "reset"] as const) });

export const hostsDocs: RouteDoc[] = [
  { method: "GET", path: "/api/hosts", summary: "Every host", access: "operator", answer: { envelope: { type: "array", items: { $ref: "#/components/schemas/Host" } } } },
  { method: "GET", path: "/api/host/:id", summary: "One host", access: "operator", params: { id: "the host's id" }, answer: { envelope: "Host" }, errors: { 404: "no such host" } },
  {
    method: "POST",
    path: "/api/host",
    summary: "Add a host",
    description: "worker_api is taken for daemon_url. params hold only what the host's type reads (see the README).",
    access: "operator",
    input: { in: "body", schema: AddSchema },
    answer: { envelope: "Host", status: 201 },
    errors: { 409: "a host of that name exists" },
  },
  { method: "PUT", path: "/api/host", summary: "Change a host (its type stays)", access: "operator", input: { in: "body", schema: UpdateSchema }, answer: { envelope: "Host" }, errors: { 404: "no such host", 409: "capacity below the clusters it holds, or the name is taken" } },
  { method: "DELETE", path: "/api/host", summary: "Remove an empty host", access: "operator", input: { in: "body", schema: DeleteSchema }, answer: { envelope: { type: "string" } }, errors: { 404: "no such host", 409: "it still holds clusters" } },
  {
    method: "POST",
    path: "/api/host_op",
    summary: "fillup (create up to capacity), clean (delete the free clusters, autofill off) or reset (delete every cluster) a host",
    access: "operator",
    input: { in: "body", schema: HostOpSchema },
    answer: { envelope: { type: "object", properties: { created: { type: "array", items: { type: "string" } }, deleted: { type: "array", items: { type: "string" } } } } },
    errors: { 404: "no such host", 503: "the host is inactive, or its engine failed the reset (the reconciler finishes it)" },
  },
];

export const hosts = new Hono<AppEnv>();

/** GET /api/hosts */
hosts.get("/hosts", (c) => {
  const { hosts: svc, store } = c.var.services;
  return ok(c, svc.list().map((h) => hostView(h, store.countClustersOnHost(h.id))));
});

/** GET /api/host/<id> */
hosts.get("/host/:id", (c) => {
  const { hosts: svc, store } = c.var.services;
  const host = svc.get(c.req.param("id"));
  return ok(c, hostView(host, store.countClustersOnHost(host.id)));
});

/** POST /api/host: add a host; answers it with 201. */
hosts.post("/host", async (c) => {
  const spec = parseNewHost(await readInput(c));
  const { hosts: svc, watchdog } = c.var.services;
  const host = svc.add(spec);
  if (host.autofill) watchdog.autofill();
  return ok(c, hostView(host, 0), 201);
});

/** PUT /api/host {id, fields to change} */
hosts.put("/host", async (c) => {
  const { id, patch } = parseHostUpdate(await readInput(c));
  const { hosts: svc, store, watchdog } = c.var.services;
  const host = await svc.update(id, patch);
  if (host.autofill) watchdog.autofill();
  return ok(c, hostView(host, store.countClustersOnHost(host.id)));
});

/** DELETE /api/host {id} */
hosts.delete("/host", async (c) => {
  const input = await readInput(c);
  onlyKeys(input, ["id"], "field");
  const { id } = parseInput(DeleteSchema, input);
  await c.var.services.hosts.remove(id);
  return ok(c, "");
});

/** POST /api/host_op {id, action: fillup | clean | reset} */
hosts.post("/host_op", async (c) => {
  const input = await readInput(c);
  onlyKeys(input, ["id", "action"], "field");
  const { id, action } = parseInput(HostOpSchema, input);
  const svc = c.var.services.hosts;
  switch (action) {
    case "fillup":
      return ok(c, { created: svc.fillup(id).map((cl) => cl.id) });
    case "clean":
      return ok(c, { deleted: svc.clean(id) });
    case "reset":
      return ok(c, { deleted: await svc.reset(id) });
  }
});
