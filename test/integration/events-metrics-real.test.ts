/**
 * The machine-facing routes against a real daemon process over real HTTP, with a local host
 * whose clusters are real chain node processes: a front service learns from /api/events that
 * a cluster is ready (no polling), a dropped stream resumes with Last-Event-ID without a gap
 * or a duplicate, /metrics counts the apply, the refused apply and the release it saw, each
 * route takes only the keys it should, and a stopping daemon ends open streams.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { waitFor } from "../chain/helpers/chain-cluster.ts";
import { DaemonProcess, localPoolToml } from "../helpers/daemon-process.ts";
import { sample } from "../helpers/prometheus.ts";
import { SseReader } from "../helpers/sse.ts";

const OPERATOR = "events-operator-key-0123456789";
const FRONT = "events-front-key-0123456789ab";
const METRICS = "events-metrics-key-0123456789";
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

describe("events, metrics and the API document on a real daemon", () => {
  let d: DaemonProcess;
  const open: AbortController[] = [];
  before(async () => {
    d = await DaemonProcess.create(localPoolToml({ capacity: 1, size: 1, autofill: true, operatorKey: OPERATOR, frontKey: FRONT, metricsKey: METRICS }));
    await d.start();
  });
  after(async () => {
    for (const c of open) c.abort();
    await d.destroy();
  });

  /** An event stream over HTTP; `lastEventId` as EventSource sends it on a reconnect. */
  const stream = async (query: string, lastEventId?: string) => {
    const abort = new AbortController();
    open.push(abort);
    const res = await fetch(`${d.url}/api/events${query}`, { headers: { ...bearer(OPERATOR), ...(lastEventId && { "last-event-id": lastEventId }) }, signal: abort.signal });
    assert.equal(res.status, 200);
    return { reader: new SseReader(res.body!), abort };
  };
  const ready = (r: SseReader) => r.events.find((e) => e.kind === "cluster.health_ok" && e.user_id === null && e.data["from"] === "");

  it("a front service learns a cluster is ready from the stream, and a resumed stream has no gap and no duplicate", async () => {
    const first = await stream("?after=0");
    await first.reader.until((r) => ready(r) !== undefined, 60_000);
    const readyId = ready(first.reader)!.cluster_id;

    const applied = await d.call("GET", "/v2/cluster_op?action=apply&user_id=alice", undefined, bearer(FRONT));
    assert.equal(applied.status, 200);
    assert.equal(applied.body.data.id, readyId, "the cluster the stream said was ready is the one handed out");
    await first.reader.until((r) => r.events.some((e) => e.kind === "cluster.applied"));
    const refused = await d.call("GET", "/v2/cluster_op?action=apply&user_id=bob", undefined, bearer(FRONT));
    assert.equal(refused.status, 404, "capacity 1, held: none available");

    // The connection drops; while it is away the cluster is released and recycled.
    const lastSeen = first.reader.messages.at(-1)!.id!;
    first.abort.abort();
    assert.equal((await d.call("POST", "/v2/cluster_op", { action: "release", cluster_id: readyId }, bearer(FRONT))).status, 200);
    await waitFor("the successor to be ready", async () => {
      const list = await d.call("GET", `/api/events?format=json&after=${lastSeen}&kinds=cluster.health_ok`, undefined, bearer(OPERATOR));
      return list.body.data.events.length > 0;
    }, 60_000);

    const second = await stream("?after=0", lastSeen); // Last-Event-ID wins over ?after=
    await second.reader.until((r) => ready(r) !== undefined, 30_000);
    const ids = second.reader.events.map((e) => e.id);
    const expected = Array.from({ length: ids.length }, (_, i) => Number(lastSeen) + 1 + i);
    assert.deepEqual(ids, expected, "every event after the last one seen, each once, in order");
    const kinds = second.reader.events.map((e) => e.kind);
    for (const kind of ["cluster.released", "cluster.recycled", "cluster.created", "cluster.health_ok"]) assert.ok(kinds.includes(kind), `${kind} in ${kinds.join(", ")}`);
    const recycled = second.reader.events.find((e) => e.kind === "cluster.recycled")!;
    assert.equal(recycled.cluster_id, readyId);
    assert.equal(ready(second.reader)!.cluster_id, recycled.data["successor"]);
    second.abort.abort();
  });

  it("/metrics counts what was done: the apply, the refused apply, the release and the recycle", async () => {
    const res = await fetch(`${d.url}/metrics`, { headers: bearer(METRICS) });
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.equal(sample(text, "chainpool_applies_total", { result: "ok" }), 1);
    assert.equal(sample(text, "chainpool_applies_total", { result: "none_available" }), 1);
    assert.equal(sample(text, "chainpool_apply_duration_seconds_count", { result: "ok" }), 1);
    assert.equal(sample(text, "chainpool_releases_total", { result: "ok" }), 1);
    assert.equal(sample(text, "chainpool_cluster_recycle_duration_seconds_count", { host_type: "local" }), 1);
    assert.equal(sample(text, "chainpool_cluster_create_duration_seconds_count", { host_type: "local" }), 2);
    assert.equal(sample(text, "chainpool_clusters", { state: "free", host: "local", consensus_plugin: "noops", consensus_mode: "", size: "1" }), 1);
    assert.equal(sample(text, "chainpool_host_up", { host: "local", type: "local" }), 1);
    assert.ok((sample(text, "chainpool_scheduler_job_runs_total", { job: "reconcile" }) ?? 0) >= 1);
    assert.ok((sample(text, "chainpool_process_resident_memory_bytes") ?? 0) > 0);
  });

  it("each route takes the keys it should and no other", async () => {
    const status = async (path: string, key?: string) => {
      const abort = new AbortController();
      const res = await fetch(`${d.url}${path}`, { headers: key ? bearer(key) : {}, signal: abort.signal });
      abort.abort(); // an event stream would never end
      return res.status;
    };
    const table: Array<[string, Record<string, number>]> = [
      ["/metrics", { none: 401, front: 403, metrics: 200, operator: 200 }],
      ["/api/events?format=json", { none: 401, front: 403, metrics: 403, operator: 200 }],
      ["/api/events", { none: 401, front: 403, metrics: 403, operator: 200 }],
      ["/api/openapi.json", { none: 401, front: 403, metrics: 403, operator: 200 }],
      ["/api/docs", { none: 401, front: 403, metrics: 403, operator: 200 }],
      ["/v2/clusters", { none: 401, front: 200, metrics: 403, operator: 200 }],
    ];
    const keys: Record<string, string | undefined> = { none: undefined, front: FRONT, metrics: METRICS, operator: OPERATOR };
    for (const [path, want] of table) {
      for (const [who, code] of Object.entries(want)) assert.equal(await status(path, keys[who]), code, `${path} with ${who}`);
    }
  });

  it("a stopping daemon ends its open event streams instead of waiting out the drain period", async () => {
    const s = await stream(""); // answered: the stream is open
    const code = await d.kill("SIGTERM");
    assert.equal(code, 0, d.log().slice(-2000));
    await s.reader.until((r) => r.ended, 5_000);
    // The stream ended with the feed, not when the drain period ran out.
    assert.doesNotMatch(d.log(), /requests still running after the drain period/);
  });
});
