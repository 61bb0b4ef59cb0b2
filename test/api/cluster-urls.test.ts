/**
 * What the APIs answer about a cluster's URLs (in-process, memory host, real SQLite file):
 * the URL secret as the path prefix of api_url and of every service_url entry, its rotation
 * through POST /api/cluster_op, the pool.url_secrets switch, and api.show_daemon_url, which
 * blanks daemon_url and worker_api in /v2 answers only. That the nodes require the secret is
 * shown against real processes (test/integration/url-secrets-local.test.ts, test/docker/).
 */
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { URL_SECRET_PATTERN } from "../../src/lib/url-secret.ts";
import { createTestDaemon, type TestDaemon } from "../helpers/daemon.ts";

/** api_url = the stored base + "/" + secret; every service_url entry alike, with the same secret. */
function secretOf(cluster: { id: string; api_url: string; service_url: Record<string, string> }): string {
  const match = /^http:\/\/memory\.invalid\/[0-9a-f]+\/vp0\/([^/]+)$/.exec(cluster.api_url);
  assert.ok(match, `api_url ${cluster.api_url} ends in the secret`);
  const secret = match[1]!;
  assert.match(secret, URL_SECRET_PATTERN);
  assert.deepEqual(Object.keys(cluster.service_url), ["vp0", "vp1", "vp2", "vp3"]);
  for (const [node, url] of Object.entries(cluster.service_url)) {
    assert.equal(url, `http://memory.invalid/${cluster.id}/${node}/${secret}`, `service_url.${node} carries the secret`);
  }
  return secret;
}

