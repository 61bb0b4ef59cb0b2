import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createTestDaemon, type TestDaemon } from "../helpers/daemon.ts";
import { listen } from "../helpers/http.ts";

describe("apply under concurrency (real HTTP, real SQLite file)", () => {
  let t: TestDaemon;
  let server: { url: string; close: () => Promise<void> };
  before(async () => {
    t = createTestDaemon();
    await t.addMemoryHost({ ready: 50, capacity: 50 });
    server = await listen(t.daemon.app);
  });
  after(async () => {
    await server.close();
    await t.close();
  });

  it("200 concurrent applies against 50 free clusters give exactly 50 successes and no cluster twice", async () => {
    const replies = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const res = await fetch(`${server.url}/v2/cluster_op`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ action: "apply", user_id: `user-${i}` }),
        });
        return { status: res.status, body: (await res.json()) as { code: number; data: { id?: string; user_id?: string } } };
      }),
    );
    const ok = replies.filter((r) => r.status === 200);
    const fail = replies.filter((r) => r.status !== 200);
    assert.equal(ok.length, 50);
    assert.ok(fail.every((r) => r.status === 404 && r.body.code === 404), "the rest is told no cluster is free");
    const ids = ok.map((r) => r.body.data.id!);
    assert.equal(new Set(ids).size, 50, "no cluster handed out twice");
    const store = t.daemon.services.store;
    for (const r of ok) assert.equal(store.getCluster(r.body.data.id!)!.user_id, r.body.data.user_id, "the database agrees with each reply");
    assert.equal(store.listClusters({ user_id: "" }).length, 0);
  });
});
