/**
 * An idle node keeps its connections between health probes (issue 13, density): a real node
 * process offers every client, the daemon's probe and its peers, a keep-alive longer than
 * the probe period and than the peers' own idle limit, so that idle rounds reuse connections
 * and the client side is always the one that closes an idle one.
 */
import assert from "node:assert/strict";
import { request } from "node:http";
import { after, before, describe, it } from "node:test";
import { parseConfig } from "../../src/config/load.ts";
import { PEER_CLIENT_IDLE_MS } from "../../src/chain/rest/http-client.ts";
import { newUrlSecret } from "../../src/lib/url-secret.ts";
import { startCluster } from "./helpers/chain-cluster.ts";
import type { TestCluster } from "./helpers/chain-cluster.ts";

let cluster: TestCluster;
before(async () => {
  cluster = await startCluster({ size: 1, urlSecret: newUrlSecret() });
});
after(async () => {
  await cluster?.close();
});

function keepAliveHeader(url: string): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { connection: "keep-alive" } }, (res) => {
      res.resume();
      res.on("end", () => resolve(String(res.headers["keep-alive"] ?? "")));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("a node's keep-alive", () => {
  it("outlasts the daemon's health probe period and the peers' idle limit, on client and peer routes", async () => {
    const node = cluster.node("vp0");
    const config = parseConfig({});
    // The full probe of an idle local cluster (vp0 pinging its peers) comes every http_probe_s.
    const probePeriodMs = Math.max(config.scheduler.health_check_s, config.local.http_probe_s) * 1000;
    assert.ok(PEER_CLIENT_IDLE_MS > probePeriodMs, "the peers keep their connections from one full probe to the next");
    for (const url of [`${node.clientUrl}/chain`, `${node.url}/peer/ping`]) {
      const header = await keepAliveHeader(url);
      const seconds = Number(/timeout=(\d+)/.exec(header ?? "")?.[1]);
      assert.ok(seconds * 1000 > probePeriodMs, `${url}: keep-alive "${header}" ends before the next probe (every ${probePeriodMs} ms)`);
      assert.ok(seconds * 1000 > PEER_CLIENT_IDLE_MS, `${url}: keep-alive "${header}" ends before the peers' own idle limit`);
    }
  });
});
