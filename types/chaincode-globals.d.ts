/**
 * The globals and modules chainpool's chaincode sandbox has besides fabric-shim and
 * fabric-contract-api: a `Buffer` subset, TextEncoder/TextDecoder, `console` (into the node's
 * log) and `util`. There is no Node in the sandbox (no fs, process, timers or network), so
 * compile chaincode with these instead of `@types/node`: `"types": []` and this folder in
 * `include`. `Date` is the transaction's timestamp; `Math.random` is seeded by the
 * transaction id, the same on every node.
 */

/** The subset of Node's Buffer chaincode uses: a Uint8Array with text conversions. */
interface Buffer extends Uint8Array {
  toString(encoding?: "utf8" | "utf-8" | "hex" | "base64", start?: number, end?: number): string;
  toJSON(): { type: "Buffer"; data: number[] };
  equals(other: Uint8Array): boolean;
}
interface BufferConstructor {
  from(value: string, encoding?: "utf8" | "utf-8" | "hex" | "base64"): Buffer;
  from(value: ArrayLike<number> | ArrayBuffer | { type: "Buffer"; data: number[] }): Buffer;
  alloc(size: number): Buffer;
  isBuffer(value: unknown): value is Buffer;
  byteLength(value: string | Uint8Array): number;
  concat(list: readonly Uint8Array[]): Buffer;
}
declare var Buffer: BufferConstructor;

interface TextEncoder {
  readonly encoding: "utf-8";
  encode(text?: string): Uint8Array;
}
declare var TextEncoder: { new (): TextEncoder };

interface TextDecoder {
  readonly encoding: "utf-8";
  decode(bytes?: Uint8Array | ArrayBuffer): string;
}
declare var TextDecoder: { new (): TextDecoder };

/** Lines go to the node's log, bounded per transaction. */
declare const console: {
  log(...args: unknown[]): void;
  info(...args: unknown[]): void;
  debug(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
  trace(...args: unknown[]): void;
};

/** CommonJS, as Fabric's Node chaincode is written: `require`, `module.exports`. */
declare function require(id: "fabric-shim"): typeof import("fabric-shim");
declare function require(id: "fabric-contract-api"): typeof import("fabric-contract-api");
declare function require(id: "util" | "node:util"): typeof import("util");
declare function require(id: string): any;
declare const module: { exports: any };
declare const exports: any;

declare module "util" {
  /** printf-style: %s %d %i %f %j %o %O %%, then the other arguments separated by spaces. */
  export function format(format?: unknown, ...args: unknown[]): string;
  export function inspect(value: unknown): string;
  export function isDeepStrictEqual(a: unknown, b: unknown): boolean;
  export function promisify<T>(fn: (...args: any[]) => void): (...args: any[]) => Promise<T>;
  export const TextEncoder: typeof globalThis.TextEncoder;
  export const TextDecoder: typeof globalThis.TextDecoder;
}
declare module "node:util" {
  export * from "util";
}
