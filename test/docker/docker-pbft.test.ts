import { after, before, describe, it } from "node:test";
import { DaemonProcess } from "../helpers/daemon-process.ts";
import { dockerDaemonToml, destroyDockerDaemon, dockerHostToml, dockerSkipReason, startDockerDaemon } from "../helpers/docker.ts";
import { applyPbftAndCheck, PBFT_POOL_TOML } from "../helpers/pbft-pool.ts";

const skip = await dockerSkipReason();

describe("pbft clusters through a real daemon on a docker host", { skip }, () => {
  let d: DaemonProcess;
  let instance = "";
  before(async () => {
    d = await DaemonProcess.create(dockerDaemonToml(dockerHostToml("dock", { capacity: 2 }), { tables: PBFT_POOL_TOML }));
    instance = await startDockerDaemon(d);
  });
  after(() => destroyDockerDaemon(d, instance));

  for (const mode of ["classic", "batch"] as const) {
    it(`pbft/${mode}: applied by type, passes the example02 check through api_url`, { timeout: 180_000 }, async () => {
      await applyPbftAndCheck(d, mode);
    });
  }
});
