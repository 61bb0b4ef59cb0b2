import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { DaemonProcess } from "../helpers/daemon-process.ts";
import { daemonToml, dockerHostToml, dockerSkipReason, instanceOf, removeInstance } from "../helpers/docker.ts";
import { applyPbftAndCheck, PBFT_POOL_TOML } from "../helpers/pbft-pool.ts";

const skip = await dockerSkipReason();

describe("pbft clusters through a real daemon on a docker host", { skip }, () => {
  let d: DaemonProcess;
  let instance = "";
  before(async () => {
    d = await DaemonProcess.create(daemonToml(dockerHostToml("dock", { capacity: 2 }), { tables: PBFT_POOL_TOML }));
    await d.start();
    instance = instanceOf(join(d.dir, "data"));
  });
  after(async () => {
    await d.kill("SIGKILL");
    if (instance) await removeInstance(instance);
    await d.destroy();
  });

  for (const mode of ["classic", "batch"] as const) {
    it(`pbft/${mode}: applied by type, passes the example02 check through api_url`, { timeout: 180_000 }, async () => {
      await applyPbftAndCheck(d, mode);
    });
  }
});
