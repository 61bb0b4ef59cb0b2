import type { Timestamp } from "../../ledger/block.ts";

/** What a JavaScript chaincode call runs with: the transaction (or query) it belongs to. */
export interface JsCall {
  txId: string;
  timestamp: Timestamp;
  fn: string;
  args: readonly string[];
  mode: "init" | "invoke" | "query";
  /** 0 for the transaction's own chaincode, 1 inside invokeChaincode. */
  depth: number;
}
