/**
 * The local host's probe client (issue 13, density): rounds of health probes reuse one
 * kept-alive connection per node, and no error it raises quotes the URL, which carries the
 * cluster's secret. A real HTTP server in this process.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { createJsonGetter } from "../../src/drivers/json-getter.ts";

const SECRET = "s3cr3t-s3cr3t-s3cr3t-s3cr3t";
let server: Server;
let base = "";
let connections = 0;
before(async () => {
  server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    if (req.url?.endsWith("/silent")) return; // never answers
    const body = req.url?.endsWith("/text") ? "not json" : JSON.stringify({ path: req.url });
    res.writeHead(req.url?.endsWith("/missing") ? 404 : 200, { "content-type": "application/json" });
    res.end(body);
  });
  server.on("connection", () => connections++);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/${SECRET}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

describe("createJsonGetter", () => {
  it("answers status and JSON body, and sequential GETs share one connection", async () => {
    const getter = createJsonGetter();
    try {
      const before = connections;
      for (let round = 0; round < 5; round++) {
        assert.deepEqual(await getter.get(`${base}/chain`, 2_000), { status: 200, body: { path: `/${SECRET}/chain` } });
      }
      assert.deepEqual(await getter.get(`${base}/missing`, 2_000), { status: 404, body: { path: `/${SECRET}/missing` } });
      assert.equal(connections - before, 1, "every GET after the first reused the kept-alive connection");
    } finally {
      getter.close();
    }
  });

  it("fails on a body that is not JSON, a silent server and a closed port, never quoting the URL", async () => {
    const getter = createJsonGetter();
    try {
      const closed = createServer();
      await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
      const closedUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/${SECRET}/chain`;
      await new Promise<void>((resolve) => closed.close(() => resolve()));
      for (const [url, pattern] of [
        [`${base}/text`, /not JSON/],
        [`${base}/silent`, /no answer within 200 ms/],
        [closedUrl, /ECONNREFUSED/],
      ] as const) {
        await assert.rejects(getter.get(url, 200), (error: Error) => {
          assert.match(error.message, pattern);
          assert.ok(!error.message.includes(SECRET), `the error quotes the secret: ${error.message}`);
          return true;
        });
      }
    } finally {
      getter.close();
    }
  });
});
