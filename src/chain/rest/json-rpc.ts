import type { ChaincodeRef } from "../ledger/block.ts";

/** JSON-RPC 2.0 error codes: the standard ones and Fabric 0.6's chaincode failures. */
export const RPC_ERROR = {
  parseError: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  internalError: -32603,
  deployFailure: -32001,
  invokeFailure: -32002,
  queryFailure: -32003,
} as const;
export type RpcErrorCode = (typeof RPC_ERROR)[keyof typeof RPC_ERROR];

export const CHAINCODE_METHODS = ["deploy", "invoke", "query"] as const;
export type ChaincodeMethod = (typeof CHAINCODE_METHODS)[number];

export type RpcId = string | number | null;

export interface RpcError {
  code: RpcErrorCode;
  message: string;
  data?: string;
}

/** A valid POST /chaincode request, normalized. */
export interface ChaincodeCall {
  id: RpcId;
  method: ChaincodeMethod;
  chaincodeID: ChaincodeRef;
  function: string;
  args: string[];
  /** deploy with type 2 (NODE): the JavaScript chaincode package, base64. */
  codePackage?: string;
}

/** Fabric's ChaincodeSpec.Type: 1 GOLANG (the built-in chaincodes), 2 NODE (JavaScript chaincode). */
export const CHAINCODE_TYPE = { golang: 1, node: 2 } as const;

export type ParsedCall = { ok: true; call: ChaincodeCall } | { ok: false; id: RpcId; error: RpcError };

/**
 * Reads a Fabric 0.6 chaincode request. Both ctorMsg spellings of that era are taken:
 * `{ "function": "invoke", "args": ["a", "b", "1"] }` and the later
 * `{ "args": ["invoke", "a", "b", "1"] }`. A deploy without ctorMsg calls `init()`.
 */
export function parseChaincodeCall(text: string): ParsedCall {
  let input: unknown;
  try {
    input = JSON.parse(text);
  } catch {
    return failure(null, RPC_ERROR.parseError, "Parse error: the body is not valid JSON");
  }
  if (Array.isArray(input)) return failure(null, RPC_ERROR.invalidRequest, "Invalid request: batch requests are not supported");
  if (typeof input !== "object" || input === null) {
    return failure(null, RPC_ERROR.invalidRequest, "Invalid request: the body must be a JSON-RPC 2.0 object");
  }
  const request = input as Record<string, unknown>;
  const rawId = request["id"];
  const id: RpcId = typeof rawId === "string" || typeof rawId === "number" ? rawId : null;
  if (request["jsonrpc"] !== "2.0") return failure(id, RPC_ERROR.invalidRequest, `Invalid request: "jsonrpc" must be "2.0"`);
  const method = request["method"];
  if (typeof method !== "string") return failure(id, RPC_ERROR.invalidRequest, `Invalid request: "method" must be a string`);
  if (!(CHAINCODE_METHODS as readonly string[]).includes(method)) {
    return failure(id, RPC_ERROR.methodNotFound, `Method not found: "${method}" (expected deploy, invoke or query)`);
  }
  const params = request["params"];
  if (typeof params !== "object" || params === null || Array.isArray(params)) return invalidParams(id, "params must be an object");
  const p = params as Record<string, unknown>;
  const type = p["type"] ?? CHAINCODE_TYPE.golang;
  if (type !== CHAINCODE_TYPE.golang && type !== CHAINCODE_TYPE.node) return invalidParams(id, "params.type must be 1 (GOLANG: the built-in chaincodes) or 2 (NODE: JavaScript chaincode)");
  const codePackage = p["codePackage"];
  if (method === "deploy" && type === CHAINCODE_TYPE.node) {
    if (typeof codePackage !== "string" || codePackage === "") return invalidParams(id, "params.codePackage must be the chaincode package in base64 (a deploy of type 2)");
  } else if (codePackage !== undefined) {
    return invalidParams(id, method === "deploy" ? "params.codePackage needs params.type 2 (NODE)" : `params.codePackage belongs to a deploy, not to ${method}`);
  }

  const ref = p["chaincodeID"];
  if (typeof ref !== "object" || ref === null || Array.isArray(ref)) return invalidParams(id, "params.chaincodeID must be an object");
  const { path, name } = ref as Record<string, unknown>;
  const chaincodeID: ChaincodeRef = {};
  if (path !== undefined) {
    if (typeof path !== "string" || path === "") return invalidParams(id, "params.chaincodeID.path must be a non-empty string");
    chaincodeID.path = path;
  }
  if (name !== undefined) {
    if (typeof name !== "string" || name === "") return invalidParams(id, "params.chaincodeID.name must be a non-empty string");
    chaincodeID.name = name;
  }
  if (chaincodeID.path === undefined && chaincodeID.name === undefined) {
    return invalidParams(id, "params.chaincodeID needs a path or a name");
  }

  const ctor = p["ctorMsg"] ?? (method === "deploy" ? { function: "init", args: [] } : undefined);
  if (typeof ctor !== "object" || ctor === null || Array.isArray(ctor)) return invalidParams(id, "params.ctorMsg must be an object");
  const c = ctor as Record<string, unknown>;
  const rawArgs = c["args"] ?? [];
  if (!Array.isArray(rawArgs)) return invalidParams(id, "params.ctorMsg.args must be an array of strings");
  const args: string[] = [];
  for (const [index, arg] of rawArgs.entries()) {
    if (typeof arg !== "string") return invalidParams(id, `params.ctorMsg.args[${index}] must be a string`);
    args.push(arg);
  }
  let fn = c["function"];
  if (fn === undefined) {
    if (args.length > 0) fn = args.shift();
    else if (method === "deploy") fn = "init";
    else return invalidParams(id, "params.ctorMsg.function is missing (and args is empty)");
  }
  if (typeof fn !== "string" || fn === "") return invalidParams(id, "params.ctorMsg.function must be a non-empty string");
  const call: ChaincodeCall = { id, method: method as ChaincodeMethod, chaincodeID, function: fn, args };
  if (typeof codePackage === "string") call.codePackage = codePackage;
  return { ok: true, call };
}

function failure(id: RpcId, code: RpcErrorCode, message: string): ParsedCall {
  return { ok: false, id, error: { code, message } };
}

function invalidParams(id: RpcId, detail: string): ParsedCall {
  return { ok: false, id, error: { code: RPC_ERROR.invalidParams, message: `Invalid params: ${detail}`, data: detail } };
}
