import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { downCommandLine } from "../../src/cli/down.ts";

describe("the down command line a stopping daemon prints", () => {
  it("is the shortest that names the instance: defaults left out", () => {
    assert.equal(downCommandLine({ program: ["npm", "start", "--"], listen: "127.0.0.1:8080", dataDir: "/src/chainpool/data", cwd: "/src/chainpool" }), "npm start -- down");
  });

  it("names the address and data directory that differ from the defaults", () => {
    assert.equal(
      downCommandLine({ program: ["/usr/local/bin/chainpool"], listen: "0.0.0.0:8081", dataDir: "/tmp/pool2", cwd: "/home/me" }),
      "/usr/local/bin/chainpool down --url http://127.0.0.1:8081 --data /tmp/pool2",
    );
  });

  it("names the config file (which gives the address and key) and always the data directory with it", () => {
    assert.equal(
      downCommandLine({ program: ["/usr/local/bin/chainpool"], configFile: "/etc/chainpool/config.toml", listen: "127.0.0.1:9000", dataDir: "/var/lib/chainpool", cwd: "/" }),
      "/usr/local/bin/chainpool down --config /etc/chainpool/config.toml --data /var/lib/chainpool",
    );
  });

  it("leaves out the data directory the config file names itself", () => {
    assert.equal(
      downCommandLine({ program: ["chainpool"], configFile: "/etc/pool.toml", configDataDir: "/srv/pool", listen: "127.0.0.1:8080", dataDir: "/srv/pool", cwd: "/" }),
      "chainpool down --config /etc/pool.toml",
    );
  });

  it("quotes words a shell would split", () => {
    assert.equal(
      downCommandLine({ program: ["/opt/my pool/chainpool"], listen: "127.0.0.1:8080", dataDir: "/data/it's", cwd: "/" }),
      `'/opt/my pool/chainpool' down --data '/data/it'\\''s'`,
    );
  });
});
