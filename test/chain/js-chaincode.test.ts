/**
 * JavaScript chaincode executed in-process: the package parser, the sandbox, the executor
 * with real QuickJS (no node processes; the cluster side is js-chaincode-cluster.test.ts).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { before, describe, it } from "node:test";
import { executeBlock, queryChaincode } from "../../src/chain/chaincode/executor.ts";
import { JsEngine } from "../../src/chain/chaincode/js/engine.ts";
import { JsChaincodes } from "../../src/chain/chaincode/js/js-chaincodes.ts";
import { parseCodePackage } from "../../src/chain/chaincode/js/package.ts";
import { esmToCommonJs } from "../../src/chain/chaincode/js/esm-to-cjs.ts";
import { JsSandbox } from "../../src/chain/chaincode/js/sandbox.ts";
import type { Transaction } from "../../src/chain/ledger/block.ts";
import { WorldState } from "../../src/chain/ledger/world-state.ts";
import { silentLogger } from "../../src/chain/log/logger.ts";
import { tx } from "./helpers/fixtures.ts";
import { fileCodePackage, tarCodePackage, textCodePackage } from "./helpers/js-packages.ts";

function deployTx(codePackage: string, fn = "init", args: string[] = [], path = "test-cc"): Transaction {
  return { ...tx("deploy", { path }, fn, args), codePackage };
}

/** A node's execution side: its state and its JavaScript runtime (an engine of its own). */
class Node {
  readonly state = new WorldState();
  readonly js: JsChaincodes;
  constructor(engine: JsEngine) {
    this.js = new JsChaincodes({ engine, log: silentLogger });
  }
  commit(...txs: Transaction[]) {
    const execution = executeBlock(this.state, txs, Infinity, this.js);
    this.state.apply(execution.writes);
    return execution;
  }
  query(name: string, fn: string, ...args: string[]) {
    return queryChaincode(this.state, { name }, fn, args, this.js, { seconds: 5, nanos: 0 });
  }
}

let engineA: JsEngine;
let engineB: JsEngine;
before(async () => {
  engineA = new JsEngine();
  engineB = new JsEngine();
  await Promise.all([engineA.load(), engineB.load()]);
});

