import assert from "node:assert/strict";
import { getJson, waitFor } from "../chain/helpers/chain-cluster.ts";
import type { DaemonProcess } from "./daemon-process.ts";
import { runExample02 } from "./example02.ts";

/** Config tables for a pool of pbft/classic and pbft/batch 4-node clusters. */
export const PBFT_POOL_TOML = `
[pool]
types = [{ plugin = "pbft", mode = "classic", size = 4 }, { plugin = "pbft", mode = "batch", size = 4 }]
[consensus.pbft]
batch_size = 100
batch_timeout_ms = 50
`;

/**
 * Waits for a free pbft cluster of the mode, applies for it by type, runs the example02
 * check through its api_url and checks the consensus status vp0 reports. Answers the reply.
 */
export async function applyPbftAndCheck(d: DaemonProcess, mode: "classic" | "batch"): Promise<{ api_url: string; service_url: Record<string, string> }> {
  await waitFor(
    `a free pbft/${mode} cluster`,
    async () => {
      const free = (await d.call("POST", "/v2/clusters", { user: "", status: "running", health: "OK" })).body.data as any[];
      return free.some((c) => c.consensus_plugin === "pbft" && c.consensus_mode === mode);
    },
    120_000,
  );
  const applied = await d.call("POST", "/v2/cluster_op", { action: "apply", user_id: `user-${mode}`, consensus_plugin: "pbft", consensus_mode: mode, size: 4 });
  assert.equal(applied.status, 200, JSON.stringify(applied.body));
  assert.equal(applied.body.data.consensus_plugin, "pbft");
  assert.equal(applied.body.data.consensus_mode, mode);
  const apiUrl = applied.body.data.api_url as string;
  await runExample02(apiUrl);
  assert.equal((await getJson(`${apiUrl}/network/peers`)).body.peers.length, 4);

  const status = (await getJson(`${apiUrl}/status`)).body;
  assert.equal(status.consensus.plugin, "pbft");
  assert.equal(status.consensus.mode, mode);
  assert.equal(status.consensus.primary, "vp0");
  assert.equal(typeof status.consensus.view, "number");
  assert.equal(typeof status.consensus.last_stable_checkpoint, "number");
  assert.ok(status.consensus.last_committed >= 2);
  assert.equal(status.peers_connected.length, 3);
  return applied.body.data;
}
