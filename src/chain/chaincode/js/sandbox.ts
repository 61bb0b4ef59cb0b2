import type { QuickJSContext, QuickJSHandle, QuickJSRuntime, QuickJSWASMModule } from "quickjs-emscripten-core";
import type { CodePackage } from "./package.ts";
import { PRELUDE_SOURCE } from "./prelude-source.ts";
import { BUDGET_INTERRUPTS, MAX_STACK_BYTES, MEMORY_LIMIT_BYTES, TICKS_PER_INTERRUPT } from "./limits.ts";

/** What the chaincode asks of the node during a transaction (state, events, other chaincode). */
export interface SandboxHost {
  /** Answers a string, or undefined; throws an Error to refuse (the chaincode sees it thrown). */
  call(op: string, args: readonly string[]): string | undefined;
  /** Host work that the engine does not count (state reads, ranges), in ticks. */
  ticks(): number;
  /** Adds host work done for the chaincode (UTF-8 conversions), in ticks. */
  charge?(ticks: number): void;
}

export interface TxRequest {
  txId: string;
  millis: number;
  seconds: number;
  nanos: number;
  fn: string;
  args: readonly string[];
  mode: "init" | "invoke" | "query";
  /** 32 hex digits seeding Math.random. */
  seed: string;
}

export type SandboxOutcome =
  | { ok: true; status: number; message: string; payload: string }
  | {
      ok: false;
      error: string;
      /** The sandbox must not run another transaction: its runtime may hold this one's leftovers. */
      discard: boolean;
      outOfMemory?: true;
      /** WebAssembly itself failed (a trap, the host's stack): the whole engine module is suspect. */
      engineFailed?: true;
    };

export type CreateResult = { ok: true; sandbox: JsSandbox } | { ok: false; error: string; engineFailed?: true };

const UTF8_ENCODER = new TextEncoder();
const UTF8_DECODER = new TextDecoder();
const WRAPPER_HEAD = "(function (exports, require, module, __filename, __dirname) {";
const BUDGET_TICKS = BUDGET_INTERRUPTS * TICKS_PER_INTERRUPT;

/**
 * One chaincode instance's QuickJS runtime and context, made once (prelude evaluated,
 * intrinsics frozen, the package's modules compiled) and reused for every transaction.
 * Every transaction instantiates the modules afresh and nothing else in the context can be
 * changed, so a transaction sees what it would see in a new context: its outcome depends on
 * the package, the state and the transaction, never on what ran before.
 *
 * Work is counted by QuickJS's interrupt handler, which it calls once every 10,000 ticks.
 * The countdown lives in the context and is not reset between calls, so before each
 * transaction it is set back to 10,000: by writing it where it lives in WebAssembly memory
 * (found and checked when the context is made), or, if that could not be found, by running
 * an empty loop until the handler fires. Either way each transaction starts with a full
 * period and its budget is the same on every node, whatever ran before.
 */
export class JsSandbox {
  readonly #engine: QuickJSWASMModule;
  readonly #runtime: QuickJSRuntime;
  readonly #context: QuickJSContext;
  #api: QuickJSHandle | undefined;
  #counterIndex: number | undefined;
  #heap: Int32Array | undefined;
  #mode: "align" | "probe" | "run" = "run";
  #interrupts = 0;
  #interrupted = false;
  #host: SandboxHost | undefined;
  #done: { status: number; message: string; payload: string } | undefined;
  #disposed = false;

  private constructor(engine: QuickJSWASMModule) {
    this.#engine = engine;
    this.#runtime = engine.newRuntime();
    this.#runtime.setMemoryLimit(MEMORY_LIMIT_BYTES);
    this.#runtime.setMaxStackSize(MAX_STACK_BYTES);
    this.#runtime.setInterruptHandler(() => this.#onInterrupt());
    this.#context = this.#runtime.newContext();
  }

