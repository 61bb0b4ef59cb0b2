import { Hono } from "hono";
import * as v from "valibot";
import { badRequest } from "../../core/errors.ts";
import { EVENT_KINDS, type EventKind } from "../../core/events.ts";
import type { AppEnv } from "../env.ts";
import type { RouteDoc } from "../route-doc.ts";
import { ok } from "../envelope.ts";
import { eventStream } from "../event-stream.ts";
import { boolField, choiceField, exactString, intField, onlyKeys, parseInput, readInput } from "../input.ts";

const MAX_ID = Number.MAX_SAFE_INTEGER;

/** `kinds=cluster.applied,cluster.released`: a comma-separated list of event kinds. */
const kindsField = () =>
  v.pipe(
    exactString(2000),
    v.transform((s) => s.split(",").filter((k) => k !== "")),
    v.check((kinds) => kinds.every((k) => (EVENT_KINDS as readonly string[]).includes(k)), (issue) => {
      const bad = (issue.input as string[]).filter((k) => !(EVENT_KINDS as readonly string[]).includes(k));
      return `unknown event kind ${JSON.stringify(bad[0])} (known: ${EVENT_KINDS.join(", ")})`;
    }),
    v.transform((kinds) => kinds as EventKind[]),
  );

/** GET /api/events: the query it takes (the OpenAPI document is made from this schema too). */
export const EventsQuerySchema = v.object({
  /** Events after this id; the stream's Last-Event-ID header, when sent, wins over it. */
  after: v.optional(intField(0, MAX_ID)),
  /** JSON list only: events before this id, to page back. */
  before: v.optional(intField(1, MAX_ID)),
  warnings_only: v.optional(boolField(), false),
  kinds: v.optional(kindsField()),
  /** JSON list only: most events answered. */
  limit: v.optional(intField(1, 1000), 100),
  /** `json` for the list; otherwise as the Accept header asks (text/event-stream unless application/json). */
  format: v.optional(choiceField(["json", "sse"] as const)),
});
export const EVENTS_QUERY_KEYS = ["after", "before", "warnings_only", "kinds", "limit", "format"] as const;

/** A Last-Event-ID header: an event id, as the stream sent it. */
function lastEventId(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  if (!/^\d{1,15}$/.test(header)) throw badRequest(`last-event-id: expected an event id (a whole number), got ${JSON.stringify(header.slice(0, 40))}`);
  return Number(header);
}

export const eventsDocs: RouteDoc[] = [
  {
    method: "GET",
    path: "/api/events",
    summary: "What the daemon did: Server-Sent Events (default), or a JSON list",
    description:
      "As a stream (Accept: text/event-stream, or no Accept): each event is a message whose id is the event id and whose data is the PoolEvent JSON; " +
      "history after `after` (or the Last-Event-ID header, which wins) comes first, then live events; without either, live events from now. " +
      "A comment line every 15 s; `event: truncated` first when the resume point is older than the log keeps. " +
      "As JSON (Accept: application/json, or format=json): a page of history, oldest first.",
    access: "operator",
    input: { in: "query", schema: EventsQuerySchema },
    headers: { "last-event-id": "resume after this event id (EventSource sends it when it reconnects)" },
    answer: { envelope: { type: "object", properties: { events: { type: "array", items: { $ref: "#/components/schemas/PoolEvent" } }, latest_id: { type: "integer" }, oldest_id: { type: "integer" } } } },
  },
];

export const events = new Hono<AppEnv>();

/**
 * GET /api/events: what the daemon did. As Server-Sent Events (the default, or Accept:
 * text/event-stream): history after `after` (or Last-Event-ID), then live events, with
 * heartbeats; with no resume point, live events from now. As JSON (Accept: application/json
 * or format=json): a page of history, oldest first.
 */
events.get("/events", async (c) => {
  const input = await readInput(c);
  onlyKeys(input, EVENTS_QUERY_KEYS, "field");
  const query = parseInput(EventsQuerySchema, input);
  const feed = c.var.services.events;
  const filter = { warningsOnly: query.warnings_only, ...(query.kinds !== undefined && { kinds: query.kinds }) };
  const accept = c.req.header("accept") ?? "";
  const json = query.format === "json" || (query.format === undefined && accept.includes("application/json") && !accept.includes("text/event-stream"));
  if (json) {
    const list = feed.list({
      ...filter,
      limit: query.limit,
      ...(query.after !== undefined && { afterId: query.after }),
      ...(query.before !== undefined && { beforeId: query.before }),
    });
    return ok(c, { events: list, latest_id: feed.latestId(), oldest_id: feed.oldestId() });
  }
  if (query.before !== undefined) throw badRequest("before: only the JSON list pages back (format=json); a stream runs forward");
  const resume = lastEventId(c.req.header("last-event-id")) ?? query.after;
  const stream = eventStream({ feed, afterId: resume ?? feed.latestId(), filter, heartbeatMs: c.var.eventHeartbeatMs });
  return c.body(stream, 200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache, no-transform",
    "x-accel-buffering": "no",
  });
});
