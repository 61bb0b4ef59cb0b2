import { ok, refuse } from "../chaincode.ts";
import type { Chaincode, ChaincodeResult, ChaincodeStub } from "../chaincode.ts";

/**
 * Fabric's `chaincode_example02`: two or more accounts holding integer amounts.
 * `init(A, Aval, B, Bval)` on deploy; `invoke(A, B, X)` moves X from A to B (like
 * Fabric, any invoke function other than "delete" is a transfer); `delete(A)`;
 * `query(A)` answers the amount in decimal. Unlike Fabric it refuses to overdraw and
 * to move negative amounts. Amounts are BigInt, so no precision is lost at any size.
 */
export const example02Chaincode: Chaincode = {
  init(stub, _fn, args) {
    if (args.length !== 4) return refuse(`example02: init expects 4 arguments (A, Aval, B, Bval), got ${args.length}`);
    const [a = "", aValue = "", b = "", bValue = ""] = args;
    const aAmount = parseAmount(aValue);
    if (aAmount === undefined) return refuse(`example02: amount for ${a} must be a non-negative integer, got "${aValue}"`);
    const bAmount = parseAmount(bValue);
    if (bAmount === undefined) return refuse(`example02: amount for ${b} must be a non-negative integer, got "${bValue}"`);
    stub.putState(a, aAmount.toString());
    stub.putState(b, bAmount.toString());
    return ok();
  },

  invoke(stub, fn, args) {
    if (fn === "delete") return remove(stub, args);
    return transfer(stub, args);
  },

  query(stub, fn, args) {
    if (fn !== "query") return refuse(`example02: unknown query function "${fn}" (expected "query")`);
    if (args.length !== 1) return refuse(`example02: query expects 1 argument (A), got ${args.length}`);
    const [a = ""] = args;
    const value = stub.getState(a);
    if (value === undefined) return refuse(`example02: no amount for ${a}`);
    return ok(value);
  },
};

function transfer(stub: ChaincodeStub, args: readonly string[]): ChaincodeResult {
  if (args.length !== 3) return refuse(`example02: invoke expects 3 arguments (A, B, X), got ${args.length}`);
  const [a = "", b = "", xValue = ""] = args;
  const x = parseAmount(xValue);
  if (x === undefined) return refuse(`example02: amount to move must be a non-negative integer, got "${xValue}"`);
  const aStored = stub.getState(a);
  if (aStored === undefined) return refuse(`example02: no amount for ${a}`);
  const bStored = stub.getState(b);
  if (bStored === undefined) return refuse(`example02: no amount for ${b}`);
  const aAmount = BigInt(aStored);
  if (aAmount < x) return refuse(`example02: insufficient funds: ${a} has ${aStored}, cannot move ${x}`);
  if (a === b) return ok();
  stub.putState(a, (aAmount - x).toString());
  stub.putState(b, (BigInt(bStored) + x).toString());
  return ok();
}

function remove(stub: ChaincodeStub, args: readonly string[]): ChaincodeResult {
  if (args.length !== 1) return refuse(`example02: delete expects 1 argument (A), got ${args.length}`);
  const [a = ""] = args;
  stub.delState(a);
  return ok();
}

function parseAmount(text: string): bigint | undefined {
  return /^\d{1,60}$/.test(text) ? BigInt(text) : undefined;
}
