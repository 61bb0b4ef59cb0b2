/**
 * The chaincode type declarations (types/): the TypeScript example compiles against them
 * with tsc, the JavaScript examples check against them (checkJs, through their JSDoc), and
 * calls the sandbox does not have, or makes with the wrong arguments, fail to compile,
 * each with the diagnostic a user would see.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ROOT } from "../chain/helpers/chain-cluster.ts";

const TSC = join(ROOT, "node_modules", "typescript", "bin", "tsc");
const TYPES = join(ROOT, "types");

function tsc(...args: string[]): { status: number | null; output: string } {
  const result = spawnSync(process.execPath, [TSC, ...args], { cwd: ROOT, encoding: "utf8" });
  return { status: result.status, output: result.stdout + result.stderr };
}

/** Diagnostics as "file(line): TSxxxx", file relative to the project. */
function diagnostics(output: string): string[] {
  return [...output.matchAll(/^(?:.*\/)?([\w.-]+)\((\d+),\d+\): error (TS\d+)/gm)].map((m) => `${m[1]}(${m[2]}): ${m[3]}`);
}

let scratch: string;
before(() => {
  scratch = mkdtempSync(join(tmpdir(), "chainpool-cc-types-"));
});
after(() => rmSync(scratch, { recursive: true, force: true }));

describe("chaincode type declarations", () => {
  it("the TypeScript example compiles against them, strict, to CommonJS the sandbox loads", () => {
    const out = join(scratch, "ts-token-dist");
    const result = tsc("-p", join(ROOT, "examples", "ts-token"), "--outDir", out);
    assert.equal(result.status, 0, result.output);
    const index = readFileSync(join(out, "index.js"), "utf8");
    assert.match(index, /exports\.contracts = \[token_1\.Token\]/);
    assert.match(readFileSync(join(out, "token.js"), "utf8"), /require\("fabric-contract-api"\)/);
  });

  it("the JavaScript examples check against them through their JSDoc", () => {
    const project = join(scratch, "js-examples");
    cpSync(join(ROOT, "examples", "marbles-shim"), join(project, "marbles-shim"), { recursive: true });
    cpSync(join(ROOT, "examples", "asset-contract"), join(project, "asset-contract"), { recursive: true });
    const config = { compilerOptions: { noEmit: true, allowJs: true, checkJs: true, target: "ES2020", module: "commonjs", lib: ["ES2020"], types: [] }, include: ["**/*.js", TYPES] };
    writeFileSync(join(project, "tsconfig.json"), JSON.stringify(config));
    const clean = tsc("-p", project);
    assert.equal(clean.status, 0, clean.output);

    // The check is real: a wrong call in an example is reported.
    const file = join(project, "asset-contract", "lib", "asset-transfer.js");
    const source = readFileSync(file, "utf8");
    assert.ok(source.includes("await ctx.stub.deleteState(id);"));
    writeFileSync(file, source.replace("await ctx.stub.deleteState(id);", "await ctx.stub.deleteState(id, true);"));
    const broken = tsc("-p", project);
    assert.notEqual(broken.status, 0);
    assert.match(broken.output, /asset-transfer\.js\(\d+,\d+\): error TS2554: Expected 1 arguments, but got 2/);
  });

  it("what the sandbox lacks, and wrong arguments, fail to compile with the diagnostic a user sees", () => {
    const project = join(scratch, "wrong");
    cpSync(join(ROOT, "examples", "ts-token"), project, { recursive: true, filter: (path) => !path.includes("dist") });
    writeFileSync(
      join(project, "tsconfig.json"),
      JSON.stringify({ ...JSON.parse(readFileSync(join(project, "tsconfig.json"), "utf8")), include: ["src", TYPES] }),
    );
    writeFileSync(
      join(project, "src", "wrong.ts"),
      [
        'import * as shim from "fabric-shim";',
        'import { Context, Contract } from "fabric-contract-api";',
        "export class Wrong extends Contract {",
        "  async numberAsValue(ctx: Context) { await ctx.stub.putState(\"k\", 42); }", // line 4
        "  async privateData(ctx: Context) { await ctx.stub.getPrivateData(\"c\", \"k\"); }", // 5
        "  async richQuery(ctx: Context) { ctx.stub.getQueryResult(\"{}\"); }", // 6
        "  async halfRange(ctx: Context) { ctx.stub.getStateByRange(\"a\"); }", // 7
        "  async env() { return process.env[\"HOME\"]; }", // 8
        "  async timer() { setTimeout(() => undefined, 1); }", // 9
        "  async fs() { const fs = await import(\"fs\"); return fs; }", // 10
        "}",
        "shim.start({ Init: async () => shim.success() });", // 12
        "shim.success(42);", // 13
        "",
      ].join("\n"),
    );
    const result = tsc("-p", project);
    assert.notEqual(result.status, 0);
    const found = diagnostics(result.output);
    for (const expected of [
      "wrong.ts(4): TS2345", // 42 is not Uint8Array | string
      "wrong.ts(5): TS2339", // no getPrivateData
      "wrong.ts(6): TS2339", // no getQueryResult
      "wrong.ts(7): TS2554", // getStateByRange takes two keys
      "wrong.ts(8): TS2591", // no process (no Node in the sandbox)
      "wrong.ts(9): TS2304", // no setTimeout
      "wrong.ts(10): TS2307", // no fs module
      "wrong.ts(12): TS2345", // Invoke missing
      "wrong.ts(13): TS2345", // payload must be bytes or text
    ]) {
      assert.ok(found.includes(expected), `expected ${expected} in:\n${result.output}`);
    }
    assert.deepEqual(found.filter((d) => !d.startsWith("wrong.ts")), [], "the example's own files still compile");
  });
});
