import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { instanceName, kindOfReference } from "../../src/chain/chaincode/chaincode-registry.ts";
import { executeBlock, queryChaincode } from "../../src/chain/chaincode/executor.ts";
import { WorldState } from "../../src/chain/ledger/world-state.ts";
import type { Transaction } from "../../src/chain/ledger/block.ts";
import { tx } from "./helpers/fixtures.ts";

const EX02 = "github.com/hyperledger/fabric/examples/chaincode/go/chaincode_example02";

/** Executes and commits, as a block would. */
function commit(state: WorldState, ...txs: Transaction[]) {
  const execution = executeBlock(state, txs);
  state.apply(execution.writes);
  return execution;
}

function query(state: WorldState, ref: { path?: string; name?: string }, fn: string, ...args: string[]) {
  return queryChaincode(state, ref, fn, args);
}

describe("chaincode_example02", () => {
  it("init, invoke and query follow the Cello check: 10000/20000, then 9999/20001", () => {
    const state = new WorldState();
    const deployed = commit(state, tx("deploy", { path: EX02 }, "init", ["a", "10000", "b", "20000"]));
    assert.equal(deployed.results[0]?.errorCode, 0);
    assert.equal(deployed.results[0]?.result, instanceName(EX02, "init", ["a", "10000", "b", "20000"]));
    assert.deepEqual(query(state, { path: EX02 }, "query", "a"), { ok: true, value: "10000" });
    assert.deepEqual(query(state, { name: "example02" }, "query", "b"), { ok: true, value: "20000" });
    commit(state, tx("invoke", { path: EX02 }, "invoke", ["a", "b", "1"]));
    assert.deepEqual(query(state, { path: EX02 }, "query", "a"), { ok: true, value: "9999" });
    assert.deepEqual(query(state, { path: EX02 }, "query", "b"), { ok: true, value: "20001" });
  });

  it("a failed invoke is recorded with its reason and changes no state", () => {
    const state = new WorldState();
    commit(state, tx("deploy", { name: "example02" }, "init", ["a", "5", "b", "0"]));
    const before = state.hash();
    const execution = commit(
      state,
      tx("invoke", { name: "example02" }, "invoke", ["a", "b", "6"]),
      tx("invoke", { name: "example02" }, "invoke", ["a", "b", "x"]),
      tx("invoke", { name: "example02" }, "invoke", ["a", "b"]),
      tx("invoke", { name: "example02" }, "invoke", ["a", "nobody", "1"]),
    );
    assert.deepEqual(execution.results.map((r) => r.errorCode), [1, 1, 1, 1]);
    assert.match(execution.results[0]?.error ?? "", /insufficient funds/);
    assert.match(execution.results[1]?.error ?? "", /non-negative integer/);
    assert.match(execution.results[2]?.error ?? "", /expects 3 arguments/);
    assert.match(execution.results[3]?.error ?? "", /no amount for nobody/);
    assert.equal(state.hash(), before);
  });

  it("a block mixing success and failure keeps only the successful writes, in order", () => {
    const state = new WorldState();
    commit(state, tx("deploy", { name: "example02" }, "init", ["a", "10", "b", "0"]));
    const execution = commit(
      state,
      tx("invoke", { name: "example02" }, "invoke", ["a", "b", "6"]),
      tx("invoke", { name: "example02" }, "invoke", ["a", "b", "6"]),
    );
    assert.deepEqual(execution.results.map((r) => r.errorCode), [0, 1]);
    assert.deepEqual(query(state, { name: "example02" }, "query", "a"), { ok: true, value: "4" });
  });

  it("delete removes an account and amounts beyond 2^53 stay exact", () => {
    const state = new WorldState();
    commit(state, tx("deploy", { name: "example02" }, "init", ["a", "90071992547409930", "b", "1"]));
    commit(state, tx("invoke", { name: "example02" }, "invoke", ["a", "b", "9"]));
    assert.deepEqual(query(state, { name: "example02" }, "query", "a"), { ok: true, value: "90071992547409921" });
    commit(state, tx("invoke", { name: "example02" }, "delete", ["a"]));
    assert.equal(query(state, { name: "example02" }, "query", "a").ok, false);
  });

  it("query refuses functions other than query", () => {
    const state = new WorldState();
    commit(state, tx("deploy", { name: "example02" }, "init", ["a", "1", "b", "1"]));
    const answer = query(state, { name: "example02" }, "invoke", "a", "b", "1");
    assert.equal(answer.ok, false);
  });
});

