/**
 * Per-user and per-key limits on apply: pool.max_clusters_per_user is decided inside the
 * claim's transaction, so concurrent applies by one user over real HTTP never pass it; and
 * api.apply_rate_per_key gives each API key its own bucket.
 */
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { RateLimiter } from "../../src/api/rate-limit.ts";
import { createTestDaemon, type TestDaemon } from "../helpers/daemon.ts";
import { listen } from "../helpers/http.ts";

describe("pool.max_clusters_per_user", () => {
  let t: TestDaemon | undefined;
  afterEach(async () => t?.close());

  it("50 concurrent applies by one user over HTTP never pass the limit", async () => {
    t = createTestDaemon({ pool: { max_clusters_per_user: 3 } });
    await t.addMemoryHost({ ready: 60, capacity: 60 });
    const server = await listen(t.daemon.app);
    try {
      const replies = await Promise.all(
        Array.from({ length: 50 }, async () => {
          const res = await fetch(`${server.url}/v2/cluster_op`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ action: "apply", user_id: "greedy", allow_multiple: true }),
          });
          return { status: res.status, body: (await res.json()) as { error: string } };
        }),
      );
      assert.equal(replies.filter((r) => r.status === 200).length, 3);
      const refused = replies.filter((r) => r.status !== 200);
      assert.equal(refused.length, 47);
      for (const r of refused) {
        assert.equal(r.status, 409);
        assert.match(r.body.error, /^user_id: greedy holds 3 clusters, the most pool\.max_clusters_per_user \(3\) allows/);
      }
      assert.equal(t.daemon.services.store.listClusters({ user_id: "greedy" }).length, 3);
    } finally {
      await server.close();
    }
  });

  it("at the limit, apply without allow_multiple still answers a held cluster, and a release makes room", async () => {
    t = createTestDaemon({ pool: { max_clusters_per_user: 1 } });
    await t.addMemoryHost({ ready: 3, capacity: 3 });
    const first = await t.call("POST", "/v2/cluster_op", { action: "apply", user_id: "u" });
    assert.equal(first.status, 200);
    const again = await t.call("POST", "/v2/cluster_op", { action: "apply", user_id: "u" });
    assert.equal(again.body.data.id, first.body.data.id, "the held cluster, not a refusal");
    assert.equal((await t.call("POST", "/v2/cluster_op", { action: "apply", user_id: "u", allow_multiple: true })).status, 409);
    assert.equal((await t.call("POST", "/v2/cluster_op", { action: "apply", user_id: "other" })).status, 200, "the limit is per user");
    assert.equal((await t.call("POST", "/v2/cluster_op", { action: "release", user_id: "u" })).status, 200);
    assert.equal((await t.call("POST", "/v2/cluster_op", { action: "apply", user_id: "u", allow_multiple: true })).status, 200);
  });

  it("0, the default, means no limit; a negative value is a config error naming the key", async () => {
    t = createTestDaemon();
    await t.addMemoryHost({ ready: 4, capacity: 4 });
    for (let i = 0; i < 4; i++) assert.equal((await t.call("POST", "/v2/cluster_op", { action: "apply", user_id: "u", allow_multiple: true })).status, 200);
    assert.throws(() => createTestDaemon({ pool: { max_clusters_per_user: -1 } }), /pool\.max_clusters_per_user/);
  });
});

describe("api.apply_rate_per_key", () => {
  const FRONT_A = "front-key-a-0123456789abcdef";
  const FRONT_B = "front-key-b-0123456789abcdef";
  let t: TestDaemon | undefined;
  afterEach(async () => t?.close());

  it("a key past its rate gets a 429 with Retry-After naming the setting; another key has its own bucket", async () => {
    // One apply per 1,000 s: the second apply of a key is refused however slow the machine is.
    t = createTestDaemon({ api: { front_keys: [FRONT_A, FRONT_B], apply_rate_per_key: 0.001 } });
    await t.addMemoryHost({ ready: 4, capacity: 4 });
    const apply = (key: string, user: string) =>
      t!.daemon.app.request("/v2/cluster_op", { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify({ action: "apply", user_id: user }) });
    assert.equal((await apply(FRONT_A, "a1")).status, 200);
    const limited = await apply(FRONT_A, "a2");
    assert.equal(limited.status, 429);
    assert.ok(Number(limited.headers.get("retry-after")) > 900);
    const body = (await limited.json()) as { code: number; error: string };
    assert.equal(body.code, 429);
    assert.match(body.error, /^action: apply is limited to 0\.001 per second per API key \(api\.apply_rate_per_key\)/);
    assert.equal(t.daemon.services.store.listClusters({ user_id: "a2" }).length, 0, "nothing handed out");
    assert.equal((await apply(FRONT_B, "b1")).status, 200);
    const list = await t.daemon.app.request("/v2/clusters", { headers: { authorization: `Bearer ${FRONT_A}` } });
    assert.equal(list.status, 200, "only applies are limited");
  });
});

describe("RateLimiter", () => {
  it("gives a second's worth at once, then one per 1/rate seconds, per caller", () => {
    let now = 0;
    const limiter = new RateLimiter({ perSecond: 2, now: () => now });
    assert.equal(limiter.take("a"), 0);
    assert.equal(limiter.take("a"), 0);
    assert.equal(limiter.take("a"), 0.5, "the third waits half a second");
    assert.equal(limiter.take("b"), 0, "another caller is not affected");
    now += 500;
    assert.equal(limiter.take("a"), 0);
    assert.equal(limiter.take("a"), 0.5);
    now += 10_000;
    assert.equal(limiter.take("a"), 0);
    assert.equal(limiter.take("a"), 0);
    assert.ok(limiter.take("a") > 0, "saving up stops at one second's worth");
  });
});
