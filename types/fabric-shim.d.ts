/**
 * Types for `fabric-shim` as chainpool's chaincode sandbox provides it: the part of Hyperledger
 * Fabric's Node chaincode API that means something without channels, identities, private
 * data or rich queries. The names and shapes are Fabric's (fabric-shim 2.x), so chaincode
 * typed against these compiles against Fabric's own types too; what the sandbox lacks is
 * left out here, so using it is a type error instead of a failed transaction. One
 * difference: values read are typed `Buffer` (Fabric's types say Uint8Array, though both
 * hand out Buffers), so `(await stub.getState(k)).toString("utf8")` type-checks as it runs.
 * `Buffer` is the global one: chaincode-globals.d.ts's, or @types/node's if you use that.
 *
 * Use: add this folder to your tsconfig (`"include": ["src", "node_modules/.../types"]` or a
 * copy of it), without `@types/node` (the sandbox has no Node: see chaincode-globals.d.ts).
 */
declare module "fabric-shim" {
  /** Fabric's protobuf Long, as `getTxTimestamp().seconds` holds it. */
  export interface Long {
    low: number;
    high: number;
    unsigned: boolean;
    toNumber(): number;
  }

  /** The transaction's timestamp, set by the block's proposer: the same on every node. */
  export interface Timestamp {
    seconds: Long;
    nanos: number;
  }

  /** What Init and Invoke answer: `success(payload)` (status 200) or `error(message)` (500). */
  export interface ChaincodeResponse {
    status: number;
    message: string;
    payload: Buffer;
  }

  export interface SplitCompositekey {
    objectType: string;
    attributes: string[];
  }

  /** One state entry a range or composite-key query yields. */
  export interface KV {
    namespace: string;
    key: string;
    /** The value's bytes: `value.toString("utf8")` is its text. */
    value: Buffer;
  }

  export interface NextResult<T> {
    value: T;
    done: boolean;
  }

  /** Fabric's explicit iterator: `next()` until `done`, then `close()`. */
  export interface CommonIterator<T> {
    next(): Promise<NextResult<T>>;
    close(): Promise<void>;
  }

  export type StateQueryIterator = CommonIterator<KV>;

  /**
   * A query's answer: awaited, the iterator; or iterated straight with `for await (const kv
   * of stub.getStateByRange(a, b))`, as fabric-shim 2.x allows.
   */
  export type StateQuery = Promise<StateQueryIterator> & AsyncIterable<KV>;

  // Fabric's types group these under a namespace; chaincode written against them says
  // `Iterators.KV`. Types only: nothing of it exists at run time.
  export namespace Iterators {
    type KV = import("fabric-shim").KV;
    type NextResult<T> = import("fabric-shim").NextResult<T>;
    type CommonIterator<T> = import("fabric-shim").CommonIterator<T>;
    type StateQueryIterator = import("fabric-shim").StateQueryIterator;
  }

  export interface SerializedIdentity {
    mspid: string;
    idBytes: Uint8Array;
  }

  /** What a chaincode's Init and Invoke see of their transaction and the ledger. */
  export interface ChaincodeStub {
    /** The function and then its arguments, as sent in ctorMsg. */
    getArgs(): string[];
    getStringArgs(): string[];
    getBufferArgs(): Buffer[];
    getFunctionAndParameters(): { fcn: string; params: string[] };

    getTxID(): string;
    /** Always "": a cluster has no channels. */
    getChannelID(): string;
    /** An empty identity: a cluster's callers are not identified. */
    getCreator(): SerializedIdentity;
    /** Always empty. */
    getTransient(): Map<string, Uint8Array>;
    getTxTimestamp(): Timestamp;
    getDateTimestamp(): Date;

    /** The value, or an empty buffer when the key has none (test `value.length === 0`). */
    getState(key: string): Promise<Buffer>;
    /** Writes on invoke and deploy; a query's writes are refused. A string is taken as its UTF-8 bytes. */
    putState(key: string, value: Uint8Array | string): Promise<void>;
    deleteState(key: string): Promise<void>;
    /** Keys in [startKey, endKey), in key order; "" for either end leaves it open. */
    getStateByRange(startKey: string, endKey: string): StateQuery;
    /** Keys made by createCompositeKey(objectType, [...attributes, ...more]), in key order. */
    getStateByPartialCompositeKey(objectType: string, attributes: string[]): StateQuery;

    createCompositeKey(objectType: string, attributes: string[]): string;
    splitCompositeKey(compositeKey: string): SplitCompositekey;

    /** One event per transaction (a later call replaces it), recorded with the transaction's result. */
    setEvent(name: string, payload: Uint8Array | string): void;
    /** Calls another chaincode deployed on the same cluster, by name; `channel` is ignored. */
    invokeChaincode(chaincodeName: string, args: Array<string | Uint8Array>, channel?: string): Promise<ChaincodeResponse>;
  }

  /** What `start()` takes: Fabric's shim-style chaincode. */
  export interface ChaincodeInterface {
    Init(stub: ChaincodeStub): Promise<ChaincodeResponse>;
    Invoke(stub: ChaincodeStub): Promise<ChaincodeResponse>;
  }

  export interface ChaincodeLogger {
    debug(...args: unknown[]): void;
    info(...args: unknown[]): void;
    warn(...args: unknown[]): void;
    error(...args: unknown[]): void;
  }

  /** A transaction answer with status 200; a string payload is taken as its UTF-8 bytes. */
  export function success(payload?: Uint8Array | string): ChaincodeResponse;
  /** A failed transaction: its message is recorded as the failure, its writes dropped. */
  export function error(message: string | Uint8Array | Error): ChaincodeResponse;
  /** Registers the chaincode; call it once, at the end of the entry module. */
  export function start(chaincode: ChaincodeInterface): void;
  /** Lines go to the node's log (bounded per transaction), as console's do. */
  export function newLogger(name?: string): ChaincodeLogger;

  /** `shim.Shim.start(...)`, as older chaincode spells it. */
  export const Shim: {
    success: typeof success;
    error: typeof error;
    start: typeof start;
    newLogger: typeof newLogger;
  };

  /** An identity that answers "" for everything: a cluster's callers are not identified. */
  export class ClientIdentity {
    constructor(stub?: ChaincodeStub);
    getID(): string;
    getMSPID(): string;
  }
}