describe("map chaincode", () => {
  it("put, get, remove and keys behave like Fabric's map", () => {
    const state = new WorldState();
    commit(state, tx("deploy", { path: "github.com/x/map" }, "init", []));
    commit(
      state,
      tx("invoke", { name: "map" }, "put", ["b", "2"]),
      tx("invoke", { name: "map" }, "put", ["a", "1"]),
      tx("invoke", { name: "map" }, "put", ["c", "3"]),
      tx("invoke", { name: "map" }, "remove", ["c"]),
    );
    assert.deepEqual(query(state, { name: "map" }, "get", "a"), { ok: true, value: "1" });
    assert.deepEqual(query(state, { name: "map" }, "get", "c"), { ok: true, value: "" });
    assert.deepEqual(query(state, { name: "map" }, "keys"), { ok: true, value: '["a","b"]' });
  });

  it("a query cannot write", () => {
    const state = new WorldState();
    commit(state, tx("deploy", { name: "map" }, "init", []));
    assert.equal(query(state, { name: "map" }, "put", "k", "v").ok, false);
    assert.deepEqual(query(state, { name: "map" }, "keys"), { ok: true, value: "[]" });
  });
});

describe("chaincode naming", () => {
  it("paths and short names resolve to the chaincode they end in", () => {
    assert.equal(kindOfReference(EX02), "example02");
    assert.equal(kindOfReference("example02"), "example02");
    assert.equal(kindOfReference("github.com/foo/map/"), "map");
    assert.equal(kindOfReference("github.com/foo/mapper"), undefined);
    assert.equal(kindOfReference("constructor"), undefined);
  });

  it("instances have separate state; the path names the most recent deployment", () => {
    const state = new WorldState();
    const first = commit(state, tx("deploy", { path: EX02 }, "init", ["a", "1", "b", "1"])).results[0]?.result ?? "";
    const second = commit(state, tx("deploy", { path: EX02 }, "init", ["a", "2", "b", "2"])).results[0]?.result ?? "";
    assert.notEqual(first, second);
    assert.match(first, /^[0-9a-f]{128}$/);
    assert.deepEqual(query(state, { name: first }, "query", "a"), { ok: true, value: "1" });
    assert.deepEqual(query(state, { path: EX02 }, "query", "a"), { ok: true, value: "2" });
  });

  it("unknown and undeployed chaincodes are refused by name", () => {
    const state = new WorldState();
    assert.deepEqual(query(state, { name: "nope" }, "get", "a"), { ok: false, error: 'unknown chaincode "nope"' });
    assert.deepEqual(query(state, { name: "map" }, "get", "a"), { ok: false, error: 'chaincode "map" is not deployed' });
    const execution = executeBlock(state, [tx("deploy", { path: "github.com/x/nope" }, "init", [])]);
    assert.equal(execution.results[0]?.errorCode, 1);
  });
});

describe("execution", () => {
  it("is deterministic: the same transactions give the same results and stateHash", () => {
    const txs = [
      tx("deploy", { name: "example02" }, "init", ["a", "100", "b", "0"]),
      tx("invoke", { name: "example02" }, "invoke", ["a", "b", "30"]),
      tx("deploy", { name: "map" }, "init", []),
      tx("invoke", { name: "map" }, "put", ["k", "v"]),
    ];
    const one = executeBlock(new WorldState(), txs);
    const two = executeBlock(new WorldState(), txs);
    assert.deepEqual(one.results, two.results);
    assert.equal(one.stateHash, two.stateHash);
    assert.notEqual(one.stateHash, new WorldState().hash());
  });
});
