import { TX_TYPE } from "../ledger/block.ts";
import type { ChaincodeRef, Timestamp, Transaction, TransactionResult } from "../ledger/block.ts";
import { refuse } from "./chaincode.ts";
import type { ChaincodeResult, ChaincodeStub } from "./chaincode.ts";
import {
  BUILTIN_CHAINCODES,
  instanceName,
  kindOfReference,
  resolveInstance,
  stateKeys,
} from "./chaincode-registry.ts";
import type { ChaincodeInstance, ChaincodeKind } from "./chaincode-registry.ts";
import { MAX_ERROR_CHARS, MAX_RESULT_BYTES, PER_TRANSACTION_RESERVE_BYTES, encodedBytes } from "../size-limits.ts";
import { StateOverlay } from "../ledger/world-state.ts";
import type { StateReader, StateWrites, WorldState } from "../ledger/world-state.ts";
import type { JsCall, JsChaincodes } from "./js/js-chaincodes.ts";

export interface BlockExecution {
  /** One per transaction executed: all of them, or the prefix that fits the byte budget. */
  results: TransactionResult[];
  writes: StateWrites;
  stateHash: string;
  /** Bytes the executed transactions and their results take, with PER_TRANSACTION_RESERVE_BYTES each. */
  bytes: number;
}

/**
 * Runs a block's transactions in order over the committed state without changing it.
 * Each transaction runs in its own overlay: a failure is recorded in its result and its
 * writes are dropped, so the block still commits and every node agrees on the outcome.
 *
 * With `maxBytes`, execution stops before the first transaction that would take the
 * transactions and results past it (the first one is always taken): the orderer's way to
 * cut a block by its whole size, results included, which only execution can tell.
 */
export function executeBlock(state: WorldState, transactions: readonly Transaction[], maxBytes = Infinity, js?: JsChaincodes): BlockExecution {
  const block = new StateOverlay(state);
  const results: TransactionResult[] = [];
  let bytes = 0;
  for (const tx of transactions) {
    const overlay = new StateOverlay(block);
    const result = runTransaction(overlay, tx, js);
    const cost = maxBytes === Infinity ? 0 : encodedBytes(tx) + encodedBytes(result) + PER_TRANSACTION_RESERVE_BYTES;
    if (results.length > 0 && bytes + cost > maxBytes) break;
    bytes += cost;
    if (result.errorCode === 0) overlay.commitTo(block);
    results.push(result);
  }
  return { results, writes: block.writes, stateHash: state.hash(block.writes), bytes };
}

/** Runs one transaction; on success its writes are added to `target`. */
export function executeTransaction(target: StateOverlay, tx: Transaction, js?: JsChaincodes): TransactionResult {
  const overlay = new StateOverlay(target);
  const result = runTransaction(overlay, tx, js);
  if (result.errorCode === 0) overlay.commitTo(target);
  return result;
}

/**
 * Runs one transaction in `overlay` and answers the result a block records for it. A
 * result too large for a block is recorded as a failure (its writes dropped), and a long
 * error is cut: both the same on every node, so a block never has to hold them.
 */
function runTransaction(overlay: StateOverlay, tx: Transaction, js: JsChaincodes | undefined): TransactionResult {
  const outcome = tx.type === TX_TYPE.deploy ? deploy(overlay, tx, js) : invoke(overlay, tx, js);
  if (!outcome.ok) return failed(tx, outcome.error);
  const result: TransactionResult = { uuid: tx.uuid, errorCode: 0, result: outcome.value, error: "", ...(outcome.events && { events: outcome.events }) };
  const bytes = encodedBytes(result);
  if (bytes > MAX_RESULT_BYTES) {
    return failed(tx, `the result takes ${bytes} bytes, more than the ${MAX_RESULT_BYTES} a block may record for one transaction (a query answers it)`);
  }
  return result;
}

function failed(tx: Transaction, error: string): TransactionResult {
  const cut = error.length > MAX_ERROR_CHARS ? `${error.slice(0, MAX_ERROR_CHARS)}... (${error.length} characters, cut)` : error;
  return { uuid: tx.uuid, errorCode: 1, result: "", error: cut };
}

/**
 * Answers a query from committed state; a built-in chaincode cannot write, a JavaScript one
 * may (Fabric's evaluate) but its writes are dropped. `at` stands in for a transaction's
 * timestamp (the head block's): a query has none, and reads no clock either.
 */
