import { Buffer } from "node:buffer";
import type { ChaincodeEvent } from "../../ledger/block.ts";
import type { StateOverlay } from "../../ledger/world-state.ts";
import type { Logger, LogLevel } from "../../log/logger.ts";
import type { ChaincodeResult } from "../chaincode.ts";
import { stateKeys } from "../chaincode-registry.ts";
import type { JsCall } from "./js-call.ts";
import {
  MAX_CALL_DEPTH,
  MAX_EVENTS,
  MAX_KEY_BYTES,
  MAX_LOG_LINES,
  MAX_READ_BYTES,
  MAX_WRITE_BYTES,
  MAX_WRITES,
  TICKS_PER_HOST_CALL,
  TICKS_PER_RANGE_PAIR,
} from "./limits.ts";
import type { SandboxHost } from "./sandbox.ts";

/** invokeChaincode: runs another chaincode (by name or path) on the same transaction's state. */
export type NestedInvoke = (overlay: StateOverlay, reference: string, fn: string, args: readonly string[], caller: JsCall, callerInstance: string) => ChaincodeResult;

export interface TransactionHostOptions {
  /** The transaction's writes go here; the caller commits them only on success. */
  overlay: StateOverlay;
  instance: string;
  call: JsCall;
  invokeOther: NestedInvoke;
  log: Logger;
}

const LOG_LEVELS: ReadonlySet<string> = new Set(["debug", "info", "warn", "error"]);

/**
 * What a chaincode's stub calls reach during one transaction: the instance's keys in the
 * state, its events, its console, other chaincode. Limits are enforced here, and a limit
 * passed is final: the chaincode sees an error thrown, and even if it catches it the
 * transaction fails (`failure`), so no node's outcome depends on how the chaincode handled it.
 */
export class TransactionHost implements SandboxHost {
  readonly events: ChaincodeEvent[] = [];
  failure: string | undefined;
  readonly #options: TransactionHostOptions;
  readonly #prefix: string;
  #ticks = 0;
  #writeBytes = 0;
  #writes = 0;
  #readBytes = 0;
  #logLines = 0;

  constructor(options: TransactionHostOptions) {
    this.#options = options;
    this.#prefix = stateKeys.dataPrefix(options.instance);
  }

  ticks(): number {
    return this.#ticks;
  }

  charge(ticks: number): void {
    this.#ticks += ticks;
  }

  /** Logs how many console lines were over the limit. */
  finish(): void {
    if (this.#logLines > MAX_LOG_LINES) {
      this.#options.log.log("warn", "chaincode.log_dropped", { chaincode: this.#options.instance, tx: this.#options.call.txId, lines: this.#logLines - MAX_LOG_LINES });
    }
  }

  call(op: string, args: readonly string[]): string | undefined {
    this.#ticks += TICKS_PER_HOST_CALL;
    const [first = "", second = ""] = args;
    const { overlay } = this.#options;
    switch (op) {
      case "log":
        return this.#log(first, second);
      case "getState":
        this.#checkKey(first);
        return overlay.get(this.#prefix + first);
      case "putState":
        this.#checkKey(first);
        this.#charge(Buffer.byteLength(first, "utf8") + Buffer.byteLength(second, "utf8"));
        overlay.put(this.#prefix + first, second);
        return undefined;
      case "deleteState":
        this.#checkKey(first);
        this.#charge(Buffer.byteLength(first, "utf8"));
        overlay.delete(this.#prefix + first);
        return undefined;
      case "range":
        return this.#pairs((key) => key >= first && (second === "" || key < second) && (first.startsWith("\u0000") || !key.startsWith("\u0000")));
      case "prefix":
        return this.#pairs((key) => key.startsWith(first));
      case "setEvent":
        if (this.events.length >= MAX_EVENTS) this.#fail(`a transaction may set at most ${MAX_EVENTS} events`);
        if (first.length > 256) this.#fail("an event name may have at most 256 characters");
        this.#charge(Buffer.byteLength(first, "utf8") + Buffer.byteLength(second, "utf8"));
        this.events.push({ name: first, payload: second });
        return undefined;
      case "invoke":
        return this.#invoke(first, second);
      default:
        throw new Error(`the stub has no operation "${op}"`);
    }
  }

  #log(level: string, message: string): undefined {
    this.#logLines++;
    if (this.#logLines > MAX_LOG_LINES) return undefined;
    const { log, instance, call } = this.#options;
    log.log((LOG_LEVELS.has(level) ? level : "info") as LogLevel, "chaincode.log", { chaincode: instance, tx: call.txId, mode: call.mode, message });
    return undefined;
  }

  #checkKey(key: string): void {
    if (key === "") throw new Error("a key must be a non-empty string");
    if (Buffer.byteLength(key, "utf8") > MAX_KEY_BYTES) this.#fail(`a key may have at most ${MAX_KEY_BYTES} bytes`);
  }

  /** Counts one write of `bytes`; past a limit the transaction fails. */
  #charge(bytes: number): void {
    this.#writes++;
    this.#writeBytes += bytes;
    this.#ticks += Math.ceil(bytes / 64);
    if (this.#writes > MAX_WRITES) this.#fail(`a transaction may write at most ${MAX_WRITES} keys`);
    if (this.#writeBytes > MAX_WRITE_BYTES) this.#fail(`a transaction may write at most ${MAX_WRITE_BYTES} bytes of keys and values (this one wrote ${this.#writeBytes})`);
  }

  #pairs(take: (key: string) => boolean): string {
    const { overlay } = this.#options;
    const pairs: [string, string][] = [];
    for (const full of overlay.keysWithPrefix(this.#prefix)) {
      const key = full.slice(this.#prefix.length);
      if (!take(key)) continue;
      const value = overlay.get(full) ?? "";
      this.#readBytes += key.length + value.length;
      this.#ticks += TICKS_PER_RANGE_PAIR;
      if (this.#readBytes > MAX_READ_BYTES) this.#fail(`a transaction may read at most ${MAX_READ_BYTES} bytes by range and partial-key queries`);
      pairs.push([key, value]);
    }
    return JSON.stringify(pairs);
  }

  #invoke(reference: string, argsJson: string): string {
    const { call, overlay, invokeOther } = this.#options;
    if (call.depth + 1 >= MAX_CALL_DEPTH) this.#fail(`invokeChaincode may nest ${MAX_CALL_DEPTH - 1} level deep`);
    const [fn = "", ...args] = JSON.parse(argsJson) as string[];
    const result = invokeOther(overlay, reference, fn, args, call, this.#options.instance);
    return JSON.stringify(result.ok ? { status: 200, message: "", payload: result.value } : { status: 500, message: result.error, payload: "" });
  }

  #fail(message: string): never {
    this.failure ??= message;
    throw new Error(message);
  }
}
