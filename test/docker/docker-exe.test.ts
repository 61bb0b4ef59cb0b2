import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { getJson, waitFor } from "../chain/helpers/chain-cluster.ts";
import { DaemonProcess } from "../helpers/daemon-process.ts";
import { containersOf, dockerDaemonToml, destroyDockerDaemon, docker, dockerHostToml, dockerSkipReason, startDockerDaemon } from "../helpers/docker.ts";
import { ensureExe } from "../helpers/exe.ts";
import { VERSION } from "../../src/lib/version.ts";

const skip = await dockerSkipReason();

describe("the standalone executable on a docker host", { skip }, () => {
  let d: DaemonProcess;
  let instance = "";
  before(async () => {
    const exe = await ensureExe();
    d = await DaemonProcess.create(dockerDaemonToml(dockerHostToml("dock", { capacity: 1 })), { command: [exe, "serve"] });
    instance = await startDockerDaemon(d);
  });
  after(() => destroyDockerDaemon(d, instance));

  it("builds the node image from itself and serves a cluster from it", { timeout: 180_000 }, async () => {
    await waitFor("a free cluster", async () => (await d.call("GET", "/api/stat")).body.data.clusters.free === 1, 150_000);
    const [node] = await containersOf(instance);
    const image = await docker.getImage(node!.ImageID).inspect();
    assert.deepEqual(image.Config.Entrypoint, ["/chainpool/bin/chainpool", "node"], "the executable is the node program");
    assert.equal(image.RepoTags[0]!.replace(/[0-9a-f]{16}$/, "HASH"), `chainpool-node:${VERSION}-HASH`);
    const applied = await d.call("POST", "/v2/cluster_op", { action: "apply", user_id: "exe-user" });
    assert.equal(applied.status, 200);
    const chain = await getJson(`${applied.body.data.api_url}/chain`);
    assert.equal(chain.status, 200);
    assert.equal(chain.body.height, 1);
  });
});
