import { TX_TYPE } from "../ledger/block.ts";
import type { ChaincodeRef, Transaction, TransactionResult } from "../ledger/block.ts";
import { refuse } from "./chaincode.ts";
import type { ChaincodeResult, ChaincodeStub } from "./chaincode.ts";
import {
  BUILTIN_CHAINCODES,
  instanceName,
  kindOfReference,
  resolveInstance,
  stateKeys,
} from "./chaincode-registry.ts";
import type { ChaincodeInstance } from "./chaincode-registry.ts";
import { MAX_ERROR_CHARS, MAX_RESULT_BYTES, PER_TRANSACTION_RESERVE_BYTES, encodedBytes } from "../size-limits.ts";
import { StateOverlay } from "../ledger/world-state.ts";
import type { StateReader, StateWrites, WorldState } from "../ledger/world-state.ts";

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
export function executeBlock(state: WorldState, transactions: readonly Transaction[], maxBytes = Infinity): BlockExecution {
  const block = new StateOverlay(state);
  const results: TransactionResult[] = [];
  let bytes = 0;
  for (const tx of transactions) {
    const overlay = new StateOverlay(block);
    const result = runTransaction(overlay, tx);
    const cost = maxBytes === Infinity ? 0 : encodedBytes(tx) + encodedBytes(result) + PER_TRANSACTION_RESERVE_BYTES;
    if (results.length > 0 && bytes + cost > maxBytes) break;
    bytes += cost;
    if (result.errorCode === 0) overlay.commitTo(block);
    results.push(result);
  }
  return { results, writes: block.writes, stateHash: state.hash(block.writes), bytes };
}

/** Runs one transaction; on success its writes are added to `target`. */
export function executeTransaction(target: StateOverlay, tx: Transaction): TransactionResult {
  const overlay = new StateOverlay(target);
  const result = runTransaction(overlay, tx);
  if (result.errorCode === 0) overlay.commitTo(target);
  return result;
}

/**
 * Runs one transaction in `overlay` and answers the result a block records for it. A
 * result too large for a block is recorded as a failure (its writes dropped), and a long
 * error is cut: both the same on every node, so a block never has to hold them.
 */
function runTransaction(overlay: StateOverlay, tx: Transaction): TransactionResult {
  const outcome = tx.type === TX_TYPE.deploy ? deploy(overlay, tx) : invoke(overlay, tx);
  if (!outcome.ok) return failed(tx, outcome.error);
  const result: TransactionResult = { uuid: tx.uuid, errorCode: 0, result: outcome.value, error: "" };
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

/** Answers a query from committed state; the chaincode cannot write. */
export function queryChaincode(state: StateReader, ref: ChaincodeRef, fn: string, args: readonly string[]): ChaincodeResult {
  const resolved = resolveInstance(state, ref);
  if (!resolved.ok) return resolved;
  const overlay = new StateOverlay(state);
  const stub = createStub(overlay, resolved.instance.name, false);
  return guard(() => BUILTIN_CHAINCODES[resolved.instance.kind].query(stub, fn, args));
}

function deploy(overlay: StateOverlay, tx: Transaction): ChaincodeResult {
  const reference = tx.chaincodeID.path ?? tx.chaincodeID.name ?? "";
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

function invoke(overlay: StateOverlay, tx: Transaction): ChaincodeResult {
  const resolved = resolveInstance(overlay, tx.chaincodeID);
  if (!resolved.ok) return resolved;
  const stub = createStub(overlay, resolved.instance.name, true);
  return guard(() => BUILTIN_CHAINCODES[resolved.instance.kind].invoke(stub, tx.payload.function, tx.payload.args));
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
