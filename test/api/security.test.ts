import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { createTestDaemon, type TestDaemon } from "../helpers/daemon.ts";

const FRONT = "front-key-0123456789abcdef";
const OPERATOR = "operator-key-0123456789abcdef";

describe("API keys", () => {
  let t: TestDaemon;
  beforeEach(async () => {
    t = createTestDaemon({ api: { front_keys: [FRONT], operator_keys: [OPERATOR] } });
    await t.addMemoryHost({ ready: 1 });
  });
  afterEach(async () => t.close());

  const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

  it("a request without a key is a 401 on both APIs", async () => {
    assert.equal((await t.call("GET", "/v2/clusters")).status, 401);
    assert.equal((await t.call("GET", "/api/hosts")).status, 401);
  });

  it("a wrong key is a 401", async () => {
    const r = await t.call("GET", "/v2/clusters", undefined, bearer("not-the-key-0123456789"));
    assert.equal(r.status, 401);
    assert.match(r.body.error, /^authorization: /);
  });

  it("a front key opens /v2", async () => {
    const r = await t.call("GET", "/v2/cluster_op?action=apply&user_id=k", undefined, bearer(FRONT));
    assert.equal(r.status, 200);
  });

  it("a front key cannot call /api", async () => {
    const r = await t.call("GET", "/api/hosts", undefined, bearer(FRONT));
    assert.equal(r.status, 403);
    assert.match(r.body.error, /front API key cannot call the operator API/);
  });

  it("an operator key opens both APIs", async () => {
    assert.equal((await t.call("GET", "/api/hosts", undefined, bearer(OPERATOR))).status, 200);
    assert.equal((await t.call("GET", "/v2/clusters", undefined, bearer(OPERATOR))).status, 200);
  });

  it("the liveness answer needs no key", async () => {
    assert.equal((await t.call("GET", "/api/health")).status, 200);
  });

  it("errors leak no stack trace", async () => {
    const r = await t.call("POST", "/v2/cluster_op", "{", { ...bearer(FRONT), "content-type": "application/json" });
    assert.equal(r.status, 400);
    assert.doesNotMatch(JSON.stringify(r.body), /node_modules|\.ts:\d+/);
  });
});
