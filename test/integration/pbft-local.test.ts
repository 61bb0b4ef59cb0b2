/**
 * pbft clusters through a real daemon on a local host: the pool fills with pbft/classic
 * and pbft/batch clusters, each is applied by type, and Cello's example02 check passes
 * through its api_url.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { getJson } from "../chain/helpers/chain-cluster.ts";
import { DaemonProcess, fastSchedulerToml } from "../helpers/daemon-process.ts";
import { applyPbftAndCheck, PBFT_POOL_TOML } from "../helpers/pbft-pool.ts";

function pbftPoolToml({ listen, min, max }: { listen: number; min: number; max: number }): string {
  return `
listen = "127.0.0.1:${listen}"
log_json = true
[ports]
min = ${min}
max = ${max}
${PBFT_POOL_TOML}[[hosts]]
name = "local"
type = "local"
capacity = 2
autofill = true
${fastSchedulerToml}`;
}

describe("pbft clusters through a real daemon on a local host", () => {
  let d: DaemonProcess;
  before(async () => {
    d = await DaemonProcess.create(pbftPoolToml);
    await d.start();
  });
  after(async () => d.destroy());

  for (const mode of ["classic", "batch"] as const) {
    it(`pbft/${mode}: applied by type, passes the example02 check, healthy with view and primary in /status`, { timeout: 120_000 }, async () => {
      const applied = await applyPbftAndCheck(d, mode);

      const service = applied.service_url;
      const heads = await Promise.all(Object.values(service).map(async (url) => (await getJson(`${url}/chain`)).body));
      for (const head of heads) assert.deepEqual(head, heads[0], "every node holds the same chain");
    });
  }
});
