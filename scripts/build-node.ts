/**
 * Bundles the chain node program (src/chain/main.ts) into one ES module, dist/chain-node.mjs,
 * so that each node of a local cluster starts as a plain `node dist/chain-node.mjs` process:
 * no TypeScript loader in every node, which keeps start-up fast and memory small.
 */
import { build } from "esbuild";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
await build({
  entryPoints: [`${root}src/chain/main.ts`],
  outfile: `${root}dist/chain-node.mjs`,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  logLevel: "warning",
  // The QuickJS package (loaded only when a JavaScript chaincode runs) is CommonJS and
  // calls require("fs") when it starts under Node: an ES module has no require of its own.
  banner: {
    js: [
      "// chainpool chain node (bundled by scripts/build-node.ts)",
      'import { createRequire as __chainpoolRequire } from "node:module";',
      "const require = __chainpoolRequire(import.meta.url);",
    ].join("\n"),
  },
});