  /** Makes the sandbox and loads the package, answering why a package cannot run. */
  static create(engine: QuickJSWASMModule, pkg: CodePackage): CreateResult {
    let sandbox: JsSandbox | undefined;
    try {
      sandbox = new JsSandbox(engine);
      const error = sandbox.#install(pkg);
      if (error !== undefined) {
        sandbox.dispose();
        return { ok: false, error };
      }
      return { ok: true, sandbox };
    } catch (error: unknown) {
      sandbox?.dispose();
      return { ok: false, error: `the chaincode engine failed: ${error instanceof Error ? error.message : String(error)}`, engineFailed: true };
    }
  }

  /** How the countdown is reset before each transaction (for tests and the log). */
  get alignment(): "memory" | "loop" {
    return this.#counterIndex === undefined ? "loop" : "memory";
  }

  /** Runs one transaction to its end: the chaincode's answer settled and no job left. */
  run(request: TxRequest, host: SandboxHost): SandboxOutcome {
    if (this.#disposed || this.#api === undefined) return { ok: false, error: "the sandbox was discarded", discard: true };
    this.#host = host;
    this.#done = undefined;
    try {
      return this.#execute("run", JSON.stringify(request));
    } catch (error: unknown) {
      return { ok: false, error: `the chaincode engine failed: ${describeHostError(error)}`, discard: true, engineFailed: true };
    } finally {
      this.#host = undefined;
    }
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    try {
      this.#api?.dispose();
      this.#context.dispose();
      this.#runtime.dispose();
    } catch {
      // A runtime left mid-operation by a trap cannot be freed cleanly; its engine is dropped with it.
    }
  }

  #install(pkg: CodePackage): string | undefined {
    const ctx = this.#context;
    const prelude = ctx.evalCode(PRELUDE_SOURCE, "fabric-shim.js");
    if (prelude.error) return `the sandbox prelude failed: ${errorText(ctx, prelude.error)}`;
    const bridge = ctx.newObject();
    const call = ctx.newFunction("call", (...args) => this.#onHostCall(args));
    ctx.setProp(bridge, "call", call);
    const api = ctx.callFunction(prelude.value, ctx.undefined, bridge);
    call.dispose();
    bridge.dispose();
    prelude.value.dispose();
    if (api.error) return `the sandbox prelude failed: ${errorText(ctx, api.error)}`;
    this.#api = api.value;
    this.#findCounter();
    for (const [path, source] of Object.entries(pkg.files)) {
      const compiled = ctx.evalCode(`${WRAPPER_HEAD}${source}\n})`, path);
      if (compiled.error) return syntaxErrorText(ctx, compiled.error, path);
      const error = this.#callApi("define", [ctx.newString(path), compiled.value]);
      if (error !== undefined) return error;
    }
    const entryError = this.#callApi("setEntry", [ctx.newString(pkg.main)]);
    if (entryError !== undefined) return entryError;
    const checked = this.#execute("check", undefined);
    if (!checked.ok) return checked.error;
    return checked.message === "" ? undefined : `the package does not load: ${checked.message}`;
  }

  /** Calls api[name](...args) outside any transaction; disposes the arguments. */
  #callApi(name: string, args: QuickJSHandle[]): string | undefined {
    const ctx = this.#context;
    const api = this.#api;
    if (!api) return "the sandbox has no prelude";
    const fn = ctx.getProp(api, name);
    const result = ctx.callFunction(fn, api, ...args);
    fn.dispose();
    for (const arg of args) arg.dispose();
    if (result.error) return errorText(ctx, result.error);
    result.value.dispose();
    return undefined;
  }

