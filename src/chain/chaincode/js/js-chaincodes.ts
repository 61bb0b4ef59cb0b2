import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { canonicalJson } from "../../ledger/canonical-json.ts";
import type { ChaincodeEvent } from "../../ledger/block.ts";
import type { JsCall } from "./js-call.ts";
import { StateOverlay } from "../../ledger/world-state.ts";
import type { Logger } from "../../log/logger.ts";
import { MAX_CODE_PACKAGE_BYTES } from "../../size-limits.ts";
import type { ChaincodeResult } from "../chaincode.ts";
import { stateKeys } from "../chaincode-registry.ts";
import type { ChaincodeInstance } from "../chaincode-registry.ts";
import type { JsEngine } from "./engine.ts";

export type { JsCall } from "./js-call.ts";
import { TransactionHost } from "./transaction-host.ts";
import type { NestedInvoke } from "./transaction-host.ts";
import { parseCodePackage } from "./package.ts";
import type { CodePackage } from "./package.ts";
import { JsSandbox } from "./sandbox.ts";
import type { SandboxOutcome, TxRequest } from "./sandbox.ts";

export interface JsChaincodesOptions {
  engine: JsEngine;
  log: Logger;
}

/**
 * The JavaScript chaincodes of one node: a sandbox per deployed instance, made when first
 * needed (from the package kept in the world state) and reused. Deploys, invokes and
 * queries run here; the executor decides which chaincode a transaction means.
 */
export class JsChaincodes {
  readonly engine: JsEngine;
  readonly #log: Logger;
  readonly #sandboxes = new Map<string, JsSandbox>();

  constructor(options: JsChaincodesOptions) {
    this.engine = options.engine;
    this.#log = options.log;
  }

  /** Fabric 0.6 named chaincode by a hash of code and constructor: SHA-256 of the package bytes, then the ctorMsg as canonical JSON. */
  static instanceName(codePackage: string, fn: string, args: readonly string[]): string {
    return createHash("sha256").update(Buffer.from(codePackage, "base64")).update(canonicalJson({ function: fn, args }), "utf8").digest("hex");
  }

  /** Checks a package as a deploy's first step (also done by the JSON-RPC door, to refuse at once). */
  static parse(codePackage: string, maxBytes = MAX_CODE_PACKAGE_BYTES): ReturnType<typeof parseCodePackage> {
    return parseCodePackage(codePackage, Math.min(maxBytes, MAX_CODE_PACKAGE_BYTES));
  }

  /**
   * Installs the package as a new instance and runs its Init with the ctorMsg (a
   * contract-style chaincode without that function just installs). Answers the name.
   */
  deploy(overlay: StateOverlay, path: string, codePackage: string, call: JsCall, invokeOther: NestedInvoke): ChaincodeResult {
    const parsed = JsChaincodes.parse(codePackage);
    if (!parsed.ok) return { ok: false, error: parsed.error };
    const name = JsChaincodes.instanceName(codePackage, call.fn, call.args);
    if (overlay.get(stateKeys.instance(name)) !== undefined) return { ok: false, error: `chaincode ${name} is already deployed (same package and ctorMsg)` };
    this.#drop(name);
    const created = JsSandbox.create(this.engine.module(), parsed.pkg);
    if (!created.ok) return { ok: false, error: created.error };
    this.#sandboxes.set(name, created.sandbox);
    const instance: ChaincodeInstance = { name, kind: "js", path };
    const deployed = new StateOverlay(overlay);
    deployed.put(stateKeys.instance(name), JSON.stringify(instance));
    deployed.put(stateKeys.code(name), JSON.stringify(parsed.pkg));
    deployed.put(stateKeys.latestPath(path), name);
    const outcome = this.call(deployed, instance, call, invokeOther);
    if (!outcome.ok) {
      this.#drop(name);
      return outcome;
    }
    deployed.commitTo(overlay);
    return { ok: true, value: name, ...(outcome.events && { events: outcome.events }) };
  }

  /** Runs Init, Invoke (or a query, which is Invoke on state that is then dropped) of an instance. */
  call(overlay: StateOverlay, instance: ChaincodeInstance, call: JsCall, invokeOther: NestedInvoke): ChaincodeResult {
    const first = this.#attempt(overlay, instance, call, invokeOther);
    if (first.ok || !first.outOfMemory) return first.result;
    // Memory use depends on what the runtime holds from before (garbage not yet collected),
    // so a transaction that ran out is run again in a fresh runtime, whose answer is the
    // same on every node: that one is recorded.
    this.#drop(instance.name);
    return this.#attempt(overlay, instance, call, invokeOther).result;
  }

  /** Forgets every sandbox (a node closing). */
  close(): void {
    for (const name of [...this.#sandboxes.keys()]) this.#drop(name);
  }

  get sandboxCount(): number {
    return this.#sandboxes.size;
  }

  #attempt(overlay: StateOverlay, instance: ChaincodeInstance, call: JsCall, invokeOther: NestedInvoke): { ok: boolean; outOfMemory?: boolean; result: ChaincodeResult } {
    const sandbox = this.#sandbox(overlay, instance);
    if (!sandbox.ok) return { ok: false, result: { ok: false, error: sandbox.error } };
    const scratch = new StateOverlay(overlay);
    const host = new TransactionHost({ overlay: scratch, instance: instance.name, call, invokeOther, log: this.#log });
    const request: TxRequest = {
      txId: call.txId,
      millis: call.timestamp.seconds * 1000 + Math.floor(call.timestamp.nanos / 1_000_000),
      seconds: call.timestamp.seconds,
      nanos: call.timestamp.nanos,
      fn: call.fn,
      args: call.args,
      mode: call.mode,
      seed: createHash("sha256").update(call.txId, "utf8").digest("hex").slice(0, 32),
    };
    const outcome: SandboxOutcome = sandbox.sandbox.run(request, host);
    host.finish();
    if (!outcome.ok) {
      this.#drop(instance.name);
      return { ok: false, ...(outcome.outOfMemory && { outOfMemory: true }), result: { ok: false, error: outcome.error } };
    }
    if (host.failure !== undefined) return { ok: false, result: { ok: false, error: host.failure } };
    if (outcome.status >= 400) {
      // A chaincode that caught the engine's out-of-memory error and answered it is treated as having run out.
      const outOfMemory = /out of memory/i.test(outcome.message);
      if (outOfMemory) this.#drop(instance.name);
      return { ok: false, outOfMemory, result: { ok: false, error: outcome.message || `the chaincode answered status ${outcome.status}` } };
    }
    scratch.commitTo(overlay);
    const events: ChaincodeEvent[] = host.events;
    return { ok: true, result: { ok: true, value: outcome.payload, ...(events.length > 0 && { events }) } };
  }

  #sandbox(state: StateOverlay, instance: ChaincodeInstance): { ok: true; sandbox: JsSandbox } | { ok: false; error: string } {
    const cached = this.#sandboxes.get(instance.name);
    if (cached) return { ok: true, sandbox: cached };
    const stored = state.get(stateKeys.code(instance.name));
    if (stored === undefined) return { ok: false, error: `chaincode ${instance.name} has no package in the state` };
    const created = JsSandbox.create(this.engine.module(), JSON.parse(stored) as CodePackage);
    if (!created.ok) return { ok: false, error: created.error };
    this.#sandboxes.set(instance.name, created.sandbox);
    return { ok: true, sandbox: created.sandbox };
  }

  #drop(name: string): void {
    this.#sandboxes.get(name)?.dispose();
    this.#sandboxes.delete(name);
  }
}
