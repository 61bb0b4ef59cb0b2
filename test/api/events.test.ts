import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { createApp } from "../../src/app.ts";
import { createTestDaemon, type TestDaemon } from "../helpers/daemon.ts";
import { SseReader } from "../helpers/sse.ts";

const OPERATOR = "operator-key-0123456789";
const FRONT = "front-key-0123456789ab";

describe("GET /api/events", () => {
  let t: TestDaemon;
  const readers: SseReader[] = [];
  afterEach(async () => {
    for (const r of readers.splice(0)) await r.cancel();
    await t.close();
  });
  const stream = async (query = "", headers: Record<string, string> = {}) => {
    const res = await t.daemon.app.request(`/api/events${query}`, { headers });
    if (res.status !== 200) assert.fail(`${res.status}: ${await res.text()}`);
    assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
    const r = new SseReader(res.body!);
    readers.push(r);
    return r;
  };
  const apply = (user: string) => t.call("GET", `/v2/cluster_op?action=apply&user_id=${user}`);

  it("streams history after ?after= and then live events, in order, each once", async () => {
    t = createTestDaemon();
    await t.addMemoryHost({ ready: 3 });
    const start = t.daemon.services.events.latestId();
    assert.equal((await apply("alice")).status, 200);
    const r = await stream(`?after=${start}`);
    await r.until((s) => s.events.length === 1);
    assert.equal(r.events[0]!.kind, "cluster.applied");
    assert.equal((await apply("bob")).status, 200);
    await r.until((s) => s.events.length === 2);
    assert.deepEqual(r.events.map((e) => e.user_id), ["alice", "bob"]);
    assert.deepEqual(r.messages.map((m) => Number(m.id)), r.events.map((e) => e.id));
    assert.equal(t.daemon.services.events.subscriberCount, 1);
  });

  it("resumes with Last-Event-ID without a gap or a duplicate, and Last-Event-ID wins over ?after=", async () => {
    t = createTestDaemon();
    await t.addMemoryHost({ ready: 6 });
    const start = t.daemon.services.events.latestId();
    const first = await stream(`?after=${start}`);
    for (const u of ["u1", "u2", "u3"]) await apply(u);
    await first.until((s) => s.events.length === 3);
    await first.cancel();
    const lastSeen = first.messages[1]!.id!; // as if the connection dropped after the second
    for (const u of ["u4", "u5"]) await apply(u); // while it was away
    const second = await stream(`?after=${start}`, { "last-event-id": lastSeen });
    await second.until((s) => s.events.length === 3);
    await apply("u6");
    await second.until((s) => s.events.length === 4);
    assert.deepEqual(second.events.map((e) => e.user_id), ["u3", "u4", "u5", "u6"]);
    const all = t.daemon.services.events.list({ afterId: Number(lastSeen) }).map((e) => e.id);
    assert.deepEqual(second.events.map((e) => e.id), all);
    await t.close().catch(() => {});
    t = createTestDaemon(); // afterEach closes this one
  });

  it("with no resume point sends live events only", async () => {
    t = createTestDaemon();
    await t.addMemoryHost({ ready: 2 });
    await apply("before");
    const r = await stream();
    await apply("after");
    await r.until((s) => s.events.length === 1);
    assert.equal(r.events[0]!.user_id, "after");
  });

  it("warnings_only sends warnings alone, history and live", async () => {
    t = createTestDaemon({ scheduler: { health_failures: 1 } });
    const host = await t.addMemoryHost({ ready: 2 });
    const [a, b] = t.daemon.services.store.listClusters({ host_id: host.id });
    t.memory.get(host.id)!.breakCluster(a!.id);
    await t.daemon.services.watchdog.checkClusters();
    const r = await stream("?after=0&warnings_only=1");
    await r.until((s) => s.events.length === 1);
    await apply("someone"); // info: not sent
    t.memory.get(host.id)!.breakCluster(b!.id);
    await t.daemon.services.watchdog.checkClusters();
    await r.until((s) => s.events.length === 2);
    assert.deepEqual(r.events.map((e) => [e.kind, e.level]), [["cluster.health_fail", "warn"], ["cluster.health_fail", "warn"]]);
    const list = await t.call("GET", "/api/events?format=json&warnings_only=true&limit=10");
    assert.deepEqual(list.body.data.events.map((e: { id: number }) => e.id), r.events.map((e) => e.id));
  });

  it("tells a client that resumes from before the oldest event kept that events were lost", async () => {
    t = createTestDaemon({ events: { keep: 100 } });
    const host = await t.addMemoryHost();
    const store = t.daemon.services.store;
    store.db.transaction(() => {
      for (let i = 0; i < 600; i++) store.events.record({ kind: "host.updated", host_id: host.id, message: `${i}` });
    });
    const r = await stream("?after=1");
    await r.until((s) => s.messages.length > 0);
    assert.equal(r.messages[0]!.event, "truncated");
    assert.equal(JSON.parse(r.messages[0]!.data).oldest_id, t.daemon.services.events.oldestId());
    await r.until((s) => s.events.length > 0);
    assert.equal(r.events[0]!.id, t.daemon.services.events.oldestId());
  });

  it("sends heartbeats while nothing happens", async () => {
    t = createTestDaemon();
    // The heartbeat period is the app's option: a short one here.
    const app = createApp({ services: t.daemon.services, auth: { frontKeys: [], operatorKeys: [] }, maxBodyBytes: 65536, eventHeartbeatMs: 20 });
    const res = await app.request("/api/events");
    const r = new SseReader(res.body!);
    readers.push(r);
    await r.until((s) => s.comments >= 2);
  });

  it("a client that goes away leaves no subscription behind", async () => {
    t = createTestDaemon();
    const r = await stream();
    await t.addMemoryHost({ ready: 1 });
    await r.until((s) => s.events.length > 0);
    assert.equal(t.daemon.services.events.subscriberCount, 1);
    await r.cancel();
    assert.equal(t.daemon.services.events.subscriberCount, 0);
  });

  it("cuts off a client that stops reading once its queue passes the bound, and the feed goes on", async () => {
    t = createTestDaemon();
    const host = await t.addMemoryHost();
    const res = await t.daemon.app.request("/api/events");
    const reader = res.body!.getReader();
    await reader.read(); // the retry line; from here the client reads nothing
    assert.equal(t.daemon.services.events.subscriberCount, 1, "subscribed once caught up");
    const store = t.daemon.services.store;
    const big = "x".repeat(4000);
    let written = 0;
    // Each event ~4 KB: the 1 MB bound is passed within a few hundred.
    while (t.daemon.services.events.subscriberCount > 0 && written < 2000) {
      store.db.transaction(() => store.events.record({ kind: "host.updated", host_id: host.id, message: big }));
      written++;
      await new Promise((r) => setImmediate(r)); // a turn of the loop: the stream sends its burst
    }
    assert.equal(t.daemon.services.events.subscriberCount, 0, `still subscribed after ${written} events`);
    assert.ok(written < 2000);
    await reader.cancel();
  });

  it("events committed in one turn reach a live stream as one write", async () => {
    t = createTestDaemon();
    const host = await t.addMemoryHost();
    const res = await t.daemon.app.request("/api/events");
    const reader = res.body!.getReader();
    await reader.read(); // the retry line
    assert.equal(t.daemon.services.events.subscriberCount, 1);
    const store = t.daemon.services.store;
    for (let i = 0; i < 50; i++) store.db.transaction(() => store.events.record({ kind: "host.updated", host_id: host.id, message: `${i}` }));
    const { value } = await reader.read();
    const text = new TextDecoder().decode(value);
    assert.equal(text.match(/^id: /gm)?.length, 50, "one chunk holding all 50");
    await reader.cancel();
  });

  it("the JSON list pages forward and back and filters by kind", async () => {
    t = createTestDaemon();
    await t.addMemoryHost({ ready: 3 });
    for (const u of ["a", "b", "c"]) await apply(u);
    const all = await t.call("GET", "/api/events?format=json&kinds=cluster.applied", undefined, {});
    assert.equal(all.status, 200);
    const ids = all.body.data.events.map((e: { id: number }) => e.id);
    assert.equal(ids.length, 3);
    const viaAccept = await t.call("GET", `/api/events?kinds=cluster.applied&after=${ids[0]}&limit=1`, undefined, { accept: "application/json" });
    assert.deepEqual(viaAccept.body.data.events.map((e: { id: number }) => e.id), [ids[1]]);
    const back = await t.call("GET", `/api/events?format=json&kinds=cluster.applied,cluster.released&before=${ids[2]}&limit=1`);
    assert.deepEqual(back.body.data.events.map((e: { id: number }) => e.id), [ids[1]]);
    assert.equal(all.body.data.latest_id, t.daemon.services.events.latestId());
  });

  it("bad input is a 400 naming the field, and changes nothing", async () => {
    t = createTestDaemon();
    const cases: Array<[string, Record<string, string>, RegExp]> = [
      ["?kinds=cluster.applied,cluster.exploded", {}, /^kinds: unknown event kind "cluster.exploded"/],
      ["?after=-1", {}, /^after: /],
      ["?limit=0&format=json", {}, /^limit: /],
      ["?format=xml", {}, /^format: /],
      ["?colour=red", {}, /^colour: unknown field/],
      ["?before=5", {}, /^before: /],
      ["", { "last-event-id": "abc" }, /^last-event-id: /],
    ];
    for (const [query, headers, error] of cases) {
      const r = await t.call("GET", `/api/events${query}`, undefined, headers);
      assert.equal(r.status, 400, query);
      assert.match(r.body.error, error);
    }
    assert.equal(t.daemon.services.events.subscriberCount, 0);
  });

  it("needs the operator key when keys are configured", async () => {
    t = createTestDaemon({ api: { operator_keys: [OPERATOR], front_keys: [FRONT] } });
    assert.equal((await t.call("GET", "/api/events?format=json")).status, 401);
    assert.equal((await t.call("GET", "/api/events?format=json", undefined, { authorization: `Bearer ${FRONT}` })).status, 403);
    assert.equal((await t.call("GET", "/api/events?format=json", undefined, { authorization: `Bearer ${OPERATOR}` })).status, 200);
    const res = await t.daemon.app.request("/api/events", { headers: { authorization: `Bearer ${FRONT}` } });
    assert.equal(res.status, 403);
    assert.equal(t.daemon.services.events.subscriberCount, 0);
  });

  it("a stopping daemon ends open streams", async () => {
    t = createTestDaemon();
    const r = await stream();
    await t.addMemoryHost({ ready: 1 });
    await r.until((s) => s.events.length > 0);
    t.daemon.services.events.close();
    await r.until((s) => s.ended);
  });
});
