import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { openApiPath } from "../../src/api/openapi.ts";
import { createTestDaemon, type TestDaemon } from "../helpers/daemon.ts";
import { openApi31Problems } from "../helpers/openapi-31.ts";

const OPERATOR = "operator-key-0123456789";
const FRONT = "front-key-0123456789ab";
const METRICS = "metrics-key-0123456789";

/** The APIs the document covers; the console (served at /) is a web page, not an API. */
const API_PATH = /^\/(v2|api)\/|^\/metrics$/;

describe("GET /api/openapi.json", () => {
  let t: TestDaemon;
  let doc: any;
  before(async () => {
    t = createTestDaemon();
    const res = await t.daemon.app.request("/api/openapi.json");
    assert.equal(res.status, 200);
    doc = await res.json();
  });
  after(async () => {
    await t.close();
  });

  it("documents every route the app registers under /v2, /api and /metrics, and no route it does not", () => {
    // Middleware (auth, the HEAD guard) registers as ALL; handlers register with their method.
    const registered = t.daemon.app.routes.filter((r) => r.method !== "ALL" && API_PATH.test(r.path)).map((r) => `${r.method} ${openApiPath(r.path)}`);
    assert.ok(registered.length >= 20, `found ${registered.length} routes`);
    const documented = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([path, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${path}`));
    const missing = registered.filter((r) => !documented.includes(r));
    assert.deepEqual(missing, [], "routes missing from the OpenAPI document");
    const phantom = documented.filter((d) => !registered.includes(d));
    assert.deepEqual(phantom, [], "documented routes the app does not have");
  });

  it("is a valid OpenAPI 3.1 document", () => {
    assert.deepEqual(openApi31Problems(doc), []);
  });

  it("the validator catches the mistakes it is there for", () => {
    const broken = structuredClone(doc);
    broken.openapi = "3.0.3";
    broken.paths["/api/host/{id}"].get.parameters = [];
    broken.paths["/api/hosts"].get.responses = {};
    broken.paths["/api/stat"].get.security = [{ nobodyKey: [] }];
    broken.paths["/api/stat"].get.operationId = broken.paths["/api/hosts"].get.operationId;
    broken.components.schemas.Cluster.properties.size.type = "int";
    broken.paths["/api/events"].get.responses["200"].content["application/json"].schema.properties.data.properties.events.items.$ref = "#/components/schemas/Nope";
    const problems = openApi31Problems(broken);
    for (const expected of [/^\/openapi: /, /path parameter \{id\} is not described/, /needs at least one response/, /undeclared security scheme nobodyKey/, /operationId .* also used/, /not a JSON Schema type/, /\$ref #\/components\/schemas\/Nope does not resolve/]) {
      assert.ok(problems.some((p) => expected.test(p)), `${expected} in ${JSON.stringify(problems)}`);
    }
  });

  it("takes its inputs from the handlers' own schemas: each documented field is one the handler knows", async () => {
    // A field the document names but the handler's list of fields lacks would be refused as
    // unknown. Each field alone, with a value no schema takes, must fail on its value instead.
    let checked = 0;
    for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
      for (const [method, op] of Object.entries(item)) {
        const fields: Array<[string, "query" | "body"]> = [
          ...((op.parameters ?? []) as Array<{ name: string; in: string }>).filter((p) => p.in === "query").map((p): [string, "query"] => [p.name, "query"]),
          ...Object.keys(
            Object.assign({}, ...((op.requestBody?.content?.["application/json"]?.schema?.anyOf ?? [op.requestBody?.content?.["application/json"]?.schema ?? {}]) as Array<{ properties?: object }>).map((s) => s.properties ?? {})),
          ).map((name): [string, "body"] => [name, "body"]),
        ];
        for (const [field, where] of fields) {
          const url = path.replace(/\{\w+\}/g, "x") + (where === "query" ? `?${field}=%01` : "");
          const init: RequestInit = { method: method.toUpperCase() };
          if (where === "body") {
            init.body = JSON.stringify({ [field]: [] });
            init.headers = { "content-type": "application/json" };
          }
          const res = await t.daemon.app.request(url, init);
          const body = (await res.json()) as { error: string };
          assert.equal(res.status, 400, `${method} ${path} ${field}: ${JSON.stringify(body)}`);
          assert.doesNotMatch(body.error, /unknown (field|filter|host field)/, `${method} ${path} ${field}`);
          checked++;
        }
      }
    }
    assert.ok(checked >= 40, `${checked} fields checked`);
  });

  it("serves the reference page with no outside resource, listing every route", async () => {
    const res = await t.daemon.app.request("/api/docs");
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/html/);
    assert.match(res.headers.get("content-security-policy") ?? "", /default-src 'none'/);
    const html = await res.text();
    assert.doesNotMatch(html, /<script|<link|@import|src=|url\(/i, "nothing loaded from anywhere");
    assert.doesNotMatch(html, /https?:\/\//, "no absolute URL at all");
    for (const [path, item] of Object.entries(doc.paths as Record<string, object>)) {
      for (const method of Object.keys(item)) assert.ok(html.includes(`${method.toUpperCase()}</span> <code>${path}</code>`), `${method} ${path} on the page`);
    }
  });
});

describe("who may read the API document and page", () => {
  it("needs the operator key when keys are configured", async () => {
    const t = createTestDaemon({ api: { operator_keys: [OPERATOR], front_keys: [FRONT], metrics_keys: [METRICS] } });
    try {
      for (const path of ["/api/openapi.json", "/api/docs"]) {
        const status = async (key?: string) => (await t.daemon.app.request(path, { headers: key ? { authorization: `Bearer ${key}` } : {} })).status;
        assert.equal(await status(), 401, path);
        assert.equal(await status(FRONT), 403, path);
        assert.equal(await status(METRICS), 403, path);
        assert.equal(await status(OPERATOR), 200, path);
      }
    } finally {
      await t.close();
    }
  });
});
