/**
 * Bundles the chain node program (src/chain/main.ts) into dist/chain-node.mjs, so that each
 * node of a local cluster starts as a plain `node dist/chain-node.mjs` process: no TypeScript
 * loader in every node, which keeps start-up fast and memory small.
 *
 * What a node loads only on demand (the JavaScript chaincode engine: QuickJS and its wasm,
 * about 1 MB of text) goes into chunks beside it, `dist/chain-node-*.mjs`, which the node
 * imports the first time it needs them: a node that never runs JavaScript chaincode does not
 * read, parse or keep them. The docker image takes the chunks with the bundle.
 */
import { build } from "esbuild";
import { readdirSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const dist = `${root}dist`;
// Chunks of an earlier build would otherwise pile up (their names carry a content hash).
for (const name of safeList(dist)) if (/^chain-node-.*\.mjs$/.test(name)) rmSync(`${dist}/${name}`);
await build({
  entryPoints: { "chain-node": `${root}src/chain/main.ts` },
  outdir: dist,
  outExtension: { ".js": ".mjs" },
  chunkNames: "chain-node-[name]-[hash]",
  splitting: true,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  logLevel: "warning",
  banner: {
    js: [
      "// chainpool chain node (bundled by scripts/build-node.ts)",
      'import { createRequire as __chainpoolRequire } from "node:module";',
      "const require = __chainpoolRequire(import.meta.url);",
    ].join("\n"),
  },
});

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
