import type { ChaincodeEvent } from "../ledger/block.ts";

/**
 * The contract of a built-in chaincode, after Fabric 0.6's shim: `init` runs on deploy,
 * `invoke` inside an ordered transaction, `query` against committed state. Chaincodes
 * must be deterministic: no clocks, no randomness, no I/O, only the stub.
 */
export interface ChaincodeStub {
  getState(key: string): string | undefined;
  putState(key: string, value: string): void;
  delState(key: string): void;
  /** This instance's keys, sorted. */
  keys(): string[];
}

export type ChaincodeResult = { ok: true; value: string; events?: ChaincodeEvent[] } | { ok: false; error: string };

export interface Chaincode {
  init(stub: ChaincodeStub, fn: string, args: readonly string[]): ChaincodeResult;
  invoke(stub: ChaincodeStub, fn: string, args: readonly string[]): ChaincodeResult;
  /** Runs with a stub whose writes throw. */
  query(stub: ChaincodeStub, fn: string, args: readonly string[]): ChaincodeResult;
}

export function ok(value = ""): ChaincodeResult {
  return { ok: true, value };
}

export function refuse(error: string): ChaincodeResult {
  return { ok: false, error };
}
