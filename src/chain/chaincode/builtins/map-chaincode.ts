import { ok, refuse } from "../chaincode.ts";
import type { Chaincode, ChaincodeResult, ChaincodeStub } from "../chaincode.ts";

/**
 * Fabric's `map` example: a plain key/value store. `put` and `remove` write; `get` answers
 * a value (empty when absent, as Fabric did) and `keys` a JSON array of the keys in order.
 */
export const mapChaincode: Chaincode = {
  init: () => ok(),
  invoke: (stub, fn, args) => run(stub, fn, args, true),
  query: (stub, fn, args) => run(stub, fn, args, false),
};

function run(stub: ChaincodeStub, fn: string, args: readonly string[], canWrite: boolean): ChaincodeResult {
  switch (fn) {
    case "put": {
      if (!canWrite) return refuse(`map: "put" changes state and cannot be a query`);
      const [key, value] = args;
      if (args.length !== 2 || key === undefined || value === undefined) {
        return refuse(`map: put expects 2 arguments (key, value), got ${args.length}`);
      }
      stub.putState(key, value);
      return ok();
    }
    case "remove": {
      if (!canWrite) return refuse(`map: "remove" changes state and cannot be a query`);
      const [key] = args;
      if (args.length !== 1 || key === undefined) return refuse(`map: remove expects 1 argument (key), got ${args.length}`);
      stub.delState(key);
      return ok();
    }
    case "get": {
      const [key] = args;
      if (args.length !== 1 || key === undefined) return refuse(`map: get expects 1 argument (key), got ${args.length}`);
      return ok(stub.getState(key) ?? "");
    }
    case "keys": {
      if (args.length !== 0) return refuse(`map: keys expects no arguments, got ${args.length}`);
      return ok(JSON.stringify(stub.keys()));
    }
    default:
      return refuse(`map: unknown function "${fn}" (expected put, get, remove or keys)`);
  }
}
