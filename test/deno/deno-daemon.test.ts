/**
 * The daemon from the same sources under Deno 2 (`deno run`, packages from node_modules,
 * the node:sqlite driver, chain nodes run by Deno too): it serves, a cluster is applied for,
 * its api_url answers, it is released, and SIGTERM stops it with exit 0. Deno comes from
 * the `deno` dev dependency's platform package (or DENO_BIN).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { ROOT, waitFor } from "../chain/helpers/chain-cluster.ts";
import { DaemonProcess, localPoolToml } from "../helpers/daemon-process.ts";
import { assertConsoleServes } from "../helpers/console.ts";

const deno = process.env["DENO_BIN"] ?? join(ROOT, "node_modules/@deno/linux-x64-glibc/deno");
/**
 * The daemon serves, calls nodes, writes its data and spawns nodes, and the local driver
 * finds its node processes in /proc, which Deno opens only with --allow-all.
 */
const DENO_PERMISSIONS = ["--allow-all"];

describe("the daemon under Deno", () => {
  let daemon: DaemonProcess | undefined;
  after(async () => {
    if (process.env["KEEP_LOG"]) console.error(daemon?.log());
    await daemon?.destroy();
  });

  it("serves, applies, releases, and exits 0 on SIGTERM", async () => {
    daemon = await DaemonProcess.create(
      localPoolToml({ capacity: 1, size: 2, autofill: true }),
      { command: [deno, "run", ...DENO_PERMISSIONS, join(ROOT, "src/main.ts"), "serve"] },
    );
    await daemon.start();
    const serving = daemon.log().split("\n").find((l) => l.includes('"chainpool serving"'));
    assert.ok(serving, daemon.log());
    assert.deepEqual(
      (({ runtime, sqlite }) => ({ runtime, sqlite }))(JSON.parse(serving) as { runtime: string; sqlite: string }),
      { runtime: "deno", sqlite: "node:sqlite" },
    );

    await assertConsoleServes(daemon.url);

    const applied = await waitFor(
      "apply to find a ready cluster",
      async () => {
        const r = await daemon!.call("POST", "/v2/cluster_op", { action: "apply", user_id: "deno-user" });
        return r.status === 200 ? (r.body.data as { id: string; api_url: string }) : undefined;
      },
      30_000,
    );
    const chain = await fetch(`${applied.api_url}/chain`);
    assert.equal(chain.status, 200);
    // The nodes run under Deno as well.
    const nodes = daemon.nodeProcesses().filter((p) => p.clusterId === applied.id);
    assert.equal(nodes.length, 2);
    for (const node of nodes) assert.equal(readFileSync(`/proc/${node.pid}/cmdline`, "utf8").split("\0")[0], deno);

    const released = await daemon.call("POST", "/v2/cluster_op", { action: "release", cluster_id: applied.id });
    assert.equal(released.status, 200, JSON.stringify(released.body));
    const after = await daemon.call("GET", `/v2/clusters?user_id=deno-user`);
    assert.deepEqual(after.body.data, []);

    assert.equal(await daemon.kill("SIGTERM"), 0, daemon.log().slice(-2000));
  });
});
