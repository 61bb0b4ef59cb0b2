/**
 * What `chainpool chaincode deploy` sends: packages made from a file or a directory (read back
 * with GNU tar), and the call read from --ctor, --args and the words after the target.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { gunzipSync } from "node:zlib";
import { packChaincode } from "../../src/cli/chaincode-package.ts";
import { parseCtorMsg } from "../../src/cli/chaincode.ts";
import { CliError, EXIT } from "../../src/cli/exit-codes.ts";

let scratch: string;
before(() => {
  scratch = mkdtempSync(join(tmpdir(), "chainpool-ccpack-"));
});
after(() => rmSync(scratch, { recursive: true, force: true }));

/** Writes files (path -> text) under a fresh directory and answers it. */
function tree(name: string, files: Record<string, string>): string {
  const dir = join(scratch, name);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

/** Asserts that `action` throws a usage error (exit 2) whose message matches. */
async function rejectsUsage(action: () => Promise<unknown> | unknown, message: RegExp): Promise<void> {
  await assert.rejects(async () => action(), (err: unknown) => {
    assert.ok(err instanceof CliError, String(err));
    assert.equal(err.exitCode, EXIT.USAGE);
    assert.match(err.message, message);
    return true;
  });
}

const listing = (bytes: Buffer) => {
  const list = spawnSync("tar", ["-tz", "-f", "-"], { input: bytes, encoding: "utf8" });
  assert.equal(list.status, 0, list.stderr);
  return list.stdout.trim().split("\n");
};

describe("chaincode packages from a directory", () => {
  it("packs every file but dot files and node_modules into a gzip'd tar GNU tar reads, named by package.json", async () => {
    const dir = tree("contract", {
      "package.json": JSON.stringify({ name: "asset-contract", main: "index.js" }),
      "index.js": "module.exports.contracts = [require('./lib/asset.js')];",
      "lib/asset.js": "module.exports = class {};",
      "lib/util/keys.js": "module.exports = {};",
      "node_modules/fabric-contract-api/index.js": "// installed for local tests, provided by the sandbox",
      ".git/HEAD": "ref: refs/heads/main",
      ".eslintrc.json": "{}",
    });
    const packed = await packChaincode(dir);
    assert.equal(packed.kind, "directory");
    assert.equal(packed.label, "asset-contract");
    assert.deepEqual(packed.files, ["index.js", "lib/asset.js", "lib/util/keys.js", "package.json"]);
    assert.deepEqual(listing(packed.bytes), packed.files);
    const out = join(scratch, "unpacked");
    mkdirSync(out);
    assert.equal(spawnSync("tar", ["-xz", "-C", out, "-f", "-"], { input: packed.bytes }).status, 0);
    assert.equal(spawnSync("cat", [join(out, "lib/asset.js")], { encoding: "utf8" }).stdout, "module.exports = class {};");
  });

  it("makes the same bytes from the same sources, so a redeploy gets the same name", async () => {
    const files = { "package.json": JSON.stringify({ main: "main.js" }), "main.js": "// a", "b/c.js": "// c" };
    const one = await packChaincode(tree("same-1", files));
    const two = await packChaincode(tree("same-2", files));
    assert.deepEqual(one.bytes, two.bytes);
    assert.equal(one.label, "same-1", "without a package name, the directory's name");
    assert.notDeepEqual((await packChaincode(tree("other", { ...files, "main.js": "// b" }))).bytes, one.bytes);
    assert.equal(gunzipSync(one.bytes).length % 512, 0);
  });

  it("finds main as require() would: with .js added, or a directory's index.js, or index.js without main", async () => {
    await packChaincode(tree("main-default", { "package.json": "{}", "index.js": "" }));
    await packChaincode(tree("main-ext", { "package.json": JSON.stringify({ main: "./lib/start" }), "lib/start.js": "" }));
    await packChaincode(tree("main-dir", { "package.json": JSON.stringify({ main: "lib" }), "lib/index.js": "" }));
  });

  it("follows a symlink to a file, and refuses one to a directory naming it", async () => {
    const dir = tree("links", { "package.json": JSON.stringify({ main: "index.js" }), "real.js": "// real" });
    symlinkSync(join(dir, "real.js"), join(dir, "index.js"));
    assert.deepEqual((await packChaincode(dir)).files, ["index.js", "package.json", "real.js"]);
    symlinkSync(scratch, join(dir, "up"));
    await rejectsUsage(() => packChaincode(dir), /links\/up: a symlink to a directory/);
  });

  it("refuses a directory without package.json, without main, or whose main is not packed, naming the file", async () => {
    await rejectsUsage(() => packChaincode(tree("no-manifest", { "index.js": "" })), /no-manifest\/package\.json: missing; .*"main"/);
    await rejectsUsage(() => packChaincode(tree("bad-json", { "package.json": "{main:" })), /bad-json\/package\.json: not valid JSON/);
    await rejectsUsage(() => packChaincode(tree("no-main", { "package.json": "{}", "start.js": "" })), /no-main\/package\.json: no "main", and no index\.js/);
    await rejectsUsage(() => packChaincode(tree("main-number", { "package.json": '{"main": 1}', "index.js": "" })), /main-number\/package\.json: "main" must name the entry file/);
    await rejectsUsage(
      () => packChaincode(tree("main-in-modules", { "package.json": JSON.stringify({ main: "node_modules/x/index.js" }), "node_modules/x/index.js": "" })),
      /"main" names "node_modules\/x\/index\.js", which is not in the package/,
    );
  });
});

describe("chaincode packages from a file", () => {
  it("sends a .js, .cjs or .mjs file as it is, named by its base name", async () => {
    const dir = tree("files", { "marbles.js": "// shim chaincode", "esm.mjs": "export default 1;" });
    const packed = await packChaincode(join(dir, "marbles.js"));
    assert.deepEqual([packed.kind, packed.label, packed.bytes.toString()], ["file", "marbles", "// shim chaincode"]);
    assert.equal((await packChaincode(join(dir, "esm.mjs"))).label, "esm");
  });

  it("sends a .tar.gz as it is, and refuses one that is not gzip", async () => {
    const dir = tree("archives", { "package.json": JSON.stringify({ main: "index.js" }), "index.js": "" });
    const made = await packChaincode(dir);
    const file = join(scratch, "made.tar.gz");
    writeFileSync(file, made.bytes);
    const taken = await packChaincode(file);
    assert.deepEqual([taken.kind, taken.label, taken.bytes], ["archive", "made", made.bytes]);
    writeFileSync(join(scratch, "fake.tgz"), "not gzip");
    await rejectsUsage(() => packChaincode(join(scratch, "fake.tgz")), /fake\.tgz: named like a \.tar\.gz but not gzip data/);
  });

  it("refuses TypeScript, other files, empty files and missing paths, naming the path", async () => {
    const dir = tree("others", { "cc.ts": "export {}", "notes.txt": "x", "empty.js": "" });
    await rejectsUsage(() => packChaincode(join(dir, "cc.ts")), /cc\.ts: TypeScript; compile it/);
    await rejectsUsage(() => packChaincode(join(dir, "notes.txt")), /notes\.txt: expected a JavaScript file/);
    await rejectsUsage(() => packChaincode(join(dir, "empty.js")), /empty\.js: the file is empty/);
    await rejectsUsage(() => packChaincode(join(dir, "gone.js")), /gone\.js: no such file or directory/);
  });
});

describe("the call a chaincode command sends", () => {
  const flags = (values: Record<string, string | string[]>) => values as unknown as Record<string, string | boolean | undefined>;

  it("takes the function and arguments from the words after the target", () => {
    assert.deepEqual(parseCtorMsg(["move", "a", "b", "10"], {}, "invoke"), { function: "move", args: ["a", "b", "10"] });
  });

  it("takes --ctor FN with the words, repeated --args, or one --args JSON array", () => {
    assert.deepEqual(parseCtorMsg(["a", "100"], flags({ ctor: "init" }), "deploy"), { function: "init", args: ["a", "100"] });
    assert.deepEqual(parseCtorMsg([], flags({ ctor: "put", args: ["k", "v"] }), "invoke"), { function: "put", args: ["k", "v"] });
    assert.deepEqual(parseCtorMsg([], flags({ ctor: "put", args: ['["-k", 7, true]'] }), "invoke"), { function: "put", args: ["-k", "7", "true"] });
    assert.deepEqual(parseCtorMsg(["get"], flags({ args: ['["k"]'] }), "query"), { function: "get", args: ["k"] });
  });

  it("takes Fabric's ctorMsg JSON in --ctor, in both spellings", () => {
    assert.deepEqual(parseCtorMsg([], flags({ ctor: '{"function":"init","args":["a","1"]}' }), "deploy"), { function: "init", args: ["a", "1"] });
    assert.deepEqual(parseCtorMsg([], flags({ ctor: '{"Args":["init","a","1"]}' }), "deploy"), { function: "init", args: ["a", "1"] });
  });

  it("calls init when a deploy names no function", () => {
    assert.deepEqual(parseCtorMsg([], {}, "deploy"), { function: "init", args: [] });
  });

  it("refuses what it cannot read, naming the flag", async () => {
    await rejectsUsage(() => parseCtorMsg([], {}, "invoke"), /invoke: which function\? give --ctor FN/);
    await rejectsUsage(() => parseCtorMsg([], {}, "query"), /query: which function\?/);
    await rejectsUsage(() => parseCtorMsg([], flags({ ctor: "" }), "invoke"), /--ctor: the function name is empty/);
    await rejectsUsage(() => parseCtorMsg([], flags({ ctor: "{nope" }), "invoke"), /--ctor: not valid JSON/);
    await rejectsUsage(() => parseCtorMsg([], flags({ ctor: '{"args":[]}' }), "invoke"), /--ctor: expected \{"function"/);
    await rejectsUsage(() => parseCtorMsg(["x"], flags({ ctor: '{"Args":["f"]}' }), "invoke"), /--ctor: a JSON ctorMsg holds the arguments too/);
    await rejectsUsage(() => parseCtorMsg(["f", "x"], flags({ args: ["y"] }), "invoke"), /--args: give the arguments either as --args or after the function/);
    await rejectsUsage(() => parseCtorMsg(["f"], flags({ args: ["[1,"] }), "invoke"), /--args: starts with "\[" but is not a JSON array/);
    await rejectsUsage(() => parseCtorMsg(["f"], flags({ args: ['["a", {"b": 1}]'] }), "invoke"), /--args\[1\]: expected a string/);
  });
});
