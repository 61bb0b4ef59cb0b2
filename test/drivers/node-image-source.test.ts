/**
 * The docker node image carries what a node runs with: the runtime, its libraries, and the
 * chain node bundle with the chunks it imports on demand (scripts/build-node.ts splits the
 * JavaScript chaincode engine out of the bundle). A chunk left out would fail only the first
 * JavaScript deploy on a docker or swarm host.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { nodeImageSource } from "../../src/drivers/docker/image.ts";

describe("nodeImageSource", () => {
  it("takes the bundle's chunks beside it, and nothing else of its directory", async () => {
    const dir = mkdtempSync(join(tmpdir(), "chainpool-image-"));
    try {
      for (const name of ["chain-node.mjs", "chain-node-chunk-A1.mjs", "chain-node-dist-B2.mjs", "other.mjs", "chain-node-notes.txt"]) {
        writeFileSync(join(dir, name), `// ${name}\n`);
      }
      const source = await nodeImageSource([process.execPath, join(dir, "chain-node.mjs")]);
      const lib = source.entries.filter((e) => e.kind === "file" && e.name.startsWith("chainpool/lib/")).map((e) => e.name);
      assert.deepEqual(lib, ["chainpool/lib/chain-node.mjs", "chainpool/lib/chain-node-chunk-A1.mjs", "chainpool/lib/chain-node-dist-B2.mjs"]);
      assert.deepEqual(source.entrypoint.slice(1), ["/chainpool/lib/chain-node.mjs"]);

      writeFileSync(join(dir, "chain-node-chunk-A1.mjs"), "// changed\n");
      const again = await nodeImageSource([process.execPath, join(dir, "chain-node.mjs")]);
      assert.notEqual(again.tag, source.tag, "a changed chunk is a new image");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