  /**
   * `check` (load the package once, answer "" or why not) or `run` (one transaction),
   * under the budget, draining every job the chaincode queued.
   */
  #execute(name: "check" | "run", json: string | undefined): SandboxOutcome & { message?: string } {
    const ctx = this.#context;
    const api = this.#api;
    if (!api) return { ok: false, error: "the sandbox has no prelude", discard: true };
    this.#alignCounter();
    this.#interrupts = 0;
    this.#interrupted = false;
    this.#mode = "run";
    const fn = ctx.getProp(api, name);
    const args = json === undefined ? [] : [ctx.newString(json)];
    const result = ctx.callFunction(fn, api, ...args);
    fn.dispose();
    for (const arg of args) arg.dispose();
    if (result.error) return this.#abnormal(result.error);
    let checkMessage: string | undefined;
    if (name === "check") checkMessage = ctx.getString(result.value);
    result.value.dispose();
    while (this.#runtime.hasPendingJob()) {
      const jobs = this.#runtime.executePendingJobs(-1);
      if (jobs.error) return this.#abnormal(jobs.error);
      jobs.dispose();
    }
    if (this.#interrupted) return this.#budgetExceeded();
    if (name === "check") return { ok: true, status: 200, message: checkMessage ?? "", payload: "" };
    const done = this.#done;
    if (!done) return { ok: false, error: "the chaincode's answer never settled (a promise that nothing resolves)", discard: true };
    return { ok: true, status: done.status, message: done.message, payload: done.payload };
  }

  /** An error that escaped the prelude's own handling: the budget, memory, or the engine. */
  #abnormal(handle: QuickJSHandle): SandboxOutcome {
    const text = errorText(this.#context, handle);
    if (this.#interrupted) return this.#budgetExceeded();
    if (/out of memory/i.test(text)) {
      return { ok: false, error: `the chaincode ran out of memory (its limit is ${MEMORY_LIMIT_BYTES / 1024 / 1024} MiB)`, discard: true, outOfMemory: true };
    }
    return { ok: false, error: text, discard: true };
  }

  #budgetExceeded(): SandboxOutcome {
    return { ok: false, error: `the chaincode ran past its budget of ${BUDGET_TICKS.toLocaleString("en-US")} ticks`, discard: true };
  }

