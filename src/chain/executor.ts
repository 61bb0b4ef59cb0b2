import { TX_TYPE } from "./block.ts";
import type { ChaincodeRef, Transaction, TransactionResult } from "./block.ts";
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
import { StateOverlay } from "./world-state.ts";
import type { StateReader, StateWrites, WorldState } from "./world-state.ts";

export interface BlockExecution {
  results: TransactionResult[];
  writes: StateWrites;
  stateHash: string;
}

/**
 * Runs a block's transactions in order over the committed state without changing it.
 * Each transaction runs in its own overlay: a failure is recorded in its result and its
 * writes are dropped, so the block still commits and every node agrees on the outcome.
 */
export function executeBlock(state: WorldState, transactions: readonly Transaction[]): BlockExecution {
  const block = new StateOverlay(state);
  const results = transactions.map((tx) => executeTransaction(block, tx));
  return { results, writes: block.writes, stateHash: state.hash(block.writes) };
}

/** Runs one transaction; on success its writes are added to `target`. */
export function executeTransaction(target: StateOverlay, tx: Transaction): TransactionResult {
  const overlay = new StateOverlay(target);
  const outcome = tx.type === TX_TYPE.deploy ? deploy(overlay, tx) : invoke(overlay, tx);
  if (!outcome.ok) return { uuid: tx.uuid, errorCode: 1, result: "", error: outcome.error };
  overlay.commitTo(target);
  return { uuid: tx.uuid, errorCode: 0, result: outcome.value, error: "" };
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
