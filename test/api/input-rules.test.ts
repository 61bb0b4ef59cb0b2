import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { createTestDaemon, type TestDaemon } from "../helpers/daemon.ts";

/**
 * One rule for every input form: a query string (GET), a JSON body, a urlencoded form and a
 * multipart form carrying the same fields get the same answer.
 */
type Pairs = Array<[string, string]>;
const FORMS = ["query", "json", "form", "multipart"] as const;
type Form = (typeof FORMS)[number];

/** The request `form` makes of these fields, keys repeated and in order as given. */
async function request(form: Form, path: string, pairs: Pairs): Promise<{ method: string; path: string; body?: string; headers: Record<string, string> }> {
  switch (form) {
    case "query":
      return { method: "GET", path: `${path}?${new URLSearchParams(pairs)}`, headers: {} };
    case "json":
      // Built by hand: an object literal cannot hold a key twice.
      return { method: "POST", path, body: `{${pairs.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(",")}}`, headers: { "content-type": "application/json" } };
    case "form":
      return { method: "POST", path, body: new URLSearchParams(pairs).toString(), headers: { "content-type": "application/x-www-form-urlencoded" } };
    case "multipart": {
      const data = new FormData();
      for (const [k, v] of pairs) data.append(k, v);
      const res = new Response(data);
      return { method: "POST", path, body: await res.text(), headers: { "content-type": res.headers.get("content-type")! } };
    }
  }
}