  #onInterrupt(): boolean {
    this.#interrupts++;
    if (this.#mode === "align") return true;
    if (this.#mode === "probe") return false;
    const hostPeriods = Math.floor((this.#host?.ticks() ?? 0) / TICKS_PER_INTERRUPT);
    if (this.#interrupts + hostPeriods > BUDGET_INTERRUPTS) this.#interrupted = true;
    return this.#interrupted;
  }

  /** host.call(op, argsJson) from the prelude (utf8decode: host.call(op, arrayBuffer)); answers JSON text. */
  #onHostCall(args: QuickJSHandle[]): QuickJSHandle | undefined {
    const ctx = this.#context;
    const [opHandle, argHandle] = args;
    const op = opHandle === undefined ? "" : ctx.getString(opHandle);
    if (op === "utf8decode") return this.#utf8Decode(argHandle);
    const strings = JSON.parse(argHandle === undefined ? "[]" : ctx.getString(argHandle)) as string[];
    if (op === "utf8encode") return this.#utf8Encode(strings[0] ?? "");
    if (op === "done") {
      this.#done = JSON.parse(strings[0] ?? "{}") as { status: number; message: string; payload: string };
      return undefined;
    }
    const host = this.#host;
    if (!host) throw new Error(`${op} is available only inside a transaction`);
    if (this.#interrupted) throw new Error("the transaction ran past its budget");
    const answer = host.call(op, strings);
    if (host.ticks() / TICKS_PER_INTERRUPT + this.#interrupts > BUDGET_INTERRUPTS) this.#interrupted = true;
    return answer === undefined ? undefined : ctx.newString(JSON.stringify(answer));
  }

  /** UTF-8 for Buffer and TextEncoder/TextDecoder, charged one tick per 16 bytes. */
  #utf8Encode(text: string): QuickJSHandle {
    const bytes = UTF8_ENCODER.encode(text);
    this.#host?.charge?.(Math.ceil(bytes.length / 16));
    return this.#context.newArrayBuffer(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  }

  #utf8Decode(handle: QuickJSHandle | undefined): QuickJSHandle {
    const ctx = this.#context;
    if (handle === undefined) throw new Error("utf8decode needs bytes");
    const view = ctx.getArrayBuffer(handle);
    try {
      this.#host?.charge?.(Math.ceil(view.value.length / 16));
      return ctx.newString(JSON.stringify(UTF8_DECODER.decode(view.value)));
    } finally {
      view.dispose();
    }
  }

  #heap32(): Int32Array {
    const buffer = this.#engine.getWasmMemory().buffer;
    if (this.#heap?.buffer !== buffer) this.#heap = new Int32Array(buffer);
    return this.#heap as Int32Array;
  }

  #alignCounter(): void {
    if (this.#counterIndex !== undefined) {
      this.#heap32()[this.#counterIndex] = TICKS_PER_INTERRUPT;
      return;
    }
    this.#alignByLoop();
  }

  #alignByLoop(): void {
    this.#mode = "align";
    const result = this.#context.evalCode("for (;;) {}", "align.js");
    (result.error ?? result.value).dispose();
    this.#mode = "run";
  }

  /**
   * Finds the interrupt countdown in the context's memory: right after the handler fired it
   * holds 10,000; a short loop lowers it; set to a small number, the handler fires within
   * that many ticks. Only a word that passes all three is used.
   */
  #findCounter(): void {
    const pointer = (this.#context as unknown as { ctx?: { value?: unknown } }).ctx?.value;
    if (typeof pointer !== "number") return;
    this.#alignByLoop();
    const base = pointer >> 2;
    let heap = this.#heap32();
    const candidates: number[] = [];
    for (let index = base; index < base + 512 && index < heap.length; index++) if (heap[index] === TICKS_PER_INTERRUPT) candidates.push(index);
    this.#mode = "probe";
    const probe = (code: string) => {
      const result = this.#context.evalCode(code, "probe.js");
      (result.error ?? result.value).dispose();
    };
    probe("for (let i = 0; i < 100; i++) {}");
    heap = this.#heap32();
    const moved = candidates.filter((index) => {
      const value = heap[index] ?? 0;
      return value < TICKS_PER_INTERRUPT - 100 && value > TICKS_PER_INTERRUPT - 2_000;
    });
    if (moved.length !== 1) {
      this.#mode = "run";
      return;
    }
    const index = moved[0] as number;
    heap[index] = 5;
    const before = this.#interrupts;
    probe("for (let i = 0; i < 50; i++) {}");
    const fired = this.#interrupts - before;
    this.#mode = "run";
    if (fired === 1) this.#counterIndex = index;
    this.#alignCounter();
  }
}

function errorText(ctx: QuickJSContext, handle: QuickJSHandle): string {
  try {
    const dumped: unknown = ctx.dump(handle);
    if (typeof dumped === "object" && dumped !== null) {
      const { name, message } = dumped as { name?: unknown; message?: unknown };
      if (typeof message === "string") return typeof name === "string" && name !== "Error" ? `${name}: ${message}` : message;
    }
    return String(dumped);
  } finally {
    handle.dispose();
  }
}

/** A syntax error as "lib/x.js:3:14: SyntaxError: unexpected token", columns of line 1 without the wrapper. */
function syntaxErrorText(ctx: QuickJSContext, handle: QuickJSHandle, path: string): string {
  let location = "";
  try {
    const dumped = ctx.dump(handle) as { stack?: unknown } | undefined;
    const stack = typeof dumped?.stack === "string" ? dumped.stack : "";
    const match = new RegExp(`${escapeRegExp(path)}:(\\d+):(\\d+)`).exec(stack);
    if (match) {
      const line = Number(match[1]);
      const column = line === 1 ? Math.max(1, Number(match[2]) - WRAPPER_HEAD.length) : Number(match[2]);
      location = `:${line}:${column}`;
    }
  } catch {
    // the location is a help, not a requirement
  }
  return `${path}${location}: ${errorText(ctx, handle)}`;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function describeHostError(error: unknown): string {
  if (error instanceof RangeError) return "the engine's stack overflowed (recursion too deep for WebAssembly)";
  return error instanceof Error ? error.message : String(error);
}
