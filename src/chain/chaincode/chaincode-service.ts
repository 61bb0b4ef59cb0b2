import { randomUUID } from "node:crypto";
import { TX_TYPE, timestampFromMillis } from "../ledger/block.ts";
import type { Transaction, TxType } from "../ledger/block.ts";
import type { Chain } from "../ledger/chain.ts";
import { instanceName, kindOfReference } from "./chaincode-registry.ts";
import type { Consensus } from "../consensus/consensus.ts";
import { RPC_ERROR, parseChaincodeCall } from "../rest/json-rpc.ts";
import type { ChaincodeCall, RpcError, RpcErrorCode, RpcId } from "../rest/json-rpc.ts";
import type { Logger } from "../log/logger.ts";
import { MAX_CODE_PACKAGE_BYTES, MAX_TRANSACTION_BYTES, encodedBytes } from "../size-limits.ts";
import { JsChaincodes } from "./js/js-chaincodes.ts";
import { JsSandbox } from "./js/sandbox.ts";

export interface ChaincodeServiceOptions {
  chain: Chain;
  consensus: Consensus;
  log: Logger;
  now: () => number;
  /** Fresh transaction ids; injectable for tests. */
  newUuid?: () => string;
  /** How long a deploy waits to see its transaction committed before answering anyway. */
  deployWaitMs?: number;
  /** Largest JavaScript chaincode package this node takes (decoded bytes; at most MAX_CODE_PACKAGE_BYTES). */
  maxPackageBytes?: number;
}

export interface RpcReply {
  status: number;
  body: { jsonrpc: "2.0"; result: { status: "OK"; message: string }; id: RpcId } | { jsonrpc: "2.0"; error: RpcError; id: RpcId };
}

/**
 * POST /chaincode. `deploy` orders a deploy transaction and waits (bounded) until this
 * node has committed it, so the instance can be queried as soon as the reply arrives;
 * it answers the instance name. `invoke` answers the transaction uuid as soon as the
 * orderer has taken it. `query` reads this node's committed state.
 */
export class ChaincodeService {
  readonly #options: ChaincodeServiceOptions;

  constructor(options: ChaincodeServiceOptions) {
    this.#options = options;
  }

  async handle(body: string): Promise<RpcReply> {
    const parsed = parseChaincodeCall(body);
    if (!parsed.ok) return errorReply(parsed.id, parsed.error, 400);
    const { call } = parsed;
    switch (call.method) {
      case "deploy":
        return this.#deploy(call);
      case "invoke":
        return this.#invoke(call);
      case "query":
        return this.#query(call);
    }
  }