describe("the code package", () => {
  it("takes one CommonJS file, one ES module, and a gzip'd tar whose package.json names the entry", () => {
    const cjs = parseCodePackage(textCodePackage("module.exports = 1;"), 1 << 20);
    assert.ok(cjs.ok && cjs.pkg.main === "index.js");
    const esm = parseCodePackage(textCodePackage("import shim from 'fabric-shim';\nexport default class X {}\n"), 1 << 20);
    assert.ok(esm.ok && esm.pkg.main === "index.mjs");
    const tar = parseCodePackage(tarCodePackage("contract-style"), 1 << 20);
    assert.ok(tar.ok);
    assert.equal(tar.pkg.main, "index.js");
    assert.deepEqual(Object.keys(tar.pkg.files).sort(), ["index.js", "lib/asset-contract.js", "lib/counter-contract.js", "lib/keys.js", "package.json"]);
  });

  it("names what is wrong: not base64, not JavaScript, too large, no entry", () => {
    assert.deepEqual(parseCodePackage("%%%", 1 << 20), { ok: false, error: "params.codePackage is not base64" });
    assert.match(errorOf(parseCodePackage(Buffer.from([0, 1, 2, 255]).toString("base64"), 1 << 20)), /neither JavaScript text \(UTF-8\) nor a gzip'd tar/);
    assert.match(errorOf(parseCodePackage(textCodePackage("x".repeat(100)), 10)), /holds 100 bytes, more than the 10/);
    assert.match(errorOf(parseCodePackage(Buffer.from([0x1f, 0x8b, 1, 2]).toString("base64"), 1 << 20)), /cannot be unpacked/);
  });

  it("rewrites ES module imports and exports to CommonJS, keeping line numbers", () => {
    const source = "import shim from 'fabric-shim';\nimport { format as f } from 'util';\nexport const a = 1;\nexport function g() {}\nexport default class C {}\nexport { a as b };\n";
    const converted = esmToCommonJs(source);
    assert.ok(converted.ok);
    assert.equal(converted.code.split("\n").length, source.split("\n").length + 1);
    assert.match(converted.code, /exports\.a = a/);
    assert.match(converted.code, /exports\.default = C/);
    assert.match(converted.code, /exports\.b = a/);
    assert.match(errorOf(esmToCommonJs("const m = await import('fs');\n")), /dynamic import\(\)/);
  });
});

describe("the sandbox", () => {
  it("refuses a syntax error with its file, line and column, and a package without Init/Invoke or contracts", () => {
    const syntax = parseCodePackage(textCodePackage("const shim = require('fabric-shim');\nfunction f() {\n  return 1 +;\n}\n"), 1 << 20);
    assert.ok(syntax.ok);
    const created = JsSandbox.create(engineA.module(), syntax.pkg);
    assert.equal(created.ok, false);
    assert.match(errorOf(created), /^index\.js:3:\d+: SyntaxError: /);
    const empty = parseCodePackage(textCodePackage("module.exports = { hello: 1 };"), 1 << 20);
    assert.ok(empty.ok);
    assert.match(errorOf(JsSandbox.create(engineA.module(), empty.pkg)), /neither calls shim\.start\(\.\.\.\) .* nor exports contracts/);
    const fs = parseCodePackage(textCodePackage("require('fs');"), 1 << 20);
    assert.ok(fs.ok);
    assert.match(errorOf(JsSandbox.create(engineA.module(), fs.pkg)), /Cannot find module 'fs'/);
  });

  it("resets QuickJS's interrupt countdown before each transaction by writing it in memory", () => {
    const pkg = parseCodePackage(fileCodePackage("shim-style.js"), 1 << 20);
    assert.ok(pkg.ok);
    const created = JsSandbox.create(engineA.module(), pkg.pkg);
    assert.ok(created.ok);
    assert.equal(created.sandbox.alignment, "memory");
    created.sandbox.dispose();
  });
});

describe("shim-style chaincode", () => {
  it("runs every stub method, records events, and calls other chaincode", () => {
    const node = new Node(engineA);
    const [deployed] = node.commit(deployTx(fileCodePackage("shim-style.js"), "init", ["a", "1", "b", "2"])).results;
    assert.equal(deployed?.errorCode, 0, deployed?.error);
    const name = deployed?.result ?? "";
    assert.equal(name, JsChaincodes.instanceName(fileCodePackage("shim-style.js"), "init", ["a", "1", "b", "2"]));
    const invoke = (fn: string, ...args: string[]) => tx("invoke", { name }, fn, args);
    node.commit(tx("deploy", { name: "map" }, "init", []), tx("invoke", { name: "map" }, "put", ["m", "from-map"]));
    const execution = node.commit(
      invoke("put", "c", "3"),
      invoke("addOwned", "alice", "car", "red"),
      invoke("addOwned", "alice", "bike", "blue"),
      invoke("addOwned", "bob", "car", "green"),
      invoke("del", "b"),
      invoke("fail", "refused on purpose"),
      invoke("events", "17"),
      invoke("call", "map", "get", "m"),
      invoke("call", "map", "put", "m2", "written-by-js"),
    );
    const results = execution.results;
    assert.deepEqual(results.map((r) => r.errorCode), [0, 0, 0, 0, 0, 1, 1, 0, 0], JSON.stringify(results));
    assert.deepEqual(results[0]?.events, [{ name: "put", payload: "c" }]);
    assert.equal(results[5]?.error, "refused on purpose");
    assert.match(results[6]?.error ?? "", /at most 16 events/);
    assert.equal(results[7]?.result, "200:from-map");
    assert.deepEqual(node.query(name, "get", "written-before-failing"), { ok: true, value: "" }, "a failed transaction's writes are dropped");
    assert.deepEqual(node.query(name, "get", "a"), { ok: true, value: "1" });
    assert.deepEqual(node.query(name, "getLength", "b"), { ok: true, value: "0" }, "an absent key reads as an empty buffer");
    assert.deepEqual(node.query(name, "range", "a", "z"), { ok: true, value: "a=1,c=3" });
    assert.deepEqual(node.query(name, "rangeNext", "", ""), { ok: true, value: "a,c" });
    assert.deepEqual(node.query(name, "owned", "alice"), { ok: true, value: "owner~item:alice/bike=blue,owner~item:alice/car=red" });
    const args = node.query(name, "args", "x", "y");
    assert.ok(args.ok);
    assert.deepEqual(JSON.parse(args.value).args, ["args", "x", "y"]);
    assert.deepEqual(node.query(name, "log", "hi"), { ok: true, value: 'hi-{"n":1}' });
    assert.deepEqual(node.query(name, "textCodec"), { ok: true, value: "6:héllo" });
    assert.deepEqual(queryChaincode(node.state, { name: "map" }, "get", ["m2"]), { ok: true, value: "written-by-js" });
  });
});

describe("Date", () => {
  it("answers the same on nodes in different time zones (local-time methods and parsing are UTC)", () => {
    const script = fileURLToPath(new URL("./helpers/sandbox-dates.ts", import.meta.url));
    const run = (tz: string) => {
      const child = spawnSync(process.execPath, ["--import", "tsx", script], { encoding: "utf8", env: { ...process.env, TZ: tz } });
      assert.equal(child.status, 0, child.stderr);
      return JSON.parse(child.stdout) as { ok: boolean; payload: string };
    };
    const utc = run("UTC");
    assert.ok(utc.ok, JSON.stringify(utc));
    assert.deepEqual(JSON.parse(utc.payload).slice(0, 5), [Date.UTC(2020, 0, 1), Date.UTC(2020, 0, 1), Date.UTC(2020, 0, 1, 10), Date.UTC(2020, 0, 2, 3, 4, 5), 3]);
    assert.deepEqual(run("Asia/Tokyo"), utc);
    assert.deepEqual(run("America/Los_Angeles"), utc);
  });
});

describe("invokeChaincode and the stack", () => {
  it("a chaincode reaches the same recursion depth whether its sandbox was made at top level or inside another's call", () => {
    const depth = textCodePackage("const shim = require('fabric-shim'); shim.start({ async Invoke() { let d = 0; const f = () => { d++; f(); }; try { f(); } catch (e) {} return shim.success(String(d)); } });");
    const answers = (makeCalleeNested: boolean) => {
      const node = new Node(engineA);
      const caller = node.commit(deployTx(fileCodePackage("shim-style.js"), "init", [], "caller")).results[0]?.result ?? "";
      const callee = node.commit(deployTx(depth, "init", [], "depth")).results[0]?.result ?? "";
      // A node whose sandbox for the callee is gone (restarted, or discarded after a failure)
      // makes it again where it is first needed: here, inside the caller's invokeChaincode.
      if (makeCalleeNested) node.js.close();
      const nested = node.commit(tx("invoke", { name: caller }, "call", [callee])).results[0]?.result;
      const top = node.commit(tx("invoke", { name: callee }, "x", [])).results[0]?.result;
      node.js.close();
      return { nested, top };
    };
    const made = answers(false);
    assert.match(made.top ?? "", /^\d+$/);
    assert.deepEqual(answers(true), made);
  });
});

describe("contract-style chaincode (multi-file tar.gz)", () => {
  it("routes fn and Name:fn, installs without Init, and starts every transaction with fresh module state", () => {
    const node = new Node(engineA);
    const [deployed] = node.commit(deployTx(tarCodePackage("contract-style"))).results;
    assert.equal(deployed?.errorCode, 0, deployed?.error);
    const name = deployed?.result ?? "";
    const results = node.commit(
      tx("invoke", { name }, "InitLedger", []),
      tx("invoke", { name }, "AssetContract:TransferAsset", ["asset1", "carol"]),
      tx("invoke", { name }, "CounterContract:Increment", ["n"]),
      tx("invoke", { name }, "CounterContract:Increment", ["n"]),
      tx("invoke", { name }, "CreateAsset", ["asset1", "x", "y"]),
      tx("invoke", { name }, "Nope:Thing", []),
    ).results;
    assert.deepEqual(results.map((r) => r.errorCode), [0, 0, 0, 0, 1, 1], JSON.stringify(results));
    assert.equal(results[1]?.result, "alice");
    assert.deepEqual(JSON.parse(results[3]?.result ?? ""), { value: 2, moduleCalls: 1 });
    assert.match(results[4]?.error ?? "", /The asset asset1 already exists/);
    assert.match(results[5]?.error ?? "", /no contract named "Nope"/);
    const all = node.query(name, "GetAllAssets");
    assert.ok(all.ok, JSON.stringify(all));
    assert.deepEqual(JSON.parse(all.value).map((a: { Owner: string }) => a.Owner), ["carol", "bob"]);
  });
});

describe("hostile chaincode", () => {
  it("fails or is neutralised identically on two nodes whose runtimes have different histories", () => {
    const [a, b] = [new Node(engineA), new Node(engineB)];
    const deploy = deployTx(fileCodePackage("hostile.js"));
    const name = a.commit(deploy).results[0]?.result ?? "";
    b.commit(deploy);
    // Node a's runtime does extra work between transactions (queries, a transaction
    // executed and dropped, as a leader does when a block is full); b's does not.
    const busy = () => {
      a.query(name, "now");
      a.query(name, "loop");
      executeBlock(a.state, [tx("invoke", { name }, "pollute", [])], Infinity, a.js);
    };
    const calls = ["now", "random", "gcObservers", "loop", "allocate", "recurse", "bigPut", "bigPutCaught", "fs", "process", "globals", "pollute", "pollutedSeen", "arrayPush", "functionCtor", "errorName", "evalCounter"];
    for (const fn of calls) {
      busy();
      const t = tx("invoke", { name }, fn, []);
      const [ra] = a.commit(t).results;
      const [rb] = b.commit(t).results;
      assert.deepEqual(ra, rb, `${fn} differs between the nodes`);
      assert.equal(a.state.hash(), b.state.hash());
    }
    const outcome = (fn: string) => {
      const [r] = b.commit(tx("invoke", { name }, fn, [])).results;
      return r?.errorCode === 0 ? r.result : `failed: ${r?.error}`;
    };
    assert.match(outcome("loop"), /ran past its budget/);
    assert.match(outcome("allocate"), /out of memory/);
    assert.match(outcome("recurse"), /stack overflow/);
    assert.match(outcome("bigPut"), /failed: /);
    assert.match(outcome("bigPutCaught"), /failed: a transaction may write at most 1048576 bytes/);
    assert.match(outcome("fs"), /Cannot find module 'fs'/);
    assert.equal(outcome("process"), "undefined/undefined/undefined/undefined/undefined");
    assert.equal(outcome("gcObservers"), "undefined/undefined", "WeakRef would let a transaction see when garbage is collected");
    assert.match(outcome("globals"), /refused|failed|set: undefined/, "a global cannot be added (sloppy code: silently)");
    assert.match(outcome("pollute"), /refused|failed|polluted/, "sloppy code assigns silently; pollutedSeen shows nothing changed");
    assert.equal(outcome("pollutedSeen"), "undefined");
    assert.equal(outcome("errorName"), "MyError: x");
    const now = JSON.parse(outcome("now"));
    assert.equal(now.offset, 0);
    assert.equal(now.hours, 0);
    assert.equal(now.now, now.made);
  });
});

function errorOf(result: { ok: boolean; error?: string } | { ok: true }): string {
  return "error" in result && typeof result.error === "string" ? result.error : "(no error)";
}