describe("cluster URLs in /v2 and /api answers", () => {
  let t: TestDaemon;
  afterEach(async () => t.close());

  it("carry each cluster's own secret in api_url and every service_url entry, in /v2 and /api alike", async () => {
    t = createTestDaemon();
    await t.addMemoryHost({ ready: 2 });
    const alice = (await t.call("GET", "/v2/cluster_op?action=apply&user_id=alice")).body.data;
    const bob = (await t.call("GET", "/v2/cluster_op?action=apply&user_id=bob")).body.data;
    const secret = secretOf(alice);
    assert.notEqual(secretOf(bob), secret, "no two clusters share a secret");
    assert.equal(secret, t.daemon.services.store.getCluster(alice.id)!.url_secret, "the secret the nodes are given");
    assert.equal(t.daemon.services.store.getCluster(alice.id)!.api_url, `http://memory.invalid/${alice.id}/vp0`, "stored without it");
    for (const path of [`/v2/cluster/${alice.id}`, `/api/cluster/${alice.id}`]) {
      const view = (await t.call("GET", path)).body.data;
      assert.equal(view.api_url, alice.api_url, path);
      assert.deepEqual(view.service_url, alice.service_url, path);
    }
    const listed = (await t.call("GET", "/v2/clusters?user_id=alice")).body.data;
    assert.equal(listed[0].api_url, alice.api_url);
  });

  it("rotate_secret gives a held cluster a new secret (same cluster, same holder); every later answer carries it", async () => {
    t = createTestDaemon();
    await t.addMemoryHost({ ready: 1 });
    const held = (await t.call("GET", "/v2/cluster_op?action=apply&user_id=alice")).body.data;
    const before = secretOf(held);
    const rotated = await t.call("POST", "/api/cluster_op", { id: held.id, action: "rotate_secret" });
    assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
    assert.equal(rotated.body.data.id, held.id, "the same cluster: same id, same ledger");
    assert.equal(rotated.body.data.user_id, "alice");
    assert.equal(rotated.body.data.status, "running");
    const after = secretOf(rotated.body.data);
    assert.notEqual(after, before);
    const again = (await t.call("GET", "/v2/cluster_op?action=apply&user_id=alice")).body.data;
    assert.equal(again.api_url, rotated.body.data.api_url, "apply answers the held cluster with its new URL");
    assert.equal(t.daemon.services.store.getCluster(held.id)!.op, null, "the rotation is done when the call answers");
  });

  it("rotate_secret: a missing or unknown id, another action or field is a 4xx naming it and changes nothing", async () => {
    t = createTestDaemon();
    await t.addMemoryHost({ ready: 1 });
    const held = (await t.call("GET", "/v2/cluster_op?action=apply&user_id=alice")).body.data;
    const cases: Array<[unknown, number, RegExp]> = [
      [{ action: "rotate_secret" }, 400, /^id: /],
      [{ id: held.id }, 400, /^action: /],
      [{ id: held.id, action: "rotate" }, 400, /^action: .*rotate_secret/],
      [{ id: held.id, action: "rotate_secret", secret: "mine" }, 400, /^secret: unknown field/],
      [{ id: "0123456789abcdef01234567", action: "rotate_secret" }, 404, /cluster 0123456789abcdef01234567 not found/],
    ];
    for (const [body, status, error] of cases) {
      const r = await t.call("POST", "/api/cluster_op", body);
      assert.equal(r.status, status, JSON.stringify(body));
      assert.match(r.body.error, error, JSON.stringify(body));
    }
    assert.equal((await t.call("GET", `/v2/cluster/${held.id}`)).body.data.api_url, held.api_url, "nothing changed");
    const front = createTestDaemon({ api: { front_keys: ["front-key-0123456789"], operator_keys: ["operator-key-0123456789"] } });
    try {
      const r = await front.call("POST", "/api/cluster_op", { id: held.id, action: "rotate_secret" }, { authorization: "Bearer front-key-0123456789" });
      assert.equal(r.status, 403, "a front key cannot rotate");
    } finally {
      await front.close();
    }
  });

  it("with pool.url_secrets off, URLs are plain and rotate_secret is a 409 saying why", async () => {
    t = createTestDaemon({ pool: { url_secrets: false } });
    await t.addMemoryHost({ ready: 1 });
    const held = (await t.call("GET", "/v2/cluster_op?action=apply&user_id=alice")).body.data;
    assert.equal(held.api_url, `http://memory.invalid/${held.id}/vp0`);
    assert.equal(held.service_url.vp3, `http://memory.invalid/${held.id}/vp3`);
    const r = await t.call("POST", "/api/cluster_op", { id: held.id, action: "rotate_secret" });
    assert.equal(r.status, 409);
    assert.match(r.body.error, /has no URL secret .*pool\.url_secrets off/);
  });

  it("api.show_daemon_url = false blanks daemon_url and worker_api in every /v2 answer, and only there", async () => {
    t = createTestDaemon({ api: { show_daemon_url: false } });
    const host = await t.addMemoryHost({ ready: 2 });
    assert.match(host.daemon_url, /^memory:\/\//);
    const applied = (await t.call("GET", "/v2/cluster_op?action=apply&user_id=alice")).body.data;
    const v2 = [
      applied,
      (await t.call("POST", "/v2/cluster_op", { action: "restart", cluster_id: applied.id })).body.data,
      (await t.call("GET", `/v2/cluster/${applied.id}`)).body.data,
      ...(await t.call("GET", "/v2/clusters")).body.data,
    ];
    assert.equal(v2.length, 5);
    for (const view of v2) assert.deepEqual([view.daemon_url, view.worker_api], ["", ""], JSON.stringify(view));
    const api = [(await t.call("GET", `/api/cluster/${applied.id}`)).body.data, ...(await t.call("GET", "/api/clusters")).body.data];
    for (const view of api) assert.deepEqual([view.daemon_url, view.worker_api], [host.daemon_url, host.daemon_url], "/api shows them");
    assert.equal((await t.call("GET", `/api/host/${host.id}`)).body.data.daemon_url, host.daemon_url);
  });

  it("by default /v2 answers show the host's daemon_url and worker_api, as Cello's did", async () => {
    t = createTestDaemon();
    const host = await t.addMemoryHost({ ready: 1 });
    const applied = (await t.call("GET", "/v2/cluster_op?action=apply&user_id=alice")).body.data;
    assert.deepEqual([applied.daemon_url, applied.worker_api], [host.daemon_url, host.daemon_url]);
  });
});
