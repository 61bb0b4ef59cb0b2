/*
 * chaincode_example02 in JavaScript, shim style: the same work as the built-in
 * (src/chain/chaincode/builtins/example02-chaincode.ts), for bench:chain to compare the
 * sandbox with the node's own code. init(A, Aval, B, Bval); invoke(A, B, X) moves X from A
 * to B (any function but "delete" and "query" is a transfer, as in Fabric); delete(A);
 * query(A). Amounts are BigInt, overdrafts refused, as the built-in does.
 */
'use strict';

const shim = require('fabric-shim');

const AMOUNT = /^\d{1,60}$/;

function parseAmount(text) {
  return AMOUNT.test(text) ? BigInt(text) : undefined;
}

class Example02 {
  async Init(stub) {
    const { params } = stub.getFunctionAndParameters();
    if (params.length !== 4) return shim.error(`example02: init expects 4 arguments (A, Aval, B, Bval), got ${params.length}`);
    const [a, aValue, b, bValue] = params;
    const aAmount = parseAmount(aValue);
    if (aAmount === undefined) return shim.error(`example02: amount for ${a} must be a non-negative integer, got "${aValue}"`);
    const bAmount = parseAmount(bValue);
    if (bAmount === undefined) return shim.error(`example02: amount for ${b} must be a non-negative integer, got "${bValue}"`);
    await stub.putState(a, Buffer.from(aAmount.toString()));
    await stub.putState(b, Buffer.from(bAmount.toString()));
    return shim.success();
  }

  async Invoke(stub) {
    const { fcn, params } = stub.getFunctionAndParameters();
    if (fcn === 'query') return this.query(stub, params);
    if (fcn === 'delete') return this.remove(stub, params);
    return this.transfer(stub, params);
  }

  async transfer(stub, args) {
    if (args.length !== 3) return shim.error(`example02: invoke expects 3 arguments (A, B, X), got ${args.length}`);
    const [a, b, xValue] = args;
    const x = parseAmount(xValue);
    if (x === undefined) return shim.error(`example02: amount to move must be a non-negative integer, got "${xValue}"`);
    const aStored = await stub.getState(a);
    if (aStored.length === 0) return shim.error(`example02: no amount for ${a}`);
    const bStored = await stub.getState(b);
    if (bStored.length === 0) return shim.error(`example02: no amount for ${b}`);
    const aAmount = BigInt(aStored.toString());
    if (aAmount < x) return shim.error(`example02: insufficient funds: ${a} has ${aAmount}, cannot move ${x}`);
    if (a === b) return shim.success();
    await stub.putState(a, Buffer.from((aAmount - x).toString()));
    await stub.putState(b, Buffer.from((BigInt(bStored.toString()) + x).toString()));
    return shim.success();
  }

  async remove(stub, args) {
    if (args.length !== 1) return shim.error(`example02: delete expects 1 argument (A), got ${args.length}`);
    await stub.deleteState(args[0]);
    return shim.success();
  }

  async query(stub, args) {
    if (args.length !== 1) return shim.error(`example02: query expects 1 argument (A), got ${args.length}`);
    const value = await stub.getState(args[0]);
    if (value.length === 0) return shim.error(`example02: no amount for ${args[0]}`);
    return shim.success(value);
  }
}

shim.start(new Example02());
