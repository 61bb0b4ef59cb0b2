import { Buffer } from "node:buffer";
import type { QuickJSSyncVariant, QuickJSWASMModule } from "quickjs-emscripten-core";
import { ENGINE_MEMORY_BYTES } from "./limits.ts";

export class EngineNotLoadedError extends Error {}

/**
 * QuickJS compiled to WebAssembly, loaded the first time a JavaScript chaincode is needed:
 * a node that never runs one never pays for it (the wasm module is about a megabyte of
 * code and its memory grows with the chaincodes it runs).
 *
 * Loading is asynchronous (WebAssembly instantiation is) while transactions execute
 * synchronously, so the node loads the engine before it executes anything that may need
 * it: at start when the ledger holds a JavaScript deploy, and before it handles a request
 * or a reply that carries one (`prepareFor`). Once a JavaScript chaincode is deployed the
 * engine stays loaded, so every later transaction finds it.
 */
export class JsEngine {
  #module: QuickJSWASMModule | undefined;
  #loading: Promise<QuickJSWASMModule> | undefined;

  get loaded(): boolean {
    return this.#module !== undefined;
  }

  /** The engine, or EngineNotLoadedError (and the load starts) when it is not loaded yet. */
  module(): QuickJSWASMModule {
    if (this.#module) return this.#module;
    void this.load().catch(() => undefined);
    throw new EngineNotLoadedError("the JavaScript chaincode engine is still loading");
  }

  load(): Promise<QuickJSWASMModule> {
    if (this.#module) return Promise.resolve(this.#module);
    this.#loading ??= (async () => {
      const [core, variant] = await Promise.all([import("quickjs-emscripten-core"), import("@jitl/quickjs-singlefile-cjs-release-sync")]);
      // The package is CommonJS: its namespace's default is module.exports, whose default is the variant.
      const base = variant.default as unknown as QuickJSSyncVariant | { default: QuickJSSyncVariant };
      const sync = "default" in base ? base.default : base;
      // All the node's chaincode runtimes live in this one memory; its maximum is what they can take from the node.
      const wasmMemory = new wasm.Memory({ initial: 256, maximum: ENGINE_MEMORY_BYTES / 65_536 });
      const module = await core.newQuickJSWASMModuleFromVariant(core.newVariant(sync, { wasmMemory }));
      this.#module = module;
      return module;
    })();
    const loading = this.#loading;
    loading.catch(() => {
      if (this.#loading === loading) this.#loading = undefined;
    });
    return loading;
  }

  /**
   * Loads the engine when `text` (a request body, a reply, a ledger file) may hold a
   * JavaScript chaincode deploy; resolves at once otherwise.
   */
  async prepareFor(text: string | Uint8Array): Promise<void> {
    if (this.#module) return;
    if (!mentionsCodePackage(text)) return;
    await this.load();
  }

  /**
   * Forgets a module whose state can no longer be trusted (a trap inside WebAssembly left
   * its memory mid-operation); the next load makes a fresh one.
   */
  discard(): void {
    this.#module = undefined;
    this.#loading = undefined;
  }
}

/** The global WebAssembly object (this project's TypeScript lib has its types but not its value). */
const wasm = (globalThis as unknown as { WebAssembly: { Memory: new (descriptor: { initial: number; maximum: number }) => { buffer: ArrayBuffer } } }).WebAssembly;

const MARKER = "codePackage";
const MARKER_BYTES = new TextEncoder().encode(MARKER);

function mentionsCodePackage(text: string | Uint8Array): boolean {
  if (typeof text === "string") return text.includes(MARKER);
  return Buffer.from(text.buffer, text.byteOffset, text.byteLength).includes(Buffer.from(MARKER_BYTES));
}
