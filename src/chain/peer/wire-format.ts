import { TX_TYPE } from "../ledger/block.ts";
import type { Block, ChaincodeRef, Timestamp, Transaction, TransactionResult, TxType } from "../ledger/block.ts";

/**
 * Shape checks for blocks and transactions that arrive from other nodes or from the
 * ledger file: what is not exactly a block is refused before any hash or signature is
 * looked at. Answers the value, or a message naming what is wrong.
 */
export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

class ShapeError extends Error {}

function fail(message: string): never {
  throw new ShapeError(message);
}

function parse<T>(read: () => T): Parsed<T> {
  try {
    return { ok: true, value: read() };
  } catch (error: unknown) {
    if (error instanceof ShapeError) return { ok: false, error: error.message };
    throw error;
  }
}

export function parseTransaction(input: unknown): Parsed<Transaction> {
  return parse(() => readTransaction(input, "transaction"));
}

export function parseBlock(input: unknown): Parsed<Block> {
  return parse(() => readBlock(input, "block"));
}

function readBlock(input: unknown, field: string): Block {
  const o = object(input, field);
  const transactions = array(o["transactions"], `${field}.transactions`).map((tx, i) =>
    readTransaction(tx, `${field}.transactions[${i}]`),
  );
  const transactionResults = array(o["transactionResults"], `${field}.transactionResults`).map((r, i) =>
    readResult(r, `${field}.transactionResults[${i}]`),
  );
  return {
    number: integer(o["number"], `${field}.number`),
    previousBlockHash: string(o["previousBlockHash"], `${field}.previousBlockHash`),
    stateHash: string(o["stateHash"], `${field}.stateHash`),
    proposerID: string(o["proposerID"], `${field}.proposerID`),
    timestamp: readTimestamp(o["timestamp"], `${field}.timestamp`),
    transactions,
    transactionResults,
    consensusMetadata: object(o["consensusMetadata"], `${field}.consensusMetadata`),
    hash: string(o["hash"], `${field}.hash`),
    signature: string(o["signature"], `${field}.signature`),
  };
}

function readTransaction(input: unknown, field: string): Transaction {
  const o = object(input, field);
  const type = o["type"];
  if (type !== TX_TYPE.deploy && type !== TX_TYPE.invoke) fail(`${field}.type must be 1 (deploy) or 2 (invoke)`);
  const uuid = string(o["uuid"], `${field}.uuid`);
  if (uuid === "" || o["txid"] !== uuid) fail(`${field}.txid and .uuid must be the same non-empty string`);
  const ref = object(o["chaincodeID"], `${field}.chaincodeID`);
  const chaincodeID: ChaincodeRef = {};
  if (ref["path"] !== undefined) chaincodeID.path = string(ref["path"], `${field}.chaincodeID.path`);
  if (ref["name"] !== undefined) chaincodeID.name = string(ref["name"], `${field}.chaincodeID.name`);
  if (chaincodeID.path === undefined && chaincodeID.name === undefined) fail(`${field}.chaincodeID needs a path or a name`);
  const payload = object(o["payload"], `${field}.payload`);
  const codePackage = o["codePackage"] === undefined ? undefined : string(o["codePackage"], `${field}.codePackage`);
  if (codePackage !== undefined && type !== TX_TYPE.deploy) fail(`${field}.codePackage belongs to a deploy only`);
  return {
    type: type as TxType,
    txid: uuid,
    uuid,
    chaincodeID,
    payload: {
      function: string(payload["function"], `${field}.payload.function`),
      args: array(payload["args"], `${field}.payload.args`).map((a, i) => string(a, `${field}.payload.args[${i}]`)),
    },
    timestamp: readTimestamp(o["timestamp"], `${field}.timestamp`),
    ...(codePackage !== undefined && { codePackage }),
  };
}

function readResult(input: unknown, field: string): TransactionResult {
  const o = object(input, field);
  const errorCode = o["errorCode"];
  if (errorCode !== 0 && errorCode !== 1) fail(`${field}.errorCode must be 0 or 1`);
  const events =
    o["events"] === undefined
      ? undefined
      : array(o["events"], `${field}.events`).map((event, i) => {
          const e = object(event, `${field}.events[${i}]`);
          return { name: string(e["name"], `${field}.events[${i}].name`), payload: string(e["payload"], `${field}.events[${i}].payload`) };
        });
  return {
    uuid: string(o["uuid"], `${field}.uuid`),
    errorCode,
    result: string(o["result"], `${field}.result`),
    error: string(o["error"], `${field}.error`),
    ...(events !== undefined && { events }),
  };
}

function readTimestamp(input: unknown, field: string): Timestamp {
  const o = object(input, field);
  return { seconds: integer(o["seconds"], `${field}.seconds`), nanos: integer(o["nanos"], `${field}.nanos`) };
}

function object(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail(`${field} must be an object`);
  return value as Record<string, unknown>;
}

function array(value: unknown, field: string): unknown[] {
  if (!Array.isArray(value)) fail(`${field} must be an array`);
  return value;
}

function string(value: unknown, field: string): string {
  if (typeof value !== "string") fail(`${field} must be a string`);
  return value;
}

function integer(value: unknown, field: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) fail(`${field} must be a non-negative integer`);
  return value;
}