export function queryChaincode(state: StateReader, ref: ChaincodeRef, fn: string, args: readonly string[], js?: JsChaincodes, at: Timestamp = { seconds: 0, nanos: 0 }): ChaincodeResult {
  const resolved = resolveInstance(state, ref);
  if (!resolved.ok) return resolved;
  const overlay = new StateOverlay(state);
  const { instance } = resolved;
  if (instance.kind === "js") {
    const call: JsCall = { txId: `query-${instance.name.slice(0, 16)}`, timestamp: at, fn, args, mode: "query", depth: 0 };
    return requireJs(js).call(overlay, instance, call, nestedInvoke(js));
  }
  const stub = createStub(overlay, instance.name, false);
  return guard(() => BUILTIN_CHAINCODES[instance.kind as ChaincodeKind].query(stub, fn, args));
}

function deploy(overlay: StateOverlay, tx: Transaction, js: JsChaincodes | undefined): ChaincodeResult {
  const reference = tx.chaincodeID.path ?? tx.chaincodeID.name ?? "";
  if (tx.codePackage !== undefined) {
    const call: JsCall = { txId: tx.uuid, timestamp: tx.timestamp, fn: tx.payload.function, args: tx.payload.args, mode: "init", depth: 0 };
    return requireJs(js).deploy(overlay, reference, tx.codePackage, call, nestedInvoke(js));
  }
  const kind = kindOfReference(reference);
  if (kind === undefined) return refuse(`unknown chaincode "${reference}"`);
  const name = instanceName(reference, tx.payload.function, tx.payload.args);
  const instance: ChaincodeInstance = { name, kind, path: reference };
  overlay.put(stateKeys.instance(name), JSON.stringify(instance));
  overlay.put(stateKeys.latest(kind), name);
  const stub = createStub(overlay, name, true);
  const outcome = guard(() => BUILTIN_CHAINCODES[kind].init(stub, tx.payload.function, tx.payload.args));
  return outcome.ok ? { ok: true, value: name } : outcome;
}

function invoke(overlay: StateOverlay, tx: Transaction, js: JsChaincodes | undefined): ChaincodeResult {
  const resolved = resolveInstance(overlay, tx.chaincodeID);
  if (!resolved.ok) return resolved;
  const { instance } = resolved;
  if (instance.kind === "js") {
    const call: JsCall = { txId: tx.uuid, timestamp: tx.timestamp, fn: tx.payload.function, args: tx.payload.args, mode: "invoke", depth: 0 };
    return requireJs(js).call(overlay, instance, call, nestedInvoke(js));
  }
  const stub = createStub(overlay, instance.name, true);
  return guard(() => BUILTIN_CHAINCODES[instance.kind as ChaincodeKind].invoke(stub, tx.payload.function, tx.payload.args));
}

/**
 * invokeChaincode from JavaScript chaincode: another instance (built-in or JavaScript) on
 * the same transaction's state; its writes count only if it succeeds. A chaincode cannot
 * call itself (its sandbox is busy with the caller).
 */
function nestedInvoke(js: JsChaincodes | undefined) {
  return (overlay: StateOverlay, reference: string, fn: string, args: readonly string[], caller: JsCall, callerInstance: string): ChaincodeResult => {
    const resolved = resolveInstance(overlay, { name: reference });
    if (!resolved.ok) return resolved;
    const { instance } = resolved;
    if (instance.name === callerInstance) return refuse("a chaincode cannot invoke itself");
    const inner = new StateOverlay(overlay);
    let outcome: ChaincodeResult;
    if (instance.kind === "js") {
      const call: JsCall = { ...caller, fn, args, mode: caller.mode === "query" ? "query" : "invoke", depth: caller.depth + 1 };
      outcome = requireJs(js).call(inner, instance, call, nestedInvoke(js));
    } else {
      const stub = createStub(inner, instance.name, caller.mode !== "query");
      const builtin = BUILTIN_CHAINCODES[instance.kind as ChaincodeKind];
      outcome = guard(() => (caller.mode === "query" ? builtin.query(stub, fn, args) : builtin.invoke(stub, fn, args)));
    }
    if (outcome.ok) inner.commitTo(overlay);
    return outcome;
  };
}

function requireJs(js: JsChaincodes | undefined): JsChaincodes {
  if (!js) throw new Error("this chain has no JavaScript chaincode runtime");
  return js;
}

function createStub(overlay: StateOverlay, instance: string, writable: boolean): ChaincodeStub {
  const prefix = stateKeys.dataPrefix(instance);
  const readOnly = (): never => {
    throw new Error("a query cannot change state");
  };
  return {
    getState: (key) => overlay.get(prefix + key),
    putState: writable ? (key, value) => overlay.put(prefix + key, value) : readOnly,
    delState: writable ? (key) => overlay.delete(prefix + key) : readOnly,
    keys: () => overlay.keysWithPrefix(prefix).map((key) => key.slice(prefix.length)),
  };
}

/** A chaincode that throws is refused, with the same message on every node. */
function guard(run: () => ChaincodeResult): ChaincodeResult {
  try {
    return run();
  } catch (error: unknown) {
    return refuse(error instanceof Error ? error.message : String(error));
  }
}