describe("request input: one rule for every input form", () => {
  let t: TestDaemon;
  beforeEach(async () => {
    t = createTestDaemon();
    await t.addMemoryHost({ ready: 8, capacity: 8 });
  });
  afterEach(async () => t.close());

  const held = () => t.daemon.services.store.listClusters().filter((c) => c.user_id !== "").length;
  const send = async (form: Form, path: string, pairs: Pairs) => {
    const r = await request(form, path, pairs);
    return t.call(r.method, r.path, r.body, r.headers);
  };

  it("happy: apply works alike from a query, JSON, a form and a multipart form", async () => {
    for (const form of FORMS) {
      const r = await send(form, "/v2/cluster_op", [["action", "apply"], ["user_id", `user-${form}`]]);
      assert.equal(r.status, 200, `${form}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.data.user_id, `user-${form}`);
    }
  });

  /** The same fields in every form: each is a 400 with the same error, and nothing is handed out. */
  const refusedEverywhere: Array<[string, Pairs, RegExp]> = [
    ["a field given twice", [["action", "apply"], ["user_id", "a"], ["user_id", "b"]], /^user_id: given more than once$/],
    ["__proto__ as a field name", [["action", "apply"], ["user_id", "p"], ["__proto__", "x"]], /^__proto__: not accepted as a field name$/],
    ["constructor as a field name", [["action", "apply"], ["user_id", "p"], ["constructor", "x"]], /^constructor: not accepted as a field name$/],
    ["prototype as a field name", [["action", "apply"], ["user_id", "p"], ["prototype", "x"]], /^prototype: not accepted as a field name$/],
    ["a NUL in user_id", [["action", "apply"], ["user_id", "a\u0000b"]], /^user_id: must not contain control characters/],
    ["a newline in user_id", [["action", "apply"], ["user_id", "a\nb"]], /^user_id: must not contain control characters/],
    ["a DEL in user_id", [["action", "apply"], ["user_id", "a\u007fb"]], /^user_id: must not contain control characters/],
    ["user_id with surrounding spaces", [["action", "apply"], ["user_id", " alice "]], /^user_id: must not begin or end with whitespace/],
    ["cluster_id with a trailing space", [["action", "release"], ["cluster_id", "abc "]], /^cluster_id: must not begin or end with whitespace/],
    ["size with surrounding spaces", [["action", "apply"], ["user_id", "s"], ["size", " 4 "]], /^size: expected an integer, got " 4 "/],
    ["allow_multiple with a trailing space", [["action", "apply"], ["user_id", "s"], ["allow_multiple", "true "]], /^allow_multiple: expected true or false, got "true "/],
  ];
  for (const [what, pairs, error] of refusedEverywhere) {
    it(`error: ${what} is the same 400 in every form, and changes nothing`, async () => {
      const errors = new Set<string>();
      for (const form of FORMS) {
        const r = await send(form, "/v2/cluster_op", pairs);
        assert.equal(r.status, 400, `${form}: ${JSON.stringify(r.body)}`);
        assert.match(r.body.error, error, form);
        errors.add(r.body.error);
      }
      assert.equal(errors.size, 1, `one answer for every form: ${[...errors].join(" | ")}`);
      assert.equal(held(), 0, "nothing was handed out");
    });
  }

  it("error: a duplicate key inside a JSON object is named by its path", async () => {
    const r = await t.call("POST", "/api/host", '{"name":"d1","type":"memory","daemon_url":"memory://d1","params":{"a":1,"a":2}}', { "content-type": "application/json" });
    assert.equal(r.status, 400);
    assert.match(r.body.error, /^params\.a: given more than once$/);
    assert.equal((await t.call("GET", "/api/hosts")).body.data.length, 1, "no host added");
  });

  it("error: __proto__ nested in a JSON object is refused by its path", async () => {
    const r = await t.call("POST", "/api/host", '{"name":"d2","type":"memory","daemon_url":"memory://d2","params":{"__proto__":{"x":1}}}', { "content-type": "application/json" });
    assert.equal(r.status, 400);
    assert.match(r.body.error, /^params\.__proto__: not accepted as a field name$/);
  });

  describe("an object where a scalar is expected is a 400 naming the field, never a 500", () => {
    const cases: Array<[string, string, string, Record<string, unknown>, RegExp]> = [
      ["user_id in an apply", "POST", "/v2/cluster_op", { action: "apply", user_id: { toString: 1 } }, /^user_id: expected a string, got an object$/],
      ["user_id as an array", "POST", "/v2/cluster_op", { action: "apply", user_id: ["a"] }, /^user_id: expected a string, got an array$/],
      ["action", "POST", "/v2/cluster_op", { action: { toString: 1 }, user_id: "x" }, /^action: Unknown action type/],
      ["capacity in POST /api/host", "POST", "/api/host", { name: "c1", type: "memory", daemon_url: "memory://c1", capacity: { toString: 1 } }, /^capacity: expected an integer, got an object$/],
      ["consensus_mode in POST /api/cluster", "POST", "/api/cluster", { consensus_plugin: "pbft", consensus_mode: { toString: 1 }, size: 4 }, /^consensus_mode: expected one of .*, got an object$/],
      ["a /v2/clusters filter", "POST", "/v2/clusters", { size: { valueOf: 1 } }, /^size: expected an integer, got an object$/],
    ];
    for (const [what, method, path, body, error] of cases) {
      it(what, async () => {
        const r = await t.call(method, path, body);
        assert.equal(r.status, 400, JSON.stringify(r.body));
        assert.match(r.body.error, error);
        assert.equal(held(), 0);
      });
    }

    it("name in PUT /api/host", async () => {
      const id = (await t.call("GET", "/api/hosts")).body.data[0].id;
      const r = await t.call("PUT", "/api/host", { id, name: { toString: 1 } });
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.match(r.body.error, /^name: expected a string, got an object$/);
    });
  });

  it("security: user_id nested 5,000 arrays deep is a 400 naming it, not a 500", async () => {
    const body = `{"action":"apply","user_id":${"[".repeat(5000)}${"]".repeat(5000)}}`;
    const r = await t.call("POST", "/v2/cluster_op", body, { "content-type": "application/json" });
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.match(r.body.error, /^user_id(\.0)*: nested deeper than \d+ levels$/);
    assert.equal(held(), 0);
  });

  it("error: multipart without a boundary is a 400", async () => {
    const r = await t.call("POST", "/v2/cluster_op", "action=apply&user_id=mp", { "content-type": "multipart/form-data" });
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.match(r.body.error, /^content-type: multipart\/form-data needs a boundary/);
  });

  it("error: a malformed multipart body is a 400", async () => {
    const r = await t.call("POST", "/v2/cluster_op", "--xyz\r\nnot a part\r\n", { "content-type": "multipart/form-data; boundary=xyz" });
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.match(r.body.error, /^body: not a valid multipart\/form-data body/);
    assert.equal(held(), 0);
  });

  it("error: a file in a multipart form is a 400 naming the field", async () => {
    const data = new FormData();
    data.append("action", "apply");
    data.append("user_id", new Blob(["alice"]), "user.txt");
    const res = new Response(data);
    const r = await t.call("POST", "/v2/cluster_op", await res.text(), { "content-type": res.headers.get("content-type")! });
    assert.equal(r.status, 400);
    assert.match(r.body.error, /^user_id: files are not accepted/);
  });

  for (const [what, type, body] of [
    ["JSON", "application/json", '{"action":"apply"}'],
    ["a form", "application/x-www-form-urlencoded", "action=apply"],
  ] as const) {
    it(`error: fields in the query of a POST with ${what} body are a 400 naming them, not merged`, async () => {
      const r = await t.call("POST", "/v2/cluster_op?user_id=merged&size=4", body, { "content-type": type });
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.match(r.body.error, /^user_id, size: fields in the query string are not taken on POST/);
      assert.equal(held(), 0);
    });
  }

  it("error: fields in the query of a DELETE are refused the same way", async () => {
    const id = (await t.call("GET", "/api/hosts")).body.data[0].id;
    const r = await t.call("DELETE", `/api/host?id=${id}`, JSON.stringify({ id }), { "content-type": "application/json" });
    assert.equal(r.status, 400);
    assert.match(r.body.error, /^id: fields in the query string are not taken on DELETE/);
  });

  it("security: HEAD on cluster_op does not carry the action out", async () => {
    const res = await t.daemon.app.request("/v2/cluster_op?action=apply&user_id=headuser", { method: "HEAD" });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get("allow"), "GET, POST");
    assert.equal(t.daemon.services.store.listClusters({ user_id: "headuser" }).length, 0);
    assert.equal(held(), 0);
  });

  it("happy: HEAD on a read-only route still answers like GET, without a body", async () => {
    const res = await t.daemon.app.request("/v2/clusters", { method: "HEAD" });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "");
  });

  it("happy: host names, cluster names and ids are kept exactly, never trimmed", async () => {
    const r = await t.call("POST", "/api/host", { name: " spaced ", type: "memory", daemon_url: "memory://s" });
    assert.equal(r.status, 400);
    assert.match(r.body.error, /^name: must not begin or end with whitespace/);
    const c = await t.call("POST", "/api/cluster", { name: "c\u0000x", size: 4 });
    assert.equal(c.status, 400);
    assert.match(c.body.error, /^name: must not contain control characters/);
    const f = await t.call("GET", "/v2/clusters?user_id=%09tab");
    assert.equal(f.status, 400);
    assert.match(f.body.error, /^user_id: must not contain control characters/);
    assert.equal((await t.call("GET", "/v2/clusters?user_id=")).status, 200, "an empty user_id filter still means free clusters");
  });
});