  async #deploy(call: ChaincodeCall): Promise<RpcReply> {
    const reference = call.chaincodeID.path ?? call.chaincodeID.name ?? "";
    if (call.codePackage !== undefined) return this.#deployJs(call, reference, call.codePackage);
    if (kindOfReference(reference) === undefined) {
      return failure(call.id, RPC_ERROR.deployFailure, "Deployment failure", `unknown chaincode "${reference}" (built in: map, chaincode_example02)`);
    }
    const tx = this.#transaction(TX_TYPE.deploy, call);
    const tooLarge = transactionTooLarge(call.id, tx);
    if (tooLarge) return tooLarge;
    const submitted = await this.#options.consensus.submit(tx);
    if (!submitted.ok) {
      return failure(call.id, RPC_ERROR.deployFailure, "Deployment failure", submitted.message, submitted.reason === "UNAVAILABLE" ? 503 : 400);
    }
    const name = instanceName(reference, call.function, call.args);
    const result = await this.#options.chain.waitForTransaction(tx.uuid, this.#options.deployWaitMs ?? 10_000);
    if (result === undefined) {
      this.#options.log.log("warn", "chaincode.deploy_not_yet_committed", { uuid: tx.uuid, name });
    } else if (result.errorCode !== 0) {
      return failure(call.id, RPC_ERROR.deployFailure, "Deployment failure", result.error);
    }
    return okReply(call.id, name);
  }

  /**
   * A JavaScript chaincode: the package is read and loaded in a scratch sandbox first, so a
   * package that cannot run (not JavaScript, a syntax error, no Init/Invoke or contracts) is
   * refused at once with what is wrong, before anything is ordered.
   */
  async #deployJs(call: ChaincodeCall, reference: string, codePackage: string): Promise<RpcReply> {
    const refuse = (reason: string) => failure(call.id, RPC_ERROR.deployFailure, "Deployment failure", reason);
    const parsed = JsChaincodes.parse(codePackage, this.#options.maxPackageBytes ?? MAX_CODE_PACKAGE_BYTES);
    if (!parsed.ok) return refuse(parsed.error);
    const js = this.#options.chain.js;
    try {
      await js.engine.load();
    } catch (error: unknown) {
      this.#options.log.log("error", "chaincode.engine_load_failed", { error: error instanceof Error ? error.message : String(error) });
      return failure(call.id, RPC_ERROR.deployFailure, "Deployment failure", "the JavaScript chaincode engine could not be loaded on this node", 503);
    }
    const checked = JsSandbox.create(js.engine.module(), parsed.pkg);
    if (!checked.ok) return refuse(checked.error);
    checked.sandbox.dispose();
    const tx = this.#transaction(TX_TYPE.deploy, call);
    tx.codePackage = codePackage;
    const tooLarge = transactionTooLarge(call.id, tx);
    if (tooLarge) return tooLarge;
    const submitted = await this.#options.consensus.submit(tx);
    if (!submitted.ok) {
      return failure(call.id, RPC_ERROR.deployFailure, "Deployment failure", submitted.message, submitted.reason === "UNAVAILABLE" ? 503 : 400);
    }
    const name = JsChaincodes.instanceName(codePackage, call.function, call.args);
    const result = await this.#options.chain.waitForTransaction(tx.uuid, this.#options.deployWaitMs ?? 10_000);
    if (result === undefined) {
      this.#options.log.log("warn", "chaincode.deploy_not_yet_committed", { uuid: tx.uuid, name });
    } else if (result.errorCode !== 0) {
      return refuse(result.error);
    }
    return okReply(call.id, name);
  }

  async #invoke(call: ChaincodeCall): Promise<RpcReply> {
    const tx = this.#transaction(TX_TYPE.invoke, call);
    const tooLarge = transactionTooLarge(call.id, tx);
    if (tooLarge) return tooLarge;
    const submitted = await this.#options.consensus.submit(tx);
    if (!submitted.ok) {
      return failure(call.id, RPC_ERROR.invokeFailure, "Invocation failure", submitted.message, submitted.reason === "UNAVAILABLE" ? 503 : 400);
    }
    return okReply(call.id, tx.uuid);
  }

  async #query(call: ChaincodeCall): Promise<RpcReply> {
    const answer = this.#options.chain.query(call.chaincodeID, call.function, call.args);
    if (!answer.ok) return failure(call.id, RPC_ERROR.queryFailure, "Query failure", answer.error);
    return okReply(call.id, answer.value);
  }

  #transaction(type: TxType, call: ChaincodeCall): Transaction {
    const uuid = (this.#options.newUuid ?? randomUUID)();
    return {
      type,
      txid: uuid,
      uuid,
      chaincodeID: call.chaincodeID,
      payload: { function: call.function, args: call.args },
      timestamp: timestampFromMillis(this.#options.now()),
    };
  }
}

/** A transaction larger than a block may hold for one is refused before it is ordered. */
function transactionTooLarge(id: RpcId, tx: Transaction): RpcReply | undefined {
  const bytes = encodedBytes(tx);
  if (bytes <= MAX_TRANSACTION_BYTES) return undefined;
  const reason = `params.ctorMsg makes a transaction of ${bytes} bytes, more than the ${MAX_TRANSACTION_BYTES} a block may hold for one`;
  return errorReply(id, { code: RPC_ERROR.invalidParams, message: `Invalid params: ${reason}`, data: reason }, 400);
}

function okReply(id: RpcId, message: string): RpcReply {
  return { status: 200, body: { jsonrpc: "2.0", result: { status: "OK", message }, id } };
}

function errorReply(id: RpcId, error: RpcError, status: number): RpcReply {
  return { status, body: { jsonrpc: "2.0", error, id } };
}

/** Fabric 0.6's shape: a fixed message per method, the reason in `data` (and in the message, for people). */
function failure(id: RpcId, code: RpcErrorCode, what: string, reason: string, status = 400): RpcReply {
  return errorReply(id, { code, message: `${what}: ${reason}`, data: reason }, status);
}
