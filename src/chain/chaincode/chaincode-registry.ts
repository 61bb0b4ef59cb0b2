import { createHash } from "node:crypto";
import { canonicalJson } from "../ledger/canonical-json.ts";
import type { ChaincodeRef } from "../ledger/block.ts";
import type { Chaincode } from "./chaincode.ts";
import { example02Chaincode } from "./builtins/example02-chaincode.ts";
import { mapChaincode } from "./builtins/map-chaincode.ts";
import type { StateReader } from "../ledger/world-state.ts";

export const CHAINCODE_KINDS = ["map", "example02"] as const;
export type ChaincodeKind = (typeof CHAINCODE_KINDS)[number];

export const BUILTIN_CHAINCODES: Readonly<Record<ChaincodeKind, Chaincode>> = {
  map: mapChaincode,
  example02: example02Chaincode,
};

/** Names a path may end in (or a short name may be) for each built-in chaincode. */
const ALIASES: Readonly<Record<string, ChaincodeKind>> = {
  map: "map",
  example02: "example02",
  chaincode_example02: "example02",
};

/**
 * Keys of the world state. Chaincode data is namespaced by instance, so two deployments
 * never see each other's keys; the registry of instances lives in the same state, so the
 * stateHash covers it and every node resolves names identically.
 */
export const stateKeys = {
  instance: (name: string) => `cc\u0000${name}`,
  latest: (kind: ChaincodeKind) => `latest\u0000${kind}`,
  dataPrefix: (name: string) => `kv\u0000${name}\u0000`,
  /** A JavaScript chaincode's package (CodePackage JSON), so a restarted node needs nothing else. */
  code: (name: string) => `jscode\u0000${name}`,
  /** The latest JavaScript chaincode deployed with this path (its label). */
  latestPath: (path: string) => `latestjs\u0000${path}`,
} as const;

/** "js": a user's JavaScript chaincode, run in a sandbox (chaincode/js/). */
export type InstanceKind = ChaincodeKind | "js";

export interface ChaincodeInstance {
  name: string;
  kind: InstanceKind;
  path: string;
}

/** The built-in chaincode a path ("github.com/.../chaincode_example02") or short name refers to. */
export function kindOfReference(reference: string): ChaincodeKind | undefined {
  const lastSegment = reference.replace(/\/+$/, "").split("/").pop() ?? "";
  return Object.hasOwn(ALIASES, lastSegment) ? ALIASES[lastSegment] : undefined;
}

/** Instance name of a deployment, like Fabric's: a hex hash of path, function and args. */
export function instanceName(path: string, fn: string, args: readonly string[]): string {
  return createHash("sha512").update(canonicalJson([path, fn, args]), "utf8").digest("hex");
}

export type ResolveResult = { ok: true; instance: ChaincodeInstance } | { ok: false; error: string };

/**
 * Finds the instance a transaction or query means: an instance name as is, otherwise the
 * most recently deployed instance of the chaincode that the path or short name refers to.
 */
export function resolveInstance(state: StateReader, ref: ChaincodeRef): ResolveResult {
  if (ref.name !== undefined) {
    const stored = state.get(stateKeys.instance(ref.name));
    if (stored !== undefined) return { ok: true, instance: JSON.parse(stored) as ChaincodeInstance };
  }
  const reference = ref.path ?? ref.name ?? "";
  const kind = kindOfReference(reference);
  if (kind === undefined) {
    const latestJs = state.get(stateKeys.latestPath(reference));
    const storedJs = latestJs === undefined ? undefined : state.get(stateKeys.instance(latestJs));
    if (storedJs !== undefined) return { ok: true, instance: JSON.parse(storedJs) as ChaincodeInstance };
    return { ok: false, error: `unknown chaincode "${reference}"` };
  }
  const latest = state.get(stateKeys.latest(kind));
  const stored = latest === undefined ? undefined : state.get(stateKeys.instance(latest));
  if (stored === undefined) return { ok: false, error: `chaincode "${reference}" is not deployed` };
  return { ok: true, instance: JSON.parse(stored) as ChaincodeInstance };
}
